package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pgtest"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/storage"
	spotifyemu "github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	tiktokemu "github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
)

// apiProxy stands between a connector plugin and its emulator. It counts
// the data requests, can kill the plugin process when a chosen one arrives
// (a kill at a random moment of the run, the same for every timing of the
// machine), and keeps every token the token endpoint hands out so that a
// test can look for them where they must not be.
type apiProxy struct {
	t      *testing.T
	srv    *httptest.Server
	plugin string // the plugin's binary name, to find its process
	isData func(path string) bool

	mu       sync.Mutex
	host     int // pid of the bedrot process whose plugin dies
	killAt   int // data request number that kills the plugin; 0: none
	requests int
	killed   bool
	tokens   []string
}

func newAPIProxy(t *testing.T, target, plugin string, isData func(string) bool) *apiProxy {
	u, err := url.Parse(target)
	require.NoError(t, err)
	p := &apiProxy{t: t, plugin: plugin, isData: isData}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.Contains(resp.Request.URL.Path, "token") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var tok map[string]any
		if json.Unmarshal(body, &tok) == nil {
			p.mu.Lock()
			for _, k := range []string{"access_token", "refresh_token"} {
				if v, ok := tok[k].(string); ok && v != "" {
					p.tokens = append(p.tokens, v)
				}
			}
			p.mu.Unlock()
		}
		return nil
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.isData(r.URL.Path) && p.arrive() {
			http.Error(w, "plugin killed", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// arrive counts a data request and kills the plugin if it is the chosen one.
func (p *apiProxy) arrive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	if p.killAt == 0 || p.requests != p.killAt {
		return false
	}
	// A few milliseconds later, as a kill -9 from outside would come: a
	// rotated token the plugin sent just before this request has reached
	// the host by then (a kill within the instant between the API issuing
	// a token and the plugin sending it on would lose it; nothing can
	// prevent that).
	time.Sleep(time.Duration(2+rand.IntN(8)) * time.Millisecond)
	pid := childPID(p.t, p.host, p.plugin)
	require.NotZero(p.t, pid, "no %s process under bedrot (pid %d)", p.plugin, p.host)
	require.NoError(p.t, syscall.Kill(pid, syscall.SIGKILL))
	p.killed = true
	return true
}

func (p *apiProxy) arm(host, killAt int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.host, p.killAt, p.requests, p.killed = host, killAt, 0, false
}

func (p *apiProxy) state() (requests int, killed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests, p.killed
}

func (p *apiProxy) issued() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tokens...)
}

// childPID finds the process named name whose parent is ppid.
func childPID(t *testing.T, ppid int, name string) int {
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm is cut to 15 bytes.
		s := string(stat)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < 0 || !strings.HasPrefix(name, s[open+1:end]) {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(ppid) {
			return pid
		}
	}
	return 0
}

// runKilledAt runs `bedrot run SOURCE`, letting the proxy kill its plugin
// at data request killAt, and returns what the run printed.
func runKilledAt(t *testing.T, c *cli, p *apiProxy, source string, killAt int) (string, bool) {
	cmd := exec.Command(c.bin, "run", source)
	cmd.Env = c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	p.arm(cmd.Process.Pid, killAt)
	_ = cmd.Wait()
	_, killed := p.state()
	p.arm(0, 0)
	return out.String(), killed
}

// queryLake runs one DuckDB query over the lake's raw Parquet of a source.
func queryLake(t *testing.T, lake, source, stream, query string, dest ...any) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	glob := filepath.Join(lake, "raw", "source="+source, "*", stream+"-*.parquet")
	require.NoError(t, db.QueryRow(strings.ReplaceAll(query, "RAW", fmt.Sprintf("read_parquet('%s')", glob))).Scan(dest...))
}

// startTiktok starts a TikTok API emulator for the test and returns it with
// its URL.
func startTiktok(t *testing.T, opts tiktokemu.Options) (*tiktokemu.Server, string) {
	t.Helper()
	em := tiktokemu.New(opts)
	url := em.Start()
	t.Cleanup(em.Close)
	return em, url
}

func tiktokEnv(proxyURL string, em *tiktokemu.Server) []string {
	o := em.Options()
	return []string{
		"BEDROT_SOURCES__TIKTOK__CONFIG__BASE_URL=" + proxyURL,
		"BEDROT_SOURCES__TIKTOK__CONFIG__TOKEN_URL=" + proxyURL + "/v2/oauth/token/",
		"BEDROT_SOURCES__TIKTOK__CONFIG__CLIENT_KEY=" + o.ClientKey,
		"BEDROT_SOURCES__TIKTOK__CONFIG__CLIENT_SECRET=" + o.ClientSecret,
		"BEDROT_SOURCES__TIKTOK__CONFIG__REFRESH_TOKEN=" + o.RefreshToken,
		"BEDROT_SOURCES__TIKTOK__CONFIG__MAX_COUNT=20",
	}
}

