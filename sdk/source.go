package sdk

import (
	"context"
	"io"
	"path/filepath"
	"strings"
)

// Config is a plugin's configuration as the host passes it: flat string keys
// and values. Secret values arrive here and nowhere else; never log them.
type Config map[string]string

// Param describes one configuration parameter of a plugin.
type Param struct {
	Name        string
	Description string
	Required    bool
	// Secret marks values the host must redact in logs, metadata and errors.
	Secret  bool
	Default string
}

// Backfill parameters. A source that can read a past window of a stream
// declares both in its Spec; `bedrot backfill` then passes them, as dates
// (YYYY-MM-DD, inclusive), with the one stream to read in
// ReadRequest.Streams. A window read must not move the stream's state
// backwards: checkpoint only a state newer than the one it was given.
const (
	ParamWindowStart = "window_start"
	ParamWindowEnd   = "window_end"
)

// Spec describes a plugin: who it is and which parameters it takes.
type Spec struct {
	// Name is the plugin's short name, e.g. "distrokid". The binary is
	// named bedrot-<kind>-<name>.
	Name        string
	Version     string
	Description string
	Author      string
	Params      []Param
}

// Source pulls data from a third-party system. The host calls Check and
// Discover before Read; each call gets the full configuration.
//
// Implementations must embed UnimplementedSource so that methods added to
// protocol v1 later keep old plugins compiling.
type Source interface {
	// Check verifies that the configuration works (credentials valid, paths
	// readable) without reading data. It returns a ConfigError for problems
	// the user must fix.
	Check(ctx context.Context, cfg Config) error
	// Discover lists the streams the source can produce with their schemas.
	Discover(ctx context.Context, cfg Config) ([]Stream, error)
	// Read emits the selected streams through out: original payload bytes,
	// record batches, state checkpoints, logs and progress. It returns when
	// all data is emitted, or ctx.Err() once ctx is cancelled. The host
	// commits a checkpoint only together with the data emitted before it.
	Read(ctx context.Context, req ReadRequest, out Emitter) error

	mustEmbedUnimplementedSource()
}

// ReadRequest says what to read.
type ReadRequest struct {
	Config Config
	// Streams to read; empty means all.
	Streams []string
	// State holds the last committed checkpoint per stream (nil on the
	// first run).
	State map[string][]byte
	// LocalPayloadRoots lists the files and folders (absolute paths) from
	// which the host copies payloads itself, when the plugin and the host
	// share a machine. Sources need not look at it: BeginFilePayload does.
	LocalPayloadRoots []string
}

// FilePayloadEmitter is implemented by emitters that can hand the host a
// payload by its local path. Use BeginFilePayload rather than calling it.
type FilePayloadEmitter interface {
	// BeginFilePayload starts a payload whose bytes are the local file at
	// path, as BeginPayload does.
	BeginFilePayload(path, name, mediaType string) (Payload, error)
}

// BeginFilePayload starts a payload whose bytes are the local file at path
// (a file-drop source's export, say). The source writes the file's bytes
// to the payload as with BeginPayload (it reads them anyway to parse them),
// closes and ends it. When the host said it copies files under path itself,
// those bytes are only hashed and counted, not sent: the host copies the
// file to landing and checks that its copy has the size and SHA-256 the
// source read, so a file changed while it was read is rejected. Otherwise
// it is BeginPayload.
func BeginFilePayload(out Emitter, path, name, mediaType string) (Payload, error) {
	if fe, ok := out.(FilePayloadEmitter); ok {
		return fe.BeginFilePayload(path, name, mediaType)
	}
	return out.BeginPayload(name, mediaType)
}

// WithinRoots reports whether path, which must be absolute and clean, is
// one of roots or lies under one of them. The SDK uses it to decide whether
// the host copies a file payload itself, and the host to check the path it
// is given against the roots it offered.
func WithinRoots(path string, roots []string) bool {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path {
		return false
	}
	for _, root := range roots {
		if !filepath.IsAbs(root) {
			continue
		}
		rel, err := filepath.Rel(root, path)
		if err == nil && (rel == "." || rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))) {
			return true
		}
	}
	return false
}

// Emitter is how a source hands its output to the host during Read. It is
// safe for use by one goroutine at a time.
type Emitter interface {
	// BeginPayload starts an original payload (a file as downloaded, an API
	// response body) that the host keeps byte for byte in the landing zone.
	// Write the bytes to the returned writer and Close it when the payload
	// is complete; then call EndPayload.
	BeginPayload(name, mediaType string) (Payload, error)
	// Batch sends rows. The batch may be reused by the caller after Batch returns.
	Batch(b *RecordBatch) error
	// Checkpoint records the stream's state after everything emitted so far.
	Checkpoint(stream string, state []byte) error
	// Log sends a log line to the host; keyvals are alternating keys and values.
	Log(level LogLevel, msg string, keyvals ...any)
	// Progress reports work done out of total (0 when unknown), in unit.
	Progress(done, total int64, unit string)
	// UpdateConfig asks the host to store new values of configuration
	// parameters at once, independent of the run's outcome, and to pass
	// them on every later call. It is for credentials the source must
	// replace while reading, such as an OAuth refresh token that rotates on
	// every refresh: call it as soon as the new value is known. Keys must be
	// parameters of the Spec; values of secret parameters are kept
	// encrypted by the host and never logged.
	UpdateConfig(values map[string]string) error
}

// Payload is an original payload being streamed to the host.
type Payload interface {
	io.WriteCloser
	// ID identifies the payload in RecordBatch.PayloadID.
	ID() string
	// Digest is the whole payload's digest, known after Close, so a source
	// need not hash what it streams: BLAKE3, written as package digest
	// writes it ("blake3:" and 64 hex digits). digest.New computes the
	// same for a file the source has not read yet, say to see whether its
	// state already holds it.
	Digest() string
	// End finishes the payload after Close: the rows it produced, and the
	// problems that make it unusable. A payload ended with problems is
	// quarantined by the host with those reasons, and none of its rows move
	// on.
	End(records int64, problems []Problem) error
}

// Problem is one reason a payload is rejected, located as precisely as the
// source can: file, line and field.
type Problem struct {
	File    string `json:"file"`
	Line    int64  `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// LogLevel is a log severity.
type LogLevel int32

// Log levels.
const (
	LevelDebug LogLevel = iota + 1
	LevelInfo
	LevelWarn
	LevelError
)

// UnimplementedSource must be embedded by every Source.
type UnimplementedSource struct{}

// Check returns ErrUnimplemented.
func (UnimplementedSource) Check(context.Context, Config) error { return ErrUnimplemented }

// Discover returns ErrUnimplemented.
func (UnimplementedSource) Discover(context.Context, Config) ([]Stream, error) {
	return nil, ErrUnimplemented
}

// Read returns ErrUnimplemented.
func (UnimplementedSource) Read(context.Context, ReadRequest, Emitter) error {
	return ErrUnimplemented
}

func (UnimplementedSource) mustEmbedUnimplementedSource() {}
