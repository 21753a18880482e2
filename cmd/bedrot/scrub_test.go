package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
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

// A plugin built before BLAKE3 digests sends its payload's SHA-256 (and no
// digest algorithm), and streams the payload's bytes. The host checks them
// with SHA-256, lands the payload with that SHA-256 as its digest, knows the
// same export again by it (the fixture forgets its own state), and scrubs it
// with SHA-256: intact, it passes; with a byte flipped, scrub names the file.
func TestPreBLAKE3PluginsPayloadsLandWithTheirSHA256(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.ok("init")
	c.ok("plugin", "install", plugintest.Fixture(t, "bedrot-source-legacy"))
	p, sum := export(t, t.TempDir(), "DistroKid_old.tsv", exportgen.Options{Rows: 150, Seed: 5})
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	sha := sha256.Sum256(data)
	want := hex.EncodeToString(sha[:])

	doc := c.json("ingest", "legacy", p)
	require.Equal(t, "succeeded", doc["status"])
	require.EqualValues(t, sum.Rows, doc["rows"])

	metas, err := filepath.Glob(filepath.Join(c.lake, "landing", "legacy", "*", "_metadata.json"))
	require.NoError(t, err)
	require.Len(t, metas, 1)
	raw, err := os.ReadFile(metas[0])
	require.NoError(t, err)
	var meta struct {
		Payloads []struct {
			Key    string `json:"key"`
			Digest string `json:"digest"`
		} `json:"payloads"`
	}
	require.NoError(t, json.Unmarshal(raw, &meta), string(raw))
	require.Len(t, meta.Payloads, 1)
	require.Equal(t, want, meta.Payloads[0].Digest, "the landing manifest records the plugin's SHA-256, bare, as sha256sum prints it")

	doc = c.json("ingest", "legacy", p)
	require.Equal(t, "succeeded", doc["status"])
	require.EqualValues(t, 0, doc["rows"], "the same export again adds no rows")
	payloads, _ := doc["payloads"].([]any)
	require.Len(t, payloads, 1)
	again, _ := payloads[0].(map[string]any)
	require.Equal(t, "duplicate", again["status"], "the host knows the export by its SHA-256")
	require.Equal(t, want, again["digest"])

	out := c.ok("scrub")
	require.Contains(t, out, "Checked existence, size and checksum of 3 file(s)")
	require.Contains(t, out, ": 0 missing or damaged")

	landing := filepath.Join(c.lake, filepath.FromSlash(meta.Payloads[0].Key))
	data[len(data)/2] ^= 0x01
	require.NoError(t, os.WriteFile(landing, data, 0o644))
	r := c.run("scrub")
	require.Equal(t, 5, r.code, r.stderr)
	damaged := sha256.Sum256(data)
	require.Contains(t, r.stdout, meta.Payloads[0].Key+": checksum "+hex.EncodeToString(damaged[:])+", the manifest recorded "+want+" (checksum mismatch)",
		"scrub hashes the file with SHA-256, the algorithm of the digest it checks")
}
