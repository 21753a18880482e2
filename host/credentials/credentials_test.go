package credentials_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/credentials"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
)

func openMeta(t *testing.T) metastore.Store {
	t.Helper()
	m, err := sqlstore.Open(t.Context(), sqlstore.Config{SQLitePath: filepath.Join(t.TempDir(), "bedrot.db")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func newKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, credentials.KeySize)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(k)
}

const secretValue = "SENTINEL-rotated-refresh-token-7d1f"

func TestRotatedValueIsUsedNextTimeAndStoredSealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	meta := openMeta(t)
	v := credentials.New(meta, credentials.KeySource{Key: newKey(t)})
	configured := map[string]string{"refresh_token": "configured-token", "client_key": "ck"}

	got, stale, err := v.Apply(ctx, "tiktok", configured)
	require.NoError(t, err)
	require.Equal(t, configured, got, "nothing stored yet: the configuration as written")
	require.Empty(t, stale)

	require.NoError(t, v.Save(ctx, "tiktok", configured, map[string]string{"refresh_token": secretValue + "-1"}))
	require.NoError(t, v.Save(ctx, "tiktok", configured, map[string]string{"refresh_token": secretValue}))
	got, stale, err = v.Apply(ctx, "tiktok", configured)
	require.NoError(t, err)
	require.Empty(t, stale)
	require.Equal(t, map[string]string{"refresh_token": secretValue, "client_key": "ck"}, got, "the newest rotated value wins")

	other, _, err := v.Apply(ctx, "spotify", configured)
	require.NoError(t, err)
	require.Equal(t, configured, other, "a source's stored values are its own")

	stored, err := meta.Credentials(ctx, "tiktok")
	require.NoError(t, err)
	require.Len(t, stored, 1)
	require.False(t, bytes.Contains(stored["refresh_token"].Sealed, []byte("SENTINEL")), "the metastore holds ciphertext only")
	require.NotContains(t, stored["refresh_token"].Base, "configured-token")
}

func TestReconfiguredValueWinsOverStaleStoredOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	meta := openMeta(t)
	v := credentials.New(meta, credentials.KeySource{Key: newKey(t)})
	require.NoError(t, v.Save(ctx, "tiktok", map[string]string{"refresh_token": "old-config"}, map[string]string{"refresh_token": secretValue}))

	got, stale, err := v.Apply(ctx, "tiktok", map[string]string{"refresh_token": "re-authorised"})
	require.NoError(t, err)
	require.Equal(t, "re-authorised", got["refresh_token"])
	require.Equal(t, []string{"refresh_token"}, stale)
	stored, err := meta.Credentials(ctx, "tiktok")
	require.NoError(t, err)
	require.Empty(t, stored, "the stale value is forgotten")
}

func TestWrongKeyIsAClearErrorWithoutTheValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	meta := openMeta(t)
	cfg := map[string]string{"refresh_token": "c"}
	require.NoError(t, credentials.New(meta, credentials.KeySource{Key: newKey(t)}).Save(ctx, "tiktok", cfg, map[string]string{"refresh_token": secretValue}))

	_, _, err := credentials.New(meta, credentials.KeySource{Key: newKey(t)}).Apply(ctx, "tiktok", cfg)
	require.ErrorIs(t, err, credentials.ErrBadKey)
	require.ErrorContains(t, err, "refresh_token of source tiktok")
	require.NotContains(t, err.Error(), "SENTINEL")
}

func TestBadKeysAreRejectedWithoutQuotingThem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, key := range map[string]string{
		"not base64": "SENTINEL!!not-base64",
		"too short":  base64.StdEncoding.EncodeToString([]byte("SENTINEL-16bytes")),
	} {
		t.Run(name, func(t *testing.T) {
			v := credentials.New(openMeta(t), credentials.KeySource{Key: key})
			err := v.Save(ctx, "tiktok", nil, map[string]string{"refresh_token": "x"})
			require.ErrorIs(t, err, credentials.ErrBadKey)
			require.ErrorContains(t, err, "openssl rand -base64 32")
			require.NotContains(t, err.Error(), "SENTINEL")
		})
	}
}

func TestKeyFileIsGeneratedOnFirstNeedOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	meta := openMeta(t)
	path := filepath.Join(t.TempDir(), "conf", "bedrot", "secrets.key")
	var generated []string
	ks := credentials.KeySource{Path: path, OnGenerate: func(p string) { generated = append(generated, p) }}

	_, _, err := credentials.New(meta, ks).Apply(ctx, "tiktok", map[string]string{"refresh_token": "c"})
	require.NoError(t, err)
	require.NoFileExists(t, path, "no stored credential, no key needed")

	cfg := map[string]string{"refresh_token": "c"}
	require.NoError(t, credentials.New(meta, ks).Save(ctx, "tiktok", cfg, map[string]string{"refresh_token": secretValue}))
	require.Equal(t, []string{path}, generated)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the key file is readable by its owner only")

	// A later process (a new Vault) finds the same key and opens the value.
	got, _, err := credentials.New(meta, ks).Apply(ctx, "tiktok", cfg)
	require.NoError(t, err)
	require.Equal(t, secretValue, got["refresh_token"])
	require.Len(t, generated, 1, "the key is generated once")
}
