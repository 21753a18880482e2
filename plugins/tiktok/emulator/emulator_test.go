package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

const (
	testKey    = "ck_test"
	testSecret = "cs_test"
	testRT     = "rft.initial"
	testAT     = "act.initial"
	allFields  = "id,create_time,cover_image_url,share_url,video_description,duration,height,width,title,embed_html,embed_link,like_count,comment_count,share_count,view_count,is_aigc"
)

// start builds and starts a server with test credentials layered over opts.
func start(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	opts.ClientKey, opts.ClientSecret = testKey, testSecret
	opts.RefreshToken, opts.AccessToken = testRT, testAT
	s := New(opts)
	base := s.Start()
	t.Cleanup(s.Close)
	return s, base
}

// response is a decoded data-endpoint answer.
type response struct {
	Status int
	Header http.Header
	Data   map[string]any
	Error  struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		LogID   string `json:"log_id"`
	}
}

func do(t *testing.T, method, u, token string, body any) response {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out := response{Status: resp.StatusCode, Header: resp.Header}
	var env struct {
		Data  map[string]any  `json:"data"`
		Error json.RawMessage `json:"error"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	require.NoError(t, dec.Decode(&env))
	require.NotNil(t, env.Data, "data must be an object, even on errors")
	require.NoError(t, json.Unmarshal(env.Error, &out.Error))
	require.Len(t, out.Error.LogID, 34)
	out.Data = env.Data
	return out
}

func userInfo(t *testing.T, base, token, fields string) response {
	t.Helper()
	return do(t, http.MethodGet, base+"/v2/user/info/?fields="+url.QueryEscape(fields), token, nil)
}

func list(t *testing.T, base, token, fields string, cursor int64, maxCount int) response {
	t.Helper()
	body := map[string]any{"max_count": maxCount}
	if cursor != 0 {
		body["cursor"] = cursor
	}
	return do(t, http.MethodPost, base+"/v2/video/list/?fields="+url.QueryEscape(fields), token, body)
}

// pageOf extracts videos, cursor and has_more from a list response.
func pageOf(t *testing.T, r response) ([]map[string]any, int64, bool) {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, CodeOK, r.Error.Code)
	raw, ok := r.Data["videos"].([]any)
	require.True(t, ok, "videos must be an array")
	vids := make([]map[string]any, len(raw))
	for i, v := range raw {
		vids[i] = v.(map[string]any)
	}
	cur, err := r.Data["cursor"].(json.Number).Int64()
	require.NoError(t, err)
	return vids, cur, r.Data["has_more"].(bool)
}

func refresh(t *testing.T, base string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(base+"/v2/oauth/token/", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return resp.StatusCode, m
}

func refreshForm(rt string) url.Values {
	return url.Values{"client_key": {testKey}, "client_secret": {testSecret}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}
}

func TestTokenRotation(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{})

	status, tok := refresh(t, base, refreshForm(testRT))
	require.Equal(t, http.StatusOK, status)
	for _, k := range []string{"access_token", "expires_in", "refresh_token", "refresh_expires_in", "open_id", "scope", "token_type"} {
		require.Contains(t, tok, k)
	}
	require.EqualValues(t, 7200, tok["expires_in"])
	require.EqualValues(t, 15552000, tok["refresh_expires_in"])
	require.Equal(t, "Bearer", tok["token_type"])
	require.Equal(t, DefaultScope, tok["scope"])
	require.Equal(t, s.Account().OpenID, tok["open_id"])
	newRT := tok["refresh_token"].(string)
	require.NotEqual(t, testRT, newRT)
	require.Equal(t, newRT, s.RefreshToken())
	require.True(t, strings.HasPrefix(tok["access_token"].(string), "act."))

	// The old refresh token is dead once rotated.
	status, e := refresh(t, base, refreshForm(testRT))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, OAuthInvalidGrant, e["error"])
	require.NotEmpty(t, e["error_description"])
	require.NotEmpty(t, e["log_id"])

	// The new one works, and rotates again.
	status, tok2 := refresh(t, base, refreshForm(newRT))
	require.Equal(t, http.StatusOK, status)
	require.NotEqual(t, newRT, tok2["refresh_token"])

	r := userInfo(t, base, tok2["access_token"].(string), "open_id")
	require.Equal(t, CodeOK, r.Error.Code)

	bad := refreshForm(s.RefreshToken())
	bad.Set("client_secret", "nope")
	status, e = refresh(t, base, bad)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, OAuthInvalidClient, e["error"])

	bad = refreshForm(s.RefreshToken())
	bad.Set("grant_type", "authorization_code")
	status, e = refresh(t, base, bad)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, OAuthUnsupportedGrantType, e["error"])

	resp, err := http.Post(base+"/v2/oauth/token/", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	c := s.Counts()
	require.Equal(t, 6, c.Token)
	require.Equal(t, 2, c.Refreshed)
	require.Equal(t, 4, c.TokenErrors)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 7, 10, 0, 0, 0, time.UTC)}
	s, base := start(t, Options{Now: clk.Now, AccessTokenTTL: time.Minute, RefreshTokenTTL: time.Hour})

	require.Equal(t, CodeOK, userInfo(t, base, testAT, "open_id").Error.Code)
	clk.Add(2 * time.Minute)
	r := userInfo(t, base, testAT, "open_id")
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, CodeAccessTokenInvalid, r.Error.Code)
	require.True(t, strings.HasPrefix(r.Error.LogID, "20261107100200"))

	status, tok := refresh(t, base, refreshForm(testRT))
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 60, tok["expires_in"])
	require.EqualValues(t, 3600, tok["refresh_expires_in"])
	require.Equal(t, CodeOK, userInfo(t, base, tok["access_token"].(string), "open_id").Error.Code)

	// The refresh token itself expires too.
	clk.Add(2 * time.Hour)
	status, e := refresh(t, base, refreshForm(s.RefreshToken()))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, OAuthInvalidGrant, e["error"])

	require.Equal(t, http.StatusUnauthorized, userInfo(t, base, "act.unknown", "open_id").Status)
	require.Equal(t, 2, s.Counts().Unauthorized)
}

func TestPagingToEnd(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 45, Seed: 1})
	want := s.Videos()
	require.Len(t, want, 45)

	var got []map[string]any
	var cursor int64
	calls := 0
	for {
		calls++
		vids, next, more := pageOf(t, list(t, base, testAT, allFields, cursor, 20))
		require.LessOrEqual(t, len(vids), 20)
		require.Greater(t, next, int64(1e12), "cursor is in milliseconds")
		if len(vids) > 0 {
			ct, err := vids[len(vids)-1]["create_time"].(json.Number).Int64()
			require.NoError(t, err)
			require.Less(t, ct, int64(1e11), "create_time is in seconds")
			require.Equal(t, ct*1000, next)
		}
		got = append(got, vids...)
		cursor = next
		if !more {
			break
		}
	}
	require.Equal(t, 3, calls)
	require.Len(t, got, 45)

	lossy := 0
	var prev int64 = 1 << 62
	for i, v := range got {
		id, ok := v["id"].(string)
		require.True(t, ok, "id must be a JSON string")
		require.Len(t, id, 19)
		require.Equal(t, want[i].ID, id)
		f, err := strconv.ParseFloat(id, 64)
		require.NoError(t, err)
		if strconv.FormatFloat(f, 'f', 0, 64) != id {
			lossy++
		}
		ct, err := v["create_time"].(json.Number).Int64()
		require.NoError(t, err)
		require.Less(t, ct, prev, "sorted by create_time descending")
		prev = ct
		require.Len(t, v, 16)
	}
	require.Positive(t, lossy, "ids must not survive a float64 round trip")

	// Default max_count is 10; a cursor may be any timestamp.
	vids, _, more := pageOf(t, do(t, http.MethodPost, base+"/v2/video/list/?fields=id", testAT, map[string]any{}))
	require.Len(t, vids, 10)
	require.True(t, more)
	vids, _, _ = pageOf(t, list(t, base, testAT, "id", want[5].CreateTime*1000, 2))
	require.Equal(t, want[6].ID, vids[0]["id"])
	vids, _, _ = pageOf(t, list(t, base, testAT, "id", want[5].CreateTime*1000+999, 2))
	require.Equal(t, want[5].ID, vids[0]["id"])

	r := list(t, base, testAT, "id", 0, 21)
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, CodeInvalidParams, r.Error.Code)

	c := s.Counts()
	require.Equal(t, 7, c.VideoList)
}

func TestEmptyAccount(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{})
	vids, cursor, more := pageOf(t, list(t, base, testAT, "id", 0, 20))
	require.Empty(t, vids)
	require.False(t, more)
	require.Positive(t, cursor)
}

// collect pages through the list with max_count n, returning every page.
func collect(t *testing.T, base string, n int) [][]map[string]any {
	t.Helper()
	var pages [][]map[string]any
	var cursor int64
	for range 100 {
		vids, next, more := pageOf(t, list(t, base, testAT, "id,create_time", cursor, n))
		pages = append(pages, vids)
		if !more {
			return pages
		}
		cursor = next
	}
	t.Fatal("paging did not end")
	return nil
}

func ids(pages [][]map[string]any) map[string]int {
	m := map[string]int{}
	for _, p := range pages {
		for _, v := range p {
			m[v["id"].(string)]++
		}
	}
	return m
}

func TestShortPages(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 50, Seed: 2, ShortPages: true})
	pages := collect(t, base, 10)
	empty, short := 0, 0
	for _, p := range pages[:len(pages)-1] { // has_more was true for all but the last
		if len(p) == 0 {
			empty++
		} else if len(p) < 10 {
			short++
		}
	}
	require.Positive(t, empty, "an empty page with has_more true")
	require.Positive(t, short, "a short page with has_more true")
	seen := ids(pages)
	require.Len(t, seen, 50)
	for _, n := range seen {
		require.Equal(t, 1, n)
	}
	require.Equal(t, len(pages), s.Counts().VideoList)
}

func TestDuplicateAcrossPages(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{VideoCount: 30, Seed: 3, DuplicateAcrossPages: true})
	pages := collect(t, base, 10)
	require.Greater(t, len(pages), 3)
	for i := 1; i < len(pages); i++ {
		require.Equal(t, pages[i-1][len(pages[i-1])-1]["id"], pages[i][0]["id"])
	}
	seen := ids(pages)
	require.Len(t, seen, 30)
	dups := 0
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	require.Equal(t, len(pages)-1, dups)
}

func TestRateLimitEvery(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 5, RateLimitEvery: 3})
	for i := 1; i <= 6; i++ {
		r := userInfo(t, base, testAT, "open_id")
		if i%3 != 0 {
			require.Equal(t, http.StatusOK, r.Status, "request %d", i)
			continue
		}
		require.Equal(t, http.StatusTooManyRequests, r.Status, "request %d", i)
		require.Equal(t, CodeRateLimitExceeded, r.Error.Code)
		require.NotEmpty(t, r.Error.Message)
		require.Empty(t, r.Header.Get("Retry-After"))
		require.Empty(t, r.Data)
	}
	// The counter spans data endpoints.
	require.Equal(t, http.StatusOK, list(t, base, testAT, "id", 0, 5).Status)
	require.Equal(t, http.StatusOK, list(t, base, testAT, "id", 0, 5).Status)
	require.Equal(t, http.StatusTooManyRequests, list(t, base, testAT, "id", 0, 5).Status)
	c := s.Counts()
	require.Equal(t, 3, c.RateLimited)
	require.Equal(t, 6, c.UserInfo)
	require.Equal(t, 3, c.VideoList)
}

func TestInBodyRateLimit(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{RateLimitEvery: 1, InBodyRateLimit: true})
	r := userInfo(t, base, testAT, "open_id")
	require.Equal(t, http.StatusOK, r.Status)
	require.Equal(t, CodeRateLimitExceeded, r.Error.Code)
	require.Empty(t, r.Data)
}

func TestRevokeAfter(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 3, RevokeAfter: 2})
	require.Equal(t, http.StatusOK, userInfo(t, base, testAT, "open_id").Status)
	require.Equal(t, http.StatusOK, list(t, base, testAT, "id", 0, 20).Status)
	r := list(t, base, testAT, "id", 0, 20)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, CodeAccessTokenInvalid, r.Error.Code)
	status, e := refresh(t, base, refreshForm(testRT))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, OAuthInvalidGrant, e["error"])
	require.Equal(t, 1, s.Counts().Unauthorized)
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{})
	s.Revoke()
	require.Equal(t, http.StatusUnauthorized, userInfo(t, base, testAT, "open_id").Status)
}

func TestFieldSelection(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 4, Seed: 4})

	r := userInfo(t, base, testAT, "open_id,follower_count, display_name,open_id")
	require.Equal(t, CodeOK, r.Error.Code)
	user := r.Data["user"].(map[string]any)
	require.Len(t, user, 3)
	require.Equal(t, s.Account().OpenID, user["open_id"])
	require.Equal(t, json.Number(strconv.FormatInt(s.Account().FollowerCount, 10)), user["follower_count"])

	r = userInfo(t, base, testAT, "open_id,union_id,avatar_url,avatar_url_100,avatar_large_url,display_name,bio_description,profile_deep_link,is_verified,username,follower_count,following_count,likes_count,video_count")
	user = r.Data["user"].(map[string]any)
	require.Len(t, user, 14)
	require.Equal(t, json.Number("4"), user["video_count"])

	for _, f := range []string{"", "open_id,nope"} {
		r = userInfo(t, base, testAT, f)
		require.Equal(t, http.StatusBadRequest, r.Status)
		require.Equal(t, CodeInvalidParams, r.Error.Code)
		r = list(t, base, testAT, f, 0, 5)
		require.Equal(t, http.StatusBadRequest, r.Status)
		require.Equal(t, CodeInvalidParams, r.Error.Code)
	}

	vids, _, _ := pageOf(t, list(t, base, testAT, "id,view_count", 0, 5))
	require.Len(t, vids, 4)
	for _, v := range vids {
		require.Len(t, v, 2)
		require.IsType(t, "", v["id"])
		require.IsType(t, json.Number(""), v["view_count"])
	}
}

func TestScopes(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{VideoCount: 2, Scope: ScopeUserInfoBasic})
	r := userInfo(t, base, testAT, "open_id,follower_count,username")
	require.Equal(t, CodeOK, r.Error.Code)
	require.Equal(t, []string{"open_id"}, keys(r.Data["user"].(map[string]any)))
	r = list(t, base, testAT, "id", 0, 5)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, CodeScopeNotAuthorized, r.Error.Code)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSeededText(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 20, Seed: 5})
	vids, _, _ := pageOf(t, list(t, base, testAT, "id,title,video_description,cover_image_url,share_url,embed_html", 0, 20))
	var empty, newline, emoji, quote bool
	for _, v := range vids {
		title := v["title"].(string)
		require.LessOrEqual(t, utf8.RuneCountInString(title), 150)
		require.LessOrEqual(t, utf8.RuneCountInString(v["video_description"].(string)), 150)
		empty = empty || title == ""
		newline = newline || strings.Contains(title, "\n")
		emoji = emoji || strings.ContainsRune(title, '🎛')
		quote = quote || strings.Contains(title, `"`)
		require.Contains(t, v["cover_image_url"], "x-expires=")
		require.Contains(t, v["share_url"], "/@"+s.Account().Username+"/video/"+v["id"].(string)+"?utm_campaign=tt4d_open_api")
		require.Contains(t, v["embed_html"], "<blockquote")
	}
	require.True(t, empty && newline && emoji && quote)
}

