package pluginhost_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/sdk"
)

func TestMain(m *testing.M) {
	if os.Getenv("BEDROT_TEST_HELPER") == "launch-and-wait" {
		helperLaunchAndWait()
		return
	}
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

type bundle struct {
	host *pluginhost.Host
	dir  string
	lock []byte
}

func setup(t *testing.T) *bundle {
	t.Helper()
	dir := t.TempDir()
	meta, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "meta.db"))
	require.NoError(t, err)
	t.Cleanup(func() { meta.Close() })
	b := &bundle{dir: dir}
	b.host = pluginhost.New(pluginhost.Config{
		Dir:      filepath.Join(dir, "plugins"),
		LockFile: func(_ context.Context, data []byte) error { b.lock = data; return nil },
	}, meta)
	return b
}

func (b *bundle) install(t *testing.T, bin string) pluginhost.InstallResult {
	t.Helper()
	res, err := b.host.Install(context.Background(), bin)
	require.NoError(t, err)
	require.Len(t, res, 1)
	return res[0]
}

// launchFixture installs and launches the fixture plugin, killed when the
// test ends.
func (b *bundle) launchFixture(t *testing.T) *pluginhost.Instance {
	t.Helper()
	b.install(t, plugintest.Fixture(t, "bedrot-source-fixture"))
	inst, err := b.host.Launch(context.Background(), "source", "fixture")
	require.NoError(t, err)
	t.Cleanup(inst.Kill)
	return inst
}

func TestInstallRecordsPluginAndLockFile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bin := plugintest.Fixture(t, "bedrot-source-fixture")
	res := b.install(t, bin)
	want, err := pluginhost.SHA256File(bin)
	require.NoError(t, err)
	require.Equal(t, "fixture", res.Plugin.Name)
	require.Equal(t, "source", res.Plugin.Kind)
	require.Equal(t, "1.0.0", res.Plugin.Version)
	require.Equal(t, 1, res.Plugin.ProtocolVersion)
	require.Equal(t, want, res.Plugin.SHA256)
	require.FileExists(t, res.Plugin.Path)

	var lf pluginhost.LockFile
	require.NoError(t, json.Unmarshal(b.lock, &lf))
	require.Len(t, lf.Plugins, 1)
	require.Equal(t, want, lf.Plugins[0].SHA256)

	vr, err := b.host.Verify(context.Background())
	require.NoError(t, err)
	require.Len(t, vr, 1)
	require.True(t, vr[0].OK)

	_, err = b.host.Remove(context.Background(), "source", "fixture")
	require.NoError(t, err)
	require.NoFileExists(t, res.Plugin.Path)
	require.NoError(t, json.Unmarshal(b.lock, &lf))
	require.Empty(t, lf.Plugins)
}

func TestInstallFolder(t *testing.T) {
	t.Parallel()
	b := setup(t)
	dir := filepath.Dir(plugintest.Copy(t, plugintest.Fixture(t, "bedrot-source-fixture")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not a plugin"), 0o644))
	res, err := b.host.Install(context.Background(), dir)
	require.NoError(t, err)
	require.Len(t, res, 1)
}

func TestInstallRejectsMisnamedBinary(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bin := plugintest.Copy(t, plugintest.Fixture(t, "bedrot-source-fixture"))
	wrong := filepath.Join(filepath.Dir(bin), "bedrot-source-other")
	require.NoError(t, os.Rename(bin, wrong))
	_, err := b.host.Install(context.Background(), wrong)
	require.ErrorContains(t, err, "must be built as bedrot-source-fixture")
}

func TestInstallRejectsOtherProtocolVersion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.host.Install(context.Background(), plugintest.Fixture(t, "bedrot-source-future"))
	require.Error(t, err)
	require.ErrorContains(t, err, "protocol")
}

func TestTamperedBinaryRefusesToLaunch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.install(t, plugintest.Fixture(t, "bedrot-source-fixture"))
	f, err := os.OpenFile(res.Plugin.Path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte("tampered"))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	_, err = b.host.Launch(context.Background(), "source", "fixture")
	require.ErrorIs(t, err, pluginhost.ErrChecksumMismatch)
	require.ErrorContains(t, err, "bedrot plugin install")

	vr, err := b.host.Verify(context.Background())
	require.NoError(t, err)
	require.False(t, vr[0].OK)
}

func TestLaunchNotInstalled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := b.host.Launch(context.Background(), "source", "nope")
	require.ErrorIs(t, err, pluginhost.ErrNotInstalled)
	require.ErrorContains(t, err, "bedrot plugin install")
}

func readRows(t *testing.T, src *sdk.SourceClient, cfg sdk.Config) ([]string, error) {
	rs, err := src.Read(context.Background(), sdk.ReadRequest{Config: cfg})
	if err != nil {
		return nil, err
	}
	var labels []string
	for {
		m, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return labels, nil
		}
		if err != nil {
			return labels, err
		}
		if m.Batch != nil {
			for i := 0; i < m.Batch.NumRows; i++ {
				labels = append(labels, m.Batch.Columns[1].String(i))
			}
		}
	}
}

func TestPluginEnvironmentIsCleared(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.launchFixture(t)
	env, err := readRows(t, inst.Source, sdk.Config{"mode": "env", "rows": "1"})
	require.NoError(t, err)
	require.NotEmpty(t, env)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		allowed := name == sdk.EnvLogLevel || name == sdk.Handshake.MagicCookieKey || strings.HasPrefix(name, "PLUGIN_")
		require.True(t, allowed, "the plugin saw host environment variable %s", name)
	}
}

