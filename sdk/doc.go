// Package sdk is everything a BEDROT plugin author needs: the Go interfaces
// of each plugin kind, the columnar record batch, typed errors, and Serve,
// which runs a plugin binary over hashicorp/go-plugin's gRPC transport
// (protocol v1, see proto/).
//
// # Getting started
//
// A source plugin implements [Source] (embedding [UnimplementedSource]) and
// its main is a few lines:
//
//	func main() {
//		sdk.Serve(sdk.Plugin{Spec: mysource.Spec(), NewSource: mysource.New})
//	}
//
// Build it as bedrot-source-<name> and install it with
// `bedrot plugin install ./bedrot-source-<name>`.
//
// # Source
//
// Read emits original payloads (kept byte for byte in the landing zone),
// record batches of about 1k–8k rows, per-stream state checkpoints, logs and
// progress through an [Emitter]. Classify failures with [Transient],
// [ConfigError] and [RateLimited] so the host knows whether to retry.
//
// # Testing
//
// Package sdktest runs an acceptance test against your plugin binary.
//
// # Host side
//
// [PluginSets], [Handshake], [InfoClient] and [SourceClient] are the host's
// end of the protocol; plugin authors do not need them.
package sdk
