package emulator

import (
	"crypto/sha256"
	"fmt"
	"math/big"
)

// Image is an image reference as the Web API returns it (widest first).
type Image struct {
	URL    string `json:"url"`
	Height int    `json:"height"`
	Width  int    `json:"width"`
}

// Artist is a catalog artist. Followers and Popularity are only emitted in the
// extended profile.
type Artist struct {
	ID         string
	Name       string
	Genres     []string
	Images     []Image
	Followers  int
	Popularity int
}

// Album is a catalog album (or single/compilation).
type Album struct {
	ID                   string
	Name                 string
	AlbumType            string // album | single | compilation
	AlbumGroup           string // album | single | compilation | appears_on; defaults to AlbumType
	ArtistIDs            []string
	ReleaseDate          string // "2019", "2019-03" or "2019-03-15"
	ReleaseDatePrecision string // year | month | day
	UPC                  string
	Label                string
	Popularity           int
	Markets              []string
	Images               []Image
	TrackIDs             []string // in track order
}

// Track is a catalog track.
type Track struct {
	ID          string
	Name        string
	AlbumID     string
	ArtistIDs   []string
	ISRC        string
	DiscNumber  int
	TrackNumber int
	DurationMS  int
	Explicit    bool
	Popularity  int
	Markets     []string
}

// Catalog is the fake catalog an emulator serves. Use DefaultCatalog for a
// seeded one or build your own; the emulator never mutates it.
type Catalog struct {
	Artists []Artist
	Albums  []Album
	Tracks  []Track
}

// Well-known IDs of the default catalog, handy in tests.
const (
	// MaraEllisID is the artist with many releases (enough for several pages).
	MaraEllisID = "4Zr9nGq0bT3QmHcDx8wL2p"
	// OrjanOdegardID is an artist with a non-ASCII name and one album.
	OrjanOdegardID = "1kQmW3xYv8Rz0cPbT5nLdE"
	// OskerWyldID is an artist with no images, no genres and no followers.
	OskerWyldID = "7pLs2VbN4qXe9RtYu1ZaMc"
)

// SpotifyID derives a deterministic 22-character base62 Spotify-style ID
// from seed.
func SpotifyID(seed string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(seed))
	n := new(big.Int).SetBytes(sum[:])
	base := big.NewInt(62)
	mod := new(big.Int)
	out := make([]byte, 22)
	for i := range out {
		n.DivMod(n, base, mod)
		out[i] = alphabet[mod.Int64()]
	}
	return string(out)
}

