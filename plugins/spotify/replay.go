package spotify

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bedrot-label/bedrot/sdk"
)

// Replay. `bedrot replay` hands every payload landing holds back to Read,
// as local files listed in the files parameter, each named as landing
// names it (see names.go). Read then calls no API and reads no s4a_dir: per
// file it begins a payload named exactly as the file, streams the file's
// bytes unchanged, and sends the rows the payload gave when it was first
// read, made by the same code (parseAPIPayload and buildRows for the Web API,
// parseExport for the exports):
//
//   - An export (s4a-<file name>) is parsed as the file it encodes, so its
//     stream, song or artist and source_file are those of the first read.
//   - A Web API payload gives the snapshot_at of its name. An albums
//     payload leaves out the releases an earlier artist of the same
//     snapshot already holds, so the albums payloads of a snapshot are
//     replayed in artist order, and one whose predecessors are not all
//     there is rejected rather than read with rows twice.
//
// A file this connector cannot rebuild rows from (an unknown name, a line
// that is not a landing line) is still streamed as a payload, ended with
// problems naming file, line and field. No checkpoint is sent: a replay
// changes no state.

// replayItem is one file of a replay.
type replayItem struct {
	path string
	// base is the file's name: the payload's name, as the host knows it.
	base string
	// api is set for a Web API payload.
	api *apiPayloadID
	// export is the file name an export payload encodes.
	export string
	// reject says why no rows can be rebuilt from the file (nil: they can).
	reject error
}

// describeFile tells what a file of a replay is from its name.
func describeFile(path string) replayItem {
	it := replayItem{path: path, base: filepath.Base(path)}
	name := withoutHostPrefix(it.base)
	if id, ok := parseAPIPayloadName(name); ok {
		it.api = &id
		return it
	}
	file, ok, err := exportFileName(name)
	switch {
	case err != nil:
		it.reject = err
	case ok:
		it.export = file
	default:
		it.reject = fmt.Errorf("%q is not the name of a payload this connector writes "+
			"(s4a-<export file name> for a Spotify for Artists export, <stream>-<snapshot>-<n>-<artist id>.jsonl for the Web API); "+
			"to read a Spotify for Artists export, save it into the %s folder", it.base, ParamS4ADir)
	}
	return it
}

// checkFiles checks that every file of a replay can be read.
func checkFiles(files []string) error {
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return sdk.ConfigError(fmt.Errorf("spotify: %s lists %q, which cannot be read: %w", ParamFiles, f, err))
		}
		if !fi.Mode().IsRegular() {
			return sdk.ConfigError(fmt.Errorf("spotify: %s lists %q, which is not a file", ParamFiles, f))
		}
	}
	return nil
}

// albumChain follows the albums payloads of one snapshot through a replay.
type albumChain struct {
	next   int      // the artist whose payload comes next (1-based)
	done   []string // the releases the payloads so far gave
	broken bool     // a payload was missing or rejected
}

// replay re-reads the files of a replay, those of selected streams: the
// exports and unknown files in the order given, then the Web API payloads
// by snapshot, artist and stream.
func (s *Source) replay(ctx context.Context, files []string, selected func(stream string) bool, out sdk.Emitter) error {
	var first, api []replayItem
	for _, f := range files {
		it := describeFile(f)
		if it.api != nil {
			api = append(api, it)
		} else {
			first = append(first, it)
		}
	}
	rank := map[string]int{StreamArtists: 0, StreamAlbums: 1, StreamTracks: 2}
	slices.SortStableFunc(api, func(a, b replayItem) int {
		if c := strings.Compare(a.api.stamp, b.api.stamp); c != 0 {
			return c
		}
		if a.api.artist != b.api.artist {
			return a.api.artist - b.api.artist
		}
		return rank[a.api.stream] - rank[b.api.stream]
	})
	chains := map[string]*albumChain{}
	items := append(first, api...)
	var payloads, rejected int
	for k, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		out.Progress(int64(k), int64(len(items)), "files")
		var (
			read bool
			err  error
		)
		switch {
		case it.reject != nil:
			read, err = true, rejectFile(ctx, it, out)
			rejected++
		case it.export != "":
			var ok bool
			read, ok, err = s.replayExport(ctx, it, selected, out)
			if read && !ok {
				rejected++
			}
		default:
			if !selected(it.api.stream) {
				continue
			}
			var ok bool
			ok, err = replayAPI(ctx, it, chains, out)
			read = true
			if !ok {
				rejected++
			}
		}
		if err != nil {
			return err
		}
		if read {
			payloads++
		}
	}
	out.Progress(int64(len(items)), int64(len(items)), "files")
	out.Log(sdk.LevelInfo, "replayed Spotify landing payloads", "payloads", payloads, "rejected", rejected)
	return nil
}

// mediaType is the media type of a payload by its file name.
func mediaType(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return "text/csv"
	case ".jsonl":
		return landingMediaType
	}
	return "application/octet-stream"
}

