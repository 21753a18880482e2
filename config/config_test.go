package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writeFile writes content to name in a fresh temporary folder and returns
// its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// emptyFile is a config file with no settings, so that Load never looks at
// ./bedrot.yaml.
func emptyFile(t *testing.T) string { return writeFile(t, "bedrot.yaml", "") }

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	cfg, path, err := Load(LoadOptions{File: emptyFile(t), Environ: []string{}})
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(path, "bedrot.yaml"))
	want := Default()
	want.Sources = nil
	require.Equal(t, want, cfg)
	require.Equal(t, filepath.Join("lake", ".bedrot", "bedrot.db"), cfg.SQLitePath())
	require.Equal(t, filepath.Join("lake", ".bedrot", "plugins"), cfg.PluginDir())
}

func TestLoadLayering(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "bedrot.yaml", `
lake: /srv/file-lake
storage:
  s3:
    region: eu-west-1
    prefix: from-file
log:
  level: info
  format: json
plugins:
  log_level: debug
`)
	environ := []string{
		"BEDROT_LOG_LEVEL=debug",
		"BEDROT_STORAGE_S3_PREFIX=from-env",
		"BEDROT_PLUGINS_DIR=/opt/plugins",
		"BEDROT_UNKNOWN_KEY=ignored",
		"HOME=/root",
	}
	flags := map[string]any{"log.level": "warn", "database.sqlite_path": "/var/bedrot.db"}
	cfg, path, err := Load(LoadOptions{File: file, Environ: environ, Flags: flags})
	require.NoError(t, err)
	require.Equal(t, file, path)

	require.Equal(t, "/srv/file-lake", cfg.Lake, "file beats defaults")
	require.Equal(t, "folder", cfg.Storage.Backend, "defaults stay where nothing else sets a key")
	require.Equal(t, "eu-west-1", cfg.Storage.S3.Region, "file beats defaults")
	require.Equal(t, "json", cfg.Log.Format, "file beats defaults")
	require.Equal(t, "debug", cfg.Plugins.LogLevel, "file beats defaults")
	require.Equal(t, "from-env", cfg.Storage.S3.Prefix, "environment beats file")
	require.Equal(t, "/opt/plugins", cfg.Plugins.Dir, "environment beats defaults")
	require.Equal(t, "warn", cfg.Log.Level, "flags beat environment and file")
	require.Equal(t, "/var/bedrot.db", cfg.Database.SQLitePath, "flags beat defaults")
	require.Equal(t, "/var/bedrot.db", cfg.SQLitePath())
	require.Equal(t, "/opt/plugins", cfg.PluginDir())
}

func TestLoadEnvironment(t *testing.T) {
	t.Parallel()
	environ := []string{
		"BEDROT_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"BEDROT_SOURCES__DISTROKID__CONFIG__INBOX=/data/Inbox DistroKid",
		"BEDROT_SOURCES__SPOTIFY__PLUGIN=spotify-v2",
		"BEDROT_SOURCES__SPOTIFY__CONFIG__CLIENT_SECRET=s3cr=t",
		"BEDROT_STORAGE_S3_USE_SSL=true",
		"BEDROT_PLUGINS_IDLE_TIMEOUT=5m",
		"BEDROT_CONFIG=/ignored/as/a/key",
	}
	cfg, _, err := Load(LoadOptions{File: emptyFile(t), Environ: environ})
	require.NoError(t, err)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", cfg.Database.URL)
	require.Equal(t, "/data/Inbox DistroKid", cfg.Sources["distrokid"].Config["inbox"], "values keep their case")
	require.Equal(t, "distrokid", cfg.Source("distrokid").Plugin)
	require.Equal(t, "spotify-v2", cfg.Source("spotify").Plugin)
	require.Equal(t, "s3cr=t", cfg.Source("spotify").Config["client_secret"])
	require.True(t, cfg.Storage.S3.UseSSL)
	require.Equal(t, 5*time.Minute, cfg.Plugins.IdleTimeout)
}

func TestLoadConfigFileFromEnvironment(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "custom.yaml", "lake: /from/bedrot-config\n")
	cfg, path, err := Load(LoadOptions{Environ: []string{"BEDROT_CONFIG=" + file}})
	require.NoError(t, err)
	require.Equal(t, file, path)
	require.Equal(t, "/from/bedrot-config", cfg.Lake)
}

