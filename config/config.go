// Package config is the host's configuration: one typed struct, layered by
// koanf as defaults < bedrot.yaml < BEDROT_* environment < command-line
// flags. Secrets (S3 keys, source credentials) may come from the
// environment or from files (any key ending in _file names a file whose
// contents become the value of the key without the suffix); they are never
// printed.
package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"github.com/bedrot-label/bedrot/host/notify"
)

// ErrBadConfiguration wraps every validation error.
var ErrBadConfiguration = errors.New("bad configuration")

// EnvPrefix prefixes every environment variable the host reads.
const EnvPrefix = "BEDROT_"

// Config is the whole host configuration.
type Config struct {
	// Lake is the lake folder (embedded default), and the home of the
	// SQLite metastore and installed plugins when no other place is set.
	Lake     string         `koanf:"lake" json:"lake"`
	Storage  StorageConfig  `koanf:"storage" json:"storage"`
	Database DatabaseConfig `koanf:"database" json:"database"`
	Plugins  PluginsConfig  `koanf:"plugins" json:"plugins"`
	Log      LogConfig      `koanf:"log" json:"log"`
	Secrets  SecretsConfig  `koanf:"secrets" json:"secrets"`
	Quality  QualityConfig  `koanf:"quality" json:"quality"`
	Curated  CuratedConfig  `koanf:"curated" json:"curated"`
	Daemon   DaemonConfig   `koanf:"daemon" json:"daemon"`
	Lineage  LineageConfig  `koanf:"lineage" json:"lineage"`
	Agents   AgentsConfig   `koanf:"agents" json:"agents"`
	// Alerts routes the daemon's alerts to notifiers by severity.
	Alerts notify.Config `koanf:"alerts" json:"alerts"`
	// Sources holds each source's plugin configuration, by source name.
	Sources map[string]SourceConfig `koanf:"sources" json:"sources"`
}

// StorageConfig chooses the object store.
type StorageConfig struct {
	// Backend is "folder" (the lake folder) or "s3" (MinIO or S3).
	Backend string   `koanf:"backend" json:"backend"`
	S3      S3Config `koanf:"s3" json:"s3"`
}

// S3Config configures S3-compatible storage (path-style addressing).
type S3Config struct {
	Endpoint  string `koanf:"endpoint" json:"endpoint"`
	Bucket    string `koanf:"bucket" json:"bucket"`
	Prefix    string `koanf:"prefix" json:"prefix"`
	Region    string `koanf:"region" json:"region"`
	AccessKey string `koanf:"access_key" json:"access_key"`
	SecretKey string `koanf:"secret_key" json:"secret_key"`
	UseSSL    bool   `koanf:"use_ssl" json:"use_ssl"`
}

// DatabaseConfig chooses the metastore.
type DatabaseConfig struct {
	// URL of a PostgreSQL database; empty means SQLite.
	URL string `koanf:"url" json:"url"`
	// Schema in PostgreSQL (default: the URL's search_path).
	Schema string `koanf:"schema" json:"schema"`
	// SQLitePath is the SQLite file (default <lake>/.bedrot/bedrot.db).
	SQLitePath string `koanf:"sqlite_path" json:"sqlite_path"`
}

// PluginsConfig configures plugin management.
type PluginsConfig struct {
	// Dir holds installed binaries (default <lake>/.bedrot/plugins).
	Dir string `koanf:"dir" json:"dir"`
	// LogLevel is passed to plugins.
	LogLevel string `koanf:"log_level" json:"log_level"`
	// IdleTimeout stops a plugin that sends nothing for this long.
	IdleTimeout time.Duration `koanf:"idle_timeout" json:"idle_timeout"`
}

// SecretsConfig holds the key that seals credentials sources rotate while
// running (OAuth refresh tokens) before they are stored in the metastore.
type SecretsConfig struct {
	// Key is a base64 32-byte key (BEDROT_SECRETS_KEY, or secrets.key_file
	// naming a file that holds it). Daemons sharing a metastore share it.
	Key string `koanf:"key" json:"key"`
	// KeyPath is where a key is generated and kept when Key is empty
	// (default <user config dir>/bedrot/secrets.key).
	KeyPath string `koanf:"key_path" json:"key_path"`
}

