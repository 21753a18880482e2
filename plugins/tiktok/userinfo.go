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
	openID := dc.OpenID()
	if u.OpenID != nil && *u.OpenID != "" {
		openID = *u.OpenID
	}
	var problems []payloadProblem
	rows := 1
	if openID == "" {
		problems = append(problems, payloadProblem{line: 1, field: "data.user.open_id", message: "TikTok sent the profile without an open_id, which identifies the account"})
		rows = 0
	}
	name := "user_info-" + snapshotStamp(snap) + ".jsonl"
	fill := func(b *sdk.BatchBuilder, _ int) {
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
	if err := emitPayload(out, StreamUserInfo, name, UserInfoSchema, []displayapi.Exchange{ex}, rows, fill, problems); err != nil {
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