func TestLoadSourcesFromFileAndEnvironment(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "bedrot.yaml", `
sources:
  distrokid:
    config:
      inbox: ./inbox/distrokid
      files: a.tsv
`)
	cfg, _, err := Load(LoadOptions{File: file, Environ: []string{
		"BEDROT_SOURCES__DISTROKID__CONFIG__INBOX=/override",
	}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"inbox": "/override", "files": "a.tsv"}, cfg.Source("distrokid").Config)
	require.Equal(t, map[string]string{}, cfg.Source("unknown").Config)
	require.Equal(t, "unknown", cfg.Source("unknown").Plugin)
}

func TestLoadDurations(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "bedrot.yaml", "plugins:\n  idle_timeout: 90s\n")
	cfg, _, err := Load(LoadOptions{File: file, Environ: []string{}})
	require.NoError(t, err)
	require.Equal(t, 90*time.Second, cfg.Plugins.IdleTimeout)

	cfg, _, err = Load(LoadOptions{File: file, Environ: []string{}, Flags: map[string]any{"plugins.idle_timeout": "1h30m"}})
	require.NoError(t, err)
	require.Equal(t, 90*time.Minute, cfg.Plugins.IdleTimeout)

	bad := writeFile(t, "bedrot.yaml", "plugins:\n  idle_timeout: soon\n")
	_, _, err = Load(LoadOptions{File: bad, Environ: []string{}})
	require.ErrorIs(t, err, ErrBadConfiguration)
	require.ErrorContains(t, err, "idle_timeout")
}

func TestLoadSecretFiles(t *testing.T) {
	t.Parallel()
	secret := writeFile(t, "minio", "very-secret\n")
	token := writeFile(t, "token", "tok\r\n")
	file := writeFile(t, "bedrot.yaml", `
storage:
  backend: s3
  s3:
    endpoint: 127.0.0.1:9000
    bucket: lake
    access_key: bedrot
    secret_key_file: `+secret+`
sources:
  spotify:
    config:
      client_secret_file: `+token+`
`)
	cfg, _, err := Load(LoadOptions{File: file, Environ: []string{}})
	require.NoError(t, err)
	require.Equal(t, "very-secret", cfg.Storage.S3.SecretKey, "the trailing newline is trimmed")
	require.Equal(t, "tok", cfg.Source("spotify").Config["client_secret"])
	require.NotContains(t, cfg.Source("spotify").Config, "client_secret_file")

	// The _file key can come from the environment as well.
	cfg, _, err = Load(LoadOptions{File: emptyFile(t), Environ: []string{
		"BEDROT_STORAGE_BACKEND=s3",
		"BEDROT_STORAGE_S3_ENDPOINT=127.0.0.1:9000",
		"BEDROT_STORAGE_S3_BUCKET=lake",
		"BEDROT_STORAGE_S3_SECRET_KEY_FILE=" + secret,
		"BEDROT_SOURCES__SPOTIFY__CONFIG__CLIENT_SECRET_FILE=" + token,
	}})
	require.NoError(t, err)
	require.Equal(t, "very-secret", cfg.Storage.S3.SecretKey)
	require.Equal(t, "tok", cfg.Source("spotify").Config["client_secret"])
}

func TestLoadMissingSecretFile(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "does-not-exist")
	file := writeFile(t, "bedrot.yaml", "storage:\n  s3:\n    secret_key_file: "+missing+"\n")
	_, _, err := Load(LoadOptions{File: file, Environ: []string{}})
	require.ErrorIs(t, err, ErrBadConfiguration)
	require.ErrorContains(t, err, "storage.s3.secret_key_file")
	require.ErrorContains(t, err, missing)
}

func TestLoadMalformedFile(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "broken.yaml", "lake: [unclosed\nstorage:\n\tbackend: s3\n")
	_, path, err := Load(LoadOptions{File: file, Environ: []string{}})
	require.ErrorIs(t, err, ErrBadConfiguration)
	require.ErrorContains(t, err, file)
	require.Equal(t, file, path)

	missing := filepath.Join(t.TempDir(), "nope.yaml")
	_, _, err = Load(LoadOptions{File: missing, Environ: []string{}})
	require.ErrorIs(t, err, ErrBadConfiguration)
	require.ErrorContains(t, err, missing)
}

