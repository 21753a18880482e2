-- mart: track_performance
-- version: 1.0
-- primary_key: isrc, platform, date
-- description: Daily performance of each canonical track (ISRC) per platform.
--   platform 'spotify': Spotify for Artists song timelines
--   (staging.streaming.spotify_song_daily), joined to the track through the
--   catalog links of source s4a (a timeline has no artist, so its link is
--   the one with an empty artist); several S4A songs of one ISRC are summed.
--   platform 'tiktok': the daily gains of the label's TikTok videos
--   (staging.streaming.tiktok_video_daily), joined through the catalog
--   links of source tiktok and summed over the track's videos.
-- Columns:
--   isrc, title, artist      the canonical track (staging.catalog.tracks)
--   platform, date           'spotify' or 'tiktok'; the UTC day
--   streams                  Spotify streams that day (null on TikTok)
--   views, likes,            TikTok views, likes, comments and shares gained
--   comments, shares         that day over the track's videos (null on Spotify;
--                            null when no video had a comparable snapshot)
--   listeners                listeners of the track that day where a source
--                            gives them per track and day (none does yet: null)
--   items                    S4A songs or TikTok videos that contributed
--   min_confidence           the weakest identity link used (1 = exact key)
--   counter_reset            a TikTok counter went down that day (its gain is null)
WITH tracks AS (
    SELECT isrc, title, artist FROM staging.catalog_tracks
),
s4a AS (
    SELECT l.isrc, s.date,
        CAST(sum(s.streams) AS BIGINT) AS streams,
        CAST(count(DISTINCT s.song) AS BIGINT) AS items,
        min(l.confidence) AS min_confidence
    FROM staging.streaming_spotify_song_daily s
    JOIN staging.catalog_links l ON l.source = 's4a' AND l.key = s.song AND l.artist = '' AND l.isrc IS NOT NULL
    GROUP BY l.isrc, s.date
),
tiktok AS (
    SELECT l.isrc, v.date,
        CAST(sum(v.views) AS BIGINT) AS views,
        CAST(sum(v.likes) AS BIGINT) AS likes,
        CAST(sum(v.comments) AS BIGINT) AS comments,
        CAST(sum(v.shares) AS BIGINT) AS shares,
        CAST(count(DISTINCT v.video_id) AS BIGINT) AS items,
        min(l.confidence) AS min_confidence,
        bool_or(v.counter_reset) AS counter_reset
    FROM staging.streaming_tiktok_video_daily v
    JOIN staging.catalog_links l ON l.source = 'tiktok' AND l.key = v.video_id AND l.isrc IS NOT NULL
    GROUP BY l.isrc, v.date
)
SELECT t.isrc, t.title, t.artist, 'spotify' AS platform, s.date,
    s.streams, CAST(NULL AS BIGINT) AS views, CAST(NULL AS BIGINT) AS likes,
    CAST(NULL AS BIGINT) AS comments, CAST(NULL AS BIGINT) AS shares,
    CAST(NULL AS BIGINT) AS listeners, s.items, s.min_confidence, false AS counter_reset
FROM s4a s JOIN tracks t USING (isrc)
UNION ALL
SELECT t.isrc, t.title, t.artist, 'tiktok' AS platform, v.date,
    CAST(NULL AS BIGINT) AS streams, v.views, v.likes, v.comments, v.shares,
    CAST(NULL AS BIGINT) AS listeners, v.items, v.min_confidence, v.counter_reset
FROM tiktok v JOIN tracks t USING (isrc)
