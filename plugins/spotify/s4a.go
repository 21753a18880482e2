package spotify

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// S4AState is the checkpoint of each Spotify for Artists stream: the export
// files it holds, by file name, with the SHA-256 of the content read:
//
//	{"files":{"Mara Ellis-audience-timeline.csv":{"sha256":"9f2c…","rows":28,"bytes":1234,"read_at":"2026-03-10T12:00:00Z"}}}
//
// A file whose name is not in the state of any export stream, or whose
// content changed (another SHA-256), is read; any other file is skipped.
type S4AState struct {
	Files map[string]S4AFile `json:"files"`
}

// S4AFile records one export file read.
type S4AFile struct {
	SHA256 string    `json:"sha256"`
	Rows   int64     `json:"rows"`
	Bytes  int64     `json:"bytes"`
	ReadAt time.Time `json:"read_at"`
}

// ParseS4AState decodes an export stream's checkpoint; nil or empty means
// no file read yet.
func ParseS4AState(b []byte) (S4AState, error) {
	st := S4AState{Files: map[string]S4AFile{}}
	if len(b) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("failed to decode the state: %w", err)
	}
	if st.Files == nil {
		st.Files = map[string]S4AFile{}
	}
	return st, nil
}

// isExportName reports whether a file name in s4a_dir is an export to read.
func isExportName(name string) bool {
	return !strings.HasPrefix(name, ".") && strings.EqualFold(filepath.Ext(name), ".csv")
}

// listExports lists the *.csv files of dir, in name order. A missing or
// unreadable folder is a configuration error.
func listExports(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, sdk.ConfigError(fmt.Errorf("spotify: cannot list the Spotify for Artists exports folder %s %q: %w", ParamS4ADir, dir, err))
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && isExportName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// readS4A reads every new or changed export in dir whose stream is
// selected: per file one payload (the original bytes, text/csv), its rows,
// its end and, when it has no problems, a checkpoint of its stream.
func (s *Source) readS4A(ctx context.Context, dir string, streams []string, state map[string][]byte, out sdk.Emitter) error {
	names, err := listExports(dir)
	if err != nil {
		return err
	}
	selected := map[string]bool{}
	for _, name := range streams {
		selected[name] = true
	}
	// Every export stream's state is consulted, selected or not: a file
	// read into any of them is not new.
	states := map[string]*S4AState{}
	for _, st := range S4AStreams() {
		parsed, err := ParseS4AState(state[st.Name])
		if err != nil {
			return fmt.Errorf("spotify: the saved state of stream %s is unreadable, so it is unknown which exports were read; "+
				"reset the stream's state to read every export in %s again: %w", st.Name, ParamS4ADir, err)
		}
		states[st.Name] = &parsed
	}
	for i, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		out.Progress(int64(i), int64(len(names)), "files")
		path := filepath.Join(dir, name)
		sums, err := hashFile(ctx, path)
		if err != nil {
			return err
		}
		if stream, ok := alreadyRead(states, name, sums.sha256); ok {
			out.Log(sdk.LevelDebug, "skipping a Spotify for Artists export already read", "file", name, "stream", stream)
			continue
		}
		layout, err := sniffLayout(path, name)
		if err != nil {
			return err
		}
		if layout != nil && !selected[layout.stream] {
			continue
		}
		pname, whole := exportPayloadName(name)
		if !whole {
			out.Log(sdk.LevelWarn, "the name of this Spotify for Artists export is too long to keep whole in the lake: "+
				"it is read now, but `bedrot replay` cannot rebuild its rows; rename it to a shorter name to avoid that",
				"file", name, "payload", pname)
		}
		res, err := s.ingestExport(ctx, path, pname, name, sums, layout, out)
		if err != nil {
			return err
		}
		if len(res.problems) > 0 || layout == nil {
			first := ""
			if len(res.problems) > 0 {
				first = res.problems[0].Message
			}
			out.Log(sdk.LevelWarn, "Spotify for Artists export rejected: the host quarantines it; fix or replace the file and it is read again",
				"file", name, "problems", len(res.problems), "first", first)
			continue
		}
		st := states[layout.stream]
		st.Files[name] = S4AFile{SHA256: sums.sha256, Rows: res.rows, Bytes: sums.size, ReadAt: s.now().UTC()}
		b, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("failed to encode the %s state: %w", layout.stream, err)
		}
		if err := out.Checkpoint(layout.stream, b); err != nil {
			return fmt.Errorf("failed to checkpoint the %s stream after %s: %w", layout.stream, name, err)
		}
		out.Log(sdk.LevelInfo, "read a Spotify for Artists export", "file", name, "stream", layout.stream, "rows", res.rows)
	}
	out.Progress(int64(len(names)), int64(len(names)), "files")
	return nil
}

