package config_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/contract"
	"github.com/bedrot-label/bedrot/host/identity"
	"github.com/bedrot-label/bedrot/plugins/distrokid"
	"github.com/bedrot-label/bedrot/plugins/spotify"
	"github.com/bedrot-label/bedrot/plugins/tiktok"
	"github.com/bedrot-label/bedrot/sdk"
)

// The shipped contract files describe exactly what the shipped connectors
// declare: a plugin change that drifts from them fails here, not in a
// user's run.
func TestShippedContractsMatchTheirStreams(t *testing.T) {
	t.Parallel()
	contracts, err := contract.LoadDir("contracts")
	require.NoError(t, err)
	streams := map[string]sdk.Stream{"raw.distrokid.earnings": distrokid.EarningsStream()}
	for _, s := range spotify.Streams() {
		streams["raw.spotify."+s.Name] = s
	}
	for _, s := range tiktok.Streams(true) {
		streams["raw.tiktok."+s.Name] = s
	}
	require.Len(t, contracts, len(streams), "one contract per shipped stream")
	for ds, s := range streams {
		c, ok := contracts[ds]
		require.True(t, ok, "no contract file %s", filepath.Join("contracts", ds+".yaml"))
		require.True(t, contract.Compare(c, s.Schema).None(), "%s drifts from its stream: %+v", ds, contract.Compare(c, s.Schema))
		require.Equal(t, s.PrimaryKey, c.PrimaryKey, ds)
		require.Equal(t, contract.Evolve, c.Policy, ds)
	}
}

// The shipped identity overrides file loads.
func TestShippedIdentityOverridesLoad(t *testing.T) {
	t.Parallel()
	require.FileExists(t, "identity_overrides.yaml")
	o, err := identity.LoadOverrides("identity_overrides.yaml")
	require.NoError(t, err)
	require.Empty(t, o, "no overrides until the label needs one")
}
