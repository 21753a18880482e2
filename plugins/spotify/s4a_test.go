package spotify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// readS4ADir reads a folder of exports with the given state.
func readS4ADir(t *testing.T, dir string, state map[string][]byte) *sdktest.Recorder {
	t.Helper()
	e := newEmitRecorder(t)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: sdk.Config{ParamS4ADir: dir}, State: state}, e))
	return e
}

// rowsOf returns the rows of a stream that came from file.
func rowsOf(e *sdktest.Recorder, stream, file string) []map[string]any {
	var out []map[string]any
	for _, r := range e.Rows(stream) {
		if r["source_file"] == file {
			out = append(out, r)
		}
	}
	return out
}

func sha(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestS4ASampleExports(t *testing.T) {
	t.Parallel()
	e := readS4ADir(t, sampleDir, nil)
	for stream, n := range sampleRows {
		require.Len(t, e.Rows(stream), n, stream)
		requireNoDuplicates(t, stream, e.Rows(stream))
	}
	for _, s := range APIStreams() {
		require.Empty(t, e.Rows(s.Name))
	}
	names, err := listExports(sampleDir)
	require.NoError(t, err)
	require.Len(t, e.Payloads(), len(names), "one payload per file")
	for i, p := range e.Payloads() {
		pname, whole := exportPayloadName(names[i])
		require.True(t, whole)
		require.Equal(t, pname, p.Name, "the payload name encodes the file name (names.go)")
		require.Equal(t, "text/csv", p.MediaType)
		require.Empty(t, p.Problems, p.Name)
		data, err := os.ReadFile(filepath.Join(sampleDir, names[i]))
		require.NoError(t, err)
		require.Equal(t, data, p.Data, "the original bytes, BOM included")
		require.True(t, strings.HasPrefix(string(data), "\ufeff"), "Spotify writes a BOM")
	}

	// Audience timeline, three header variants.
	mara := rowsOf(e, StreamS4AAudience, "Mara Ellis-audience-timeline.csv")
	require.Len(t, mara, 28)
	require.Equal(t, "Mara Ellis", mara[0]["artist"])
	require.Equal(t, "2026-02-10", mara[0]["date"])
	require.Equal(t, int64(2), mara[0]["source_line"], "the header is line 1")
	require.Equal(t, sha(t, filepath.Join(sampleDir, "Mara Ellis-audience-timeline.csv")), mara[0]["source_sha256"])
	for _, col := range []string{"listeners", "monthly_listeners", "monthly_active_listeners", "super_listeners", "streams", "playlist_adds", "saves", "followers"} {
		require.IsType(t, int64(0), mara[0][col], col)
	}
	require.Nil(t, mara[0]["extra_columns"])
	orjan := rowsOf(e, StreamS4AAudience, "Ørjan Ødegård-audience-timeline.csv")
	require.Len(t, orjan, 28)
	require.Equal(t, "Ørjan Ødegård", orjan[0]["artist"])
	require.Nil(t, orjan[0]["super_listeners"], "absent column: null, not 0")
	require.NotNil(t, orjan[0]["monthly_active_listeners"])
	osker := rowsOf(e, StreamS4AAudience, "osker wyld-audience-timeline.csv")
	require.Len(t, osker, 28)
	require.Equal(t, "2026-03-09", osker[27]["date"], "CRLF line ends")
	for _, col := range []string{"monthly_listeners", "monthly_active_listeners", "super_listeners", "playlist_adds", "saves"} {
		require.Nil(t, osker[0][col], col)
	}
	require.Equal(t, int64(13), osker[0]["followers"])

	// Per-song timelines: the song comes from the file name.
	songs := map[any]int{}
	for _, r := range e.Rows(StreamS4ASongTimeline) {
		songs[r["song"]]++
		require.NotNil(t, r["streams"])
	}
	require.Equal(t, map[any]int{"Tidewater": 28, "Harbour Lights": 28, "Þögn (fyrir ömmu)": 28, "tólfta (fyrir ömmu)": 28}, songs)

	// Songs tables: window and artist from the file name, quoting kept.
	year := rowsOf(e, StreamS4ASongs, "Mara Ellis-songs-1year.csv")
	require.Len(t, year, 10)
	for _, r := range year {
		require.Equal(t, "Mara Ellis", r["artist"])
		require.Equal(t, "1year", r["time_window"])
	}
	require.Equal(t, `12" Mix`, year[3]["song"])
	require.Equal(t, "2019-01-01", year[3]["release_date"])
	require.Equal(t, "Sampler Opening, Pt. 1", year[7]["song"])
	require.Nil(t, year[7]["release_date"], "empty release date: null")
	require.Equal(t, "28days", rowsOf(e, StreamS4ASongs, "Mara Ellis-songs-28days.csv")[0]["time_window"])

	// Playlists: n/a, - and empty date_added are null.
	pl := e.Rows(StreamS4APlaylists)
	require.Len(t, pl, 8)
	added := map[any]any{}
	for _, r := range pl {
		added[r["title"]] = r["date_added"]
	}
	require.Equal(t, "2026-01-20", added["This Is Mara Ellis"])
	require.Nil(t, added["Release Radar"], "n/a")
	require.Nil(t, added["Discover Weekly"], "-")
	require.Nil(t, added["Your DJ"], "empty")
	require.Equal(t, "2025-11-02", added["Chill, Calm & Cosy"])
	require.Contains(t, added, `Ørjan's "Late" Picks`)

	// One checkpoint per file, in its stream.
	for _, s := range S4AStreams() {
		st, err := ParseS4AState(lastCheckpoint(t, e, s.Name))
		require.NoError(t, err)
		var rows int64
		for name, f := range st.Files {
			require.Equal(t, sha(t, filepath.Join(sampleDir, name)), f.SHA256)
			require.Equal(t, t0.UTC(), f.ReadAt)
			rows += f.Rows
		}
		require.Equal(t, int64(sampleRows[s.Name]), rows, s.Name)
		require.Len(t, e.Checkpoints(s.Name), len(st.Files))
	}
}

// A second run reads only new or changed files.
func TestS4AIncremental(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, sampleDir, dir)
	e := readS4ADir(t, dir, nil)
	st := states(e)

	again := readS4ADir(t, dir, st)
	require.Empty(t, again.Payloads(), "nothing new")
	require.Empty(t, again.Checkpoints(StreamS4ASongs))

	tl := filepath.Join(dir, "Tidewater-timeline.csv")
	b, err := os.ReadFile(tl)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tl, append(b, "2026-03-10,99\n"...), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Low Tide-timeline.csv"), []byte("\ufeffdate,streams\n2026-03-10,5\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an export"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".~lock.x.csv#"), []byte("x"), 0o644))
	next := readS4ADir(t, dir, st)
	var names []string
	for _, p := range next.Payloads() {
		names = append(names, p.Name)
	}
	require.Equal(t, []string{"s4a-Low Tide-timeline.csv", "s4a-Tidewater-timeline.csv"}, names, "the new and the changed file")
	require.Len(t, next.Rows(StreamS4ASongTimeline), 1+29)
	tlState, err := ParseS4AState(lastCheckpoint(t, next, StreamS4ASongTimeline))
	require.NoError(t, err)
	require.Len(t, tlState.Files, 5, "the state keeps the files read before")
	require.Equal(t, sha(t, tl), tlState.Files["Tidewater-timeline.csv"].SHA256)
}

