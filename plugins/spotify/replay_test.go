package spotify

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// landed is a payload as the host keeps it in landing: its name, media
// type and bytes, and the rows it gave, by stream.
type landed struct {
	name, media string
	data        []byte
	rows        map[string][]rowOfBatch
	records     int64
	problems    []sdk.Problem
}

// kept returns the payloads the host keeps of a run (see committed), in
// the order they began.
func (c *contractEmitter) kept(succeeded bool) []landed {
	c.mu.Lock()
	_, upTo := c.cutLocked(succeeded)
	ended := make(map[string]int, len(c.ended))
	for id, at := range c.ended {
		ended[id] = at
	}
	rows := make(map[string]map[string][]rowOfBatch, len(c.rows))
	for id, r := range c.rows {
		rows[id] = r
	}
	c.mu.Unlock()
	var out []landed
	for _, p := range c.rec.Payloads() {
		if at, ok := ended[p.ID()]; ok && at < upTo {
			out = append(out, landed{name: p.Name, media: p.MediaType, data: p.Data, rows: rows[p.ID()], records: p.Records})
		}
	}
	return out
}

// all returns every payload of a finished run, problems included.
func (c *contractEmitter) all() []landed {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []landed
	for _, p := range c.rec.Payloads() {
		out = append(out, landed{name: p.Name, media: p.MediaType, data: p.Data, rows: c.rows[p.ID()], records: p.Records, problems: p.Problems})
	}
	return out
}

// hostFiles writes payloads to a folder as `bedrot replay` does
// (host/pipeline/replay.go): payload i into <dir>/<i>/ under its name made
// safe by zone.PayloadName, with "<i>-" before a name an earlier payload
// has. It returns the paths in order.
func hostFiles(t *testing.T, payloads []landed) []string {
	t.Helper()
	dir := t.TempDir()
	seen := map[string]bool{}
	var paths []string
	for i, p := range payloads {
		name := p.name
		if seen[name] {
			name = strconv.Itoa(i) + "-" + name
		}
		seen[name] = true
		sub := filepath.Join(dir, strconv.Itoa(i))
		require.NoError(t, os.Mkdir(sub, 0o700))
		path := filepath.Join(sub, zone.PayloadName(name))
		require.NoError(t, os.WriteFile(path, p.data, 0o600))
		paths = append(paths, path)
	}
	return paths
}

// filesConfig returns cfg with files set to paths.
func filesConfig(cfg sdk.Config, paths []string) sdk.Config {
	return withConfig(cfg, ParamFiles, strings.Join(paths, string(os.PathListSeparator)))
}

// noNetwork fails the test on any HTTP request.
type noNetwork struct{ t *testing.T }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("a replay sent %s %s", r.Method, r.URL)
	return nil, http.ErrNotSupported
}

// replayPayloads replays files with cfg (files set) and returns what it
// emitted. Its source would fail the test on any HTTP request.
func replayPayloads(t *testing.T, cfg sdk.Config, paths []string, streams ...string) (*contractEmitter, error) {
	t.Helper()
	src := testSource(&clock{t: t0.Add(30 * 24 * time.Hour)}, nil)
	src.transport = noNetwork{t}
	e := newContractEmitter(t, func() {}, 0)
	err := src.Read(t.Context(), sdk.ReadRequest{Config: filesConfig(cfg, paths), Streams: streams}, e)
	return e, err
}

