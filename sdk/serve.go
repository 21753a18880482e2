package sdk

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
)

// ProtocolVersion is the plugin protocol major version this SDK speaks.
const ProtocolVersion = 1

// Plugin-set keys: what a binary serves. Every binary serves KindPlugin.
const (
	KindPlugin = "plugin"
	KindSource = "source"
)

// Handshake is the go-plugin handshake shared by host and plugins. The magic
// cookie only stops a plugin binary from being run by hand by mistake; it is
// not a security feature (checksums and mTLS are).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "BEDROT_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "6f1c0e9b3b8e4d1a9a7e2f55c1d0b8e7a3c9f4d2e6b1a0c8d7f3e2b9a4c6d1e0",
}

// EnvCPUProfile, when the host sets it, names a file the plugin writes a
// CPU profile of its whole life to (bedrot --cpuprofile passes it on).
const EnvCPUProfile = "BEDROT_PLUGIN_CPUPROFILE"

// EnvExecTrace, when the host sets it, names a file the plugin writes a Go
// execution trace of its whole life to (bedrot --exectrace passes it on).
const EnvExecTrace = "BEDROT_PLUGIN_EXECTRACE"

// EnvLogLevel is the environment variable through which the host sets the
// plugin's log level (trace, debug, info, warn, error).
const EnvLogLevel = "BEDROT_PLUGIN_LOG_LEVEL"

// Plugin is what a plugin binary serves. Set the constructor of each kind the
// binary implements.
type Plugin struct {
	// Spec describes the plugin.
	Spec Spec
	// NewSource builds the source; nil if the binary is not a source.
	NewSource func() Source
	// NewValidator builds the validator; nil if the binary is not one.
	NewValidator func() Validator
	// NewAgent builds the agent; nil if the binary is not an agent.
	NewAgent func() Agent
}

// Kinds lists the plugin kinds p serves.
func (p Plugin) Kinds() []string {
	var kinds []string
	if p.NewSource != nil {
		kinds = append(kinds, KindSource)
	}
	if p.NewValidator != nil {
		kinds = append(kinds, KindValidator)
	}
	if p.NewAgent != nil {
		kinds = append(kinds, KindAgent)
	}
	return kinds
}

// PluginSets returns the go-plugin plugin sets by protocol version, for
// serving p or, with a zero Plugin, for a host dispensing any kind.
func PluginSets(p Plugin) map[int]plugin.PluginSet {
	set := plugin.PluginSet{
		KindPlugin:    &infoGRPCPlugin{server: &infoServer{spec: p.Spec, kinds: p.Kinds()}},
		KindSource:    &sourceGRPCPlugin{newSource: p.NewSource, channel: &inherited},
		KindValidator: &validatorGRPCPlugin{newValidator: p.NewValidator},
		KindAgent:     &agentGRPCPlugin{newAgent: p.NewAgent},
	}
	if p.NewSource == nil && p.Spec.Name != "" {
		delete(set, KindSource)
	}
	if p.NewValidator == nil && p.Spec.Name != "" {
		delete(set, KindValidator)
	}
	if p.NewAgent == nil && p.Spec.Name != "" {
		delete(set, KindAgent)
	}
	return map[int]plugin.PluginSet{ProtocolVersion: set}
}

// Serve runs the plugin until the host stops it. Call it from main:
//
//	func main() { sdk.Serve(sdk.Plugin{Spec: mysource.Spec, NewSource: mysource.New}) }
//
// Run by hand with the argument "spec", the binary prints its spec as JSON.
// A plugin exits on its own when its host process goes away, even if the
// host was killed without warning.
func Serve(p Plugin) {
	if len(os.Args) > 1 && os.Args[1] == "spec" {
		out, _ := json.MarshalIndent(struct {
			Spec            Spec     `json:"spec"`
			Kinds           []string `json:"kinds"`
			ProtocolVersion int      `json:"protocol_version"`
		}{p.Spec, p.Kinds(), ProtocolVersion}, "", "  ")
		fmt.Println(string(out))
		return
	}
	level := hclog.LevelFromString(os.Getenv(EnvLogLevel))
	if level == hclog.NoLevel {
		level = hclog.Info
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: p.Spec.Name, Level: level, Output: os.Stderr, JSONFormat: true})
	// A plugin process serves nothing but its host, and no gRPC runs yet.
	UseBufferPool()
	inheritBatchChannel()
	go exitWithParent(os.Getppid(), logger)
	if path := os.Getenv(EnvCPUProfile); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	if path := os.Getenv(EnvExecTrace); path != "" {
		if f, err := os.Create(path); err == nil && trace.Start(f) == nil {
			defer func() { trace.Stop(); f.Close() }()
		}
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(p),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, ServerOptions()...)...)
		},
		Logger: logger,
	})
}

// Flow-control windows and buffers for the Read stream: large enough that a
// plugin never waits for the host's acknowledgements between batches, small
// enough to bound the memory either side holds.
const (
	streamWindow = 8 << 20
	connWindow   = 16 << 20
	ioBuffer     = 256 << 10
	maxMessage   = 64 << 20
)

// ServerOptions are the gRPC options a plugin serves with.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.InitialWindowSize(streamWindow), grpc.InitialConnWindowSize(connWindow),
		grpc.WriteBufferSize(ioBuffer), grpc.ReadBufferSize(ioBuffer), grpc.MaxRecvMsgSize(maxMessage),
		experimental.BufferPool(connPool),
	}
}

// DialOptions are the gRPC options a host dials plugins with.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(connWindow),
		grpc.WithWriteBufferSize(ioBuffer), grpc.WithReadBufferSize(ioBuffer),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
		experimental.WithBufferPool(connPool),
	}
}

// exitWithParent ends the process when its parent (the host) is gone: the
// process is then re-parented, so its parent pid changes.
func exitWithParent(ppid int, logger hclog.Logger) {
	if ppid <= 1 {
		return
	}
	for range time.Tick(250 * time.Millisecond) {
		if os.Getppid() != ppid {
			logger.Warn("host process went away; exiting")
			os.Exit(3)
		}
	}
}
