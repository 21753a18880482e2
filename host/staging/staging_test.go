package staging

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pgtest"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/sqlengine"
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
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		schema := "bedrot_staging_" + hex.EncodeToString(b)
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

// lake is a lake with the DistroKid source installed.
type lake struct {
	st   storage.Store
	meta metastore.Store
	p    *pipeline.Pipeline
	deps Deps
}

func newLake(t *testing.T, open func(t *testing.T) (storage.Store, metastore.Store)) *lake {
	t.Helper()
	st, meta := open(t)
	host := pluginhost.New(pluginhost.Config{Dir: filepath.Join(t.TempDir(), "plugins")}, meta)
	_, err := host.Install(context.Background(), plugintest.Build(t, "plugins/distrokid/cmd/bedrot-source-distrokid"))
	require.NoError(t, err)
	return &lake{st: st, meta: meta, p: &pipeline.Pipeline{Store: st, Meta: meta, Plugins: host},
		deps: Deps{Store: st, Meta: meta, CacheDir: filepath.Join(t.TempDir(), "cache")}}
}

// ingest writes data as an export file and ingests it; it returns the
// payload statuses.
func (l *lake) ingest(t *testing.T, name string, data []byte) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	res, err := l.p.Ingest(context.Background(), pipeline.Request{Source: "distrokid", Config: sdk.Config{"files": path}})
	require.NoError(t, err)
	var st []string
	for _, p := range res.Payloads {
		st = append(st, p.Status)
	}
	return st
}

// export is a DistroKid export as a header and data lines (2025 layout,
// every field quoted, tab-separated).
type export struct {
	header string
	lines  []string
}

func (e export) bytes(lines ...[]string) []byte {
	var b strings.Builder
	b.WriteString(e.header + "\n")
	for _, ls := range lines {
		for _, l := range ls {
			b.WriteString(l + "\n")
		}
	}
	return []byte(b.String())
}

// generated returns an exportgen export split into lines.
func generated(t *testing.T, rows int, seed uint64) (export, exportgen.Summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := exportgen.Write(&buf, exportgen.Options{Rows: rows, Seed: seed, Quoted: true})
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	return export{header: lines[0], lines: lines[1:]}, sum
}

// record renders fields as a quoted, tab-separated line.
func record(fields []string) string {
	q := make([]string, len(fields))
	for i, f := range fields {
		q[i] = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
	}
	return strings.Join(q, "\t")
}

func parseLine(t *testing.T, line string) []string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(line))
	r.Comma = '\t'
	rec, err := r.Read()
	require.NoError(t, err, line)
	require.Len(t, rec, 15, line)
	return rec
}

// Columns of the 2025 layout.
const (
	cInserted = iota
	cReporting
	cSaleMonth
	cStore
	cArtist
	cTitle
	cISRC
	cUPC
	cQuantity
	cTeam
	cType
	cCountry
	cWithheld
	cEarnings
	cRecoup
)

// e12 parses a 12-decimal amount into 1e-12 units.
func e12(t *testing.T, s string) int64 {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	frac = (frac + "000000000000")[:12]
	w, err := strconv.ParseInt(whole, 10, 64)
	require.NoError(t, err, s)
	f, err := strconv.ParseInt(frac, 10, 64)
	require.NoError(t, err, s)
	v := w*1_000_000_000_000 + f
	if neg {
		v = -v
	}
	return v
}

// expectation computes, independently of the SQL, the totals the dataset
// must have from the distinct rows of the exports.
type expectation struct {
	aliases *storeAliases
	keys    map[string]int64  // natural key → earnings
	latest  map[string]string // sale key → latest reporting date
}

func (x *expectation) saleKey(r []string) string {
	return strings.Join([]string{r[cSaleMonth], r[cISRC], r[cUPC], x.aliases.Normalize(r[cStore]), r[cCountry], r[cArtist], r[cTitle], r[cType], r[cTeam]}, "\x00")
}

