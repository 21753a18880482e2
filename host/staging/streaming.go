package staging

import (
	"fmt"
	"strings"
)

// Streaming dataset names (see the package documentation for their rules).
const (
	// StreamingDomain is the staging domain of the streaming datasets.
	StreamingDomain = "streaming"
	// TikTokVideoDailyDataset holds per TikTok video and day the counters
	// gained that day, from raw.tiktok.videos.
	TikTokVideoDailyDataset = "staging.streaming.tiktok_video_daily"
	// TikTokAccountDailyDataset holds per TikTok account and day the
	// counters gained that day, from raw.tiktok.user_info, with the daily
	// Accounts API metrics of raw.tiktok.business_metrics.
	TikTokAccountDailyDataset = "staging.streaming.tiktok_account_daily"
	// SpotifySongDailyDataset holds Spotify for Artists daily streams per
	// song, from raw.spotify.s4a_song_timeline.
	SpotifySongDailyDataset = "staging.streaming.spotify_song_daily"
	// SpotifyAudienceDailyDataset holds Spotify for Artists daily audience
	// figures per artist, from raw.spotify.s4a_audience_timeline.
	SpotifyAudienceDailyDataset = "staging.streaming.spotify_audience_daily"

	// TikTokVideosInput, TikTokUserInfoInput, TikTokBusinessInput,
	// S4ASongTimelineInput and S4AAudienceInput are the raw datasets the
	// streaming datasets read.
	TikTokVideosInput    = "raw.tiktok.videos"
	TikTokUserInfoInput  = "raw.tiktok.user_info"
	TikTokBusinessInput  = "raw.tiktok.business_metrics"
	S4ASongTimelineInput = "raw.spotify.s4a_song_timeline"
	S4AAudienceInput     = "raw.spotify.s4a_audience_timeline"

	// StreamingVersion is the version of the streaming datasets' rules.
	// Changing their SQL, keys or columns must change it, so that every
	// partition is rebuilt with the new rules.
	StreamingVersion = "streaming/1"
)

// streamingDatasets are the datasets of the streaming domain, in build order.
var streamingDatasets = []*dataset{
	{
		name: TikTokVideoDailyDataset, domain: StreamingDomain, file: "tiktok_video_daily", version: StreamingVersion,
		inputs:   []input{{dataset: TikTokVideosInput, year: "year(snapshot_date)"}},
		lookback: true, ordered: true, placeholder: true,
		query: tiktokVideoDailySQL,
	},
	{
		name: TikTokAccountDailyDataset, domain: StreamingDomain, file: "tiktok_account_daily", version: StreamingVersion,
		inputs: []input{
			{dataset: TikTokUserInfoInput, year: "year(snapshot_date)"},
			{dataset: TikTokBusinessInput, year: "year(date)"},
		},
		lookback: true, ordered: true, placeholder: true,
		query: tiktokAccountDailySQL,
	},
	{
		name: SpotifySongDailyDataset, domain: StreamingDomain, file: "spotify_song_daily", version: StreamingVersion,
		inputs:  []input{{dataset: S4ASongTimelineInput, year: "year(date)"}},
		ordered: true, placeholder: true,
		query: spotifySongDailySQL,
	},
	{
		name: SpotifyAudienceDailyDataset, domain: StreamingDomain, file: "spotify_audience_daily", version: StreamingVersion,
		inputs:  []input{{dataset: S4AAudienceInput, year: "year(date)"}},
		ordered: true, placeholder: true,
		query: spotifyAudienceDailySQL,
	},
}

// source is the rows of the files at paths joined to their inputs entry
// (for the ingest order seq), or, when there are none, an empty relation
// with the columns empty declares ("name TYPE, ...").
func source(paths []string, empty string) string {
	if len(paths) == 0 {
		var cols []string
		for _, c := range strings.Split(empty, ",") {
			name, typ, _ := strings.Cut(strings.TrimSpace(c), " ")
			cols = append(cols, "CAST(NULL AS "+typ+") AS "+name)
		}
		return `(SELECT ` + strings.Join(cols, ", ") + `, CAST(NULL AS INTEGER) AS seq WHERE false)`
	}
	return `(SELECT r.*, i.seq FROM ` + scanSQL(paths) + ` r JOIN inputs i ON i.path = r.filename)`
}

// utcDate is the UTC calendar date of a timestamp expression, whatever the
// session's time zone.
func utcDate(ts string) string {
	return `(DATE '1970-01-01' + CAST(floor(epoch_us(` + ts + `) / 86400000000) AS INTEGER))`
}

