package tiktok

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bedrot-label/bedrot/plugins/tiktok/displayapi"
	"github.com/bedrot-label/bedrot/sdk"
)

// mediaTypeNDJSON is the media type of every landing payload.
const mediaTypeNDJSON = "application/x-ndjson"

// payloadProblem is a problem found while reading the answers of a payload,
// located by the answer's line in the payload.
type payloadProblem struct {
	line    int64
	field   string
	message string
}

// lineNote is what the connector writes on every landing line under
// "bedrot", next to the API's answer: what it takes, besides the answer,
// to rebuild the line's rows from the payload alone, as `bedrot replay`
// does. It never holds a credential.
type lineNote struct {
	// Stream is the stream the line's rows belong to.
	Stream string `json:"stream"`
	// SnapshotAt is the snapshot_at of the rows (RFC 3339, to the
	// microsecond).
	SnapshotAt time.Time `json:"snapshot_at"`
	// OpenID is the open_id TikTok sent with the access token (user_info
	// and videos): the open_id of the video rows, and of the profile when
	// its answer has none. Absent when TikTok sent none.
	OpenID string `json:"open_id,omitempty"`
	// AlreadyEmitted (videos) lists the positions in data.videos of the
	// videos the line does not emit because an earlier page or run of the
	// same snapshot emitted them.
	AlreadyEmitted []int `json:"already_emitted,omitempty"`
}

// json encodes the note for displayapi.Exchange.Note.
func (n lineNote) json() (json.RawMessage, error) {
	b, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the landing note of stream %s: %w", n.Stream, err)
	}
	return b, nil
}

// payloadRows are the rows one payload produced: n rows of stream, fill
// appending row i, and the problems, located in the payload by line. The
// functions that build them from API answers serve both a live read and a
// replay, so that both give the same rows.
type payloadRows struct {
	stream   string
	schema   sdk.Schema
	n        int
	fill     func(b *sdk.BatchBuilder, i int)
	problems []payloadProblem
}

// emitPayload sends one landing payload holding exchanges as JSON Lines
// and then its rows (see sendPayload).
func emitPayload(out sdk.Emitter, name string, exchanges []displayapi.Exchange, rows payloadRows) error {
	lines := make([][]byte, len(exchanges))
	for i, ex := range exchanges {
		l, err := ex.JSONLine()
		if err != nil {
			return fmt.Errorf("failed to encode answer %d of payload %s: %w", i+1, name, err)
		}
		lines[i] = l
	}
	return sendPayload(out, name, lines, rows)
}

// sendPayload sends one landing payload made of chunks, then its rows in
// batches, then ends it with the problems. A payload with problems is
// quarantined by the host with none of its rows.
func sendPayload(out sdk.Emitter, name string, chunks [][]byte, rows payloadRows) error {
	pl, err := out.BeginPayload(name, mediaTypeNDJSON)
	if err != nil {
		return fmt.Errorf("failed to begin payload %s: %w", name, err)
	}
	for _, c := range chunks {
		if _, err := pl.Write(c); err != nil {
			_ = pl.Close()
			return fmt.Errorf("failed to write payload %s: %w", name, err)
		}
	}
	if err := pl.Close(); err != nil {
		return fmt.Errorf("failed to close payload %s: %w", name, err)
	}
	if rows.n > 0 {
		b := sdk.NewBatchBuilder(rows.stream, rows.schema)
		b.Reset(rows.stream, pl.ID())
		flush := func() error {
			if b.Len() == 0 {
				return nil
			}
			if err := out.Batch(b.Batch()); err != nil {
				return fmt.Errorf("failed to send a batch of payload %s: %w", name, err)
			}
			b.Reset(rows.stream, pl.ID())
			return nil
		}
		for i := range rows.n {
			rows.fill(b, i)
			b.EndRow()
			if b.Len() >= batchRows {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	var ps []sdk.Problem
	for _, p := range rows.problems {
		ps = append(ps, sdk.Problem{File: name, Line: p.line, Field: p.field, Message: p.message})
	}
	if err := pl.End(int64(rows.n), ps); err != nil {
		return fmt.Errorf("failed to end payload %s: %w", name, err)
	}
	return nil
}

// appendOptString appends *v, or null when v is nil.
func appendOptString(b *sdk.BatchBuilder, col int, v *string) {
	if v == nil {
		b.AppendNull(col)
		return
	}
	b.AppendString(col, []byte(*v))
}

// appendOptInt appends *v, or null when v is nil.
func appendOptInt(b *sdk.BatchBuilder, col int, v *int64) {
	if v == nil {
		b.AppendNull(col)
		return
	}
	b.AppendInt64(col, *v)
}

// appendOptBool appends *v, or null when v is nil.
func appendOptBool(b *sdk.BatchBuilder, col int, v *bool) {
	if v == nil {
		b.AppendNull(col)
		return
	}
	b.AppendBool(col, *v)
}

// appendSnapshot appends the snapshot_at and snapshot_date columns.
func appendSnapshot(b *sdk.BatchBuilder, atCol, dateCol int, at time.Time) {
	b.AppendInt64(atCol, at.UnixMicro())
	b.AppendInt32(dateCol, sdk.DaysSinceEpoch(at.UTC()))
}