// A replay of everything landing holds gives, payload by payload, the same
// bytes under the same names and the same rows as the runs that first read
// them, without a single request to Spotify: a snapshot cut half-way and
// finished by the next run, a new snapshot, a changed export read again
// (two payloads of the same name, as the host then names them), a run of
// the tracks stream alone, in both profiles, with paged answers and
// malformed answers asked for again.
func TestReplayRebuildsEveryPayload(t *testing.T) {
	t.Parallel()
	for _, profile := range []string{emulator.ProfileExtended, emulator.ProfileDevMode} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			const secret = "replay-SeCrEt-4242"
			srv, cfg := startEmulator(t, emulator.Options{Profile: profile, ClientSecret: secret, ShortPages: 2, MalformedEvery: 5})
			exports := t.TempDir()
			copyDir(t, sampleDir, exports)

			n, _ := calls(t, cfg)
			var held []landed
			var state map[string][]byte
			run := func(at time.Time, cfg sdk.Config, cut int, streams ...string) {
				t.Helper()
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				e := newContractEmitter(t, cancel, cut)
				err := testSource(&clock{t: at}, nil).Read(ctx, sdk.ReadRequest{Config: cfg, State: state, Streams: streams}, e)
				require.Equal(t, cut == 0, err == nil, "%v", err)
				held = append(held, e.kept(err == nil)...)
				_, state = e.committed(err == nil, state)
			}
			run(t0, cfg, n/2)
			st, err := ParseAPIState(state[StreamAlbums])
			require.NoError(t, err)
			require.False(t, st.Done, "the first run was cut half-way")
			require.Positive(t, st.NextArtist, "and kept a part of the snapshot")
			withExports := withConfig(cfg, ParamS4ADir, exports)
			run(t0.Add(time.Hour), withExports, 0) // finishes the snapshot of t0, reads the exports
			tl := filepath.Join(exports, "Tidewater-timeline.csv")
			b, err := os.ReadFile(tl)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(tl, append(b, "2026-03-10,99\n"...), 0o644))
			run(t0.Add(3*time.Hour), withExports, 0)               // a new snapshot, and the changed export
			run(t0.Add(5*time.Hour), withExports, 0, StreamTracks) // the release pages go with the tracks

			// The scenario has what it claims to have.
			names := map[string]int{}
			stamps := map[string]bool{}
			var pages, malformed, tracksWithPages int
			for _, p := range held {
				names[p.name]++
				id, ok := parseAPIPayloadName(p.name)
				if !ok {
					continue
				}
				stamps[id.stamp] = true
				for _, l := range payloadLines(t, &sdktest.RecordedPayload{Name: p.name, Data: p.data}) {
					switch {
					case l.Body[0] == '"':
						malformed++
					case endpointOf(l.Request.URL) == epArtistAlbums && l.Request.Params["offset"] != "" && l.Request.Params["offset"] != "0":
						pages++
						if id.stream == StreamTracks {
							tracksWithPages++
						}
					}
				}
			}
			require.Equal(t, 2, names[exportPrefix+"Tidewater-timeline.csv"], "the changed export landed twice under one name")
			require.Len(t, stamps, 3, "three snapshots")
			require.Positive(t, pages, "paged answers")
			require.Positive(t, malformed, "malformed answers asked for again")
			require.Positive(t, tracksWithPages, "tracks payloads with the release pages")

			// Landing hands them back in its own order.
			shuffled := slices.Clone(held)
			rand.New(rand.NewPCG(7, 7)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			paths := hostFiles(t, shuffled)
			before, tokens := srv.TotalRequests(), srv.TokensIssued()
			e, err := replayPayloads(t, withExports, paths)
			require.NoError(t, err)
			require.Equal(t, before, srv.TotalRequests(), "a replay calls no API")
			require.Equal(t, tokens, srv.TokensIssued())

			got := map[string]landed{}
			for _, p := range e.all() {
				require.Empty(t, p.problems, p.name)
				require.NotContains(t, got, p.name, "each file once")
				got[p.name] = p
			}
			require.Len(t, got, len(held), "a payload for every file")
			total := map[string]int{}
			for i, want := range shuffled {
				name := filepath.Base(paths[i])
				p, ok := got[name]
				require.True(t, ok, "no payload named as the file %s", name)
				require.Equal(t, want.media, p.media, name)
				require.True(t, bytes.Equal(want.data, p.data), "%s: the bytes as they landed", name)
				require.Equal(t, want.records, p.records, name)
				for _, s := range Streams() {
					require.Equal(t, want.rows[s.Name], p.rows[s.Name], "%s: the rows of stream %s", name, s.Name)
					total[s.Name] += len(p.rows[s.Name])
				}
			}
			for _, s := range Streams() {
				require.Positive(t, total[s.Name], s.Name)
				require.Empty(t, e.rec.Checkpoints(s.Name), "a replay changes no state")
			}
			require.NotContains(t, everything(e.rec), secret)
		})
	}
}

