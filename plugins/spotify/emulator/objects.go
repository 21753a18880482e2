package emulator

// JSON shapes of the Web API objects, following sources.md §2.3. Fields that
// the devmode profile removes are pointers or nil-able slices tagged
// omitzero, so that they are absent (not null) in devmode.

type externalURLs struct {
	Spotify string `json:"spotify"`
}

type followersJSON struct {
	Href  *string `json:"href"` // always null
	Total int     `json:"total"`
}

type artistJSON struct {
	ExternalURLs externalURLs   `json:"external_urls"`
	Followers    *followersJSON `json:"followers,omitzero"`
	Genres       []string       `json:"genres"`
	Href         string         `json:"href"`
	ID           string         `json:"id"`
	Images       []Image        `json:"images"`
	Name         string         `json:"name"`
	Popularity   *int           `json:"popularity,omitzero"`
	Type         string         `json:"type"`
	URI          string         `json:"uri"`
}

type simplifiedArtistJSON struct {
	ExternalURLs externalURLs `json:"external_urls"`
	Href         string       `json:"href"`
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Type         string       `json:"type"`
	URI          string       `json:"uri"`
}

type simplifiedAlbumJSON struct {
	AlbumGroup           string                 `json:"album_group,omitempty"`
	AlbumType            string                 `json:"album_type"`
	Artists              []simplifiedArtistJSON `json:"artists"`
	AvailableMarkets     []string               `json:"available_markets,omitzero"`
	ExternalURLs         externalURLs           `json:"external_urls"`
	Href                 string                 `json:"href"`
	ID                   string                 `json:"id"`
	Images               []Image                `json:"images"`
	Name                 string                 `json:"name"`
	ReleaseDate          string                 `json:"release_date"`
	ReleaseDatePrecision string                 `json:"release_date_precision"`
	TotalTracks          int                    `json:"total_tracks"`
	Type                 string                 `json:"type"`
	URI                  string                 `json:"uri"`
}

type copyrightJSON struct {
	Text string `json:"text"`
	Type string `json:"type"`
}

type albumJSON struct {
	simplifiedAlbumJSON
	Copyrights  []copyrightJSON   `json:"copyrights"`
	ExternalIDs map[string]string `json:"external_ids"`
	Genres      []string          `json:"genres"`
	Label       string            `json:"label"`
	Popularity  *int              `json:"popularity,omitzero"`
	Tracks      pageJSON          `json:"tracks"`
}

type simplifiedTrackJSON struct {
	Artists          []simplifiedArtistJSON `json:"artists"`
	AvailableMarkets []string               `json:"available_markets,omitzero"`
	DiscNumber       int                    `json:"disc_number"`
	DurationMS       int                    `json:"duration_ms"`
	Explicit         bool                   `json:"explicit"`
	ExternalURLs     externalURLs           `json:"external_urls"`
	Href             string                 `json:"href"`
	ID               string                 `json:"id"`
	IsLocal          bool                   `json:"is_local"`
	IsPlayable       *bool                  `json:"is_playable,omitzero"`
	Name             string                 `json:"name"`
	PreviewURL       *string                `json:"preview_url"` // always null
	TrackNumber      int                    `json:"track_number"`
	Type             string                 `json:"type"`
	URI              string                 `json:"uri"`
}

type trackJSON struct {
	Album simplifiedAlbumJSON `json:"album"`
	simplifiedTrackJSON
	ExternalIDs map[string]string `json:"external_ids"`
	Popularity  *int              `json:"popularity,omitzero"`
}

type pageJSON struct {
	Href     string  `json:"href"`
	Items    any     `json:"items"`
	Limit    int     `json:"limit"`
	Next     *string `json:"next"`
	Offset   int     `json:"offset"`
	Previous *string `json:"previous"`
	Total    int     `json:"total"`
}

type apiErrorJSON struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

type authErrorJSON struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

type tokenJSON struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

func intPtr(v int) *int { return &v }

