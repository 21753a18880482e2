-- mart: catalog_health
-- version: 1.0
-- primary_key: kind, source, item, artist
-- description: What is wrong with the catalog, one row per finding.
--   kind 'track_without_isrc': a DistroKid song (distinct title, artist and
--     UPC) whose rows carry no ISRC; detail says whether identity matched it
--     to a track by title (and how sure it is) or not.
--   kind 'unmatched': an item of any source linked to no track or release
--     (staging.catalog.unmatched), with identity's reason and candidates.
--   kind 'stale_source': a raw dataset whose newest data (its newest
--     snapshot/date column, else its last ingest) is older than 7 days when
--     the mart is built. The mart is rebuilt when its inputs change, so
--     staleness is as of the last build that had new inputs.
-- Columns:
--   kind, source (distrokid | spotify | s4a | tiktok, or the raw dataset for
--   stale_source), item (the item's key or the dataset), artist ('' when none),
--   title, reason, detail (in words), candidates (ISRCs/UPCs considered, comma-separated),
--   newest_data_date and days_old (stale_source only)
--   date                 the day the check ran (the mart's build day)
WITH dk_items AS (
    SELECT source, key, artist, title, item_upc, isrc, method, confidence, NULL AS reason, detail
    FROM staging.catalog_links
    WHERE source = 'distrokid' AND kind = 'song' AND item_isrc IS NULL
    UNION ALL
    SELECT source, key, artist, title, item_upc, NULL, NULL, NULL, reason, detail
    FROM staging.catalog_unmatched
    WHERE source = 'distrokid' AND kind = 'song' AND item_isrc IS NULL
)
SELECT 'track_without_isrc' AS kind, source, key AS item, coalesce(artist, '') AS artist, title,
    coalesce(reason, 'no_isrc') AS reason,
    CASE WHEN isrc IS NOT NULL
        THEN 'DistroKid rows of "' || title || '" have no ISRC; identity linked them to ' || isrc || ' (' || method || ', confidence ' || CAST(confidence AS VARCHAR) || ')'
        ELSE 'DistroKid rows of "' || title || '" have no ISRC and match no track: ' || detail END AS detail,
    coalesce(isrc, '') AS candidates,
    CAST(NULL AS DATE) AS newest_data_date, CAST(NULL AS BIGINT) AS days_old, current_date AS date
FROM dk_items
UNION ALL
SELECT 'unmatched', source, key, coalesce(artist, ''), title, reason, detail, array_to_string(candidate_keys, ', '),
    CAST(NULL AS DATE), CAST(NULL AS BIGINT), current_date
FROM staging.catalog_unmatched
UNION ALL
SELECT 'stale_source', dataset, dataset, '', NULL, 'stale',
    dataset || ': newest data ' || CAST(coalesce(newest_data_date, CAST(last_ingested_at AS DATE)) AS VARCHAR)
        || coalesce(' (' || date_column || ')', ' (last ingest)') || ', last ingested '
        || strftime(last_ingested_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M UTC') || ': ingest it again',
    '',
    coalesce(newest_data_date, CAST(last_ingested_at AS DATE)),
    CAST(date_diff('day', coalesce(newest_data_date, CAST(last_ingested_at AS DATE)), current_date) AS BIGINT),
    current_date
FROM staging.catalog_sources
WHERE date_diff('day', coalesce(newest_data_date, CAST(last_ingested_at AS DATE)), current_date) > 7
