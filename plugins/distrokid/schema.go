package distrokid

import "github.com/bedrot-label/bedrot/sdk"

// StreamEarnings is the name of the one stream this source produces.
const StreamEarnings = "earnings"

// Scales of the decimal columns.
const (
	// MoneyScale is the scale of the money columns: amounts are integers of
	// 1e-12 USD, exactly as DistroKid writes them (12 decimals).
	MoneyScale = 12
	// PercentScale is the scale of team_percentage.
	PercentScale = 6
	// DecimalPrecision is the precision of every decimal column.
	DecimalPrecision = 18
)

// Column positions in an earnings record batch, in schema order.
const (
	ColDateInserted = iota
	ColReportingDate
	ColSaleMonth
	ColStore
	ColArtist
	ColTitle
	ColISRC
	ColUPC
	ColQuantity
	ColTeamPercentage
	ColSourceType
	ColCountryOfSale
	ColSongwriterRoyaltiesWithheldUSD
	ColEarningsUSD
	ColRecoupUSD
	ColExtraColumns
	ColSourceFile
	ColSourceLine
	numCols
)

func money(name, doc string, nullable bool) sdk.Field {
	return sdk.Field{Name: name, Type: sdk.TypeDecimal, Precision: DecimalPrecision, Scale: MoneyScale, Nullable: nullable, Doc: doc}
}

// EarningsSchema is the schema of the earnings stream. It is the same for
// every layout: columns a layout lacks are null (date_inserted, recoup_usd
// in the legacy layout), and columns DistroKid may add in future land in
// extra_columns as a JSON object.
var EarningsSchema = sdk.Schema{Fields: []sdk.Field{
	ColDateInserted:   {Name: "date_inserted", Type: sdk.TypeDate, Nullable: true, Doc: "Date Inserted: when DistroKid ingested the row (2025 layout only; null in legacy files)."},
	ColReportingDate:  {Name: "reporting_date", Type: sdk.TypeDate, Doc: "Reporting Date: when DistroKid received the store's payment; use it for accounting."},
	ColSaleMonth:      {Name: "sale_month", Type: sdk.TypeDate, Doc: "Sale Month as the first day of that month; Excel-mangled values (2026-01-01, Jan-26, 1/1/2026) are repaired."},
	ColStore:          {Name: "store", Type: sdk.TypeString, Doc: "Store as written in the file (Spotify, Apple Music, TikTok, …)."},
	ColArtist:         {Name: "artist", Type: sdk.TypeString, Doc: "Artist as written in the file."},
	ColTitle:          {Name: "title", Type: sdk.TypeString, Doc: "Track title, or the album title on album rows."},
	ColISRC:           {Name: "isrc", Type: sdk.TypeString, Nullable: true, Doc: "ISRC, spaces trimmed; null when empty (album rows)."},
	ColUPC:            {Name: "upc", Type: sdk.TypeString, Nullable: true, Doc: "UPC/EAN as written (digits only, spaces trimmed, leading zeros kept); null when empty."},
	ColQuantity:       {Name: "quantity", Type: sdk.TypeInt64, Doc: "Streams or units; negative on refunds."},
	ColTeamPercentage: {Name: "team_percentage", Type: sdk.TypeDecimal, Precision: DecimalPrecision, Scale: PercentScale, Doc: "Team Percentage: the member's share in percent (100 without splits)."},
	ColSourceType:     {Name: "source_type", Type: sdk.TypeString, Doc: "Song or Album (header Source Type, or Song/Album in legacy and hybrid files)."},
	ColCountryOfSale:  {Name: "country_of_sale", Type: sdk.TypeString, Doc: "Country of Sale: ISO 3166 alpha-2, or OU (outside the US / unknown)."},
	ColSongwriterRoyaltiesWithheldUSD: money("songwriter_royalties_withheld_usd",
		"Songwriter Royalties Withheld (USD), in USD.", false),
	ColEarningsUSD:  money("earnings_usd", "Earnings (USD): exact, 12 decimals; negative on refunds.", false),
	ColRecoupUSD:    money("recoup_usd", "Recoup (USD); null when empty or absent (legacy files).", true),
	ColExtraColumns: {Name: "extra_columns", Type: sdk.TypeString, Nullable: true, Doc: "Columns this connector does not know, as a JSON object of snake_case header name to text value; null when the file has none."},
	ColSourceFile:   {Name: "source_file", Type: sdk.TypeString, Doc: "Name of the export file the row came from."},
	ColSourceLine:   {Name: "source_line", Type: sdk.TypeInt64, Doc: "1-based physical line of the row in its file (a row spanning lines counts from its first)."},
}}

// EarningsStream describes the earnings stream for Discover.
func EarningsStream() sdk.Stream {
	return sdk.Stream{
		Name: StreamEarnings,
		Doc: "DistroKid bank-details earnings rows, one per store × track/album × country × sale month, " +
			"exactly as exported (all rows kept: zero, negative and duplicate-looking rows included).",
		Schema:     EarningsSchema,
		PrimaryKey: []string{"source_file", "source_line"},
	}
}

// Header columns this connector knows, by normalised (trimmed, case-folded)
// header name. Aliases map to the same column.
var knownHeaders = map[string]int{
	"date inserted":                       ColDateInserted,
	"reporting date":                      ColReportingDate,
	"sale month":                          ColSaleMonth,
	"store":                               ColStore,
	"artist":                              ColArtist,
	"title":                               ColTitle,
	"isrc":                                ColISRC,
	"upc":                                 ColUPC,
	"quantity":                            ColQuantity,
	"team percentage":                     ColTeamPercentage,
	"source type":                         ColSourceType,
	"song/album":                          ColSourceType,
	"country of sale":                     ColCountryOfSale,
	"songwriter royalties withheld":       ColSongwriterRoyaltiesWithheldUSD,
	"songwriter royalties withheld (usd)": ColSongwriterRoyaltiesWithheldUSD,
	"earnings (usd)":                      ColEarningsUSD,
	"recoup (usd)":                        ColRecoupUSD,
}

// canonicalHeader is the 2025 header name of each known column, used in
// problems about missing columns.
var canonicalHeader = [...]string{
	ColDateInserted:                   "Date Inserted",
	ColReportingDate:                  "Reporting Date",
	ColSaleMonth:                      "Sale Month",
	ColStore:                          "Store",
	ColArtist:                         "Artist",
	ColTitle:                          "Title",
	ColISRC:                           "ISRC",
	ColUPC:                            "UPC",
	ColQuantity:                       "Quantity",
	ColTeamPercentage:                 "Team Percentage",
	ColSourceType:                     "Source Type",
	ColCountryOfSale:                  "Country of Sale",
	ColSongwriterRoyaltiesWithheldUSD: "Songwriter Royalties Withheld (USD)",
	ColEarningsUSD:                    "Earnings (USD)",
	ColRecoupUSD:                      "Recoup (USD)",
}

// optionalHeader marks the columns the legacy layout lacks; every other
// known column must be in the header.
var optionalHeader = [...]bool{ColDateInserted: true, ColRecoupUSD: true}
