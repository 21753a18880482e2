package access_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/access"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

var testSchema = sdk.Schema{Fields: []sdk.Field{{Name: "track", Type: sdk.TypeString}, {Name: "plays", Type: sdk.TypeInt64}}}

// memoryLake holds one dataset in every zone: <zone>.spotify.tracks, with
// three rows of 3+8 bytes plus offsets.
func memoryLake() *sdktest.MemoryLake {
	l := sdktest.NewMemoryLake()
	for _, z := range sdk.LakeZones {
		b := sdk.NewBatchBuilder("tracks", testSchema)
		for i, tr := range []string{"abc", "def", "ghi"} {
			b.AppendString(0, []byte(tr))
			b.AppendInt64(1, int64(i))
			b.EndRow()
		}
		l.AddDataset(z+".spotify.tracks", testSchema, b.Batch())
	}
	return l
}

func drain(r sdk.TableReader) (int, error) {
	defer r.Close()
	rows := 0
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows += b.NumRows
	}
}

func TestGuardedLakeAsWritten(t *testing.T) {
	t.Parallel()
	roles := shippedRoles(t)
	policy, err := access.Load(shippedFile)
	require.NoError(t, err)

	for name, r := range roles {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := newStore(t)
			auditor := access.NewJSONLAuditor(store, access.JSONLOptions{Process: "t"})
			inner := memoryLake()
			lake := access.NewGuardedLake(inner, access.NewGuard(policy, auditor), access.LakeOptions{Role: name})
			// The run is granted every zone the role writes, and reads
			// every zone (so only the policy decides).
			caller := sdk.LakeCaller{AgentID: "agent-1", SessionID: "s-" + name, Task: "t",
				Zones: sdk.ZoneAccess{Read: sdk.LakeZones, Write: r["write"]}}
			ctx = sdk.WithLakeCaller(ctx, caller)
			decisions := 0

			for _, z := range sdk.LakeZones {
				canRead := slices.Contains(r["read"], z)
				dataset := z + ".spotify.tracks"

				rd, err := lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: dataset})
				decisions++
				if canRead {
					require.NoError(t, err, "read %s", dataset)
					rows, err := drain(rd)
					require.NoError(t, err)
					require.Equal(t, 3, rows)
				} else {
					require.ErrorIs(t, err, sdk.ErrPermissionDenied, "read %s", dataset)
					require.ErrorContains(t, err, access.RuleDenyByDefault)
				}

				q, err := lake.Query(ctx, "SELECT * FROM "+dataset, 0)
				decisions++
				if canRead {
					require.NoError(t, err, "query %s", dataset)
					_, err = drain(q)
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, sdk.ErrPermissionDenied, "query %s", dataset)
				}

				list, err := lake.ListDatasets(ctx, z)
				decisions++
				if canRead {
					require.NoError(t, err)
					require.Len(t, list, 1)
				} else {
					require.ErrorIs(t, err, sdk.ErrPermissionDenied, "list %s", z)
				}

				canWrite := slices.Contains(r["write"], z)
				info, err := lake.PutObject(ctx, z, "notes/a.md", "text/markdown", strings.NewReader("hello"))
				decisions++
				if canWrite {
					require.NoError(t, err, "write %s", z)
					got, ok := inner.Object(info.Key)
					require.True(t, ok)
					require.Equal(t, "hello", string(got))
				} else {
					require.ErrorIs(t, err, sdk.ErrPermissionDenied, "write %s", z)
				}
			}

			// Listing every dataset shows only the readable zones.
			all, err := lake.ListDatasets(ctx, "")
			decisions += len(sdk.LakeZones)
			require.NoError(t, err)
			var zones []string
			for _, d := range all {
				zones = append(zones, d.Zone)
			}
			require.ElementsMatch(t, r["read"], zones)

			_, err = lake.SearchKnowledge(ctx, "", 10)
			decisions++
			if slices.Contains(r["read"], "knowledge") {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, sdk.ErrPermissionDenied)
			}
			id, err := lake.AddKnowledge(ctx, sdk.KnowledgeEntry{Kind: sdk.KnowledgeFinding, Title: "t", Body: "b", Confidence: 0.5})
			decisions++
			if slices.Contains(r["write"], "knowledge") {
				require.NoError(t, err)
				k := inner.Knowledge()
				require.Len(t, k, 1)
				require.Equal(t, id, k[0].ID)
				require.Equal(t, "agent-1", k[0].Author, "the host sets the author")
			} else {
				require.ErrorIs(t, err, sdk.ErrPermissionDenied)
				require.Empty(t, inner.Knowledge())
			}

			require.Empty(t, inner.Denials(), "every denial came from the guard, before the inner lake")
			require.NoError(t, auditor.Close(ctx))
			_, lines := auditLines(t, store)
			require.Len(t, lines, decisions, "one audit line per decision")
			denied := 0
			for _, l := range lines {
				require.Equal(t, name, l.Principal.Role)
				require.Equal(t, "agent-1", l.Principal.AgentID)
				require.Equal(t, "s-"+name, l.Principal.SessionID)
				if !l.Allowed {
					denied++
					require.Equal(t, access.RuleDenyByDefault, l.Rule)
				}
			}
			require.Positive(t, denied)
		})
	}
}

