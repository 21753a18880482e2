package lineage_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/lineage"
)

func TestNamerFolder(t *testing.T) {
	t.Parallel()
	n, err := lineage.NewNamer("/srv/lake/")
	require.NoError(t, err)
	require.Equal(t, "file", n.Namespace())
	for name, want := range map[string]string{
		"landing.distrokid":                    "/srv/lake/landing/distrokid",
		"quarantine.distrokid":                 "/srv/lake/landing/distrokid/*/_quarantine",
		"raw.spotify":                          "/srv/lake/raw/source=spotify",
		"raw.distrokid.earnings":               "/srv/lake/raw/source=distrokid/*/earnings-*.parquet",
		"staging.streaming":                    "/srv/lake/staging/domain=streaming",
		"staging.streaming.tiktok_video_daily": "/srv/lake/staging/domain=streaming/*/tiktok_video_daily-*.parquet",
		"curated.royalties_monthly":            "/srv/lake/curated/mart=royalties_monthly",
		"curated.royalties_monthly.v1_0":       "/srv/lake/curated/mart=royalties_monthly/version=v1.0",
	} {
		id, err := n.Dataset(name)
		require.NoError(t, err, name)
		require.Equal(t, lineage.DatasetID{Namespace: "file", Name: want}, id, name)
		rel, ok := n.Relative(id)
		require.True(t, ok)
		want2, err := lineage.RelativeName(name)
		require.NoError(t, err)
		require.Equal(t, want2, rel)
	}
}

func TestNamerS3(t *testing.T) {
	t.Parallel()
	for loc, prefix := range map[string]string{
		"s3://label-lake":          "",
		"s3://label-lake/":         "",
		"s3://label-lake/prod":     "prod/",
		"s3://label-lake/prod/eu/": "prod/eu/",
	} {
		n, err := lineage.NewNamer(loc)
		require.NoError(t, err, loc)
		id, err := n.Dataset("raw.spotify")
		require.NoError(t, err)
		require.Equal(t, lineage.DatasetID{Namespace: "s3://label-lake", Name: prefix + "raw/source=spotify"}, id, loc)
	}
	_, err := lineage.NewNamer("s3:///prefix")
	require.ErrorContains(t, err, "no bucket")
	_, err = lineage.NewNamer("lake")
	require.ErrorContains(t, err, "absolute")
}

func TestNamerRejects(t *testing.T) {
	t.Parallel()
	n, err := lineage.NewNamer("/srv/lake")
	require.NoError(t, err)
	for _, name := range []string{"", "raw", "sandbox.me.x", "raw.a.b.c", "raw..x", "raw.a/b", "raw.*", "curated.m.1_0", "landing.a.b"} {
		_, err := n.Dataset(name)
		require.Error(t, err, name)
	}
	other := lineage.DatasetID{Namespace: "s3://x", Name: "/srv/lake/raw"}
	_, ok := n.Relative(other)
	require.False(t, ok)
}

func TestPostgresTable(t *testing.T) {
	t.Parallel()
	id, err := lineage.PostgresTableFromDSN("postgres://bi:pw@127.0.0.1:5432/analytics", "marts", "sales")
	require.NoError(t, err)
	require.Equal(t, lineage.DatasetID{Namespace: "postgres://127.0.0.1:5432", Name: "analytics.marts.sales"}, id)

	id, err = lineage.PostgresTableFromDSN("host=db port=6543 dbname=bi user=u password=pw", "public", "t")
	require.NoError(t, err)
	require.Equal(t, lineage.DatasetID{Namespace: "postgres://db:6543", Name: "bi.public.t"}, id)

	require.Equal(t, "postgres://[::1]:5432", lineage.PostgresTable("::1", 5432, "d", "s", "t").Namespace)

	_, err = lineage.PostgresTableFromDSN("postgres://bi:topsecret@db:notaport/x", "s", "t")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "topsecret")
}
