// Package lineage reports what BEDROT's runs read and write as OpenLineage
// run events (spec 2-0-2), keeps them in the lake, optionally sends them to
// a Marquez-style HTTP endpoint, and reads them back into a lineage graph for
// `bedrot lineage DATASET`.
//
// The pipeline and daemon describe a run with plain structs (RunInfo,
// Dataset) and call Client.Start when it begins and Client.Finish when it
// ends; Finish sends COMPLETE, or FAIL when the run failed, so every run has
// one START and exactly one COMPLETE or FAIL. This package imports nothing
// above host/metastore, so any layer can call it.
//
// # Jobs and runs
//
// Jobs live in one namespace ("bedrot" unless configured) and are named
// after what they do: ingest.<source>, replay.<source>, build.staging,
// build.mart.<mart>, publish.<mart>, validate.<dataset>. OpenLineage wants
// a UUID for run.runId, BEDROT run ids look like 20261126T055012Z-9f3a1c, so
// the runId is a name-based (version 5, SHA-1) UUID of the job namespace,
// job name and BEDROT run id (RunUUID): stable, so START and COMPLETE of a
// run agree without shared state, and distinct for two jobs that share a
// BEDROT run id (an ingest run that also builds). The BEDROT run id itself
// travels in the custom run facet bedrot_run (with the job kind and name), so
// a consumer can find the run in `bedrot runs`.
//
// # Datasets
//
// Datasets are named by where their data lives (OpenLineage's naming
// rules), through a Namer made from the store's location: on a folder lake
// the namespace is "file" and the name an absolute path; on S3/MinIO the
// namespace is "s3://<bucket>" and the name an object-key prefix. The name
// is the dataset's root, never a partition or a file, so the graph does not
// grow with the data:
//
//	landing.<src>              landing/<src>
//	quarantine.<src>           landing/<src>/*/_quarantine
//	raw.<src>                  raw/source=<src>
//	raw.<src>.<stream>         raw/source=<src>/*/<stream>-*.parquet
//	staging.<domain>           staging/domain=<domain>
//	staging.<domain>.<name>    staging/domain=<domain>/*/<name>-*.parquet
//	curated.<mart>             curated/mart=<mart>
//	curated.<mart>.v<X_Y>      curated/mart=<mart>/version=v<X.Y>
//
// The streams of a source share its raw folder (and the datasets of a
// staging domain share theirs), so a stream is named by the glob a reader
// such as DuckDB opens to read exactly its files; the folder alone would
// merge the streams and give one stream's lineage to all of them. PostgreSQL
// tables are postgres://host:port with database.schema.table, and a source
// connector (what an ingest run reads) is namespace "bedrot-source" with the
// source's name. Each dataset also carries the custom facet bedrot_dataset
// with its BEDROT name, which `bedrot lineage` shows and accepts.
//
// # Facets
//
// Outputs carry schema (SchemaDatasetFacet) and outputStatistics (rows,
// bytes, files); inputs carry schema, dataQualityMetrics (rows, bytes,
// files) and dataQualityAssertions (one per expectation), which the spec
// defines as input facets, so validation of a dataset a run wrote is
// reported as a validate.<dataset> run that reads it. Jobs carry jobType
// (BATCH, integration BEDROT, jobType INGEST, REPLAY, BUILD, PUBLISH or
// VALIDATE); a FAIL carries errorMessage. Every facet has _producer (the
// producer URI, https://github.com/bedrot-label/bedrot/tree/<version>) and
// _schemaURL, the $id of the facet schema it follows; package lineagetest
// validates events against those schemas.
//
// # Where events go
//
// StoreEmitter writes one JSON object per event to the lake at
// .bedrot/lineage/date=YYYY-MM-DD/<eventTime>-<runId>-<EVENTTYPE>.json
// (UTC; the runId is the event's UUID, unique per job and run); HTTPEmitter
// POSTs each event to <url>/api/v1/lineage (Marquez, or anything speaking
// its API) with an optional bearer API key, retrying transient failures a
// bounded number of times; Multi fans out to several. Graph reads the lake's
// events back, keeping only the edges of completed runs, and answers
// upstream and downstream questions; Render draws the answer as a tree.
package lineage
