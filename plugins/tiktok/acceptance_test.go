package tiktok_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/credentials"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

// TestAcceptance runs the SDK's protocol acceptance test against the real
// plugin binary, launched the way the host launches it, reading from the
// emulator: once with the Display API only and once with the Accounts API
// too. The refresh token rotates on every run; the acceptance test passes
// the rotated one on to its second read, which fails unless the plugin
// handed it over.
func TestAcceptance(t *testing.T) {
	t.Parallel()
	bin := plugintest.Build(t, "plugins/tiktok/cmd/bedrot-source-tiktok")
	for _, withBusiness := range []bool{false, true} {
		name := "display"
		if withBusiness {
			name = "display+business"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := emulator.Options{
				ClientKey: "ck_acceptance", ClientSecret: "cs_acceptance_secret", RefreshToken: "rft.acceptance",
				VideoCount: 57, Seed: 3,
			}
			if withBusiness {
				opts.BusinessID, opts.BusinessAccessToken = "-000acceptbiz", "biz_acceptance_token"
			}
			srv := emulator.New(opts)
			base := srv.Start()
			t.Cleanup(srv.Close)
			cfg := sdk.Config{
				"client_key":    opts.ClientKey,
				"client_secret": opts.ClientSecret,
				"refresh_token": opts.RefreshToken,
				"base_url":      base,
				"token_url":     base + "/v2/oauth/token/",
			}
			want := int64(1 + opts.VideoCount)
			bad := sdk.Config{"client_key": "ck", "client_secret": "cs", "refresh_token": "rft.x", "base_url": "not a url"}
			if withBusiness {
				cfg["business_id"] = opts.BusinessID
				cfg["business_access_token"] = opts.BusinessAccessToken
				cfg["business_base_url"] = base
				// The first run reads the settled days of the look-back:
				// from 59 days ago to three days ago.
				want += 57
				bad = sdk.Config{}
				for k, v := range cfg {
					bad[k] = v
				}
				bad["business_access_token"] = "not-the-token"
			}
			sdktest.AcceptanceTest(t, sdktest.Driver{
				Binary:    bin,
				Config:    cfg,
				BadConfig: bad,
				WantRows:  want,
			})
			if got := srv.Counts().Refreshed; got != 2 {
				t.Errorf("the emulator refreshed %d times, want 2 (one per read, each with the token the last one rotated)", got)
			}
			if got := srv.Counts().TokenErrors; got != 0 {
				t.Errorf("%d token requests failed; a rotated refresh token was not passed on", got)
			}
		})
	}
}

// TestHostReplay lands two runs of the real plugin binary through the
// host's pipeline (the second with the refresh token the first rotated),
// then has the host replay landing: every payload is re-read under its
// name with the bytes landing holds, the raw rows of every stream come out
// the same, and the emulator receives no request.
func TestHostReplay(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	bin := plugintest.Build(t, "plugins/tiktok/cmd/bedrot-source-tiktok")
	srv := emulator.New(emulator.Options{
		ClientKey: "ck_replay", ClientSecret: "cs_replay_secret", RefreshToken: "rft.replay",
		VideoCount: 30, Seed: 5, DuplicateAcrossPages: true, ShortPages: true,
		BusinessID: "-000replaybiz", BusinessAccessToken: "biz_replay_token",
	})
	base := srv.Start()
	t.Cleanup(srv.Close)
	cfg := sdk.Config{
		"client_key": "ck_replay", "client_secret": "cs_replay_secret", "refresh_token": "rft.replay",
		"base_url": base, "token_url": base + "/v2/oauth/token/", "max_count": "6",
		"business_id": "-000replaybiz", "business_access_token": "biz_replay_token", "business_base_url": base,
	}

	dir := t.TempDir()
	st, err := folder.New(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	meta, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "meta.db"))
	require.NoError(t, err)
	t.Cleanup(func() { meta.Close() })
	plugins := pluginhost.New(pluginhost.Config{Dir: filepath.Join(dir, "plugins")}, meta)
	_, err = plugins.Install(ctx, bin)
	require.NoError(t, err)
	p := &pipeline.Pipeline{Store: st, Meta: meta, Plugins: plugins, IdleTimeout: 30 * time.Second,
		Credentials: credentials.New(meta, credentials.KeySource{Path: filepath.Join(dir, "secrets.key")})}

	landed := 0
	for range 2 {
		res, err := p.Ingest(ctx, pipeline.Request{Source: "tiktok", Config: cfg})
		require.NoError(t, err)
		require.Equal(t, metastore.RunSucceeded, res.Status)
		landed += len(res.Payloads)
	}
	require.Greater(t, landed, 8)
	streams := []string{"user_info", "videos", "business_metrics"}
	before := map[string][]string{}
	for _, s := range streams {
		before[s] = rawRowsOf(t, st, meta, zone.RawDataset("tiktok", s))
		require.NotEmpty(t, before[s], s)
	}
	require.Len(t, before["videos"], 60, "two snapshots of 30 videos")
	counts := srv.Counts()

	res, err := p.Replay(ctx, pipeline.Request{Source: "tiktok", Config: cfg})
	require.NoError(t, err)
	require.Equal(t, metastore.RunSucceeded, res.Status)
	require.Len(t, res.Payloads, landed)
	for _, pl := range res.Payloads {
		require.Equal(t, pipeline.StatusIngested, pl.Status, pl.Name)
	}
	for _, s := range streams {
		after := rawRowsOf(t, st, meta, zone.RawDataset("tiktok", s))
		require.Len(t, after, len(before[s]), "raw rows of %s", s)
		for i := range after {
			require.Equal(t, before[s][i], after[i], "raw rows of %s differ (sorted row %d)", s, i)
		}
	}
	require.Equal(t, counts, srv.Counts(), "the emulator received no request during the replay")
}

// rawRowsOf reads every raw file of a dataset and returns its rows as
// text, sorted.
func rawRowsOf(t *testing.T, st storage.Store, meta metastore.Store, dataset string) []string {
	t.Helper()
	files, err := meta.ListFiles(t.Context(), dataset)
	require.NoError(t, err)
	var rows []string
	for _, f := range files {
		obj, err := st.Open(t.Context(), f.Key)
		require.NoError(t, err)
		data, err := io.ReadAll(obj)
		require.NoError(t, errors.Join(err, obj.Close()))
		pf, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err)
		for _, rg := range pf.RowGroups() {
			rr := rg.Rows()
			buf := make([]parquet.Row, 64)
			for {
				n, err := rr.ReadRows(buf)
				for _, r := range buf[:n] {
					rows = append(rows, fmt.Sprint(r))
				}
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
			}
			require.NoError(t, rr.Close())
		}
	}
	sort.Strings(rows)
	return rows
}
