// Package lake opens a configured lake: its object store (folder or S3), its
// metastore (SQLite or PostgreSQL), its plugin host and its pipeline. It is
// what commands and the daemon build on; cmd/bedrot only parses flags.
package lake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/agents"
	"github.com/bedrot-label/bedrot/host/contract"
	"github.com/bedrot-label/bedrot/host/credentials"
	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/lineage"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metastore/sqlstore"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/storage/folder"
	s3store "github.com/bedrot-label/bedrot/host/storage/s3"
	"github.com/bedrot-label/bedrot/host/zone"
)

// ErrNotInitialised is returned when a folder lake has not been created.
var ErrNotInitialised = errors.New("lake not initialised")

// Lake is an open lake.
type Lake struct {
	Config   config.Config
	Store    storage.Store
	Meta     metastore.Store
	Plugins  *pluginhost.Host
	Pipeline *pipeline.Pipeline
	Quality  *quality.Service
	// Lineage writes OpenLineage events of every run.
	Lineage *lineage.Client
	Logger  *slog.Logger
}

// Options tune Open.
type Options struct {
	// Create makes a missing lake folder (bedrot init); otherwise a missing
	// folder is ErrNotInitialised.
	Create bool
	Logger *slog.Logger
	// PluginEnv is passed to plugins (e.g. a CPU profile path).
	PluginEnv []string
}

// Open opens the lake cfg describes.
func Open(ctx context.Context, cfg config.Config, opts Options) (*Lake, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	l := &Lake{Config: cfg, Logger: logger}
	var err error
	switch cfg.Storage.Backend {
	case "s3":
		s := cfg.Storage.S3
		l.Store, err = s3store.New(ctx, s3store.Config{Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey,
			Bucket: s.Bucket, Prefix: s.Prefix, Region: s.Region, UseSSL: s.UseSSL, CreateBucket: opts.Create})
		if err != nil {
			return nil, fmt.Errorf("failed to open object store: %w", err)
		}
	default:
		if _, statErr := os.Stat(cfg.Lake); errors.Is(statErr, os.ErrNotExist) && !opts.Create {
			return nil, fmt.Errorf("%w: %s does not exist; create it with `bedrot init --lake %s`", ErrNotInitialised, cfg.Lake, cfg.Lake)
		}
		if err := os.MkdirAll(cfg.Lake, 0o755); err != nil {
			return nil, fmt.Errorf("failed to create lake folder: %w", err)
		}
		l.Store, err = folder.New(cfg.Lake)
		if err != nil {
			return nil, fmt.Errorf("failed to open lake folder: %w", err)
		}
	}
	if cfg.Database.URL == "" {
		if err := os.MkdirAll(filepath.Dir(cfg.SQLitePath()), 0o755); err != nil {
			return nil, fmt.Errorf("failed to create metastore folder: %w", err)
		}
	}
	l.Meta, err = sqlstore.Open(ctx, sqlstore.Config{URL: cfg.Database.URL, Schema: cfg.Database.Schema, SQLitePath: cfg.SQLitePath()})
	if err != nil {
		return nil, fmt.Errorf("failed to open metastore: %w", err)
	}
	level := hclog.LevelFromString(cfg.Plugins.LogLevel)
	if level == hclog.NoLevel {
		level = hclog.Warn
	}
	st := l.Store
	// Installed binaries are recorded by absolute path, so that the lake
	// works from any working directory.
	pluginDir, err := filepath.Abs(cfg.PluginDir())
	if err != nil {
		return nil, fmt.Errorf("failed to resolve the plugin folder: %w", err)
	}
	l.Plugins = pluginhost.New(pluginhost.Config{
		Dir:      pluginDir,
		Env:      opts.PluginEnv,
		LogLevel: cfg.Plugins.LogLevel,
		Logger:   hclog.New(&hclog.LoggerOptions{Name: "plugin", Level: level, Output: os.Stderr}),
		LockFile: func(ctx context.Context, data []byte) error {
			_, err := st.Put(ctx, zone.PluginLockKey, bytes.NewReader(data))
			return err
		},
	}, l.Meta)
	vault := credentials.New(l.Meta, credentials.KeySource{Key: cfg.Secrets.Key, Path: cfg.Secrets.KeyPath,
		OnGenerate: func(path string) {
			logger.Warn("generated a secrets key to seal rotated credentials; back it up, and give daemons sharing this metastore the same key (secrets.key_file or BEDROT_SECRETS_KEY)",
				"path", path)
		}})
	l.Pipeline = &pipeline.Pipeline{Store: l.Store, Meta: l.Meta, Plugins: l.Plugins, Logger: logger, IdleTimeout: cfg.Plugins.IdleTimeout,
		Credentials: vault, Contracts: &contract.Registry{Meta: l.Meta, Dir: cfg.Quality.ContractsDir}}
	l.Quality = &quality.Service{Store: l.Store, Meta: l.Meta, Plugins: l.Plugins, Validator: cfg.Quality.Validator, SuitesDir: cfg.Quality.SuitesDir}
	l.Pipeline.Quality = l.Quality
	if err := l.openLineage(logger); err != nil {
		_ = l.Meta.Close()
		return nil, fmt.Errorf("%w: lineage: %w", config.ErrBadConfiguration, err)
	}
	l.Pipeline.Observers = append(l.Pipeline.Observers, runLineage{c: l.Lineage},
		agents.IngestAgent{Store: l.Store, Meta: l.Meta, Knowledge: &knowledge.Base{Store: l.Store, Meta: l.Meta},
			SuitesDir: cfg.Quality.SuitesDir, Logger: logger})
	return l, nil
}

// Close releases the metastore.
func (l *Lake) Close() error { return l.Meta.Close() }