// rejectFile streams a file no rows can be rebuilt from as a payload ended
// with the reason.
func rejectFile(ctx context.Context, it replayItem, out sdk.Emitter) error {
	pl, err := beginFile(ctx, it, mediaType(it.base), out)
	if err != nil {
		return err
	}
	out.Log(sdk.LevelWarn, "a landing payload cannot be replayed: the host quarantines it", "file", it.base, "reason", it.reject.Error())
	if err := pl.End(0, []sdk.Problem{{File: it.base, Message: "cannot replay this payload: " + it.reject.Error()}}); err != nil {
		return fmt.Errorf("failed to end the payload %s: %w", it.base, err)
	}
	return nil
}

// beginFile begins the payload of a file and streams all its bytes.
func beginFile(ctx context.Context, it replayItem, media string, out sdk.Emitter) (sdk.Payload, error) {
	f, err := os.Open(it.path)
	if err != nil {
		return nil, fmt.Errorf("failed to open %q: %w", it.path, err)
	}
	defer f.Close()
	pl, err := out.BeginPayload(it.base, media)
	if err != nil {
		return nil, fmt.Errorf("failed to begin the payload %s: %w", it.base, err)
	}
	if _, err := io.Copy(io.Discard, &teeReader{ctx: ctx, r: f, w: pl}); err != nil {
		_ = pl.Close()
		return nil, fmt.Errorf("failed to read %q: %w", it.path, err)
	}
	if err := pl.Close(); err != nil {
		return nil, fmt.Errorf("failed to close the payload %s: %w", it.base, err)
	}
	return pl, nil
}

// replayExport re-reads a Spotify for Artists export payload, unless its
// stream is not selected (read is then false); ok is false when it was
// rejected.
func (s *Source) replayExport(ctx context.Context, it replayItem, selected func(string) bool, out sdk.Emitter) (read, ok bool, err error) {
	sums, err := hashFile(ctx, it.path)
	if err != nil {
		return false, false, err
	}
	layout, err := sniffLayout(it.path, it.export)
	if err != nil {
		return false, false, err
	}
	if layout != nil && !selected(layout.stream) {
		return false, true, nil
	}
	res, err := s.ingestExport(ctx, it.path, it.base, it.export, sums, layout, out)
	if err != nil {
		return true, false, err
	}
	if len(res.problems) > 0 {
		out.Log(sdk.LevelWarn, "a Spotify for Artists export in landing cannot be replayed: it has problems, and the host quarantines it",
			"file", it.base, "problems", len(res.problems), "first", res.problems[0].Message)
		return true, false, nil
	}
	return true, true, nil
}

// replayAPI re-reads a Web API payload; ok is false when it was rejected.
func replayAPI(ctx context.Context, it replayItem, chains map[string]*albumChain, out sdk.Emitter) (ok bool, err error) {
	f, err := os.Open(it.path)
	if err != nil {
		return false, fmt.Errorf("failed to open %q: %w", it.path, err)
	}
	defer f.Close()
	id := it.api
	pl, err := out.BeginPayload(it.base, landingMediaType)
	if err != nil {
		return false, fmt.Errorf("failed to begin the payload %s: %w", it.base, err)
	}
	tee := &teeReader{ctx: ctx, r: f, w: pl}
	parsed, problems, err := parseAPIPayload(tee, it.base, id.stream)
	if err == nil {
		_, err = io.Copy(io.Discard, tee)
	}
	if err != nil {
		_ = pl.Close()
		return false, err
	}
	if err := pl.Close(); err != nil {
		return false, fmt.Errorf("failed to close the payload %s: %w", it.base, err)
	}
	var chain *albumChain
	if id.stream == StreamAlbums {
		chain = chains[id.stamp]
		if chain == nil {
			chain = &albumChain{next: 1}
			chains[id.stamp] = chain
		}
		if chain.broken || chain.next != id.artist {
			problems = append(problems, sdk.Problem{File: it.base, Message: fmt.Sprintf(
				"cannot replay the albums payload of artist %d of the snapshot of %s without the albums payloads of artists 1 to %d "+
					"of that snapshot, and they are not all among the payloads replayed or could not be replayed: "+
					"a release listed by several artists belongs to the first of them, so which releases this payload gives depends on them",
				id.artist, id.snapshot.Format("2006-01-02 15:04:05.000000 UTC"), id.artist-1)})
		}
		if len(problems) > 0 {
			chain.broken = true
		}
	}
	if len(problems) > 0 {
		out.Log(sdk.LevelWarn, "a Spotify landing payload cannot be replayed: the host quarantines it",
			"file", it.base, "problems", len(problems), "first", problems[0].Message)
		if err := pl.End(0, problems); err != nil {
			return false, fmt.Errorf("failed to end the payload %s: %w", it.base, err)
		}
		return false, nil
	}
	var done []string
	if chain != nil {
		done = chain.done
	}
	rows := buildRows(id.stream, parsed, done, id.snapshot)
	if err := sendRows(out, id.stream, pl.ID(), rows); err != nil {
		return false, err
	}
	if err := pl.End(int64(len(rows.ids)), nil); err != nil {
		return false, fmt.Errorf("failed to end the payload %s: %w", it.base, err)
	}
	if chain != nil {
		chain.done = append(chain.done, rows.ids...)
		chain.next++
	}
	return true, nil
}
