package staging

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStoreAliases(t *testing.T) {
	t.Parallel()
	a, err := loadAliases("")
	require.NoError(t, err)
	require.Equal(t, "Spotify", a.Normalize("  SPOTIFY\t"))
	require.Equal(t, "Instagram/Facebook", a.Normalize("Facebook"))
	require.Equal(t, "Amazon Prime (Streaming)", a.Normalize("Amazon Prime (streaming)"))
	require.Equal(t, "iTunes", a.Normalize("itunes"), "iTunes is not Apple Music")
	require.Equal(t, "Apple Music", a.Normalize("apple  music"))
	require.Equal(t, " Nova  Radio ", a.Normalize(" Nova  Radio "), "unknown stores pass through as written")

	dir := t.TempDir()
	override := filepath.Join(dir, "aliases.yaml")
	require.NoError(t, os.WriteFile(override, []byte("stores:\n  - name: Facebook\n  - name: Nova Radio\n    aliases: [NovaRadio]\n"), 0o644))
	o, err := loadAliases(override)
	require.NoError(t, err)
	require.Equal(t, "Facebook", o.Normalize("FACEBOOK"), "the override wins")
	require.Equal(t, "Nova Radio", o.Normalize("novaradio"))
	require.Equal(t, "Spotify", o.Normalize("spotify"), "the built-in entries stay")
	require.NotEqual(t, a.hash, o.hash, "a changed table changes every fingerprint")

	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("stores:\n  - name: A\n    aliases: [x]\n  - name: B\n    aliases: [X]\n"), 0o644))
	_, err = loadAliases(bad)
	require.ErrorContains(t, err, bad)
	require.ErrorContains(t, err, `names two stores, "A" and "B"`)
	require.NoError(t, os.WriteFile(bad, []byte("store:\n  - name: A\n"), 0o644))
	_, err = loadAliases(bad)
	require.ErrorContains(t, err, "not a valid store alias file")
	_, err = loadAliases(filepath.Join(dir, "missing.yaml"))
	require.ErrorContains(t, err, "missing.yaml")
}
