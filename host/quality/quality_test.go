package quality_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pgtest"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/host/storage/miniotest"
	s3store "github.com/bedrot-label/bedrot/host/storage/s3"
	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
	"github.com/bedrot-label/bedrot/sdk"
)

func TestMain(m *testing.M) {
	defer plugintest.Cleanup()
	miniotest.Main(m)
}

type lakeParts struct {
	st   storage.Store
	meta metastore.Store
	svc  *quality.Service
	p    *pipeline.Pipeline
}

var backends = map[string]func(t *testing.T) (storage.Store, metastore.Store){
	"folder+sqlite": func(t *testing.T) (storage.Store, metastore.Store) {
		dir := t.TempDir()
		st, err := folder.New(filepath.Join(dir, "lake"))
		require.NoError(t, err)
		meta, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "meta.db"))
		require.NoError(t, err)
		t.Cleanup(func() { meta.Close() })
		return st, meta
	},
	"minio+postgres": func(t *testing.T) (storage.Store, metastore.Store) {
		srv := miniotest.Require(t)
		st, err := s3store.New(context.Background(), s3store.Config{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey,
			SecretKey: srv.SecretKey, Bucket: srv.NewBucket(t), Prefix: "lake"})
		require.NoError(t, err)
		schema := fmt.Sprintf("bedrot_quality_%d", time.Now().UnixNano())
		meta, err := sqlstore.OpenPostgres(context.Background(), pgtest.URL(), schema)
		require.NoError(t, err)
		t.Cleanup(func() {
			meta.Close()
			if db, err := sql.Open("pgx", pgtest.URL()); err == nil {
				_, _ = db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
				db.Close()
			}
		})
		return st, meta
	},
}

// setup builds a lake with the DistroKid source and the quality-ge
// validator installed, and ingests a generated export of rows rows.
func setup(t *testing.T, open func(t *testing.T) (storage.Store, metastore.Store), rows int) *lakeParts {
	t.Helper()
	st, meta := open(t)
	host := pluginhost.New(pluginhost.Config{Dir: filepath.Join(t.TempDir(), "plugins")}, meta)
	ctx := context.Background()
	for _, pkg := range []string{"plugins/distrokid/cmd/bedrot-source-distrokid", "plugins/quality-ge/cmd/bedrot-validator-quality-ge"} {
		_, err := host.Install(ctx, plugintest.Build(t, pkg))
		require.NoError(t, err)
	}
	p := &pipeline.Pipeline{Store: st, Meta: meta, Plugins: host}
	export := filepath.Join(t.TempDir(), "DistroKid_test.tsv")
	f, err := os.Create(export)
	require.NoError(t, err)
	_, err = exportgen.Write(f, exportgen.Options{Rows: rows, Seed: 5})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	_, err = p.Ingest(ctx, pipeline.Request{Source: "distrokid", Config: sdk.Config{"files": export}})
	require.NoError(t, err)
	return &lakeParts{st: st, meta: meta, p: p,
		svc: &quality.Service{Store: st, Meta: meta, Plugins: host, SuitesDir: filepath.Join("..", "..", "config", "suites")}}
}

func writeSuite(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "suite.json")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func TestValidateDatasetRecordsGXResult(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := setup(t, open, 25_000)
			ctx := context.Background()

			// The shipped suite passes on a clean export.
			out, err := l.svc.ValidateDataset(ctx, "raw.distrokid.earnings", quality.Options{})
			require.NoError(t, err)
			require.True(t, out.Success, string(out.Result))
			require.EqualValues(t, 25_000, out.Rows)
			require.Equal(t, 1.0, out.Score)

			// A suite the data breaks: earnings never above 0.01 USD.
			strict := writeSuite(t, `{"name": "strict", "expectations": [
				{"type": "expect_column_values_to_be_between", "kwargs": {"column": "earnings_usd", "max_value": 0.01}},
				{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "isrc"}}]}`)
			bad, err := l.svc.ValidateDataset(ctx, "raw.distrokid.earnings", quality.Options{Suite: strict})
			require.NoError(t, err, "failing data is a result, not an error")
			require.False(t, bad.Success)
			require.Less(t, bad.Score, 1.0)
			var doc struct {
				Success    bool `json:"success"`
				Statistics struct {
					Evaluated  int `json:"evaluated_expectations"`
					Successful int `json:"successful_expectations"`
				} `json:"statistics"`
				Results []struct {
					Success bool `json:"success"`
					Result  struct {
						ElementCount    int64 `json:"element_count"`
						UnexpectedCount int64 `json:"unexpected_count"`
						Partial         []any `json:"partial_unexpected_list"`
					} `json:"result"`
				} `json:"results"`
			}
			require.NoError(t, json.Unmarshal(bad.Result, &doc))
			require.Equal(t, 2, doc.Statistics.Evaluated)
			require.False(t, doc.Results[0].Success)
			require.EqualValues(t, 25_000, doc.Results[0].Result.ElementCount)
			require.Positive(t, doc.Results[0].Result.UnexpectedCount)
			require.LessOrEqual(t, len(doc.Results[0].Result.Partial), 20)

			list, err := l.meta.ListValidations(ctx, metastore.ValidationFilter{Dataset: "raw.distrokid.earnings"})
			require.NoError(t, err)
			require.Len(t, list, 2)
			require.Equal(t, bad.ID, list[0].ID)
			require.Equal(t, "strict", list[0].Suite)
			got, err := l.meta.GetValidation(ctx, bad.ID)
			require.NoError(t, err)
			require.JSONEq(t, string(bad.Result), string(got.Result))

			// Data docs beside the data: a page per validation and an index.
			require.Equal(t, "raw/source=distrokid/_datadocs/earnings/"+bad.ID+".html", bad.Docs)
			page := readAll(t, l.st, bad.Docs)
			require.Contains(t, page, "expect_column_values_to_be_between")
			require.Contains(t, page, "FAILED")
			index := readAll(t, l.st, "raw/source=distrokid/_datadocs/earnings/index.html")
			require.Contains(t, index, bad.ID+".html")
			require.Contains(t, index, out.ID+".html")
		})
	}
}

