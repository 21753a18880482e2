package spotify

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
)

// recorder is an http.RoundTripper that keeps the body of every successful
// API response, byte for byte, filed under the stream it feeds. The typed
// client decodes the same bytes, so the landing payload is exactly what
// Spotify sent. Only bodies read to the end are kept, so a response that
// failed half-way leaves nothing behind.
type recorder struct {
	next     http.RoundTripper
	basePath string // path of base_url, e.g. "/v1"

	mu     sync.Mutex
	bodies map[string][][]byte // stream → response bodies in arrival order
}

func newRecorder(next http.RoundTripper, basePath string) *recorder {
	return &recorder{next: next, basePath: strings.TrimRight(basePath, "/"), bodies: map[string][][]byte{}}
}

// RoundTrip sends the request and, for a 200 answer from an endpoint the
// source reads, tees the body into memory.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || req.Method != http.MethodGet {
		return resp, err
	}
	stream := r.streamOf(req.URL.Path)
	if stream == "" {
		return resp, nil
	}
	resp.Body = &teeBody{rc: resp.Body, done: func(b []byte) { r.add(stream, b) }}
	return resp, nil
}

// streamOf maps an API path to the stream whose payload keeps its body.
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

func (r *recorder) add(stream string, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bodies[stream] = append(r.bodies[stream], body)
}

// take returns and forgets the bodies kept for stream.
func (r *recorder) take(stream string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.bodies[stream]
	delete(r.bodies, stream)
	return b
}

// teeBody copies what is read into a buffer and hands the buffer to done
// once the body has been read to EOF.
type teeBody struct {
	rc   io.ReadCloser
	buf  bytes.Buffer
	eof  bool
	done func([]byte)
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	t.buf.Write(p[:n])
	if err == io.EOF && !t.eof {
		t.eof = true
		t.done(bytes.Clone(t.buf.Bytes()))
	}
	return n, err
}

func (t *teeBody) Close() error { return t.rc.Close() }
