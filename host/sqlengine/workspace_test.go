package sqlengine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/sqlengine"
)

func TestWorkspaceReadsGivenFilesAndWritesOnlyItsFolder(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, l *lake) {
		seed(t, l)
		ctx := context.Background()
		e := l.engine(t)
		files, err := l.meta.ListFiles(ctx, "raw.distrokid.earnings")
		require.NoError(t, err)
		require.Len(t, files, 2)
		dir := t.TempDir()
		// Only the first file is given.
		w, err := e.Workspace(ctx, files[:1], dir)
		require.NoError(t, err)
		defer w.Close()
		p := w.Path(files[0].Key)
		require.NotEmpty(t, p)
		require.Empty(t, w.Path(files[1].Key))

		var n int64
		require.NoError(t, w.Conn().QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+sqlengine.QuoteString(p)+")").Scan(&n))
		require.EqualValues(t, 2, n)

		out := filepath.Join(dir, "out.parquet")
		_, err = w.Conn().ExecContext(ctx, "COPY (SELECT * FROM read_parquet("+sqlengine.QuoteString(p)+")) TO "+
			sqlengine.QuoteString(out)+" (FORMAT parquet, COMPRESSION zstd)")
		require.NoError(t, err)
		require.FileExists(t, out)
		require.NoError(t, w.Conn().QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+sqlengine.QuoteString(out)+")").Scan(&n))
		require.EqualValues(t, 2, n)

		// Writing outside the folder, reading a file not given, and
		// undoing the lock all fail.
		outside := filepath.Join(t.TempDir(), "x.parquet")
		_, err = w.Conn().ExecContext(ctx, "COPY (SELECT 1 AS a) TO "+sqlengine.QuoteString(outside)+" (FORMAT parquet)")
		require.Error(t, err)
		require.NoFileExists(t, outside)
		if l.local {
			other := filepath.Join(filepath.Dir(filepath.Dir(p)), "date=2026-11-27", filepath.Base(files[1].Key))
			_, err = w.Conn().ExecContext(ctx, "SELECT count(*) FROM read_parquet("+sqlengine.QuoteString(other)+")")
			require.Error(t, err)
		}
		_, err = w.Conn().ExecContext(ctx, "SET enable_external_access = true")
		require.Error(t, err)

		require.NoError(t, w.Close())
		_, err = os.Stat(out)
		require.NoError(t, err, "the workspace folder belongs to the caller")
	})
}
