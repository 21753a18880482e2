// Package metastore is the lake's SQL catalogue: installed plugins, runs and
// their steps, datasets and the manifests that say which files belong to
// them, per-stream state, pending writes, and the agent registry. SQLite
// (pure Go, a file in the lake) is the embedded default and PostgreSQL the
// production store; both share one schema, migrated on Open, and pass the
// conformance suite in metastoretest.
//
// The commit protocol of the lake lives here: data files are written under
// unique names first (announced with AddPending), then Commit records them in
// their datasets' manifests and advances stream state in one transaction. A
// file is part of the lake only if a manifest lists it.
package metastore

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

var (
	// ErrNotFound is returned when a plugin, run or dataset does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicateBatch is returned by Commit when a batch with the same
	// dataset and content identity is already committed. Nothing of the
	// commit was applied.
	ErrDuplicateBatch = errors.New("batch already committed")
	// ErrFenced is returned by a fenced Commit when some of its files are no
	// longer pending for its run: a sweeper judged the run dead and claimed
	// them (and may have deleted them). Nothing of the commit was applied.
	ErrFenced = errors.New("files were claimed by a sweeper: the run lost its lease")
	// ErrKeyTaken is returned by AddPending when another run has already
	// announced one of the keys. Nothing was announced.
	ErrKeyTaken = errors.New("key already announced by another run")
	// ErrLeaseHeld is returned by LockRun when the run's lease is already
	// held, by this process or another.
	ErrLeaseHeld = errors.New("run lease already held")
)

// Plugin is an installed plugin binary.
type Plugin struct {
	Name            string // e.g. "distrokid"
	Kind            string // "source", "validator", "agent"
	Version         string
	ProtocolVersion int
	SHA256          string // hex
	Path            string // absolute path of the installed binary
	InstalledAt     time.Time
}

// Run statuses.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	// RunPartial: the run finished; some payloads were quarantined.
	RunPartial = "partial"
	RunFailed  = "failed"
	// RunAbandoned: the run's process died without finishing (found by the sweeper).
	RunAbandoned = "abandoned"
	// RunRetried: the run failed and the scheduler retries its job; the
	// retry's run is the one that counts (for alerts and the success rate).
	RunRetried = "retried"
)

// Run is one execution of a pipeline for a source.
type Run struct {
	ID         string
	Source     string
	Kind       string // "ingest", "replay"
	Status     string
	StartedAt  time.Time
	FinishedAt *time.Time
	Error      string
	// Stats is free-form JSON: rows, bytes, files, quarantined, ...
	Stats json.RawMessage
	// Owner identifies the process running it: "host:pid".
	Owner string
}

// Step is one stage of a run (extract, land, raw, ...).
type Step struct {
	RunID      string
	Name       string
	Status     string
	StartedAt  time.Time
	FinishedAt *time.Time
	Detail     json.RawMessage
}

// File is one object listed in a dataset's manifest.
type File struct {
	Dataset string // e.g. "landing.distrokid", "raw.distrokid.earnings"
	Key     string // object key in the store
	Size    int64
	// Digest is the checksum of the object's bytes, as package sdk/digest
	// writes it: "blake3:" and hex, or a bare hex SHA-256 (files recorded
	// before the lake's digests were BLAKE3, and plugins that send one).
	Digest  string
	Rows    int64
	BatchID string
	RunID   string
	// Meta is free-form JSON (original file name, quarantine reason, ...).
	Meta    json.RawMessage
	AddedAt time.Time
}

// Batch is a committed unit of data, identified by its content (for a file
// export, the SHA-256 of the original bytes), so that re-running the same
// input adds nothing.
type Batch struct {
	Dataset string
	ID      string
	RunID   string
	Rows    int64
}

// StreamState is a source stream's last committed checkpoint.
type StreamState struct {
	Source    string
	Stream    string
	State     []byte
	RunID     string
	UpdatedAt time.Time
}