// snapshotDigest summarises each snapshot of the videos stream in a lake:
// for every snapshot, its row count, distinct videos and counter sums.
func snapshotDigest(t *testing.T, lake string) (snapshots int, digest string) {
	queryLake(t, lake, "tiktok", "videos", `SELECT count(DISTINCT snapshot_at),
		string_agg(d, ';' ORDER BY d) FROM (
			SELECT snapshot_at, format('{}/{}/{}/{}/{}', count(*), count(DISTINCT video_id), sum(view_count), sum(like_count),
				md5(string_agg(video_id || ':' || view_count, ',' ORDER BY video_id))) AS d
			FROM RAW GROUP BY snapshot_at)`, &snapshots, &digest)
	return snapshots, digest
}

// The TikTok plugin is killed at ten random moments of ten runs; then a
// clean run. Every snapshot in the lake is complete, holds each video once,
// and equals the snapshot of a lake whose run was never interrupted; the
// rotated refresh tokens kept working throughout; and no secret is found in
// the lake, the metastore, the output or the run history. On both backends.
func TestTikTokKilledTenTimesEqualsUninterrupted(t *testing.T) {
	t.Parallel()
	t.Run("folder+sqlite", func(t *testing.T) {
		t.Parallel()
		tiktokKilledTenTimes(t, nil, func(c *cli) (string, []string) { return c.lake, nil })
	})
	t.Run("minio+postgres", func(t *testing.T) {
		t.Parallel()
		env, st := minioPostgresEnv(t)
		schema := strings.TrimPrefix(env[len(env)-1], "BEDROT_DATABASE_SCHEMA=")
		tiktokKilledTenTimes(t, env, func(*cli) (string, []string) {
			return downloadAll(t, st), dumpMetastore(t, schema)
		})
	})
}

// downloadAll copies every object of a store into a folder.
func downloadAll(t *testing.T, st storage.Store) string {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	require.NoError(t, st.List(ctx, "", func(oi storage.ObjectInfo) error {
		obj, err := st.Open(ctx, oi.Key)
		require.NoError(t, err)
		defer obj.Close()
		p := filepath.Join(dir, filepath.FromSlash(oi.Key))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		data, err := io.ReadAll(obj)
		require.NoError(t, err)
		return os.WriteFile(p, data, 0o644)
	}))
	return dir
}

// dumpMetastore returns every value of every table of a PostgreSQL schema
// as text.
func dumpMetastore(t *testing.T, schema string) []string {
	t.Helper()
	db, err := sql.Open("pgx", pgtest.URL())
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	require.NoError(t, rows.Err())
	require.Contains(t, tables, "credentials")
	var out []string
	for _, table := range tables {
		var dump sql.NullString
		require.NoError(t, db.QueryRow(fmt.Sprintf(`SELECT string_agg(t::text, E'\n') FROM %q.%q t`, schema, table)).Scan(&dump))
		out = append(out, dump.String)
	}
	return out
}

