// Package pipeline runs a source through the lake: launch the plugin, keep
// its original payloads in landing, write typed Parquet to raw, quarantine
// what is malformed, and make it all visible in one metastore commit
// together with the stream state. Replay rebuilds raw from landing without
// calling the source, and Sweep removes the debris of runs that died.
//
// The commit protocol (DESIGN.md §5): every file is announced as pending,
// written under a new unique key, and becomes part of the lake only when the
// run's single Commit lists it in a manifest. A run killed at any moment
// leaves either a complete, listed batch or files nobody lists, which the
// sweeper deletes once it can prove their run is dead.
package pipeline
