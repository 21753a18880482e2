package qualityge_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/plugins/distrokid"
	"github.com/bedrot-label/bedrot/plugins/quality-ge/expect"
	"github.com/bedrot-label/bedrot/plugins/quality-ge/suite"
	"github.com/bedrot-label/bedrot/plugins/spotify"
	"github.com/bedrot-label/bedrot/plugins/tiktok"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

// shippedStreams are the raw datasets of the shipped connectors.
func shippedStreams() map[string]sdk.Stream {
	out := map[string]sdk.Stream{"raw.distrokid.earnings": distrokid.EarningsStream()}
	for _, s := range spotify.Streams() {
		out["raw.spotify."+s.Name] = s
	}
	for _, s := range tiktok.Streams(true) {
		out["raw.tiktok."+s.Name] = s
	}
	return out
}

// Every shipped stream has a suite in config/suites, and every expectation
// of it runs on the stream's schema (no missing column, no wrong type).
func TestShippedSuitesFitTheirStreams(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "config", "suites")
	for dataset, stream := range shippedStreams() {
		t.Run(dataset, func(t *testing.T) {
			t.Parallel()
			s, err := suite.ParseFile(filepath.Join(dir, dataset+".json"))
			require.NoError(t, err, "every shipped stream has a suite")
			require.NotEmpty(t, s.Expectations)
			v, err := expect.New(s, stream.Schema, expect.Options{})
			require.NoError(t, err)
			res := v.Result()
			for _, r := range res.Results {
				msg := ""
				if r.ExceptionInfo.ExceptionMessage != nil {
					msg = *r.ExceptionInfo.ExceptionMessage
				}
				require.False(t, r.ExceptionInfo.RaisedException, "%s: %s", r.ExpectationConfig.Type, msg)
			}
		})
	}
	// The design's two expectations for TikTok daily metrics.
	s, err := suite.ParseFile(filepath.Join(dir, "staging.tiktok_daily_metrics.json"))
	require.NoError(t, err)
	var got []string
	for _, e := range s.Expectations {
		b, _ := json.Marshal(e.Kwargs)
		got = append(got, e.Type+" "+string(b))
	}
	require.Contains(t, got, `expect_column_values_to_not_be_null {"column":"video_id"}`)
	require.Contains(t, got, `expect_column_values_to_be_between {"column":"view_count","min_value":0}`)
}

func videoBatches(t *testing.T, rows int, negativeAt int) []*sdk.RecordBatch {
	t.Helper()
	stream := tiktok.Streams(false)[1]
	require.Equal(t, "videos", stream.Name)
	var out []*sdk.RecordBatch
	b := sdk.NewBatchBuilder(stream.Name, stream.Schema)
	for i := range rows {
		for c, f := range stream.Schema.Fields {
			switch {
			case f.Name == "video_id":
				b.AppendString(c, []byte(strings.Repeat("7", 10)+string(rune('0'+i%10))+string(rune('0'+i/10%10))+string(rune('0'+i/100%10))))
			case f.Name == "view_count" && i == negativeAt:
				b.AppendInt64(c, -5)
			case f.Type == sdk.TypeInt64:
				b.AppendInt64(c, int64(i))
			case f.Type == sdk.TypeTimestamp:
				b.AppendInt64(c, 1_790_000_000_000_000)
			case f.Type == sdk.TypeDate:
				b.AppendInt32(c, 20_700)
			case f.Type == sdk.TypeBool:
				b.AppendBool(c, false)
			default:
				b.AppendNull(c)
			}
		}
		b.EndRow()
		if b.Len() == 200 {
			out = append(out, cloneBatch(b.Batch()))
			b.Reset(stream.Name, "")
		}
	}
	if b.Len() > 0 {
		out = append(out, cloneBatch(b.Batch()))
	}
	return out
}

// cloneBatch copies a builder's batch so the builder can be reused.
func cloneBatch(b *sdk.RecordBatch) *sdk.RecordBatch {
	c := *b
	c.Columns = make([]sdk.Column, len(b.Columns))
	for i, col := range b.Columns {
		c.Columns[i] = sdk.Column{
			Int64s: append([]int64(nil), col.Int64s...), Int32s: append([]int32(nil), col.Int32s...),
			Float64s: append([]float64(nil), col.Float64s...), Bools: append([]bool(nil), col.Bools...),
			Bytes: append([]byte(nil), col.Bytes...), Offsets: append([]uint32(nil), col.Offsets...), Null: append([]bool(nil), col.Null...),
		}
	}
	return &c
}

func TestAcceptance(t *testing.T) {
	t.Parallel()
	bin := plugintest.Build(t, "plugins/quality-ge/cmd/bedrot-validator-quality-ge")
	suiteJSON, err := os.ReadFile(filepath.Join("..", "..", "config", "suites", "raw.tiktok.videos.json"))
	require.NoError(t, err)
	stream := tiktok.Streams(false)[1]
	t.Run("failing", func(t *testing.T) {
		sdktest.ValidatorAcceptanceTest(t, sdktest.ValidatorDriver{
			Binary: bin, Suite: suiteJSON, SuiteFile: "raw.tiktok.videos.json",
			BadSuite: []byte(`[{"expect_column_values_to_be_betwen": {"column": "view_count"}}]`),
			Dataset:  "raw.tiktok.videos", Schema: stream.Schema, Batches: videoBatches(t, 900, 417), WantSuccess: false,
		})
	})
	t.Run("passing", func(t *testing.T) {
		sdktest.ValidatorAcceptanceTest(t, sdktest.ValidatorDriver{
			Binary: bin, Suite: suiteJSON, SuiteFile: "raw.tiktok.videos.json",
			Dataset: "raw.tiktok.videos", Schema: stream.Schema, Batches: videoBatches(t, 900, -1), WantSuccess: true,
		})
	})
}
