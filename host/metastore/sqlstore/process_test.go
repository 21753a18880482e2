package sqlstore_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pgtest"
)

// The helper process is this test binary re-executed with helperEnv set to
// what it should do; it reads the store to open from these variables.
const (
	helperEnv       = "BEDROT_METASTORE_HELPER" // "lease" or "commit"
	helperURLEnv    = "BEDROT_METASTORE_HELPER_URL"
	helperPathEnv   = "BEDROT_METASTORE_HELPER_SQLITE"
	helperSchemaEnv = "BEDROT_METASTORE_HELPER_SCHEMA"
	helperRunEnv    = "BEDROT_METASTORE_HELPER_RUN"
	helperCountEnv  = "BEDROT_METASTORE_HELPER_COUNT"
)

// TestHelperProcess is not a test: it is the body of the helper process.
// In "lease" mode it takes a run's lease, says "locked" on stdout and
// sleeps until killed; in "commit" mode it commits COUNT batches and exits.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process body, run by other tests")
	}
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, sqlstore.Config{
		URL:        os.Getenv(helperURLEnv),
		SQLitePath: os.Getenv(helperPathEnv),
		Schema:     os.Getenv(helperSchemaEnv),
	})
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	runID := os.Getenv(helperRunEnv)

	switch mode {
	case "lease":
		_, err := s.LockRun(ctx, runID)
		require.NoError(t, err)
		fmt.Println("locked")
		time.Sleep(time.Minute) // killed long before
	case "commit":
		n, err := strconv.Atoi(os.Getenv(helperCountEnv))
		require.NoError(t, err)
		for i := range n {
			id := fmt.Sprintf("%s-%d", runID, i)
			_, err := s.Commit(ctx, metastore.Commit{
				RunID:   runID,
				Batches: []metastore.Batch{{Dataset: "raw.procs", ID: id}},
				Files:   []metastore.File{{Dataset: "raw.procs", Key: id, BatchID: id}},
				States:  []metastore.StreamState{{Source: "procs", Stream: "s", State: []byte(id)}},
			})
			require.NoError(t, err)
		}
	default:
		t.Fatalf("unknown helper mode %q", mode)
	}
}

// helperCommand prepares the helper process for a store and run.
func helperCommand(t *testing.T, mode string, cfg sqlstore.Config, runID string, extraEnv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(),
		helperEnv+"="+mode,
		helperURLEnv+"="+cfg.URL,
		helperPathEnv+"="+cfg.SQLitePath,
		helperSchemaEnv+"="+cfg.Schema,
		helperRunEnv+"="+runID,
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestLeaseDiesWithProcessSQLite(t *testing.T) {
	t.Parallel()
	testLeaseDiesWithProcess(t, sqlstore.Config{SQLitePath: filepath.Join(t.TempDir(), "meta.db")})
}

func TestLeaseDiesWithProcessPostgres(t *testing.T) {
	t.Parallel()
	testLeaseDiesWithProcess(t, sqlstore.Config{URL: pgtest.URL(), Schema: testSchema(t)})
}

// testLeaseDiesWithProcess has a helper process take a run's lease, kills it
// with SIGKILL, and expects the lease to be gone.
func testLeaseDiesWithProcess(t *testing.T, cfg sqlstore.Config) {
	ctx := t.Context()
	s, err := sqlstore.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	runID := "run-" + strconv.Itoa(os.Getpid())

	cmd := helperCommand(t, "lease", cfg, runID)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	locked := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "locked" {
				locked <- true
				break
			}
		}
		close(locked)
		for sc.Scan() { // drain
		}
	}()
	select {
	case ok := <-locked:
		require.True(t, ok, "helper process ended without taking the lease")
	case <-time.After(30 * time.Second):
		t.Fatal("helper process did not take the lease in time")
	}

	alive, err := s.RunAlive(ctx, runID)
	require.NoError(t, err)
	require.True(t, alive, "the helper holds the lease")
	_, err = s.LockRun(ctx, runID)
	require.ErrorIs(t, err, metastore.ErrLeaseHeld)

	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no cleanup runs
	_ = cmd.Wait()
	killed = true
	dead := time.Now()

	require.Eventually(t, func() bool {
		alive, err := s.RunAlive(ctx, runID)
		return err == nil && !alive
	}, 10*time.Second, time.Millisecond, "the lease outlived its process")
	t.Logf("lease released %s after the process died", time.Since(dead))

	unlock, err := s.LockRun(ctx, runID)
	require.NoError(t, err, "a dead process's lease can be taken over")
	unlock()
}

// TestSQLiteConcurrentProcesses has several processes commit to one SQLite
// file at once: writers must wait for each other, never fail with
// SQLITE_BUSY.
func TestSQLiteConcurrentProcesses(t *testing.T) {
	t.Parallel()
	const procs, commits = 3, 30
	cfg := sqlstore.Config{SQLitePath: filepath.Join(t.TempDir(), "meta.db")}

	// The helpers and this process also create the database together.
	var cmds []*exec.Cmd
	for p := range procs {
		cmd := helperCommand(t, "commit", cfg, fmt.Sprintf("proc%d", p), helperCountEnv+"="+strconv.Itoa(commits))
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	s, err := sqlstore.Open(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	// This process commits alongside them.
	for i := range commits {
		id := fmt.Sprintf("parent-%d", i)
		_, err := s.Commit(t.Context(), metastore.Commit{
			RunID:   "parent",
			Batches: []metastore.Batch{{Dataset: "raw.procs", ID: id}},
			Files:   []metastore.File{{Dataset: "raw.procs", Key: id, BatchID: id}},
		})
		require.NoError(t, err)
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Wait())
	}
	files, err := s.ListFiles(t.Context(), "raw.procs")
	require.NoError(t, err)
	require.Len(t, files, (procs+1)*commits)
}
