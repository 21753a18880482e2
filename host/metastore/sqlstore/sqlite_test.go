package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/metastoretest"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	metastoretest.Exercise(t, func(t *testing.T) metastore.Store { return openSQLite(t) })
}

// openSQLite opens a fresh SQLite store in a temporary folder.
func openSQLite(t testing.TB) metastore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}
