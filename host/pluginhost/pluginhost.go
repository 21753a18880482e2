// Package pluginhost installs, verifies and launches plugin binaries. Every
// launch goes through hashicorp/go-plugin with the SHA-256 recorded at
// install checked before exec (SecureConfig), gRPC only, automatic mutual
// TLS, and a cleared environment holding only what the host passes. A
// launched plugin dies with its host: the host asks the kernel to kill it
// when the host dies, and the SDK makes the plugin exit when its parent goes.
package pluginhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/sdk"
)

var (
	// ErrNotInstalled is returned when launching a plugin that is not installed.
	ErrNotInstalled = errors.New("plugin not installed")
	// ErrChecksumMismatch is returned when a binary differs from what was installed.
	ErrChecksumMismatch = errors.New("plugin binary does not match the SHA-256 recorded at install")
)

// Config configures a Host.
type Config struct {
	// Dir is where installed binaries live: Dir/<kind>/<name>/<version>/<binary>.
	Dir string
	// LockFile is written after every install or removal (JSON, one entry per
	// plugin with its SHA-256). Empty: no lock file.
	LockFile func(ctx context.Context, data []byte) error
	// LogLevel is passed to plugins (trace, debug, info, warn, error).
	LogLevel string
	// Logger receives the plugins' own logs (stderr). Nil: discarded.
	Logger hclog.Logger
	// StartTimeout bounds the plugin handshake (default 20s).
	StartTimeout time.Duration
	// Env holds extra NAME=value variables for plugins; nothing else of the
	// host's environment reaches them.
	Env []string
}

// Host manages plugins recorded in a metastore.
type Host struct {
	cfg  Config
	meta metastore.Store
}

// New returns a Host.
func New(cfg Config, meta metastore.Store) *Host {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Host{cfg: cfg, meta: meta}
}

// Instance is a running plugin process.
type Instance struct {
	Plugin metastore.Plugin
	client *plugin.Client
	cmd    *exec.Cmd
	hwm    atomic.Int64 // peak RSS read from the live process before Kill
	stderr *tailBuffer
	// channel is the host's end of a source's batch channel (nil: none).
	channel net.Conn
	// Source is set when the plugin was launched as a source.
	Source *sdk.SourceClient
	// Validator is set when the plugin was launched as a validator.
	Validator *sdk.ValidatorClient
	// Agent is set when the plugin was launched as an agent.
	Agent *sdk.AgentClient
	// Info is what the plugin said about itself.
	Info sdk.Info
}

// PID is the plugin process's id (0 before it started).
func (i *Instance) PID() int {
	if i.cmd.Process == nil {
		return 0
	}
	return i.cmd.Process.Pid
}

// Kill stops the plugin process; it is safe to call more than once.
func (i *Instance) Kill() {
	if i.cmd.Process != nil && !i.client.Exited() {
		if hwm := HighWaterRSS(i.cmd.Process.Pid); hwm > 0 {
			i.hwm.Store(hwm)
		}
	}
	i.client.Kill()
	if i.channel != nil {
		i.channel.Close()
	}
}

// Exited reports whether the plugin process has exited.
func (i *Instance) Exited() bool { return i.client.Exited() }

// Pid is the plugin's process id (0 if unknown).
func (i *Instance) Pid() int {
	if i.cmd.Process != nil {
		return i.cmd.Process.Pid
	}
	return 0
}

// PeakRSS is the plugin process's peak resident memory in bytes, known once
// it has exited (0 before).
//
// The figure read from the live process just before Kill is preferred: the
// kernel's exit accounting also counts the pages the plugin shared with
// the host when it was forked.
func (i *Instance) PeakRSS() int64 {
	if hwm := i.hwm.Load(); hwm > 0 {
		return hwm
	}
	if !i.client.Exited() || i.cmd.ProcessState == nil {
		return 0
	}
	return peakRSS(i.cmd.ProcessState)
}

// ErrCrashed is in the chain of errors of a plugin whose process exited
// while the host was talking to it.
var ErrCrashed = errors.New("crashed")

