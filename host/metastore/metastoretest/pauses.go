package metastoretest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
)

func testPauses(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	got, err := s.Pauses(ctx)
	require.NoError(t, err)
	require.Empty(t, got)

	at := stamp()
	paused, err := s.PauseSource(ctx, metastore.Pause{Source: "spotify", At: at, By: "auto", Reason: "data loss in raw.spotify.tracks"})
	require.NoError(t, err)
	require.True(t, paused)
	paused, err = s.PauseSource(ctx, metastore.Pause{Source: "spotify", By: "ana", Reason: "second"})
	require.NoError(t, err)
	require.False(t, paused, "pausing a paused source keeps the first pause")

	got, err = s.Pauses(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "auto", got["spotify"].By)
	require.Equal(t, "data loss in raw.spotify.tracks", got["spotify"].Reason)
	require.True(t, at.Equal(got["spotify"].At), "paused at %s, read %s", at, got["spotify"].At)

	resumed, err := s.ResumeSource(ctx, "spotify")
	require.NoError(t, err)
	require.True(t, resumed)
	resumed, err = s.ResumeSource(ctx, "spotify")
	require.NoError(t, err)
	require.False(t, resumed)
	got, err = s.Pauses(ctx)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testRunRetried(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	for _, id := range []string{"failed-run", "good-run"} {
		require.NoError(t, s.CreateRun(ctx, metastore.Run{ID: id, Source: "tiktok", Kind: "ingest", StartedAt: stamp()}))
	}
	require.NoError(t, s.FinishRun(ctx, "failed-run", metastore.RunFailed, "503", nil))
	require.NoError(t, s.FinishRun(ctx, "good-run", metastore.RunSucceeded, "", nil))

	changed, err := s.MarkRunRetried(ctx, "failed-run")
	require.NoError(t, err)
	require.True(t, changed)
	r, err := s.GetRun(ctx, "failed-run")
	require.NoError(t, err)
	require.Equal(t, metastore.RunRetried, r.Status)
	require.Equal(t, "503", r.Error, "the error stays")

	changed, err = s.MarkRunRetried(ctx, "good-run")
	require.NoError(t, err)
	require.False(t, changed, "only a failed run is retried")
	r, err = s.GetRun(ctx, "good-run")
	require.NoError(t, err)
	require.Equal(t, metastore.RunSucceeded, r.Status)
	changed, err = s.MarkRunRetried(ctx, "no-such-run")
	require.NoError(t, err)
	require.False(t, changed)
}
