package main_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"

	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	tiktokemu "github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
)

// daemonProc is a `bedrot serve` process.
type daemonProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stderr bytes.Buffer
	// exited is closed when the process has exited, err its Wait error.
	exited chan struct{}
	err    error
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// serve starts a daemon and waits until it is ready.
func (c *cli) serve(id string, extra ...string) *daemonProc {
	c.t.Helper()
	addr := freeAddr(c.t)
	d := &daemonProc{t: c.t, url: "http://" + addr, exited: make(chan struct{})}
	d.cmd = exec.Command(c.bin, append([]string{"serve", "--http", addr, "--id", id, "--grace", "10s"}, extra...)...)
	d.cmd.Env = c.env
	d.cmd.Stderr = lockedWriter{&d.mu, &d.stderr}
	require.NoError(c.t, d.cmd.Start())
	go func() { d.err = d.cmd.Wait(); close(d.exited) }()
	c.t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.exited
	})
	require.Eventually(c.t, func() bool {
		resp, err := http.Get(d.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "daemon %s never became ready:\n%s", id, d.log())
	return d
}

func (d *daemonProc) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

// jobs lists the daemon's jobs through its API.
func (d *daemonProc) jobs(query string) []jobView {
	d.t.Helper()
	resp, err := http.Get(d.url + "/api/v1/jobs?limit=1000&" + query)
	require.NoError(d.t, err)
	defer resp.Body.Close()
	require.Equal(d.t, http.StatusOK, resp.StatusCode)
	var jobs []jobView
	require.NoError(d.t, json.NewDecoder(resp.Body).Decode(&jobs))
	return jobs
}

// waitJob waits up to a minute for job id to reach state, and returns it.
func (d *daemonProc) waitJob(id int64, state, msg string) jobView {
	d.t.Helper()
	var job jobView
	if !assert.Eventually(d.t, func() bool {
		for _, j := range d.jobs("") {
			if j.ID == id {
				job = j
				return j.State == state
			}
		}
		return false
	}, 60*time.Second, 100*time.Millisecond) {
		// The job and the log as they are now, not as they were when the
		// wait began.
		d.t.Fatalf("%s: job %d is %q, not %q: %+v\n%s", msg, id, job.State, state, job, d.log())
	}
	return job
}

type jobView struct {
	ID          int64      `json:"id"`
	Source      string     `json:"source"`
	Trigger     string     `json:"trigger"`
	Tick        *time.Time `json:"tick"`
	State       string     `json:"state"`
	Attempt     int        `json:"attempt"`
	AttemptedBy []string   `json:"attempted_by"`
	RunID       string     `json:"run_id"`
	RunStatus   string     `json:"run_status"`
	Skipped     string     `json:"skipped"`
	LastError   string     `json:"last_error"`
}

func secretsKey() string {
	return base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
}

// Two daemons share one PostgreSQL and one MinIO. TikTok is scheduled every
// 3 s. One daemon is killed with SIGKILL in the middle of a run; the other
// rescues that job and finishes it, and goes on with every tick. Each tick
// has exactly one job and ran once; every run delivered one whole
// snapshot; SIGTERM stops the survivor with exit 0.
func TestTwoDaemonsShareTheScheduleAndRescueAKilledOne(t *testing.T) {
	t.Parallel()
	em, emURL := startTiktok(t, tiktokemu.Options{ClientKey: "awbedrottest", ClientSecret: "two-daemons-secret", RefreshToken: "rft.first",
		VideoCount: 60, Seed: 5, SlowDelay: 150 * time.Millisecond})
	backend, st := minioPostgresEnv(t)
	env := append(tiktokEnv(emURL, em), backend...)
	env = append(env, "BEDROT_SECRETS_KEY="+secretsKey(), "BEDROT_SOURCES__TIKTOK__SCHEDULE=@every 3s",
		"BEDROT_DAEMON_RETRY_BACKOFF=500ms", "BEDROT_DAEMON_CHECK_INTERVAL=1s", "BEDROT_LOG_LEVEL=info")
	c := newCLI(t, env...)
	c.ok("init")
	c.ok("plugin", "install", plugintest.Build(t, "plugins/tiktok/cmd/bedrot-source-tiktok"))

	a := c.serve("daemon-a")
	b := c.serve("daemon-b")

	// Kill daemon A while it runs a job: its plugin is up (a job for a tick
	// that is skipped, because a run is still going on, is running for a
	// moment too, but runs no plugin).
	var victim jobView
	require.Eventually(t, func() bool {
		for _, j := range b.jobs("state=running") {
			if len(j.AttemptedBy) > 0 && j.AttemptedBy[len(j.AttemptedBy)-1] == "daemon-a" &&
				childPID(t, a.cmd.Process.Pid, "bedrot-source-tiktok") != 0 {
				victim = j
				return true
			}
		}
		return false
	}, 60*time.Second, 20*time.Millisecond, "daemon A never ran a job:\nA:\n%s\nB:\n%s", a.log(), b.log())
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	<-a.exited
	killedAt := time.Now()

	// B rescues the job and finishes it, within seconds.
	victim = b.waitJob(victim.ID, "completed", "the killed daemon's job was not finished by the other")
	t.Logf("job %d rescued and completed %s after the kill", victim.ID, time.Since(killedAt).Round(time.Millisecond))
	for _, line := range strings.Split(b.log(), "\n") {
		if strings.Contains(line, "rescu") {
			t.Log(line)
		}
	}
	// A, then B (more than once if B found the source busy and waited).
	require.Equal(t, "daemon-a", victim.AttemptedBy[0])
	require.GreaterOrEqual(t, len(victim.AttemptedBy), 2, "%+v\nA:\n%s\nB:\n%s", victim, a.log(), b.log())
	for _, by := range victim.AttemptedBy[1:] {
		require.Equal(t, "daemon-b", by)
	}
	require.Equal(t, "succeeded", victim.RunStatus)
	time.Sleep(7 * time.Second) // B alone keeps the schedule

	require.NoError(t, b.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-b.exited:
		require.NoError(t, b.err, "SIGTERM stops the daemon with exit 0:\n%s", b.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("the daemon did not stop on SIGTERM:\n%s", b.log())
	}
	require.Contains(t, b.log(), "stopped")

	// Every tick: one job, done once, by one of the daemons.
	jobs := c.jsonJobs()
	perTick := map[time.Time]int{}
	var ticks []time.Time
	ran := 0
	for _, j := range jobs {
		require.Equal(t, "schedule", j.Trigger)
		require.NotNil(t, j.Tick)
		perTick[*j.Tick]++
		ticks = append(ticks, *j.Tick)
		if j.State != "completed" {
			continue // the last ticks may still be queued after the stop
		}
		if j.Skipped != "" {
			require.Contains(t, j.Skipped, "still running", "a tick is skipped only while the previous run goes on")
			continue
		}
		ran++
		require.Equal(t, "succeeded", j.RunStatus, "job %d", j.ID)
	}
	for tick, n := range perTick {
		require.Equal(t, 1, n, "tick %s has %d jobs", tick, n)
	}
	// No tick was lost while A was dead: ticks are every 3 s without gaps.
	for i := 1; i < len(ticks); i++ {
		require.Equal(t, 3*time.Second, ticks[i-1].Sub(ticks[i]), "jobs are newest first, one per 3 s tick")
	}
	require.GreaterOrEqual(t, ran, 4)

	// Every run that succeeded left exactly one whole snapshot: the killed
	// attempt added nothing, the rescued one everything.
	lake := downloadAll(t, st)
	snapshots, digest := snapshotDigest(t, lake)
	succeeded := 0
	for _, r := range c.json("runs", "--source", "tiktok", "-n", "200")["items"].([]any) {
		if r.(map[string]any)["status"] == "succeeded" {
			succeeded++
		}
	}
	require.Equal(t, succeeded, snapshots)
	for _, d := range strings.Split(digest, ";") {
		require.True(t, strings.HasPrefix(d, "60/60/"), "a snapshot holds each of the 60 videos once: %s", d)
	}
}

// A daemon killed during a job's last attempt: the daemon that rescues the
// job discards it, marks the dead daemon's run abandoned at once (no run
// follows to sweep it), and raises the source's run_failed alert, since
// that run is the job's outcome.
func TestRescuedLastAttemptRaisesRunFailed(t *testing.T) {
	t.Parallel()
	em, emURL := startTiktok(t, tiktokemu.Options{ClientKey: "awbedrottest", ClientSecret: "last-attempt-secret", RefreshToken: "rft.first",
		VideoCount: 60, Seed: 7, SlowDelay: 300 * time.Millisecond})
	env := append(tiktokEnv(emURL, em), "BEDROT_SECRETS_KEY="+secretsKey(), "BEDROT_DAEMON_MAX_ATTEMPTS=1",
		"BEDROT_DAEMON_CHECK_INTERVAL=1s", "BEDROT_LOG_LEVEL=info")
	c := newCLI(t, env...)
	c.ok("init")
	c.ok("plugin", "install", plugintest.Build(t, "plugins/tiktok/cmd/bedrot-source-tiktok"))

	a := c.serve("daemon-a")
	require.Contains(t, c.ok("trigger", "tiktok"), "Queued job")
	var victim jobView
	require.Eventually(t, func() bool {
		for _, j := range a.jobs("state=running") {
			if childPID(t, a.cmd.Process.Pid, "bedrot-source-tiktok") != 0 {
				victim = j
				return true
			}
		}
		return false
	}, 60*time.Second, 20*time.Millisecond, "daemon A never ran the job:\n%s", a.log())
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	<-a.exited

	b := c.serve("daemon-b")
	victim = b.waitJob(victim.ID, "discarded", "the job was not discarded")
	require.Equal(t, []string{"daemon-a"}, victim.AttemptedBy, "its one attempt was A's")
	require.Contains(t, victim.LastError, "daemon daemon-a died while running this job; rescued by daemon-b")

	var alert map[string]any
	require.Eventually(t, func() bool {
		resp, err := http.Get(b.url + "/api/v1/alerts")
		require.NoError(t, err)
		defer resp.Body.Close()
		var list []map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
		for _, al := range list {
			if al["key"] == "run_failed:tiktok" {
				alert = al
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "no run_failed alert:\n%s", b.log())
	require.Equal(t, "high", alert["severity"])
	require.Contains(t, alert["detail"], "abandoned")
	// The high alert makes B retry the source (remediation), so a second
	// run may have started by now; A's run is the first.
	runs := c.json("runs", "--source", "tiktok")["items"].([]any)
	require.NotEmpty(t, runs)
	run := runs[len(runs)-1].(map[string]any)
	require.Equal(t, "abandoned", run["status"], "B marked A's run abandoned without waiting for another run")
	require.Equal(t, run["run_id"], alert["run_id"])
}

// jsonJobs lists every job through the CLI, working on the database.
func (c *cli) jsonJobs() []jobView {
	c.t.Helper()
	out := c.ok("jobs", "-n", "1000", "-o", "json")
	var doc struct {
		Jobs []jobView `json:"jobs"`
	}
	require.NoError(c.t, json.Unmarshal([]byte(out), &doc), out)
	return doc.Jobs
}

// The queue commands work on the database without a daemon, and through a
// daemon's API with --daemon; their errors carry the CLI's exit codes.
func TestQueueCommandsWithAndWithoutADaemon(t *testing.T) {
	t.Parallel()
	inbox := t.TempDir()
	c := newCLI(t, "BEDROT_SOURCES__DISTROKID__CONFIG__INBOX="+inbox, "BEDROT_DAEMON_CHECK_INTERVAL=1s")
	c.setupLake()

	require.Contains(t, c.ok("trigger", "distrokid"), "Queued job 1: ingest distrokid")
	jobs := c.jsonJobs()
	require.Len(t, jobs, 1)
	require.Equal(t, "available", jobs[0].State, "no daemon works it yet")

	require.Contains(t, c.ok("pause", "distrokid", "--reason", "rotating credentials"), "Paused distrokid")
	r := c.run("trigger", "distrokid")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "rotating credentials")
	require.Contains(t, c.ok("resume", "distrokid"), "Resumed distrokid")
	require.Equal(t, 4, c.run("trigger", "nope").code)
	r = c.run("backfill", "distrokid", "--stream", "earnings", "--from", "2026-01-01", "--to", "2026-01-31")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "cannot read a past window")

	// A daemon works the queued job; trigger --wait through its API.
	d := c.serve("solo")
	require.Eventually(t, func() bool { return c.jsonJobs()[0].State == "completed" }, 30*time.Second, 100*time.Millisecond)
	out := c.ok("trigger", "distrokid", "--wait", "--daemon", d.url)
	require.Contains(t, out, "completed")
	require.Contains(t, out, "(succeeded)")
	require.Contains(t, c.ok("jobs", "--daemon", d.url, "--state", "completed"), "manual")
	require.Contains(t, c.ok("slo"), "success")
	// Pipeline runs are sessions of the built-in ingest agent.
	require.Contains(t, c.ok("agents", "ls"), "data_ingest_agent_001")
	ctxFile, err := os.ReadFile(filepath.Join(c.lake, ".agent", "context", "current_context.json"))
	require.NoError(t, err)
	require.Contains(t, string(ctxFile), `"current_task": "ingest_distrokid_metrics"`)
	require.Contains(t, c.ok("alerts", "ls"), "No")
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	<-d.exited
	require.NoError(t, d.err)
}

// An operator gives the daemon an API token in a file; the queue commands
// read it from the same setting and send it, and without it are told what
// to set. The token never reaches the daemon's log.
func TestDaemonAPITokenFromAFile(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "api-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("c0ffee-api-token\n"), 0o600))
	c := newCLI(t, "BEDROT_SOURCES__DISTROKID__CONFIG__INBOX="+t.TempDir(), "BEDROT_DAEMON_API_TOKEN_FILE="+tokenFile)
	c.setupLake()
	d := c.serve("guarded")

	out := c.ok("trigger", "distrokid", "--wait", "--daemon", d.url)
	require.Contains(t, out, "(succeeded)")
	r := c.without("BEDROT_DAEMON_API_TOKEN_FILE").run("jobs", "--daemon", d.url)
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "requires its API token: set daemon.api_token")
	resp, err := http.Get(d.url + "/api/v1/jobs")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.NotContains(t, d.log(), "c0ffee")
	require.NotContains(t, c.ok("config"), "c0ffee", "bedrot config hides the token")
}