func tiktokKilledTenTimes(t *testing.T, backendEnv []string, snapshot func(c *cli) (lake string, meta []string)) {
	const secret = "SENTINEL-tiktok-client-secret"
	em, emURL := startTiktok(t, tiktokemu.Options{ClientKey: "awbedrottest", ClientSecret: secret, RefreshToken: "SENTINEL-first-refresh-token",
		VideoCount: 130, Seed: 11, DuplicateAcrossPages: true, SlowDelay: 5 * time.Millisecond})
	isData := func(p string) bool {
		return strings.HasPrefix(p, "/v2/user/info") || strings.HasPrefix(p, "/v2/video/list")
	}
	proxy := newAPIProxy(t, emURL, "bedrot-source-tiktok", isData)
	plugin := plugintest.Build(t, "plugins/tiktok/cmd/bedrot-source-tiktok")

	// The lake of a run never interrupted (folder + SQLite).
	clean := newCLI(t, tiktokEnv(proxy.srv.URL, em)...)
	clean.ok("init")
	clean.ok("plugin", "install", plugin)
	clean.ok("run", "tiktok")
	perRun, _ := proxy.state()
	snapshots, want := snapshotDigest(t, clean.lake)
	require.Equal(t, 1, snapshots)
	require.True(t, strings.HasPrefix(want, "130/130/"), "one whole snapshot: %s", want)

	// The interrupted lake has an authorisation of its own: its refresh
	// token chain starts from what the emulator holds now.
	env := tiktokEnv(proxy.srv.URL, em)
	env[4] = "BEDROT_SOURCES__TIKTOK__CONFIG__REFRESH_TOKEN=" + em.RefreshToken()
	c := newCLI(t, append(env, backendEnv...)...)
	c.ok("init")
	c.ok("plugin", "install", plugin)
	seed := time.Now().UnixNano()
	t.Logf("seed %d; %d data requests per run", seed, perRun)
	rng := rand.New(rand.NewPCG(uint64(seed), 3))
	var outputs []string
	kills := 0
	// A resumed run needs fewer requests than a whole one, so a chosen
	// moment may fall after its end: such a run finishes its snapshot.
	for i := 0; kills < 10; i++ {
		require.Less(t, i, 40, "too few rounds reached their kill moment")
		out, killed := runKilledAt(t, c, proxy, "tiktok", 1+rng.IntN(perRun))
		outputs = append(outputs, out)
		if killed {
			kills++
			require.Contains(t, out, "crashed", "round %d: the run says the plugin died:\n%s", i, out)
		}
		require.NotContains(t, out, "re-authorise", "round %d: the rotated refresh token was kept:\n%s", i, out)
	}
	outputs = append(outputs, c.ok("run", "tiktok"))
	resumed := 0
	for _, out := range outputs {
		if strings.Contains(out, "the next run resumes from there") {
			resumed++
		}
	}
	require.Positive(t, resumed, "some killed runs kept what they had checkpointed")

	lake, meta := snapshot(c)
	snapshots, got := snapshotDigest(t, lake)
	t.Logf("%d rounds killed, %d kept checkpointed data, %d snapshots in the lake", kills, resumed, snapshots)
	for _, d := range strings.Split(got, ";") {
		require.Equal(t, want, d, "every snapshot equals the uninterrupted one")
	}
	var users, userSnapshots int
	queryLake(t, lake, "tiktok", "user_info", `SELECT count(*), count(DISTINCT snapshot_at) FROM RAW`, &users, &userSnapshots)
	require.Equal(t, users, userSnapshots, "one profile row per snapshot")
	require.GreaterOrEqual(t, userSnapshots, snapshots)

	// Replay rebuilds the same raw zone from landing, without TikTok.
	before, _ := proxy.state()
	outputs = append(outputs, c.ok("replay", "tiktok"))
	after, _ := proxy.state()
	require.Equal(t, before, after, "replay calls no API")
	lake, _ = snapshot(c)
	_, replayed := snapshotDigest(t, lake)
	require.Equal(t, got, replayed, "replayed raw equals ingested raw")

	// No secret anywhere: lake files (the SQLite metastore included), the
	// PostgreSQL metastore, outputs, history and the effective configuration.
	secrets := append([]string{secret, "SENTINEL"}, proxy.issued()...)
	outputs = append(outputs, c.ok("runs", "-n", "50", "-o", "json"), c.ok("config"))
	outputs = append(outputs, meta...)
	requireNoSecrets(t, []string{lake, filepath.Dir(c.lake)}, outputs, secrets)
}

// requireNoSecrets greps every file under dirs and every text for secrets.
func requireNoSecrets(t *testing.T, dirs, texts, secrets []string) {
	t.Helper()
	for _, s := range texts {
		for _, secret := range secrets {
			require.NotContains(t, s, secret)
		}
	}
	for _, dir := range dirs {
		require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, secret := range secrets {
				require.False(t, bytes.Contains(data, []byte(secret)), "%s holds a secret", path)
			}
			return nil
		}))
	}
}

// streamDigest summarises each snapshot of a stream: rows, distinct keys
// and a hash of its key:value pairs.
func streamDigest(t *testing.T, lake, source, stream, key, value string) (snapshots int, digest string) {
	queryLake(t, lake, source, stream, fmt.Sprintf(`SELECT count(DISTINCT snapshot_at), string_agg(d, ';' ORDER BY d) FROM (
			SELECT snapshot_at, format('{}/{}/{}', count(*), count(DISTINCT %[1]s),
				md5(string_agg(%[1]s || ':' || coalesce(CAST(%[2]s AS VARCHAR), 'null'), ',' ORDER BY %[1]s))) AS d
			FROM RAW GROUP BY snapshot_at)`, key, value), &snapshots, &digest)
	return snapshots, digest
}

