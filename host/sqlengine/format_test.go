package sqlengine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/sqlengine"
)

// render runs q on an empty lake and writes its result in format f.
func render(t *testing.T, e *sqlengine.Engine, f sqlengine.Format, q string) string {
	t.Helper()
	var buf bytes.Buffer
	var n int64
	st, err := e.Query(context.Background(), q, func(r *sqlengine.Rows) error {
		var err error
		n, err = sqlengine.Write(&buf, f, r)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, st.Rows, n)
	return buf.String()
}

const typesQuery = `SELECT 1::INTEGER AS i, 'a,"b"' AS s, NULL::VARCHAR AS n, 1.5::DECIMAL(18,3) AS d,
	-0.000000000001::DECIMAL(18,12) AS small, DATE '2026-11-26' AS day, TIMESTAMP '2026-11-26 10:00:00.5' AS ts,
	TIMESTAMPTZ '2026-11-26 10:00:00+02' AS tz, 'NaN'::DOUBLE AS nan, 0.1::DOUBLE AS f, true AS b,
	[1, 2] AS l, {'k': 'v', 'a': [NULL]} AS st, MAP {'z': 1, 'y': 2} AS m, 170141183460469231731687303715884105727::HUGEINT AS h,
	'00000000-0000-0000-0000-00000000002a'::UUID AS u, '\x00ab'::BLOB AS bl, INTERVAL '1 year 2 months 3 days 4 hours 5.25 seconds' AS iv,
	TIME '12:34:56.789' AS tm, 'line1
line2' AS nl`

func TestFormats(t *testing.T) {
	t.Parallel()
	l := backends[0].open(t)
	e := l.engine(t)

	csv := render(t, e, sqlengine.FormatCSV, typesQuery)
	require.Equal(t, `i,s,n,d,small,day,ts,tz,nan,f,b,l,st,m,h,u,bl,iv,tm,nl
1,"a,""b""",,1.500,-0.000000000001,2026-11-26,2026-11-26T10:00:00.5,2026-11-26T08:00:00Z,NaN,0.1,true,"[1,2]","{""a"":[null],""k"":""v""}","{""z"":1,""y"":2}",170141183460469231731687303715884105727,00000000-0000-0000-0000-00000000002a,\x00ab,1 year 2 months 3 days 04:00:05.25,12:34:56.789,"line1
line2"
`, csv)

	js := render(t, e, sqlengine.FormatJSON, typesQuery)
	require.Equal(t, `[
{"i":1,"s":"a,\"b\"","n":null,"d":1.500,"small":-0.000000000001,"day":"2026-11-26","ts":"2026-11-26T10:00:00.5","tz":"2026-11-26T08:00:00Z","nan":"NaN","f":0.1,"b":true,"l":[1,2],"st":{"a":[null],"k":"v"},"m":{"z":1,"y":2},"h":170141183460469231731687303715884105727,"u":"00000000-0000-0000-0000-00000000002a","bl":"\\x00ab","iv":"1 year 2 months 3 days 04:00:05.25","tm":"12:34:56.789","nl":"line1\nline2"}
]
`, js)
	var doc []map[string]any
	require.NoError(t, json.Unmarshal([]byte(js), &doc), "valid JSON")

	nd := render(t, e, sqlengine.FormatNDJSON, `SELECT range AS n, range * 2 AS n FROM range(3)`)
	require.Equal(t, `{"n":0,"n_1":0}
{"n":1,"n_1":2}
{"n":2,"n_1":4}
`, nd, "one object a line, duplicate names made unique")

	require.Equal(t, "[]\n", render(t, e, sqlengine.FormatJSON, `SELECT 1 AS a WHERE false`))
	require.Equal(t, "", render(t, e, sqlengine.FormatNDJSON, `SELECT 1 AS a WHERE false`))
	require.Equal(t, "a\n", render(t, e, sqlengine.FormatCSV, `SELECT 1 AS a WHERE false`))

	table := render(t, e, sqlengine.FormatTable, `SELECT * FROM (VALUES (1, 'Night Drive', 2.50::DECIMAL(5,2)), (1234, NULL, -1::DECIMAL(5,2)),
		(7, 'tab	and
newline', 0::DECIMAL(5,2)), (8, '夜のドライブ', 1::DECIMAL(5,2))) AS t(id, title, usd)`)
	require.Equal(t, `  id | title             |   usd
-----+-------------------+------
   1 | Night Drive       |  2.50
1234 | NULL              | -1.00
   7 | tab\tand\nnewline |  0.00
   8 | 夜のドライブ      |  1.00
(4 rows)
`, table)
	require.Equal(t, "a\n-\n(0 rows)\n", render(t, e, sqlengine.FormatTable, `SELECT 1 AS a WHERE false`))

	long := render(t, e, sqlengine.FormatTable, `SELECT repeat('x', 100) AS v`)
	require.Equal(t, "v\n"+strings.Repeat("-", 64)+"\n"+strings.Repeat("x", 63)+"…\n(1 row)\n", long)
	exact := render(t, e, sqlengine.FormatTable, `SELECT repeat('x', 64) AS v`)
	require.Contains(t, exact, "\n"+strings.Repeat("x", 64)+"\n", "a value of the full width is not cut")
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for _, f := range sqlengine.Formats {
		got, err := sqlengine.ParseFormat(strings.ToUpper(string(f)))
		require.NoError(t, err)
		require.Equal(t, f, got)
	}
	_, err := sqlengine.ParseFormat("xml")
	require.ErrorContains(t, err, "xml")
}

// probe is a writer that records how many rows had been read when it was
// first written to.
type probe struct {
	rows      *sqlengine.Rows
	firstSeen int64
	bytes     int
}

func (p *probe) Write(b []byte) (int, error) {
	if p.bytes == 0 {
		p.firstSeen = p.rows.Count()
	}
	p.bytes += len(b)
	return len(b), nil
}

func TestWritersStream(t *testing.T) {
	t.Parallel()
	l := backends[0].open(t)
	e := l.engine(t)
	const total = 300_000
	for _, f := range sqlengine.Formats {
		p := &probe{}
		_, err := e.Query(context.Background(), `SELECT range AS n, 'row ' || range AS label FROM range(300000)`, func(r *sqlengine.Rows) error {
			p.rows = r
			n, err := sqlengine.Write(p, f, r)
			require.EqualValues(t, total, n)
			return err
		})
		require.NoError(t, err)
		require.Positive(t, p.firstSeen, f)
		require.Less(t, p.firstSeen, int64(total/10), "%s output reaches the writer while rows are still coming", f)
	}
}

// failing is a writer that fails, like a closed pipe.
type failing struct{}

var errPipe = errors.New("broken pipe")

func (failing) Write([]byte) (int, error) { return 0, errPipe }

func TestWriteErrorsStopTheQuery(t *testing.T) {
	t.Parallel()
	l := backends[0].open(t)
	e := l.engine(t)
	for _, f := range sqlengine.Formats {
		st, err := e.Query(context.Background(), `SELECT range FROM range(10000000)`, func(r *sqlengine.Rows) error {
			_, err := sqlengine.Write(failing{}, f, r)
			return err
		})
		require.ErrorIs(t, err, errPipe, f)
		require.Less(t, st.Rows, int64(10000000), "%s stops reading at the first failed write", f)
	}
}

func TestQueryStopsAtItsDeadline(t *testing.T) {
	t.Parallel()
	l := backends[0].open(t)
	e := l.engine(t)
	// Uninterrupted, this count takes minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.Query(ctx, `SELECT count(*) FROM range(1000000000000)`, func(r *sqlengine.Rows) error {
		for r.Next() {
		}
		return r.Err()
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 10*time.Second)
}