// DefaultCatalog returns the seeded catalog: three artists, eleven releases
// covering all three release_date precisions, and ISRCs QZWFV26001NN.
// Mara Ellis has 9 releases (album_group album/single/appears_on) so that
// paging with a small limit takes several pages.
func DefaultCatalog() *Catalog {
	c := &Catalog{}
	markets := []string{"DE", "GB", "IS", "NL", "NO", "SE", "US"}
	img := func(seed string) []Image {
		h := SpotifyID("img" + seed)
		return []Image{
			{URL: "https://i.scdn.co/image/ab67616d0000b273" + h, Height: 640, Width: 640},
			{URL: "https://i.scdn.co/image/ab67616d00001e02" + h, Height: 300, Width: 300},
			{URL: "https://i.scdn.co/image/ab67616d00004851" + h, Height: 64, Width: 64},
		}
	}
	c.Artists = []Artist{
		{ID: MaraEllisID, Name: "Mara Ellis", Genres: []string{"icelandic indie"}, Images: img("mara"), Followers: 18342, Popularity: 41},
		{ID: OrjanOdegardID, Name: "Ørjan Ødegård", Genres: []string{"norwegian ambient", "drone"}, Images: img("orjan"), Followers: 512, Popularity: 12},
		{ID: OskerWyldID, Name: "osker wyld", Genres: []string{}, Images: []Image{}, Followers: 0, Popularity: 0},
	}
	isrc := 100
	upc := 198880045560
	addAlbum := func(name, albumType, group string, artists []string, date, precision string, titles ...string) {
		id := SpotifyID("album:" + name)
		a := Album{
			ID: id, Name: name, AlbumType: albumType, AlbumGroup: group, ArtistIDs: artists,
			ReleaseDate: date, ReleaseDatePrecision: precision,
			UPC: fmt.Sprintf("%013d", upc), Label: "Bedrot Records", Popularity: 10 + len(c.Albums),
			Markets: markets, Images: img(name),
		}
		upc++
		for i, title := range titles {
			isrc++
			t := Track{
				ID: SpotifyID("track:" + name + ":" + title), Name: title, AlbumID: id, ArtistIDs: artists,
				ISRC: fmt.Sprintf("QZWFV26%05d", isrc), DiscNumber: 1, TrackNumber: i + 1,
				DurationMS: 150000 + 7919*(isrc%29), Explicit: isrc%7 == 0, Popularity: 5 + isrc%60,
				Markets: markets,
			}
			c.Tracks = append(c.Tracks, t)
			a.TrackIDs = append(a.TrackIDs, t.ID)
		}
		c.Albums = append(c.Albums, a)
	}
	mara := []string{MaraEllisID}
	addAlbum("Tidewater", "album", "album", mara, "2026-01-16", "day",
		"Tidewater", "Salt Lines", "Harbour Lights", "Breakwater", "Undertow", "Ebb", "Low Sun")
	addAlbum("Low Tide EP", "single", "single", mara, "2025-06", "month",
		"Low Tide", "Drift", "Kelp Forest")
	addAlbum("First Light", "album", "album", mara, "2019", "year",
		"First Light", "Morning Fog", "Paper Boats", "12\" Mix", "Quiet Harbour", "Gulls", "Lantern", "Shore", "Return")
	addAlbum("Northbound", "single", "single", mara, "2024-11-01", "day", "Northbound")
	addAlbum("Fjord", "single", "single", mara, "2024-03", "month", "Fjord", "Fjord (Acoustic)")
	addAlbum("Winter Pier", "single", "single", mara, "2023-12-08", "day", "Winter Pier")
	addAlbum("Saltwater Sessions", "album", "album", mara, "2021", "year",
		"Saltwater", "Brine", "Spray", "Tidepool")
	addAlbum("Lighthouse", "single", "single", mara, "2020-02-14", "day", "Lighthouse")
	addAlbum("Bedrot Sampler Vol. 1", "compilation", "appears_on", []string{MaraEllisID, OrjanOdegardID, OskerWyldID}, "2022-05-20", "day",
		"Sampler Opening", "Þögn (fyrir ömmu)", "tólfta (fyrir ömmu)")
	addAlbum("Þögn", "album", "album", []string{OrjanOdegardID}, "2025", "year",
		"Þögn (fyrir ömmu)", "Mørke", "Stille vann", "Nordlys", "Ødemark")
	addAlbum("fyrir Olivia", "single", "single", []string{OskerWyldID}, "2017-04", "month", "fyrir Olivia", "tólfta (fyrir ömmu)")
	return c
}

// index holds lookup maps over a Catalog.
type index struct {
	artists map[string]*Artist
	albums  map[string]*Album
	tracks  map[string]*Track
	// artistAlbums lists, per artist, the albums they appear on, in catalog order.
	artistAlbums map[string][]*Album
}

func newIndex(c *Catalog) *index {
	ix := &index{
		artists:      map[string]*Artist{},
		albums:       map[string]*Album{},
		tracks:       map[string]*Track{},
		artistAlbums: map[string][]*Album{},
	}
	for i := range c.Artists {
		ix.artists[c.Artists[i].ID] = &c.Artists[i]
	}
	for i := range c.Albums {
		a := &c.Albums[i]
		ix.albums[a.ID] = a
		for _, id := range a.ArtistIDs {
			ix.artistAlbums[id] = append(ix.artistAlbums[id], a)
		}
	}
	for i := range c.Tracks {
		ix.tracks[c.Tracks[i].ID] = &c.Tracks[i]
	}
	return ix
}