// QualityConfig configures validation.
type QualityConfig struct {
	// SuitesDir holds one expectation suite per dataset, <dataset>.json
	// (default config/suites).
	SuitesDir string `koanf:"suites_dir" json:"suites_dir"`
	// Validator is the validator plugin (default quality-ge).
	Validator string `koanf:"validator" json:"validator"`
	// ContractsDir holds the data contracts users edit, <dataset>.yaml
	// (default config/contracts).
	ContractsDir string `koanf:"contracts_dir" json:"contracts_dir"`
}

// CuratedConfig configures the marts and their publication for BI.
type CuratedConfig struct {
	// MartsDir holds the marts' SQL files (default config/marts).
	MartsDir string `koanf:"marts_dir" json:"marts_dir"`
	// AnalyticsURL is the PostgreSQL database marts are published to
	// (default database.url).
	AnalyticsURL string `koanf:"analytics_url" json:"analytics_url"`
	// AnalyticsSchema is the schema BI tools read (default analytics).
	AnalyticsSchema string `koanf:"analytics_schema" json:"analytics_schema"`
}

// LogConfig configures the host's own logs (on stderr).
type LogConfig struct {
	Level  string `koanf:"level" json:"level"`
	Format string `koanf:"format" json:"format"` // text or json
}

// DaemonConfig configures `bedrot serve`: its HTTP API, how many runs it
// works at once, and how failed runs are retried.
type DaemonConfig struct {
	// HTTP is the address of the API, /metrics, /healthz and /readyz
	// (default 127.0.0.1:8080).
	HTTP string `koanf:"http" json:"http"`
	// URL is where commands such as `bedrot trigger --daemon` reach a
	// running daemon (default http://<http>).
	URL string `koanf:"url" json:"url"`
	// APIToken, when set, is required of every /api/v1 request as a bearer
	// token, and sent by commands that use a daemon (daemon.api_token_file,
	// BEDROT_DAEMON_API_TOKEN or BEDROT_DAEMON_API_TOKEN_FILE). A daemon
	// whose API listens beyond loopback does not start without one.
	// /metrics, /healthz and /readyz stay open.
	APIToken string `koanf:"api_token" json:"-"`
	// Workers is how many runs one daemon works at once (default 2).
	Workers int `koanf:"workers" json:"workers"`
	// MaxAttempts is how many times a run is tried before it is given up
	// and alerted (default 3). Configuration errors are not retried.
	MaxAttempts int `koanf:"max_attempts" json:"max_attempts"`
	// RetryBackoff is the first retry's delay; it doubles with each attempt,
	// with jitter (default 30s).
	RetryBackoff time.Duration `koanf:"retry_backoff" json:"retry_backoff"`
	// MisfireGrace: a scheduled time missed while every daemon was down is
	// still run on start if it is at most this old (default 1h).
	MisfireGrace time.Duration `koanf:"misfire_grace" json:"misfire_grace"`
	// Then lists the steps the daemon runs after each successful ingest that
	// added rows, in order: "build" (staging and marts), "publish" (the marts
	// to PostgreSQL for BI; needs curated.analytics_url or database.url).
	// Default [build]; [] turns them off.
	Then []string `koanf:"then" json:"then"`
	// CheckInterval is how often the daemon looks for alert conditions
	// (data loss, failed runs, quality, slow runs) (default 30s).
	CheckInterval time.Duration `koanf:"check_interval" json:"check_interval"`
	// ScrubInterval is how often the daemons read every file the manifests
	// list against its checksum and alert on damaged ones (default 24h; 0
	// turns it off). The schedule is kept in the metastore: it survives
	// restarts, daemons sharing a lake scrub it once per interval between
	// them, and the first scrub comes an interval after the lake's first
	// daemon started. The check every tenth check_interval looks at
	// existence and size only.
	ScrubInterval time.Duration `koanf:"scrub_interval" json:"scrub_interval"`
}

