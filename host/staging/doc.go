// Package staging builds the lake's staging zone
// (staging/domain=<domain>/year=YYYY/, DESIGN.md §3): conformed, typed,
// deduplicated datasets rebuilt idempotently from the raw zone. A domain is
// a list of datasets, each a pluggable unit (build.go's dataset: its raw
// inputs, the SQL that builds one year, its rules' version); Build builds
// the domains asked for, one metastore transaction per dataset. Domains:
//
//   - royalties: staging.royalties.earnings, from raw.distrokid.earnings;
//   - streaming: staging.streaming.tiktok_video_daily and
//     tiktok_account_daily, from raw.tiktok.videos, user_info and
//     business_metrics; staging.streaming.spotify_song_daily and
//     spotify_audience_daily, from raw.spotify.s4a_song_timeline and
//     s4a_audience_timeline;
//   - catalog: staging.catalog.tracks, releases, links, unmatched, artists
//     and sources, resolved by package identity from raw.distrokid.earnings,
//     raw.spotify.tracks/albums/artists/s4a_songs/s4a_song_timeline and
//     raw.tiktok.videos/user_info (see "The catalog domain" below).
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
// {"inputs": [raw keys], "fingerprint": …, "version": …}. The other
// datasets follow the same scheme with their own names, version and
// partition column (see below).
//
// # staging.streaming.tiktok_video_daily
//
// One row per TikTok video and day that has a snapshot in
// raw.tiktok.videos: video_id, open_id, create_time, date, snapshot_at (the
// snapshot used: the last of the day; of copies of one snapshot, the one
// ingested last), snapshots (distinct snapshots that day), the lifetime
// counters view_count, like_count, comment_count, share_count as of that
// snapshot, and the gains views, likes, comments, shares: the counter minus
// the counter of the video's previous snapshot day (previous_date).
//
//   - First snapshot of a video: no gain (null), unless the video was posted
//     on that UTC day, when the gain is the whole counter (it began at 0).
//   - A counter lower than the day before (removed likes, purged views, a
//     reset): counter_reset is true and that counter's gain is null — never
//     negative, and never the new value, which for a small correction would
//     count the whole lifetime again. The other counters of the row keep
//     their gains; the next day diffs against the lowered value.
//   - Missing days: gap_days is the number of days without a snapshot
//     between previous_date and date (0 for consecutive days, null on the
//     first day); the whole difference is attributed to the later day,
//     since how it spread over the missing days is unknown.
//   - A counter null in either snapshot (scope not granted) has a null gain.
//
// # staging.streaming.tiktok_account_daily
//
// One row per account (account_id: the open_id) and day: from
// raw.tiktok.user_info the same rules give follower_count, likes_count and
// video_count and their gains followers, likes and videos (a deleted video
// lowers video_count: flagged like any counter that goes down); and from
// raw.tiktok.business_metrics, when present, the Accounts API's daily
// metrics of that day as TikTok gives them (video_views, profile_views,
// followers_count, …; its likes, comments and shares as business_likes,
// business_comments, business_shares), the latest read of a day winning,
// with business_read_at. Business rows join on business_id = open_id (for
// the Accounts API they are the same id); a day with only one of the two
// has nulls for the other.
//
// # staging.streaming.spotify_song_daily and spotify_audience_daily
//
// One row per (song, date) of raw.spotify.s4a_song_timeline (streams) and
// per (artist, date) of raw.spotify.s4a_audience_timeline (listeners,
// monthly_listeners, monthly_active_listeners, super_listeners, streams,
// playlist_adds, saves, followers). Exports overlap (a re-export repeats
// the days of the one before): each key takes the row of the export
// ingested last — the raw file committed last (manifest added_at, then its
// key, which numbers a run's files in the order it read the exports), then
// the last line — whose source_file, source_sha256 and source_line are
// kept. exports counts the ingested rows for the key and revised says
// whether they disagreed. A null artist (file not named
// <artist>-audience-timeline.csv) is a key of its own.
//
// # Streaming partitions
//
// The streaming datasets are partitioned by the year of date:
// staging/domain=streaming/year=YYYY/<name>-<run>.parquet, with the
// dataset's stream states under StreamingVersion. The Spotify ones depend,
// per year, on the raw files with a row in it, the ingest order of those
// files being part of the fingerprint. A TikTok day's gain needs the
// snapshot before it, which may lie in any earlier year, so a TikTok
// partition depends on every raw file with a row in its year or an earlier
// one: a new snapshot rebuilds the current year only, a late file of an
// old year rebuilds that year and the ones after it.//
// A streaming dataset none of whose inputs has a row yet has one empty file
// (with its columns) in partition year=0000, so that it can always be
// queried and a mart that names it builds (`bedrot build` on DistroKid data
// only). The placeholder leaves the manifest, and the store, in the build
// that brings the dataset's first rows.
//
// # The catalog domain
//
// The catalog is not partitioned by year: each dataset is one file,
// staging/domain=catalog/part=all/<name>-<run>.parquet (batch "part=all"),
// since identity resolves the whole catalog at once. The build reads the
// raw rows through a sqlengine Workspace, runs identity.Resolve in Go with
// the overrides file (Options.IdentityOverrides, default
// config/identity_overrides.yaml relative to the working folder; a missing
// file is no overrides; entries that matched nothing are logged), writes the
// datasets with DuckDB and commits the six in one metastore transaction,
// with stream states "<dataset>/part=all". Its fingerprint is CatalogVersion,
// the SHA-256 of the overrides file and the key, SHA-256 and commit time of
// every raw file of the lake (staging.catalog.sources describes them all),
// so any ingest rebuilds the catalog and unchanged inputs write nothing.
// Items read:
//
//   - DistroKid: each distinct (source_type, isrc, upc, artist, title) of
//     raw.distrokid.earnings is one item, key
//     "<source_type>|<isrc>|<upc>|<artist>|<title>" (album rows link to
//     releases by UPC);
//   - Spotify: the latest snapshot of each track (by snapshot_at), its
//     artists' latest names (artists stream, joined on artist_ids) and its
//     album's name and release date; key the track id;
//   - S4A: each (song, artist, release_date) of raw.spotify.s4a_songs and
//     each song of raw.spotify.s4a_song_timeline (artist ""); key the title;
//   - TikTok: the latest snapshot of each video (title, description) with
//     its account's latest display name as artist; key the video id.
//
// Datasets:
//
//   - tracks: isrc, title, artist, titles, artists, upcs, spotify_track_ids,
//     s4a_songs, tiktok_video_ids (lists), distrokid_items, links,
//     min_confidence;
//   - releases: upc (13 digits), title, artist, titles, isrcs, isrc_count,
//     spotify_album_ids, links;
//   - links: source, key, artist (S4A only, else ""), kind (song, album,
//     track, video), title, item_isrc and item_upc (the keys the item
//     itself carries), isrc or upc (what it is linked to), method,
//     confidence, detail; key (source, key, artist);
//   - unmatched: source, key, artist, kind, title, item_isrc, item_upc,
//     reason, detail, candidate_keys (list) and candidates (JSON: key,
//     title, artist, confidence); every item is in links or here;
//   - artists: source (spotify, tiktok), artist_id, name, name_key
//     (identity.Normalize), username, followers, snapshot_at: the latest
//     snapshot of each Spotify artist and TikTok account;
//   - sources: one row per raw dataset: dataset, files, rows,
//     first_ingested_at, last_ingested_at, date_column (the first of
//     snapshot_date, date, reporting_date, sale_month, snapshot_at it has)
//     and newest_data_date (that column's newest value, as a UTC date).
package staging
