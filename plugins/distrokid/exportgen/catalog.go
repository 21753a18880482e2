package exportgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// store is a DistroKid store with its relative weight and typical payout.
type store struct {
	name     string
	weight   int
	rate     int64 // 1e-12 USD per stream (streaming stores)
	download bool  // quantities are units sold
	ou       bool  // reports OU (outside the US / unknown) as country
}

// stores as written in real files (source notes §1.4), weighted roughly by
// how many rows each contributes to a small label's export.
var stores = []store{
	{name: "Spotify", weight: 300, rate: 3_100_000_000},
	{name: "Apple Music", weight: 120, rate: 6_200_000_000},
	{name: "YouTube (Ads)", weight: 80, rate: 700_000_000},
	{name: "YouTube (Red)", weight: 40, rate: 9_000_000_000},
	{name: "YouTube (Audio)", weight: 30, rate: 1_100_000_000},
	{name: "TikTok", weight: 80, rate: 210_000_000, ou: true},
	{name: "Instagram/Facebook", weight: 60, rate: 102_135_011, ou: true},
	{name: "Facebook", weight: 10, rate: 95_000_000, ou: true},
	{name: "Snapchat", weight: 10, rate: 150_000_000, ou: true},
	{name: "Amazon Unlimited (Streaming)", weight: 40, rate: 7_400_000_000},
	{name: "Amazon Prime (Streaming)", weight: 30, rate: 4_100_000_000},
	{name: "Amazon (downloads)", weight: 8, download: true},
	{name: "iTunes", weight: 20, download: true},
	{name: "iTunes Match", weight: 10, rate: 313_712_922},
	{name: "iTunes Songs", weight: 6, download: true},
	{name: "Deezer", weight: 40, rate: 4_500_000_000},
	{name: "Tidal", weight: 20, rate: 12_500_000_000},
	{name: "Pandora", weight: 20, rate: 1_300_000_000},
	{name: "Resso", weight: 8, rate: 600_000_000},
	{name: "JioSaavn", weight: 8, rate: 300_000_000},
	{name: "NetEase Cloud Music", weight: 8, rate: 450_000_000},
	{name: "Google Play All Access", weight: 4, rate: 5_000_000_000},
	{name: "Beatport", weight: 3, download: true},
	{name: "MediaNet", weight: 3, rate: 2_000_000_000},
}

// countries and their weights; OU is added for the stores that report it.
var countries = []struct {
	code   string
	weight int
}{
	{"US", 250}, {"GB", 80}, {"DE", 70}, {"BR", 50}, {"FR", 50}, {"MX", 40}, {"CA", 40}, {"NL", 40},
	{"AU", 30}, {"SE", 30}, {"ES", 30}, {"IT", 25}, {"PL", 20}, {"NO", 20}, {"JP", 20}, {"IN", 20},
	{"ID", 15}, {"PH", 15}, {"TR", 12}, {"AR", 12}, {"CL", 10}, {"CO", 10}, {"DK", 10}, {"FI", 10},
	{"IS", 8}, {"IE", 8}, {"BE", 8}, {"CH", 8}, {"AT", 8}, {"PT", 8}, {"NZ", 6}, {"ZA", 6},
	{"MY", 5}, {"TW", 5}, {"KR", 5}, {"SG", 5}, {"TH", 4}, {"VN", 4}, {"NG", 4}, {"EG", 3},
}

// track is one catalog entry: a song on a release.
type track struct {
	artist, title, album, isrc, upc string
}

// catalog is the label's catalog and the weighted pick tables.
type catalog struct {
	tracks       []track
	storeCum     []int
	countryCum   []int
	storeTotal   int
	countryTotal int
}

var artistsLatin1 = []string{
	"Mara Ellis", "Ørjan Ødegård", "osker wyld", "Néon Skyline", "Tést Ärtist", "Lúna Þórsdóttir",
	"Café Señor", "Zoë & the Façades", "The Blue Hours", "Søren Kjær", "Amélie Brûlée", "Björn Åkesson",
}

var artistsUnicode = []string{"夜の海", "Łucja Żak", "Θάλασσα Band", "Sunset 🌅 Club"}

