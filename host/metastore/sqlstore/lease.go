package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// leaseReleaseTimeout bounds how long releasing a PostgreSQL lease waits.
const leaseReleaseTimeout = 10 * time.Second

// LockRun takes the run's liveness lease. The lease lives as long as the
// process does: on SQLite it is an flock on a file beside the database, on
// PostgreSQL a session advisory lock held on a dedicated connection; the
// kernel or the server drops it when the process dies. It returns
// metastore.ErrLeaseHeld (wrapped) if the lease is already held. unlock is
// idempotent.
func (s *store) LockRun(ctx context.Context, runID string) (unlock func(), err error) {
	if runID == "" {
		return nil, fmt.Errorf("failed to lock run: empty run ID")
	}
	if s.dialect == DialectSQLite {
		return lockFile(ctx, s.leasePath(runID))
	}
	return s.lockAdvisory(ctx, runID)
}

// RunAlive reports whether some process holds the run's lease. It does not
// take the lease, so it never makes a concurrent LockRun fail.
func (s *store) RunAlive(ctx context.Context, runID string) (bool, error) {
	if s.dialect == DialectSQLite {
		return fileLocked(s.leasePath(runID))
	}
	return s.advisoryHeld(ctx, runID)
}

// plainRunID matches run IDs usable as they are in a lease file name.
var plainRunID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// leasePath is the SQLite lease file of a run: locks/run-<id>.lock, with
// the ID hashed when it is not a plain file name.
func (s *store) leasePath(runID string) string {
	name := runID
	if !plainRunID.MatchString(runID) {
		sum := sha256.Sum256([]byte(runID))
		name = "sha256-" + hex.EncodeToString(sum[:])
	}
	return filepath.Join(s.lockDir, "run-"+name+".lock")
}

// lockAdvisory takes a session-level advisory lock on a connection of its
// own, kept out of the pool until unlock.
func (s *store) lockAdvisory(ctx context.Context, runID string) (func(), error) {
	key := lockKey("run", s.lockNamespace, runID)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to lock run %q: failed to get a connection: %w", runID, err)
	}
	var locked bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&locked); err != nil {
		// The lock may have been granted before the error: never pool this
		// connection again.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
		return nil, fmt.Errorf("failed to lock run %q: %w", runID, err)
	}
	if !locked {
		_ = conn.Close()
		return nil, fmt.Errorf("failed to lock run %q: %w", runID, metastore.ErrLeaseHeld)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
			defer cancel()
			var released bool
			err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&released)
			if err != nil || !released {
				// Closing the session releases whatever it holds.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			_ = conn.Close()
		})
	}, nil
}

// advisoryHeld looks the run's advisory lock up in pg_locks, which shows the
// locks of every session in the database.
func (s *store) advisoryHeld(ctx context.Context, runID string) (bool, error) {
	key := uint64(lockKey("run", s.lockNamespace, runID))
	var held bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (
		SELECT 1 FROM pg_locks
		WHERE locktype = 'advisory'
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1
		  AND granted)`,
		int64(key>>32), int64(key&0xffffffff)).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("failed to check whether run %q is alive: %w", runID, err)
	}
	return held, nil
}