// writeExport writes an export file into dir.
func writeExport(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

// A bad row quarantines its file with a problem naming file, line and
// field; the file is not recorded as read, the other files are.
func TestS4AProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, content string
		want                sdk.Problem
	}{
		{"bad count", "Tidewater-timeline.csv", "\ufeffdate,streams\n2026-03-01,5\n2026-03-02,12x\n",
			sdk.Problem{Line: 3, Field: "streams", Message: `not a whole number: "12x"`}},
		{"bad date", "Mara Ellis-audience-timeline.csv", "\ufeffdate,listeners,streams,followers\n10/03/2026,1,2,3\n",
			sdk.Problem{Line: 2, Field: "date", Message: `not a date in the form YYYY-MM-DD: "10/03/2026"`}},
		{"empty timeline date", "Tidewater-timeline.csv", "\ufeffdate,streams\n,5\n",
			sdk.Problem{Line: 2, Field: "date", Message: `not a date in the form YYYY-MM-DD: ""`}},
		{"bad date added", "playlists.csv", "title,author,listeners,streams,date_added\nMix,me,1,2,soon\n",
			sdk.Problem{Line: 2, Field: "date_added", Message: `not a date in the form YYYY-MM-DD: "soon"`}},
		{"field count", "x-songs-1year.csv", "\ufeffsong,listeners,streams,saves,release_date\nA,1,2,3,2020-01-01\nB,1,2\n",
			sdk.Problem{Line: 3, Message: "the line has 3 fields but the header has 5"}},
		{"latin-1", "x-songs-1year.csv", "song,listeners,streams,saves,release_date\nT\xf3lfta,1,2,3,2020-01-01\n",
			sdk.Problem{Line: 2, Field: "song", Message: "the value is not UTF-8 text; save the export as UTF-8 (as Spotify writes it)"}},
		{"unknown header", "mystery.csv", "\ufefffoo,bar\n1,2\n",
			sdk.Problem{Line: 1, Message: `the header "foo,bar" is not that of a Spotify for Artists export (audience timeline, song timeline, songs table or playlists table)`}},
		{"empty file", "empty-timeline.csv", "\ufeff",
			sdk.Problem{Message: "the file is empty: no header line"}},
		{"repeated column", "Tidewater-timeline.csv", "date,streams,streams\n2026-03-01,1,1\n",
			sdk.Problem{Line: 1, Field: "streams", Message: `the header names the column "streams" twice`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeExport(t, dir, tc.file, tc.content)
			writeExport(t, dir, "zz Good-timeline.csv", "\ufeffdate,streams\n2026-03-01,5\n")
			e := readS4ADir(t, dir, nil)
			require.Len(t, e.Payloads(), 2)
			bad := e.Payloads()[0]
			require.True(t, bad.Ended)
			require.Equal(t, []byte(tc.content), bad.Data, "the payload keeps the bytes for the quarantine")
			tc.want.File = tc.file
			require.Equal(t, []sdk.Problem{tc.want}, bad.Problems)
			require.Empty(t, e.Payloads()[1].Problems)
			require.Contains(t, logText(e), "rejected")
			for _, s := range S4AStreams() {
				for _, cp := range e.Checkpoints(s.Name) {
					require.NotContains(t, string(cp), tc.file, "a quarantined file is not recorded as read")
				}
			}
			// Read again next time (and quarantined again until fixed).
			again := readS4ADir(t, dir, states(e))
			require.Len(t, again.Payloads(), 1)
			require.Equal(t, exportPrefix+tc.file, again.Payloads()[0].Name)
			require.NotEmpty(t, again.Payloads()[0].Problems)
		})
	}
}

