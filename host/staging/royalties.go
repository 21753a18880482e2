package staging

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Royalties dataset names.
const (
	// RoyaltiesDataset is the staging dataset this package builds.
	RoyaltiesDataset = "staging.royalties.earnings"
	// RoyaltiesInput is the raw dataset it is built from.
	RoyaltiesInput = "raw.distrokid.earnings"
	// RoyaltiesDomain is the staging domain of RoyaltiesDataset.
	RoyaltiesDomain = "royalties"
	// royaltiesFileName starts the names of its files.
	royaltiesFileName = "earnings"
	// RoyaltiesVersion is the version of the build's rules. Changing the
	// SQL, the key or the columns must change it, so that every partition
	// is rebuilt with the new rules.
	RoyaltiesVersion = "royalties-earnings/1"
)

// royaltiesEarnings is staging.royalties.earnings as a pluggable dataset.
var royaltiesEarnings = &dataset{
	name:    RoyaltiesDataset,
	domain:  RoyaltiesDomain,
	file:    royaltiesFileName,
	version: RoyaltiesVersion,
	inputs:  []input{{dataset: RoyaltiesInput, year: "year(sale_month)"}},
	rules:   func(b *builder) string { return "aliases " + b.aliases.hash + "\n" },
	prepare: func(ctx context.Context, b *builder, conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, "CREATE TABLE aliases (alias VARCHAR PRIMARY KEY, store VARCHAR)"); err != nil {
			return fmt.Errorf("failed to prepare the staging build: %w", err)
		}
		for k, v := range b.aliases.canon {
			if _, err := conn.ExecContext(ctx, "INSERT INTO aliases VALUES (?, ?)", k, v); err != nil {
				return fmt.Errorf("failed to load the store aliases: %w", err)
			}
		}
		return nil
	},
	query: func(paths map[string][]string, year int) string { return royaltiesSQL(paths[RoyaltiesInput], year) },
}

// keyColumns is the natural key of a staging.royalties.earnings row, in the
// order rows are sorted. saleKeyColumns is the same without reporting_date:
// what a restatement shares with the reporting it restates.
var (
	saleKeyColumns = []string{"sale_month", "isrc", "upc", "store", "country_of_sale", "artist", "title", "source_type", "team_percentage"}
	keyColumns     = append([]string{"reporting_date"}, saleKeyColumns...)
)

// royaltiesSQL is the query that builds one year of the dataset from the
// raw files in the table inputs (path, batch), with the store aliases in the
// table aliases (alias, store). See the package documentation for the rules
// it implements.
func royaltiesSQL(paths []string, year int) string {
	key := strings.Join(keyColumns, ", ")
	saleKey := strings.Join(saleKeyColumns, ", ")
	content := key + ", quantity, earnings_usd, songwriter_royalties_withheld_usd, recoup_usd"
	norm := fmt.Sprintf(storeNormSQL, "r.store")
	return `
WITH src AS (
	SELECT
		r.reporting_date,
		r.sale_month,
		coalesce(a.store, r.store) AS store,
		r.store AS store_as_reported,
		nfc_normalize(r.artist) AS artist,
		nfc_normalize(r.title) AS title,
		nullif(upper(trim(r.isrc)), '') AS isrc,
		nullif(trim(r.upc), '') AS upc,
		upper(trim(r.country_of_sale)) AS country_of_sale,
		r.source_type,
		r.team_percentage,
		r.quantity,
		r.earnings_usd,
		r.songwriter_royalties_withheld_usd,
		r.recoup_usd,
		r.date_inserted,
		i.batch
	FROM ` + scanSQL(paths) + ` r
	JOIN inputs i ON i.path = r.filename
	LEFT JOIN aliases a ON a.alias = ` + norm + `
	WHERE year(r.sale_month) = ` + fmt.Sprint(year) + `
),
-- How often each distinct row occurs in each export (an export is one
-- landing payload, identified by the SHA-256 of its bytes).
per_export AS (
	SELECT ` + content + `, batch, count(*) AS n,
		min(date_inserted) AS date_inserted, min(store_as_reported) AS store_as_reported
	FROM src GROUP BY ALL
),
-- A row repeated within one export is kept as often as it occurs; the same
-- row in several exports (overlapping downloads) counts as often as the
-- export holding it most often has it.
deduped AS (
	SELECT ` + content + `, max(n) AS n, sum(n) AS seen,
		min(date_inserted) AS date_inserted, min(store_as_reported) AS store_as_reported
	FROM per_export GROUP BY ` + content + `
),
keyed AS (
	SELECT ` + key + `,
		min(store_as_reported) AS store_as_reported,
		CAST(sum(quantity * n) AS BIGINT) AS quantity,
		CAST(sum(earnings_usd * n) AS DECIMAL(18, 12)) AS earnings_usd,
		CAST(sum(songwriter_royalties_withheld_usd * n) AS DECIMAL(18, 12)) AS songwriter_royalties_withheld_usd,
		CAST(sum(recoup_usd * n) AS DECIMAL(18, 12)) AS recoup_usd,
		min(date_inserted) AS date_inserted,
		CAST(sum(n) AS BIGINT) AS raw_rows,
		CAST(sum(seen) - sum(n) AS BIGINT) AS duplicate_rows
	FROM deduped GROUP BY ` + key + `
)
SELECT
	reporting_date, sale_month, store, store_as_reported, artist, title, isrc, upc,
	country_of_sale, source_type, team_percentage,
	quantity, earnings_usd, songwriter_royalties_withheld_usd, recoup_usd, date_inserted,
	reporting_date > min(reporting_date) OVER sale AS is_restatement,
	reporting_date < max(reporting_date) OVER sale AS superseded,
	CAST(dense_rank() OVER (PARTITION BY ` + saleKey + ` ORDER BY reporting_date) AS INTEGER) AS report_seq,
	raw_rows, duplicate_rows
FROM keyed
WINDOW sale AS (PARTITION BY ` + saleKey + `)
ORDER BY sale_month, isrc NULLS FIRST, upc NULLS FIRST, store, country_of_sale, artist, title, source_type, team_percentage, reporting_date`
}
