package identity

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"Harbour Lights", "harbour lights"},
		{"  HARBOUR   lights\t\n", "harbour lights"},
		{"Þögn (fyrir ömmu)", "thogn fyrir ommu"},
		{"tólfta (fyrir ömmu)", "tolfta fyrir ommu"},
		{"Ørjan Ødegård", "orjan odegard"},
		{"Mørke", "morke"},
		{"Ødemark", "odemark"},
		{"Lúna Þórsdóttir", "luna thorsdottir"},
		{"Æther Ðream", "aether dream"},
		{"Søren Kjær", "soren kjaer"},
		{"Straße", "strasse"},
		{"Œuvre", "oeuvre"},
		{"Łucja Żak", "lucja zak"},
		{"Café Señor", "cafe senor"},
		{"Zoë & the Façades", "zoe and the facades"},
		{"Néon Skyline", "neon skyline"},
		{`12" Mix`, "12 mix"},
		{"Sampler Opening, Pt. 1", "sampler opening pt 1"},
		{"Don't Stop", "dont stop"},
		{"Don’t Stop", "dont stop"},
		{"studio day 🎛️ #newmusic #tidewater", "studio day newmusic tidewater"},
		{"ＦＵＬＬ　ＷＩＤＴＨ", "full width"},
		{"ﬁre", "fire"},
		{"Καλοκαίρι", "καλοκαιρι"},
		{"ΟΔΥΣΣΕΥΣ", "οδυσσευσ"},
		{"Ночь", "ночь"},
		{"Йогурт", "иогурт"},
		{"夜明け", "夜明け"},
		{"が", "が"},         // dakuten is part of the kana, kept
		{"한국어", "한국어"},     // Hangul recomposed
		{"हिंदी", "हिंदी"}, // Devanagari marks kept
		{"---", ""},
		{"", ""},
		{"🌊 Waves", "waves"},
		{"R&B", "r and b"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, Normalize(c.in), "Normalize(%q)", c.in)
	}
}

func TestBaseTitle(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"Harbour Lights", "harbour lights"},
		{"Harbour Lights - Radio Edit", "harbour lights"},
		{"Harbour Lights (Radio Edit)", "harbour lights"},
		{"Harbour Lights – Remastered 2011", "harbour lights"},
		{"Harbour Lights - 2011 Remaster", "harbour lights"},
		{"Harbour Lights (Remastered 2024)", "harbour lights"},
		{"Harbour Lights [Remastered]", "harbour lights"},
		{"Harbour Lights (feat. Ørjan Ødegård)", "harbour lights"},
		{"Harbour Lights (ft. osker wyld) [Single Version]", "harbour lights"},
		{"Harbour Lights (with osker wyld)", "harbour lights"},
		{"Harbour Lights feat. osker wyld", "harbour lights"},
		{"Harbour Lights ft osker wyld", "harbour lights"},
		{"Harbour Lights - feat. osker wyld", "harbour lights"},
		{"Harbour Lights (Explicit)", "harbour lights"},
		{"Harbour Lights - Mono", "harbour lights"},
		// Other recordings keep their note.
		{"Fjord (Acoustic)", "fjord acoustic"},
		{"Fjord - Live", "fjord live"},
		{"Fjord (Remix)", "fjord remix"},
		{`Tidewater (12" Mix)`, "tidewater 12 mix"},
		{"Sampler Opening, Pt. 1", "sampler opening pt 1"},
		{"Þögn (fyrir ömmu)", "thogn fyrir ommu"},
		{"Dancing with Ghosts", "dancing with ghosts"},
		{"Song - With You", "song with you"}, // "with" only credits inside brackets
		// Nothing left: the full title.
		{"(Radio Edit)", "radio edit"},
		{"Feat", "feat"},
		{"Unclosed (feat. X", "unclosed"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, BaseTitle(c.in), "BaseTitle(%q)", c.in)
	}
}

func TestArtistKeys(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want []string
	}{
		{"Mara Ellis", []string{"mara ellis"}},
		{"Ørjan Ødegård", []string{"orjan odegard"}},
		{"Mara Ellis & Ørjan Ødegård", []string{"mara ellis", "mara ellis and orjan odegard", "orjan odegard"}},
		{"Mara Ellis, osker wyld", []string{"mara ellis", "mara ellis osker wyld", "osker wyld"}},
		{"Mara Ellis feat. osker wyld", []string{"mara ellis", "mara ellis feat osker wyld", "osker wyld"}},
		{"Mara Ellis x osker wyld", []string{"mara ellis", "mara ellis x osker wyld", "osker wyld"}},
		{"", nil},
	}
	for _, c := range cases {
		require.Equal(t, c.want, ArtistKeys(c.in), "ArtistKeys(%q)", c.in)
	}
}

