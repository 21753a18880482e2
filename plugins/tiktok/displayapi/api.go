package displayapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// DefaultVideoFields are the Video fields requested when Videos or
// VideoPage gets none: every field of the Video object, is_aigc included
// (added to the object in 2026).
var DefaultVideoFields = []string{
	"id", "create_time", "cover_image_url", "share_url", "video_description", "duration",
	"height", "width", "title", "embed_html", "embed_link",
	"like_count", "comment_count", "share_count", "view_count", "is_aigc",
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

// videoPage is the data of a /v2/video/list/ response. Videos are kept raw
// so that one bad video does not hide the others.
type videoPage struct {
	Videos  []json.RawMessage `json:"videos"`
	Cursor  json.Number       `json:"cursor"`
	HasMore bool              `json:"has_more"`
}

// listRequest is the JSON body of /v2/video/list/.
type listRequest struct {
	Cursor   int64 `json:"cursor,omitempty"`
	MaxCount int   `json:"max_count"`
}

// Page is one answer of /v2/video/list/.
type Page struct {
	// Videos are the page's videos in the order sent, repeats included.
	Videos []Video
	// Index holds the position in data.videos of each of Videos (they
	// differ when a video before it is Invalid).
	Index []int
	// Invalid are the videos of the page that could not be decoded.
	Invalid []InvalidVideo
	// Cursor is the cursor to ask for the next page with (Unix ms); the
	// cursor asked with when the answer had none.
	Cursor int64
	// HasMore says whether more pages follow.
	HasMore bool
	// Exchange is the request and the answer as received.
	Exchange Exchange
}

// InvalidVideo is a video of a page that could not be decoded.
type InvalidVideo struct {
	// Index is the video's position in data.videos (0-based).
	Index int
	// ID is the video's id, when it could be read.
	ID string
	// Field names the offending field, e.g. "view_count".
	Field string
	// Message says what is wrong.
	Message string
}

// UserInfo fetches the authorised user's profile with the given fields
// (DefaultUserFields when empty).
func (c *Client) UserInfo(ctx context.Context, fields []string) (User, error) {
	u, _, err := c.FetchUserInfo(ctx, fields)
	return u, err
}

// FetchUserInfo is UserInfo that also returns the answered exchange.
func (c *Client) FetchUserInfo(ctx context.Context, fields []string) (User, Exchange, error) {
	if len(fields) == 0 {
		fields = DefaultUserFields
	}
	data, ex, err := c.call(ctx, http.MethodGet, userInfoEndpoint, fields, nil)
	if err != nil {
		return User{}, Exchange{}, err
	}
	u, err := DecodeUserInfo(data)
	if err != nil {
		return User{}, ex, err
	}
	return u, ex, nil
}

// DecodeUserInfo decodes the data of a /v2/user/info/ answer (as
// AnswerData returns it) into the User.
func DecodeUserInfo(data json.RawMessage) (User, error) {
	var d struct {
		User User `json:"user"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return User{}, fmt.Errorf("failed to decode the TikTok user info (data.user): %w", err)
	}
	return d.User, nil
}

// AnswerData returns the data of a successful Display API answer body, as
// a landing line keeps it: the {data, error} envelope with error.code "ok".
// Anything else is an error saying what the body is instead.
func AnswerData(body []byte) (json.RawMessage, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("the body is not a Display API answer ({data, error}): %w", err)
	}
	if env.Error.Code != codeOK {
		return nil, fmt.Errorf("the body is not a successful Display API answer: error.code is %q, not %q", env.Error.Code, codeOK)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return nil, errors.New("the body is a Display API answer without data")
	}
	return env.Data, nil
}

// VideoPage fetches one page of the authorised user's public videos posted
// before cursor (Unix ms; 0 for the newest), at most maxCount of them
// (PageSize when not between 1 and PageSize), with the given fields
// (DefaultVideoFields when empty; "id" is always added). Videos that cannot
// be decoded are listed in Page.Invalid; an answer whose page itself cannot
// be decoded is an error.
func (c *Client) VideoPage(ctx context.Context, fields []string, cursor int64, maxCount int) (Page, error) {
	if len(fields) == 0 {
		fields = DefaultVideoFields
	}
	if !slices.Contains(fields, "id") {
		fields = append([]string{"id"}, fields...)
	}
	if maxCount < 1 || maxCount > PageSize {
		maxCount = PageSize
	}
	body, err := json.Marshal(listRequest{Cursor: cursor, MaxCount: maxCount})
	if err != nil {
		return Page{}, fmt.Errorf("failed to encode the TikTok video list request: %w", err)
	}
	data, ex, err := c.call(ctx, http.MethodPost, videoListEndpoint, fields, body)
	if err != nil {
		return Page{}, err
	}
	p, err := DecodeVideoPage(data, cursor)
	if err != nil {
		return Page{}, err
	}
	p.Exchange = ex
	return p, nil
}

// DecodeVideoPage decodes the data of a /v2/video/list/ answer (as
// AnswerData returns it) asked for with cursor, as VideoPage does; the
// returned Page has no Exchange. Videos that cannot be decoded are listed
// in Page.Invalid; a page that cannot be decoded is an error.
func DecodeVideoPage(data json.RawMessage, cursor int64) (Page, error) {
	var wire videoPage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&wire); err != nil {
		return Page{}, fmt.Errorf("failed to decode the TikTok video list page at cursor %d (data.videos, data.cursor, data.has_more): %w", cursor, err)
	}
	p := Page{Cursor: cursor, HasMore: wire.HasMore}
	if wire.Cursor != "" {
		var err error
		if p.Cursor, err = wire.Cursor.Int64(); err != nil {
			return Page{}, fmt.Errorf("failed to decode the TikTok video list page at cursor %d: data.cursor %q is not an integer", cursor, wire.Cursor)
		}
	}
	for i, raw := range wire.Videos {
		v, field, err := decodeVideo(raw)
		if err != nil {
			p.Invalid = append(p.Invalid, InvalidVideo{Index: i, ID: v.ID, Field: field, Message: err.Error()})
			continue
		}
		p.Videos = append(p.Videos, v)
		p.Index = append(p.Index, i)
	}
	return p, nil
}

// Videos lists all the authorised user's public videos, newest first, each
// once, with the given fields (DefaultVideoFields when empty; "id" is always
// added). It pages through /v2/video/list/ until has_more is false, and stops
// early, logging it, after MaxStalledPages consecutive pages that bring no
// new video without moving the cursor. A video that cannot be decoded is an
// error.
func (c *Client) Videos(ctx context.Context, fields []string) ([]Video, error) {
	var (
		out     []Video
		seen    = map[string]bool{}
		cursor  int64
		stalled int
		pages   int
	)
	for {
		page, err := c.VideoPage(ctx, fields, cursor, PageSize)
		if err != nil {
			return nil, fmt.Errorf("failed to list TikTok videos (page %d, cursor %d): %w", pages+1, cursor, err)
		}
		pages++
		if len(page.Invalid) > 0 {
			bad := page.Invalid[0]
			return nil, fmt.Errorf("failed to decode video %d on TikTok video list page %d: field %s: %s", bad.Index, pages, bad.Field, bad.Message)
		}
		added := 0
		for _, v := range page.Videos {
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
		if added == 0 && page.Cursor == cursor {
			stalled++
			if stalled >= MaxStalledPages {
				c.cfg.Logger("TikTok video list stopped: cursor did not move", "cursor", cursor, "stalled_pages", stalled, "videos", len(out))
				return out, nil
			}
		} else {
			stalled = 0
		}
		cursor = page.Cursor
	}
}

// decodeVideo decodes one video object field by field, so that a bad value
// is named: every number must be an integer (read without passing through
// float64), text must be text. On failure it returns the id when it could
// be read and the offending field.
func decodeVideo(raw json.RawMessage) (Video, string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Video{}, "", fmt.Errorf("not a video object: %w", err)
	}
	var v Video
	present := func(name string) (json.RawMessage, bool) {
		r, ok := m[name]
		return r, ok && string(bytes.TrimSpace(r)) != "null"
	}
	idRaw, ok := present("id")
	if !ok {
		return v, "id", fmt.Errorf("video without an id")
	}
	var id json.Number
	if err := decodeNumber(idRaw, &id); err != nil {
		return v, "id", fmt.Errorf("video id %s is not a decimal integer", idRaw)
	}
	if _, err := strconv.ParseUint(id.String(), 10, 64); err != nil {
		return v, "id", fmt.Errorf("video id %q is not a decimal integer", id)
	}
	v.ID = id.String()
	for _, f := range []struct {
		name string
		dst  **string
	}{
		{"cover_image_url", &v.CoverImageURL}, {"share_url", &v.ShareURL}, {"video_description", &v.VideoDescription},
		{"title", &v.Title}, {"embed_html", &v.EmbedHTML}, {"embed_link", &v.EmbedLink},
	} {
		if r, ok := present(f.name); ok {
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return v, f.name, fmt.Errorf("video %s: field %s is not text: %s", v.ID, f.name, r)
			}
			*f.dst = &s
		}
	}
	if r, ok := present("is_aigc"); ok {
		var b bool
		if err := json.Unmarshal(r, &b); err != nil {
			return v, "is_aigc", fmt.Errorf("video %s: field is_aigc is not true or false: %s", v.ID, r)
		}
		v.IsAIGC = &b
	}
	var createTime *int64
	for _, f := range []struct {
		name string
		dst  **int64
	}{
		{"create_time", &createTime}, {"duration", &v.Duration}, {"height", &v.Height}, {"width", &v.Width},
		{"view_count", &v.ViewCount}, {"like_count", &v.LikeCount}, {"comment_count", &v.CommentCount}, {"share_count", &v.ShareCount},
	} {
		r, ok := present(f.name)
		if !ok {
			continue
		}
		var n json.Number
		err := decodeNumber(r, &n)
		var i int64
		if err == nil {
			i, err = n.Int64()
		}
		if err != nil {
			return v, f.name, fmt.Errorf("video %s: field %s %s is not an integer", v.ID, f.name, r)
		}
		*f.dst = &i
	}
	if createTime != nil {
		t := time.Unix(*createTime, 0).UTC()
		v.CreateTime = &t
	}
	return v, "", nil
}

// decodeNumber decodes a JSON number (or a string holding one) into n
// without passing through float64.
func decodeNumber(raw json.RawMessage, n *json.Number) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(n)
}
