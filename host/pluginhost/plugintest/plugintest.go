// Package plugintest builds plugin binaries for host tests: the fixture
// plugins in host/pluginhost/testdata and the real plugins, each built once
// per test process into a shared temporary folder.
package plugintest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	dir   string
	built = map[string]string{}
)

// moduleRoot finds the repository root from this file's location.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// Build builds the package at pkg (a path relative to the repository root,
// e.g. "plugins/distrokid/cmd/bedrot-source-distrokid") into a binary named
// after its last element and returns the binary's path.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "bedrot-plugins-")
		if err != nil {
			tb.Fatal(err)
		}
		dir = d
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = moduleRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("failed to build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// Fixture builds one of the fixture plugins in host/pluginhost/testdata.
func Fixture(tb testing.TB, name string) string {
	return Build(tb, "host/pluginhost/testdata/"+name)
}

// Copy copies a built binary into a folder of the test's own (so the test
// may tamper with it) and returns the new path.
func Copy(tb testing.TB, bin string) string {
	tb.Helper()
	data, err := os.ReadFile(bin)
	if err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(tb.TempDir(), filepath.Base(bin))
	if err := os.WriteFile(out, data, 0o755); err != nil {
		tb.Fatal(err)
	}
	return out
}

// Cleanup removes the shared build folder; call it from TestMain.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}
