package webapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/sdk"
)

// harness is a Client wired to a running emulator, recording the waits it
// asks for, the log lines it emits and the URLs it requests.
type harness struct {
	srv    *emulator.Server
	client *Client

	mu    sync.Mutex
	waits []time.Duration
	logs  []string
	urls  []string
}

// recordingTransport records each request URL before sending it for real.
type recordingTransport struct{ h *harness }

func (rt recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.h.mu.Lock()
	rt.h.urls = append(rt.h.urls, r.URL.String())
	rt.h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func newHarness(t *testing.T, opts emulator.Options, edit func(*Config)) *harness {
	t.Helper()
	h := &harness{srv: emulator.New(opts)}
	base := h.srv.Start()
	t.Cleanup(h.srv.Close)
	cfg := Config{
		BaseURL:      base + "/v1",
		TokenURL:     base + "/api/token",
		ClientID:     emulator.DefaultClientID,
		ClientSecret: emulator.DefaultClientSecret,
		HTTPClient:   &http.Client{Transport: recordingTransport{h}, Timeout: 10 * time.Second},
		Sleep: func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.waits = append(h.waits, d)
			return ctx.Err()
		},
		Logger: func(msg string, kv ...any) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.logs = append(h.logs, fmt.Sprint(append([]any{msg}, kv...)...))
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	h.client = New(cfg)
	return h
}

func (h *harness) recordedWaits() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.waits...)
}

func (h *harness) recordedLogs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.logs...)
}

func (h *harness) recordedURLs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.urls...)
}

// catalogAlbumIDs lists the ids of the catalog albums artistID appears on.
func catalogAlbumIDs(c *emulator.Catalog, artistID string) []string {
	var ids []string
	for _, a := range c.Albums {
		for _, id := range a.ArtistIDs {
			if id == artistID {
				ids = append(ids, a.ID)
			}
		}
	}
	return ids
}

func albumIDs(albums []Album) []string {
	ids := make([]string, len(albums))
	for i, a := range albums {
		ids[i] = a.ID
	}
	return ids
}

func TestArtistProfiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()

	ext := newHarness(t, emulator.Options{Profile: emulator.ProfileExtended}, nil)
	a, err := ext.client.Artist(ctx, emulator.MaraEllisID)
	require.NoError(t, err)
	require.Equal(t, "Mara Ellis", a.Name)
	require.Equal(t, []string{"icelandic indie"}, a.Genres)
	require.NotNil(t, a.Followers)
	require.Equal(t, 18342, *a.Followers)
	require.NotNil(t, a.Popularity)
	require.Equal(t, 41, *a.Popularity)
	require.Len(t, a.Images, 3)
	require.NotNil(t, a.Images[0].Width)

	// A real zero is a non-nil pointer to 0, not "absent".
	o, err := ext.client.Artist(ctx, emulator.OskerWyldID)
	require.NoError(t, err)
	require.NotNil(t, o.Followers)
	require.Zero(t, *o.Followers)
	require.NotNil(t, o.Popularity)
	require.Empty(t, o.Genres)
	require.NotNil(t, o.Genres)

	dev := newHarness(t, emulator.Options{Profile: emulator.ProfileDevMode}, nil)
	d, err := dev.client.Artist(ctx, emulator.MaraEllisID)
	require.NoError(t, err)
	require.Equal(t, "Mara Ellis", d.Name)
	require.Nil(t, d.Followers)
	require.Nil(t, d.Popularity)

	// The token is minted once and reused.
	_, err = dev.client.Artist(ctx, emulator.OrjanOdegardID)
	require.NoError(t, err)
	require.Equal(t, 1, dev.srv.TokensIssued())
}

func TestTrackProfiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, profile := range []string{emulator.ProfileExtended, emulator.ProfileDevMode} {
		h := newHarness(t, emulator.Options{Profile: profile}, nil)
		want := h.srv.Catalog().Tracks[0]
		tr, err := h.client.Track(ctx, want.ID)
		require.NoError(t, err, profile)
		require.Equal(t, want.ISRC, tr.ExternalIDs.ISRC, profile)
		require.Equal(t, want.Name, tr.Name, profile)
		require.Equal(t, want.AlbumID, tr.Album.ID, profile)
		require.Equal(t, ReleaseDate{Value: "2026-01-16", Precision: PrecisionDay}, tr.Album.ReleaseDate, profile)
		require.Nil(t, tr.PreviewURL, profile)
		if profile == emulator.ProfileExtended {
			require.NotNil(t, tr.Popularity)
			require.Equal(t, want.Popularity, *tr.Popularity)
			require.NotEmpty(t, tr.AvailableMarkets)
		} else {
			require.Nil(t, tr.Popularity)
			require.Nil(t, tr.AvailableMarkets)
		}
	}
}

func TestArtistAlbumsPagesToEndOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, profile := range []string{emulator.ProfileExtended, emulator.ProfileDevMode} {
		// ShortPages forces several pages even though the client asks for 50.
		h := newHarness(t, emulator.Options{Profile: profile, ShortPages: 2}, nil)
		albums, err := h.client.ArtistAlbums(ctx, emulator.MaraEllisID)
		require.NoError(t, err, profile)
		require.Equal(t, catalogAlbumIDs(h.srv.Catalog(), emulator.MaraEllisID), albumIDs(albums), profile)
		require.Equal(t, 5, h.srv.Requests("/v1/artists/"+emulator.MaraEllisID+"/albums"), profile)

		precisions := map[DatePrecision]bool{}
		groups := map[string]bool{}
		for _, a := range albums {
			precisions[a.ReleaseDate.Precision] = true
			groups[a.AlbumGroup] = true
			_, err := a.ReleaseDate.Time()
			require.NoError(t, err, a.ReleaseDate)
		}
		require.Len(t, precisions, 3, profile)
		require.True(t, groups["appears_on"], profile)
	}
}

func TestAlbumTracksPaged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{ShortPages: 4}, nil)
	album := h.srv.Catalog().Albums[2] // 9 tracks: 3 pages
	tracks, err := h.client.AlbumTracks(t.Context(), album.ID)
	require.NoError(t, err)
	require.Len(t, tracks, len(album.TrackIDs))
	for i, tr := range tracks {
		require.Equal(t, album.TrackIDs[i], tr.ID)
		require.Equal(t, i+1, tr.TrackNumber)
	}
	require.Equal(t, 3, h.srv.Requests("/v1/albums/"+album.ID+"/tracks"))
}

func TestNotFoundNamesResource(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{}, nil)
	missing := emulator.SpotifyID("no such artist")
	_, err := h.client.Artist(t.Context(), missing)
	require.Error(t, err)
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), "artist "+missing)
	require.Equal(t, sdk.KindUnknown, sdk.KindOf(err))
	require.Equal(t, 1, h.srv.Requests("/v1/artists/"+missing), "404 is not retried")
}

func TestRateLimitHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	// Every 2nd /v1 request is limited: each call is limited once, then served.
	h := newHarness(t, emulator.Options{RateLimitEvery: 2, RetryAfterSeconds: 7}, nil)
	ctx := t.Context()
	for range 3 {
		_, err := h.client.Artist(ctx, emulator.MaraEllisID)
		require.NoError(t, err)
	}
	require.Equal(t, []time.Duration{7 * time.Second, 7 * time.Second}, h.recordedWaits())
	require.NotEmpty(t, h.recordedLogs())
}

func TestRateLimitExhaustedIsRateLimited(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	h := newHarness(t, emulator.Options{RateLimitEvery: 1, RetryAfterSeconds: 9}, func(c *Config) {
		c.MaxRetries = 2
		c.Now = func() time.Time { return now }
	})
	_, err := h.client.Artist(t.Context(), emulator.MaraEllisID)
	require.Error(t, err)
	var se *sdk.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, sdk.KindRateLimited, se.Kind)
	require.Equal(t, now.Add(9*time.Second), se.RetryAt)
	require.Contains(t, err.Error(), "API rate limit exceeded")
	require.Equal(t, []time.Duration{9 * time.Second, 9 * time.Second}, h.recordedWaits())
	require.Equal(t, 3, h.srv.Requests("/v1/artists/"+emulator.MaraEllisID))
}

