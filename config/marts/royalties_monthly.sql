-- mart: royalties_monthly
-- version: 1.0
-- primary_key: isrc, upc, title, artist, store, country_of_sale, sale_month
-- description: Quantity and earnings per track, store, country and sale month.
--   Every reporting DistroKid made is a payment: a sale month reported again
--   in a later report adds to it (DistroKid's late reports are additive), so
--   the totals equal the sum of the exports to the cent; the copies of a row
--   that several overlapping exports share were removed in staging.
--   `restated` says the month was reported more than once.
SELECT
    isrc,
    upc,
    title,
    artist,
    store,
    country_of_sale,
    sale_month,
    CAST(sum(quantity) AS BIGINT) AS quantity,
    -- DuckDB widens sums to DECIMAL(38,12); a month of one track fits 18.
    CAST(sum(earnings_usd) AS DECIMAL(18, 12)) AS earnings_usd,
    count(DISTINCT reporting_date) AS reportings,
    bool_or(is_restatement) AS restated,
    max(reporting_date) AS last_reported
FROM staging.royalties_earnings
GROUP BY ALL
