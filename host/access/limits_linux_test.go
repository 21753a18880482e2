package access_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/access"
)

// buildAlloc builds testdata/alloc (without the race detector, whose shadow
// memory would count against the limit).
func buildAlloc(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command builds the test helper")
	bin := filepath.Join(t.TempDir(), "alloc")
	out, err := exec.Command(goBin, "build", "-o", bin, "./testdata/alloc").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// startAlloc starts the helper allocating n bytes and waits until it is
// ready; go() lets it allocate.
// The rest of its stdout arrives on stdout once it closes; receive it before
// cmd.Wait.
func startAlloc(t *testing.T, bin string, n int64) (cmd *exec.Cmd, stderr *bytes.Buffer, stdout <-chan string, goAhead func()) {
	t.Helper()
	cmd = exec.Command(bin, strconv.FormatInt(n, 10))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	rest := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		rest <- b.String()
	}()
	return cmd, stderr, rest, func() { _, _ = stdin.Write([]byte("go\n")) }
}

func TestApplyLimitsStopsAProcessPastItsMemory(t *testing.T) {
	t.Parallel()
	bin := buildAlloc(t)
	q := access.Quota{Name: "test", MemoryBytes: 256 << 20, CPU: 0.5}

	// Past the quota: the allocation fails and the process dies.
	cmd, stderr, stdout, goAhead := startAlloc(t, bin, 1<<30)
	applied, err := access.ApplyLimits(cmd.Process.Pid, q)
	require.NoError(t, err)
	require.NotEmpty(t, applied.Memory)
	require.NotEmpty(t, applied.CPU)
	if strings.HasPrefix(applied.CPU, "setpriority") {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat")
		require.NoError(t, err)
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		require.Equal(t, "10", fields[16], "nice of a 0.5-core quota") // field 19 of /proc/pid/stat
	}
	goAhead()
	require.NotContains(t, <-stdout, "ok")
	err = cmd.Wait()
	require.Error(t, err, "a process allocating 1 GiB under a 256 MiB quota is stopped")
	require.False(t, cmd.ProcessState.Success())
	if strings.HasPrefix(applied.Memory, "prlimit") {
		// The Go runtime dies of "out of memory", "cannot allocate memory"
		// or a SIGSEGV when its own bookkeeping cannot map memory: stopped
		// in every case.
		require.Regexp(t, `out of memory|cannot allocate memory|SIGSEGV`, stderr.String())
	}
	require.NoError(t, applied.Release())

	// Within the quota: the same program finishes.
	cmd, stderr, stdout, goAhead = startAlloc(t, bin, 32<<20)
	applied, err = access.ApplyLimits(cmd.Process.Pid, q)
	require.NoError(t, err)
	goAhead()
	require.Equal(t, "ok 33554432\n", <-stdout)
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr)
	require.NoError(t, applied.Release())

	_, err = access.ApplyLimits(0, q)
	require.Error(t, err)
}

func TestStopAfterKillsAtMaxRuntime(t *testing.T) {
	t.Parallel()
	bin := buildAlloc(t)
	cmd, _, stdout, _ := startAlloc(t, bin, 1) // waits for a line that never comes
	start := time.Now()
	cancel := access.StopAfter(cmd.Process, 200*time.Millisecond)
	require.Empty(t, <-stdout)
	err := cmd.Wait()
	require.Error(t, err)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
	require.Less(t, time.Since(start), 10*time.Second)
	require.False(t, cancel(), "the timer already fired")

	cmd, _, stdout, goAhead := startAlloc(t, bin, 1)
	cancel = access.StopAfter(cmd.Process, time.Hour)
	goAhead()
	require.Equal(t, "ok 1\n", <-stdout)
	require.NoError(t, cmd.Wait())
	require.True(t, cancel(), "a process that ends in time is not killed")
}
