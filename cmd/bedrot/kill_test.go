package main_test

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/plugins/distrokid/exportgen"
)

// killRuns kills `bedrot ingest` with SIGKILL at random moments, then lets
// the next run finish, and checks after every round that the lake holds each
// export's rows exactly once and no file a manifest does not list.
func killRuns(t *testing.T, c *cli, rounds, rowsPerFile int, readRaw func() string) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	dir := t.TempDir()

	// How long one uninterrupted ingest takes bounds the kill moments.
	warm, s0 := export(t, dir, "DistroKid_warmup.tsv", exportgen.Options{Rows: rowsPerFile, Seed: 1000})
	start := time.Now()
	c.ok("ingest", "distrokid", warm)
	full := time.Since(start)
	sums := []string{s0.Earnings}
	rows := s0.Rows

	for i := 0; i < rounds; i++ {
		p, s := export(t, dir, fmt.Sprintf("DistroKid_%02d.tsv", i), exportgen.Options{Rows: rowsPerFile, Seed: uint64(i + 1)})
		cmd := exec.Command(c.bin, "ingest", "distrokid", p)
		cmd.Env = c.env
		require.NoError(t, cmd.Start())
		time.Sleep(time.Duration(rng.Int64N(int64(full) * 5 / 4)))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()

		// The next run sweeps what the killed one left and ingests the
		// file unless the killed run had already committed it.
		c.ok("ingest", "distrokid", p)
		sums, rows = append(sums, s.Earnings), rows+s.Rows
		gotRows, gotSum := duck(t, readRaw())
		require.Equal(t, rows, gotRows, "round %d: rows after kill and rerun", i)
		require.Equal(t, addE12(t, sums...), gotSum, "round %d", i)
		ls := c.json("ls", "--all")
		for _, it := range ls["items"].([]any) {
			item := it.(map[string]any)
			require.True(t, item["listed"].(bool) || !item["managed"].(bool), "round %d: debris left: %s", i, item["key"])
		}
	}
	runs := c.json("runs", "-n", "200")
	abandoned := 0
	for _, it := range runs["items"].([]any) {
		st := it.(map[string]any)["status"]
		require.NotEqual(t, "running", st, "no run may stay 'running' after its process died")
		if st == "abandoned" {
			abandoned++
		}
	}
	t.Logf("%d rounds, %d runs killed mid-way (abandoned)", rounds, abandoned)
}

func TestKill9FolderSQLite(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.setupLake()
	killRuns(t, c, 20, 40000, func() string { return c.lake })
}

func TestKill9MinIOPostgres(t *testing.T) {
	t.Parallel()
	env, st := minioPostgresEnv(t)
	c := newCLI(t, env...)
	c.setupLake()
	killRuns(t, c, 10, 40000, func() string { return downloadLake(t, st) })
}

var _ storage.Store // the MinIO variant reads raw through the store
var _ = filepath.Join