func TestS4AManyProblemsAreCapped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("date,streams\n")
	for i := range 1500 {
		fmt.Fprintf(&b, "2026-01-01,x%d\n", i)
	}
	writeExport(t, dir, "Tidewater-timeline.csv", b.String())
	e := readS4ADir(t, dir, nil)
	probs := e.Payloads()[0].Problems
	require.Len(t, probs, maxProblems+1)
	require.Equal(t, "500 more problems not listed (only the first 1000 are)", probs[maxProblems].Message)
}

// Header spelling, line ends and file names vary; the rows do not.
func TestS4AVariants(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// No BOM, CRLF, upper case and underscores, an unknown column, blank
	// lines and a row of bare commas at the end, as a spreadsheet leaves.
	writeExport(t, dir, "Tidewater-timeline (1).csv", "Date , STREAMS,Skips\r\n2026-03-01,5,1\r\n\r\n2026-03-02, 7 ,\r\n,,\r\n")
	// An audience timeline saved under another name: recognised by its header.
	writeExport(t, dir, "audience.csv", "\ufeffdate,listeners,monthly_listeners,streams,followers\n2026-03-01,1,2,3,4\n")
	// A per-song timeline whose name lacks -timeline: the song is the name.
	writeExport(t, dir, "Northbound.csv", "\ufeffdate,streams\n2026-03-01,n/a\n")
	// A playlists table without the author column.
	writeExport(t, dir, "pl.csv", "title,streams\n\"A, B\",3\n")
	e := readS4ADir(t, dir, nil)
	for _, p := range e.Payloads() {
		require.Empty(t, p.Problems, p.Name)
	}
	tl := rowsOf(e, StreamS4ASongTimeline, "Tidewater-timeline (1).csv")
	require.Len(t, tl, 2)
	require.Equal(t, "Tidewater", tl[0]["song"], "a browser's (1) is not part of the song")
	require.Equal(t, int64(7), tl[1]["streams"])
	require.Equal(t, int64(4), tl[1]["source_line"])
	require.Equal(t, `{"Skips":"1"}`, tl[0]["extra_columns"])
	require.Equal(t, `{"Skips":""}`, tl[1]["extra_columns"])

	aud := e.Rows(StreamS4AAudience)
	require.Len(t, aud, 1)
	require.Nil(t, aud[0]["artist"], "not in the file name")
	require.Equal(t, int64(2), aud[0]["monthly_listeners"])

	nb := rowsOf(e, StreamS4ASongTimeline, "Northbound.csv")
	require.Len(t, nb, 1)
	require.Equal(t, "Northbound", nb[0]["song"])
	require.Nil(t, nb[0]["streams"], "n/a is null, not 0")

	pl := e.Rows(StreamS4APlaylists)
	require.Len(t, pl, 1)
	require.Equal(t, "A, B", pl[0]["title"])
	require.Nil(t, pl[0]["author"])
}

