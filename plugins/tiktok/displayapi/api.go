package displayapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Endpoint paths, relative to Config.BaseURL.
const (
	userInfoEndpoint  = "/v2/user/info/"
	videoListEndpoint = "/v2/video/list/"
)

// PageSize is the max_count sent to /v2/video/list/ (the API maximum).
const PageSize = 20

// MaxStalledPages is how many consecutive pages with has_more true, no new
// video and an unchanged cursor Videos accepts before it stops paging.
const MaxStalledPages = 3

// DefaultUserFields are the User fields requested when UserInfo gets none.
// Fields whose scope was not granted come back absent.
var DefaultUserFields = []string{
	"open_id", "union_id", "avatar_url", "avatar_url_100", "avatar_large_url", "display_name",
	"bio_description", "profile_deep_link", "is_verified", "username",
	"follower_count", "following_count", "likes_count", "video_count",
}

// DefaultVideoFields are the Video fields requested when Videos gets none.
var DefaultVideoFields = []string{
	"id", "create_time", "cover_image_url", "share_url", "video_description", "duration",
	"height", "width", "title", "embed_html", "embed_link",
	"like_count", "comment_count", "share_count", "view_count",
}

// User is the TikTok User object. Every field is a pointer: nil means the
// field was not requested or not covered by a granted scope, which is not
// the same as an empty or zero value.
type User struct {
	OpenID          *string `json:"open_id"`
	UnionID         *string `json:"union_id"`
	AvatarURL       *string `json:"avatar_url"`
	AvatarURL100    *string `json:"avatar_url_100"`
	AvatarLargeURL  *string `json:"avatar_large_url"`
	DisplayName     *string `json:"display_name"`
	BioDescription  *string `json:"bio_description"`
	ProfileDeepLink *string `json:"profile_deep_link"`
	IsVerified      *bool   `json:"is_verified"`
	Username        *string `json:"username"`
	// FollowerCount, FollowingCount, LikesCount and VideoCount are lifetime
	// totals (scope user.info.stats).
	FollowerCount  *int64 `json:"follower_count"`
	FollowingCount *int64 `json:"following_count"`
	LikesCount     *int64 `json:"likes_count"`
	VideoCount     *int64 `json:"video_count"`
}

// Video is the TikTok Video object. ID is always present; every other field
// is nil when it was not requested or not returned.
type Video struct {
	// ID is the item id, kept as the exact decimal string (19 digits).
	ID string
	// CreateTime is the posting time (UTC; the API sends Unix seconds).
	CreateTime *time.Time
	// CoverImageURL is a signed CDN link that expires after about 6 hours;
	// never use it as a key.
	CoverImageURL    *string
	ShareURL         *string
	VideoDescription *string
	Title            *string
	EmbedHTML        *string
	EmbedLink        *string
	// Duration is in seconds; Height and Width in pixels.
	Duration *int64
	Height   *int64
	Width    *int64
	IsAIGC   *bool
	// ViewCount, LikeCount, CommentCount and ShareCount are lifetime totals;
	// they can decrease between snapshots.
	ViewCount    *int64
	LikeCount    *int64
	CommentCount *int64
	ShareCount   *int64
}

// wireVideo is a Video as sent. Numbers are decoded as json.Number so that
// no value passes through float64.
type wireVideo struct {
	ID               json.Number  `json:"id"`
	CreateTime       *json.Number `json:"create_time"`
	CoverImageURL    *string      `json:"cover_image_url"`
	ShareURL         *string      `json:"share_url"`
	VideoDescription *string      `json:"video_description"`
	Title            *string      `json:"title"`
	EmbedHTML        *string      `json:"embed_html"`
	EmbedLink        *string      `json:"embed_link"`
	Duration         *json.Number `json:"duration"`
	Height           *json.Number `json:"height"`
	Width            *json.Number `json:"width"`
	IsAIGC           *bool        `json:"is_aigc"`
	ViewCount        *json.Number `json:"view_count"`
	LikeCount        *json.Number `json:"like_count"`
	CommentCount     *json.Number `json:"comment_count"`
	ShareCount       *json.Number `json:"share_count"`
}

// videoPage is the data of a /v2/video/list/ response.
type videoPage struct {
	Videos  []wireVideo `json:"videos"`
	Cursor  json.Number `json:"cursor"`
	HasMore bool        `json:"has_more"`
}