func TestValidateErrorsAreClear(t *testing.T) {
	t.Parallel()
	l := setup(t, backends["folder+sqlite"], 100)
	ctx := context.Background()
	_, err := l.svc.ValidateDataset(ctx, "raw.nowhere.items", quality.Options{})
	require.ErrorIs(t, err, quality.ErrNoSuite)
	require.ErrorContains(t, err, "raw.nowhere.items.json")

	typo := writeSuite(t, `[{"expect_column_values_to_be_betwen": {"column": "earnings_usd"}}]`)
	_, err = l.svc.ValidateDataset(ctx, "raw.distrokid.earnings", quality.Options{Suite: typo})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "%v", err)
	require.ErrorContains(t, err, "expect_column_values_to_be_betwen")

	ok := writeSuite(t, `[{"expect_column_values_to_not_be_null": {"column": "x"}}]`)
	_, err = l.svc.ValidateDataset(ctx, "raw.distrokid.missing", quality.Options{Suite: ok})
	require.ErrorContains(t, err, "has no files")
}

func TestValidateFiles(t *testing.T) {
	t.Parallel()
	l := setup(t, backends["folder+sqlite"], 100)
	ctx := context.Background()
	suite := filepath.Join("..", "..", "config", "suites", "staging.tiktok_daily_metrics.json")
	csv := filepath.Join(t.TempDir(), "daily.csv")
	var b strings.Builder
	b.WriteString("video_id,view_count\n")
	for i := range 20_000 {
		views := fmt.Sprint(i)
		if i == 12_345 {
			views = "-7"
		}
		fmt.Fprintf(&b, "73%017d,%s\n", i, views)
	}
	require.NoError(t, os.WriteFile(csv, []byte(b.String()), 0o644))
	out, err := l.svc.ValidateFile(ctx, csv, quality.Options{Suite: suite})
	require.NoError(t, err)
	require.False(t, out.Success)
	require.EqualValues(t, 20_000, out.Rows)
	require.Contains(t, string(out.Result), `"partial_unexpected_list":[-7]`)
	require.Empty(t, out.ID, "files are not recorded")

	// A raw Parquet file of the lake, validated as a file.
	files, err := l.meta.ListFiles(ctx, "raw.distrokid.earnings")
	require.NoError(t, err)
	obj, err := l.st.Open(ctx, files[0].Key)
	require.NoError(t, err)
	local := filepath.Join(t.TempDir(), "earnings.parquet")
	data := make([]byte, obj.Size())
	_, err = obj.ReadAt(data, 0)
	require.NoError(t, err)
	obj.Close()
	require.NoError(t, os.WriteFile(local, data, 0o644))
	out, err = l.svc.ValidateFile(ctx, local, quality.Options{Suite: filepath.Join("..", "..", "config", "suites", "raw.distrokid.earnings.json")})
	require.NoError(t, err)
	require.True(t, out.Success, string(out.Result))

	_, err = l.svc.ValidateFile(ctx, filepath.Join(t.TempDir(), "x.json"), quality.Options{Suite: suite})
	require.ErrorContains(t, err, "only .parquet and .csv files")
}

func readAll(t *testing.T, st storage.Store, key string) string {
	t.Helper()
	obj, err := st.Open(context.Background(), key)
	require.NoError(t, err)
	defer obj.Close()
	data, err := io.ReadAll(obj)
	require.NoError(t, err)
	return string(data)
}
