package parquetfile

import (
	"fmt"
	"math/rand/v2"

	"github.com/bedrot-label/bedrot/sdk"
)

// distroKidSchema is the 15-column post-July-2025 DistroKid earnings layout:
// 3 dates, 7 strings, 1 int64 and 4 decimals.
var distroKidSchema = sdk.Schema{Fields: []sdk.Field{
	{Name: "date_inserted", Type: sdk.TypeDate},
	{Name: "reporting_date", Type: sdk.TypeDate},
	{Name: "sale_month", Type: sdk.TypeDate},
	{Name: "store", Type: sdk.TypeString},
	{Name: "artist", Type: sdk.TypeString},
	{Name: "title", Type: sdk.TypeString},
	{Name: "isrc", Type: sdk.TypeString},
	{Name: "upc", Type: sdk.TypeString, Nullable: true},
	{Name: "quantity", Type: sdk.TypeInt64},
	{Name: "team_percentage", Type: sdk.TypeDecimal, Precision: 5, Scale: 2},
	{Name: "source_type", Type: sdk.TypeString},
	{Name: "country_of_sale", Type: sdk.TypeString},
	{Name: "songwriter_royalties_withheld", Type: sdk.TypeDecimal, Precision: 18, Scale: 12},
	{Name: "earnings", Type: sdk.TypeDecimal, Precision: 18, Scale: 12},
	{Name: "recoup", Type: sdk.TypeDecimal, Precision: 18, Scale: 12, Nullable: true},
}}

// distroKidRow is the same layout as a Go struct for parquet-go's
// GenericWriter, the baseline the benchmark compares against. Its tags ask
// for the encodings SchemaFor picks, so both writers produce the same file.
type distroKidRow struct {
	DateInserted   int32  `parquet:"date_inserted,date,dict"`
	ReportingDate  int32  `parquet:"reporting_date,date,dict"`
	SaleMonth      int32  `parquet:"sale_month,date,dict"`
	Store          string `parquet:"store,dict"`
	Artist         string `parquet:"artist,dict"`
	Title          string `parquet:"title,dict"`
	ISRC           string `parquet:"isrc,dict"`
	UPC            string `parquet:"upc,dict,optional"`
	Quantity       int64  `parquet:"quantity,delta"`
	TeamPercentage int32  `parquet:"team_percentage,decimal(2:5),delta"`
	SourceType     string `parquet:"source_type,dict"`
	Country        string `parquet:"country_of_sale,dict"`
	Withheld       int64  `parquet:"songwriter_royalties_withheld,decimal(12:18),delta"`
	Earnings       int64  `parquet:"earnings,decimal(12:18),delta"`
	Recoup         int64  `parquet:"recoup,decimal(12:18),delta,optional"` // 0 is null
}

var (
	stores    = []string{"Spotify", "Apple Music", "iTunes", "YouTube (Red)", "YouTube (Ads)", "Amazon Unlimited", "Amazon Prime", "Deezer", "Tidal", "TikTok", "Instagram", "Facebook", "Pandora", "SoundCloud", "Napster", "Anghami", "Boomplay", "Tencent", "NetEase", "JioSaavn", "iHeartRadio", "Audiomack", "Qobuz", "Beatport", "Snapchat", "Peloton", "Triller", "Yandex", "VK Music", "Claro Música"}
	countries = func() []string {
		out := make([]string, 0, 200)
		for a := 'A'; a <= 'Z' && len(out) < 200; a++ {
			for b := 'A'; b <= 'Z' && len(out) < 200; b += 3 {
				out = append(out, string([]rune{a, b}))
			}
		}
		return out
	}()
)

