-- mart: artist_audience
-- version: 1.0
-- primary_key: platform, artist_id, date
-- description: Followers and listeners of each artist over time, per platform and day.
--   platform 'spotify': Spotify for Artists audience timelines
--   (staging.streaming.spotify_audience_daily); artist_id is the artist as
--   the export's file name gives it ('' when the file was named otherwise).
--   platform 'tiktok': the label's TikTok accounts
--   (staging.streaming.tiktok_account_daily); artist_id is the account's
--   open_id, artist its latest display name (staging.catalog.artists).
-- Columns:
--   platform, artist_id, artist, date
--   followers            followers at the end of the day (TikTok: the snapshot's
--                        follower_count, else the Accounts API's followers_count)
--   followers_gained     followers gained since the previous day with data (null
--                        on the first day, after a gap is the whole difference,
--                        null when the count went down on TikTok: counter_reset)
--   listeners, monthly_listeners, streams   Spotify for Artists figures of the day
--   video_views, profile_views              TikTok Accounts API figures of the day
WITH spotify AS (
    SELECT 'spotify' AS platform, coalesce(artist, '') AS artist_id, artist, date,
        followers,
        followers - lag(followers) OVER (PARTITION BY coalesce(artist, '') ORDER BY date) AS followers_gained,
        listeners, monthly_listeners, streams,
        CAST(NULL AS BIGINT) AS video_views, CAST(NULL AS BIGINT) AS profile_views
    FROM staging.streaming_spotify_audience_daily
),
tiktok AS (
    SELECT 'tiktok' AS platform, a.account_id AS artist_id, coalesce(ar.name, ar.username) AS artist, a.date,
        coalesce(a.follower_count, a.followers_count) AS followers,
        a.followers AS followers_gained,
        CAST(NULL AS BIGINT) AS listeners, CAST(NULL AS BIGINT) AS monthly_listeners, CAST(NULL AS BIGINT) AS streams,
        a.video_views, a.profile_views
    FROM staging.streaming_tiktok_account_daily a
    LEFT JOIN staging.catalog_artists ar ON ar.source = 'tiktok' AND ar.artist_id = a.account_id
)
SELECT * FROM spotify
UNION ALL
SELECT * FROM tiktok
