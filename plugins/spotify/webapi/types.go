package webapi

import (
	"encoding/json"
	"fmt"
	"time"
)

// Image is an artwork reference; Height and Width may be null.
type Image struct {
	URL    string `json:"url"`
	Height *int   `json:"height"`
	Width  *int   `json:"width"`
}

// ExternalURLs holds the public web links of an object.
type ExternalURLs struct {
	Spotify string `json:"spotify"`
}

// ExternalIDs holds the industry identifiers of a track or album.
type ExternalIDs struct {
	ISRC string `json:"isrc,omitempty"`
	EAN  string `json:"ean,omitempty"`
	UPC  string `json:"upc,omitempty"`
}

// SimpleArtist is the artist reference embedded in albums and tracks.
type SimpleArtist struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	URI          string       `json:"uri"`
	Href         string       `json:"href"`
	ExternalURLs ExternalURLs `json:"external_urls"`
}

// Artist is the full artist object.
type Artist struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Genres       []string     `json:"genres"`
	Images       []Image      `json:"images"`
	URI          string       `json:"uri"`
	Href         string       `json:"href"`
	ExternalURLs ExternalURLs `json:"external_urls"`
	// Followers is followers.total; nil when absent (Development Mode).
	Followers *int `json:"-"`
	// Popularity (0–100) is nil when absent (Development Mode).
	Popularity *int `json:"popularity"`
}

// UnmarshalJSON decodes an artist, flattening followers.total.
func (a *Artist) UnmarshalJSON(b []byte) error {
	type plain Artist
	aux := struct {
		*plain
		Followers *struct {
			Total *int `json:"total"`
		} `json:"followers"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return fmt.Errorf("failed to decode artist: %w", err)
	}
	a.Followers = nil
	if aux.Followers != nil {
		a.Followers = aux.Followers.Total
	}
	return nil
}

// DatePrecision is the precision of a release date.
type DatePrecision string

// Release-date precisions.
const (
	PrecisionYear  DatePrecision = "year"
	PrecisionMonth DatePrecision = "month"
	PrecisionDay   DatePrecision = "day"
)

// ReleaseDate is a release date as Spotify sends it: "2019", "2019-03" or
// "2019-03-15" according to Precision.
type ReleaseDate struct {
	// Value is the date text as received.
	Value string
	// Precision is "year", "month" or "day" (inferred from Value's length
	// when Spotify omits it).
	Precision DatePrecision
}

// Time returns the first instant (UTC) of the period the date denotes.
func (d ReleaseDate) Time() (time.Time, error) {
	layout := map[DatePrecision]string{PrecisionYear: "2006", PrecisionMonth: "2006-01", PrecisionDay: "2006-01-02"}[d.Precision]
	if layout == "" {
		return time.Time{}, fmt.Errorf("failed to parse release date %q: unknown precision %q", d.Value, d.Precision)
	}
	t, err := time.Parse(layout, d.Value)
	if err != nil {
		return time.Time{}, fmt.Errorf("failed to parse release date %q with precision %s: %w", d.Value, d.Precision, err)
	}
	return t, nil
}

// String returns the date text as received.
func (d ReleaseDate) String() string { return d.Value }

// Album is an album, single or compilation: the simplified object from the
// artist-albums endpoint or the one embedded in a track.
type Album struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	AlbumType string `json:"album_type"`
	// AlbumGroup is the artist's relation to the album (album, single,
	// compilation, appears_on); only set by the artist-albums endpoint.
	AlbumGroup  string         `json:"album_group"`
	Artists     []SimpleArtist `json:"artists"`
	ReleaseDate ReleaseDate    `json:"-"`
	TotalTracks int            `json:"total_tracks"`
	Images      []Image        `json:"images"`
	URI         string         `json:"uri"`
	Href        string         `json:"href"`
	// AvailableMarkets is nil when absent (Development Mode or a market
	// was requested).
	AvailableMarkets []string     `json:"available_markets"`
	ExternalURLs     ExternalURLs `json:"external_urls"`
}

// UnmarshalJSON decodes an album, combining release_date and its precision.
func (a *Album) UnmarshalJSON(b []byte) error {
	type plain Album
	aux := struct {
		*plain
		ReleaseDate          string `json:"release_date"`
		ReleaseDatePrecision string `json:"release_date_precision"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return fmt.Errorf("failed to decode album: %w", err)
	}
	a.ReleaseDate = ReleaseDate{Value: aux.ReleaseDate, Precision: DatePrecision(aux.ReleaseDatePrecision)}
	if a.ReleaseDate.Precision == "" {
		switch len(aux.ReleaseDate) {
		case 4:
			a.ReleaseDate.Precision = PrecisionYear
		case 7:
			a.ReleaseDate.Precision = PrecisionMonth
		case 10:
			a.ReleaseDate.Precision = PrecisionDay
		}
	}
	return nil
}

// SimpleTrack is the simplified track object from the album-tracks endpoint
// (no album, no external ids, no popularity).
type SimpleTrack struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Artists     []SimpleArtist `json:"artists"`
	DiscNumber  int            `json:"disc_number"`
	TrackNumber int            `json:"track_number"`
	DurationMS  int            `json:"duration_ms"`
	Explicit    bool           `json:"explicit"`
	IsLocal     bool           `json:"is_local"`
	// IsPlayable is only set when a market was requested.
	IsPlayable *bool `json:"is_playable"`
	// PreviewURL is usually null.
	PreviewURL *string `json:"preview_url"`
	URI        string  `json:"uri"`
	Href       string  `json:"href"`
	// AvailableMarkets is nil when absent (Development Mode or a market
	// was requested).
	AvailableMarkets []string     `json:"available_markets"`
	ExternalURLs     ExternalURLs `json:"external_urls"`
}

// Track is the full track object.
type Track struct {
	SimpleTrack
	Album       Album       `json:"album"`
	ExternalIDs ExternalIDs `json:"external_ids"`
	// Popularity (0–100) is nil when absent (Development Mode).
	Popularity *int `json:"popularity"`
}
