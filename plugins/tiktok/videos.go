package tiktok

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bedrot-label/bedrot/plugins/tiktok/displayapi"
	"github.com/bedrot-label/bedrot/sdk"
)

// videosState is the checkpoint of the videos stream: where the snapshot
// under way stands.
type videosState struct {
	// SnapshotAt is when the snapshot began; every row of it carries it.
	SnapshotAt time.Time `json:"snapshot_at"`
	// Cursor is the cursor (Unix ms) of the next page to read.
	Cursor int64 `json:"cursor"`
	// Done says the snapshot is complete; the next run begins a new one.
	Done bool `json:"done"`
	// Pages and Videos count the pages read and the rows emitted so far in
	// this snapshot.
	Pages  int `json:"pages"`
	Videos int `json:"videos"`
	// OldestCreateTime is the create_time (Unix seconds) of the oldest
	// video emitted so far, and OldestIDs the ids emitted with exactly that
	// create_time. A resumed run skips videos at or before this boundary
	// that the API repeats: the list is sorted by create_time, newest first.
	OldestCreateTime int64    `json:"oldest_create_time,omitempty"`
	OldestIDs        []string `json:"oldest_ids,omitempty"`
}

// planSnapshot decides from the saved state of the videos stream whether
// this run continues an unfinished snapshot (resumed) or begins a new one
// at now.
func planSnapshot(raw []byte, now time.Time, out sdk.Emitter) (videosState, bool, error) {
	fresh := videosState{SnapshotAt: now}
	if len(raw) == 0 {
		return fresh, false, nil
	}
	var st videosState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fresh, false, stateError(StreamVideos, err)
	}
	if st.Done || st.SnapshotAt.IsZero() {
		return fresh, false, nil
	}
	if age := now.Sub(st.SnapshotAt); age < 0 || age >= resumeWindow {
		out.Log(sdk.LevelWarn, fmt.Sprintf("TikTok snapshot %s stays incomplete: it began %s ago, more than %s, so this run begins a new snapshot; "+
			"its %d videos are kept", st.SnapshotAt.Format(time.RFC3339), age.Round(time.Minute), resumeWindow, st.Videos),
			"snapshot_at", st.SnapshotAt.Format(time.RFC3339), "videos", st.Videos, "pages", st.Pages)
		return fresh, false, nil
	}
	out.Log(sdk.LevelInfo, "continuing the unfinished TikTok snapshot", "snapshot_at", st.SnapshotAt.Format(time.RFC3339),
		"pages", st.Pages, "videos", st.Videos)
	return st, true, nil
}

// pageGroup is the pages of one payload and what they bring.
type pageGroup struct {
	firstPage int
	exchanges []displayapi.Exchange
	// alreadyEmitted holds, per page, the positions in data.videos of the
	// videos an earlier page or run of the snapshot emitted.
	alreadyEmitted [][]int
	videos         []displayapi.Video
	problems       []payloadProblem
}

// readVideos reads the snapshot st from its cursor to the end, one payload
// and one checkpoint per group of pages. videoCount (0 when unknown) sizes
// progress reports.
func (s *Source) readVideos(ctx context.Context, dc *displayapi.Client, maxCount int, st videosState, videoCount int64, out sdk.Emitter) error {
	// Videos at or before the boundary of a resumed snapshot were emitted
	// by an earlier run.
	boundary, boundaryIDs := st.OldestCreateTime, slices.Clone(st.OldestIDs)
	emittedBefore := func(v displayapi.Video) bool {
		if boundary == 0 {
			return false
		}
		ct := v.CreateTime.Unix()
		return ct > boundary || (ct == boundary && slices.Contains(boundaryIDs, v.ID))
	}
	seen := map[string]bool{}
	stalled := 0
	perGroup := max(1, s.pagesPerPayload)
	for !st.Done {
		if err := ctx.Err(); err != nil {
			return err
		}
		g := pageGroup{firstPage: st.Pages + 1}
		var fetchErr error
		for len(g.exchanges) < perGroup && !st.Done {
			page, err := dc.VideoPage(ctx, nil, st.Cursor, maxCount)
			if err != nil {
				fetchErr = fmt.Errorf("failed to read page %d of the TikTok videos snapshot %s (POST /v2/video/list/, cursor %d); "+
					"the next run continues from that page: %w", st.Pages+1, st.SnapshotAt.Format(time.RFC3339), st.Cursor, err)
				break
			}
			st.Pages++
			var already []int
			for i, v := range page.Videos {
				if seen[v.ID] {
					already = append(already, page.Index[i])
					continue
				}
				seen[v.ID] = true
				if v.CreateTime != nil && emittedBefore(v) {
					already = append(already, page.Index[i])
				}
			}
			g.exchanges = append(g.exchanges, page.Exchange)
			g.alreadyEmitted = append(g.alreadyEmitted, already)
			videos, problems := pageVideos(page, int64(len(g.exchanges)), already)
			g.videos = append(g.videos, videos...)
			g.problems = append(g.problems, problems...)
			added := len(videos)
			if !page.HasMore {
				st.Done = true
				break
			}
			if added == 0 && page.Cursor == st.Cursor {
				if stalled++; stalled >= displayapi.MaxStalledPages {
					out.Log(sdk.LevelWarn, "TikTok video list stopped moving: it kept answering has_more without new videos at the same cursor; the snapshot ends here",
						"cursor", st.Cursor, "stalled_pages", stalled, "videos", st.Videos+len(g.videos))
					st.Done = true
					break
				}
			} else {
				stalled = 0
			}
			st.Cursor = page.Cursor
		}
		if fetchErr != nil && ctx.Err() != nil {
			// Cancelled: BEDROT is stopping the run; send nothing more.
			return fetchErr
		}
		if len(g.exchanges) > 0 {
			if err := emitGroup(out, dc.OpenID(), &st, g); err != nil {
				return errors.Join(err, fetchErr)
			}
			out.Progress(int64(st.Videos), max(videoCount, int64(st.Videos)), "videos")
		}
		if fetchErr != nil {
			return fetchErr
		}
	}
	out.Log(sdk.LevelInfo, "TikTok videos snapshot complete", "snapshot_at", st.SnapshotAt.Format(time.RFC3339), "videos", st.Videos, "pages", st.Pages)
	return nil
}