// A replay of some streams re-reads the files of those streams only.
func TestReplaySelectedStreams(t *testing.T) {
	t.Parallel()
	srv, cfg := startEmulator(t, emulator.Options{})
	cfg = withConfig(cfg, ParamS4ADir, sampleDir)
	e := newContractEmitter(t, func() {}, 0)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg}, e))
	paths := hostFiles(t, e.kept(true))

	r, err := replayPayloads(t, cfg, paths, StreamAlbums, StreamS4ASongs)
	require.NoError(t, err)
	require.Len(t, r.rec.Payloads(), len(srv.Catalog().Artists)+2)
	require.Len(t, r.rec.Rows(StreamAlbums), len(srv.Catalog().Albums))
	require.Len(t, r.rec.Rows(StreamS4ASongs), sampleRows[StreamS4ASongs])
	require.Empty(t, r.rec.Rows(StreamArtists))
	require.Empty(t, r.rec.Rows(StreamS4AAudience))
}

// replaceLine returns data with line n (1-based) replaced.
func replaceLine(data []byte, n int, line string) []byte {
	lines := strings.SplitAfter(string(data), "\n")
	lines[n-1] = line + "\n"
	return []byte(strings.Join(lines, ""))
}

// Files no rows can be rebuilt from are still handed back byte for byte,
// as payloads ended with problems naming file, line and field (the host
// quarantines them); the others are replayed as usual.
func TestReplayRejectsWhatItCannotRebuild(t *testing.T) {
	t.Parallel()
	_, cfg := startEmulator(t, emulator.Options{ShortPages: 4})
	e := newContractEmitter(t, func() {}, 0)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg}, e))
	live := map[string]landed{}
	var albums []landed
	for _, p := range e.kept(true) {
		live[p.name] = p
		if strings.HasPrefix(p.name, StreamAlbums+"-") {
			albums = append(albums, p)
		}
	}
	require.Len(t, albums, 3)
	artist := e.kept(true)[0]
	require.True(t, strings.HasPrefix(artist.name, StreamArtists+"-"))
	tracks := e.kept(true)[2]
	require.True(t, strings.HasPrefix(tracks.name, StreamTracks+"-"))
	otherArtist := strings.Replace(artist.name, "-001-", "-007-", 1)
	otherTracks := strings.Replace(tracks.name, "-001-", "-007-", 1)
	trackLine := string(bytes.SplitAfter(tracks.data, []byte("\n"))[1])

	for _, tc := range []struct {
		name, file string
		data       []byte
		want       sdk.Problem // File is the file's name unless set
		contains   string      // in want.Message, which is then not compared whole
	}{
		{name: "export of no known kind", file: "s4a-mystery.csv", data: []byte("\ufefffoo,bar\n1,2\n"),
			want: sdk.Problem{File: "mystery.csv", Line: 1}, contains: "is not that of a Spotify for Artists export"},
		{name: "unknown name", file: "notes.txt", data: []byte("hello"),
			contains: `"notes.txt" is not the name of a payload this connector writes`},
		{name: "a raw export", file: "Tidewater-timeline.csv", data: []byte("\ufeffdate,streams\n2026-03-01,5\n"),
			contains: "save it into the s4a_dir folder"},
		{name: "shortened export name", file: "s4a-" + strings.Repeat("=C3=B6", 10) + "==.csv", data: []byte("\ufeffdate,streams\n"),
			contains: "too long to keep whole"},
		{name: "bad escape", file: "s4a-a=c3=b6-timeline.csv", data: []byte("\ufeffdate,streams\n"),
			contains: "not an \"=\" escape of two upper-case hex digits"},
		{name: "line not JSON", file: otherArtist, data: replaceLine(artist.data, 1, `{"request":`),
			want: sdk.Problem{Line: 1}, contains: "not a JSON object with request, status, received_at and body"},
		{name: "body of the wrong shape", file: otherArtist, data: replaceLine(artist.data, 1,
			`{"request":{"method":"GET","url":"https://api.spotify.com/v1/artists/X","params":{}},"status":200,"received_at":"2026-03-10T12:00:00.000Z","body":{"id":5}}`),
			want: sdk.Problem{Line: 1, Field: "body"}, contains: "the body is not an artist object"},
		{name: "answer of another stream", file: otherArtist, data: []byte(trackLine),
			want: sdk.Problem{Line: 1, Field: "request.url"}, contains: "is not an endpoint whose answers go into artists payloads"},
		{name: "not status 200", file: otherTracks, data: append(slices.Clone(tracks.data), strings.Replace(trackLine, `"status":200`, `"status":404`, 1)...),
			want: sdk.Problem{Line: int64(bytes.Count(tracks.data, []byte("\n")) + 1), Field: "status"}, contains: "only keeps answers with status 200"},
		{name: "empty", file: otherArtist, data: nil, contains: "the payload is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			good := live[albums[0].name]
			paths := hostFiles(t, []landed{{name: tc.file, data: tc.data}, good})
			r, err := replayPayloads(t, cfg, paths)
			require.NoError(t, err)
			ps := r.all()
			require.Len(t, ps, 2)
			var bad, ok landed
			for _, p := range ps {
				if p.name == good.name {
					ok = p
				} else {
					bad = p
				}
			}
			require.Equal(t, zone.PayloadName(tc.file), bad.name)
			require.Equal(t, string(tc.data), string(bad.data), "the bytes as they landed")
			require.Empty(t, bad.rows)
			require.Len(t, bad.problems, 1)
			pr := bad.problems[0]
			require.Contains(t, pr.Message, tc.contains)
			if tc.want.File == "" {
				tc.want.File = bad.name
			}
			tc.want.Message = pr.Message
			require.Equal(t, tc.want, pr)
			require.Empty(t, ok.problems)
			require.Equal(t, good.rows, ok.rows)
			require.Contains(t, logText(r.rec), "cannot be replayed")
		})
	}

	// The albums payloads of a snapshot go together: without the first
	// artist's, the second's cannot tell which releases are its own (the
	// sampler belongs to the first), and neither can the third's.
	r, err := replayPayloads(t, cfg, hostFiles(t, albums[1:]))
	require.NoError(t, err)
	for _, p := range r.all() {
		require.Len(t, p.problems, 1, p.name)
		require.Contains(t, p.problems[0].Message, "without the albums payloads of artists 1 to")
		require.Empty(t, p.rows)
	}
	// In any order, all three are fine.
	r, err = replayPayloads(t, cfg, hostFiles(t, []landed{albums[2], albums[0], albums[1]}))
	require.NoError(t, err)
	for _, p := range r.all() {
		require.Empty(t, p.problems, p.name)
		require.Equal(t, live[p.name].rows, p.rows)
	}

	// A file that is not there fails the replay and its check.
	missing := filepath.Join(t.TempDir(), "gone.jsonl")
	_, err = replayPayloads(t, cfg, []string{missing})
	require.ErrorContains(t, err, "gone.jsonl")
	err = fixedSource().Check(t.Context(), filesConfig(sdk.Config{}, []string{missing}))
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "%v", err)
	require.ErrorContains(t, err, ParamFiles)
}

