package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/sdk"
)

// The host copies a payload file only from the files and folders its
// configuration names, whatever path a plugin sends.
func TestLocalCopyOnlyFromConfiguredPaths(t *testing.T) {
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	require.NoError(t, os.MkdirAll(filepath.Join(inbox, "2026"), 0o755))
	export := filepath.Join(dir, "export.tsv")
	for _, f := range []string{export, filepath.Join(dir, "secret.txt"), filepath.Join(inbox, "2026", "a.tsv")} {
		require.NoError(t, os.WriteFile(f, []byte("x"), 0o644))
	}
	cfg := sdk.Config{"inbox": inbox, "files": export + string(filepath.ListSeparator) + filepath.Join(dir, "missing.tsv"),
		"token": "not a path", "empty": ""}
	roots := localRoots(cfg)
	require.Equal(t, []string{export, inbox}, roots, "existing files and folders of the configuration, nothing else")

	for _, bad := range []string{
		filepath.Join(dir, "secret.txt"),
		inbox + "/../secret.txt",
		"secret.txt",
		dir,
		"/etc/passwd",
	} {
		_, err := startLocalCopy(context.Background(), nil, "landing/x", "fixture", bad, roots, nil)
		require.ErrorContains(t, err, "not among the files and folders of its configuration", bad)
	}
	for _, good := range []string{export, filepath.Join(inbox, "2026", "a.tsv")} {
		require.True(t, sdk.WithinRoots(good, roots), good)
	}
}
