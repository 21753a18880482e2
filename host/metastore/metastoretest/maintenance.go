package metastoretest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/metastore"
)

func testMaintenance(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	last, err := s.MaintenanceLast(ctx, "scrub")
	require.NoError(t, err)
	require.True(t, last.IsZero(), "a task never scheduled")

	// The first daemon to start the schedule sets it; a second one gets
	// the first one's time.
	first := stamp()
	got, err := s.StartMaintenance(ctx, "scrub", first)
	require.NoError(t, err)
	require.True(t, first.Equal(got), "started at %s, read %s", first, got)
	got, err = s.StartMaintenance(ctx, "scrub", first.Add(time.Hour))
	require.NoError(t, err)
	require.True(t, first.Equal(got), "a later start keeps %s, read %s", first, got)

	done := first.Add(24 * time.Hour)
	require.NoError(t, s.MaintenanceDone(ctx, "scrub", done))
	last, err = s.MaintenanceLast(ctx, "scrub")
	require.NoError(t, err)
	require.True(t, done.Equal(last), "done at %s, read %s", done, last)

	// Tasks are kept apart.
	other, err := s.MaintenanceLast(ctx, "vacuum")
	require.NoError(t, err)
	require.True(t, other.IsZero())
	require.NoError(t, s.MaintenanceDone(ctx, "vacuum", first))
	last, err = s.MaintenanceLast(ctx, "scrub")
	require.NoError(t, err)
	require.True(t, done.Equal(last))
}