func TestServerErrorsBackOffWithJitter(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{ServerErrors: 4}, nil)
	a, err := h.client.Artist(t.Context(), emulator.MaraEllisID)
	require.NoError(t, err)
	require.Equal(t, emulator.MaraEllisID, a.ID)
	waits := h.recordedWaits()
	require.Len(t, waits, 4)
	for i, w := range waits {
		require.GreaterOrEqual(t, w, time.Duration(0))
		require.LessOrEqual(t, w, 500*time.Millisecond<<i, "retry %d", i)
	}

	// Exhausted: sdk.Transient after MaxRetries retries.
	h2 := newHarness(t, emulator.Options{ServerErrors: 10}, func(c *Config) { c.MaxRetries = 3 })
	_, err = h2.client.Artist(t.Context(), emulator.MaraEllisID)
	require.Error(t, err)
	require.Equal(t, sdk.KindTransient, sdk.KindOf(err))
	require.Equal(t, 4, h2.srv.Requests("/v1/artists/"+emulator.MaraEllisID))
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	for retry := range 20 {
		ceiling := min(30*time.Second, 500*time.Millisecond<<min(retry, 16))
		for range 50 {
			w := backoff(retry)
			require.GreaterOrEqual(t, w, time.Duration(0))
			require.LessOrEqual(t, w, ceiling)
		}
	}
}

// pagedURLs returns the recorded URLs of artist-album pages.
func pagedURLs(urls []string) []string {
	var out []string
	for _, u := range urls {
		if strings.Contains(u, "/albums?") && strings.Contains(u, "/v1/artists/") {
			out = append(out, u)
		}
	}
	return out
}

// requireRetriedSameURL checks that exactly wantRepeats page requests
// repeated the previous URL (a failed attempt and its retry) and that paging
// never went back to an earlier page.
func requireRetriedSameURL(t *testing.T, urls []string, wantRepeats int) {
	t.Helper()
	repeats := 0
	for i := 1; i < len(urls); i++ {
		if urls[i] == urls[i-1] {
			repeats++
		}
	}
	require.Equal(t, wantRepeats, repeats, "page URLs: %v", urls)
	for i := 2; i < len(urls); i++ {
		require.False(t, urls[i] == urls[i-2] && urls[i] != urls[i-1], "page went backwards: %v", urls)
	}
}

func TestRateLimitMidPaginationResumesAtSameNext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{ShortPages: 2, RateLimitMidPagination: true, RetryAfterSeconds: 3}, nil)
	albums, err := h.client.ArtistAlbums(t.Context(), emulator.MaraEllisID)
	require.NoError(t, err)
	require.Equal(t, catalogAlbumIDs(h.srv.Catalog(), emulator.MaraEllisID), albumIDs(albums))
	require.Equal(t, []time.Duration{3 * time.Second}, h.recordedWaits())
	urls := pagedURLs(h.recordedURLs())
	require.Len(t, urls, 6)
	require.Equal(t, urls[1], urls[2], "the 429'd page is requested again at the same next URL")
	require.Contains(t, urls[1], "offset=2")
	requireRetriedSameURL(t, urls, 1)
}

func TestTokenExpiryMidPaginationResumesAtSameNext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{ShortPages: 2, ExpireTokenAfter: 2}, nil)
	albums, err := h.client.ArtistAlbums(t.Context(), emulator.MaraEllisID)
	require.NoError(t, err)
	require.Equal(t, catalogAlbumIDs(h.srv.Catalog(), emulator.MaraEllisID), albumIDs(albums))
	// 5 pages, 2 per token: pages 3 and 5 hit an expired token.
	require.Equal(t, 3, h.srv.TokensIssued())
	urls := pagedURLs(h.recordedURLs())
	require.Len(t, urls, 7)
	require.Equal(t, urls[2], urls[3])
	require.Equal(t, urls[5], urls[6])
	requireRetriedSameURL(t, urls, 2)
	require.Empty(t, h.recordedWaits(), "a 401 renews at once, without backoff")
}

func TestTokenCachedUntilShortlyBeforeExpiry(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
	}
	h := newHarness(t, emulator.Options{Now: clock}, func(c *Config) { c.Now = clock })
	ctx := t.Context()
	_, err := h.client.Artist(ctx, emulator.MaraEllisID)
	require.NoError(t, err)
	advance(58 * time.Minute)
	_, err = h.client.Artist(ctx, emulator.MaraEllisID)
	require.NoError(t, err)
	require.Equal(t, 1, h.srv.TokensIssued())
	advance(90 * time.Second) // within the last minute: renewed proactively
	_, err = h.client.Artist(ctx, emulator.MaraEllisID)
	require.NoError(t, err)
	require.Equal(t, 2, h.srv.TokensIssued())
	require.Empty(t, h.recordedLogs(), "no 401 was needed")
}

