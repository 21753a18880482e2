// Command bedrot-source-fixture is a test plugin whose behaviour the test
// picks with the "mode" setting: rows (well behaved), crash, hang, badbatch,
// problems, slow (rows with a pause between batches, for kill tests), env
// (reports its environment as rows), pages (one payload and checkpoint per
// page, resuming from its state; "fail_after" pages then "fail" = crash or
// transient part-way through the next page), file, filechange and
// claimsibling (the payload is the local file "file"; see Read), and rotate (rotates the secret
// "token" like an OAuth refresh token and reports a hash of the token it
// was given).
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
)

var stream = sdk.Stream{
	Name: "items",
	Schema: sdk.Schema{Fields: []sdk.Field{
		{Name: "id", Type: sdk.TypeInt64},
		{Name: "label", Type: sdk.TypeString},
		{Name: "amount", Type: sdk.TypeDecimal, Precision: 18, Scale: 2},
	}},
	PrimaryKey: []string{"id"},
}

type source struct{ sdk.UnimplementedSource }

func (source) Check(_ context.Context, cfg sdk.Config) error {
	if cfg["mode"] == "hangcheck" {
		time.Sleep(time.Hour)
	}
	if cfg["mode"] == "badconfig" {
		return sdk.ConfigError(fmt.Errorf("mode: badconfig is rejected"))
	}
	return nil
}

// streamFor is the stream with the configuration's schema changes: a
// nullable string column "extra_column", or "label" retyped to int64 with
// "retype_label".
func streamFor(cfg sdk.Config) sdk.Stream {
	s := stream
	s.Schema.Fields = append([]sdk.Field(nil), stream.Schema.Fields...)
	if cfg["retype_label"] != "" {
		s.Schema.Fields[1].Type = sdk.TypeInt64
	}
	if name := cfg["extra_column"]; name != "" {
		s.Schema.Fields = append(s.Schema.Fields, sdk.Field{Name: name, Type: sdk.TypeString, Nullable: true})
	}
	return s
}

func (source) Discover(_ context.Context, cfg sdk.Config) ([]sdk.Stream, error) {
	return []sdk.Stream{streamFor(cfg)}, nil
}