// Describe wraps err from talking to the plugin with what the user needs:
// whether the process crashed and the last lines it wrote to stderr.
func (i *Instance) Describe(err error) error {
	if err == nil {
		return nil
	}
	name := i.Plugin.Kind + "/" + i.Plugin.Name
	// A broken connection is often the first sign of a crash; give the
	// process a moment to be reaped so the report can say so.
	wait := time.Second
	if k := sdk.KindOf(err); k == sdk.KindConfig || k == sdk.KindRateLimited {
		wait = 0
	}
	for deadline := time.Now().Add(wait); !i.client.Exited() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if i.client.Exited() {
		if tail := strings.TrimSpace(i.stderr.String()); tail != "" {
			return fmt.Errorf("plugin %s %w: %w; its last output:\n%s", name, ErrCrashed, err, indent(tail))
		}
		return fmt.Errorf("plugin %s %w: %w", name, ErrCrashed, err)
	}
	return fmt.Errorf("plugin %s: %w", name, err)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// SHA256File returns the hex SHA-256 of a file.
func SHA256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("failed to hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// start launches the binary at path with its expected checksum. A source
// gets a batch channel (sdk.NewBatchChannel) where the system has them.
func (h *Host) start(ctx context.Context, p metastore.Plugin, kind string) (*Instance, error) {
	sum, err := hex.DecodeString(p.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("plugin %s/%s: recorded SHA-256 %q is not valid", p.Kind, p.Name, p.SHA256)
	}
	cmd := exec.Command(p.Path)
	cmd.Env = append([]string{sdk.EnvLogLevel + "=" + h.cfg.LogLevel}, h.cfg.Env...)
	setDeathSignal(cmd)
	var channel net.Conn
	var pluginEnd *os.File
	if kind == sdk.KindSource {
		// Without one (not a Unix-like system), batches travel inline.
		if host, end, err := sdk.NewBatchChannel(); err == nil {
			channel, pluginEnd = host, end
			sdk.GiveBatchChannel(cmd, pluginEnd)
		}
	}
	tail := &tailBuffer{max: 8 << 10}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.PluginSets(sdk.Plugin{}),
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		StartTimeout:     h.cfg.StartTimeout,
		Stderr:           tail,
		Logger:           h.cfg.Logger.Named(p.Kind + "." + p.Name),
		GRPCDialOptions:  sdk.DialOptions(),
	})
	inst := &Instance{Plugin: p, client: client, cmd: cmd, stderr: tail, channel: channel}
	rpc, err := client.Client()
	if pluginEnd != nil {
		pluginEnd.Close() // the plugin has its own copy now
	}
	if err != nil {
		inst.Kill()
		switch {
		case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
			return nil, fmt.Errorf("plugin %s/%s at %s: %w; reinstall it with `bedrot plugin install`", p.Kind, p.Name, p.Path, ErrChecksumMismatch)
		case strings.Contains(strings.ToLower(err.Error()), "incompatible api version"):
			return nil, fmt.Errorf("plugin %s/%s speaks another protocol version than this host (protocol v%d): %v", p.Kind, p.Name, sdk.ProtocolVersion, err)
		}
		return nil, inst.Describe(fmt.Errorf("failed to start: %w", err))
	}
	raw, err := rpc.Dispense(sdk.KindPlugin)
	if err != nil {
		inst.Kill()
		return nil, inst.Describe(fmt.Errorf("failed to dispense: %w", err))
	}
	info, ok := raw.(*sdk.InfoClient)
	if !ok {
		inst.Kill()
		return nil, fmt.Errorf("plugin %s/%s: unexpected plugin type %T", p.Kind, p.Name, raw)
	}
	infoCtx, cancel := context.WithTimeout(ctx, h.cfg.StartTimeout)
	defer cancel()
	inst.Info, err = info.GetInfo(infoCtx)
	if err != nil {
		inst.Kill()
		return nil, inst.Describe(fmt.Errorf("failed to describe itself: %w", err))
	}
	// The connection is up: let what the host streams to the plugin (batches
	// to validate) fill whole messages into the socket.
	if rc := client.ReattachConfig(); rc != nil {
		sdk.RaiseSendBuffer(rc.Addr)
	}
	return inst, nil
}