func TestBadSecretIsConfigErrorWithoutSecret(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value-that-must-not-leak"
	h := newHarness(t, emulator.Options{}, func(c *Config) { c.ClientSecret = secret })
	_, err := h.client.Artist(t.Context(), emulator.MaraEllisID)
	require.Error(t, err)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.NotContains(t, err.Error(), secret)
	require.Contains(t, err.Error(), "invalid_client")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusBadRequest, apiErr.Status)
	require.Equal(t, 1, h.srv.Requests("/api/token"), "not retried")
	require.Zero(t, h.srv.RequestsWithPrefix("/v1/"))
	require.Empty(t, h.recordedWaits())

	// Missing credentials fail before any request.
	h2 := newHarness(t, emulator.Options{}, func(c *Config) { c.ClientSecret = "" })
	_, err = h2.client.Track(t.Context(), emulator.MaraEllisID)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.Zero(t, h2.srv.TotalRequests())
}

func TestForbiddenIsConfigError(t *testing.T) {
	t.Parallel()
	// In devmode the removed top-tracks endpoint answers 403.
	h := newHarness(t, emulator.Options{Profile: emulator.ProfileDevMode}, nil)
	var out any
	err := h.client.getJSON(t.Context(), h.client.endpoint("/artists/"+emulator.MaraEllisID+"/top-tracks", nil), "top tracks", &out)
	require.Error(t, err)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.Equal(t, 1, h.srv.Requests("/v1/artists/"+emulator.MaraEllisID+"/top-tracks"))
}

// trackIDsWithUnknown returns every catalog track id plus n unknown ids,
// interleaved, and the catalog ids alone.
func trackIDsWithUnknown(c *emulator.Catalog, n int) (all, known []string) {
	for i, tr := range c.Tracks {
		all = append(all, tr.ID)
		known = append(known, tr.ID)
		if i < n {
			all = append(all, emulator.SpotifyID(fmt.Sprintf("unknown track %d", i)))
		}
	}
	return all, known
}

func trackIDs(tracks []Track) []string {
	ids := make([]string, len(tracks))
	for i, tr := range tracks {
		ids[i] = tr.ID
	}
	return ids
}

func TestTracksBatchInChunksOf50(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{Profile: emulator.ProfileExtended}, nil)
	ids, known := trackIDsWithUnknown(h.srv.Catalog(), 20)
	require.Greater(t, len(ids), 50)
	tracks, err := h.client.Tracks(t.Context(), ids)
	require.NoError(t, err)
	require.Equal(t, known, trackIDs(tracks))
	require.Equal(t, h.srv.Catalog().Tracks[5].ISRC, tracks[5].ExternalIDs.ISRC)
	require.Equal(t, 2, h.srv.Requests("/v1/tracks"))
	require.Zero(t, h.srv.RequestsWithPrefix("/v1/tracks/"))

	empty, err := h.client.Tracks(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, empty)
}

func TestTracksDevModeFallsBackOnce(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound} {
		h := newHarness(t, emulator.Options{Profile: emulator.ProfileDevMode, RemovedEndpointStatus: status}, nil)
		ids, known := trackIDsWithUnknown(h.srv.Catalog(), 20)
		tracks, err := h.client.Tracks(t.Context(), ids)
		require.NoError(t, err, status)
		require.Equal(t, known, trackIDs(tracks), status)
		for i, tr := range tracks {
			require.Equal(t, h.srv.Catalog().Tracks[i].ISRC, tr.ExternalIDs.ISRC)
			require.Nil(t, tr.Popularity)
		}
		require.Equal(t, 1, h.srv.Requests("/v1/tracks"), "removed endpoint detected once")
		require.Equal(t, len(ids), h.srv.RequestsWithPrefix("/v1/tracks/"))

		// Remembered: a second call goes straight to single GETs.
		again, err := h.client.Tracks(t.Context(), known[:3])
		require.NoError(t, err)
		require.Equal(t, known[:3], trackIDs(again))
		require.Equal(t, 1, h.srv.Requests("/v1/tracks"))

		warnings := 0
		for _, l := range h.recordedLogs() {
			if strings.Contains(l, "falling back") {
				warnings++
			}
		}
		require.Equal(t, 1, warnings, "status %d", status)
	}
}

