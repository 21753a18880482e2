// Package sdktest is the acceptance test a plugin author runs against their
// own plugin binary: it launches the binary the way the host does (go-plugin,
// gRPC, automatic mTLS, checksum-verified, empty environment, a source's
// batch channel) and checks
// that it honours protocol v1: it describes itself, checks and discovers
// with the given configuration, and its Read stream is well formed —
// batches match their declared schemas and are real batches (not a message
// per row), payloads begin, close with the right SHA-256 and end with the
// number of rows sent, and a second read with the first read's state is
// accepted. Configuration updates a plugin sends (rotated credentials) must
// name parameters of its spec and are passed on to the next read.
//
//	func TestAcceptance(t *testing.T) {
//		sdktest.AcceptanceTest(t, sdktest.Driver{
//			Binary: buildPlugin(t), // path to bedrot-source-mysource
//			Config: sdk.Config{"files": "testdata/sample.tsv"},
//		})
//	}
package sdktest

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// Driver describes the plugin under test.
type Driver struct {
	// Binary is the plugin executable, named bedrot-<kind>-<name>.
	Binary string
	// Config is a working configuration.
	Config sdk.Config
	// BadConfig, if set, is a configuration Check must reject with a
	// configuration error.
	BadConfig sdk.Config
	// WantRows, if positive, is the number of rows the first Read must
	// produce across all streams.
	WantRows int64
	// Incremental says a second Read with the first Read's state must
	// produce no new rows (true for file-drop sources).
	Incremental bool
	// Timeout bounds each Read (default 2 minutes).
	Timeout time.Duration
}

// Launch starts the plugin binary as the host does and returns its source
// client and info; the process is killed when the test ends.
func Launch(t testing.TB, binary string) (*sdk.SourceClient, sdk.Info) {
	t.Helper()
	// Not on a Unix-like system: no channel, batches travel inline.
	channel, pluginEnd, _ := sdk.NewBatchChannel()
	rpc, info := launch(t, binary, pluginEnd)
	raw, err := rpc.Dispense(sdk.KindSource)
	if err != nil {
		t.Fatalf("plugin does not serve %q: %v", sdk.KindSource, err)
	}
	src, ok := raw.(*sdk.SourceClient)
	if !ok {
		t.Fatalf("unexpected %T for %q", raw, sdk.KindSource)
	}
	if channel != nil {
		t.Cleanup(func() { channel.Close() })
		src.SetBatchChannel(channel) // the first Read's batches use it
	}
	return src, info
}

// LaunchValidator starts a validator plugin binary as the host does.
func LaunchValidator(t testing.TB, binary string) (*sdk.ValidatorClient, sdk.Info) {
	t.Helper()
	rpc, info := launch(t, binary, nil)
	raw, err := rpc.Dispense(sdk.KindValidator)
	if err != nil {
		t.Fatalf("plugin does not serve %q: %v", sdk.KindValidator, err)
	}
	v, ok := raw.(*sdk.ValidatorClient)
	if !ok {
		t.Fatalf("unexpected %T for %q", raw, sdk.KindValidator)
	}
	return v, info
}