// AgentsConfig configures AI agent plugins.
type AgentsConfig struct {
	// AccessPolicy is the access_control.yaml enforced on every call agents
	// make (default config/access_control.yaml; the built-in policy when
	// the file does not exist).
	AccessPolicy string `koanf:"access_policy" json:"access_policy"`
	// Role is the policy role agents run as (default ai_agent).
	Role string `koanf:"role" json:"role"`
	// MCPToken, when set, is required of every request to `bedrot mcp
	// --http` as a bearer token (agents.mcp_token_file, BEDROT_AGENTS_MCP_TOKEN
	// or BEDROT_AGENTS_MCP_TOKEN_FILE). bedrot mcp does not listen beyond
	// loopback without one.
	MCPToken string `koanf:"mcp_token" json:"-"`
}

// PublishURL is the PostgreSQL database marts are published to:
// curated.analytics_url, else the metastore's database.url; empty when
// neither is set.
func (c Config) PublishURL() string {
	if c.Curated.AnalyticsURL != "" {
		return c.Curated.AnalyticsURL
	}
	return c.Database.URL
}

// LineageConfig configures OpenLineage events: every run writes START and
// COMPLETE/FAIL events to .bedrot/lineage/ in the lake, and to URL when set.
type LineageConfig struct {
	// URL of an OpenLineage HTTP backend (Marquez: http://marquez:5000;
	// events are POSTed to <url>/api/v1/lineage).
	URL string `koanf:"url" json:"url"`
	// APIKey is sent as a bearer token (lineage.api_key_file for a file).
	APIKey string `koanf:"api_key" json:"-"`
	// Namespace is the job namespace (default bedrot).
	Namespace string `koanf:"namespace" json:"namespace"`
}

// SourceConfig is one source's settings.
type SourceConfig struct {
	// Plugin is the source plugin's name (default: the source name).
	Plugin string `koanf:"plugin" json:"plugin"`
	// Schedule is when the daemon runs the source: a cron expression (five
	// fields, or six with seconds first), a descriptor (@hourly, @daily), or
	// @every <duration>. Empty: only on demand.
	Schedule string `koanf:"schedule" json:"schedule,omitempty"`
	// Timezone interprets Schedule (IANA name, default UTC).
	Timezone string `koanf:"timezone" json:"timezone,omitempty"`
	// Timeout cancels a run that takes longer, and kills its plugin
	// (default 1h).
	Timeout time.Duration `koanf:"timeout" json:"timeout,omitempty"`
	// Config is passed to the plugin.
	Config map[string]string `koanf:"config" json:"config"`
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Lake:    "lake",
		Storage: StorageConfig{Backend: "folder", S3: S3Config{Region: "us-east-1"}},
		Plugins: PluginsConfig{LogLevel: "warn", IdleTimeout: 2 * time.Minute},
		Log:     LogConfig{Level: "error", Format: "text"},
		Quality: QualityConfig{SuitesDir: "config/suites", Validator: "quality-ge", ContractsDir: "config/contracts"},
		Curated: CuratedConfig{MartsDir: "config/marts", AnalyticsSchema: "analytics"},
		Daemon: DaemonConfig{HTTP: "127.0.0.1:8080", Workers: 2, MaxAttempts: 3, RetryBackoff: 30 * time.Second,
			MisfireGrace: time.Hour, CheckInterval: 30 * time.Second, ScrubInterval: 24 * time.Hour, Then: []string{"build"}},
		Lineage: LineageConfig{Namespace: "bedrot"},
		Agents:  AgentsConfig{AccessPolicy: "config/access_control.yaml", Role: "ai_agent"},
	}
}

// Source returns a source's settings, with defaults filled in.
func (c Config) Source(name string) SourceConfig {
	sc := c.Sources[name]
	if sc.Plugin == "" {
		sc.Plugin = name
	}
	if sc.Config == nil {
		sc.Config = map[string]string{}
	}
	if sc.Timeout <= 0 {
		sc.Timeout = time.Hour
	}
	return sc
}

