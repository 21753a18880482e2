package emulator

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

const (
	maxLimit       = 50
	defaultLimit   = 20
	maxBatchIDs    = 50
	maxBatchAlbums = 20
	topTracksCount = 10
)

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /api/token", s.tokenHandler)
	m.HandleFunc("GET /v1/artists/{id}", s.getArtist)
	m.HandleFunc("GET /v1/artists/{id}/albums", s.getArtistAlbums)
	m.HandleFunc("GET /v1/artists/{id}/top-tracks", s.removedInDevMode(s.getTopTracks))
	m.HandleFunc("GET /v1/artists", s.removedInDevMode(s.getSeveralArtists))
	m.HandleFunc("GET /v1/albums/{id}", s.getAlbum)
	m.HandleFunc("GET /v1/albums/{id}/tracks", s.getAlbumTracks)
	m.HandleFunc("GET /v1/albums", s.removedInDevMode(s.getSeveralAlbums))
	m.HandleFunc("GET /v1/tracks/{id}", s.getTrack)
	m.HandleFunc("GET /v1/tracks", s.removedInDevMode(s.getSeveralTracks))
	m.HandleFunc("/v1/", func(w http.ResponseWriter, _ *http.Request) {
		writeAPIError(w, http.StatusNotFound, "Service not found")
	})
	s.mux = m
}

// removedInDevMode wraps endpoints that the 2026 Development-Mode changes removed.
func (s *Server) removedInDevMode(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.extended() {
			st := s.opts.RemovedEndpointStatus
			writeAPIError(w, st, http.StatusText(st))
			return
		}
		h(w, r)
	}
}

// validID reports whether id looks like a 22-character base62 Spotify ID.
func validID(id string) bool {
	if len(id) != 22 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// lookup validates id and writes 400/404 when it is malformed or unknown.
func lookup[T any](w http.ResponseWriter, m map[string]*T, id string) *T {
	if !validID(id) {
		writeAPIError(w, http.StatusBadRequest, "invalid id")
		return nil
	}
	v := m[id]
	if v == nil {
		writeAPIError(w, http.StatusNotFound, "non existing id")
	}
	return v
}

func (s *Server) getArtist(w http.ResponseWriter, r *http.Request) {
	if a := lookup(w, s.ix.artists, r.PathValue("id")); a != nil {
		writeJSON(w, http.StatusOK, s.artistObj(s.baseURL(r), a))
	}
}

func (s *Server) getTrack(w http.ResponseWriter, r *http.Request) {
	if t := lookup(w, s.ix.tracks, r.PathValue("id")); t != nil {
		writeJSON(w, http.StatusOK, s.trackObj(s.baseURL(r), t, r.URL.Query().Get("market")))
	}
}

func (s *Server) getAlbum(w http.ResponseWriter, r *http.Request) {
	if a := lookup(w, s.ix.albums, r.PathValue("id")); a != nil {
		writeJSON(w, http.StatusOK, s.albumObj(s.baseURL(r), a, r.URL.Query().Get("market")))
	}
}

// paging parses limit/offset, writing a 400 and returning ok=false when invalid.
func paging(w http.ResponseWriter, r *http.Request) (offset, limit int, ok bool) {
	q := r.URL.Query()
	limit, offset = defaultLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			writeAPIError(w, http.StatusBadRequest, "Invalid limit")
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeAPIError(w, http.StatusBadRequest, "Invalid offset")
			return 0, 0, false
		}
		offset = n
	}
	return offset, limit, true
}

// page builds a paging object over n items, calling item(i) for the
// returned indexes. extra holds query parameters (in order) to keep in
// href/next/previous.
func (s *Server) page(base, path string, extra [][2]string, n, offset, limit int, item func(i int) any) pageJSON {
	end := min(offset+limit, n)
	if s.opts.ShortPages > 0 {
		end = min(end, offset+s.opts.ShortPages)
	}
	items := make([]any, 0, max(end-offset, 0))
	for i := offset; i < end; i++ {
		items = append(items, item(i))
	}
	link := func(off int) string {
		var b strings.Builder
		b.WriteString(base + path + "?")
		for _, kv := range extra {
			b.WriteString(kv[0] + "=" + strings.ReplaceAll(url.QueryEscape(kv[1]), "%2C", ",") + "&")
		}
		b.WriteString("offset=" + strconv.Itoa(off) + "&limit=" + strconv.Itoa(limit))
		return b.String()
	}
	p := pageJSON{Href: link(offset), Items: items, Limit: limit, Offset: offset, Total: n}
	if next := offset + len(items); len(items) > 0 && next < n {
		u := link(next)
		p.Next = &u
	}
	if offset > 0 {
		u := link(max(offset-limit, 0))
		p.Previous = &u
	}
	return p
}

