package storage_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/storage"
)

func TestValidateKey(t *testing.T) {
	t.Parallel()
	good := []string{
		"a", "raw/source=distrokid/date=2026-11-26/part-0.parquet", ".agent/context/x.json",
		"a..b/c.", "sp ace/é/日本/🎵", "k=v=w", strings.Repeat("s", storage.MaxSegmentLen),
	}
	for _, key := range good {
		require.NoError(t, storage.ValidateKey(key), key)
	}
	bad := map[string]string{
		"":                        "empty",
		"/a":                      "starts with",
		"a/":                      "ends with",
		"a//b":                    "empty path segment",
		"a/./b":                   `"." path segment`,
		"../a":                    `".." path segment`,
		"a\x00":                   "control character",
		"a\tb":                    "control character",
		"a\\b":                    "backslash",
		"\xff":                    "UTF-8",
		strings.Repeat("a/", 600): "longer than 1024",
		strings.Repeat("s", storage.MaxSegmentLen+1): "longer than 255",
	}
	for key, msg := range bad {
		err := storage.ValidateKey(key)
		require.ErrorIs(t, err, storage.ErrInvalidKey, key)
		require.ErrorContains(t, err, msg, key)
	}
}

func TestValidatePrefix(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "raw", "raw/", "raw/source=a", "raw/source=a/da", "raw/.", "raw/..x"} {
		require.NoError(t, storage.ValidatePrefix(p), p)
	}
	for _, p := range []string{"/raw", "raw//", "../raw", "raw/../x", "./", "a\x00", "a\\"} {
		require.ErrorIs(t, storage.ValidatePrefix(p), storage.ErrInvalidKey, p)
	}
}