// A large export is streamed in batches, never as one.
func TestS4ALargeExportIsBatched(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "Tidewater-timeline.csv"))
	require.NoError(t, err)
	_, err = f.WriteString("\ufeffdate,streams\n")
	require.NoError(t, err)
	const n = 3*batchRows + 17
	for i := range n {
		_, err = fmt.Fprintf(f, "2026-01-%02d,%d\n", 1+i%28, i)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	be := &batchCounter{Recorder: newEmitRecorder(t)}
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: sdk.Config{ParamS4ADir: dir}}, be))
	require.Len(t, be.Rows(StreamS4ASongTimeline), n)
	require.Equal(t, []int{batchRows, batchRows, batchRows, 17}, be.sizes)
	require.Equal(t, int64(n+1), be.Rows(StreamS4ASongTimeline)[n-1]["source_line"])
}

// batchCounter records the size of each batch.
type batchCounter struct {
	*sdktest.Recorder
	sizes []int
}

func (b *batchCounter) Batch(rb *sdk.RecordBatch) error {
	b.sizes = append(b.sizes, rb.NumRows)
	return b.Recorder.Batch(rb)
}

func TestS4AOnlySelectedStreams(t *testing.T) {
	t.Parallel()
	e := newEmitRecorder(t)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: sdk.Config{ParamS4ADir: sampleDir}, Streams: []string{StreamS4APlaylists}}, e))
	require.Len(t, e.Payloads(), 1)
	require.Len(t, e.Rows(StreamS4APlaylists), 8)
	// The files of other streams are still unread for their streams.
	e2 := newEmitRecorder(t)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: sdk.Config{ParamS4ADir: sampleDir}, State: states(e)}, e2))
	require.Len(t, e2.Payloads(), 9)
	require.Empty(t, e2.Rows(StreamS4APlaylists))
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header, file string
		want         *s4aLayout
	}{
		{"date,listeners,monthly listeners,monthly active listeners,super listeners,streams,playlist adds,saves,followers", "a-audience-timeline.csv", audienceLayout},
		{"date,listeners,monthly listeners,monthly active listeners,streams,playlist adds,saves,followers", "x.csv", audienceLayout},
		{"date,listeners,streams,followers", "x.csv", audienceLayout},
		{"date,listeners,streams", "a-audience-timeline.csv", audienceLayout},
		{"\ufeffdate,streams", "Song-timeline.csv", songTimelineLayout},
		{"date,streams", "x-audience-timeline.csv", audienceLayout},
		{"song,listeners,streams,saves,release_date", "x.csv", songsLayout},
		{"title,author,listeners,streams,date_added", "x.csv", playlistsLayout},
		{"Title,Author", "x.csv", playlistsLayout},
		{"date,listeners", "x.csv", nil},
		{"foo", "x-timeline.csv", nil},
	} {
		require.Equal(t, tc.want, classify(strings.Split(tc.header, ","), tc.file), "%s / %s", tc.header, tc.file)
	}
}