// Check and Discover take a configuration of files alone, and Check calls
// no API for a replay.
func TestCheckAndDiscoverForReplay(t *testing.T) {
	t.Parallel()
	srv, cfg := startEmulator(t, emulator.Options{})
	paths := hostFiles(t, []landed{{name: "s4a-x-timeline.csv", data: []byte("date,streams\n")}})
	only := filesConfig(sdk.Config{}, paths)
	src := NewSource()
	require.NoError(t, src.Check(t.Context(), only))
	streams, err := src.Discover(t.Context(), only)
	require.NoError(t, err)
	require.Equal(t, Streams(), streams, "a replay may hold any stream")

	before := srv.TotalRequests()
	require.NoError(t, src.Check(t.Context(), filesConfig(withConfig(cfg, ParamS4ADir, sampleDir), paths)))
	require.Equal(t, before, srv.TotalRequests())

	err = src.Check(t.Context(), filesConfig(sdk.Config{}, []string{filepath.Dir(paths[0])}))
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.ErrorContains(t, err, "is not a file")
}

// Export names survive the host's payload names and come back whole.
func TestExportPayloadNames(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(sampleDir)
	require.NoError(t, err)
	names := []string{"Ann's song_ (live) = 100% – remix-timeline.csv", "UPPER.CSV", "2024 recap-songs-all.csv"}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, file := range names {
		pname, whole := exportPayloadName(file)
		require.True(t, whole, file)
		require.Equal(t, pname, zone.PayloadName(pname), "%s: the host keeps the name as it is", file)
		for _, base := range []string{pname, "12-" + pname} {
			it := describeFile(filepath.Join("x", base))
			require.NoError(t, it.reject, base)
			require.Equal(t, file, it.export, base)
			require.Equal(t, base, it.base)
		}
	}
	pname, _ := exportPayloadName("Þögn (fyrir ömmu)-timeline.csv")
	require.Equal(t, "s4a-=C3=9E=C3=B6gn (fyrir =C3=B6mmu)-timeline.csv", pname)

	// A name too long to keep whole is shortened and marked, never cut by
	// the host (which would change the song it names).
	long := strings.Repeat("ö", 40) + "-timeline.csv"
	pname, whole := exportPayloadName(long)
	require.False(t, whole)
	require.LessOrEqual(t, len(pname), maxExportPayloadName)
	require.True(t, strings.HasSuffix(pname, "==.csv"), pname)
	require.Equal(t, pname, zone.PayloadName(pname))
	require.ErrorIs(t, describeFile(pname).reject, errShortened)

	// Web API payload names.
	at := time.Date(2026, 3, 10, 12, 0, 0, 123456000, time.UTC)
	for _, i := range []int{0, 41, 1233} {
		name := apiPayloadName(StreamTracks, at, i, emulator.MaraEllisID)
		require.Equal(t, name, zone.PayloadName(name))
		it := describeFile("/tmp/3/3-" + name)
		require.NoError(t, it.reject)
		require.Equal(t, apiPayloadID{stream: StreamTracks, snapshot: at, stamp: "20260310T120000.123456Z", artist: i + 1}, *it.api)
	}
}

