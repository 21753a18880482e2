package emulator

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// titles are the seeded titles, cycled over videos. They cover the documented
// hazards: empty titles (common), emoji, newlines, quotes, hashtags, non-Latin
// scripts and the 150-character maximum.
var titles = []string{
	"",
	"studio day 🎛️ #newmusic #tidewater",
	"new single out friday!!\nlink in bio 🔗",
	`my 12" mix is "finally" done`,
	"",
	"Björk-core 🇮🇸 — ñandú remix #fyp",
	"late night session 🌙\n\n#producer #beats",
	"日本語のタイトル 🎶 #jpop",
	strings.Repeat("🎵la ", 37) + "la", // 150 runes
}

// descriptions are the seeded video descriptions, cycled with a different
// stride from titles.
var descriptions = []string{
	"studio day 🎛️ #newmusic #tidewater",
	"",
	"reply to @someone 💬 yes the stems are coming\n#remix",
	`"Harbor Lights" (acoustic) 🌊`,
	"tour dates ⬇️\n01/12 Lisbon\n02/12 Porto",
}

// seed generates the account and videoCount videos, newest first, with
// create times before now.
func seed(opts Options, now time.Time) (Account, []Video) {
	rng := rand.New(rand.NewPCG(opts.Seed, 0x7469_6b74_6f6b)) //nolint:gosec // test data
	videos := make([]Video, 0, opts.VideoCount)
	ct := now.Add(-time.Hour).Unix()
	seen := map[string]bool{}
	for i := range opts.VideoCount {
		id := videoID(ct, rng)
		for seen[id] {
			id = videoID(ct, rng)
		}
		seen[id] = true
		views := int64(500 + rng.IntN(20_000) + rng.IntN(10)*rng.IntN(50_000))
		likes := views * int64(5+rng.IntN(8)) / 100
		w, h := int32(1080), int32(1920)
		if i%7 == 3 {
			w, h = 720, 1280
		}
		videos = append(videos, Video{
			ID:               id,
			CreateTime:       ct,
			Title:            titles[i%len(titles)],
			VideoDescription: descriptions[(i*2)%len(descriptions)],
			Duration:         int32(7 + rng.IntN(170)),
			Width:            w,
			Height:           h,
			IsAIGC:           i%11 == 5,
			ViewCount:        views,
			LikeCount:        likes,
			CommentCount:     likes / int64(20+rng.IntN(40)),
			ShareCount:       likes / int64(30+rng.IntN(90)),
		})
		// Step back 6 h to 3 days, never landing on the same second.
		ct -= int64(6*3600 + rng.IntN(66*3600) + 1)
	}

	a := opts.Account
	if a.OpenID == "" {
		a.OpenID = fmt.Sprintf("-000%012x", rng.Uint64()&0xffff_ffff_ffff)
	}
	if a.UnionID == "" {
		a.UnionID = fmt.Sprintf("c9a1f0e2-%04x-%04x-%04x-%012x", rng.IntN(1<<16), rng.IntN(1<<16), rng.IntN(1<<16), rng.Uint64()&0xffff_ffff_ffff)
	}
	if a.DisplayName == "" {
		a.DisplayName = "Mara Ellis 🌊"
	}
	if a.Username == "" {
		a.Username = "maraellismusic"
	}
	if a.AvatarURL == "" {
		a.AvatarURL = "https://p16-sign.tiktokcdn-us.com/tos-useast5-avt-0068-tx/avatar~c5_168x168.jpeg"
	}
	if a.BioDescription == "" {
		a.BioDescription = "indie pop from tidewater 🌊\nnew single \"Harbor Lights\" out now"
	}
	if a.FollowerCount == 0 {
		a.FollowerCount = 18211
	}
	if a.FollowingCount == 0 {
		a.FollowingCount = 143
	}
	if a.LikesCount == 0 {
		a.LikesCount = 1000
		for _, v := range videos {
			a.LikesCount += v.LikeCount
		}
	}
	a.VideoCount = int64(len(videos))
	return a, videos
}

// videoID builds a 19-digit id the way TikTok does: the create time in the
// high 32 bits and random low bits.
func videoID(createTime int64, rng *rand.Rand) string {
	return strconv.FormatUint(uint64(createTime)<<32|uint64(rng.Uint32()), 10)
}

// AdvanceDay moves every lifetime counter on as if one day had passed: views,
// comments and shares grow, every fourth video (rotating by day) loses a few
// likes while the others gain some, and the follower count moves. The change
// is deterministic for a given Seed and day number. It returns the new day
// number (1 after the first call).
func (s *Server) AdvanceDay() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.day++
	rng := rand.New(rand.NewPCG(s.opts.Seed, uint64(s.day))) //nolint:gosec // test data
	n := len(s.videos)
	var likeDelta int64
	for i := range s.videos {
		v := &s.videos[i]
		v.ViewCount += int64(10 + rng.IntN(2000))
		v.CommentCount += int64(rng.IntN(6))
		v.ShareCount += int64(rng.IntN(4))
		before := v.LikeCount
		if i%4 == s.day%4 || (n < 4 && i == s.day%n) {
			v.LikeCount -= min(v.LikeCount, int64(1+rng.IntN(3)))
		} else {
			v.LikeCount += int64(rng.IntN(150))
		}
		likeDelta += v.LikeCount - before
	}
	s.account.LikesCount += likeDelta
	s.account.FollowerCount = max(0, s.account.FollowerCount+int64(rng.IntN(60)-10))
	return s.day
}