// Launch starts an installed plugin of the given kind and dispenses it.
// The caller must Kill the instance.
func (h *Host) Launch(ctx context.Context, kind, name string) (*Instance, error) {
	p, err := h.meta.GetPlugin(ctx, kind, name)
	if errors.Is(err, metastore.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s/%s; install it with `bedrot plugin install ./bin/bedrot-%s-%s`", ErrNotInstalled, kind, name, kind, name)
	}
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(p.Path); err != nil {
		return nil, fmt.Errorf("%w: plugin %s/%s is recorded but its binary is gone (%v); reinstall it with `bedrot plugin install`", ErrNotInstalled, kind, name, err)
	}
	inst, err := h.start(ctx, p, kind)
	if err != nil {
		return nil, err
	}
	if !contains(inst.Info.Kinds, kind) {
		inst.Kill()
		return nil, fmt.Errorf("plugin %s/%s does not serve kind %q (it serves %v)", kind, name, kind, inst.Info.Kinds)
	}
	if err := inst.dispense(kind); err != nil {
		inst.Kill()
		return nil, inst.Describe(err)
	}
	return inst, nil
}

// dispense sets the instance's client of kind.
func (i *Instance) dispense(kind string) error {
	rpc, err := i.client.Client()
	if err != nil {
		return err
	}
	raw, err := rpc.Dispense(kind)
	if err != nil {
		return err
	}
	var ok bool
	switch kind {
	case sdk.KindSource:
		i.Source, ok = raw.(*sdk.SourceClient)
		if ok && i.channel != nil {
			i.Source.SetBatchChannel(i.channel)
		}
	case sdk.KindValidator:
		i.Validator, ok = raw.(*sdk.ValidatorClient)
	case sdk.KindAgent:
		i.Agent, ok = raw.(*sdk.AgentClient)
	default:
		return fmt.Errorf("this host cannot run %s plugins yet", kind)
	}
	if !ok {
		return fmt.Errorf("unexpected %s client type %T", kind, raw)
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// InstallResult describes one installed binary.
type InstallResult struct {
	Plugin metastore.Plugin
	Spec   sdk.Spec
	// Replaced is the previous installation of the same kind and name, if any.
	Replaced *metastore.Plugin
}

// Install installs a plugin binary, or every bedrot-* binary in a folder.
// Each binary is launched once to ask what it is (kind, name, version,
// protocol), copied into the plugin folder, and recorded with its SHA-256.
func (h *Host) Install(ctx context.Context, path string) ([]InstallResult, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("failed to install %s: %w", path, err)
	}
	paths := []string{path}
	if fi.IsDir() {
		paths = nil
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", path, err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "bedrot-") && !e.IsDir() {
				if info, err := e.Info(); err == nil && info.Mode()&0o111 != 0 {
					paths = append(paths, filepath.Join(path, e.Name()))
				}
			}
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("no plugin binaries (bedrot-<kind>-<name>) in %s", path)
		}
	}
	var out []InstallResult
	for _, p := range paths {
		r, err := h.installOne(ctx, p)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, h.writeLock(ctx)
}

func (h *Host) installOne(ctx context.Context, path string) (InstallResult, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return InstallResult{}, err
	}
	sum, err := SHA256File(abs)
	if err != nil {
		return InstallResult{}, fmt.Errorf("failed to install %s: %w", path, err)
	}
	probe := metastore.Plugin{Kind: "unknown", Name: filepath.Base(abs), Path: abs, SHA256: sum}
	inst, err := h.start(ctx, probe, "")
	if err != nil {
		return InstallResult{}, fmt.Errorf("failed to install %s: %w", path, err)
	}
	protocol := inst.client.NegotiatedVersion()
	inst.Kill()
	info := inst.Info
	if info.Spec.Name == "" || len(info.Kinds) == 0 {
		return InstallResult{}, fmt.Errorf("failed to install %s: the plugin has no name or serves no kind", path)
	}
	if info.Spec.Version == "" {
		info.Spec.Version = "0.0.0"
	}
	kind := info.Kinds[0]
	want := "bedrot-" + kind + "-" + info.Spec.Name
	if filepath.Base(abs) != want {
		return InstallResult{}, fmt.Errorf("failed to install %s: a %s plugin named %q must be built as %s", path, kind, info.Spec.Name, want)
	}
	destDir := filepath.Join(h.cfg.Dir, kind, info.Spec.Name, info.Spec.Version)
	dest := filepath.Join(destDir, want)
	if err := copyExecutable(abs, dest); err != nil {
		return InstallResult{}, fmt.Errorf("failed to install %s: %w", path, err)
	}
	if got, err := SHA256File(dest); err != nil || got != sum {
		return InstallResult{}, fmt.Errorf("failed to install %s: the copy at %s does not match the original", path, dest)
	}
	rec := metastore.Plugin{Name: info.Spec.Name, Kind: kind, Version: info.Spec.Version, ProtocolVersion: protocol,
		SHA256: sum, Path: dest, InstalledAt: time.Now().UTC()}
	res := InstallResult{Plugin: rec, Spec: info.Spec}
	if old, err := h.meta.GetPlugin(ctx, kind, info.Spec.Name); err == nil {
		res.Replaced = &old
	}
	if err := h.meta.UpsertPlugin(ctx, rec); err != nil {
		return InstallResult{}, fmt.Errorf("failed to record plugin %s/%s: %w", kind, info.Spec.Name, err)
	}
	return res, nil
}