// The landing lines give the rows; a malformed answer (kept as a JSON
// string) gives none.
func TestParseAPIPayload(t *testing.T) {
	t.Parallel()
	line := func(path, body string) string {
		b, err := json.Marshal(landingLine{Request: landingRequest{Method: "GET", URL: "https://api.spotify.com/v1" + path, Params: map[string]string{}},
			Status: 200, ReceivedAt: "2026-03-10T12:00:00.000Z", Body: json.RawMessage(body)})
		require.NoError(t, err)
		return string(b) + "\n"
	}
	data := line("/artists/A/albums", `"{\"items\":[{\"id\":\"X"`) +
		line("/artists/A/albums", `{"items":[{"id":"X","name":"x","release_date":"2020"},{"id":"Y","name":"y"}],"next":"n"}`) +
		line("/artists/A/albums", `{"items":[{"id":"Y","name":"y"},{"id":"Z","name":"z"}],"next":null}`) +
		line("/albums/X/tracks", `{"items":[{"id":"T1"},{"id":"T2"}]}`) +
		line("/tracks", `{"tracks":[{"id":"T1","external_ids":{"isrc":"QZ1"}},null]}`) +
		line("/tracks/T2", `{"id":"T2"}`)
	p, problems, err := parseAPIPayload(strings.NewReader(data), "f.jsonl", StreamTracks)
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, []string{"X", "Y", "Z"}, albumIDs(p.listed), "each release once")
	require.Equal(t, "2020", p.listed[0].ReleaseDate.Value)
	rows := buildRows(StreamTracks, p, nil, t0)
	require.Equal(t, []string{"T1", "T2"}, rows.ids)
	require.Equal(t, []string{"Y", "Z"}, buildRows(StreamAlbums, p, []string{"X"}, t0).ids, "releases an earlier artist holds are left out")

	_, problems, err = parseAPIPayload(strings.NewReader(data), "f.jsonl", StreamAlbums)
	require.NoError(t, err)
	require.Len(t, problems, 3, "an albums payload keeps release pages only")
	require.Equal(t, sdk.Problem{File: "f.jsonl", Line: 4, Field: "request.url",
		Message: `"https://api.spotify.com/v1/albums/X/tracks" is not an endpoint whose answers go into albums payloads`}, problems[0])
}

func TestSameIDs(t *testing.T) {
	t.Parallel()
	require.NoError(t, sameIDs([]string{"a", "b"}, []string{"a", "b"}))
	require.NoError(t, sameIDs(nil, []string{}))
	require.EqualError(t, sameIDs([]string{"a"}, []string{"a", "b"}),
		"it gives 1, Spotify returned 2; the first difference is at position 2: (none) in the payload, b from Spotify")
	require.ErrorContains(t, sameIDs([]string{"a", "c"}, []string{"a", "b"}), "position 2: c in the payload, b from Spotify")
}