func TestErrorsKeepTheirKind(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.launchFixture(t)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(inst.Source.Check(context.Background(), sdk.Config{"mode": "badconfig"})))
	_, err := readRows(t, inst.Source, sdk.Config{"mode": "transient"})
	require.Equal(t, sdk.KindTransient, sdk.KindOf(err))
	_, err = readRows(t, inst.Source, sdk.Config{"mode": "ratelimit"})
	var e *sdk.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, sdk.KindRateLimited, e.Kind)
	require.WithinDuration(t, time.Now().Add(90*time.Second), e.RetryAt, 10*time.Second)
}

func TestCrashIsReportedAndProcessGone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.launchFixture(t)
	pid := inst.Pid()
	_, err := readRows(t, inst.Source, sdk.Config{"mode": "crash", "rows": "5000"})
	require.Error(t, err)
	require.Eventually(t, inst.Exited, 5*time.Second, 20*time.Millisecond)
	described := inst.Describe(err).Error()
	require.Contains(t, described, "crashed")
	require.Contains(t, described, "fixture crashed on purpose")
	require.False(t, processAlive(pid))
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil {
		return false
	}
	// A zombie still answers kill(0); check its state.
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(data))
	return len(fields) > 2 && fields[2] != "Z"
}

// helperLaunchAndWait runs in a child process: it launches the fixture,
// starts a read that hangs, prints the plugin's pid and waits to be killed.
func helperLaunchAndWait() {
	ctx := context.Background()
	meta, err := sqlstore.OpenSQLite(ctx, os.Getenv("BEDROT_TEST_DB"))
	if err != nil {
		panic(err)
	}
	h := pluginhost.New(pluginhost.Config{Dir: os.Getenv("BEDROT_TEST_PLUGINS")}, meta)
	inst, err := h.Launch(ctx, "source", "fixture")
	if err != nil {
		panic(err)
	}
	rs, err := inst.Source.Read(ctx, sdk.ReadRequest{Config: sdk.Config{"mode": "hang"}})
	if err != nil {
		panic(err)
	}
	fmt.Println(inst.Pid())
	_, _ = rs.Recv()
	time.Sleep(time.Hour)
}

func TestPluginDiesWithKilledHost(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.install(t, plugintest.Fixture(t, "bedrot-source-fixture"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BEDROT_TEST_HELPER=launch-and-wait",
		"BEDROT_TEST_DB="+filepath.Join(b.dir, "meta.db"), "BEDROT_TEST_PLUGINS="+filepath.Join(b.dir, "plugins"))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	buf := make([]byte, 32)
	n, err := out.Read(buf)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	require.NoError(t, err)
	require.True(t, processAlive(pid))

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.Eventually(t, func() bool { return !processAlive(pid) }, 5*time.Second, 20*time.Millisecond,
		"plugin %d outlived its host", pid)
}

func TestHungPluginIsKilled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.launchFixture(t)
	pid := inst.Pid()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	rs, err := inst.Source.Read(ctx, sdk.ReadRequest{Config: sdk.Config{"mode": "hang"}})
	require.NoError(t, err)
	_, err = rs.Recv()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	start := time.Now()
	inst.Kill()
	require.Less(t, time.Since(start), 5*time.Second)
	require.True(t, inst.Exited())
	require.False(t, processAlive(pid), "a hung plugin must be gone after Kill")
	require.Positive(t, inst.PeakRSS())
}

func TestMissingBinaryIsReportedAsNotInstalled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.install(t, plugintest.Fixture(t, "bedrot-source-fixture"))
	require.NoError(t, os.Remove(res.Plugin.Path))
	_, err := b.host.Launch(context.Background(), "source", "fixture")
	require.ErrorIs(t, err, pluginhost.ErrNotInstalled)
	require.ErrorContains(t, err, "binary is gone")
}

func TestValidatorPluginInstallsAndValidates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.install(t, plugintest.Fixture(t, "bedrot-validator-fixture"))
	require.Equal(t, "validator", res.Plugin.Kind)
	ctx := context.Background()
	_, err := b.host.Launch(ctx, "source", "fixture")
	require.ErrorIs(t, err, pluginhost.ErrNotInstalled)

	inst, err := b.host.Launch(ctx, sdk.KindValidator, "fixture")
	require.NoError(t, err)
	t.Cleanup(inst.Kill)
	require.NotNil(t, inst.Validator)
	schema := sdk.Schema{Fields: []sdk.Field{{Name: "isrc", Type: sdk.TypeString, Nullable: true}}}
	_, err = inst.Validator.CheckSuite(ctx, sdk.SuiteRequest{Suite: []byte("bad"), SuiteFile: "bad.json"})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))

	st, err := inst.Validator.Validate(ctx, sdk.ValidateRequest{SuiteRequest: sdk.SuiteRequest{Suite: []byte("isrc")}, Dataset: "raw.x.y", Schema: schema})
	require.NoError(t, err)
	bb := sdk.NewBatchBuilder("y", schema)
	for i := range 5000 {
		if i == 7 {
			bb.AppendNull(0)
		} else {
			bb.AppendString(0, []byte("QZWFV2600001"))
		}
		bb.EndRow()
	}
	require.NoError(t, st.Send(bb.Batch()))
	out, err := st.Close()
	require.NoError(t, err)
	require.EqualValues(t, 5000, out.Rows)
	require.False(t, out.Success, "one null ISRC fails the suite")
}
