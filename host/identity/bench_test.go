package identity_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/identity"
)

var (
	benchWordsA   = []string{"Tidewater", "Low", "Salt", "Néon", "Glass", "Paper", "Winter", "Satellite", "Velvet", "Þögn", "Hafið", "Midnight", "Copper", "Ghost", "Golden", "Silent", "Électrique", "Façade", "Kjærlighet", "Über", "Quiet", "Northern", "Harbour", "Ødemark"}
	benchWordsB   = []string{"Lights", "Harbour", "Dreams", "Run", "Garden", "Motel", "Signal", "Rain", "Hearts", "Coast", "Tide", "Søvn", "Canción", "Fields", "Pier", "Fjord", "Lantern", "Shore"}
	benchSuffixes = []string{"", "", "", "", " (Remix)", ` (12" Mix)`, ", Pt. 2", " (feat. Mara Ellis)", " - Acoustic", " (fyrir ömmu)", " - Radio Edit", " (Remastered 2020)"}
	benchArtists  = []string{"Mara Ellis", "Ørjan Ødegård", "osker wyld", "Néon Skyline", "Tést Ärtist", "Lúna Þórsdóttir", "Café Señor", "Zoë & the Façades", "The Blue Hours", "Søren Kjær", "Amélie Brûlée", "Björn Åkesson"}
)

// synthInputs generates a label catalog of n tracks and about 5n items:
// DistroKid rows (2 per track, some without ISRC), Spotify tracks (80 % of
// the catalog, a few without ISRC), S4A songs and TikTok videos naming
// tracks in various ways.
func synthInputs(n int, seed uint64) identity.Inputs {
	rng := rand.New(rand.NewPCG(seed, 7))
	type track struct{ isrc, upc, title, artist string }
	tracks := make([]track, n)
	for i := range tracks {
		title := benchWordsA[rng.IntN(len(benchWordsA))] + " " + benchWordsB[rng.IntN(len(benchWordsB))]
		if rng.IntN(3) == 0 {
			title += " " + benchWordsB[rng.IntN(len(benchWordsB))]
		}
		title += benchSuffixes[rng.IntN(len(benchSuffixes))]
		tracks[i] = track{
			isrc:   fmt.Sprintf("QZWFV%02d%05d", 18+i/100000, i%100000),
			upc:    fmt.Sprintf("0198880%06d", i/8),
			title:  title,
			artist: benchArtists[rng.IntN(len(benchArtists))],
		}
	}
	var in identity.Inputs
	for i, t := range tracks {
		for r := range 2 {
			row := identity.DistroKidRow{Key: fmt.Sprintf("dk.tsv:%d", 2*i+r), ISRC: t.isrc, UPC: t.upc[1:], Title: t.title, Artist: t.artist}
			if rng.IntN(20) == 0 {
				row.ISRC = ""
			}
			in.DistroKid = append(in.DistroKid, row)
		}
		if rng.IntN(5) > 0 {
			st := identity.SpotifyTrack{TrackID: fmt.Sprintf("sp%020d", i), ISRC: t.isrc, Name: t.title,
				Artists: []string{t.artist}, AlbumID: "al" + t.upc, AlbumName: "Album " + t.upc, AlbumUPC: t.upc, AlbumReleaseDate: "2024-03"}
			if rng.IntN(50) == 0 {
				st.ISRC = ""
			}
			in.Spotify = append(in.Spotify, st)
		}
	}
	for range n {
		t := tracks[rng.IntN(n)]
		s := identity.S4ASong{Title: t.title}
		if rng.IntN(2) == 0 {
			s.Artist, s.ReleaseDate = t.artist, "2024-03-01"
		}
		in.S4A = append(in.S4A, s)
	}
	for i := range n {
		t := tracks[rng.IntN(n)]
		v := identity.TikTokVideo{VideoID: fmt.Sprintf("75699122334455%05d", i), Artist: t.artist}
		switch rng.IntN(5) {
		case 0:
			v.Title = fmt.Sprintf("new single %q out now 🌊", t.title)
		case 1:
			v.Description = "studio day 🎛️ " + t.title + " #newmusic"
		case 2:
			v.Title = "late night session 🌙 #producer"
		case 3:
			v.Description = fmt.Sprintf("#%s #fyp", t.title)
		}
		in.TikTok = append(in.TikTok, v)
	}
	return in
}

func TestSynthInputsAccounted(t *testing.T) {
	t.Parallel()
	in := synthInputs(800, 3)
	res := identity.Resolve(in, nil)
	requireAccounted(t, in, res)
	// Every DistroKid row with an ISRC and every Spotify track with one is exact.
	for _, l := range res.Links() {
		if l.Source == identity.SourceSpotify || l.Source == identity.SourceDistroKid {
			require.NotEqual(t, identity.MethodTitleInText, l.Method)
		}
	}
	require.Equal(t, res, identity.Resolve(in, nil))
}

// BenchmarkResolve50k resolves about 50,000 items (10,000 tracks).
func BenchmarkResolve50k(b *testing.B) {
	in := synthInputs(10_000, 1)
	items := len(in.DistroKid) + len(in.Spotify) + len(in.S4A) + len(in.TikTok)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res := identity.Resolve(in, nil)
		if len(res.Tracks) == 0 {
			b.Fatal("no tracks")
		}
	}
	b.ReportMetric(float64(items), "items/op")
}