// Validate checks the configuration; errors name the key.
func (c *Config) Validate() error {
	var errs []string
	if c.Lake == "" && c.Storage.Backend == "folder" {
		errs = append(errs, "lake: must name a folder")
	}
	switch c.Storage.Backend {
	case "folder":
	case "s3":
		if c.Storage.S3.Endpoint == "" {
			errs = append(errs, "storage.s3.endpoint: required when storage.backend is s3")
		}
		if c.Storage.S3.Bucket == "" {
			errs = append(errs, "storage.s3.bucket: required when storage.backend is s3")
		}
		if c.Database.URL == "" && c.Database.SQLitePath == "" && c.Lake == "" {
			errs = append(errs, "database: set database.url (PostgreSQL) or database.sqlite_path with storage.backend s3")
		}
	default:
		errs = append(errs, fmt.Sprintf("storage.backend: %q is not one of folder, s3", c.Storage.Backend))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Sprintf("log.format: %q is not one of text, json", c.Log.Format))
	}
	if c.Daemon.Workers < 0 {
		errs = append(errs, "daemon.workers: must be at least 1")
	}
	for _, step := range c.Daemon.Then {
		switch step {
		case "build":
		case "publish":
			if c.PublishURL() == "" {
				errs = append(errs, "daemon.then: publish needs PostgreSQL: set curated.analytics_url or database.url")
			}
		default:
			errs = append(errs, fmt.Sprintf("daemon.then: %q is not a step the daemon runs after an ingest (build, publish)", step))
		}
	}
	if c.Daemon.ScrubInterval < 0 {
		errs = append(errs, "daemon.scrub_interval: must not be negative (0 turns the scrub off)")
	}
	if c.Daemon.MaxAttempts < 0 {
		errs = append(errs, "daemon.max_attempts: must be at least 1")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Sources)) {
		sc := c.Sources[name]
		if sc.Timezone != "" {
			if _, err := time.LoadLocation(sc.Timezone); err != nil {
				errs = append(errs, fmt.Sprintf("sources.%s.timezone: %q is not an IANA time zone (e.g. Europe/Berlin)", name, sc.Timezone))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrBadConfiguration, strings.Join(errs, "; "))
	}
	return nil
}

// LocalHome is the folder for host-internal files (SQLite, plugins).
func (c Config) LocalHome() string { return filepath.Join(c.Lake, ".bedrot") }

// SQLitePath returns where the SQLite metastore lives.
func (c Config) SQLitePath() string {
	if c.Database.SQLitePath != "" {
		return c.Database.SQLitePath
	}
	return filepath.Join(c.LocalHome(), "bedrot.db")
}

// PluginDir returns where installed plugins live.
func (c Config) PluginDir() string {
	if c.Plugins.Dir != "" {
		return c.Plugins.Dir
	}
	return filepath.Join(c.LocalHome(), "plugins")
}

// LoadOptions says where to load from.
type LoadOptions struct {
	// File is an explicit config file; empty: $BEDROT_CONFIG, else
	// ./bedrot.yaml if it exists.
	File string
	// Environ is the environment (default os.Environ()).
	Environ []string
	// Flags are values of command-line flags the user set, by config key.
	Flags map[string]any
}

