// Package staging builds the lake's staging zone
// (staging/domain=<domain>/year=YYYY/, DESIGN.md §3): conformed, typed,
// deduplicated datasets rebuilt idempotently from the raw zone. Its first
// domain is royalties, the dataset staging.royalties.earnings, built from
// raw.distrokid.earnings.
//
// # staging.royalties.earnings
//
// One row per natural key, which keeps the reporting date:
//
//	reporting_date, sale_month, isrc, upc, store (normalised), country_of_sale,
//	artist, title, source_type, team_percentage
//
// The store is normalised through an alias table (store_aliases.yaml,
// embedded; Options.StoreAliases adds to it): names are compared
// case-insensitively with runs of white space made one, and renamed stores
// ("Facebook" → "Instagram/Facebook") take their current name. A store the
// table does not know passes through exactly as written. artist and title
// are Unicode-NFC-normalised, isrc upper-cased, country_of_sale upper-cased;
// empty isrc/upc are NULL, and NULLs compare equal within the key. The
// store as the file wrote it is kept in store_as_reported (the first, in
// byte order, when the spellings of a key differ).
//
// Measures (quantity, earnings_usd, songwriter_royalties_withheld_usd,
// recoup_usd) are exact sums over the key's input rows after deduplication.
// date_inserted is the earliest of them; raw_rows counts the input rows
// summed and duplicate_rows the input rows dropped as copies.
//
// # Deduplication
//
// A DistroKid export legitimately repeats identical rows (sources.md §5.10),
// so rows are never deduplicated within one export: they are summed into
// their key. Across exports (one export is one landing payload, identified
// by the SHA-256 of its bytes; the raw files' batch id), identical rows are
// copies from overlapping downloads (§5.12): a row's content (the key plus
// quantity, earnings, withheld and recoup; not date_inserted, source_file or
// source_line) counts as many times as the export that holds it most often
// has it. So the same file ingested twice (which the pipeline already refuses
// as a duplicate batch), a re-saved copy in another encoding or layout, and an
// export overlapping another all add nothing; the sum over all rows of the
// dataset is the exact sum of the distinct DistroKid rows.
//
// # Restatements
//
// The sale key is the natural key without reporting_date. When the same sale
// key is reported under several reporting dates, every reporting is kept as
// its own row and flagged:
//
//   - is_restatement: an earlier reporting date has this sale key too;
//   - superseded: a later reporting date has this sale key too;
//   - report_seq: 1 for the first reporting date of the sale key, 2 for the
//     next, and so on.
//
// A consumer that reads restatements as replacements takes the rows where
// NOT superseded (the latest reporting of each sale key); one that reads them
// as additional payments sums every row. Both totals are exact; which one the
// money follows is the consumer's decision (royalties_monthly), not this
// dataset's.
//
// # Partitions and incrementality
//
// Rows are partitioned by the year of sale_month:
// staging/domain=royalties/year=YYYY/earnings-<run>.parquet, one file a
// partition, ordered by sale month and key, written by DuckDB (COPY … TO,
// FORMAT parquet, COMPRESSION zstd) in a local work folder through
// sqlengine.Workspace (which on S3/MinIO reads the raw files through the
// query cache), then uploaded through the store. A restatement and what it
// restates share a sale month, hence a partition, so partitions are built
// independently.
//
// Each partition has a stream state in the metastore (source "staging",
// stream "staging.royalties.earnings/year=YYYY") holding the fingerprint of
// its inputs: the SHA-256 of RoyaltiesVersion, the alias table and the key
// and SHA-256 of every raw file with a row in that year. A build rebuilds the
// partitions whose fingerprint changed and skips the others, writing nothing
// for them. The sale years of each raw file are remembered in the stream
// "staging.royalties.earnings/_inputs", so a build reads only raw files it
// has not seen to place them. Every rebuilt partition's file, its batch
// (dataset staging.royalties.earnings, batch id "year=YYYY", replaced) and
// the states are committed in one metastore transaction (metastore.Commit
// with Replace and Fenced, files announced as pending first), and the files
// it replaced are deleted afterwards. Lineage: each file's manifest Meta is
// {"inputs": [raw keys], "fingerprint": …, "version": …}.
package staging