// launch starts the binary; a source is given pluginEnd, its end of a batch
// channel, if not nil.
func launch(t testing.TB, binary string, pluginEnd *os.File) (plugin.ClientProtocol, sdk.Info) {
	t.Helper()
	f, err := os.Open(binary)
	if err != nil {
		t.Fatalf("cannot open plugin binary: %v", err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		t.Fatalf("cannot hash plugin binary: %v", err)
	}
	cmd := exec.Command(binary)
	if pluginEnd != nil {
		sdk.GiveBatchChannel(cmd, pluginEnd)
		defer pluginEnd.Close() // the plugin has its own copy once started
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.PluginSets(sdk.Plugin{}),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: h.Sum(nil), Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		GRPCDialOptions:  sdk.DialOptions(),
		Logger:           hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}}),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("plugin did not start: %v", err)
	}
	raw, err := rpc.Dispense(sdk.KindPlugin)
	if err != nil {
		t.Fatalf("plugin does not serve %q: %v", sdk.KindPlugin, err)
	}
	ic, ok := raw.(*sdk.InfoClient)
	if !ok {
		t.Fatalf("unexpected %T for %q", raw, sdk.KindPlugin)
	}
	info, err := ic.GetInfo(context.Background())
	if err != nil {
		t.Fatalf("GetInfo failed: %v", err)
	}
	return rpc, info
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// AcceptanceTest runs the protocol checks as subtests.
func AcceptanceTest(t *testing.T, d Driver) {
	t.Helper()
	if d.Timeout == 0 {
		d.Timeout = 2 * time.Minute
	}
	src, info := Launch(t, d.Binary)
	ctx := context.Background()

	t.Run("Info", func(t *testing.T) {
		if info.Spec.Name == "" || info.Spec.Version == "" {
			t.Fatalf("spec must have a name and a version, got %+v", info.Spec)
		}
		if !contains(info.Kinds, sdk.KindSource) {
			t.Fatalf("kinds %v must include %q", info.Kinds, sdk.KindSource)
		}
		if want := "bedrot-source-" + info.Spec.Name; filepath.Base(d.Binary) != want {
			t.Errorf("binary is named %q; the host installs it only as %q", filepath.Base(d.Binary), want)
		}
		for _, p := range info.Spec.Params {
			if p.Name == "" || p.Description == "" {
				t.Errorf("parameter %+v needs a name and a description", p)
			}
		}
	})
	t.Run("Check", func(t *testing.T) {
		if err := src.Check(ctx, d.Config); err != nil {
			t.Fatalf("Check rejected the working configuration: %v", err)
		}
		if d.BadConfig != nil {
			err := src.Check(ctx, d.BadConfig)
			if sdk.KindOf(err) != sdk.KindConfig {
				t.Fatalf("Check on the bad configuration must fail with a configuration error, got %v", err)
			}
		}
	})
	streams, err := src.Discover(ctx, d.Config)
	if err != nil {
		t.Fatalf("Discover failed: %v", err)
	}
	byName := map[string]sdk.Stream{}
	t.Run("Discover", func(t *testing.T) {
		if len(streams) == 0 {
			t.Fatal("Discover returned no streams")
		}
		for _, s := range streams {
			if _, dup := byName[s.Name]; dup || s.Name == "" {
				t.Errorf("stream name %q is empty or repeated", s.Name)
			}
			byName[s.Name] = s
			checkSchema(t, s)
		}
	})
	var state map[string][]byte
	// cfg follows the plugin's configuration updates (rotated credentials)
	// from one read to the next, as the host does.
	cfg := &readConfig{values: maps.Clone(d.Config), params: map[string]bool{}}
	for _, p := range info.Spec.Params {
		cfg.params[p.Name] = true
	}
	t.Run("Read", func(t *testing.T) {
		rows, st := readAll(t, src, d, cfg, byName, nil)
		state = st
		if d.WantRows > 0 && rows != d.WantRows {
			t.Errorf("read %d rows, want %d", rows, d.WantRows)
		}
	})
	t.Run("ReadWithState", func(t *testing.T) {
		rows, _ := readAll(t, src, d, cfg, byName, state)
		if d.Incremental && rows != 0 {
			t.Errorf("a second read with the first read's state produced %d rows; an incremental source must produce none", rows)
		}
	})
}

func checkSchema(t *testing.T, s sdk.Stream) {
	seen := map[string]bool{}
	for _, f := range s.Schema.Fields {
		if f.Name == "" || seen[f.Name] {
			t.Errorf("stream %s: field name %q is empty or repeated", s.Name, f.Name)
		}
		seen[f.Name] = true
		if f.Type == sdk.TypeDecimal && (f.Precision < 1 || f.Precision > 18 || f.Scale < 0 || f.Scale > f.Precision) {
			t.Errorf("stream %s: field %s: decimal(%d,%d) must have 1 <= precision <= 18 and 0 <= scale <= precision", s.Name, f.Name, f.Precision, f.Scale)
		}
		if f.Type <= sdk.TypeUnspecified || f.Type > sdk.TypeDecimal {
			t.Errorf("stream %s: field %s has unknown type %d", s.Name, f.Name, f.Type)
		}
	}
	for _, k := range s.PrimaryKey {
		if !seen[k] {
			t.Errorf("stream %s: primary key field %q is not in the schema", s.Name, k)
		}
	}
	if s.CursorField != "" && !seen[s.CursorField] {
		t.Errorf("stream %s: cursor field %q is not in the schema", s.Name, s.CursorField)
	}
}

type payloadCheck struct {
	h      *digest.Hash
	size   int64
	closed bool
	ended  bool
	rows   int64
}

// readConfig is the configuration of the next read and the parameters the
// plugin declared.
type readConfig struct {
	values sdk.Config
	params map[string]bool
}