// Commit is everything one transaction makes visible.
type Commit struct {
	RunID   string
	Batches []Batch
	Files   []File
	States  []StreamState
	// Fenced requires every file of the commit to be still pending for
	// RunID; the pending entries are the fence between a run and the
	// sweepers of other processes (see ClaimPending).
	Fenced bool
	// Replace makes an existing batch with the same dataset and ID give way:
	// its files leave the manifest in the same transaction (replay uses this)
	// instead of Commit failing with ErrDuplicateBatch.
	Replace bool
}

// Pending is a file announced before it is written; it becomes part of the
// lake only through Commit. Pending files of dead runs are debris.
type Pending struct {
	Key       string
	RunID     string
	CreatedAt time.Time
}

// Credential is a configuration value a source replaced while running (a
// rotated OAuth refresh token), kept sealed: the metastore never sees the
// plaintext. Package credentials seals and opens it.
type Credential struct {
	Source string
	Key    string
	// Sealed is the encrypted value (nonce and ciphertext).
	Sealed []byte
	// Base fingerprints the configured value the credential replaced, so
	// that a value the user configures afresh wins over a stale stored one.
	Base      string
	UpdatedAt time.Time
}

// Validation is the result of validating a dataset against a suite.
type Validation struct {
	ID      string
	Dataset string
	Suite   string
	// RunID is the pipeline run that validated, or empty for a manual
	// `bedrot quality run`.
	RunID      string
	StartedAt  time.Time
	FinishedAt time.Time
	Rows       int64
	Success    bool
	// Score is the data quality score, 0 to 1.
	Score float64
	// Result is the GX 1.x validation result JSON.
	Result json.RawMessage
}

// ContractVersion is one version of a dataset's data contract.
type ContractVersion struct {
	Dataset string
	// Version counts from 1; AddContractVersion assigns it.
	Version int
	// Origin is "file" (the user's contract file), "evolved" (a new column
	// under the evolve policy) or "discovered" (a source's declared schema).
	Origin string
	// Reason says in words why this version exists.
	Reason string
	// FileHash identifies the contract file's content for file versions.
	FileHash string
	// Spec is the contract as JSON.
	Spec      json.RawMessage
	CreatedAt time.Time
}

// ValidationFilter selects validations for ListValidations.
type ValidationFilter struct {
	Dataset string // empty: all
	Limit   int    // 0: 50
}

// RunFilter selects runs for ListRuns.
type RunFilter struct {
	Source string // empty: all
	Status string // empty: all
	Limit  int    // 0: 50
}