func TestAdvanceDay(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Date(2026, 11, 7, 0, 0, 0, 0, time.UTC) }
	a := New(Options{VideoCount: 12, Seed: 9, Now: now})
	b := New(Options{VideoCount: 12, Seed: 9, Now: now})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	require.Equal(t, a.Videos(), b.Videos(), "deterministic seeding")

	before := a.Videos()
	beforeAcct := a.Account()
	require.Equal(t, 1, a.AdvanceDay())
	after := a.Videos()
	decreased := 0
	for i := range before {
		require.Greater(t, after[i].ViewCount, before[i].ViewCount)
		require.GreaterOrEqual(t, after[i].CommentCount, before[i].CommentCount)
		if after[i].LikeCount < before[i].LikeCount {
			decreased++
		}
	}
	require.Positive(t, decreased, "some likes are removed")
	require.NotEqual(t, beforeAcct.LikesCount, a.Account().LikesCount)

	b.AdvanceDay()
	require.Equal(t, a.Videos(), b.Videos(), "deterministic days")

	id := after[3].ID
	require.True(t, a.RemoveVideo(id))
	require.False(t, a.RemoveVideo(id))
	require.Len(t, a.Videos(), 11)
	require.EqualValues(t, 11, a.Account().VideoCount)
}

func TestAdvanceDayVisibleOverHTTP(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 3, Seed: 6})
	v0, _, _ := pageOf(t, list(t, base, testAT, "id,view_count", 0, 20))
	s.AdvanceDay()
	v1, _, _ := pageOf(t, list(t, base, testAT, "id,view_count", 0, 20))
	for i := range v0 {
		require.Equal(t, v0[i]["id"], v1[i]["id"])
		require.NotEqual(t, v0[i]["view_count"], v1[i]["view_count"])
	}
}

func TestAccessTokens(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{})
	require.Equal(t, []string{testAT}, s.AccessTokens())
	_, tok := refresh(t, base, refreshForm(testRT))
	require.ElementsMatch(t, []string{testAT, tok["access_token"].(string)}, s.AccessTokens())
}