// alreadyRead reports whether a file of this name and content is in the
// state of an export stream, and which.
func alreadyRead(states map[string]*S4AState, name, sum string) (string, bool) {
	for _, stream := range sortedKeys(states) {
		if f, ok := states[stream].Files[name]; ok && f.SHA256 == sum {
			return stream, true
		}
	}
	return "", false
}

// sniffLayout reads the header line of a file and returns its layout, or
// nil when the file is empty or its header is not one of a known export
// (the payload then says so as a problem).
func sniffLayout(path, name string) (*s4aLayout, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open %q: %w", path, err)
	}
	defer f.Close()
	header, err := readHeader(bufio.NewReader(f))
	switch {
	case errors.Is(err, errNoHeader):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("failed to read the header of %q: %w", path, err)
	}
	return classify(header, name), nil
}

// ingestExport streams one file to the host as the payload pname while
// parsing it as the export named name.
func (s *Source) ingestExport(ctx context.Context, path, pname, name string, sums fileSums, layout *s4aLayout, out sdk.Emitter) (parseResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return parseResult{}, fmt.Errorf("failed to open %q: %w", path, err)
	}
	defer f.Close()
	pl, err := out.BeginPayload(pname, "text/csv")
	if err != nil {
		return parseResult{}, fmt.Errorf("failed to begin the payload of %s: %w", name, err)
	}
	tee := &teeReader{ctx: ctx, r: f, w: pl}
	res, err := parseExport(tee, name, sums.sha256, layout, pl.ID(), out.Batch)
	if err == nil {
		// Whatever the parser left unread still belongs to the payload.
		_, err = io.Copy(io.Discard, tee)
	}
	if err != nil {
		_ = pl.Close()
		return res, err
	}
	if err := pl.Close(); err != nil {
		return res, fmt.Errorf("failed to close the payload of %s: %w", name, err)
	}
	if got := pl.Digest(); got != sums.digest {
		res.problems = append(res.problems, sdk.Problem{File: name,
			Message: "the file changed while it was being read (another program is still writing it?); it is read again on the next run"})
	}
	if err := pl.End(res.rows, res.problems); err != nil {
		return res, fmt.Errorf("failed to end the payload of %s: %w", name, err)
	}
	return res, nil
}

// teeReader reads a file, copying every byte to the payload as it goes.
type teeReader struct {
	ctx context.Context
	r   io.Reader
	w   io.Writer
}

func (t *teeReader) Read(p []byte) (int, error) {
	if err := t.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			return n, fmt.Errorf("failed to write the payload: %w", werr)
		}
	}
	return n, err
}

// fileSums identify a file's content before it is read.
type fileSums struct {
	// sha256 (hex) is the export's identity in the state and in its rows'
	// source_sha256.
	sha256 string
	// digest is what the payload's digest must be (package digest): a
	// payload whose bytes differ changed while it was being read.
	digest string
	size   int64
}

// hashFile returns a file's fileSums, in one pass over the file.
func hashFile(ctx context.Context, path string) (fileSums, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileSums{}, fmt.Errorf("failed to open %q: %w", path, err)
	}
	defer f.Close()
	sha, dig := sha256.New(), digest.New()
	n, err := io.Copy(io.MultiWriter(sha, dig), &teeReader{ctx: ctx, r: f, w: io.Discard})
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return fileSums{}, err
		}
		return fileSums{}, fmt.Errorf("failed to read %q: %w", path, err)
	}
	return fileSums{sha256: hex.EncodeToString(sha.Sum(nil)), digest: dig.String(), size: n}, nil
}

// sortedKeys returns m's keys in order (for stable log output).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
