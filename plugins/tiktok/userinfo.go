package tiktok

import (
	"context"
	"fmt"
	"time"

	"github.com/bedrot-label/bedrot/plugins/tiktok/displayapi"
	"github.com/bedrot-label/bedrot/sdk"
)

// userInfoState is the checkpoint of the user_info stream.
type userInfoState struct {
	// SnapshotAt is the snapshot whose user_info row is stored.
	SnapshotAt time.Time `json:"snapshot_at"`
}

// readUserInfo fetches the profile, emits it as one payload and one row of
// snapshot snap, and checkpoints. It returns the account's video count (0
// when unknown) for progress reports.
func readUserInfo(ctx context.Context, dc *displayapi.Client, snap time.Time, out sdk.Emitter) (int64, error) {
	u, ex, err := dc.FetchUserInfo(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("failed to read the TikTok profile (GET /v2/user/info/): %w", err)
	}
	note := lineNote{Stream: StreamUserInfo, SnapshotAt: snap, OpenID: dc.OpenID()}
	if ex.Note, err = note.json(); err != nil {
		return 0, err
	}
	if err := emitPayload(out, userInfoPayloadName(snap), []displayapi.Exchange{ex}, userInfoRows(u, note)); err != nil {
		return 0, err
	}
	if err := checkpoint(out, StreamUserInfo, userInfoState{SnapshotAt: snap}); err != nil {
		return 0, err
	}
	if u.VideoCount != nil {
		return *u.VideoCount, nil
	}
	return 0, nil
}

// userInfoPayloadName names the user_info payload of snapshot snap.
func userInfoPayloadName(snap time.Time) string {
	return "user_info-" + snapshotStamp(snap) + ".jsonl"
}

// userInfoRows is the row of the profile u, answered on line 1 of a payload
// noted with note: one row, or none and a problem when the account has no
// open_id.
func userInfoRows(u displayapi.User, note lineNote) payloadRows {
	openID := note.OpenID
	if u.OpenID != nil && *u.OpenID != "" {
		openID = *u.OpenID
	}
	r := payloadRows{stream: StreamUserInfo, schema: UserInfoSchema, n: 1}
	if openID == "" {
		r.problems = append(r.problems, payloadProblem{line: 1, field: "data.user.open_id", message: "TikTok sent the profile without an open_id, which identifies the account"})
		r.n = 0
	}
	snap := note.SnapshotAt
	r.fill = func(b *sdk.BatchBuilder, _ int) {
		b.AppendString(UserColOpenID, []byte(openID))
		appendOptString(b, UserColUnionID, u.UnionID)
		appendOptString(b, UserColDisplayName, u.DisplayName)
		appendOptString(b, UserColUsername, u.Username)
		appendOptString(b, UserColAvatarURL, u.AvatarURL)
		appendOptString(b, UserColAvatarURL100, u.AvatarURL100)
		appendOptString(b, UserColAvatarLargeURL, u.AvatarLargeURL)
		appendOptString(b, UserColBioDescription, u.BioDescription)
		appendOptString(b, UserColProfileDeepLink, u.ProfileDeepLink)
		appendOptBool(b, UserColIsVerified, u.IsVerified)
		appendOptInt(b, UserColFollowerCount, u.FollowerCount)
		appendOptInt(b, UserColFollowingCount, u.FollowingCount)
		appendOptInt(b, UserColLikesCount, u.LikesCount)
		appendOptInt(b, UserColVideoCount, u.VideoCount)
		appendSnapshot(b, UserColSnapshotAt, UserColSnapshotDate, snap)
	}
	return r
}
