package spotify

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEncodeLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 10, 12, 0, 1, 234567890, time.FixedZone("CET", 3600))
	req := httptest.NewRequest(http.MethodGet,
		"https://user:pw@api.example/v1/artists/X/albums?include_groups=album,single&limit=50&access_token=TOK&offset=2", nil)
	req.Header.Set("Authorization", "Bearer TOK")
	body := []byte("{\n  \"next\": \"https://api.example/v1/x?offset=4&limit=2\",\n  \"name\": \"<Þögn>\"\n}\n")
	line, err := encodeLine(req, 200, at, body)
	require.NoError(t, err)
	require.Equal(t, `{"request":{"method":"GET","url":"https://api.example/v1/artists/X/albums",`+
		`"params":{"include_groups":"album,single","limit":"50","offset":"2"}},"status":200,`+
		`"received_at":"2026-03-10T11:00:01.234Z","body":{"next":"https://api.example/v1/x?offset=4&limit=2","name":"<Þögn>"}}`+"\n",
		string(line), "one line; body compacted, not re-escaped; no credentials or user info")
	require.NotContains(t, string(line), "TOK")

	// A body that is not JSON is kept as a JSON string.
	line, err = encodeLine(httptest.NewRequest(http.MethodGet, "https://api.example/v1/tracks/Y", nil), 200, at, []byte(`{"id":"Y","na`))
	require.NoError(t, err)
	var ll landingLine
	require.NoError(t, json.Unmarshal(line, &ll))
	var s string
	require.NoError(t, json.Unmarshal(ll.Body, &s))
	require.Equal(t, `{"id":"Y","na`, s)
	require.Equal(t, map[string]string{}, ll.Request.Params)
	require.Equal(t, 1, bytes.Count(line, []byte("\n")))
}

// fixedTransport answers every request with the same status and body.
type fixedTransport struct {
	status int
	body   string
}

func (f fixedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: f.status, Body: io.NopCloser(strings.NewReader(f.body)), Header: http.Header{}, Request: r}, nil
}

func TestRecorderFilesAnswersByStream(t *testing.T) {
	t.Parallel()
	rec := newRecorder(fixedTransport{status: 200, body: `{"ok":true}`}, "/v1", func() time.Time { return t0 })
	get := func(u string) string {
		req := httptest.NewRequest(http.MethodGet, u, nil)
		resp, err := rec.RoundTrip(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	require.Equal(t, `{"ok":true}`, get("https://api.example/v1/artists/A"), "the client gets the body")
	get("https://api.example/v1/artists/A/albums?limit=50")
	get("https://api.example/v1/albums/B/tracks")
	get("https://api.example/v1/tracks/C")
	get("https://api.example/v1/tracks?ids=C,D")
	get("https://api.example/v1/artists/A/top-tracks") // not read by the source: not kept
	get("https://api.example/other/artists/A")         // not under the base path
	require.Equal(t, 1, rec.take(StreamArtists).n)
	require.Equal(t, 1, rec.take(StreamAlbums).n)
	tracks := rec.take(StreamTracks)
	require.Equal(t, 3, tracks.n)
	require.Nil(t, rec.take(StreamTracks), "take forgets")

	// Error answers are not kept.
	bad := newRecorder(fixedTransport{status: 429, body: `{"error":{"status":429}}`}, "/v1", time.Now)
	resp, err := bad.RoundTrip(httptest.NewRequest(http.MethodGet, "https://api.example/v1/artists/A", nil))
	require.NoError(t, err)
	require.Equal(t, 429, resp.StatusCode)
	require.Nil(t, bad.take(StreamArtists))
}