func TestGuardedLakePutNeedsTheGrant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inner := memoryLake()
	policy := access.Default()
	lake := access.NewGuardedLake(inner, access.NewGuard(policy, nil), access.LakeOptions{})
	grant, err := policy.AgentGrant("ai_agent", nil)
	require.NoError(t, err)
	ctx = sdk.WithLakeCaller(ctx, sdk.LakeCaller{AgentID: "a", SessionID: "s", Task: "summarize", Zones: grant})

	info, err := lake.PutObject(ctx, "sandbox", "r.md", "", strings.NewReader("x"))
	require.NoError(t, err)
	require.Equal(t, "sandbox/a/s/r.md", info.Key)

	// ai_agent may write knowledge, but this task was assigned the sandbox.
	_, err = lake.PutObject(ctx, "knowledge", "patterns/p.md", "", strings.NewReader("x"))
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	require.ErrorContains(t, err, "granted writes to sandbox only, not knowledge")

	// A grant never widens the role: curated stays denied.
	wide := sdk.WithLakeCaller(context.Background(), sdk.LakeCaller{AgentID: "a", SessionID: "s", Zones: sdk.ZoneAccess{Read: sdk.LakeZones, Write: sdk.LakeZones}})
	_, err = lake.PutObject(wide, "curated", "mart.parquet", "", strings.NewReader("x"))
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	require.ErrorContains(t, err, "role ai_agent may write only sandbox, knowledge")
}

func TestGuardedLakeQueryNamingAnUnreadableZone(t *testing.T) {
	t.Parallel()
	inner := memoryLake()
	lake := access.NewGuardedLake(inner, access.NewGuard(access.Default(), nil), access.LakeOptions{})
	ctx := sdk.WithLakeCaller(context.Background(), sdk.LakeCaller{AgentID: "a", SessionID: "s",
		Zones: sdk.ZoneAccess{Read: sdk.LakeZones}})
	for _, sql := range []string{
		`SELECT * FROM raw.spotify.tracks`,
		`SELECT * FROM "raw.spotify.tracks"`,
		`SELECT * FROM raw.spotify_tracks`,
		`SELECT * FROM "raw"."spotify_tracks"`,
		`SELECT * FROM RAW . spotify_tracks`,
		`/* spotify_tracks */ SELECT 1`,
		`SELECT c.track FROM curated.spotify_tracks c JOIN landing.spotify_tracks l USING (track)`,
		`SELECT * FROM raw.not_yet_there`,
	} {
		_, err := lake.Query(ctx, sql, 0)
		require.ErrorIs(t, err, sdk.ErrPermissionDenied, sql)
	}
	r, err := lake.Query(ctx, "SELECT track FROM curated.spotify.tracks LIMIT 2", 0)
	require.NoError(t, err)
	rows, err := drain(r)
	require.NoError(t, err)
	require.Equal(t, 2, rows)
	_, err = lake.Query(ctx, "SELECT * FROM staging.spotify.tracks WHERE track <> 'draw.io'", 0)
	require.NotErrorIs(t, err, sdk.ErrPermissionDenied, "draw.io does not name the raw zone")

	zones, named := access.QueryZones(`select * from "Raw"."Spotify_Tracks"`, []string{"raw.spotify.tracks", "curated.spotify.tracks"})
	// As in host/sqlengine, the table part alone (spotify_tracks) makes
	// every dataset with that table part used: both zones must be readable.
	require.Equal(t, []string{"raw", "curated"}, zones)
	require.Equal(t, []string{"raw.spotify.tracks", "curated.spotify.tracks"}, named)
	zones, named = access.QueryZones(`select * from "curated.spotify.tracks"`, []string{"raw.spotify.tracks", "curated.spotify.tracks"})
	require.Equal(t, []string{"curated"}, zones)
	require.Equal(t, []string{"curated.spotify.tracks"}, named)
}

