package csvfile_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/csvfile"
	"github.com/bedrot-label/bedrot/sdk"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "views.csv")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func TestInfersTypesAndStreamsBatches(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("\ufeffvideo_id,view_count,ratio,is_ad,day,note\n")
	n := csvfile.BatchRows + 10
	for i := range n {
		ratio := fmt.Sprintf("%d.5", i)
		if i == 3 {
			ratio = "7" // an integer among floats: the column stays float
		}
		note := "x"
		if i == 5 {
			note = "12" // a number among text: the column stays text
		}
		views := fmt.Sprint(i)
		if i == 1 {
			views = "" // a null
		}
		fmt.Fprintf(&b, "%019d,%s,%s,%v,2026-11-%02d,%s\n", i, views, ratio, i%2 == 0, 1+i%28, note)
	}
	r, err := csvfile.Open(write(t, b.String()))
	require.NoError(t, err)
	defer r.Close()
	types := map[string]sdk.Type{}
	for _, f := range r.Schema().Fields {
		types[f.Name] = f.Type
		require.True(t, f.Nullable)
	}
	require.Equal(t, map[string]sdk.Type{"video_id": sdk.TypeInt64, "view_count": sdk.TypeInt64, "ratio": sdk.TypeFloat64,
		"is_ad": sdk.TypeBool, "day": sdk.TypeDate, "note": sdk.TypeString}, types)

	var rows int
	for {
		batch, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.NoError(t, batch.Validate(r.Schema()))
		if rows == 0 {
			require.True(t, batch.Columns[1].IsNull(1))
			require.Equal(t, 7.0, batch.Columns[2].Float64s[3])
			require.Equal(t, "12", batch.Columns[5].String(5))
			require.Equal(t, int64(4), batch.Columns[0].Int64s[4])
		}
		rows += batch.NumRows
	}
	require.Equal(t, n, rows)
	require.EqualValues(t, n, r.Rows())
}

func TestBadFilesNameFileAndLine(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ content, want string }{
		"empty":         {"", "is empty: a CSV file needs a header line"},
		"ragged":        {"a,b\n1,2\n3\n", "views.csv:3: 1 fields, but the header has 2"},
		"repeated head": {"a,a\n1,2\n", `views.csv:1: column 2: header "a" is empty or repeated`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := csvfile.Open(write(t, tc.content))
			require.ErrorContains(t, err, tc.want)
		})
	}
}
