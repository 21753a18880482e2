package identity_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/identity"
)

func TestLoadOverridesExample(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "overrides.yaml")
	ov, err := identity.LoadOverrides(path)
	require.NoError(t, err)
	require.Equal(t, identity.Overrides{
		{Source: identity.SourceS4A, Key: "Þögn (fyrir ömmu)", ISRC: "QZWFV2600132",
			Note: "the album version; the sampler cut is QZWFV2600130", File: path, Line: 27},
		{Source: identity.SourceS4A, Key: "tólfta (fyrir ömmu)", ISRC: "QZWFV2600138", Note: "single version", File: path, Line: 33},
		{Source: identity.SourceS4A, Key: "Sampler Opening, Pt. 1", Artist: "Mara Ellis", ISRC: "QZWFV2600129", File: path, Line: 39},
		{Source: identity.SourceSpotify, Key: "ntjHexeZqWLdDzw4kwrFud", ISRC: "QZWFV2600103", File: path, Line: 45},
		{Source: identity.SourceTikTok, Key: "7569912233445566778", ISRC: "none", Note: "cover by another band, not our recording", File: path, Line: 50},
		{Source: identity.SourceDistroKid, Key: "Lighthouse", Artist: "Mara Ellis", ISRC: "QZWFV2600128", File: path, Line: 56},
	}, ov)
	require.True(t, ov[4].None())
	require.False(t, ov[0].None())
}

func TestLoadOverridesMissingOrEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ov, err := identity.LoadOverrides(filepath.Join(dir, "identity_overrides.yaml"))
	require.NoError(t, err, "a missing file is no overrides")
	require.Empty(t, ov)
	for _, text := range []string{"", "\n# only a comment\n", "version: 1\n", "version: 1\noverrides:\n", "overrides: []\n"} {
		ov, err := identity.ParseOverrides("x.yaml", []byte(text))
		require.NoError(t, err, "%q", text)
		require.Empty(t, ov, "%q", text)
	}
	// A directory is not a file.
	_, err = identity.LoadOverrides(dir)
	require.Error(t, err)
}

func TestLoadOverridesForms(t *testing.T) {
	t.Parallel()
	ov, err := identity.ParseOverrides("o.yaml", []byte(`
overrides:
  - {source: tiktok, key: 7380080137682881835, isrc: NONE}
  - source: tiktok
    key: "https://www.tiktok.com/@maraellismusic/video/7380080137682881836?utm_campaign=tt4d_open_api"
    isrc: qz-wfv-26-00103
  - source: Spotify
    key: spotify:track:ntjHexeZqWLdDzw4kwrFud
    isrc: QZWFV2600103
  - source: s4a
    key: Harbour Lights
    isrc: QZWFV2600103
  - source: s4a
    key: HARBOUR LIGHTS
    artist: Mara Ellis
    isrc: QZWFV2600103
`))
	require.NoError(t, err)
	require.Len(t, ov, 5)
	require.Equal(t, "7380080137682881835", ov[0].Key, "a 19-digit id written as a number stays exact")
	require.True(t, ov[0].None())
	require.Equal(t, "none", ov[0].ISRC)
	require.Equal(t, "7380080137682881836", ov[1].Key)
	require.Equal(t, "QZWFV2600103", ov[1].ISRC)
	require.Equal(t, identity.SourceSpotify, ov[2].Source)
	require.Equal(t, "ntjHexeZqWLdDzw4kwrFud", ov[2].Key)
	require.Equal(t, 13, ov[4].Line)
}

func TestLoadOverridesErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"not yaml", "overrides:\n  - source: s4a\n   key: x\n", []string{"bad.yaml", "not valid YAML"}},
		{"list at top", "- source: s4a\n", []string{"bad.yaml:1", "mapping with an overrides: list"}},
		{"unknown top field", "version: 1\noverides: []\n", []string{"bad.yaml:2", `unknown top-level field "overides"`}},
		{"version", "version: 2\n", []string{"bad.yaml:1", "version \"2\" is not supported"}},
		{"overrides not a list", "overrides:\n  source: s4a\n", []string{"bad.yaml:2", "must be a list"}},
		{"entry not a mapping", "overrides:\n  - s4a\n", []string{"bad.yaml:2", "must be a mapping"}},
		{"unknown field", "overrides:\n  - source: s4a\n    key: x\n    isrc: none\n    title: y\n", []string{"bad.yaml:5", `unknown field "title"`, "source, key, artist, isrc, note"}},
		{"missing source", "overrides:\n  - key: x\n    isrc: none\n", []string{"bad.yaml:2", "source is missing"}},
		{"bad source", "overrides:\n  - source: youtube\n    key: x\n    isrc: none\n", []string{"bad.yaml:2", `source "youtube"`}},
		{"missing key", "overrides:\n  - source: s4a\n    isrc: none\n", []string{"bad.yaml:2", "key is missing", "song title"}},
		{"empty key", "overrides:\n  - source: spotify\n    key: \"\"\n    isrc: none\n", []string{"bad.yaml:3", "key is missing", "Spotify track id"}},
		{"key without letters", "overrides:\n  - source: s4a\n    key: \"???\"\n    isrc: none\n", []string{"bad.yaml:3", "no letters or digits"}},
		{"bad spotify id", "overrides:\n  - source: spotify\n    key: notanid\n    isrc: none\n", []string{"bad.yaml:3", `"notanid" is not a Spotify track id`}},
		{"bad tiktok id", "overrides:\n  - source: tiktok\n    key: abc\n    isrc: none\n", []string{"bad.yaml:3", "not a TikTok video id"}},
		{"artist on spotify", "overrides:\n  - source: spotify\n    key: ntjHexeZqWLdDzw4kwrFud\n    artist: Mara Ellis\n    isrc: none\n", []string{"bad.yaml:4", "artist only applies to s4a and distrokid"}},
		{"missing isrc", "overrides:\n  - source: s4a\n    key: x\n", []string{"bad.yaml:2", "isrc is missing", "none"}},
		{"null isrc", "overrides:\n  - source: s4a\n    key: x\n    isrc: ~\n", []string{"bad.yaml:4", "isrc is missing"}},
		{"bad isrc", "overrides:\n  - source: s4a\n    key: x\n    isrc: QZWFV26001\n", []string{"bad.yaml:4", `isrc "QZWFV26001" is not an ISRC`}},
		{"list value", "overrides:\n  - source: s4a\n    key: [a, b]\n    isrc: none\n", []string{"bad.yaml:3", "key must be a single value"}},
		{"field twice", "overrides:\n  - source: s4a\n    key: a\n    key: b\n    isrc: none\n", []string{"bad.yaml:4", "key given twice"}},
		{"duplicate entry", "overrides:\n  - source: s4a\n    key: Þögn (fyrir ömmu)\n    isrc: none\n  - source: s4a\n    key: THOGN fyrir ommu\n    isrc: QZWFV2600132\n",
			[]string{"bad.yaml:5", "duplicate entry: line 2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "bad.yaml")
			require.NoError(t, os.WriteFile(path, []byte(c.yaml), 0o600))
			_, err := identity.LoadOverrides(path)
			require.Error(t, err)
			for _, w := range c.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}