// distroKidRows generates n deterministic rows with realistic cardinality:
// ~30 stores, 50 artists (some non-ASCII), 2,500 tracks (title/ISRC), 300 UPCs (some null),
// 200 countries, decimals with 12 decimals.
func distroKidRows(n int, seed uint64) []distroKidRow {
	r := rand.New(rand.NewPCG(seed, 42))
	// About one artist in five and one title in eight carry non-ASCII text,
	// as in a real catalogue; the rest is ASCII.
	artists := make([]string, 50)
	for i := range artists {
		artists[i] = fmt.Sprintf("Artist %d and the Bedrot Collective", i)
		if i%5 == 0 {
			artists[i] = fmt.Sprintf("Artista Nº%d — Bedrot Colectivo", i)
		}
	}
	rows := make([]distroKidRow, n)
	for i := range rows {
		track := r.IntN(2500)
		row := &rows[i]
		row.DateInserted = 20400 + int32(r.IntN(30))
		row.ReportingDate = 20400 + int32(r.IntN(30))
		row.SaleMonth = 20200 + int32(r.IntN(6))*30
		row.Store = stores[r.IntN(len(stores))]
		row.Artist = artists[track%50]
		row.Title = fmt.Sprintf("Song %d (feat. Someone & Friends)", track)
		if track%8 == 0 {
			row.Title = fmt.Sprintf("Canción %d (feat. Ümlaut & Friends)", track)
		}
		row.ISRC = fmt.Sprintf("QZ%02dA%07d", track%100, track)
		if track%10 != 0 {
			row.UPC = fmt.Sprintf("19%010d", track/8)
		}
		row.Quantity = int64(r.IntN(5000))
		row.TeamPercentage = 10000
		row.SourceType = "Song"
		if track%17 == 0 {
			row.SourceType = "Album"
		}
		row.Country = countries[r.IntN(len(countries))]
		row.Withheld = -int64(r.IntN(1_000_000_000))
		row.Earnings = int64(r.IntN(5_000_000_000_000)) - 1_000_000_000
		if i%3 == 0 {
			row.Recoup = 1 + int64(r.IntN(1_000_000_000_000))
		}
	}
	return rows
}

// batchesOf converts rows into record batches of batchRows rows each.
func batchesOf(rows []distroKidRow, batchRows int) []*sdk.RecordBatch {
	var out []*sdk.RecordBatch
	for lo := 0; lo < len(rows); lo += batchRows {
		hi := min(lo+batchRows, len(rows))
		bb := sdk.NewBatchBuilder("earnings", distroKidSchema)
		for i := lo; i < hi; i++ {
			r := &rows[i]
			bb.AppendInt32(0, r.DateInserted)
			bb.AppendInt32(1, r.ReportingDate)
			bb.AppendInt32(2, r.SaleMonth)
			bb.AppendString(3, []byte(r.Store))
			bb.AppendString(4, []byte(r.Artist))
			bb.AppendString(5, []byte(r.Title))
			bb.AppendString(6, []byte(r.ISRC))
			if r.UPC == "" {
				bb.AppendNull(7)
			} else {
				bb.AppendString(7, []byte(r.UPC))
			}
			bb.AppendInt64(8, r.Quantity)
			bb.AppendInt64(9, int64(r.TeamPercentage))
			bb.AppendString(10, []byte(r.SourceType))
			bb.AppendString(11, []byte(r.Country))
			bb.AppendInt64(12, r.Withheld)
			bb.AppendInt64(13, r.Earnings)
			if r.Recoup == 0 {
				bb.AppendNull(14)
			} else {
				bb.AppendInt64(14, r.Recoup)
			}
			bb.EndRow()
		}
		b := *bb.Batch()
		out = append(out, &b)
	}
	return out
}

// distroKidPlainRow is distroKidRow with parquet-go's default encodings
// (PLAIN for every non-string column): the "idiomatic" struct writer.
type distroKidPlainRow struct {
	DateInserted   int32  `parquet:"date_inserted,date"`
	ReportingDate  int32  `parquet:"reporting_date,date"`
	SaleMonth      int32  `parquet:"sale_month,date"`
	Store          string `parquet:"store,dict"`
	Artist         string `parquet:"artist,dict"`
	Title          string `parquet:"title,dict"`
	ISRC           string `parquet:"isrc,dict"`
	UPC            string `parquet:"upc,dict,optional"`
	Quantity       int64  `parquet:"quantity"`
	TeamPercentage int32  `parquet:"team_percentage,decimal(2:5)"`
	SourceType     string `parquet:"source_type,dict"`
	Country        string `parquet:"country_of_sale,dict"`
	Withheld       int64  `parquet:"songwriter_royalties_withheld,decimal(12:18)"`
	Earnings       int64  `parquet:"earnings,decimal(12:18)"`
	Recoup         int64  `parquet:"recoup,decimal(12:18),optional"` // 0 is null
}
