package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Lake is a running agent's only way into the lake. The host serves it
// over go-plugin's GRPCBroker and applies its access policy to every call:
// the agent never holds storage or database credentials.
//
// Calls fail with errors that say why: errors.Is(err, ErrPermissionDenied)
// when the policy denies the call (the message names the rule),
// ErrBudgetExceeded when the run's read or write budget is spent,
// ErrNotFound for an unknown dataset, and a ConfigError for a malformed
// request (a bad key, SQL that is not read-only).
type Lake interface {
	// ListDatasets lists the datasets whose name starts with prefix (all
	// with an empty prefix) that the run may read.
	ListDatasets(ctx context.Context, prefix string) ([]DatasetInfo, error)
	// ReadDataset streams a dataset's rows as record batches. Close the
	// reader when done, even after an error.
	ReadDataset(ctx context.Context, req ReadDatasetRequest) (TableReader, error)
	// Query runs read-only SQL over the lake and streams the answer; limit
	// caps the rows (0 = the host's default).
	Query(ctx context.Context, sql string, limit int64) (TableReader, error)
	// PutObject writes body to key inside zone (e.g. zone "sandbox", key
	// "reports/trends.md"). The host decides where in the zone the object
	// lands (sandbox/<agent>/<session>/… for instance) and returns the lake
	// key it wrote; report that key in an AgentOutput.
	PutObject(ctx context.Context, zone, key, contentType string, body io.Reader) (ObjectInfo, error)
	// SearchKnowledge returns up to limit knowledge entries matching query.
	SearchKnowledge(ctx context.Context, query string, limit int) ([]KnowledgeEntry, error)
	// AddKnowledge adds an entry to the knowledge base now and returns its id.
	AddKnowledge(ctx context.Context, e KnowledgeEntry) (string, error)
}

// LakeServer is what a host implements to give agents the lake; the SDK
// serves it to the agent plugin over the GRPCBroker during a run (see
// AgentClient.Run). Its methods are Lake's. Each call's ctx carries the
// calling run (LakeCallerFrom) so one LakeServer can serve many runs and
// apply the run's assigned zones and budgets. Return errors wrapping
// ErrPermissionDenied, ErrBudgetExceeded or ErrNotFound, or a ConfigError,
// and the agent sees the same kind.
//
// For ReadDataset and Query, the SDK sends the reader's schema, then its
// batches until io.EOF, then closes it. For PutObject, body streams the
// agent's bytes as they arrive.
type LakeServer interface {
	Lake
}

// DatasetInfo describes one dataset of the lake.
type DatasetInfo struct {
	// Name is zone.name, e.g. staging.tiktok_daily_metrics.
	Name  string
	Zone  string
	Rows  int64
	Files int64
}

// ReadDatasetRequest says what to read.
type ReadDatasetRequest struct {
	// Name is the dataset's name, e.g. staging.tiktok_daily_metrics.
	Name string
	// Columns to read, in this order; empty means all.
	Columns []string
	// Limit caps the rows; 0 means all.
	Limit int64
}

// TableReader streams rows: a schema, then record batches.
type TableReader interface {
	BatchReader
	// Schema is the schema of every batch.
	Schema() Schema
	// Close releases the stream; call it even after an error.
	Close() error
}

// ObjectInfo describes an object PutObject wrote.
type ObjectInfo struct {
	Zone string
	// Key is the lake key written, e.g. sandbox/agent-1/s-1/reports/a.md.
	Key  string
	Size int64
	// SHA256 is the hex SHA-256 of the bytes written.
	SHA256 string
}

// LakeCaller identifies the run a LakeServer call comes from.
type LakeCaller struct {
	AgentID   string
	SessionID string
	// Task is the task's name.
	Task   string
	Zones  ZoneAccess
	Limits Limits
}

type lakeCallerKey struct{}

// WithLakeCaller returns ctx carrying c; the SDK does this for every
// LakeServer call, and tests of a LakeServer may do it by hand.
func WithLakeCaller(ctx context.Context, c LakeCaller) context.Context {
	return context.WithValue(ctx, lakeCallerKey{}, c)
}

// LakeCallerFrom returns the run a LakeServer call comes from.
func LakeCallerFrom(ctx context.Context) (LakeCaller, bool) {
	c, ok := ctx.Value(lakeCallerKey{}).(LakeCaller)
	return c, ok
}

// Lake errors. Wrap them with the reason, e.g.
//
//	fmt.Errorf("%w: rule agents.zones: task summarize may write only sandbox, not curated", sdk.ErrPermissionDenied)
var (
	// ErrPermissionDenied means the access policy denies the call.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrBudgetExceeded means the run's read or write budget is spent.
	ErrBudgetExceeded = errors.New("budget exceeded")
	// ErrNotFound means the dataset or object does not exist.
	ErrNotFound = errors.New("not found")
)

// ValidateObjectKey checks a key inside a zone: relative, clean, no "..",
// no empty segments.
func ValidateObjectKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || path.Clean(key) != key ||
		key == "." || strings.HasPrefix(key, "../") || key == ".." {
		return ConfigError(fmt.Errorf("object key %q must be a clean relative path such as reports/trends.md", key))
	}
	return nil
}

// noLake is the Lake of a run the host gave no lake.
type noLake struct{}

var errNoLake = fmt.Errorf("%w: the host gave this run no lake access", ErrPermissionDenied)

func (noLake) ListDatasets(context.Context, string) ([]DatasetInfo, error) { return nil, errNoLake }
func (noLake) ReadDataset(context.Context, ReadDatasetRequest) (TableReader, error) {
	return nil, errNoLake
}
func (noLake) Query(context.Context, string, int64) (TableReader, error) { return nil, errNoLake }
func (noLake) PutObject(context.Context, string, string, string, io.Reader) (ObjectInfo, error) {
	return ObjectInfo{}, errNoLake
}
func (noLake) SearchKnowledge(context.Context, string, int) ([]KnowledgeEntry, error) {
	return nil, errNoLake
}
func (noLake) AddKnowledge(context.Context, KnowledgeEntry) (string, error) { return "", errNoLake }