func (source) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	mode := req.Config["mode"]
	n, _ := strconv.Atoi(req.Config["rows"])
	if n == 0 {
		n = 10
	}
	switch mode {
	case "pages":
		return readPages(req, out)
	case "rotate":
		return rotate(req, out)
	case "hang":
		time.Sleep(time.Hour)
		return nil
	case "ratelimit":
		return sdk.RateLimited(fmt.Errorf("too many requests"), time.Now().Add(90*time.Second))
	case "transient":
		return sdk.Transient(fmt.Errorf("upstream returned 503"))
	}
	payload := []byte(req.Config["payload"])
	if len(payload) == 0 {
		payload = []byte("fixture payload " + strconv.Itoa(n) + "\n")
	}
	var p sdk.Payload
	var err error
	if path := req.Config["file"]; path != "" {
		// A file-drop source: the payload is the file. Mode "filechange"
		// hashes other bytes than the file's, as if it changed while being
		// read; "claimsibling" names sibling.txt beside it instead, a file
		// outside the configuration.
		if payload, err = os.ReadFile(path); err != nil {
			return err
		}
		if mode == "filechange" {
			payload = append(payload, "changed"...)
		}
		named := path
		if mode == "claimsibling" {
			named = filepath.Join(filepath.Dir(path), "sibling.txt")
		}
		p, err = sdk.BeginFilePayload(out, named, "fixture.txt", "text/plain")
	} else {
		p, err = out.BeginPayload("fixture.txt", "text/plain")
	}
	if err != nil {
		return err
	}
	if _, err := p.Write(payload); err != nil {
		return err
	}
	if err := p.Close(); err != nil {
		return err
	}
	st := streamFor(req.Config)
	b := sdk.NewBatchBuilder(st.Name, st.Schema)
	b.Reset(stream.Name, p.ID())
	for i := 0; i < n; i++ {
		if mode == "env" {
			for _, kv := range os.Environ() {
				b.AppendInt64(0, int64(i))
				b.AppendString(1, []byte(kv))
				b.AppendInt64(2, 0)
				b.EndRow()
			}
			if err := out.Batch(b.Batch()); err != nil {
				return err
			}
			break
		}
		b.AppendInt64(0, int64(i))
		if req.Config["retype_label"] != "" {
			b.AppendInt64(1, int64(i))
		} else {
			b.AppendString(1, []byte("item "+strconv.Itoa(i)))
		}
		b.AppendInt64(2, int64(i)*125)
		if len(st.Schema.Fields) > 3 {
			if i%2 == 0 {
				b.AppendString(3, []byte("x"+strconv.Itoa(i)))
			} else {
				b.AppendNull(3)
			}
		}
		b.EndRow()
		if b.Len() == 1000 || i == n-1 {
			if mode == "badbatch" {
				b.Batch().Columns = b.Batch().Columns[:2]
			}
			if err := out.Batch(b.Batch()); err != nil {
				return err
			}
			b.Reset(stream.Name, p.ID())
			if mode == "crash" {
				panic("fixture crashed on purpose")
			}
			if mode == "slow" {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	var problems []sdk.Problem
	if mode == "problems" {
		problems = []sdk.Problem{{File: "fixture.txt", Line: 3, Field: "amount", Message: "not a number: \"abc\""}}
	}
	rows := int64(n)
	if mode == "env" {
		rows = int64(len(os.Environ()))
	}
	if err := p.End(rows, problems); err != nil {
		return err
	}
	return out.Checkpoint(stream.Name, []byte(`{"done":true}`))
}

// readPages emits pages "next".."pages"-1, one payload of "rows" rows and a
// checkpoint each.
func readPages(req sdk.ReadRequest, out sdk.Emitter) error {
	var st struct{ Next int }
	if s := req.State[stream.Name]; s != nil {
		if err := json.Unmarshal(s, &st); err != nil {
			return err
		}
	}
	pages, _ := strconv.Atoi(req.Config["pages"])
	rows, _ := strconv.Atoi(req.Config["rows"])
	failAfter, err := strconv.Atoi(req.Config["fail_after"])
	if err != nil {
		failAfter = -1
	}
	b := sdk.NewBatchBuilder(stream.Name, stream.Schema)
	for page, done := st.Next, 0; page < pages; page, done = page+1, done+1 {
		p, err := out.BeginPayload(fmt.Sprintf("page-%03d.txt", page), "text/plain")
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(p, "page %d of %d\n", page, pages); err != nil {
			return err
		}
		if err := p.Close(); err != nil {
			return err
		}
		b.Reset(stream.Name, p.ID())
		for i := range rows {
			b.AppendInt64(0, int64(page*1_000_000+i))
			b.AppendString(1, []byte(fmt.Sprintf("page %d item %d", page, i)))
			b.AppendInt64(2, int64(i))
			b.EndRow()
		}
		if err := out.Batch(b.Batch()); err != nil {
			return err
		}
		if done == failAfter {
			switch req.Config["fail"] {
			case "transient":
				return sdk.Transient(fmt.Errorf("upstream returned 503 on page %d", page))
			default:
				// Give gRPC a moment to deliver what was sent, so the
				// host surely has the last checkpoint: a crash right
				// after a send may lose it, and the test would not know
				// which checkpoint to expect.
				time.Sleep(200 * time.Millisecond)
				panic(fmt.Sprintf("fixture crashed on page %d", page))
			}
		}
		if err := p.End(int64(rows), nil); err != nil {
			return err
		}
		if err := out.Checkpoint(stream.Name, []byte(fmt.Sprintf(`{"next":%d}`, page+1))); err != nil {
			return err
		}
		if d, _ := time.ParseDuration(req.Config["page_delay"]); d > 0 {
			time.Sleep(d)
		}
	}
	return nil
}

// rotate hands the host a new "token" (the old one with "+" appended), as a
// source whose OAuth refresh token rotates does, logs the token it was
// given (the host must redact it) and emits one row holding a hash of it.
func rotate(req sdk.ReadRequest, out sdk.Emitter) error {
	token := req.Config["token"]
	out.Log(sdk.LevelInfo, "refreshing with token "+token, "token", token)
	if err := out.UpdateConfig(map[string]string{"token": token + "+"}); err != nil {
		return err
	}
	if req.Config["fail"] == "transient" {
		return sdk.Transient(fmt.Errorf("upstream failed after the refresh"))
	}
	sum := sha256.Sum256([]byte(token))
	label := hex.EncodeToString(sum[:8])
	p, err := out.BeginPayload("rotate.txt", "text/plain")
	if err != nil {
		return err
	}
	if _, err := p.Write([]byte("run with token hash " + label + "\n")); err != nil {
		return err
	}
	if err := p.Close(); err != nil {
		return err
	}
	b := sdk.NewBatchBuilder(stream.Name, stream.Schema)
	b.Reset(stream.Name, p.ID())
	b.AppendInt64(0, 1)
	b.AppendString(1, []byte(label))
	b.AppendInt64(2, 0)
	b.EndRow()
	if err := out.Batch(b.Batch()); err != nil {
		return err
	}
	return p.End(1, nil)
}

func main() {
	sdk.Serve(sdk.Plugin{
		Spec:      sdk.Spec{Name: "fixture", Version: "1.0.0", Description: "test fixture", Params: []sdk.Param{{Name: "token", Description: "a secret", Secret: true}}},
		NewSource: func() sdk.Source { return source{} },
	})
}
