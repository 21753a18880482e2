package main

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// TestAcceptance builds this plugin and runs the SDK's acceptance test on it,
// as a third-party author would.
func TestAcceptance(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bedrot-source-releases")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build failed: %v\n%s", err, out)
	}
	sdktest.AcceptanceTest(t, sdktest.Driver{
		Binary:      bin,
		Config:      sdk.Config{"files": "testdata/releases.json"},
		BadConfig:   sdk.Config{"files": "testdata/missing.json"},
		WantRows:    3,
		Incremental: true,
	})
}