// pageVideos returns the videos that the page, answered on line line of
// its payload, emits: every decoded video but those at the positions
// alreadyEmitted, and the problems of the page (videos that could not be
// decoded or came without create_time).
func pageVideos(page displayapi.Page, line int64, alreadyEmitted []int) ([]displayapi.Video, []payloadProblem) {
	var videos []displayapi.Video
	var problems []payloadProblem
	for _, inv := range page.Invalid {
		problems = append(problems, payloadProblem{line: line, field: fmt.Sprintf("data.videos[%d].%s", inv.Index, inv.Field), message: inv.Message})
	}
	for i, v := range page.Videos {
		pos := page.Index[i]
		if slices.Contains(alreadyEmitted, pos) {
			continue
		}
		if v.CreateTime == nil {
			problems = append(problems, payloadProblem{line: line, field: fmt.Sprintf("data.videos[%d].create_time", pos),
				message: fmt.Sprintf("video %s came without create_time", v.ID)})
			continue
		}
		videos = append(videos, v)
	}
	return videos, problems
}

// videosPayloadName names the payload of a snapshot's pages first..last.
func videosPayloadName(snap time.Time, first, last int) string {
	return fmt.Sprintf("videos-%s-pages-%04d-%04d.jsonl", snapshotStamp(snap), first, last)
}

// emitGroup emits the pages of g as one payload with their rows, moves the
// boundary of st past the emitted videos and checkpoints st.
func emitGroup(out sdk.Emitter, openID string, st *videosState, g pageGroup) error {
	name := videosPayloadName(st.SnapshotAt, g.firstPage, st.Pages)
	for i := range g.exchanges {
		note := lineNote{Stream: StreamVideos, SnapshotAt: st.SnapshotAt, OpenID: openID, AlreadyEmitted: g.alreadyEmitted[i]}
		var err error
		if g.exchanges[i].Note, err = note.json(); err != nil {
			return err
		}
	}
	if len(g.problems) > 0 {
		out.Log(sdk.LevelWarn, "TikTok sent videos that cannot be read; their payload is quarantined with the reasons",
			"payload", name, "problems", len(g.problems))
	}
	if err := emitPayload(out, name, g.exchanges, videoRows(openID, st.SnapshotAt, g.videos, g.problems)); err != nil {
		return err
	}
	st.Videos += len(g.videos)
	for _, v := range g.videos {
		switch ct := v.CreateTime.Unix(); {
		case st.OldestCreateTime == 0 || ct < st.OldestCreateTime:
			st.OldestCreateTime, st.OldestIDs = ct, []string{v.ID}
		case ct == st.OldestCreateTime:
			st.OldestIDs = append(st.OldestIDs, v.ID)
		}
	}
	return checkpoint(out, StreamVideos, st)
}

// videoRows are the rows of videos (each with a create_time) in the
// snapshot snap of the account openID (none when empty), with the
// payload's problems.
func videoRows(openID string, snap time.Time, videos []displayapi.Video, problems []payloadProblem) payloadRows {
	return payloadRows{stream: StreamVideos, schema: VideosSchema, n: len(videos), problems: problems, fill: func(b *sdk.BatchBuilder, i int) {
		v := videos[i]
		b.AppendString(VideoColID, []byte(v.ID))
		if openID == "" {
			b.AppendNull(VideoColOpenID)
		} else {
			b.AppendString(VideoColOpenID, []byte(openID))
		}
		b.AppendInt64(VideoColCreateTime, v.CreateTime.UnixMicro())
		appendOptString(b, VideoColTitle, v.Title)
		appendOptString(b, VideoColDescription, v.VideoDescription)
		appendOptInt(b, VideoColDuration, v.Duration)
		appendOptInt(b, VideoColHeight, v.Height)
		appendOptInt(b, VideoColWidth, v.Width)
		appendOptBool(b, VideoColIsAIGC, v.IsAIGC)
		appendOptString(b, VideoColShareURL, v.ShareURL)
		appendOptString(b, VideoColEmbedLink, v.EmbedLink)
		appendOptString(b, VideoColEmbedHTML, v.EmbedHTML)
		appendOptString(b, VideoColCoverImageURL, v.CoverImageURL)
		appendOptInt(b, VideoColViewCount, v.ViewCount)
		appendOptInt(b, VideoColLikeCount, v.LikeCount)
		appendOptInt(b, VideoColCommentCount, v.CommentCount)
		appendOptInt(b, VideoColShareCount, v.ShareCount)
		appendSnapshot(b, VideoColSnapshotAt, VideoColSnapshotDate, snap)
	}}
}
