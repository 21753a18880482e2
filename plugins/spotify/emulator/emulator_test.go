package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{ClientID: "cid", ClientSecret: "sec", TokenTTL: 90 * time.Second})
	cc := url.Values{"grant_type": {"client_credentials"}}

	res := postToken(t, base, cc, "cid", "sec")
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, "Bearer", res.body["token_type"])
	require.Equal(t, float64(90), res.body["expires_in"])
	require.NotEmpty(t, res.body["access_token"])

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"sec"}}
	res = postToken(t, base, form, "", "")
	require.Equal(t, http.StatusOK, res.status, res.raw)

	res = postToken(t, base, cc, "cid", "wrong")
	require.Equal(t, http.StatusBadRequest, res.status)
	require.Equal(t, "invalid_client", res.body["error"])
	require.Equal(t, "Invalid client secret", res.body["error_description"])

	res = postToken(t, base, cc, "other", "sec")
	require.Equal(t, http.StatusBadRequest, res.status)
	require.Equal(t, "invalid_client", res.body["error"])

	res = postToken(t, base, url.Values{}, "cid", "sec")
	require.Equal(t, http.StatusBadRequest, res.status)
	require.Equal(t, "unsupported_grant_type", res.body["error"])

	require.Equal(t, 2, s.TokensIssued())
	require.Equal(t, 5, s.Requests("/api/token"))
}

func TestTokenTTLExpiry(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, base := start(t, Options{TokenTTL: time.Minute, Now: clock})
	tok := token(t, base)
	require.Equal(t, http.StatusOK, get(t, base+"/v1/artists/"+MaraEllisID, tok).status)
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	requireAPIError(t, get(t, base+"/v1/artists/"+MaraEllisID, tok), http.StatusUnauthorized, "The access token expired")
	require.Equal(t, http.StatusOK, get(t, base+"/v1/artists/"+MaraEllisID, token(t, base)).status)
}

func TestAuthErrors(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{})
	requireAPIError(t, get(t, base+"/v1/artists/"+MaraEllisID, ""), http.StatusUnauthorized, "No token provided")
	requireAPIError(t, get(t, base+"/v1/artists/"+MaraEllisID, "nope"), http.StatusUnauthorized, "Invalid access token")
}

func TestArtistProfiles(t *testing.T) {
	t.Parallel()
	_, ext := start(t, Options{Profile: ProfileExtended})
	res := get(t, ext+"/v1/artists/"+MaraEllisID, token(t, ext))
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, "Mara Ellis", res.body["name"])
	require.Equal(t, "artist", res.body["type"])
	require.Equal(t, "spotify:artist:"+MaraEllisID, res.body["uri"])
	require.Equal(t, ext+"/v1/artists/"+MaraEllisID, res.body["href"])
	require.Equal(t, map[string]any{"spotify": "https://open.spotify.com/artist/" + MaraEllisID}, res.body["external_urls"])
	require.Equal(t, map[string]any{"href": nil, "total": float64(18342)}, res.body["followers"])
	require.Equal(t, float64(41), res.body["popularity"])
	require.Equal(t, []any{"icelandic indie"}, res.body["genres"])
	require.Len(t, res.body["images"], 3)

	_, dev := start(t, Options{Profile: ProfileDevMode})
	res = get(t, dev+"/v1/artists/"+MaraEllisID, token(t, dev))
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.NotContains(t, res.body, "followers")
	require.NotContains(t, res.body, "popularity")
	require.Equal(t, "Mara Ellis", res.body["name"])

	// Empty arrays, not null.
	res = get(t, dev+"/v1/artists/"+OskerWyldID, token(t, dev))
	require.Equal(t, []any{}, res.body["genres"])
	require.Equal(t, []any{}, res.body["images"])
	require.Contains(t, res.raw, `"images":[]`)
}