func TestNormalizeISRC(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"QZWFV2600103", "QZWFV2600103", true},
		{"qzwfv2600103", "QZWFV2600103", true},
		{"QZ-WFV-26-00103", "QZWFV2600103", true},
		{" ISRC QZ WFV 26 00103 ", "QZWFV2600103", true},
		{"US-RC1-76-07839", "USRC17607839", true},
		{"QZWFV260010", "QZWFV260010", false},   // 11 characters
		{"1ZWFV2600103", "1ZWFV2600103", false}, // country must be letters
		{"QZWFV26A0103", "QZWFV26A0103", false}, // year and number are digits
		{"N/A", "N/A", false},
	}
	for _, c := range cases {
		got, ok := NormalizeISRC(c.in)
		require.Equal(t, c.ok, ok, "NormalizeISRC(%q) ok", c.in)
		require.Equal(t, c.want, got, "NormalizeISRC(%q)", c.in)
	}
}

func TestNormalizeUPC(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"0198880045560", "0198880045560", true},
		{"198880045560", "0198880045560", true}, // UPC-A is EAN-13 with a leading 0
		{"00198880045560", "0198880045560", true},
		{"0072438496065", "0072438496065", true}, // other leading zeros are kept
		{"1902950000012", "1902950000012", true},
		{"96385074", "96385074", true}, // EAN-8
		{"0198 8800 4556 0", "0198880045560", true},
		{"000000000000", "000000000000", false},
		{"12345", "12345", false},
		{"19888004556X", "19888004556X", false},
		{"", "", false},
	}
	for _, c := range cases {
		got, ok := NormalizeUPC(c.in)
		require.Equal(t, c.ok, ok, "NormalizeUPC(%q) ok", c.in)
		require.Equal(t, c.want, got, "NormalizeUPC(%q)", c.in)
	}
}

func TestWithinOneEdit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		want bool
	}{
		{"harbour lights", "harbour lights", true},
		{"harbor lights", "harbour lights", true}, // deletion
		{"harbour lights", "harbor lights", true},
		{"harbour lihgts", "harbour lights", true}, // swap
		{"harbour nights", "harbour lights", true}, // substitution
		{"harbor nights", "harbour lights", false},
		{"harbour lights!!", "harbour lights", false},
		{"", "a", true},
		{"ab", "ba", true},
		{"abc", "cab", false},
	}
	for _, c := range cases {
		require.Equal(t, c.want, withinOneEdit([]rune(c.a), []rune(c.b)), "%q vs %q", c.a, c.b)
	}
}

func TestDatesCompatible(t *testing.T) {
	t.Parallel()
	require.True(t, datesCompatible("2019", "2019-01-01"))
	require.True(t, datesCompatible("2025-06", "2025-06-01"))
	require.True(t, datesCompatible("2026-01-16", "2026-01-16"))
	require.False(t, datesCompatible("2026-01-16", "2026-01-17"))
	require.False(t, datesCompatible("2022", "2025-01-01"))
	require.Equal(t, "2026-01-16", normalizeDate("2026-01-16T00:00:00Z"))
	require.Equal(t, "2019", normalizeDate("2019"))
	require.Empty(t, normalizeDate("n/a"))
	require.Empty(t, normalizeDate("16/01/2026"))
}

func TestQuotedAndHashtags(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"Harbor Lights"}, quoted(`"Harbor Lights" (acoustic) 🌊`))
	require.Equal(t, []string{"finally"}, quoted(`my 12" mix is "finally" done`), "12\" is an inch mark")
	require.Equal(t, []string{"Þögn", "Mørke"}, quoted(`„Þögn“ und «Mørke»`))
	require.Equal(t, []string{"Harbour Lights"}, quoted(`new single “Harbour Lights” out now`))
	require.Empty(t, quoted(`unclosed "quote`))
	require.Equal(t, []string{"newmusic", "tidewater"}, hashtags("studio day 🎛️ #newmusic #tidewater"))
	require.Equal(t, []string{"harbourlights", "thogn"}, hashtags("#Harbour_Lights out now #Þögn!"))
	require.Empty(t, hashtags("# not a tag, C# minor"))
}