func TestNextOnOtherHostIsRefused(t *testing.T) {
	t.Parallel()
	// The emulator emits next URLs on its own BaseURL; point it elsewhere.
	h := newHarness(t, emulator.Options{ShortPages: 2, BaseURL: "http://evil.example"}, nil)
	_, err := h.client.ArtistAlbums(t.Context(), emulator.MaraEllisID)
	require.Error(t, err)
	require.Contains(t, err.Error(), "not on the API host")
	require.Equal(t, 1, h.srv.Requests("/v1/artists/"+emulator.MaraEllisID+"/albums"))
}

func TestContextCancelledDuringRetryWait(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	h := newHarness(t, emulator.Options{ServerErrors: 5}, func(c *Config) {
		c.Sleep = func(context.Context, time.Duration) error {
			cancel()
			return context.Canceled
		}
	})
	_, err := h.client.Artist(ctx, emulator.MaraEllisID)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, h.srv.Requests("/v1/artists/"+emulator.MaraEllisID), "no request after cancellation")
}

func TestMalformedAnswerIsRetried(t *testing.T) {
	t.Parallel()
	// Every 2nd /v1 answer is cut short: every page after the first is cut
	// once and asked again at the same next URL.
	h := newHarness(t, emulator.Options{ShortPages: 2, MalformedEvery: 2}, nil)
	albums, err := h.client.ArtistAlbums(t.Context(), emulator.MaraEllisID)
	require.NoError(t, err)
	require.Equal(t, catalogAlbumIDs(h.srv.Catalog(), emulator.MaraEllisID), albumIDs(albums))
	urls := pagedURLs(h.recordedURLs())
	require.Len(t, urls, 9, "5 pages, 4 of them cut once")
	requireRetriedSameURL(t, urls, 4)
	waits := h.recordedWaits()
	require.Len(t, waits, 4)
	for _, w := range waits {
		require.LessOrEqual(t, w, 500*time.Millisecond, "first retry of each page: backoff base")
	}
	require.Equal(t, 4, h.srv.MalformedResponses())
	require.Contains(t, strings.Join(h.recordedLogs(), "\n"), "malformed")
}

func TestMalformedExhaustedIsTransient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{MalformedEvery: 1}, func(c *Config) { c.MaxRetries = 2 })
	_, err := h.client.Artist(t.Context(), emulator.MaraEllisID)
	require.Error(t, err)
	require.Equal(t, sdk.KindTransient, sdk.KindOf(err))
	require.Contains(t, err.Error(), "malformed 3 time(s) in a row")
	require.Contains(t, err.Error(), "artist "+emulator.MaraEllisID)
	require.Equal(t, 3, h.srv.Requests("/v1/artists/"+emulator.MaraEllisID))
}

func TestUnexpectedShapeIsNotRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{}, nil)
	var wrong struct {
		Name int `json:"name"` // a string in Spotify's answer
	}
	err := h.client.getJSON(t.Context(), h.client.endpoint("/artists/"+emulator.MaraEllisID, nil), "artist", &wrong)
	require.ErrorContains(t, err, "expected shape")
	require.Equal(t, sdk.KindUnknown, sdk.KindOf(err))
	require.Equal(t, 1, h.srv.Requests("/v1/artists/"+emulator.MaraEllisID))
}

func TestSlowAnswerTimesOutAndIsRetried(t *testing.T) {
	t.Parallel()
	// Every 2nd /v1 request takes 5 s; the client gives up after 100 ms and
	// asks again.
	h := newHarness(t, emulator.Options{SlowEvery: 2, SlowDelay: 5 * time.Second}, func(c *Config) {
		c.HTTPClient.Timeout = 100 * time.Millisecond
	})
	for range 2 {
		a, err := h.client.Artist(t.Context(), emulator.MaraEllisID)
		require.NoError(t, err)
		require.Equal(t, emulator.MaraEllisID, a.ID)
	}
	require.Equal(t, 1, h.srv.SlowResponses())
	require.Len(t, h.recordedWaits(), 1)
	// net/http words the timeout "Client.Timeout exceeded" or, when the
	// deadline fires while the body is read, "context deadline exceeded".
	require.Regexp(t, `Client\.Timeout|context deadline exceeded`, strings.Join(h.recordedLogs(), "\n"))
}