// Store is the metastore. Implementations are safe for concurrent use.
type Store interface {
	AlertStore
	AgentStore
	PauseStore
	MaintenanceStore
	KnowledgeStore
	// Dialect is "sqlite" or "postgres".
	Dialect() string
	Close() error

	UpsertPlugin(ctx context.Context, p Plugin) error
	// GetPlugin returns ErrNotFound (wrapped) if no such plugin is installed.
	GetPlugin(ctx context.Context, kind, name string) (Plugin, error)
	ListPlugins(ctx context.Context) ([]Plugin, error)
	// DeletePlugin returns ErrNotFound (wrapped) if no such plugin is installed.
	DeletePlugin(ctx context.Context, kind, name string) error

	// CreateRun inserts a run (ID, Source, Kind, StartedAt, Owner set by the
	// caller; Status becomes RunRunning).
	CreateRun(ctx context.Context, r Run) error
	// FinishRun sets a run's final status, error text and stats.
	FinishRun(ctx context.Context, id, status, errText string, stats json.RawMessage) error
	GetRun(ctx context.Context, id string) (Run, error)
	// MarkRunRetried turns a failed run into a retried one (the scheduler
	// tries its job again); it reports false if the run was not failed.
	MarkRunRetried(ctx context.Context, id string) (bool, error)
	// ListRuns returns runs newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)
	// StartStep and FinishStep record a run's steps.
	StartStep(ctx context.Context, runID, name string) error
	FinishStep(ctx context.Context, runID, name, status string, detail json.RawMessage) error
	ListSteps(ctx context.Context, runID string) ([]Step, error)

	// LockRun takes a lease proving the run's process is alive; it is
	// released by unlock or when the process dies (kill -9 included). It
	// returns ErrLeaseHeld (wrapped) if the lease is already held.
	LockRun(ctx context.Context, runID string) (unlock func(), err error)
	// RunAlive reports whether some process holds the run's lease.
	RunAlive(ctx context.Context, runID string) (bool, error)

	// AddPending announces files about to be written by a run. An
	// announcement reserves the key: if another run announced one of them,
	// it returns ErrKeyTaken (wrapped) and announces none. Announcing a key
	// the run already announced is harmless.
	AddPending(ctx context.Context, runID string, keys ...string) error
	// DropPending forgets pending files (after the caller deleted them).
	DropPending(ctx context.Context, keys ...string) error
	ListPending(ctx context.Context) ([]Pending, error)
	// ClaimPending removes a pending entry for a sweeper and reports whether
	// it was still there. Once claimed, a fenced Commit of its run fails, so
	// the sweeper may delete the file.
	ClaimPending(ctx context.Context, key string) (claimed bool, err error)

	// HasBatch reports whether the dataset already holds the batch.
	HasBatch(ctx context.Context, dataset, batchID string) (bool, error)
	// Commit applies c in one transaction: inserts batches (ErrDuplicateBatch
	// if one exists, and then nothing is applied), adds files to manifests
	// (creating datasets as needed), upserts stream states, and drops the
	// pending entries of the committed files. With c.Replace it returns the
	// files that left the manifest, for the caller to delete from storage.
	Commit(ctx context.Context, c Commit) (replaced []File, err error)
	// ListDatasets returns dataset names, sorted.
	ListDatasets(ctx context.Context) ([]string, error)
	// ListFiles returns a dataset's manifest in key order.
	ListFiles(ctx context.Context, dataset string) ([]File, error)
	// NewestFiles returns, for every dataset with files, when its newest
	// file was added (the newest AddedAt of its manifest): the freshness of
	// its data, without listing manifests.
	NewestFiles(ctx context.Context) (map[string]time.Time, error)
	// FileListed reports whether any manifest lists key.
	FileListed(ctx context.Context, key string) (bool, error)

	// States returns a source's stream states keyed by stream.
	States(ctx context.Context, source string) (map[string]StreamState, error)

	// PutCredential inserts or replaces a source's stored credential
	// (a zero UpdatedAt becomes now).
	PutCredential(ctx context.Context, c Credential) error
	// Credentials returns a source's stored credentials keyed by key.
	Credentials(ctx context.Context, source string) (map[string]Credential, error)
	// DeleteCredential forgets a stored credential; deleting one that does
	// not exist is not an error.
	DeleteCredential(ctx context.Context, source, key string) error

	// AddValidation records a validation result.
	AddValidation(ctx context.Context, v Validation) error
	// GetValidation returns ErrNotFound (wrapped) for an unknown id.
	GetValidation(ctx context.Context, id string) (Validation, error)
	// ListValidations returns validations newest first, without their
	// Result documents.
	ListValidations(ctx context.Context, f ValidationFilter) ([]Validation, error)

	// AddContractVersion records the next version of a dataset's contract
	// and returns its number.
	AddContractVersion(ctx context.Context, v ContractVersion) (int, error)
	// ContractVersions returns a dataset's versions, oldest first.
	ContractVersions(ctx context.Context, dataset string) ([]ContractVersion, error)
	// LatestContracts returns the newest version of every dataset's
	// contract, by dataset.
	LatestContracts(ctx context.Context) ([]ContractVersion, error)
}
