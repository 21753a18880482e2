// Package parquetfile writes the host's raw-zone Parquet files from the SDK's
// columnar record batches.
package parquetfile
