package spotify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/plugins/spotify/webapi"
	"github.com/bedrot-label/bedrot/sdk"
)

// resumeWindow is how long an unfinished snapshot may be continued: a run
// that starts later begins a new snapshot, and the unfinished one stays in
// the lake as it is.
const resumeWindow = 12 * time.Hour

// APIState is the checkpoint of each Web API stream (artists, albums and
// tracks each keep their own):
//
//	{"snapshot_at":"2026-03-10T12:00:00.123456Z","artist_ids":["4Zr9…","1kQm…"],
//	 "next_artist":1,"done":false,"album_ids":["2xYz…"]}
//
// The stream holds every row of the snapshot started at SnapshotAt for
// ArtistIDs[:NextArtist]; Done says the snapshot is complete. AlbumIDs
// (albums and tracks streams, while the snapshot is not done) are the
// releases whose rows the stream already holds in this snapshot, so that a
// release listed by several configured artists is emitted once, under the
// first of them, even across a resumed run.
type APIState struct {
	SnapshotAt time.Time `json:"snapshot_at"`
	ArtistIDs  []string  `json:"artist_ids"`
	NextArtist int       `json:"next_artist"`
	Done       bool      `json:"done"`
	AlbumIDs   []string  `json:"album_ids,omitempty"`
}

// ParseAPIState decodes a Web API stream's checkpoint; nil or empty means
// no snapshot yet. A state written by version 0.1 ({"last_run":…}) decodes
// as no snapshot.
func ParseAPIState(b []byte) (APIState, error) {
	var st APIState
	if len(b) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return APIState{}, fmt.Errorf("failed to decode the state: %w", err)
	}
	if st.NextArtist < 0 || st.NextArtist > len(st.ArtistIDs) {
		return APIState{}, fmt.Errorf("failed to decode the state: next_artist %d is outside 0..%d", st.NextArtist, len(st.ArtistIDs))
	}
	return st, nil
}

// unfinished reports whether st is a snapshot of ids a run at now may
// continue, and if not, why (empty when there is nothing to say).
func (st APIState) unfinished(ids []string, now time.Time) (bool, string) {
	switch {
	case st.SnapshotAt.IsZero() || st.Done:
		return false, ""
	case !slices.Equal(st.ArtistIDs, ids):
		return false, "artist_ids changed since it started"
	case now.Sub(st.SnapshotAt) >= resumeWindow:
		return false, fmt.Sprintf("it started more than %s ago", resumeWindow)
	}
	return true, ""
}

// apiRun is one Read of the Web API streams.
type apiRun struct {
	out      sdk.Emitter
	cl       *webapi.Client
	rec      *recorder
	ids      []string
	snapshot time.Time
	// states of the selected streams, updated as units are emitted.
	states  map[string]*APIState
	devMode bool
}

// readAPI snapshots the configured artists for the selected Web API
// streams (in the order artists, albums, tracks), one artist at a time.
func (s *Source) readAPI(ctx context.Context, c config, streams []string, state map[string][]byte, out sdk.Emitter) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	r := &apiRun{out: out, ids: c.artistIDs, states: map[string]*APIState{}}
	loaded := map[string]APIState{}
	for _, name := range streams {
		st, err := ParseAPIState(state[name])
		if err != nil {
			out.Log(sdk.LevelWarn, "the saved state of a Spotify stream is unreadable; starting a new snapshot for it",
				"stream", name, "error", err.Error())
		}
		loaded[name] = st
	}
	r.snapshot = now
	resumed := false
	for _, name := range streams {
		st := loaded[name]
		ok, why := st.unfinished(c.artistIDs, now)
		if why != "" {
			out.Log(sdk.LevelWarn, "an unfinished Spotify snapshot cannot be continued, because "+why+
				"; starting a new snapshot (the rows already read stay in the lake)",
				"stream", name, "snapshot_at", st.SnapshotAt.Format(time.RFC3339Nano),
				"artists_done", st.NextArtist, "artists", len(st.ArtistIDs))
		}
		if ok && (!resumed || st.SnapshotAt.After(r.snapshot)) {
			r.snapshot, resumed = st.SnapshotAt, true
		}
	}
	start := len(c.artistIDs)
	for _, name := range streams {
		st := loaded[name]
		if !resumed || !st.SnapshotAt.Equal(r.snapshot) || !slices.Equal(st.ArtistIDs, c.artistIDs) {
			st = APIState{SnapshotAt: r.snapshot, ArtistIDs: c.artistIDs}
		}
		r.states[name] = &st
		if !st.Done {
			start = min(start, st.NextArtist)
		}
	}
	if resumed {
		out.Log(sdk.LevelInfo, "continuing an unfinished Spotify snapshot", "snapshot_at", r.snapshot.Format(time.RFC3339Nano),
			"from_artist", start+1, "artists", len(c.artistIDs))
	}
	r.rec = newRecorder(s.transport, c.basePath, s.now)
	r.cl = s.client(c, r.rec, func(msg string, kv ...any) { out.Log(sdk.LevelWarn, msg, kv...) })
	for i := start; i < len(c.artistIDs); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.unit(ctx, i); err != nil {
			return err
		}
		out.Progress(int64(i+1), int64(len(c.artistIDs)), "artists")
	}
	return nil
}