// The Spotify plugin is killed at ten random moments; then a clean run.
// Each stream's snapshots are complete and equal the uninterrupted one.
func TestSpotifyKilledTenTimesEqualsUninterrupted(t *testing.T) {
	t.Parallel()
	const secret = "SENTINEL-spotify-client-secret"
	em := spotifyemu.New(spotifyemu.Options{ClientSecret: secret, ShortPages: 2, SlowDelay: 2 * time.Millisecond})
	emURL := em.Start()
	t.Cleanup(em.Close)
	proxy := newAPIProxy(t, emURL, "bedrot-source-spotify", func(p string) bool { return strings.HasPrefix(p, "/v1/") })
	plugin := plugintest.Build(t, "plugins/spotify/cmd/bedrot-source-spotify")
	env := []string{
		"BEDROT_SOURCES__SPOTIFY__CONFIG__BASE_URL=" + proxy.srv.URL + "/v1",
		"BEDROT_SOURCES__SPOTIFY__CONFIG__TOKEN_URL=" + proxy.srv.URL + "/api/token",
		"BEDROT_SOURCES__SPOTIFY__CONFIG__CLIENT_ID=" + spotifyemu.DefaultClientID,
		"BEDROT_SOURCES__SPOTIFY__CONFIG__CLIENT_SECRET=" + secret,
		"BEDROT_SOURCES__SPOTIFY__CONFIG__ARTIST_IDS=" + strings.Join([]string{spotifyemu.MaraEllisID, spotifyemu.OrjanOdegardID, spotifyemu.OskerWyldID}, ","),
	}
	streams := []struct{ name, key, value string }{
		{"artists", "artist_id", "followers"}, {"albums", "album_id", "release_date"}, {"tracks", "track_id", "isrc"},
	}

	clean := newCLI(t, env...)
	clean.ok("init")
	clean.ok("plugin", "install", plugin)
	clean.ok("run", "spotify")
	perRun, _ := proxy.state()
	want := map[string]string{}
	for _, s := range streams {
		n, d := streamDigest(t, clean.lake, "spotify", s.name, s.key, s.value)
		require.Equal(t, 1, n, s.name)
		want[s.name] = d
	}

	c := newCLI(t, env...)
	c.ok("init")
	c.ok("plugin", "install", plugin)
	seed := time.Now().UnixNano()
	t.Logf("seed %d; %d API requests per run", seed, perRun)
	rng := rand.New(rand.NewPCG(uint64(seed), 5))
	var outputs []string
	kills := 0
	for i := 0; kills < 10; i++ {
		require.Less(t, i, 40, "too few rounds reached their kill moment")
		out, killed := runKilledAt(t, c, proxy, "spotify", 1+rng.IntN(perRun))
		outputs = append(outputs, out)
		if killed {
			kills++
		}
	}
	outputs = append(outputs, c.ok("run", "spotify"))
	for _, s := range streams {
		n, got := streamDigest(t, c.lake, "spotify", s.name, s.key, s.value)
		t.Logf("%s: %d snapshots", s.name, n)
		for _, d := range strings.Split(got, ";") {
			require.Equal(t, want[s.name], d, "every %s snapshot equals the uninterrupted one", s.name)
		}
	}
	// Replay rebuilds the same raw zone from landing, without Spotify.
	before, _ := proxy.state()
	outputs = append(outputs, c.ok("replay", "spotify"))
	after, _ := proxy.state()
	require.Equal(t, before, after, "replay calls no API")
	for _, s := range streams {
		_, got := streamDigest(t, c.lake, "spotify", s.name, s.key, s.value)
		for _, d := range strings.Split(got, ";") {
			require.Equal(t, want[s.name], d, "replayed %s equals ingested", s.name)
		}
	}
	secrets := append([]string{secret}, em.IssuedTokens()...)
	outputs = append(outputs, c.ok("runs", "-n", "50", "-o", "json"), c.ok("config"))
	requireNoSecrets(t, []string{c.lake, clean.lake}, outputs, secrets)
}

// A revoked TikTok authorisation fails the run as a configuration error,
// and `bedrot runs RUN-ID` says in words what to do.
func TestTikTokRevokedAuthorisationSaysWhatToDo(t *testing.T) {
	t.Parallel()
	em, emURL := startTiktok(t, tiktokemu.Options{ClientKey: "awbedrottest", ClientSecret: "SENTINEL-secret", RefreshToken: "SENTINEL-refresh", VideoCount: 3, Seed: 2})
	em.Revoke()
	proxy := newAPIProxy(t, emURL, "bedrot-source-tiktok", func(string) bool { return false })
	c := newCLI(t, tiktokEnv(proxy.srv.URL, em)...)
	c.ok("init")
	c.ok("plugin", "install", plugintest.Build(t, "plugins/tiktok/cmd/bedrot-source-tiktok"))
	r := c.run("run", "tiktok")
	require.Equal(t, 2, r.code, "a configuration error exits 2\n"+r.stdout+r.stderr)
	require.Contains(t, r.stdout, "What to do: The source's configuration must be fixed")

	runs := c.json("runs")
	item := runs["items"].([]any)[0].(map[string]any)
	require.Equal(t, "failed", item["status"])
	require.Contains(t, item["error"], "re-authorise")
	shown := c.ok("runs", item["run_id"].(string))
	require.Contains(t, shown, "configuration error")
	require.Contains(t, shown, "What to do: The source's configuration must be fixed (credentials, ids, paths)")
	requireNoSecrets(t, []string{c.lake}, []string{r.stdout, r.stderr, shown}, []string{"SENTINEL"})
}
