// Package folder is the local-folder backend of storage.Store, the lake's
// embedded default: key "raw/source=x/date=d/part-0.parquet" is the file
// <root>/raw/source=x/date=d/part-0.parquet, so tools that know nothing of
// BEDROT (DuckDB, Spark, pyarrow) read the lake as a plain Hive-partitioned
// folder.
//
// Put writes into a temporary file under <root>/.tmp/, fsyncs it, renames it
// into place and fsyncs the parent folder, so an object appears whole or not
// at all and survives a power cut once Put returns. ".tmp" is therefore
// reserved: keys may not start with ".tmp/", List never shows it, and
// SweepTemp removes temporary files that a crash left behind.
//
// Unlike S3, a folder cannot hold both "a" and "a/b" as objects (a path is
// a file or a folder); Put of the second fails with an error that says so.
// The lake's layout never needs both.
package folder
