package tiktok

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bedrot-label/bedrot/plugins/tiktok/displayapi"
	"github.com/bedrot-label/bedrot/sdk"
)

// checkReplayFiles checks that every landing payload to replay is a file
// that can be read.
func checkReplayFiles(paths []string) error {
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return sdk.ConfigError(fmt.Errorf("tiktok: the landing payload %s to replay cannot be read: %w", p, err))
		}
		if !fi.Mode().IsRegular() {
			return sdk.ConfigError(fmt.Errorf("tiktok: the landing payload %s to replay is not a regular file", p))
		}
	}
	return nil
}

// replay re-reads the landing payloads at paths, in order, and calls no
// API: each file becomes a payload named after its base name, with its
// bytes unchanged, and the rows it produced when it was read, rebuilt from
// its answers and the "bedrot" note on each line by the same code as a
// live read. Payloads of streams not selected are left out. A file that is
// not a landing payload of this connector, or has a line that cannot be
// read, is sent with problems naming the file, line and field and no rows,
// so the host quarantines it. No checkpoint is sent: a replay changes no
// state.
func replay(ctx context.Context, paths []string, selected func(string) bool, out sdk.Emitter) error {
	if err := checkReplayFiles(paths); err != nil {
		return err
	}
	var payloads, rows, quarantined int
	for i, path := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return sdk.ConfigError(fmt.Errorf("tiktok: failed to read the landing payload %s to replay: %w", path, err))
		}
		name := filepath.Base(path)
		r := replayRows(data)
		switch {
		case r.stream != "" && !selected(r.stream):
			out.Log(sdk.LevelInfo, "TikTok landing payload left out: its stream is not selected", "payload", name, "stream", r.stream)
		default:
			if len(r.problems) > 0 {
				quarantined++
				out.Log(sdk.LevelWarn, "TikTok landing payload cannot be replayed as it is; it is quarantined with the reasons",
					"payload", name, "problems", len(r.problems))
			}
			if err := sendPayload(out, name, [][]byte{data}, r); err != nil {
				return err
			}
			payloads++
			rows += r.n
		}
		out.Progress(int64(i+1), int64(len(paths)), "files")
	}
	out.Log(sdk.LevelInfo, "TikTok landing payloads replayed without calling TikTok", "payloads", payloads, "rows", rows, "quarantined", quarantined)
	return nil
}

// replayRows rebuilds the rows of one landing payload from its bytes. A
// payload that cannot be read has problems and no rows; its stream is
// empty when it cannot be told.
func replayRows(data []byte) payloadRows {
	var (
		exchanges []displayapi.Exchange
		notes     []lineNote
		problems  []payloadProblem
	)
	problem := func(line int64, field, format string, args ...any) {
		problems = append(problems, payloadProblem{line: line, field: field, message: fmt.Sprintf(format, args...)})
	}
	if len(data) == 0 {
		problem(1, "", "the file is empty; a TikTok landing payload holds one API answer per line")
	}
	rest := data
	for n := int64(1); len(rest) > 0; n++ {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if len(bytes.TrimSpace(line)) == 0 {
			problem(n, "", "the line is empty; a TikTok landing payload holds one API answer per line")
			continue
		}
		ex, err := displayapi.ParseLine(line)
		if err != nil {
			problem(n, "", "not a TikTok landing line ({request, status, received_at, body, bedrot}): %v", err)
			continue
		}
		if len(ex.Note) == 0 {
			problem(n, "bedrot", "the line has no bedrot note (stream, snapshot_at), which replay needs: it was not written by this connector, or by a version before %s", noteVersion)
			continue
		}
		var note lineNote
		if err := json.Unmarshal(ex.Note, &note); err != nil {
			problem(n, "bedrot", "the note cannot be read: %v", err)
			continue
		}
		switch note.Stream {
		case StreamUserInfo, StreamVideos, StreamBusinessMetrics:
		default:
			problem(n, "bedrot.stream", "unknown stream %q (the streams are %s, %s and %s)", note.Stream, StreamUserInfo, StreamVideos, StreamBusinessMetrics)
			continue
		}
		if note.SnapshotAt.IsZero() {
			problem(n, "bedrot.snapshot_at", "the note has no snapshot time")
			continue
		}
		if len(notes) > 0 {
			first := notes[0]
			if note.Stream != first.Stream || !note.SnapshotAt.Equal(first.SnapshotAt) || note.OpenID != first.OpenID {
				problem(n, "bedrot", "the line belongs to stream %s, snapshot %s, account %q, but the payload's first line to stream %s, snapshot %s, account %q; "+
					"a payload holds the answers of one stream and snapshot", note.Stream, note.SnapshotAt.Format(time.RFC3339Nano), note.OpenID,
					first.Stream, first.SnapshotAt.Format(time.RFC3339Nano), first.OpenID)
				continue
			}
		}
		exchanges = append(exchanges, ex)
		notes = append(notes, note)
	}
	var r payloadRows
	if len(notes) > 0 {
		r.stream = notes[0].Stream
	}
	if len(problems) > 0 {
		r.problems = problems
		return r
	}
	switch r.stream {
	case StreamUserInfo:
		return replayUserInfo(exchanges, notes[0])
	case StreamVideos:
		return replayVideos(exchanges, notes)
	default:
		return replayBusiness(exchanges, notes[0])
	}
}