func (x *expectation) add(t *testing.T, lines []string) {
	for _, l := range lines {
		r := parseLine(t, l)
		sk := x.saleKey(r)
		x.keys[r[cReporting]+"\x00"+sk] += e12(t, r[cEarnings])
		if r[cReporting] > x.latest[sk] {
			x.latest[sk] = r[cReporting]
		}
	}
}

// restatements counts the natural keys with an earlier reporting of their
// sale key.
func (x *expectation) restatements() int {
	first := map[string]string{}
	for k := range x.keys {
		rep, sk, _ := strings.Cut(k, "\x00")
		if f, ok := first[sk]; !ok || rep < f {
			first[sk] = rep
		}
	}
	n := 0
	for k := range x.keys {
		rep, sk, _ := strings.Cut(k, "\x00")
		if first[sk] != rep {
			n++
		}
	}
	return n
}

// latestTotal is the sum of the latest reporting of every sale key.
func (x *expectation) latestTotal() (total int64, restated int) {
	for k, v := range x.keys {
		rep, sk, _ := strings.Cut(k, "\x00")
		if x.latest[sk] == rep {
			total += v
		}
	}
	for k := range x.keys {
		rep, sk, _ := strings.Cut(k, "\x00")
		if x.latest[sk] != rep {
			restated++
		}
	}
	return total, restated
}

// query runs SQL over the dataset's files in a workspace; files is the
// view "t".
func query(t *testing.T, l *lake, q string, dest ...any) {
	t.Helper()
	ctx := context.Background()
	files, err := l.meta.ListFiles(ctx, RoyaltiesDataset)
	require.NoError(t, err)
	require.NotEmpty(t, files)
	e, err := sqlengine.New(sqlengine.Options{Store: l.st, Meta: l.meta, CacheDir: l.deps.CacheDir})
	require.NoError(t, err)
	w, err := e.Workspace(ctx, files, t.TempDir())
	require.NoError(t, err)
	defer w.Close()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = sqlengine.QuoteString(w.Path(f.Key))
	}
	_, err = w.Conn().ExecContext(ctx, "CREATE VIEW t AS SELECT * FROM read_parquet(["+strings.Join(paths, ", ")+"], filename = true, hive_partitioning = false)")
	require.NoError(t, err)
	require.NoError(t, w.Conn().QueryRowContext(ctx, q).Scan(dest...), q)
}

func manifest(t *testing.T, l *lake) []string {
	t.Helper()
	files, err := l.meta.ListFiles(context.Background(), RoyaltiesDataset)
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		out = append(out, fmt.Sprintf("%s %d %s %d %s", f.Key, f.Size, f.Digest, f.Rows, f.Meta))
	}
	return out
}

var fileKey = regexp.MustCompile(`^staging/domain=royalties/year=(\d{4})/earnings-staging-[0-9TZ]+-[0-9a-f]{8}\.parquet$`)

