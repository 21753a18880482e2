package main_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
)

// An assistant starts `bedrot mcp` over stdio, lists its tools, and reads
// the lake as the analyst role: raw data is refused with the policy's rule.
func TestMCPServerOverStdio(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.setupLake()
	p, _ := export(t, t.TempDir(), "DistroKid_mcp.tsv", exportgen.Options{Rows: 50, Seed: 3})
	c.ok("ingest", "distrokid", p)

	cmd := exec.Command(c.bin, "mcp")
	cmd.Env = c.env
	client := mcp.NewClient(&mcp.Implementation{Name: "test-assistant", Version: "1.0"}, nil)
	sess, err := client.Connect(t.Context(), &mcp.CommandTransport{Command: cmd}, nil)
	require.NoError(t, err)
	defer sess.Close()
	tools, err := sess.ListTools(t.Context(), nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	require.Subset(t, names, []string{"list_datasets", "query", "read_context", "search_knowledge", "propose_handoff"})

	res, err := sess.CallTool(t.Context(), &mcp.CallToolParams{Name: "query", Arguments: map[string]any{"sql": "SELECT count(*) FROM raw.distrokid_earnings"}})
	require.NoError(t, err)
	require.True(t, res.IsError, "the analyst may not read raw")
	text := res.Content[0].(*mcp.TextContent).Text
	require.Contains(t, text, "roles.analyst.read")

	res, err = sess.CallTool(t.Context(), &mcp.CallToolParams{Name: "propose_handoff", Arguments: map[string]any{"agent_type": "anomaly", "reason": "spike"}})
	require.NoError(t, err)
	require.True(t, res.IsError)
	require.True(t, strings.Contains(res.Content[0].(*mcp.TextContent).Text, "--allow-writes"))
}

// bearerTransport adds a bearer token to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// An assistant reaches `bedrot mcp --http` with the token the operator put
// in a file; without it the server answers 401. Beyond loopback, bedrot mcp
// does not start without a token.
func TestMCPServerOverHTTPWithAToken(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "mcp-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("4ssistant-token\n"), 0o600))
	c := newCLI(t, "BEDROT_AGENTS_MCP_TOKEN_FILE="+tokenFile)
	c.setupLake()

	anon := c.without("BEDROT_AGENTS_MCP_TOKEN_FILE")
	r := anon.run("mcp", "--http", "0.0.0.0:0")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "bedrot mcp --http listens on ")
	require.Contains(t, r.stderr, "beyond this machine, without a token: set agents.mcp_token (BEDROT_AGENTS_MCP_TOKEN")

	addr := freeAddr(t)
	cmd := exec.Command(c.bin, "mcp", "--http", addr)
	cmd.Env = c.env
	var mu sync.Mutex
	var stderr bytes.Buffer
	cmd.Stderr = lockedWriter{&mu, &stderr}
	log := func() string { mu.Lock(); defer mu.Unlock(); return stderr.String() }
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + addr + "/"
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusUnauthorized
	}, 30*time.Second, 50*time.Millisecond, "bedrot mcp never answered 401 to a request without the token")

	client := mcp.NewClient(&mcp.Implementation{Name: "test-assistant", Version: "1.0"}, nil)
	_, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
	require.Error(t, err, "no token, no session")

	sess, err := client.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: bearerTransport{"4ssistant-token"}}}, nil)
	require.NoError(t, err)
	defer sess.Close()
	res, err := sess.CallTool(t.Context(), &mcp.CallToolParams{Name: "list_datasets", Arguments: map[string]any{}})
	require.NoError(t, err)
	require.False(t, res.IsError, "%v", res.Content)
	// Behind a proxy that passes its own host name on, the token is what
	// counts: neither bedrot nor the MCP SDK refuses the name.
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Host = "mcp.label.example"
	req.Header.Set("Authorization", "Bearer 4ssistant-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, resp.StatusCode)
	require.Contains(t, log(), "bearer token required")
	require.NotContains(t, log(), "4ssistant", "the token never reaches the log")
}
