//go:build soak

package main_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	tiktokemu "github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
)

// The time-compressed soak of issue 6 (make soak; not part of make test):
// three TikTok sources scheduled every 2 s against emulators that answer
// 10% of data requests with a 5xx, worked by two daemons sharing one
// PostgreSQL and one MinIO; one daemon is killed with SIGKILL along the way
// and restarted. A fourth source suffers a 150 s outage (every request 503)
// that outlasts its retries: it must be alerted within 60 s and the alert
// resolved when the source recovers. It runs until SOAK_RUNS (default 500)
// scheduled runs of the three sources are done, then checks:
//
//   - success after retries >= 99.9% (the three faulty sources);
//   - every tick has one job; no run executed twice (each completed job has
//     exactly one successful run, and the lake one snapshot per run);
//   - no row lost or duplicated (every snapshot holds each video once);
//   - the outage was alerted within 60 s, and resolved after it ended.
func TestSoak(t *testing.T) {
	want := 500
	if s := os.Getenv("SOAK_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		want = n
	}
	const videos = 40
	backend, st := minioPostgresEnv(t)
	env := append([]string{}, backend...)
	env = append(env, "BEDROT_SECRETS_KEY="+secretsKey(), "BEDROT_DAEMON_RETRY_BACKOFF=1s", "BEDROT_DAEMON_CHECK_INTERVAL=2s",
		"BEDROT_DAEMON_WORKERS=3", "BEDROT_LOG_LEVEL=info")
	sources := []string{"tiktok-a", "tiktok-b", "tiktok-c"}
	for i, name := range append(sources, "tiktok-x") {
		opts := tiktokemu.Options{ClientKey: "awsoak" + strconv.Itoa(i), ClientSecret: "soak-secret-" + name, RefreshToken: "rft.soak." + name,
			VideoCount: videos, Seed: uint64(i + 1), SlowDelay: 10 * time.Millisecond}
		schedule := "@every 2s"
		if name != "tiktok-x" {
			opts.ServerErrors = tiktokemu.Burst{After: i, Count: 1, Every: 10} // 10% of data requests
		} else {
			schedule = "@every 5s"
		}
		_, base := startTiktok(t, opts)
		if name == "tiktok-x" {
			base = outageProxy(t, base, &outage)
		}
		soakSources[name] = soakSource{base: base, opts: opts, schedule: schedule}
	}
	c := newCLI(t, env...)
	cfgFile := writeSoakConfig(t, append(sources, "tiktok-x"))
	c.env = append(c.env, "BEDROT_CONFIG="+cfgFile)
	c.ok("init")
	c.ok("plugin", "install", plugintest.Build(t, "plugins/tiktok/cmd/bedrot-source-tiktok"))

	start := time.Now()
	a := c.serve("daemon-a")
	b := c.serve("daemon-b")
	done := func() int {
		n := 0
		for _, j := range b.jobs("state=completed,discarded,cancelled") {
			if j.Source != "tiktok-x" && j.Trigger == "schedule" && j.Skipped == "" {
				n++
			}
		}
		return n
	}
	killed, restarted, outageDone := false, false, false
	var outageStart, outageEnd time.Time
	for {
		n := done()
		switch {
		case !killed && n >= want/3:
			require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
			<-a.exited
			killed = true
			t.Logf("%s: killed daemon A after %d runs", time.Since(start).Round(time.Second), n)
		case killed && !restarted && n >= want/3+30:
			a = c.serve("daemon-a")
			restarted = true
			t.Logf("%s: restarted daemon A", time.Since(start).Round(time.Second))
		case !outageDone && outageStart.IsZero() && n >= want/2:
			outageStart = time.Now()
			outage.Store(true)
			t.Logf("%s: outage of tiktok-x begins", time.Since(start).Round(time.Second))
		case !outageStart.IsZero() && !outageDone && time.Since(outageStart) > outageFor:
			outage.Store(false)
			outageEnd, outageDone = time.Now(), true
			t.Logf("%s: outage of tiktok-x ends", time.Since(start).Round(time.Second))
		}
		if n >= want && outageDone && time.Since(outageEnd) > 20*time.Second {
			break
		}
		require.Less(t, time.Since(start), 40*time.Minute, "the soak is too slow: %d runs done", n)
		time.Sleep(time.Second)
	}
	for _, d := range []*daemonProc{a, b} {
		require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
		<-d.exited
		require.NoError(t, d.err, "SIGTERM exits 0")
	}
	elapsed := time.Since(start)

	jobs := c.jsonJobs()
	perTick := map[string]int{}
	finals, good, attempts, skipped := 0, 0, 0, 0
	completed := map[string]int{}
	remediations := 0
	for _, j := range jobs {
		if j.Trigger == "remediation" {
			// The outage's high alert retries its source (the matrix's
			// auto-remediation); no other source has one.
			require.Equal(t, "tiktok-x", j.Source, "job %d", j.ID)
			remediations++
			continue
		}
		require.Equal(t, "schedule", j.Trigger, "job %d", j.ID)
		perTick[j.Source+"@"+j.Tick.String()]++
		if j.Source == "tiktok-x" || !soakFinished(j.State) {
			continue
		}
		if j.Skipped != "" {
			skipped++
			continue
		}
		finals++
		attempts += j.Attempt
		if j.State == "completed" && j.RunStatus == "succeeded" {
			good++
			completed[j.Source]++
		}
	}
	for tick, n := range perTick {
		require.Equal(t, 1, n, "tick %s has %d jobs", tick, n)
	}
	rate := float64(good) / float64(finals)
	t.Logf("soak: %s, %d scheduled runs of 3 faulty sources finished (%d skipped while the previous run went on), %d attempts, success after retries %.3f%%",
		elapsed.Round(time.Second), finals, skipped, attempts, 100*rate)
	require.GreaterOrEqual(t, finals, want)
	require.GreaterOrEqual(t, rate, 0.999)

	// Each completed job made exactly one successful run, and each
	// successful run left exactly one whole snapshot.
	lake := downloadAll(t, st)
	for _, src := range sources {
		succeeded := 0
		for _, r := range c.json("runs", "--source", src, "-n", "100000")["items"].([]any) {
			if r.(map[string]any)["status"] == "succeeded" {
				succeeded++
			}
		}
		require.Equal(t, completed[src], succeeded, "%s: one successful run per completed job", src)
		var snapshots, complete int
		queryLake(t, lake, src, "videos", fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE n = %d AND d = %d) FROM (
			SELECT snapshot_at, count(*) AS n, count(DISTINCT video_id) AS d FROM RAW GROUP BY snapshot_at)`, videos, videos), &snapshots, &complete)
		require.Equal(t, succeeded, snapshots, "%s: one snapshot per successful run", src)
		require.Equal(t, snapshots, complete, "%s: every snapshot holds each video once", src)
	}

	// The outage: alerted within 60 s, resolved after.
	doc := c.json("alerts", "ls", "--state", "all", "--source", "tiktok-x")
	var found bool
	for _, it := range doc["items"].([]any) {
		al := it.(map[string]any)
		if al["key"] != "run_failed:tiktok-x" {
			continue
		}
		found = true
		first, err := time.Parse(time.RFC3339Nano, al["first_seen"].(string))
		require.NoError(t, err)
		cond, err := time.Parse(time.RFC3339Nano, al["condition_at"].(string))
		require.NoError(t, err)
		t.Logf("outage alerted %s after the failing run ended (%s after the outage began); state %s",
			first.Sub(cond).Round(time.Millisecond), first.Sub(outageStart).Round(time.Second), al["state"])
		require.Less(t, first.Sub(cond), 60*time.Second)
		require.Equal(t, "resolved", al["state"], "the alert resolves when the source recovers")
	}
	require.True(t, found, "the outage was alerted")
	require.Positive(t, remediations, "the outage's alert queued a retry")
}

var outage atomic.Bool

// outageFor outlasts a run's retries: the plugin's own (five, backing off up
// to a minute) and the daemon's three attempts.
const outageFor = 150 * time.Second

// outageProxy forwards to target, or answers 503 while down is set.
func outageProxy(t *testing.T, target string, down *atomic.Bool) string {
	u, err := url.Parse(target)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "<html>503 Service Unavailable</html>", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

type soakSource struct {
	base     string
	opts     tiktokemu.Options
	schedule string
}

var soakSources = map[string]soakSource{}

func soakFinished(state string) bool {
	return state == "completed" || state == "discarded" || state == "cancelled"
}

// writeSoakConfig names the sources in a config file (their names have
// dashes, which environment keys cannot spell), each using the tiktok
// plugin.
func writeSoakConfig(t *testing.T, names []string) string {
	var b strings.Builder
	// The soak measures scheduling, retries and rescue; a staging build
	// after every 2-second ingest would measure the growing build instead.
	b.WriteString("daemon:\n  then: []\n")
	b.WriteString("sources:\n")
	for _, n := range names {
		s := soakSources[n]
		fmt.Fprintf(&b, "  %s:\n    plugin: tiktok\n    schedule: %q\n    timeout: 2m\n    config:\n", n, s.schedule)
		fmt.Fprintf(&b, "      base_url: %s\n      token_url: %s/v2/oauth/token/\n      client_key: %s\n      client_secret: %s\n      refresh_token: %s\n      max_count: \"20\"\n",
			s.base, s.base, s.opts.ClientKey, s.opts.ClientSecret, s.opts.RefreshToken)
	}
	p := t.TempDir() + "/bedrot.yaml"
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p
}