// needs reports whether stream is selected and lacks artist i.
func (r *apiRun) needs(stream string, i int) bool {
	st := r.states[stream]
	return st != nil && !st.Done && st.NextArtist <= i
}

// unit reads artist i for every stream that lacks it and emits, per stream,
// its payload, rows and checkpoint.
func (r *apiRun) unit(ctx context.Context, i int) error {
	id := r.ids[i]
	needArtist, needAlbums, needTracks := r.needs(StreamArtists, i), r.needs(StreamAlbums, i), r.needs(StreamTracks, i)
	what := fmt.Sprintf("artist %s (%d of %d in %s)", id, i+1, len(r.ids), ParamArtistIDs)
	var artist webapi.Artist
	if needArtist {
		a, err := r.cl.Artist(ctx, id)
		if errors.Is(err, webapi.ErrNotFound) {
			return unknownArtist(id, err)
		}
		if err != nil {
			return fmt.Errorf("failed to read %s: %w", what, err)
		}
		artist = a
		if a.Followers == nil || a.Popularity == nil {
			r.warnDevMode()
		}
	}
	var listed []webapi.Album
	if needAlbums || needTracks {
		albums, err := r.cl.ArtistAlbums(ctx, id)
		if err != nil {
			return fmt.Errorf("failed to read the releases of %s: %w", what, err)
		}
		listed = albums
	}
	var newAlbums []webapi.Album
	if needAlbums {
		newAlbums = notIn(listed, r.states[StreamAlbums].AlbumIDs)
	}
	var tracks []webapi.Track
	var trackAlbums []string
	if needTracks {
		var ids []string
		seen := map[string]bool{}
		for _, al := range notIn(listed, r.states[StreamTracks].AlbumIDs) {
			list, err := r.cl.AlbumTracks(ctx, al.ID)
			if err != nil {
				return fmt.Errorf("failed to read the tracks of release %s of %s: %w", al.ID, what, err)
			}
			trackAlbums = append(trackAlbums, al.ID)
			for _, t := range list {
				if !seen[t.ID] {
					seen[t.ID] = true
					ids = append(ids, t.ID)
				}
			}
		}
		full, err := r.cl.Tracks(ctx, ids)
		if err != nil {
			return fmt.Errorf("failed to read %d tracks of %s: %w", len(ids), what, err)
		}
		tracks = full
		for _, t := range tracks {
			if t.Popularity == nil {
				r.warnDevMode()
				break
			}
		}
	}
	artistLines, albumLines, trackLines := r.rec.take(StreamArtists), r.rec.take(StreamAlbums), r.rec.take(StreamTracks)
	if !needAlbums && needTracks {
		// The release pages decide which tracks this artist owns: keep them
		// with the tracks when the albums stream does not take them.
		trackLines = join(albumLines, trackLines)
	}
	if needArtist {
		if err := r.emit(StreamArtists, i, artistLines, []string{artist.ID}, nil); err != nil {
			return err
		}
	}
	if needAlbums {
		ids := albumIDs(newAlbums)
		if err := r.emit(StreamAlbums, i, albumLines, ids, ids); err != nil {
			return err
		}
	}
	if needTracks {
		ids := make([]string, len(tracks))
		for k, t := range tracks {
			ids[k] = t.ID
		}
		if err := r.emit(StreamTracks, i, trackLines, ids, trackAlbums); err != nil {
			return err
		}
	}
	return nil
}

func (r *apiRun) warnDevMode() {
	if r.devMode {
		return
	}
	r.devMode = true
	r.out.Log(sdk.LevelWarn, "spotify app is in Development Mode: popularity and followers are absent and written as null; "+
		"use the Spotify for Artists exports (s4a_dir) for those figures")
}

