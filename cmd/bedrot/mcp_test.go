package main_test

import (
	"os/exec"
	"strings"
	"testing"

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
