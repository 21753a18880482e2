package zone_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/host/zone"
)

// ist is a zone east of UTC, so that its local date and hour differ from
// UTC's around midnight.
var ist = time.FixedZone("IST", 5*3600+30*60)

func TestLayoutNamesUseUTC(t *testing.T) {
	t.Parallel()
	// 01:05:59 on 26 November in IST is 19:35:59 on 25 November in UTC.
	local := time.Date(2026, 11, 26, 1, 5, 59, 999, ist)
	utc := time.Date(2026, 11, 25, 19, 35, 0, 0, time.UTC)

	require.Equal(t, "landing/distrokid/2026-11-25-1935", zone.LandingBatch("distrokid", local))
	require.Equal(t, zone.LandingBatch("distrokid", utc), zone.LandingBatch("distrokid", local))
	require.Equal(t, "raw/source=distrokid/date=2026-11-25", zone.RawPartition("distrokid", local))
	require.Equal(t, "raw/source=distrokid/date=2026-11-25/earnings-r01HX-0007.zstd.parquet",
		zone.RawFile("distrokid", local, "earnings", "r01HX", 7))
	require.Equal(t, "raw/source=spotify/date=2026-01-02/tracks-run-12345.zstd.parquet",
		zone.RawFile("spotify", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "tracks", "run", 12345))

	// West of UTC the date moves the other way.
	west := time.Date(2026, 12, 31, 20, 0, 0, 0, time.FixedZone("EST", -5*3600))
	require.Equal(t, "landing/spotify/2027-01-01-0100", zone.LandingBatch("spotify", west))
	require.Equal(t, "raw/source=spotify/date=2027-01-01", zone.RawPartition("spotify", west))

	for _, key := range []string{zone.LandingBatch("a", local), zone.RawFile("a", local, "s", "r", 0)} {
		require.NoError(t, storage.ValidateKey(key))
	}
}

func TestDatasetNames(t *testing.T) {
	t.Parallel()
	require.Equal(t, "landing.distrokid", zone.LandingDataset("distrokid"))
	require.Equal(t, "quarantine.distrokid", zone.QuarantineDataset("distrokid"))
	require.Equal(t, "raw.distrokid.earnings", zone.RawDataset("distrokid", "earnings"))
}

func TestValidSource(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"distrokid", "spotify", "a", "x1", "apple-music", "meta_ads", "a" + strings.Repeat("b", 62)} {
		require.NoError(t, zone.ValidSource(name), name)
	}
	for _, name := range []string{
		"", "Distrokid", "1password", "-dash", "_under", "a b", "a/b", "a.b", "..", "a\\b",
		"dístrokid", "a\x00", "a" + strings.Repeat("b", 63), "source=x",
	} {
		err := zone.ValidSource(name)
		require.Error(t, err, "%q", name)
		require.ErrorContains(t, err, "invalid source name")
	}
}

func TestPayloadName(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"DistroKid_2026-11.tsv":            "DistroKid_2026-11.tsv",
		"Bank Details (1).csv":             "Bank Details (1).csv",
		"a+b,c=d@e.txt":                    "a+b,c=d@e.txt",
		"exports/2026/nov.tsv":             "nov.tsv",
		"/abs/path/report.csv":             "report.csv",
		`C:\Users\me\Downloads\dk.tsv`:     "dk.tsv",
		`..\..\windows\system.ini`:         "system.ini",
		"../../etc/passwd":                 "passwd",
		"dir/":                             "dir",
		"..":                               "payload",
		".":                                "payload",
		"...":                              "payload",
		"":                                 "payload",
		"/":                                "_",
		".hidden.tsv":                      "hidden.tsv",
		"..secret":                         "secret",
		"a\x00b\nc\td.tsv":                 "a_b_c_d.tsv",
		"bell\x07\x1b[31m.tsv":             "bell_31m.tsv",
		"relevé 2026 — 🎵.csv":              "relev_ 2026 _ _.csv",
		"a:b*c?d\"e<f>g|h.tsv":             "a_b_c_d_e_f_g_h.tsv",
		zone.MetadataName:                  "payload",
		"." + zone.MetadataName:            "payload",
		"sub/" + zone.MetadataName:         "payload",
		"x" + zone.MetadataName:            "x" + zone.MetadataName,
		zone.MetadataName + ".bak":         zone.MetadataName + ".bak",
		strings.ToUpper(zone.MetadataName): "payload",
		zone.QuarantineDir:                 "payload",
	}
	for in, want := range cases {
		got := zone.PayloadName(in)
		require.Equal(t, want, got, "PayloadName(%q)", in)
		requireSafeName(t, in, got)
	}
}