func TestGuardedLakeWithoutCallerDenies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lake := access.NewGuardedLake(memoryLake(), access.NewGuard(access.Default(), nil), access.LakeOptions{})
	_, err := lake.ListDatasets(ctx, "")
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	_, err = lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: "curated.spotify.tracks"})
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	_, err = lake.Query(ctx, "SELECT * FROM curated.spotify.tracks", 0)
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	_, err = lake.PutObject(ctx, "sandbox", "a", "", strings.NewReader("x"))
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	_, err = lake.SearchKnowledge(ctx, "", 1)
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
}

func TestGuardedLakeBudgets(t *testing.T) {
	t.Parallel()
	policy, err := access.Parse("budget.yaml", []byte(`
roles:
  ai_agent:
    read: [curated, knowledge]
    write: [sandbox, knowledge]
    assigned_zones: [sandbox]
    constraints: {max_runtime: 1m, resource_quota: tiny}
quotas:
  tiny: {memory: 64MiB, cpu: 0.5, read_bytes: 100, write_bytes: 10}
`))
	require.NoError(t, err)
	inner := memoryLake()
	lake := access.NewGuardedLake(inner, access.NewGuard(policy, nil), access.LakeOptions{})
	grant, err := policy.AgentGrant("ai_agent", []string{"sandbox", "knowledge"})
	require.NoError(t, err)
	ctx := sdk.WithLakeCaller(context.Background(), sdk.LakeCaller{AgentID: "a", SessionID: "s1", Zones: grant})

	// Writes: 10 bytes in all.
	_, err = lake.PutObject(ctx, "sandbox", "a.txt", "", strings.NewReader("12345678"))
	require.NoError(t, err)
	_, err = lake.PutObject(ctx, "sandbox", "b.txt", "", strings.NewReader("12345678"))
	require.ErrorIs(t, err, sdk.ErrBudgetExceeded)
	require.ErrorContains(t, err, "session s1 may write 10 bytes")
	_, ok := inner.Object("sandbox/a/s1/b.txt")
	require.False(t, ok, "the refused object is not stored")
	_, err = lake.AddKnowledge(ctx, sdk.KnowledgeEntry{Kind: sdk.KnowledgeFinding, Title: "long title", Body: "b"})
	require.ErrorIs(t, err, sdk.ErrBudgetExceeded)

	// Reads: one dataset is 3*3 string bytes + 3*4 offsets + 3*8 ints = 45
	// bytes; two fit in 100, the third does not.
	one := access.BatchBytes(mustBatch(t, inner))
	require.Equal(t, int64(45), one)
	for range 2 {
		r, err := lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: "curated.spotify.tracks"})
		require.NoError(t, err)
		_, err = drain(r)
		require.NoError(t, err)
	}
	r, err := lake.ReadDataset(ctx, sdk.ReadDatasetRequest{Name: "curated.spotify.tracks"})
	require.NoError(t, err)
	_, err = drain(r)
	require.ErrorIs(t, err, sdk.ErrBudgetExceeded)
	require.Equal(t, access.Usage{ReadBytes: 90, WriteBytes: 8}, lake.Usage("s1"))

	// Another session has its own budget; a caller limit below the quota wins.
	ctx2 := sdk.WithLakeCaller(context.Background(), sdk.LakeCaller{AgentID: "a", SessionID: "s2", Zones: grant,
		Limits: sdk.Limits{MaxWriteBytes: 4}})
	_, err = lake.PutObject(ctx2, "sandbox", "c.txt", "", strings.NewReader("12345"))
	require.ErrorIs(t, err, sdk.ErrBudgetExceeded)
	_, err = lake.PutObject(ctx2, "sandbox", "c.txt", "", strings.NewReader("1234"))
	require.NoError(t, err)
	lake.ForgetSession("s2")
	require.Equal(t, access.Usage{}, lake.Usage("s2"))
}

func mustBatch(t *testing.T, l *sdktest.MemoryLake) *sdk.RecordBatch {
	t.Helper()
	r, err := l.ReadDataset(sdk.WithLakeCaller(context.Background(), sdk.LakeCaller{Zones: sdk.ZoneAccess{Read: sdk.LakeZones}}),
		sdk.ReadDatasetRequest{Name: "curated.spotify.tracks"})
	require.NoError(t, err)
	b, err := r.Next()
	require.NoError(t, err)
	return b
}
