// Package parquetfile writes the host's raw-zone Parquet files from the SDK's
// columnar record batches, and reads Parquet files (its own and other
// tools') back into batches.
//
// SchemaFor maps an sdk.Schema to the exact Parquet schema (declared column
// order, DATE, TIMESTAMP(MICROS, UTC), DECIMAL(p,s), dictionary-encoded
// strings). A Writer streams sdk.RecordBatches into one file: it validates
// each batch, copies it into parquet-go's column writers column by column,
// cuts row groups at Options.RowGroupRows rows or Options.RowGroupBytes
// bytes, compresses pages with zstd and writes chunk statistics, page
// statistics, the page index and the caller's key/value metadata. Memory is
// bounded by one row group of encoded, compressed pages plus one page per
// column, whatever the file size. With Options.Concurrency N > 1 it encodes
// up to N row groups at once on other goroutines and commits them in order,
// writing the same file; it then retains the caller's batches until they
// are encoded, within a bounded backlog.
//
// A Reader streams a file's rows as sdk.RecordBatches, page by page per
// column, mapping Parquet types back to the SDK's (see NewReader); memory
// holds one decoded page and dictionary per column, whatever the file size.
//
// Files are meant for a Hive-style layout such as
// raw/<dataset>/source=<source>/date=<YYYY-MM-DD>/part-<n>-<id>.zstd.parquet,
// which DuckDB reads with read_parquet(…, hive_partitioning = true).
package parquetfile
