-- mart: dim_track
-- version: 1.0
-- primary_key: isrc
-- description: The track dimension for BI: one row per canonical track (ISRC)
--   with its display title and artist, its UPCs, Spotify track ids and how
--   many items identity linked to it (and the weakest link's confidence).
--   Published as analytics.dim_track; the facts' isrc columns reference it.
SELECT
    isrc,
    title,
    artist,
    array_to_string(upcs, ',') AS upcs,
    array_to_string(spotify_track_ids, ',') AS spotify_track_ids,
    len(tiktok_video_ids) AS tiktok_videos,
    links,
    min_confidence
FROM staging.catalog_tracks
WHERE isrc IS NOT NULL