func copyExecutable(src, dest string) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".install-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}

// Remove uninstalls a plugin: its record and its binary.
func (h *Host) Remove(ctx context.Context, kind, name string) (metastore.Plugin, error) {
	p, err := h.meta.GetPlugin(ctx, kind, name)
	if err != nil {
		return p, fmt.Errorf("failed to remove %s/%s: %w", kind, name, err)
	}
	if err := h.meta.DeletePlugin(ctx, kind, name); err != nil {
		return p, err
	}
	if strings.HasPrefix(p.Path, filepath.Clean(h.cfg.Dir)+string(filepath.Separator)) {
		_ = os.Remove(p.Path)
		_ = os.Remove(filepath.Dir(p.Path))
	}
	return p, h.writeLock(ctx)
}

// VerifyResult is one plugin's verification.
type VerifyResult struct {
	Plugin metastore.Plugin
	// Actual is the SHA-256 of the binary on disk ("" when missing).
	Actual string
	OK     bool
	Error  string
}

// Verify re-hashes every installed binary against its record.
func (h *Host) Verify(ctx context.Context) ([]VerifyResult, error) {
	ps, err := h.meta.ListPlugins(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]VerifyResult, 0, len(ps))
	for _, p := range ps {
		r := VerifyResult{Plugin: p}
		sum, err := SHA256File(p.Path)
		switch {
		case err != nil:
			r.Error = fmt.Sprintf("binary missing or unreadable: %v", err)
		case sum != p.SHA256:
			r.Actual = sum
			r.Error = ErrChecksumMismatch.Error()
		default:
			r.Actual, r.OK = sum, true
		}
		out = append(out, r)
	}
	return out, nil
}

// LockEntry is one plugin in the lock file.
type LockEntry struct {
	Kind            string `json:"kind"`
	Name            string `json:"name"`
	Version         string `json:"version"`
	ProtocolVersion int    `json:"protocol_version"`
	SHA256          string `json:"sha256"`
	InstalledAt     string `json:"installed_at"`
}

// LockFile is the lake's record of installed plugins.
type LockFile struct {
	LockVersion int         `json:"lock_version"`
	Plugins     []LockEntry `json:"plugins"`
}

func (h *Host) writeLock(ctx context.Context) error {
	if h.cfg.LockFile == nil {
		return nil
	}
	ps, err := h.meta.ListPlugins(ctx)
	if err != nil {
		return err
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Kind+ps[i].Name < ps[j].Kind+ps[j].Name })
	lf := LockFile{LockVersion: 1, Plugins: []LockEntry{}}
	for _, p := range ps {
		lf.Plugins = append(lf.Plugins, LockEntry{Kind: p.Kind, Name: p.Name, Version: p.Version,
			ProtocolVersion: p.ProtocolVersion, SHA256: p.SHA256, InstalledAt: p.InstalledAt.UTC().Format(time.RFC3339)})
	}
	data, err := json.MarshalIndent(lf, "", "  ")
	if err != nil {
		return err
	}
	if err := h.cfg.LockFile(ctx, append(data, '\n')); err != nil {
		return fmt.Errorf("failed to write the plugin lock file: %w", err)
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