func TestLoadValidates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		environ []string
		key     string
	}{
		{"backend", []string{"BEDROT_STORAGE_BACKEND=gcs"}, "storage.backend"},
		{"bucket", []string{"BEDROT_STORAGE_BACKEND=s3", "BEDROT_STORAGE_S3_ENDPOINT=127.0.0.1:9000"}, "storage.s3.bucket"},
		{"endpoint", []string{"BEDROT_STORAGE_BACKEND=s3", "BEDROT_STORAGE_S3_BUCKET=lake"}, "storage.s3.endpoint"},
		{"log format", []string{"BEDROT_LOG_FORMAT=xml"}, "log.format"},
		{"lake", []string{"BEDROT_LAKE="}, "lake"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Load(LoadOptions{File: emptyFile(t), Environ: tc.environ})
			require.ErrorIs(t, err, ErrBadConfiguration)
			require.ErrorContains(t, err, tc.key+":")
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := Default()
	require.NoError(t, ok.Validate())

	s3 := Default()
	s3.Storage.Backend = "s3"
	s3.Storage.S3.Endpoint = "127.0.0.1:9000"
	s3.Storage.S3.Bucket = "lake"
	require.NoError(t, s3.Validate())

	noDB := s3
	noDB.Lake = ""
	err := noDB.Validate()
	require.ErrorIs(t, err, ErrBadConfiguration)
	require.ErrorContains(t, err, "database:")
	noDB.Database.URL = "postgres://localhost/test"
	require.NoError(t, noDB.Validate())

	// Every problem is reported at once, each naming its key.
	bad := Default()
	bad.Storage.Backend = "s3"
	bad.Log.Format = "yaml"
	err = bad.Validate()
	require.ErrorIs(t, err, ErrBadConfiguration)
	for _, key := range []string{"storage.s3.endpoint:", "storage.s3.bucket:", "log.format:"} {
		require.ErrorContains(t, err, key)
	}

	wrong := Default()
	wrong.Storage.Backend = "ftp"
	require.ErrorContains(t, wrong.Validate(), `storage.backend: "ftp" is not one of folder, s3`)
}

func TestEnvValueBeatsFileSecretFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("from-file\n"), 0o600))
	cfgFile := filepath.Join(dir, "bedrot.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte("storage:\n  s3:\n    secret_key_file: "+secret+"\n"), 0o600))
	cfg, _, err := Load(LoadOptions{File: cfgFile, Environ: []string{"BEDROT_STORAGE_S3_SECRET_KEY=from-env"}})
	require.NoError(t, err)
	require.Equal(t, "from-env", cfg.Storage.S3.SecretKey, "the environment is a higher layer than the file")
	cfg, _, err = Load(LoadOptions{File: cfgFile, Environ: []string{}})
	require.NoError(t, err)
	require.Equal(t, "from-file", cfg.Storage.S3.SecretKey)
}

func TestDaemonThenDefaultsToBuildAndCanPublishOrBeTurnedOff(t *testing.T) {
	cfg, _, err := Load(LoadOptions{File: emptyFile(t), Environ: []string{}})
	require.NoError(t, err)
	require.Equal(t, []string{"build"}, cfg.Daemon.Then)
	cfg, _, err = Load(LoadOptions{File: writeFile(t, "bedrot.yaml", "daemon:\n  then: []\n"), Environ: []string{}})
	require.NoError(t, err)
	require.Empty(t, cfg.Daemon.Then)
	_, _, err = Load(LoadOptions{File: writeFile(t, "bedrot.yaml", "daemon:\n  then: [build, deploy]\n"), Environ: []string{}})
	require.ErrorContains(t, err, `daemon.then: "deploy" is not a step the daemon runs after an ingest (build, publish)`)
	_, _, err = Load(LoadOptions{File: writeFile(t, "bedrot.yaml", "daemon:\n  then: [build, publish]\n"), Environ: []string{}})
	require.ErrorContains(t, err, "daemon.then: publish needs PostgreSQL: set curated.analytics_url or database.url")
	cfg, _, err = Load(LoadOptions{File: writeFile(t, "bedrot.yaml", "daemon:\n  then: [build, publish]\n"),
		Environ: []string{"BEDROT_CURATED_ANALYTICS_URL=postgres://bi@db/analytics"}})
	require.NoError(t, err)
	require.Equal(t, []string{"build", "publish"}, cfg.Daemon.Then)
}
