package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
)

// bedrot scrub finds what happened to the lake's files behind bedrot's
// back: a raw file with one byte flipped (same size: only the checksum shows
// it, not --quick) and a landing file deleted. It names each file and exits
// 5; an intact lake exits 0.
func TestScrubFindsDamagedAndMissingFiles(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.setupLake()
	p, _ := export(t, t.TempDir(), "DistroKid_scrub.tsv", exportgen.Options{Rows: 200, Seed: 11})
	c.ok("ingest", "distrokid", p)

	out := c.ok("scrub")
	require.Contains(t, out, "raw.distrokid.earnings")
	require.Contains(t, out, "Checked existence, size and checksum of 3 file(s)")
	require.Contains(t, out, ": 0 missing or damaged")

	raws, err := filepath.Glob(filepath.Join(c.lake, "raw", "source=distrokid", "*", "*.parquet"))
	require.NoError(t, err)
	require.Len(t, raws, 1)
	data, err := os.ReadFile(raws[0])
	require.NoError(t, err)
	data[len(data)/2] ^= 0xff
	require.NoError(t, os.WriteFile(raws[0], data, 0o644))
	rawKey, err := filepath.Rel(c.lake, raws[0])
	require.NoError(t, err)

	out = c.ok("scrub", "--quick")
	require.Contains(t, out, "Checked existence and size of 3 file(s)")
	require.Contains(t, out, ": 0 missing or damaged", "a flipped byte keeps the size")

	landings, err := filepath.Glob(filepath.Join(c.lake, "landing", "distrokid", "*", "DistroKid_scrub.tsv"))
	require.NoError(t, err)
	require.Len(t, landings, 1)
	require.NoError(t, os.Remove(landings[0]))
	landingKey, err := filepath.Rel(c.lake, landings[0])
	require.NoError(t, err)

	r := c.run("scrub")
	require.Equal(t, 5, r.code, r.stderr)
	require.Contains(t, r.stdout, "raw.distrokid.earnings")
	require.Contains(t, r.stdout, "DAMAGED: 1 of 1 file(s)")
	require.Contains(t, r.stdout, filepath.ToSlash(rawKey)+": checksum blake3:")
	require.Contains(t, r.stdout, "(checksum mismatch)")
	require.Contains(t, r.stdout, filepath.ToSlash(landingKey)+": missing")
	require.Contains(t, r.stderr, "2 file(s) missing or damaged")

	r = c.run("scrub", "raw.distrokid.earnings", "-o", "json")
	require.Equal(t, 5, r.code, r.stderr)
	var doc struct {
		Checked  string `json:"checked"`
		Damaged  int    `json:"damaged"`
		Datasets []struct {
			Dataset  string `json:"dataset"`
			Files    int    `json:"files"`
			Problems []struct {
				Key     string `json:"key"`
				Missing bool   `json:"missing"`
			} `json:"problems"`
		} `json:"datasets"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), r.stdout)
	require.Equal(t, "existence, size and checksum", doc.Checked)
	require.Equal(t, 1, doc.Damaged)
	require.Len(t, doc.Datasets, 1)
	require.Equal(t, filepath.ToSlash(rawKey), doc.Datasets[0].Problems[0].Key)
	require.False(t, doc.Datasets[0].Problems[0].Missing)

	r = c.run("scrub", "raw.nope")
	require.Equal(t, 4, r.code)
	require.Contains(t, r.stderr, `no dataset "raw.nope" in this lake`)
}
