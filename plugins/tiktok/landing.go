package tiktok

import (
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

// emitPayload sends one landing payload holding exchanges as JSON Lines,
// then rows rows of stream (fill appends row i), then ends the payload with
// the problems, located in the payload by line. A payload with problems is
// quarantined by the host with none of its rows.
func emitPayload(out sdk.Emitter, stream, name string, schema sdk.Schema, exchanges []displayapi.Exchange, rows int, fill func(b *sdk.BatchBuilder, i int), problems []payloadProblem) error {
	lines := make([][]byte, len(exchanges))
	for i, ex := range exchanges {
		l, err := ex.JSONLine()
		if err != nil {
			return fmt.Errorf("failed to encode answer %d of payload %s: %w", i+1, name, err)
		}
		lines[i] = l
	}
	pl, err := out.BeginPayload(name, mediaTypeNDJSON)
	if err != nil {
		return fmt.Errorf("failed to begin payload %s: %w", name, err)
	}
	for _, l := range lines {
		if _, err := pl.Write(l); err != nil {
			_ = pl.Close()
			return fmt.Errorf("failed to write payload %s: %w", name, err)
		}
	}
	if err := pl.Close(); err != nil {
		return fmt.Errorf("failed to close payload %s: %w", name, err)
	}
	b := sdk.NewBatchBuilder(stream, schema)
	b.Reset(stream, pl.ID())
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		if err := out.Batch(b.Batch()); err != nil {
			return fmt.Errorf("failed to send a batch of payload %s: %w", name, err)
		}
		b.Reset(stream, pl.ID())
		return nil
	}
	for i := range rows {
		fill(b, i)
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
	var ps []sdk.Problem
	for _, p := range problems {
		ps = append(ps, sdk.Problem{File: name, Line: p.line, Field: p.field, Message: p.message})
	}
	if err := pl.End(int64(rows), ps); err != nil {
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