// noteVersion is the first version of the connector that notes its
// landing lines.
const noteVersion = "0.2.0"

// failed is the result of a payload that cannot be replayed: no rows, one
// problem.
func failed(stream string, line int64, field, format string, args ...any) payloadRows {
	return payloadRows{stream: stream, problems: []payloadProblem{{line: line, field: field, message: fmt.Sprintf(format, args...)}}}
}

// replayUserInfo rebuilds the row of a user_info payload.
func replayUserInfo(exchanges []displayapi.Exchange, note lineNote) payloadRows {
	if len(exchanges) != 1 {
		return failed(StreamUserInfo, 2, "", "a user_info payload holds one answer, this one %d", len(exchanges))
	}
	data, err := displayapi.AnswerData(exchanges[0].Body)
	if err != nil {
		return failed(StreamUserInfo, 1, "body", "%v", err)
	}
	u, err := displayapi.DecodeUserInfo(data)
	if err != nil {
		return failed(StreamUserInfo, 1, "data.user", "%v", err)
	}
	return userInfoRows(u, note)
}

// replayVideos rebuilds the rows of a videos payload, one page per line.
func replayVideos(exchanges []displayapi.Exchange, notes []lineNote) payloadRows {
	var videos []displayapi.Video
	var problems []payloadProblem
	for i, ex := range exchanges {
		line := int64(i + 1)
		cursor, err := cursorParam(ex.Params)
		if err != nil {
			return failed(StreamVideos, line, "request.params.cursor", "%v", err)
		}
		data, err := displayapi.AnswerData(ex.Body)
		if err != nil {
			return failed(StreamVideos, line, "body", "%v", err)
		}
		page, err := displayapi.DecodeVideoPage(data, cursor)
		if err != nil {
			return failed(StreamVideos, line, "data", "%v", err)
		}
		v, p := pageVideos(page, line, notes[i].AlreadyEmitted)
		videos = append(videos, v...)
		problems = append(problems, p...)
	}
	return videoRows(notes[0].OpenID, notes[0].SnapshotAt, videos, problems)
}

// cursorParam is the cursor a video list page was asked for with: 0 when
// absent (the first page).
func cursorParam(params map[string]any) (int64, error) {
	v, ok := params["cursor"]
	if !ok {
		return 0, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("the cursor %v is not a number", v)
	}
	c, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("the cursor %s is not a whole number", n)
	}
	return c, nil
}

// replayBusiness rebuilds the rows of a business_metrics payload from its
// answer and the business account and days it asked for.
func replayBusiness(exchanges []displayapi.Exchange, note lineNote) payloadRows {
	if len(exchanges) != 1 {
		return failed(StreamBusinessMetrics, 2, "", "a business_metrics payload holds one answer, this one %d", len(exchanges))
	}
	ex := exchanges[0]
	str := func(key string) (string, bool) {
		s, ok := ex.Params[key].(string)
		return s, ok && s != ""
	}
	businessID, ok := str("business_id")
	if !ok {
		return failed(StreamBusinessMetrics, 1, "request.params.business_id", "the business account asked for is missing")
	}
	var days [2]time.Time
	for i, key := range []string{"start_date", "end_date"} {
		s, _ := str(key)
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return failed(StreamBusinessMetrics, 1, "request.params."+key, "%q is not a YYYY-MM-DD date", s)
		}
		days[i] = d
	}
	data, err := businessAnswerData(ex.Body)
	if err != nil {
		return failed(StreamBusinessMetrics, 1, "body", "%v", err)
	}
	rows, problems, _ := decodeBusinessMetrics(data, days[0], days[1])
	return businessRows(businessID, note.SnapshotAt, rows, problems)
}