// yearBounds returns the first day of year and of the next year as SQL
// date literals.
func yearBounds(year int) (from, to string) {
	return fmt.Sprintf("DATE '%04d-01-01'", year), fmt.Sprintf("DATE '%04d-01-01'", year+1)
}

// gainSQL is the gain of a lifetime counter on a day: the difference to the
// counter of the entity's previous snapshot day (cur_col, prev_col); null
// when the counter went down (a reset, flagged in counter_reset) or either
// value is null; on the first snapshot day null, or the counter itself when
// created (a SQL condition, "false" when unknown) says the entity began that
// day.
func gainSQL(cur, prev, created string) string {
	return `CASE WHEN previous_date IS NULL THEN CASE WHEN ` + created + ` THEN ` + cur + ` END
		WHEN ` + cur + ` < ` + prev + ` THEN NULL
		ELSE ` + cur + ` - ` + prev + ` END`
}

// snapshotDiffSQL turns dated lifetime-counter snapshots into daily gains.
// from is a relation with the entity key column key, snapshot_at,
// snapshot_date, seq, the counters and the columns of keep; created is the
// condition that an entity began on snapshot_date. gains maps each counter
// to the name of its gain column. The result has, per entity and day of
// year: key, date, snapshot_at (the last snapshot of the day), snapshots
// (distinct snapshots that day), keep, the counters, the gains,
// previous_date, gap_days and counter_reset.
func snapshotDiffSQL(from, key string, keep []string, counters, gains []string, created string, year int) string {
	first, next := yearBounds(year)
	var lags, outs, resets []string
	for i, c := range counters {
		lags = append(lags, "lag("+c+") OVER w AS prev_"+c)
		outs = append(outs, c, gainSQL(c, "prev_"+c, created)+" AS "+gains[i])
		resets = append(resets, c+" < prev_"+c)
	}
	keepCols := ""
	if len(keep) > 0 {
		keepCols = strings.Join(keep, ", ") + ", "
	}
	return `
WITH snaps AS (
	SELECT * FROM ` + from + ` s WHERE snapshot_date < ` + next + ` AND ` + key + ` IS NOT NULL
),
-- The last snapshot of each entity and day (the latest snapshot_at; of
-- copies of one snapshot, the one ingested last).
daily AS (
	SELECT * FROM snaps
	QUALIFY row_number() OVER (PARTITION BY ` + key + `, snapshot_date ORDER BY snapshot_at DESC, seq DESC) = 1
),
per_day AS (
	SELECT ` + key + `, snapshot_date, CAST(count(DISTINCT snapshot_at) AS INTEGER) AS snapshots
	FROM snaps GROUP BY ALL
),
diffed AS (
	SELECT d.*, p.snapshots,
		lag(d.snapshot_date) OVER w AS previous_date,
		` + strings.Join(lags, ",\n\t\t") + `
	FROM daily d JOIN per_day p USING (` + key + `, snapshot_date)
	WINDOW w AS (PARTITION BY d.` + key + ` ORDER BY d.snapshot_date)
)
SELECT ` + key + `, snapshot_date AS date, snapshot_at, snapshots, ` + keepCols + `
	` + strings.Join(outs, ",\n\t") + `,
	previous_date,
	CAST(date_diff('day', previous_date, snapshot_date) - 1 AS INTEGER) AS gap_days,
	coalesce(` + strings.Join(resets, " OR ") + `, false) AS counter_reset
FROM diffed
WHERE snapshot_date >= ` + first
}

// tiktokVideoDailySQL builds one year of staging.streaming.tiktok_video_daily.
func tiktokVideoDailySQL(paths map[string][]string, year int) string {
	from := source(paths[TikTokVideosInput], "video_id VARCHAR, open_id VARCHAR, create_time TIMESTAMPTZ, view_count BIGINT, like_count BIGINT, comment_count BIGINT, share_count BIGINT, snapshot_at TIMESTAMPTZ, snapshot_date DATE")
	return `SELECT * FROM (` + snapshotDiffSQL(from, "video_id", []string{"open_id", "create_time"},
		[]string{"view_count", "like_count", "comment_count", "share_count"},
		[]string{"views", "likes", "comments", "shares"},
		utcDate("create_time")+" = snapshot_date", year) + `
) ORDER BY video_id, date`
}