// notIn returns the albums whose id is not in done, in order.
func notIn(albums []webapi.Album, done []string) []webapi.Album {
	skip := make(map[string]bool, len(done))
	for _, id := range done {
		skip[id] = true
	}
	var out []webapi.Album
	for _, al := range albums {
		if !skip[al.ID] {
			skip[al.ID] = true
			out = append(out, al)
		}
	}
	return out
}

func albumIDs(albums []webapi.Album) []string {
	ids := make([]string, len(albums))
	for i, a := range albums {
		ids[i] = a.ID
	}
	return ids
}

// join concatenates two captures (either may be nil).
func join(a, b *capture) *capture {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	a.buf.Write(b.buf.Bytes())
	a.n += b.n
	return a
}

// emit sends one stream's part of artist i: the payload of its API
// responses (none when there were none), the rows made from it (see
// buildRows) in batches, the payload's end, and the checkpoint that records
// artist i as done and the releases in albums as emitted. want are the ids
// of the objects the client returned, in order: the rows must be of exactly
// those, or the payload would not rebuild them on replay.
func (r *apiRun) emit(stream string, i int, lines *capture, want, albums []string) error {
	if lines != nil {
		name := apiPayloadName(stream, r.snapshot, i, r.ids[i])
		parsed, problems, err := parseAPIPayload(bytes.NewReader(lines.buf.Bytes()), name, stream)
		if err == nil && len(problems) > 0 {
			err = fmt.Errorf("line %d: %s", problems[0].Line, problems[0].Message)
		}
		if err != nil {
			return fmt.Errorf("failed to read back the payload %s: %w", name, err)
		}
		rows := buildRows(stream, parsed, r.states[stream].AlbumIDs, r.snapshot)
		if err := sameIDs(rows.ids, want); err != nil {
			return fmt.Errorf("the payload %s does not hold the answers the %s rows come from, so a replay could not rebuild them: %w",
				name, stream, err)
		}
		pl, err := r.out.BeginPayload(name, landingMediaType)
		if err != nil {
			return fmt.Errorf("failed to begin the payload %s: %w", name, err)
		}
		if _, err := pl.Write(lines.buf.Bytes()); err != nil {
			_ = pl.Close()
			return fmt.Errorf("failed to write the payload %s: %w", name, err)
		}
		if err := pl.Close(); err != nil {
			return fmt.Errorf("failed to close the payload %s: %w", name, err)
		}
		if err := sendRows(r.out, stream, pl.ID(), rows); err != nil {
			return err
		}
		if err := pl.End(int64(len(rows.ids)), nil); err != nil {
			return fmt.Errorf("failed to end the payload %s: %w", name, err)
		}
	} else if len(want) > 0 {
		return fmt.Errorf("no answer of Spotify was kept for the %s of artist %s", stream, r.ids[i])
	}
	st := r.states[stream]
	st.NextArtist = i + 1
	st.Done = st.NextArtist == len(r.ids)
	st.AlbumIDs = append(st.AlbumIDs, albums...)
	if st.Done {
		st.AlbumIDs = nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("failed to encode the %s state: %w", stream, err)
	}
	if err := r.out.Checkpoint(stream, b); err != nil {
		return fmt.Errorf("failed to checkpoint the %s stream after artist %s: %w", stream, r.ids[i], err)
	}
	return nil
}

// sameIDs says how the ids a payload gives differ from those the client
// returned (nil when they do not).
func sameIDs(got, want []string) error {
	for k := range max(len(got), len(want)) {
		g, w := "(none)", "(none)"
		if k < len(got) {
			g = got[k]
		}
		if k < len(want) {
			w = want[k]
		}
		if g != w {
			return fmt.Errorf("it gives %d, Spotify returned %d; the first difference is at position %d: %s in the payload, %s from Spotify",
				len(got), len(want), k+1, g, w)
		}
	}
	return nil
}

// payloadRows are the rows a Web API payload gives.
type payloadRows struct {
	schema sdk.Schema
	// ids are the rows' artist, album or track ids, in order.
	ids  []string
	fill func(b *sdk.BatchBuilder, k int)
}

