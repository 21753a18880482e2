package spotify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The landing payloads of the Web API streams are JSON Lines: one line per
// API response the rows come from, in the order received:
//
//	{"request":{"method":"GET","url":"https://api.spotify.com/v1/artists/ID/albums",
//	  "params":{"include_groups":"album,single,compilation,appears_on","limit":"50"}},
//	 "status":200,"received_at":"2026-03-10T12:00:00.123Z","body":{…}}
//
// url has no query, user info or fragment; params holds the query (values
// of a repeated parameter joined by ","), minus any parameter whose name
// suggests a credential. The Authorization header and the access token are
// never written. body is the response body as received, made one line by
// json.Compact (which only drops insignificant whitespace); a body that is
// not JSON is kept as a JSON string, and the client retries that request.

// landingMediaType is the media type of the Web API payloads.
const landingMediaType = "application/x-ndjson"

// maxCapture bounds one recorded response body.
const maxCapture = 64 << 20

// sensitiveParams are query parameters never written to landing.
var sensitiveParams = map[string]bool{
	"access_token": true, "token": true, "client_secret": true, "refresh_token": true,
	"code": true, "api_key": true, "apikey": true, "key": true, "password": true, "secret": true,
}

// landingRequest is the request part of a landing line.
type landingRequest struct {
	Method string            `json:"method"`
	URL    string            `json:"url"`
	Params map[string]string `json:"params"`
}

// landingLine is one line of a Web API payload.
type landingLine struct {
	Request    landingRequest  `json:"request"`
	Status     int             `json:"status"`
	ReceivedAt string          `json:"received_at"`
	Body       json.RawMessage `json:"body"`
}

// encodeLine renders one landing line, newline included.
func encodeLine(req *http.Request, status int, at time.Time, body []byte) ([]byte, error) {
	u := *req.URL
	u.RawQuery, u.ForceQuery, u.User, u.Fragment, u.RawFragment = "", false, nil, "", ""
	params := map[string]string{}
	for k, vs := range req.URL.Query() {
		if !sensitiveParams[strings.ToLower(k)] {
			params[k] = strings.Join(vs, ",")
		}
	}
	raw := json.RawMessage(body)
	if !json.Valid(body) {
		s, err := json.Marshal(string(body))
		if err != nil {
			return nil, fmt.Errorf("failed to embed a malformed response body: %w", err)
		}
		raw = s
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "&" in next URLs as sent
	line := landingLine{
		Request:    landingRequest{Method: req.Method, URL: u.String(), Params: params},
		Status:     status,
		ReceivedAt: at.UTC().Format("2006-01-02T15:04:05.000Z07:00"),
		Body:       raw,
	}
	if err := enc.Encode(line); err != nil {
		return nil, fmt.Errorf("failed to encode a landing line for %s: %w", u.String(), err)
	}
	return buf.Bytes(), nil
}

// recorder is an http.RoundTripper that keeps every 200 answer to a GET of
// an endpoint the source reads as a landing line, filed under the stream
// whose payload keeps it. It reads the body in full before handing it to
// the typed client, so the landing line holds exactly the bytes the client
// decoded; a body that cannot be read in full is an error of the request
// (the client retries it) and leaves nothing behind.
type recorder struct {
	next     http.RoundTripper
	basePath string // path of base_url, e.g. "/v1"
	now      func() time.Time

	mu    sync.Mutex
	lines map[string]*capture // stream → lines in arrival order
}

// capture is a run of landing lines.
type capture struct {
	buf bytes.Buffer
	n   int
}

func newRecorder(next http.RoundTripper, basePath string, now func() time.Time) *recorder {
	return &recorder{next: next, basePath: strings.TrimRight(basePath, "/"), now: now, lines: map[string]*capture{}}
}

// RoundTrip sends the request and records a 200 answer from an endpoint
// the source reads.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || req.Method != http.MethodGet {
		return resp, err
	}
	stream := r.streamOf(req.URL.Path)
	if stream == "" {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCapture+1))
	_ = resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("failed to read the answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	if len(body) > maxCapture {
		return nil, fmt.Errorf("the answer to %s %s is larger than %d bytes", req.Method, req.URL.Path, maxCapture)
	}
	line, err := encodeLine(req, resp.StatusCode, r.now(), body)
	if err != nil {
		return nil, err
	}
	r.add(stream, line)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// streamOf maps an API path to the stream whose payload keeps its answer:
// artists ← GET /artists/{id}; albums ← GET /artists/{id}/albums; tracks ←
// GET /albums/{id}/tracks, GET /tracks/{id} and GET /tracks?ids=.
func (r *recorder) streamOf(path string) string {
	rest, ok := strings.CutPrefix(path, r.basePath+"/")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 2 && parts[0] == "artists":
		return StreamArtists
	case len(parts) == 3 && parts[0] == "artists" && parts[2] == "albums":
		return StreamAlbums
	case len(parts) == 3 && parts[0] == "albums" && parts[2] == "tracks",
		len(parts) <= 2 && parts[0] == "tracks":
		return StreamTracks
	}
	return ""
}

func (r *recorder) add(stream string, line []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lines[stream]
	if c == nil {
		c = &capture{}
		r.lines[stream] = c
	}
	c.buf.Write(line)
	c.n++
}

// take returns and forgets the lines kept for stream (nil when none).
func (r *recorder) take(stream string) *capture {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lines[stream]
	delete(r.lines, stream)
	return c
}
