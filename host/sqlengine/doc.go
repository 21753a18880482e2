// Package sqlengine runs read-only SQL over the lake's Parquet zones (raw,
// staging, curated) with an embedded, in-process DuckDB. It is what
// `bedrot query` runs.
//
// # Naming datasets
//
// Every dataset of the metastore in the raw, staging and curated zones can be
// queried under two names:
//
//   - its dataset name, quoted as one identifier:
//     SELECT … FROM "raw.distrokid.earnings", FROM "curated.track_performance";
//   - a schema-qualified name: the zone is the schema and the rest of the name,
//     its dots turned into underscores, the table:
//     raw.distrokid_earnings, staging.royalties_monthly, curated.track_performance.
//     A two-part name (curated.track_performance) is the dataset name itself,
//     unquoted. When two datasets would share a schema-qualified name
//     (raw.a_b.c and raw.a.b_c), neither gets it; their quoted names still work.
//
// Identifiers are case-insensitive, as everywhere in DuckDB; a name part
// with characters other than letters, digits and "_" (a source named
// my-source) needs quotes: raw."my-source_stream". The table
// bedrot_datasets lists every queryable dataset with its two names, file,
// row and byte counts: SELECT * FROM bedrot_datasets.
//
// A dataset's view reads exactly the files its manifest lists
// (read_parquet([…], union_by_name = true)), never a glob of its folder, so
// debris left by failed runs stays invisible, and files whose schema grew a
// column read together (the column is NULL in older files). The Hive
// partition columns of the lake layout (source and date in raw, domain and
// year in staging, mart and version in curated) are added to a view as
// columns, unless a file has a column of the same name (DuckDB would silently
// replace the file's values with the folder's) or the folder that holds the
// lake or the cache has a "=" in its path; then the view shows the files'
// columns only.
//
// Each query runs in a fresh in-memory DuckDB that holds views for the
// datasets the query's text names (a dataset is named when its dataset name
// or its table name, e.g. distrokid_earnings, appears anywhere in the text,
// case-insensitively) plus bedrot_datasets. A query that builds a dataset's
// name at run time (query_table(concat(…))) does not find it. Listing the
// datasets a query may need by their text keeps a query from reading, or on
// S3 downloading, the whole lake.
//
// # Where DuckDB reads the files
//
// On the folder backend DuckDB reads the lake's files in place. On S3/MinIO
// (DuckDB's httpfs extension is not available and nothing is downloaded at
// run time) the files a query needs are copied into a local cache first; see
// Options.CacheDir. The cache is keyed by each file's SHA-256 as its manifest
// records it: lake files are immutable, so a cached copy never goes stale,
// and each download is checked against that checksum and size before it
// enters the cache. Layout of the cache folder:
//
//	lock                          held exclusively while a query prepares
//	objects/<sha[:2]>/<sha>/<key> cached files (the key keeps the Hive folders)
//	tmp/                          downloads in progress
//	queries/<id>/<key>            hard links to the files of one running query
//	queries/<id>.lock             held by that query while it runs
//
// A query takes the cache lock, downloads what is missing, links the files it
// needs into its own folder, and lets the lock go before DuckDB runs, so
// queries of other processes are not held up by a long query. The cache is
// bounded by Options.CacheMaxBytes: before downloading, the least recently
// used files (by modification time, refreshed on every use, so recency
// survives the process) that the current query does not need are evicted
// until the downloads fit. A query that alone needs more than the bound still
// runs; the cache is over its bound until the next query evicts. An evicted
// file that a running query has linked stays readable by that query (the
// link keeps it) and its space returns when the query ends. Folders of
// queries whose process died are removed by the next query.
//
// # Read-only
//
// A query is one statement (several separated by ";" are refused, none is
// run). Its kind is decided by DuckDB's own parser: after DuckDB prepares it,
// its statement type must be SELECT or EXPLAIN. That admits SELECT, WITH,
// FROM-first queries, VALUES, PIVOT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN
// [ANALYZE] and the PRAGMAs DuckDB rewrites into a SELECT (table_info, show,
// version, …), and refuses everything else (INSERT, CREATE, COPY, ATTACH,
// SET, PRAGMA threads=…, CALL, INSTALL, LOAD, EXPORT, …) with ErrReadOnly. A
// lexical check of the first keyword refuses most of those before anything
// is read or downloaded. EXPLAIN ANALYZE must explain a query, not a
// statement that writes.
//
// Beneath that, the DuckDB of a query is locked before the user's statement
// reaches it: external access is off (no file but the listed lake files can
// be read, none can be written, no database attached, no extension installed
// or loaded), allowed_paths names exactly the files of the views, and the
// configuration is locked so that no statement can undo any of it. The
// database lives in memory and is thrown away after the query.
//
// # Results
//
// Query streams rows to a callback (Rows); Write renders them as an aligned
// table, CSV or JSON (an array of objects, or NDJSON with one object a line).
// CSV and JSON stream row by row; the table buffers its first rows to size
// its columns (see Write). Beneath the callback, duckdb-go executes a
// statement to a materialised result, which DuckDB holds in memory (outside
// memory_limit) until the query ends: the Go side streams, DuckDB does not,
// so a result of many gigabytes needs that much memory. Aggregate in SQL.
package sqlengine
