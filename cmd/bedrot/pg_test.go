package main_test

import (
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pgtest"
)

var schemaSeq atomic.Int64

// newSchema names a fresh PostgreSQL schema (bedrot creates it) and drops it
// when the test ends.
func newSchema(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("bedrot_cli_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, schemaSeq.Add(1))
	t.Cleanup(func() {
		db, err := sql.Open("pgx", pgtest.URL())
		require.NoError(t, err)
		defer db.Close()
		_, err = db.Exec("DROP SCHEMA IF EXISTS " + name + " CASCADE")
		require.NoError(t, err)
	})
	return name
}