var titleWordsA = []string{"Tidewater", "Low Tide", "Salt", "Néon", "Glass", "Paper", "Winter", "Satellite", "Velvet",
	"Þögn", "Hafið", "Midnight", "Copper", "Ghost", "Golden", "Silent", "Électrique", "Façade", "Kjærlighet", "Über"}
var titleWordsB = []string{"Lights", "Harbour", "Dreams", "Run", "Garden", "Motel", "Signal", "Rain", "Hearts",
	"Coast", "Dans le Noir", "Mädchen", "Søvn", "Canción", "Fields"}
var titleSuffixes = []string{"", "", "", "", "", " (Remix)", ` (12" Mix)`, ", Pt. 2", " (feat. Mara Ellis)", " - Acoustic",
	" (fyrir ömmu)", ", Sea & Sky", ` "Live"`}

var unicodeTitles = []string{"夜明け", "Żółć", "Καλοκαίρι", "Stars ✨", "Ночь", "🌊 Waves"}

// catalogFor builds the fixed catalog; latin1 restricts it to characters
// latin-1 can represent.
func catalogFor(latin1 bool) *catalog {
	rng := rand.New(rand.NewPCG(20260325, 1))
	c := &catalog{}
	artists := artistsLatin1
	if !latin1 {
		artists = append(append([]string(nil), artistsLatin1...), artistsUnicode...)
	}
	releases := 40
	for rel := 0; rel < releases; rel++ {
		artist := artists[rel%len(artists)]
		album := titleWordsA[rng.IntN(len(titleWordsA))] + " " + titleWordsB[rng.IntN(len(titleWordsB))]
		switch rel % 4 {
		case 1:
			album += " EP"
		case 2:
			album += " (Deluxe)"
		}
		// UPCs: 13-digit EANs with a leading 0, 12-digit UPC-As, a few
		// with two leading zeros.
		var upc string
		switch rel % 5 {
		case 0, 1:
			upc = fmt.Sprintf("0198880%06d", 45560+rel*17)
		case 2, 3:
			upc = fmt.Sprintf("19029%07d", 500000+rel*31)
		default:
			upc = fmt.Sprintf("00724384%05d", 96065+rel)
		}
		n := 5
		if rel%3 == 0 {
			n = 1 + rng.IntN(3)
		} else if rel%3 == 1 {
			n = 4 + rng.IntN(5)
		} else {
			n = 7 + rng.IntN(6)
		}
		for k := 0; k < n; k++ {
			var title string
			switch x := rng.IntN(20); {
			case x < 6:
				title = titleWordsA[rng.IntN(len(titleWordsA))]
			case x < 10:
				title = titleWordsB[rng.IntN(len(titleWordsB))]
			case x < 17:
				title = titleWordsA[rng.IntN(len(titleWordsA))] + " " + titleWordsB[rng.IntN(len(titleWordsB))]
			default:
				title = titleWordsA[rng.IntN(len(titleWordsA))] + titleSuffixes[rng.IntN(len(titleSuffixes))]
			}
			if !latin1 && rng.IntN(8) == 0 {
				title = unicodeTitles[rng.IntN(len(unicodeTitles))]
			}
			if k == 0 && rel == 0 {
				title = "Tidewater"
			}
			if k == 0 && rel == 2 {
				title = "tólfta (fyrir ömmu)"
			}
			isrc := fmt.Sprintf("QZWFV%02d%05d", 18+rel%8, 10000+len(c.tracks)*7)
			c.tracks = append(c.tracks, track{artist: artist, title: strings.TrimSpace(title), album: album, isrc: isrc, upc: upc})
		}
	}
	for _, s := range stores {
		c.storeTotal += s.weight
		c.storeCum = append(c.storeCum, c.storeTotal)
	}
	for _, k := range countries {
		c.countryTotal += k.weight
		c.countryCum = append(c.countryCum, c.countryTotal)
	}
	return c
}

func pick(cum []int, total int, rng *rand.Rand) int {
	x := rng.IntN(total)
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (c *catalog) pickStore(rng *rand.Rand) *store {
	return &stores[pick(c.storeCum, c.storeTotal, rng)]
}

func (c *catalog) pickCountry(rng *rand.Rand, s *store) string {
	if s.ou && rng.IntN(3) == 0 {
		return "OU"
	}
	return countries[pick(c.countryCum, c.countryTotal, rng)].code
}