func TestNotFoundAndBadRequests(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{})
	tok := token(t, base)
	requireAPIError(t, get(t, base+"/v1/artists/short", tok), http.StatusBadRequest, "invalid id")
	requireAPIError(t, get(t, base+"/v1/tracks/"+SpotifyID("missing"), tok), http.StatusNotFound, "non existing id")
	requireAPIError(t, get(t, base+"/v1/artists/"+MaraEllisID+"/albums?limit=51", tok), http.StatusBadRequest, "Invalid limit")
	requireAPIError(t, get(t, base+"/v1/artists/"+MaraEllisID+"/albums?limit=0", tok), http.StatusBadRequest, "Invalid limit")
	requireAPIError(t, get(t, base+"/v1/artists/"+MaraEllisID+"/albums?offset=-1", tok), http.StatusBadRequest, "Invalid offset")
	requireAPIError(t, get(t, base+"/v1/nothing", tok), http.StatusNotFound, "")
}

func TestArtistAlbumsPagingToEnd(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{})
	items, faults := followAll(t, base, base+"/v1/artists/"+MaraEllisID+"/albums?limit=2")
	require.Zero(t, faults)
	require.Len(t, items, 9)
	require.Equal(t, 5, s.Requests("/v1/artists/"+MaraEllisID+"/albums"))
	seen := map[string]bool{}
	precisions := map[string]bool{}
	dateRe := map[string]*regexp.Regexp{
		"year":  regexp.MustCompile(`^\d{4}$`),
		"month": regexp.MustCompile(`^\d{4}-\d{2}$`),
		"day":   regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`),
	}
	for _, it := range items {
		id := it["id"].(string)
		require.False(t, seen[id], "duplicate album %s", id)
		seen[id] = true
		p := it["release_date_precision"].(string)
		precisions[p] = true
		require.Regexp(t, dateRe[p], it["release_date"])
		require.Contains(t, it, "album_group")
		require.Contains(t, it, "available_markets")
		require.Equal(t, "album", it["type"])
	}
	require.Len(t, precisions, 3)

	// First page shape: absolute next, null previous, total.
	tok := token(t, base)
	res := get(t, base+"/v1/artists/"+MaraEllisID+"/albums?include_groups=album,single&limit=3", tok)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, float64(8), res.body["total"])
	require.Equal(t, float64(3), res.body["limit"])
	require.Equal(t, float64(0), res.body["offset"])
	require.Nil(t, res.body["previous"])
	require.Equal(t, base+"/v1/artists/"+MaraEllisID+"/albums?include_groups=album,single&offset=3&limit=3", res.body["next"])
	res = get(t, res.body["next"].(string), tok)
	require.Equal(t, base+"/v1/artists/"+MaraEllisID+"/albums?include_groups=album,single&offset=0&limit=3", res.body["previous"])

	// Default limit is 20: everything on one page, next null.
	res = get(t, base+"/v1/artists/"+MaraEllisID+"/albums", tok)
	require.Equal(t, float64(20), res.body["limit"])
	require.Nil(t, res.body["next"])
	require.Contains(t, res.raw, `"next":null`)

	// Appears-on only.
	items, _ = followAll(t, base, base+"/v1/artists/"+OrjanOdegardID+"/albums?include_groups=appears_on&limit=1")
	require.Len(t, items, 1)
	require.Equal(t, "appears_on", items[0]["album_group"])
}

func TestAlbumTracksPaging(t *testing.T) {
	t.Parallel()
	for _, profile := range []string{ProfileExtended, ProfileDevMode} {
		_, base := start(t, Options{Profile: profile})
		album := SpotifyID("album:First Light")
		items, _ := followAll(t, base, base+"/v1/albums/"+album+"/tracks?limit=4")
		require.Len(t, items, 9)
		for i, it := range items {
			require.Equal(t, float64(i+1), it["track_number"])
			require.NotContains(t, it, "external_ids")
			require.NotContains(t, it, "popularity")
			require.Contains(t, it, "preview_url")
			require.Nil(t, it["preview_url"])
			if profile == ProfileDevMode {
				require.NotContains(t, it, "available_markets")
			} else {
				require.Contains(t, it, "available_markets")
			}
		}
	}
}

func TestAlbum(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{Profile: ProfileDevMode})
	res := get(t, base+"/v1/albums/"+SpotifyID("album:Tidewater"), token(t, base))
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Equal(t, "Tidewater", res.body["name"])
	require.Equal(t, map[string]any{"upc": "0198880045560"}, res.body["external_ids"])
	require.NotContains(t, res.body, "popularity")
	require.Equal(t, float64(7), res.body["tracks"].(map[string]any)["total"])
}

func TestTrackProfiles(t *testing.T) {
	t.Parallel()
	isrc := regexp.MustCompile(`^QZWFV26\d{5}$`)
	for _, profile := range []string{ProfileExtended, ProfileDevMode} {
		s, base := start(t, Options{Profile: profile})
		tr := s.Catalog().Tracks[0]
		res := get(t, base+"/v1/tracks/"+tr.ID, token(t, base))
		require.Equal(t, http.StatusOK, res.status, res.raw)
		ids := res.body["external_ids"].(map[string]any)
		require.Regexp(t, isrc, ids["isrc"])
		require.Equal(t, "QZWFV2600101", ids["isrc"])
		require.Equal(t, "Tidewater", res.body["album"].(map[string]any)["name"])
		require.Equal(t, "day", res.body["album"].(map[string]any)["release_date_precision"])
		if profile == ProfileDevMode {
			require.NotContains(t, res.body, "popularity")
			require.NotContains(t, res.body, "available_markets")
			require.NotContains(t, res.body["album"], "available_markets")
		} else {
			require.Contains(t, res.body, "popularity")
			require.Contains(t, res.body, "available_markets")
		}
		require.Equal(t, 1, s.Requests("/v1/tracks/"+tr.ID))

		// With market: is_playable, no available_markets.
		res = get(t, base+"/v1/tracks/"+tr.ID+"?market=IS", token(t, base))
		require.Equal(t, true, res.body["is_playable"])
		require.NotContains(t, res.body, "available_markets")
	}
}

func TestExtendedOnlyEndpoints(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{Profile: ProfileExtended})
	tok := token(t, base)
	res := get(t, base+"/v1/artists/"+MaraEllisID+"/top-tracks?market=US", tok)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	top := res.body["tracks"].([]any)
	require.Len(t, top, 10)
	prev := 101.0
	for _, tr := range top {
		p := tr.(map[string]any)["popularity"].(float64)
		require.LessOrEqual(t, p, prev)
		prev = p
	}

	known := s.Catalog().Tracks[3].ID
	missing := SpotifyID("missing")
	res = get(t, base+"/v1/tracks?ids="+known+","+missing, tok)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	tracks := res.body["tracks"].([]any)
	require.Len(t, tracks, 2)
	require.Equal(t, known, tracks[0].(map[string]any)["id"])
	require.Nil(t, tracks[1])

	ids := make([]string, 51)
	for i := range ids {
		ids[i] = known
	}
	requireAPIError(t, get(t, base+"/v1/tracks?ids="+strings.Join(ids, ","), tok), http.StatusBadRequest, "Too many ids requested")
	require.Equal(t, http.StatusOK, get(t, base+"/v1/tracks?ids="+strings.Join(ids[:50], ","), tok).status)

	res = get(t, base+"/v1/artists?ids="+MaraEllisID+","+missing, tok)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Nil(t, res.body["artists"].([]any)[1])
	res = get(t, base+"/v1/albums?ids="+SpotifyID("album:Tidewater"), tok)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	require.Len(t, res.body["albums"], 1)
}

func TestDevModeRemovedEndpoints(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{Profile: ProfileDevMode})
	tok := token(t, base)
	for _, p := range []string{
		"/v1/artists/" + MaraEllisID + "/top-tracks?market=US",
		"/v1/tracks?ids=" + SpotifyID("track:Tidewater:Tidewater"),
		"/v1/artists?ids=" + MaraEllisID,
		"/v1/albums?ids=" + SpotifyID("album:Tidewater"),
	} {
		requireAPIError(t, get(t, base+p, tok), http.StatusForbidden, "Forbidden")
	}
	_, base404 := start(t, Options{Profile: ProfileDevMode, RemovedEndpointStatus: http.StatusNotFound})
	requireAPIError(t, get(t, base404+"/v1/artists/"+MaraEllisID+"/top-tracks", token(t, base404)), http.StatusNotFound, "")
}

func TestRateLimitEvery(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{RateLimitEvery: 3, RetryAfterSeconds: 7})
	tok := token(t, base)
	var statuses []int
	for range 6 {
		res := get(t, base+"/v1/artists/"+MaraEllisID, tok)
		statuses = append(statuses, res.status)
		if res.status == http.StatusTooManyRequests {
			require.Equal(t, "7", res.header.Get("Retry-After"))
			requireAPIError(t, res, http.StatusTooManyRequests, "API rate limit exceeded")
		}
	}
	require.Equal(t, []int{200, 200, 429, 200, 200, 429}, statuses)
	// The token endpoint is never rate limited.
	for range 4 {
		token(t, base)
	}
}

func TestRateLimitMidPagination(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{RateLimitMidPagination: true})
	path := "/v1/albums/" + SpotifyID("album:First Light") + "/tracks"
	tok := token(t, base)
	first := get(t, base+path+"?limit=4", tok)
	require.Equal(t, http.StatusOK, first.status)
	next := first.body["next"].(string)
	res := get(t, next, tok)
	require.Equal(t, http.StatusTooManyRequests, res.status)
	require.Equal(t, "0", res.header.Get("Retry-After"))
	res = get(t, next, tok) // resume at the same next URL
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, float64(4), res.body["offset"])

	items, faults := followAll(t, base, base+path+"?limit=4")
	require.Len(t, items, 9)
	require.Zero(t, faults, "fires only once")
	require.Equal(t, 6, s.Requests(path))
}

func TestExpireTokenAfter(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{ExpireTokenAfter: 2})
	tok := token(t, base)
	u := base + "/v1/artists/" + MaraEllisID
	require.Equal(t, http.StatusOK, get(t, u, tok).status)
	require.Equal(t, http.StatusOK, get(t, u, tok).status)
	requireAPIError(t, get(t, u, tok), http.StatusUnauthorized, "The access token expired")
	require.Equal(t, http.StatusOK, get(t, u, token(t, base)).status)

	// A client re-minting on 401 pages through the whole list.
	items, faults := followAll(t, base, base+"/v1/artists/"+MaraEllisID+"/albums?limit=1")
	require.Len(t, items, 9)
	require.Equal(t, 4, faults)
	require.Equal(t, 2+5, s.TokensIssued())
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{ServerErrors: 4})
	tok := token(t, base)
	var statuses []int
	for range 5 {
		res := get(t, base+"/v1/artists/"+MaraEllisID, tok)
		statuses = append(statuses, res.status)
		if res.status >= 500 {
			requireAPIError(t, res, res.status, "")
		}
	}
	require.Equal(t, []int{500, 502, 503, 500, 200}, statuses)
}

func TestShortPages(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{ShortPages: 2})
	tok := token(t, base)
	path := "/v1/artists/" + MaraEllisID + "/albums"
	res := get(t, base+path+"?limit=5", tok)
	require.Len(t, res.body["items"], 2)
	require.Equal(t, float64(5), res.body["limit"])
	require.Equal(t, base+path+"?offset=2&limit=5", res.body["next"])

	items, _ := followAll(t, base, base+path+"?limit=5")
	require.Len(t, items, 9)
}

func TestAllFaultsTogether(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{
		Profile: ProfileDevMode, RateLimitEvery: 4, RateLimitMidPagination: true,
		ExpireTokenAfter: 3, ServerErrors: 3, ShortPages: 3,
	})
	items, faults := followAll(t, base, base+"/v1/albums/"+SpotifyID("album:First Light")+"/tracks?limit=50")
	require.Len(t, items, 9)
	require.Positive(t, faults)
	require.Equal(t, s.RequestsWithPrefix("/v1/"), s.TotalRequests()-s.Requests("/api/token"))
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{})
	tok := token(t, base)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				req, err := http.NewRequest(http.MethodGet, base+"/v1/artists/"+MaraEllisID+"/albums?limit=3", nil)
				if !assert.NoError(t, err) {
					return
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := http.DefaultClient.Do(req)
				if !assert.NoError(t, err) {
					return
				}
				assert.Equal(t, http.StatusOK, res.StatusCode)
				assert.NoError(t, res.Body.Close())
			}
		})
	}
	wg.Wait()
	require.Equal(t, 80, s.Requests("/v1/artists/"+MaraEllisID+"/albums"))
}

func TestHandlerWithoutStart(t *testing.T) {
	t.Parallel()
	s := New(Options{BaseURL: "https://api.example.test/"})
	require.Empty(t, s.URL())
	s.Close() // no-op before Start
	base := s.Start()
	defer s.Close()
	require.Equal(t, base, s.URL())
	require.Equal(t, base, s.Start())
	res := get(t, base+"/v1/artists/"+MaraEllisID+"/albums?limit=1", token(t, base))
	require.Equal(t, "https://api.example.test/v1/artists/"+MaraEllisID+"/albums?offset=1&limit=1", res.body["next"])
}

func TestSpotifyIDAndCatalog(t *testing.T) {
	t.Parallel()
	id := SpotifyID("x")
	require.True(t, validID(id))
	require.Equal(t, id, SpotifyID("x"))
	c := DefaultCatalog()
	seen := map[string]bool{}
	for _, tr := range c.Tracks {
		require.Len(t, tr.ISRC, 12)
		require.False(t, seen[tr.ID])
		seen[tr.ID] = true
	}
	for _, a := range c.Artists {
		require.True(t, validID(a.ID), a.ID)
	}
}

func TestMalformedEvery(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{MalformedEvery: 2})
	tok := token(t, base)
	u := base + "/v1/artists/" + MaraEllisID
	good := get(t, u, tok)
	require.Equal(t, http.StatusOK, good.status)
	bad := get(t, u, tok)
	require.Equal(t, http.StatusOK, bad.status, "a malformed answer still says 200")
	require.Equal(t, good.raw[:len(good.raw)/2], bad.raw, "the first half of the real body")
	require.False(t, json.Valid([]byte(bad.raw)))
	require.Equal(t, http.StatusOK, get(t, u, tok).status)
	require.Equal(t, 1, s.MalformedResponses())

	// Error answers are not cut: request 4 is a 404, sent whole.
	res := get(t, base+"/v1/artists/"+SpotifyID("nobody"), tok)
	requireAPIError(t, res, http.StatusNotFound, "non existing id")
	require.Equal(t, 1, s.MalformedResponses())
	// The token endpoint is never cut.
	for range 3 {
		token(t, base)
	}
}

func TestSlowEvery(t *testing.T) {
	t.Parallel()
	const delay = 300 * time.Millisecond
	s, base := start(t, Options{SlowEvery: 2, SlowDelay: delay})
	tok := token(t, base)
	u := base + "/v1/artists/" + MaraEllisID
	require.Equal(t, http.StatusOK, get(t, u, tok).status)
	require.Zero(t, s.SlowResponses(), "request 1 is not slowed")
	begin := time.Now()
	require.Equal(t, http.StatusOK, get(t, u, tok).status)
	require.GreaterOrEqual(t, time.Since(begin), delay, "request 2 waits")
	require.Equal(t, 1, s.SlowResponses())

	// A client that gives up early ends the wait.
	client := &http.Client{Timeout: 50 * time.Millisecond}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	_, err = client.Do(req) // request 3: not slow
	require.NoError(t, err)
	_, err = client.Do(req) // request 4: slow, times out
	require.ErrorContains(t, err, "Client.Timeout")
	require.Equal(t, 2, s.SlowResponses())
}

func TestSlowDelayAloneSlowsEveryRequest(t *testing.T) {
	t.Parallel()
	const delay = 50 * time.Millisecond
	s, base := start(t, Options{SlowDelay: delay})
	tok := token(t, base)
	begin := time.Now()
	for range 3 {
		require.Equal(t, http.StatusOK, get(t, base+"/v1/artists/"+MaraEllisID, tok).status)
	}
	require.GreaterOrEqual(t, time.Since(begin), 3*delay)
	require.Equal(t, 3, s.SlowResponses(), "the token endpoint is not slowed")
}

func TestIssuedTokens(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{})
	a, b := token(t, base), token(t, base)
	require.NotEqual(t, a, b)
	require.Equal(t, []string{a, b}, s.IssuedTokens())
}
