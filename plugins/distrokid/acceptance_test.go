package distrokid_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

// TestAcceptance runs the SDK's protocol acceptance test against the real
// plugin binary, launched the way the host launches it.
func TestAcceptance(t *testing.T) {
	t.Parallel()
	bin := plugintest.Build(t, "plugins/distrokid/cmd/bedrot-source-distrokid")
	export, err := filepath.Abs(filepath.Join("..", "..", "examples", "distrokid", "DistroKid_current15_quoted_utf8.tsv"))
	require.NoError(t, err)
	require.FileExists(t, export)
	sdktest.AcceptanceTest(t, sdktest.Driver{
		Binary:      bin,
		Config:      sdk.Config{"files": export},
		BadConfig:   sdk.Config{"files": filepath.Join(t.TempDir(), "missing.tsv")},
		WantRows:    60,
		Incremental: true,
	})
}