// listRequest is the JSON body of /v2/video/list/.
type listRequest struct {
	Cursor   int64 `json:"cursor,omitempty"`
	MaxCount int   `json:"max_count"`
}

// UserInfo fetches the authorised user's profile with the given fields
// (DefaultUserFields when empty).
func (c *Client) UserInfo(ctx context.Context, fields []string) (User, error) {
	if len(fields) == 0 {
		fields = DefaultUserFields
	}
	data, err := c.call(ctx, http.MethodGet, userInfoEndpoint, fields, nil)
	if err != nil {
		return User{}, err
	}
	var d struct {
		User User `json:"user"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return User{}, fmt.Errorf("failed to decode the TikTok user info: %w", err)
	}
	return d.User, nil
}

// Videos lists all the authorised user's public videos, newest first, each
// once, with the given fields (DefaultVideoFields when empty; "id" is always
// added). It pages through /v2/video/list/ until has_more is false, and stops
// early, logging it, after MaxStalledPages consecutive pages that bring no
// new video without moving the cursor.
func (c *Client) Videos(ctx context.Context, fields []string) ([]Video, error) {
	if len(fields) == 0 {
		fields = DefaultVideoFields
	}
	if !slices.Contains(fields, "id") {
		fields = append([]string{"id"}, fields...)
	}
	var (
		out     []Video
		seen    = map[string]bool{}
		cursor  int64
		stalled int
		pages   int
	)
	for {
		body, err := json.Marshal(listRequest{Cursor: cursor, MaxCount: PageSize})
		if err != nil {
			return nil, fmt.Errorf("failed to encode the TikTok video list request: %w", err)
		}
		data, err := c.call(ctx, http.MethodPost, videoListEndpoint, fields, body)
		if err != nil {
			return nil, fmt.Errorf("failed to list TikTok videos (page %d, cursor %d): %w", pages+1, cursor, err)
		}
		pages++
		var page videoPage
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&page); err != nil {
			return nil, fmt.Errorf("failed to decode TikTok video list page %d: %w", pages, err)
		}
		added := 0
		for _, w := range page.Videos {
			v, err := w.video()
			if err != nil {
				return nil, fmt.Errorf("failed to decode a video on TikTok video list page %d: %w", pages, err)
			}
			if seen[v.ID] {
				continue
			}
			seen[v.ID] = true
			out = append(out, v)
			added++
		}
		if !page.HasMore {
			return out, nil
		}
		next := cursor
		if page.Cursor != "" {
			if next, err = page.Cursor.Int64(); err != nil {
				return nil, fmt.Errorf("failed to decode the cursor of TikTok video list page %d: %w", pages, err)
			}
		}
		if added == 0 && next == cursor {
			stalled++
			if stalled >= MaxStalledPages {
				c.cfg.Logger("TikTok video list stopped: cursor did not move", "cursor", cursor, "stalled_pages", stalled, "videos", len(out))
				return out, nil
			}
		} else {
			stalled = 0
		}
		cursor = next
	}
}

// video converts w, checking that every number is an integer.
func (w wireVideo) video() (Video, error) {
	id := w.ID.String()
	if id == "" {
		return Video{}, fmt.Errorf("video without an id")
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return Video{}, fmt.Errorf("video id %q is not a decimal integer", id)
	}
	v := Video{
		ID: id, CoverImageURL: w.CoverImageURL, ShareURL: w.ShareURL, VideoDescription: w.VideoDescription,
		Title: w.Title, EmbedHTML: w.EmbedHTML, EmbedLink: w.EmbedLink, IsAIGC: w.IsAIGC,
	}
	var err error
	num := func(name string, n *json.Number) *int64 {
		if n == nil || err != nil {
			return nil
		}
		i, e := n.Int64()
		if e != nil {
			err = fmt.Errorf("video %s: field %s %q is not an integer", id, name, n.String())
			return nil
		}
		return &i
	}
	if ct := num("create_time", w.CreateTime); ct != nil {
		t := time.Unix(*ct, 0).UTC()
		v.CreateTime = &t
	}
	v.Duration = num("duration", w.Duration)
	v.Height = num("height", w.Height)
	v.Width = num("width", w.Width)
	v.ViewCount = num("view_count", w.ViewCount)
	v.LikeCount = num("like_count", w.LikeCount)
	v.CommentCount = num("comment_count", w.CommentCount)
	v.ShareCount = num("share_count", w.ShareCount)
	return v, err
}