func (s *Server) artistObj(base string, a *Artist) artistJSON {
	o := artistJSON{
		ExternalURLs: externalURLs{Spotify: "https://open.spotify.com/artist/" + a.ID},
		Genres:       nonNil(a.Genres),
		Href:         base + "/v1/artists/" + a.ID,
		ID:           a.ID,
		Images:       nonNilImages(a.Images),
		Name:         a.Name,
		Type:         "artist",
		URI:          "spotify:artist:" + a.ID,
	}
	if s.extended() {
		o.Followers = &followersJSON{Total: a.Followers}
		o.Popularity = intPtr(a.Popularity)
	}
	return o
}

func (s *Server) simplifiedArtists(base string, ids []string) []simplifiedArtistJSON {
	out := make([]simplifiedArtistJSON, 0, len(ids))
	for _, id := range ids {
		name := ""
		if a := s.ix.artists[id]; a != nil {
			name = a.Name
		}
		out = append(out, simplifiedArtistJSON{
			ExternalURLs: externalURLs{Spotify: "https://open.spotify.com/artist/" + id},
			Href:         base + "/v1/artists/" + id,
			ID:           id,
			Name:         name,
			Type:         "artist",
			URI:          "spotify:artist:" + id,
		})
	}
	return out
}

func (s *Server) simplifiedAlbumObj(base string, a *Album, withGroup bool) simplifiedAlbumJSON {
	o := simplifiedAlbumJSON{
		AlbumType:            a.AlbumType,
		Artists:              s.simplifiedArtists(base, a.ArtistIDs),
		ExternalURLs:         externalURLs{Spotify: "https://open.spotify.com/album/" + a.ID},
		Href:                 base + "/v1/albums/" + a.ID,
		ID:                   a.ID,
		Images:               nonNilImages(a.Images),
		Name:                 a.Name,
		ReleaseDate:          a.ReleaseDate,
		ReleaseDatePrecision: a.ReleaseDatePrecision,
		TotalTracks:          len(a.TrackIDs),
		Type:                 "album",
		URI:                  "spotify:album:" + a.ID,
	}
	if withGroup {
		o.AlbumGroup = a.AlbumGroup
		if o.AlbumGroup == "" {
			o.AlbumGroup = a.AlbumType
		}
	}
	if s.extended() {
		o.AvailableMarkets = nonNil(a.Markets)
	}
	return o
}

func (s *Server) albumObj(base string, a *Album, market string) albumJSON {
	o := albumJSON{
		simplifiedAlbumJSON: s.simplifiedAlbumObj(base, a, false),
		Copyrights: []copyrightJSON{
			{Text: "2026 " + a.Label, Type: "C"},
			{Text: "2026 " + a.Label, Type: "P"},
		},
		ExternalIDs: map[string]string{"upc": a.UPC},
		Genres:      []string{},
		Label:       a.Label,
	}
	if s.extended() {
		o.Popularity = intPtr(a.Popularity)
	}
	o.Tracks = s.albumTracksPage(base, a, 0, 50, market)
	return o
}

func (s *Server) simplifiedTrackObj(base string, t *Track, market string) simplifiedTrackJSON {
	o := simplifiedTrackJSON{
		Artists:      s.simplifiedArtists(base, t.ArtistIDs),
		DiscNumber:   t.DiscNumber,
		DurationMS:   t.DurationMS,
		Explicit:     t.Explicit,
		ExternalURLs: externalURLs{Spotify: "https://open.spotify.com/track/" + t.ID},
		Href:         base + "/v1/tracks/" + t.ID,
		ID:           t.ID,
		Name:         t.Name,
		TrackNumber:  t.TrackNumber,
		Type:         "track",
		URI:          "spotify:track:" + t.ID,
	}
	if market != "" {
		playable := true
		o.IsPlayable = &playable
	} else if s.extended() {
		o.AvailableMarkets = nonNil(t.Markets)
	}
	return o
}

func (s *Server) trackObj(base string, t *Track, market string) trackJSON {
	o := trackJSON{
		simplifiedTrackJSON: s.simplifiedTrackObj(base, t, market),
		ExternalIDs:         map[string]string{"isrc": t.ISRC},
	}
	if a := s.ix.albums[t.AlbumID]; a != nil {
		o.Album = s.simplifiedAlbumObj(base, a, false)
	}
	if s.extended() {
		o.Popularity = intPtr(t.Popularity)
	}
	return o
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func nonNilImages(v []Image) []Image {
	if v == nil {
		return []Image{}
	}
	return v
}
