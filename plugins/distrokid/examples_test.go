package distrokid

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
	"github.com/stretchr/testify/require"
)

var updateExamples = flag.Bool("update", false, "rewrite the sample exports in examples/distrokid")

// examplesDir holds the sample exports shipped with the project.
const examplesDir = "../../examples/distrokid"

// examples are the generated sample exports and the options that made them.
var examples = []struct {
	name string
	opts exportgen.Options
}{
	{"DistroKid_current15_quoted_utf8.tsv", exportgen.Options{Rows: 60, Layout: exportgen.Current15, Quoted: true, Seed: 2026}},
	{"DistroKid_legacy13_latin1_cr.tsv", exportgen.Options{Rows: 40, Layout: exportgen.Legacy13, Encoding: exportgen.Latin1, LineEnd: exportgen.CR, Seed: 2024}},
	{"DistroKid_hybrid15_bom_crlf.csv", exportgen.Options{Rows: 30, Layout: exportgen.Hybrid15, Delimiter: ',', Encoding: exportgen.UTF8BOM, LineEnd: exportgen.CRLF, Seed: 2025}},
}

// The sample exports match the generator (go test -run TestExamples
// -update rewrites them) and parse without problems.
func TestExamples(t *testing.T) {
	t.Parallel()
	for _, ex := range examples {
		var buf bytes.Buffer
		sum, err := exportgen.Write(&buf, ex.opts)
		require.NoError(t, err)
		path := filepath.Join(examplesDir, ex.name)
		if *updateExamples {
			require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.True(t, bytes.Equal(buf.Bytes(), data), "%s is out of date: go test ./plugins/distrokid -run TestExamples -update", ex.name)
		p := parseBytes(t, ex.name, data, ParseOptions{})
		require.Empty(t, p.res.Problems, ex.name)
		require.Len(t, p.rows, int(sum.Rows))
	}
}