func TestPayloadNameLong(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 400) + ".tsv"
	got := zone.PayloadName(long)
	requireSafeName(t, long, got)
	require.True(t, strings.HasSuffix(got, ".tsv"), "the extension is kept: %q", got)
	require.True(t, strings.HasPrefix(got, "xxxx"))

	got = zone.PayloadName(strings.Repeat("é", 300))
	requireSafeName(t, "é…", got)
}

// requireSafeName checks that name works as the last segment of a landing
// key, of a renamed duplicate ("2-name") and of a quarantine reason.
func requireSafeName(t *testing.T, in, name string) {
	t.Helper()
	batch := zone.LandingBatch("src", time.Unix(0, 0))
	for _, key := range []string{
		batch + "/" + name,
		batch + "/99-" + name,
		batch + "/" + zone.QuarantineDir + "/" + name + ".reason.json",
	} {
		require.NoError(t, storage.ValidateKey(key), "PayloadName(%q) = %q", in, name)
	}
	require.NotContains(t, name, "/")
	require.NotContains(t, name, `\`)
	require.False(t, strings.HasPrefix(name, "."), "PayloadName(%q) = %q is hidden", in, name)
	require.NotEqual(t, zone.MetadataName, name)
	require.NotEqual(t, zone.QuarantineDir, name)
}

func FuzzPayloadName(f *testing.F) {
	for _, s := range []string{"a.tsv", "../x", `..\..\y`, "", ".", "\x00", zone.MetadataName, strings.Repeat("z", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		requireSafeName(t, in, zone.PayloadName(in))
	})
}

func TestInitFolder(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	st, err := folder.New(root)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, zone.Init(ctx, st))
	require.NoError(t, zone.Init(ctx, st), "Init is idempotent")

	// Exactly the layout's folders (and their parents) exist, with no
	// marker files: a folder is visible without one.
	want := map[string]bool{}
	for _, f := range zone.Folders {
		for d := f; d != "."; d = filepath.ToSlash(filepath.Dir(d)) {
			want[d] = true
		}
	}
	got := map[string]bool{}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
		case rel == folder.TempDir:
			return fs.SkipDir // the folder store's own temp area
		case d.IsDir():
			got[rel] = true
		default:
			files = append(files, rel)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Empty(t, files)

	var objects []string
	require.NoError(t, st.List(ctx, "", func(oi storage.ObjectInfo) error {
		objects = append(objects, oi.Key)
		return nil
	}))
	require.Empty(t, objects)
}

// objectStore hides the folder store's LocalPath, so that Init treats it as
// an object store without folders.
type objectStore struct{ storage.Store }

func TestInitObjectStoreWritesMarkers(t *testing.T) {
	t.Parallel()
	st, err := folder.New(t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, zone.Init(ctx, objectStore{st}))

	var got []string
	require.NoError(t, st.List(ctx, "", func(oi storage.ObjectInfo) error {
		got = append(got, oi.Key)
		require.Zero(t, oi.Size)
		return nil
	}))
	var want []string
	for _, f := range zone.Folders {
		want = append(want, f+"/.keep")
	}
	sort.Strings(want)
	require.Equal(t, want, got)
}

func TestInitFailsOnAFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	st, err := folder.New(root)
	require.NoError(t, err)
	// A file where a zone folder belongs makes Init fail, naming the folder.
	require.NoError(t, os.WriteFile(filepath.Join(root, "landing"), []byte("x"), 0o644))
	err = zone.Init(context.Background(), st)
	require.ErrorContains(t, err, "failed to create landing")
}

func TestRawFileStream(t *testing.T) {
	at := time.Date(2026, 11, 26, 5, 50, 12, 0, time.UTC)
	for _, stream := range []string{"earnings", "song-timeline", "tracks"} {
		require.Equal(t, stream, zone.RawFileStream(zone.RawFile("spotify", at, stream, "20261126T055012Z-9f3a1c", 3)))
	}
	require.Empty(t, zone.RawFileStream("landing/spotify/2026-11-26-0550/x.json"))
	require.Empty(t, zone.RawFileStream("raw/source=spotify/date=2026-11-26/odd.zstd.parquet"))
}
