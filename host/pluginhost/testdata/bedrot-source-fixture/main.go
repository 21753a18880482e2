// Command bedrot-source-fixture is a test plugin whose behaviour the test
// picks with the "mode" setting: rows (well behaved), crash, hang, badbatch,
// problems, slow (rows with a pause between batches, for kill tests) and
// env (reports its environment as rows).
package main

import (
	"context"
	"fmt"
	"os"
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

func (source) Discover(context.Context, sdk.Config) ([]sdk.Stream, error) {
	return []sdk.Stream{stream}, nil
}

func (source) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	mode := req.Config["mode"]
	n, _ := strconv.Atoi(req.Config["rows"])
	if n == 0 {
		n = 10
	}
	switch mode {
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
	p, err := out.BeginPayload("fixture.txt", "text/plain")
	if err != nil {
		return err
	}
	if _, err := p.Write(payload); err != nil {
		return err
	}
	if err := p.Close(); err != nil {
		return err
	}
	b := sdk.NewBatchBuilder(stream.Name, stream.Schema)
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
		b.AppendString(1, []byte("item "+strconv.Itoa(i)))
		b.AppendInt64(2, int64(i)*125)
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

func main() {
	sdk.Serve(sdk.Plugin{
		Spec:      sdk.Spec{Name: "fixture", Version: "1.0.0", Description: "test fixture", Params: []sdk.Param{{Name: "token", Description: "a secret", Secret: true}}},
		NewSource: func() sdk.Source { return source{} },
	})
}
