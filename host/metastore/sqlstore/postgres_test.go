package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/metastoretest"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pgtest"
)

func TestPostgres(t *testing.T) {
	t.Parallel()
	metastoretest.Exercise(t, func(t *testing.T) metastore.Store { return openPostgres(t) })
}

// openPostgres opens a store in a new schema, dropped when the test ends.
func openPostgres(t testing.TB) metastore.Store {
	t.Helper()
	schema := testSchema(t)
	s, err := sqlstore.OpenPostgres(t.Context(), pgtest.URL(), schema)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// testSchema names a new schema bedrot_test_<random> and drops it (if it
// was created) when the test ends, after the test's stores are closed.
func testSchema(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bedrot_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := testDB(t).ExecContext(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
		require.NoError(t, err)
	})
	return schema
}

// testDB is a plain connection pool to the test server, closed when the
// test ends.
func testDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}