// businessMetrics are the daily Accounts API metrics carried into
// staging.streaming.tiktok_account_daily, with the column names they get
// there (likes, comments and shares would clash with the gains computed
// from user_info).
var businessMetrics = [][2]string{
	{"video_views", "video_views"}, {"unique_video_views", "unique_video_views"}, {"profile_views", "profile_views"},
	{"likes", "business_likes"}, {"comments", "business_comments"}, {"shares", "business_shares"},
	{"phone_number_clicks", "phone_number_clicks"}, {"lead_submissions", "lead_submissions"},
	{"app_download_clicks", "app_download_clicks"}, {"bio_link_clicks", "bio_link_clicks"},
	{"email_clicks", "email_clicks"}, {"address_clicks", "address_clicks"},
	{"daily_total_followers", "daily_total_followers"}, {"daily_new_followers", "daily_new_followers"},
	{"daily_lost_followers", "daily_lost_followers"}, {"followers_count", "followers_count"},
}

// tiktokAccountDailySQL builds one year of
// staging.streaming.tiktok_account_daily.
func tiktokAccountDailySQL(paths map[string][]string, year int) string {
	first, next := yearBounds(year)
	users := source(paths[TikTokUserInfoInput], "open_id VARCHAR, follower_count BIGINT, likes_count BIGINT, video_count BIGINT, snapshot_at TIMESTAMPTZ, snapshot_date DATE")
	bizEmpty := []string{"business_id VARCHAR", "date DATE", "snapshot_at TIMESTAMPTZ"}
	var bizCols []string
	for _, m := range businessMetrics {
		bizEmpty = append(bizEmpty, m[0]+" BIGINT")
		bizCols = append(bizCols, "b."+m[0]+" AS "+m[1])
	}
	biz := source(paths[TikTokBusinessInput], strings.Join(bizEmpty, ", "))
	return `
WITH u AS (` + snapshotDiffSQL(users, "open_id", nil,
		[]string{"follower_count", "likes_count", "video_count"},
		[]string{"followers", "likes", "videos"}, "false", year) + `
),
-- Accounts API days: the metrics of each account and day as read last.
b AS (
	SELECT * FROM ` + biz + ` x
	WHERE date >= ` + first + ` AND date < ` + next + ` AND business_id IS NOT NULL
	QUALIFY row_number() OVER (PARTITION BY business_id, date ORDER BY snapshot_at DESC, seq DESC) = 1
)
SELECT
	coalesce(u.open_id, b.business_id) AS account_id,
	coalesce(u.date, b.date) AS date,
	u.snapshot_at, u.snapshots,
	u.follower_count, u.likes_count, u.video_count,
	u.followers, u.likes, u.videos,
	u.previous_date, u.gap_days, coalesce(u.counter_reset, false) AS counter_reset,
	` + strings.Join(bizCols, ", ") + `,
	b.snapshot_at AS business_read_at
FROM u FULL OUTER JOIN b ON b.business_id = u.open_id AND b.date = u.date
ORDER BY account_id, date`
}

// newestSQL keeps, of the rows of from in year with the same key, the one
// of the export ingested last (then the last line of it), and counts the
// exports that had the key (exports) and whether they disagreed on the
// values (revised).
func newestSQL(from, key string, values []string, year int) string {
	first, next := yearBounds(year)
	vals := strings.Join(values, ", ")
	return `
SELECT ` + key + `, date, ` + vals + `,
	source_file, source_sha256, source_line,
	CAST(count(*) OVER k AS INTEGER) AS exports,
	min(hash(` + vals + `)) OVER k <> max(hash(` + vals + `)) OVER k AS revised
FROM ` + from + ` r
WHERE date >= ` + first + ` AND date < ` + next + `
WINDOW k AS (PARTITION BY ` + key + `, date)
QUALIFY row_number() OVER (PARTITION BY ` + key + `, date ORDER BY seq DESC, source_line DESC) = 1
ORDER BY ` + key + ` NULLS FIRST, date`
}

// spotifySongDailySQL builds one year of staging.streaming.spotify_song_daily.
func spotifySongDailySQL(paths map[string][]string, year int) string {
	from := source(paths[S4ASongTimelineInput], "song VARCHAR, date DATE, streams BIGINT, source_file VARCHAR, source_sha256 VARCHAR, source_line BIGINT")
	return newestSQL(from, "song", []string{"streams"}, year)
}

// spotifyAudienceDailySQL builds one year of
// staging.streaming.spotify_audience_daily.
func spotifyAudienceDailySQL(paths map[string][]string, year int) string {
	from := source(paths[S4AAudienceInput], "artist VARCHAR, date DATE, listeners BIGINT, monthly_listeners BIGINT, monthly_active_listeners BIGINT, super_listeners BIGINT, streams BIGINT, playlist_adds BIGINT, saves BIGINT, followers BIGINT, source_file VARCHAR, source_sha256 VARCHAR, source_line BIGINT")
	return newestSQL(from, "artist", []string{"listeners", "monthly_listeners", "monthly_active_listeners", "super_listeners", "streams", "playlist_adds", "saves", "followers"}, year)
}