func readAll(t *testing.T, src *sdk.SourceClient, d Driver, cfg *readConfig, streams map[string]sdk.Stream, state map[string][]byte) (int64, map[string][]byte) {
	ctx, cancel := context.WithTimeout(context.Background(), d.Timeout)
	defer cancel()
	rs, err := src.Read(ctx, sdk.ReadRequest{Config: maps.Clone(cfg.values), State: state})
	if err != nil {
		t.Fatalf("Read failed: %v", err)
	}
	payloads := map[string]*payloadCheck{}
	newState := map[string][]byte{}
	for k, v := range state {
		newState[k] = v
	}
	var rows, batches int64
	for {
		m, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Read stream failed: %v", err)
		}
		switch {
		case m.PayloadBegin != nil:
			if _, dup := payloads[m.PayloadBegin.ID]; dup {
				t.Fatalf("payload id %q begun twice", m.PayloadBegin.ID)
			}
			h, err := digest.NewAlgorithm(m.PayloadBegin.DigestAlgorithm)
			if err != nil {
				t.Fatalf("payload %q: %v", m.PayloadBegin.ID, err)
			}
			payloads[m.PayloadBegin.ID] = &payloadCheck{h: h}
		case m.PayloadChunk != nil:
			p := payloads[m.PayloadChunk.ID]
			if p == nil || p.closed {
				t.Fatalf("chunk for payload %q that is not open", m.PayloadChunk.ID)
			}
			p.h.Write(m.PayloadChunk.Data)
			p.size += int64(len(m.PayloadChunk.Data))
		case m.PayloadClose != nil:
			p := payloads[m.PayloadClose.ID]
			if p == nil || p.closed {
				t.Fatalf("close for payload %q that is not open", m.PayloadClose.ID)
			}
			p.closed = true
			if got := p.h.String(); got != m.PayloadClose.Digest || p.size != m.PayloadClose.Size {
				t.Errorf("payload %q: sent %d bytes with the digest %s but closed it as %d bytes with %s", m.PayloadClose.ID, p.size, got, m.PayloadClose.Size, m.PayloadClose.Digest)
			}
		case m.PayloadEnd != nil:
			p := payloads[m.PayloadEnd.ID]
			if p == nil || !p.closed || p.ended {
				t.Fatalf("end for payload %q that is not closed, or ended twice", m.PayloadEnd.ID)
			}
			p.ended = true
			if len(m.PayloadEnd.Problems) == 0 && p.rows != m.PayloadEnd.Records {
				t.Errorf("payload %q: sent %d rows but ended it with %d records", m.PayloadEnd.ID, p.rows, m.PayloadEnd.Records)
			}
		case m.Batch != nil:
			s, ok := streams[m.Batch.Stream]
			if !ok {
				t.Fatalf("batch for undeclared stream %q", m.Batch.Stream)
			}
			if err := m.Batch.Validate(s.Schema); err != nil {
				t.Fatalf("batch does not match its schema: %v", err)
			}
			if m.Batch.PayloadID != "" {
				p := payloads[m.Batch.PayloadID]
				if p == nil || p.ended {
					t.Fatalf("batch for payload %q that is unknown or ended", m.Batch.PayloadID)
				}
				p.rows += int64(m.Batch.NumRows)
			}
			rows += int64(m.Batch.NumRows)
			batches++
		case m.ConfigUpdate != nil:
			for k, v := range m.ConfigUpdate {
				if !cfg.params[k] {
					t.Errorf("configuration update for %q, which is not a parameter of the spec", k)
				}
				cfg.values[k] = v
			}
		case m.Checkpoint != nil:
			if _, ok := streams[m.Checkpoint.Stream]; !ok {
				t.Errorf("checkpoint for undeclared stream %q", m.Checkpoint.Stream)
			}
			newState[m.Checkpoint.Stream] = m.Checkpoint.State
		}
	}
	for id, p := range payloads {
		if !p.ended {
			t.Errorf("payload %q was never ended", id)
		}
	}
	if offered, onChannel := rs.BatchChannel(); offered && onChannel < batches {
		t.Errorf("%d of %d batches came inline although the host offered a batch channel: serve the plugin with sdk.Serve, which takes the channel", batches-onChannel, batches)
	}
	if rows >= 1000 && rows/batches < 100 {
		t.Errorf("%d rows came in %d batches (%d rows per batch); send batches of about 1k–8k rows, never a message per row", rows, batches, rows/batches)
	}
	return rows, newState
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