func TestBuildRoyalties(t *testing.T) {
	t.Parallel()
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			l := newLake(t, open)
			aliases, err := loadAliases("")
			require.NoError(t, err)
			want := &expectation{aliases: aliases, keys: map[string]int64{}, latest: map[string]string{}}

			// A: a generated export over two years of reporting months.
			a, sumA := generated(t, 4000, 7)
			require.Equal(t, []string{"ingested"}, l.ingest(t, "DistroKid_a.tsv", a.bytes(a.lines)))
			want.add(t, a.lines)

			// B: restatements: rows of A reported again later, with other
			// amounts and the store spelled differently; plus a store the
			// alias table does not know.
			var b []string
			var sumB int64
			restatedKeys := map[string]bool{}
			for i := 0; i < len(a.lines) && len(b) < 40; i += 97 {
				r := parseLine(t, a.lines[i])
				r[cInserted], r[cReporting] = "2026-05-04", "2026-05-04"
				r[cEarnings] = exportgen.FormatE12(e12(t, r[cEarnings]) + 1_000_000_000_001)
				if r[cStore] == "Spotify" {
					r[cStore] = "  SPOTIFY "
				}
				if r[cStore] == "Instagram/Facebook" {
					r[cStore] = "facebook"
				}
				restatedKeys[want.saleKey(r)] = true
				sumB += e12(t, r[cEarnings])
				b = append(b, record(r))
			}
			unknown := parseLine(t, a.lines[1])
			unknown[cStore], unknown[cReporting], unknown[cInserted] = "Nova Radio Café", "2026-05-04", "2026-05-04"
			b = append(b, record(unknown))
			sumB += e12(t, unknown[cEarnings])
			require.Equal(t, []string{"ingested"}, l.ingest(t, "DistroKid_b.tsv", a.bytes(b)))
			want.add(t, b)

			// C: an overlapping export (the first 600 rows of A again, and
			// a restated row of B); and A itself once more.
			c := append(append([]string{}, a.lines[:600]...), b[0])
			require.Equal(t, []string{"ingested"}, l.ingest(t, "DistroKid_c.tsv", a.bytes(c)))
			require.NotContains(t, l.ingest(t, "DistroKid_a_again.tsv", a.bytes(a.lines)), "ingested", "the same bytes again add nothing")

			res, err := Build(ctx, l.deps, Options{Domains: []string{RoyaltiesDomain}})
			require.NoError(t, err)
			require.Zero(t, res.Skipped)
			require.Positive(t, res.Rebuilt)
			require.Len(t, res.Files, res.Rebuilt)
			years := map[string]bool{}
			for _, p := range res.Partitions {
				require.Equal(t, Rebuilt, p.Action)
				m := fileKey.FindStringSubmatch(p.Key)
				require.NotNil(t, m, p.Key)
				require.Equal(t, "year="+m[1], p.Partition)
				require.NotEmpty(t, p.Inputs)
				years[m[1]] = true
			}
			require.GreaterOrEqual(t, len(years), 2, "two years of sale months")

			// Every row sits in the partition of its sale year; keys are
			// unique.
			var misplaced, dupKeys, rows int64
			query(t, l, `SELECT count(*) FILTER (WHERE filename NOT LIKE '%/year=' || year(sale_month) || '/%') FROM t`, &misplaced)
			require.Zero(t, misplaced)
			query(t, l, `SELECT count(*) FROM (SELECT `+strings.Join(keyColumns, ", ")+`, count(*) AS n FROM t GROUP BY ALL HAVING n > 1)`, &dupKeys)
			require.Zero(t, dupKeys)
			query(t, l, `SELECT count(*) FROM t`, &rows)
			require.EqualValues(t, len(want.keys), rows)
			require.EqualValues(t, res.Rows, rows)

			// Totals: all rows = the distinct DistroKid rows exactly (C and
			// the second A add nothing); non-superseded rows = the latest
			// reporting of each sale key.
			var all, latest, rawRows, dups int64
			query(t, l, `SELECT sum(CAST(earnings_usd * 1000000000000 AS BIGINT)),
				sum(CAST(earnings_usd * 1000000000000 AS BIGINT)) FILTER (WHERE NOT superseded),
				sum(raw_rows), sum(duplicate_rows) FROM t`, &all, &latest, &rawRows, &dups)
			require.False(t, sumA.EarningsOverflow)
			require.Equal(t, sumA.EarningsE12+sumB, all)
			wantLatest, wantSuperseded := want.latestTotal()
			require.Equal(t, wantLatest, latest)
			require.EqualValues(t, sumA.Rows+int64(len(b)), rawRows)
			require.EqualValues(t, len(c), dups)

			// Restatements are flagged on both sides.
			var restatements, superseded, badSeq int64
			query(t, l, `SELECT count(*) FILTER (WHERE is_restatement), count(*) FILTER (WHERE superseded),
				count(*) FILTER (WHERE is_restatement <> (report_seq > 1)) FROM t`, &restatements, &superseded, &badSeq)
			require.EqualValues(t, want.restatements(), restatements)
			require.GreaterOrEqual(t, want.restatements(), len(restatedKeys))
			require.EqualValues(t, wantSuperseded, superseded)
			require.Zero(t, badSeq)
			var restatedLate int64
			query(t, l, `SELECT count(*) FROM t WHERE reporting_date = DATE '2026-05-04' AND is_restatement AND NOT superseded`, &restatedLate)
			require.EqualValues(t, len(restatedKeys), restatedLate)

			// Stores: aliases applied, unknown stores as written.
			var odd, novel int64
			query(t, l, `SELECT count(*) FILTER (WHERE store IN ('  SPOTIFY ', 'facebook', 'Facebook')),
				count(*) FILTER (WHERE store = 'Nova Radio Café') FROM t`, &odd, &novel)
			require.Zero(t, odd)
			require.EqualValues(t, 1, novel)

			// The dataset is queryable by name, with its Hive partitions.
			e, err := sqlengine.New(sqlengine.Options{Store: l.st, Meta: l.meta, CacheDir: l.deps.CacheDir})
			require.NoError(t, err)
			var viewRows int64
			_, err = e.Query(ctx, `SELECT count(*) FROM staging.royalties_earnings WHERE domain = 'royalties' AND CAST(year AS INTEGER) = year(sale_month)`, func(r *sqlengine.Rows) error {
				require.True(t, r.Next())
				viewRows = r.Values()[0].(int64)
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, rows, viewRows)

			// A second build on unchanged inputs writes and changes nothing.
			before := manifest(t, l)
			statesBefore, err := l.meta.States(ctx, StateSource)
			require.NoError(t, err)
			again, err := Build(ctx, l.deps, Options{Domains: []string{RoyaltiesDomain}})
			require.NoError(t, err)
			require.Zero(t, again.Rebuilt)
			require.Equal(t, res.Rebuilt, again.Skipped)
			require.Empty(t, again.Files)
			require.Equal(t, before, manifest(t, l))
			statesAfter, err := l.meta.States(ctx, StateSource)
			require.NoError(t, err)
			require.Equal(t, statesBefore, statesAfter)
			for i, p := range again.Partitions {
				require.Equal(t, Skipped, p.Action)
				require.Equal(t, res.Partitions[i].Key, p.Key)
				require.Equal(t, res.Partitions[i].Digest, p.Digest)
			}

			// A new raw file with rows of one sale year rebuilds that year only.
			d := parseLine(t, a.lines[len(a.lines)-1])
			d[cInserted], d[cReporting], d[cSaleMonth] = "2026-06-03", "2026-06-03", "2025-02"
			require.Equal(t, []string{"ingested"}, l.ingest(t, "DistroKid_d.tsv", a.bytes([]string{record(d)})))
			third, err := Build(ctx, l.deps, Options{Domains: []string{RoyaltiesDomain}})
			require.NoError(t, err)
			require.Equal(t, 1, third.Rebuilt)
			require.Equal(t, res.Rebuilt-1, third.Skipped)
			for i, p := range third.Partitions {
				if p.Partition == "year=2025" {
					require.Equal(t, Rebuilt, p.Action)
					require.NotEqual(t, res.Partitions[i].Key, p.Key)
					require.Equal(t, res.Partitions[i].Rows+1, p.Rows)
					_, err := l.st.Stat(ctx, res.Partitions[i].Key)
					require.ErrorIs(t, err, storage.ErrNotFound, "the replaced file is deleted")
				} else {
					require.Equal(t, Skipped, p.Action, p.Partition)
					require.Equal(t, res.Partitions[i].Key, p.Key)
					require.Equal(t, res.Partitions[i].Digest, p.Digest)
				}
			}
			query(t, l, `SELECT sum(CAST(earnings_usd * 1000000000000 AS BIGINT)) FROM t`, &all)
			require.Equal(t, sumA.EarningsE12+sumB+e12(t, d[cEarnings]), all)
		})
	}
}