func marketParam(r *http.Request) [][2]string {
	if m := r.URL.Query().Get("market"); m != "" {
		return [][2]string{{"market", m}}
	}
	return nil
}

func (s *Server) getArtistAlbums(w http.ResponseWriter, r *http.Request) {
	a := lookup(w, s.ix.artists, r.PathValue("id"))
	if a == nil {
		return
	}
	offset, limit, ok := paging(w, r)
	if !ok {
		return
	}
	var extra [][2]string
	albums := s.ix.artistAlbums[a.ID]
	if groups := r.URL.Query().Get("include_groups"); groups != "" {
		extra = append(extra, [2]string{"include_groups", groups})
		want := map[string]bool{}
		for g := range strings.SplitSeq(groups, ",") {
			want[strings.TrimSpace(g)] = true
		}
		var filtered []*Album
		for _, al := range albums {
			g := al.AlbumGroup
			if g == "" {
				g = al.AlbumType
			}
			if want[g] {
				filtered = append(filtered, al)
			}
		}
		albums = filtered
	}
	extra = append(extra, marketParam(r)...)
	base := s.baseURL(r)
	writeJSON(w, http.StatusOK, s.page(base, r.URL.Path, extra, len(albums), offset, limit, func(i int) any {
		return s.simplifiedAlbumObj(base, albums[i], true)
	}))
}

func (s *Server) albumTracksPage(base string, a *Album, offset, limit int, market string) pageJSON {
	var extra [][2]string
	if market != "" {
		extra = [][2]string{{"market", market}}
	}
	return s.page(base, "/v1/albums/"+a.ID+"/tracks", extra, len(a.TrackIDs), offset, limit, func(i int) any {
		return s.simplifiedTrackObj(base, s.ix.tracks[a.TrackIDs[i]], market)
	})
}

func (s *Server) getAlbumTracks(w http.ResponseWriter, r *http.Request) {
	a := lookup(w, s.ix.albums, r.PathValue("id"))
	if a == nil {
		return
	}
	offset, limit, ok := paging(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.albumTracksPage(s.baseURL(r), a, offset, limit, r.URL.Query().Get("market")))
}

func (s *Server) getTopTracks(w http.ResponseWriter, r *http.Request) {
	a := lookup(w, s.ix.artists, r.PathValue("id"))
	if a == nil {
		return
	}
	var tracks []*Track
	for i := range s.opts.Catalog.Tracks {
		t := &s.opts.Catalog.Tracks[i]
		for _, id := range t.ArtistIDs {
			if id == a.ID {
				tracks = append(tracks, t)
				break
			}
		}
	}
	sort.SliceStable(tracks, func(i, j int) bool { return tracks[i].Popularity > tracks[j].Popularity })
	base, market := s.baseURL(r), r.URL.Query().Get("market")
	out := make([]trackJSON, 0, topTracksCount)
	for _, t := range tracks[:min(len(tracks), topTracksCount)] {
		out = append(out, s.trackObj(base, t, market))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tracks": out})
}

// batchIDs parses ?ids= and writes a 400 when missing, too many or malformed.
func batchIDs(w http.ResponseWriter, r *http.Request, maxIDs int) ([]string, bool) {
	raw := r.URL.Query().Get("ids")
	if raw == "" {
		writeAPIError(w, http.StatusBadRequest, "invalid id")
		return nil, false
	}
	ids := strings.Split(raw, ",")
	if len(ids) > maxIDs {
		writeAPIError(w, http.StatusBadRequest, "Too many ids requested")
		return nil, false
	}
	for _, id := range ids {
		if !validID(id) {
			writeAPIError(w, http.StatusBadRequest, "invalid id")
			return nil, false
		}
	}
	return ids, true
}

// several answers a batch endpoint: unknown ids become null entries.
func several[T any](w http.ResponseWriter, r *http.Request, key string, maxIDs int, m map[string]*T, obj func(*T) any) {
	ids, ok := batchIDs(w, r, maxIDs)
	if !ok {
		return
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		if v := m[id]; v != nil {
			out[i] = obj(v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{key: out})
}

func (s *Server) getSeveralArtists(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	several(w, r, "artists", maxBatchIDs, s.ix.artists, func(a *Artist) any { return s.artistObj(base, a) })
}

func (s *Server) getSeveralAlbums(w http.ResponseWriter, r *http.Request) {
	base, market := s.baseURL(r), r.URL.Query().Get("market")
	several(w, r, "albums", maxBatchAlbums, s.ix.albums, func(a *Album) any { return s.albumObj(base, a, market) })
}

func (s *Server) getSeveralTracks(w http.ResponseWriter, r *http.Request) {
	base, market := s.baseURL(r), r.URL.Query().Get("market")
	several(w, r, "tracks", maxBatchIDs, s.ix.tracks, func(t *Track) any { return s.trackObj(base, t, market) })
}