// Load layers defaults < file < environment < flags.
func Load(opts LoadOptions) (Config, string, error) {
	k := koanf.New(".")
	def := Default()
	_ = k.Load(confmap.Provider(map[string]any{
		"lake": def.Lake, "storage.backend": def.Storage.Backend, "storage.s3.region": def.Storage.S3.Region,
		"storage.s3.endpoint": "", "storage.s3.bucket": "", "storage.s3.prefix": "", "storage.s3.access_key": "",
		"storage.s3.secret_key": "", "storage.s3.use_ssl": false,
		"database.url": "", "database.schema": "", "database.sqlite_path": "",
		"plugins.dir": "", "plugins.log_level": def.Plugins.LogLevel, "plugins.idle_timeout": def.Plugins.IdleTimeout.String(),
		"log.level": def.Log.Level, "log.format": def.Log.Format,
		"secrets.key": "", "secrets.key_path": "",
		"quality.suites_dir": def.Quality.SuitesDir, "quality.validator": def.Quality.Validator, "quality.contracts_dir": def.Quality.ContractsDir,
		"daemon.http": def.Daemon.HTTP, "daemon.url": "", "daemon.api_token": "", "daemon.workers": def.Daemon.Workers,
		"daemon.max_attempts": def.Daemon.MaxAttempts, "daemon.retry_backoff": def.Daemon.RetryBackoff.String(),
		"daemon.misfire_grace": def.Daemon.MisfireGrace.String(), "daemon.then": def.Daemon.Then, "daemon.check_interval": def.Daemon.CheckInterval.String(), "daemon.scrub_interval": def.Daemon.ScrubInterval.String(),
		"lineage.url": "", "lineage.api_key": "", "lineage.namespace": def.Lineage.Namespace,
		"agents.access_policy": def.Agents.AccessPolicy, "agents.role": def.Agents.Role, "agents.mcp_token": "",
		"curated.marts_dir": def.Curated.MartsDir, "curated.analytics_url": "", "curated.analytics_schema": def.Curated.AnalyticsSchema,
	}, "."), nil)
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	path := opts.File
	if path == "" {
		path = lookup(environ, EnvPrefix+"CONFIG")
	}
	if path == "" {
		if _, err := os.Stat("bedrot.yaml"); err == nil {
			path = "bedrot.yaml"
		}
	}
	// Each layer resolves its own *_file keys before it is merged, so that a
	// higher layer's plain value still beats a lower layer's file.
	if path != "" {
		kf := koanf.New(".")
		if err := kf.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, path, fmt.Errorf("%w: config file %s: %v", ErrBadConfiguration, path, err)
		}
		if err := resolveFiles(kf); err != nil {
			return Config{}, path, err
		}
		_ = k.Merge(kf)
	}
	known := map[string]string{}
	for _, key := range k.Keys() {
		name := strings.ToUpper(EnvPrefix + strings.ReplaceAll(key, ".", "_"))
		known[name] = key
		// BEDROT_STORAGE_S3_SECRET_KEY_FILE names the file holding the key.
		known[name+"_FILE"] = key + "_file"
	}
	ke := koanf.New(".")
	err := ke.Load(env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(key, value string) (string, any) {
			if key == EnvPrefix+"CONFIG" {
				return "", nil
			}
			if path, ok := known[key]; ok {
				return path, value
			}
			if rest := strings.TrimPrefix(key, EnvPrefix); strings.Contains(rest, "__") {
				// BEDROT_SOURCES__SPOTIFY__CONFIG__CLIENT_SECRET -> sources.spotify.config.client_secret
				return strings.ToLower(strings.ReplaceAll(rest, "__", ".")), value
			}
			return "", nil
		},
	}), nil)
	if err != nil {
		return Config{}, path, fmt.Errorf("%w: environment: %v", ErrBadConfiguration, err)
	}
	if err := resolveFiles(ke); err != nil {
		return Config{}, path, err
	}
	_ = k.Merge(ke)
	if len(opts.Flags) > 0 {
		_ = k.Load(confmap.Provider(opts.Flags, "."), nil)
	}
	var cfg Config
	if err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return Config{}, path, fmt.Errorf("%w: %v", ErrBadConfiguration, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, path, err
	}
	return cfg, path, nil
}

// resolveFiles replaces every "<key>_file" with "<key>" read from the file.
func resolveFiles(k *koanf.Koanf) error {
	keys := k.Keys()
	sort.Strings(keys)
	for _, key := range keys {
		if !strings.HasSuffix(key, "_file") {
			continue
		}
		p := k.String(key)
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("%w: %s: failed to read %s: %v", ErrBadConfiguration, key, p, err)
		}
		_ = k.Set(strings.TrimSuffix(key, "_file"), strings.TrimRight(string(data), "\r\n"))
		k.Delete(key)
	}
	return nil
}

func lookup(environ []string, name string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}
