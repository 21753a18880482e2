package daemon_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pgtest"
	"github.com/bedrot-label/bedrot/host/sqlengine"
)

// With daemon.then: [build, publish], a scheduled or triggered ingest is
// followed by a build of staging and the marts and by their publication to
// PostgreSQL, within the same job: BI sees the new rows when it completes.
func TestIngestIsBuiltAndPublished(t *testing.T) {
	t.Parallel()
	schema := fmt.Sprintf("analytics_daemon_%d", time.Now().UnixNano())
	db, err := sql.Open("pgx", pgtest.URL())
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA IF EXISTS " + schema + " CASCADE")
		_ = db.Close()
	})
	marts, err := filepath.Abs(filepath.Join("..", "..", "config", "marts"))
	require.NoError(t, err)
	f := startWith(t, func(cfg *config.Config) {
		cfg.Daemon.Then = []string{"build", "publish"}
		cfg.Curated.MartsDir = marts
		cfg.Curated.AnalyticsURL = pgtest.URL()
		cfg.Curated.AnalyticsSchema = schema
	})

	ji, err := f.api.Trigger(t.Context(), "distrokid", "")
	require.NoError(t, err)
	ji = f.wait(t, ji.ID, "completed")
	require.Equal(t, metastore.RunSucceeded, ji.RunStatus)

	// BI sees the raw data's total: the mart was built from this ingest and
	// published.
	eng, err := sqlengine.New(sqlengine.Options{Store: f.l.Store, Meta: f.l.Meta})
	require.NoError(t, err)
	var raw string
	_, err = eng.Query(t.Context(), "SELECT CAST(sum(earnings_usd) AS VARCHAR) FROM raw.distrokid_earnings", func(r *sqlengine.Rows) error {
		for r.Next() {
			raw, _ = r.Values()[0].(string)
		}
		return r.Err()
	})
	require.NoError(t, err)
	require.NotEmpty(t, raw)
	var published string
	require.NoError(t, db.QueryRow("SELECT sum(earnings_usd)::text FROM "+schema+".v_royalties_monthly").Scan(&published))
	require.Equal(t, raw, published)
	metrics := f.get(t, "/metrics")
	require.Contains(t, metrics, `bedrot_step_duration_seconds_count{source="distrokid",step="build"} 1`)
	require.Contains(t, metrics, `bedrot_step_duration_seconds_count{source="distrokid",step="publish"} 1`)
}