// buildRows returns the rows of a payload of stream of the snapshot taken at
// at. done are the releases the albums stream already holds in this
// snapshot, from the configured artists before this one: an albums payload
// gives every other release its pages list, once. Live reads and replays
// make their rows here and nowhere else.
func buildRows(stream string, p apiPayload, done []string, at time.Time) payloadRows {
	switch stream {
	case StreamArtists:
		ids := make([]string, len(p.artists))
		for k, a := range p.artists {
			ids[k] = a.ID
		}
		return payloadRows{schema: ArtistsSchema, ids: ids, fill: func(b *sdk.BatchBuilder, k int) { appendArtist(b, p.artists[k], at) }}
	case StreamAlbums:
		albums := notIn(p.listed, done)
		return payloadRows{schema: AlbumsSchema, ids: albumIDs(albums), fill: func(b *sdk.BatchBuilder, k int) { appendAlbum(b, albums[k], at) }}
	}
	ids := make([]string, len(p.tracks))
	for k, t := range p.tracks {
		ids[k] = t.ID
	}
	return payloadRows{schema: TracksSchema, ids: ids, fill: func(b *sdk.BatchBuilder, k int) { appendTrack(b, p.tracks[k], at) }}
}

// sendRows sends rows in batches of at most batchRows, linked to the
// payload.
func sendRows(out sdk.Emitter, stream, payloadID string, rows payloadRows) error {
	b := sdk.NewBatchBuilder(stream, rows.schema)
	b.Reset(stream, payloadID)
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		if err := out.Batch(b.Batch()); err != nil {
			return fmt.Errorf("failed to send a %s batch: %w", stream, err)
		}
		b.Reset(stream, payloadID)
		return nil
	}
	for k := range rows.ids {
		rows.fill(b, k)
		b.EndRow()
		if b.Len() >= batchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func appendNullableInt(b *sdk.BatchBuilder, col int, v *int) {
	if v == nil {
		b.AppendNull(col)
		return
	}
	b.AppendInt64(col, int64(*v))
}

func artistIDList(as []webapi.SimpleArtist) []byte {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return []byte(strings.Join(ids, ","))
}

func appendArtist(b *sdk.BatchBuilder, a webapi.Artist, at time.Time) {
	b.AppendString(ArtistColID, []byte(a.ID))
	b.AppendString(ArtistColName, []byte(a.Name))
	if a.Genres == nil {
		b.AppendNull(ArtistColGenres)
	} else {
		g, _ := json.Marshal(a.Genres) // a []string always encodes
		b.AppendString(ArtistColGenres, g)
	}
	appendNullableInt(b, ArtistColPopularity, a.Popularity)
	appendNullableInt(b, ArtistColFollowers, a.Followers)
	b.AppendInt64(ArtistColSnapshotAt, at.UnixMicro())
}

func appendAlbum(b *sdk.BatchBuilder, a webapi.Album, at time.Time) {
	b.AppendString(AlbumColID, []byte(a.ID))
	b.AppendString(AlbumColName, []byte(a.Name))
	b.AppendString(AlbumColType, []byte(a.AlbumType))
	b.AppendString(AlbumColArtistIDs, artistIDList(a.Artists))
	if d, err := a.ReleaseDate.Time(); err == nil {
		b.AppendInt32(AlbumColReleaseDate, sdk.DaysSinceEpoch(d))
	} else {
		b.AppendNull(AlbumColReleaseDate)
	}
	b.AppendString(AlbumColReleaseDatePrecision, []byte(a.ReleaseDate.Precision))
	b.AppendInt64(AlbumColTotalTracks, int64(a.TotalTracks))
	b.AppendInt64(AlbumColSnapshotAt, at.UnixMicro())
}

func appendTrack(b *sdk.BatchBuilder, t webapi.Track, at time.Time) {
	b.AppendString(TrackColID, []byte(t.ID))
	b.AppendString(TrackColName, []byte(t.Name))
	b.AppendString(TrackColAlbumID, []byte(t.Album.ID))
	b.AppendString(TrackColArtistIDs, artistIDList(t.Artists))
	if t.ExternalIDs.ISRC == "" {
		b.AppendNull(TrackColISRC)
	} else {
		b.AppendString(TrackColISRC, []byte(t.ExternalIDs.ISRC))
	}
	b.AppendInt64(TrackColDiscNumber, int64(t.DiscNumber))
	b.AppendInt64(TrackColTrackNumber, int64(t.TrackNumber))
	b.AppendInt64(TrackColDurationMS, int64(t.DurationMS))
	b.AppendBool(TrackColExplicit, t.Explicit)
	appendNullableInt(b, TrackColPopularity, t.Popularity)
	b.AppendInt64(TrackColSnapshotAt, at.UnixMicro())
}
