package spotify

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bedrot-label/bedrot/plugins/spotify/webapi"
	"github.com/bedrot-label/bedrot/sdk"
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
// The rows of a payload are made from its lines (parseAPIPayload, then
// buildRows), live and on replay alike: a live read checks that they are
// the objects the client returned before it sends them.

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

// endpoint is a Web API endpoint whose answers landing payloads keep.
type endpoint int

const (
	epUnknown      endpoint = iota
	epArtist                // GET /artists/{id}
	epArtistAlbums          // GET /artists/{id}/albums
	epAlbumTracks           // GET /albums/{id}/tracks
	epTrack                 // GET /tracks/{id}
	epTracks                // GET /tracks?ids=
)

// endpointOf names the endpoint of a request path by its last segments,
// whatever the base path before them.
func endpointOf(path string) endpoint {
	s := strings.Split(strings.Trim(path, "/"), "/")
	n := len(s)
	switch {
	case n >= 3 && s[n-3] == "artists" && s[n-1] == "albums":
		return epArtistAlbums
	case n >= 3 && s[n-3] == "albums" && s[n-1] == "tracks":
		return epAlbumTracks
	case n >= 2 && s[n-2] == "artists":
		return epArtist
	case n >= 2 && s[n-2] == "tracks":
		return epTrack
	case n >= 1 && s[n-1] == "tracks":
		return epTracks
	}
	return epUnknown
}

// payloadEndpoints are the endpoints whose answers each Web API stream's
// payload keeps (see recorder.streamOf and apiRun.unit: the tracks payload
// also keeps the release pages when the albums stream is not read).
var payloadEndpoints = map[string]map[endpoint]bool{
	StreamArtists: {epArtist: true},
	StreamAlbums:  {epArtistAlbums: true},
	StreamTracks:  {epArtistAlbums: true, epAlbumTracks: true, epTrack: true, epTracks: true},
}

// apiPayload is what a Web API payload holds: the objects of its answers
// that rows are made of, in the order received.
type apiPayload struct {
	artists []webapi.Artist // GET /artists/{id}
	listed  []webapi.Album  // GET /artists/{id}/albums, each release once
	tracks  []webapi.Track  // GET /tracks/{id} and GET /tracks?ids=
}

// page is Spotify's paging object, as far as a payload needs it.
type page[T any] struct {
	Items []T `json:"items"`
}

// parseAPIPayload reads the landing lines of a payload of stream (file
// names it in problems). Both a live read and a replay build their rows
// from what it returns, so they cannot differ. A line whose body is a JSON
// string is a malformed answer the client asked again for, and gives
// nothing; a line that is not a landing line of an endpoint the stream's
// payload keeps, or whose body does not decode as that endpoint's answer,
// is a problem naming file, line and field. The error is for reading
// failures only.
func parseAPIPayload(r io.Reader, file, stream string) (apiPayload, []sdk.Problem, error) {
	var p apiPayload
	probs := &problemList{file: file}
	listed := map[string]bool{}
	br := bufio.NewReaderSize(r, 64<<10)
	lines := 0
	for n := int64(1); ; n++ {
		raw, err := br.ReadBytes('\n')
		if len(raw) > 0 {
			lines++
			p.parseLine(probs, n, stream, raw, listed)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p, nil, fmt.Errorf("failed to read %s: %w", file, err)
		}
	}
	if lines == 0 {
		probs.add(0, "", "the payload is empty: it holds no Spotify answer")
	}
	return p, probs.done(), nil
}

// parseLine adds what line n of a payload of stream gives to p.
func (p *apiPayload) parseLine(probs *problemList, n int64, stream string, raw []byte, listed map[string]bool) {
	var ll landingLine
	if err := json.Unmarshal(raw, &ll); err != nil {
		probs.add(n, "", "the line is not a JSON object with request, status, received_at and body: "+err.Error())
		return
	}
	u, err := url.Parse(ll.Request.URL)
	ep := epUnknown
	if err == nil {
		ep = endpointOf(u.Path)
	}
	body := bytes.TrimSpace(ll.Body)
	switch {
	case ll.Request.Method != http.MethodGet:
		probs.add(n, "request.method", fmt.Sprintf("the request is %q; the connector only keeps answers to GET", ll.Request.Method))
		return
	case ll.Status != http.StatusOK:
		probs.add(n, "status", fmt.Sprintf("the status is %d; the connector only keeps answers with status 200", ll.Status))
		return
	case !payloadEndpoints[stream][ep]:
		probs.add(n, "request.url", fmt.Sprintf("%q is not an endpoint whose answers go into %s payloads", ll.Request.URL, stream))
		return
	case len(body) == 0:
		probs.add(n, "body", "the line has no body")
		return
	case body[0] == '"':
		return // a malformed answer, asked for again: the next line has it
	}
	decode := func(what string, v any) bool {
		if err := json.Unmarshal(body, v); err != nil {
			probs.add(n, "body", fmt.Sprintf("the body is not %s: %v", what, err))
			return false
		}
		return true
	}
	switch ep {
	case epArtist:
		var a webapi.Artist
		if decode("an artist object", &a) {
			p.artists = append(p.artists, a)
		}
	case epArtistAlbums:
		var pg page[webapi.Album]
		if decode("a page of albums", &pg) {
			for _, al := range pg.Items {
				if !listed[al.ID] {
					listed[al.ID] = true
					p.listed = append(p.listed, al)
				}
			}
		}
	case epAlbumTracks:
		var pg page[webapi.SimpleTrack]
		decode("a page of tracks", &pg) // which tracks are read shows in the track answers
	case epTrack:
		var t webapi.Track
		if decode("a track object", &t) {
			p.tracks = append(p.tracks, t)
		}
	case epTracks:
		var batch struct {
			Tracks []*webapi.Track `json:"tracks"`
		}
		if decode(`an object with a "tracks" array`, &batch) {
			for _, t := range batch.Tracks {
				if t != nil {
					p.tracks = append(p.tracks, *t)
				}
			}
		}
	}
}
