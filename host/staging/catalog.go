package staging

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/identity"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/sqlengine"
)

// Catalog dataset names (see the package documentation for their rules).
const (
	// CatalogDomain is the staging domain of the catalog datasets.
	CatalogDomain = "catalog"
	// CatalogTracksDataset holds one canonical track per ISRC.
	CatalogTracksDataset = "staging.catalog.tracks"
	// CatalogReleasesDataset holds one canonical release per UPC.
	CatalogReleasesDataset = "staging.catalog.releases"
	// CatalogLinksDataset maps every linked source item to its track or
	// release, with the method and confidence.
	CatalogLinksDataset = "staging.catalog.links"
	// CatalogUnmatchedDataset lists the items linked to nothing, with why.
	CatalogUnmatchedDataset = "staging.catalog.unmatched"
	// CatalogArtistsDataset lists the artists and accounts the sources
	// know: Spotify artists and TikTok accounts, with their latest names.
	CatalogArtistsDataset = "staging.catalog.artists"
	// CatalogSourcesDataset lists every raw dataset with its last ingest
	// and newest data date (what catalog_health's stale sources read).
	CatalogSourcesDataset = "staging.catalog.sources"

	// CatalogPartition is the one partition of the catalog datasets.
	CatalogPartition = "part=all"

	// CatalogVersion is the version of the catalog's rules. Changing the
	// inputs read, the columns or the way identity is called must change
	// it, so that the catalog is rebuilt.
	CatalogVersion = "catalog/1"

	// DefaultIdentityOverrides is the overrides file read when
	// Options.IdentityOverrides is empty (relative to the working folder).
	DefaultIdentityOverrides = "config/identity_overrides.yaml"

	// Raw datasets the catalog reads besides S4ASongTimelineInput,
	// TikTokVideosInput and TikTokUserInfoInput.
	SpotifyTracksInput  = "raw.spotify.tracks"
	SpotifyAlbumsInput  = "raw.spotify.albums"
	SpotifyArtistsInput = "raw.spotify.artists"
	S4ASongsInput       = "raw.spotify.s4a_songs"
)

// catalogInputs are the raw datasets identity reads.
var catalogInputs = []string{RoyaltiesInput, SpotifyTracksInput, SpotifyAlbumsInput, SpotifyArtistsInput,
	S4ASongsInput, S4ASongTimelineInput, TikTokVideosInput, TikTokUserInfoInput}

// catalogOutput is one dataset the catalog build writes: its name, file
// name, the DuckDB columns of its rows (read from JSON Lines) and the order
// of its rows.
type catalogOutput struct {
	name, file string
	columns    [][2]string
	order      string
}

var catalogOutputs = []catalogOutput{
	{CatalogTracksDataset, "tracks", [][2]string{
		{"isrc", "VARCHAR"}, {"title", "VARCHAR"}, {"artist", "VARCHAR"},
		{"titles", "VARCHAR[]"}, {"artists", "VARCHAR[]"}, {"upcs", "VARCHAR[]"},
		{"spotify_track_ids", "VARCHAR[]"}, {"s4a_songs", "VARCHAR[]"}, {"tiktok_video_ids", "VARCHAR[]"},
		{"distrokid_items", "INTEGER"}, {"links", "INTEGER"}, {"min_confidence", "DOUBLE"},
	}, "isrc"},
	{CatalogReleasesDataset, "releases", [][2]string{
		{"upc", "VARCHAR"}, {"title", "VARCHAR"}, {"artist", "VARCHAR"}, {"titles", "VARCHAR[]"},
		{"isrcs", "VARCHAR[]"}, {"isrc_count", "INTEGER"}, {"spotify_album_ids", "VARCHAR[]"}, {"links", "INTEGER"},
	}, "upc"},
	{CatalogLinksDataset, "links", [][2]string{
		{"source", "VARCHAR"}, {"key", "VARCHAR"}, {"artist", "VARCHAR"}, {"kind", "VARCHAR"}, {"title", "VARCHAR"},
		{"item_isrc", "VARCHAR"}, {"item_upc", "VARCHAR"},
		{"isrc", "VARCHAR"}, {"upc", "VARCHAR"}, {"method", "VARCHAR"}, {"confidence", "DOUBLE"}, {"detail", "VARCHAR"},
	}, "source, key, artist"},
	{CatalogUnmatchedDataset, "unmatched", [][2]string{
		{"source", "VARCHAR"}, {"key", "VARCHAR"}, {"artist", "VARCHAR"}, {"kind", "VARCHAR"}, {"title", "VARCHAR"},
		{"item_isrc", "VARCHAR"}, {"item_upc", "VARCHAR"},
		{"reason", "VARCHAR"}, {"detail", "VARCHAR"}, {"candidate_keys", "VARCHAR[]"}, {"candidates", "VARCHAR"},
	}, "source, key, artist"},
	{CatalogArtistsDataset, "artists", [][2]string{
		{"source", "VARCHAR"}, {"artist_id", "VARCHAR"}, {"name", "VARCHAR"}, {"name_key", "VARCHAR"},
		{"username", "VARCHAR"}, {"followers", "BIGINT"}, {"snapshot_at", "TIMESTAMPTZ"},
	}, "source, artist_id"},
	{CatalogSourcesDataset, "sources", [][2]string{
		{"dataset", "VARCHAR"}, {"files", "INTEGER"}, {"rows", "BIGINT"},
		{"first_ingested_at", "TIMESTAMPTZ"}, {"last_ingested_at", "TIMESTAMPTZ"},
		{"date_column", "VARCHAR"}, {"newest_data_date", "DATE"},
	}, "dataset"},
}

// dateColumns are the columns, best first, that say how recent a raw
// dataset's data is.
var dateColumns = []string{"snapshot_date", "date", "reporting_date", "sale_month", "snapshot_at"}

// itemInfo is what the catalog keeps of an item besides what identity
// returns.
type itemInfo struct {
	kind, title, isrc, upc string
}

// itemID identifies an item as identity's links and unmatched do.
func itemID(source identity.Source, key, artist string) string {
	return string(source) + "\x00" + key + "\x00" + artist
}

// buildCatalog brings the catalog datasets up to date: it is one unit (one
// fingerprint over every raw file, one transaction for the five datasets).
func (b *builder) buildCatalog(ctx context.Context) error {
	meta := b.deps.Meta
	names, err := meta.ListDatasets(ctx)
	if err != nil {
		return fmt.Errorf("failed to list the lake's datasets: %w", err)
	}
	var raws []namedFiles
	var all []metastore.File
	for _, n := range names {
		if !strings.HasPrefix(n, "raw.") {
			continue
		}
		files, err := meta.ListFiles(ctx, n)
		if err != nil && !errors.Is(err, metastore.ErrNotFound) {
			return fmt.Errorf("failed to list the files of %s: %w", n, err)
		}
		raws = append(raws, namedFiles{n, files})
		all = append(all, files...)
	}

	// Fingerprint: rules, overrides, every raw file (the sources dataset
	// reads them all).
	ovPath := cmp.Or(b.opts.IdentityOverrides, DefaultIdentityOverrides)
	ovData, err := os.ReadFile(ovPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("failed to read the identity overrides file %s: %w", ovPath, err)
	}
	var overrides identity.Overrides
	if len(ovData) > 0 {
		if overrides, err = identity.ParseOverrides(ovPath, ovData); err != nil {
			return err
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", CatalogVersion)
	ovSum := sha256.Sum256(ovData)
	fmt.Fprintf(h, "overrides %x\n", ovSum)
	var inputs []string
	for _, r := range raws {
		for _, f := range r.files {
			fmt.Fprintf(h, "%s %s %s %s\n", r.name, f.Key, strings.ToLower(f.Digest), f.AddedAt.UTC().Format("2006-01-02T15:04:05.000000Z"))
			inputs = append(inputs, f.Key)
		}
	}
	slices.Sort(inputs)
	fp := hex.EncodeToString(h.Sum(nil))

	states, err := meta.States(ctx, StateSource)
	if err != nil {
		return fmt.Errorf("failed to read the staging states: %w", err)
	}
	upToDate := true
	for _, o := range catalogOutputs {
		var ps partitionState
		st, ok := states[o.name+"/"+CatalogPartition]
		if ok {
			if err := json.Unmarshal(st.State, &ps); err != nil {
				return fmt.Errorf("the staging state %s/%s/%s is damaged (%v); delete that stream state to rebuild the catalog", StateSource, o.name, CatalogPartition, err)
			}
		}
		if !ok || ps.Fingerprint != fp {
			upToDate = false
		}
	}
	if upToDate {
		for _, o := range catalogOutputs {
			pr := PartitionResult{Dataset: o.name, Partition: CatalogPartition, Action: Skipped, Inputs: inputs, Fingerprint: fp}
			current, err := meta.ListFiles(ctx, o.name)
			if err != nil && !errors.Is(err, metastore.ErrNotFound) {
				return fmt.Errorf("failed to list the files of %s: %w", o.name, err)
			}
			for _, f := range current {
				if f.BatchID == CatalogPartition {
					pr.Key, pr.Rows, pr.Size, pr.Digest = f.Key, f.Rows, f.Size, f.Digest
				}
			}
			b.res.Skipped++
			b.res.Partitions = append(b.res.Partitions, pr)
		}
		return nil
	}

	dir, err := os.MkdirTemp(b.opts.TempDir, "bedrot-staging-")
	if err != nil {
		return fmt.Errorf("failed to create a staging work folder: %w", err)
	}
	defer os.RemoveAll(dir)
	w, err := b.engine.Workspace(ctx, all, dir)
	if err != nil {
		return err
	}
	defer w.Close()
	conn := w.Conn()
	paths := map[string][]string{}
	for _, r := range raws {
		for _, f := range r.files {
			paths[r.name] = append(paths[r.name], w.Path(f.Key))
		}
	}

	in, info, artistRows, err := readIdentityInputs(ctx, conn, paths)
	if err != nil {
		return err
	}
	res := identity.Resolve(in, overrides)
	for _, o := range res.UnusedOverrides {
		b.log.Warn("an identity override matched no item; check its key", "file", ovPath, "source", o.Source, "key", o.Key, "isrc", o.ISRC)
	}
	sources, err := readSources(ctx, conn, raws, paths)
	if err != nil {
		return err
	}

	rows := map[string][]map[string]any{
		CatalogTracksDataset:    trackRows(res),
		CatalogReleasesDataset:  releaseRows(res),
		CatalogLinksDataset:     linkRows(res, info),
		CatalogUnmatchedDataset: unmatchedRows(res, info),
		CatalogArtistsDataset:   artistRows,
		CatalogSourcesDataset:   sources,
	}

	var commit metastore.Commit
	commit.RunID, commit.Replace, commit.Fenced = b.res.RunID, true, true
	var written []metastore.File
	ok := false
	defer func() {
		if !ok {
			b.discard(context.WithoutCancel(ctx), written)
		}
	}()
	var parts []PartitionResult
	for _, o := range catalogOutputs {
		local, n, err := writeCatalogFile(ctx, conn, dir, o, rows[o.name])
		if err != nil {
			return err
		}
		key := fmt.Sprintf("staging/domain=%s/%s/%s-%s.parquet", CatalogDomain, CatalogPartition, o.file, b.res.RunID)
		f, err := b.upload(ctx, local, key)
		if err != nil {
			return err
		}
		f.Dataset, f.Rows, f.BatchID = o.name, n, CatalogPartition
		f.Meta, _ = json.Marshal(map[string]any{"inputs": inputs, "fingerprint": fp, "version": CatalogVersion, "overrides": ovPath})
		written = append(written, f)
		commit.Files = append(commit.Files, f)
		commit.Batches = append(commit.Batches, metastore.Batch{Dataset: o.name, ID: CatalogPartition, Rows: n})
		st, _ := json.Marshal(partitionState{Fingerprint: fp, Version: CatalogVersion, Inputs: inputs, Key: key, Rows: n})
		commit.States = append(commit.States, metastore.StreamState{Source: StateSource, Stream: o.name + "/" + CatalogPartition, State: st})
		parts = append(parts, PartitionResult{Dataset: o.name, Partition: CatalogPartition, Action: Rebuilt, Key: key, Rows: n,
			Size: f.Size, Digest: f.Digest, Inputs: inputs, Fingerprint: fp})
	}
	replaced, err := meta.Commit(ctx, commit)
	if err != nil {
		return fmt.Errorf("failed to commit the catalog: %w", err)
	}
	ok = true
	for _, f := range replaced {
		if err := b.deps.Store.Delete(ctx, f.Key); err != nil {
			b.log.Warn("failed to delete a replaced staging file", "key", f.Key, "error", err)
		}
	}
	for _, p := range parts {
		b.res.Rebuilt++
		b.res.Rows += p.Rows
		b.res.Files = append(b.res.Files, p.Key)
		b.res.Partitions = append(b.res.Partitions, p)
	}
	b.log.Info("staging catalog rebuilt", "tracks", len(res.Tracks), "releases", len(res.Releases), "unmatched", len(res.Unmatched))
	return nil
}

// namedFiles is a raw dataset and its files.
type namedFiles struct {
	name  string
	files []metastore.File
}

// readRows runs q and calls row for every row, scanning into dest.
func readRows(ctx context.Context, conn *sql.Conn, what, q string, row func(scan func(dest ...any) error) error) error {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return fmt.Errorf("failed to read %s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("failed to read %s: %w", what, err)
	}
	return nil
}

// ns is a nullable string column.
func ns(s sql.NullString) string { return s.String }

// readIdentityInputs reads the items to resolve from the raw files; info
// keeps what the catalog shows of each item.
func readIdentityInputs(ctx context.Context, conn *sql.Conn, paths map[string][]string) (identity.Inputs, map[string]itemInfo, []map[string]any, error) {
	var in identity.Inputs
	var artistRows []map[string]any
	info := map[string]itemInfo{}
	if p := paths[RoyaltiesInput]; len(p) > 0 {
		q := `SELECT DISTINCT coalesce(source_type, ''), nullif(trim(isrc), ''), nullif(trim(upc), ''), coalesce(artist, ''), coalesce(title, '')
			FROM ` + scanSQL(p) + ` ORDER BY ALL`
		if err := readRows(ctx, conn, RoyaltiesInput, q, func(scan func(...any) error) error {
			var typ, artist, title string
			var isrc, upc sql.NullString
			if err := scan(&typ, &isrc, &upc, &artist, &title); err != nil {
				return err
			}
			key := strings.Join([]string{typ, ns(isrc), ns(upc), artist, title}, "|")
			album := strings.EqualFold(typ, "album")
			in.DistroKid = append(in.DistroKid, identity.DistroKidRow{Key: key, ISRC: ns(isrc), UPC: ns(upc), Title: title, Artist: artist, Album: album})
			kind := "song"
			if album {
				kind = "album"
			}
			info[itemID(identity.SourceDistroKid, key, "")] = itemInfo{kind: kind, title: title, isrc: ns(isrc), upc: ns(upc)}
			return nil
		}); err != nil {
			return in, nil, nil, err
		}
	}

	artists := map[string]string{}
	if p := paths[SpotifyArtistsInput]; len(p) > 0 {
		q := `SELECT artist_id, name, followers, snapshot_at FROM ` + scanSQL(p) + `
			QUALIFY row_number() OVER (PARTITION BY artist_id ORDER BY snapshot_at DESC, name) = 1 ORDER BY artist_id`
		if err := readRows(ctx, conn, SpotifyArtistsInput, q, func(scan func(...any) error) error {
			var id, name string
			var followers sql.NullInt64
			var at time.Time
			if err := scan(&id, &name, &followers, &at); err != nil {
				return err
			}
			artists[id] = name
			artistRows = append(artistRows, map[string]any{"source": string(identity.SourceSpotify), "artist_id": id, "name": name,
				"name_key": identity.Normalize(name), "followers": nullInt(followers), "snapshot_at": at.UTC()})
			return nil
		}); err != nil {
			return in, nil, nil, err
		}
	}
	type album struct{ name, date string }
	albums := map[string]album{}
	if p := paths[SpotifyAlbumsInput]; len(p) > 0 {
		q := `SELECT album_id, name, CASE release_date_precision
				WHEN 'year' THEN strftime(release_date, '%Y') WHEN 'month' THEN strftime(release_date, '%Y-%m')
				ELSE strftime(release_date, '%Y-%m-%d') END
			FROM ` + scanSQL(p) + ` QUALIFY row_number() OVER (PARTITION BY album_id ORDER BY snapshot_at DESC, name) = 1`
		if err := readRows(ctx, conn, SpotifyAlbumsInput, q, func(scan func(...any) error) error {
			var id, name string
			var date sql.NullString
			if err := scan(&id, &name, &date); err != nil {
				return err
			}
			albums[id] = album{name, ns(date)}
			return nil
		}); err != nil {
			return in, nil, nil, err
		}
	}
	if p := paths[SpotifyTracksInput]; len(p) > 0 {
		q := `SELECT track_id, name, isrc, album_id, artist_ids FROM ` + scanSQL(p) + `
			QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY snapshot_at DESC, name) = 1 ORDER BY track_id`
		if err := readRows(ctx, conn, SpotifyTracksInput, q, func(scan func(...any) error) error {
			var id, name, albumID, artistIDs string
			var isrc sql.NullString
			if err := scan(&id, &name, &isrc, &albumID, &artistIDs); err != nil {
				return err
			}
			t := identity.SpotifyTrack{TrackID: id, ISRC: ns(isrc), Name: name, AlbumID: albumID,
				AlbumName: albums[albumID].name, AlbumReleaseDate: albums[albumID].date}
			for a := range strings.SplitSeq(artistIDs, ",") {
				if n := artists[strings.TrimSpace(a)]; n != "" {
					t.Artists = append(t.Artists, n)
				}
			}
			in.Spotify = append(in.Spotify, t)
			info[itemID(identity.SourceSpotify, id, "")] = itemInfo{kind: "track", title: name, isrc: ns(isrc)}
			return nil
		}); err != nil {
			return in, nil, nil, err
		}
	}
	addS4A := func(title, artist, date string) {
		in.S4A = append(in.S4A, identity.S4ASong{Title: title, Artist: artist, ReleaseDate: date})
		info[itemID(identity.SourceS4A, title, artist)] = itemInfo{kind: "song", title: title}
	}
	if p := paths[S4ASongsInput]; len(p) > 0 {
		q := `SELECT DISTINCT song, coalesce(artist, ''), coalesce(strftime(release_date, '%Y-%m-%d'), '') FROM ` + scanSQL(p) + ` ORDER BY ALL`
		if err := readRows(ctx, conn, S4ASongsInput, q, func(scan func(...any) error) error {
			var song, artist, date string
			if err := scan(&song, &artist, &date); err != nil {
				return err
			}
			addS4A(song, artist, date)
			return nil
		}); err != nil {
			return in, nil, nil, err
		}
	}
	if p := paths[S4ASongTimelineInput]; len(p) > 0 {
		q := `SELECT DISTINCT song FROM ` + scanSQL(p) + ` ORDER BY ALL`
		if err := readRows(ctx, conn, S4ASongTimelineInput, q, func(scan func(...any) error) error {
			var song string
			if err := scan(&song); err != nil {
				return err
			}
			addS4A(song, "", "")
			return nil
		}); err != nil {
			return in, nil, nil, err
		}
	}
	accounts := map[string]string{}
	if p := paths[TikTokUserInfoInput]; len(p) > 0 {
		q := `SELECT open_id, display_name, username, follower_count, snapshot_at FROM ` + scanSQL(p) + `
			QUALIFY row_number() OVER (PARTITION BY open_id ORDER BY snapshot_at DESC, filename DESC) = 1 ORDER BY open_id`
		if err := readRows(ctx, conn, TikTokUserInfoInput, q, func(scan func(...any) error) error {
			var id string
			var name, user sql.NullString
			var followers sql.NullInt64
			var at time.Time
			if err := scan(&id, &name, &user, &followers, &at); err != nil {
				return err
			}
			accounts[id] = ns(name)
			artistRows = append(artistRows, map[string]any{"source": string(identity.SourceTikTok), "artist_id": id, "name": nullable(ns(name)),
				"name_key": nullable(identity.Normalize(ns(name))), "username": nullable(ns(user)), "followers": nullInt(followers), "snapshot_at": at.UTC()})
			return nil
		}); err != nil {
			return in, nil, nil, err
		}
	}
	if p := paths[TikTokVideosInput]; len(p) > 0 {
		q := `SELECT video_id, open_id, title, video_description FROM ` + scanSQL(p) + `
			QUALIFY row_number() OVER (PARTITION BY video_id ORDER BY snapshot_at DESC, filename DESC) = 1 ORDER BY video_id`
		if err := readRows(ctx, conn, TikTokVideosInput, q, func(scan func(...any) error) error {
			var id string
			var open, title, desc sql.NullString
			if err := scan(&id, &open, &title, &desc); err != nil {
				return err
			}
			in.TikTok = append(in.TikTok, identity.TikTokVideo{VideoID: id, Title: ns(title), Description: ns(desc), Artist: accounts[ns(open)]})
			info[itemID(identity.SourceTikTok, id, "")] = itemInfo{kind: "video", title: strings.TrimSpace(cmp.Or(ns(title), ns(desc)))}
			return nil
		}); err != nil {
			return in, nil, nil, err
		}
	}
	return in, info, artistRows, nil
}

// readSources describes every raw dataset: its files, rows, ingest times
// and the newest value of its best date column.
func readSources(ctx context.Context, conn *sql.Conn, raws []namedFiles, paths map[string][]string) ([]map[string]any, error) {
	var out []map[string]any
	for _, r := range raws {
		if len(r.files) == 0 {
			continue
		}
		row := map[string]any{"dataset": r.name, "files": len(r.files)}
		var n int64
		first, last := r.files[0].AddedAt, r.files[0].AddedAt
		for _, f := range r.files {
			n += f.Rows
			if f.AddedAt.Before(first) {
				first = f.AddedAt
			}
			if f.AddedAt.After(last) {
				last = f.AddedAt
			}
		}
		row["rows"], row["first_ingested_at"], row["last_ingested_at"] = n, first.UTC(), last.UTC()
		cols := map[string]bool{}
		if err := readRows(ctx, conn, r.name+" columns", `SELECT column_name FROM (DESCRIBE SELECT * FROM `+scanSQL(paths[r.name])+`)`, func(scan func(...any) error) error {
			var c string
			if err := scan(&c); err != nil {
				return err
			}
			cols[c] = true
			return nil
		}); err != nil {
			return nil, err
		}
		for _, c := range dateColumns {
			if !cols[c] {
				continue
			}
			var d sql.NullString
			expr := `CAST(max("` + c + `") AS DATE)`
			if c == "snapshot_at" {
				expr = `CAST(` + utcDate(`max("`+c+`")`) + ` AS DATE)`
			}
			if err := conn.QueryRowContext(ctx, `SELECT CAST(`+expr+` AS VARCHAR) FROM `+scanSQL(paths[r.name])).Scan(&d); err != nil {
				return nil, fmt.Errorf("failed to read the newest %s of %s: %w", c, r.name, err)
			}
			row["date_column"] = c
			if d.Valid {
				row["newest_data_date"] = d.String
			}
			break
		}
		out = append(out, row)
	}
	return out, nil
}

// orEmpty makes a nil slice an empty list (JSON []).
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nullInt(n sql.NullInt64) any {
	if !n.Valid {
		return nil
	}
	return n.Int64
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func trackRows(res identity.Result) []map[string]any {
	var out []map[string]any
	for _, t := range res.Tracks {
		minConf := 1.0
		dk := 0
		for _, l := range t.Links {
			minConf = min(minConf, l.Confidence)
			if l.Source == identity.SourceDistroKid {
				dk++
			}
		}
		var s4a []string
		for _, l := range t.Links {
			if l.Source == identity.SourceS4A {
				s4a = append(s4a, l.Key)
			}
		}
		slices.Sort(s4a)
		out = append(out, map[string]any{
			"isrc": t.ISRC, "title": t.Title, "artist": t.Artist,
			"titles": orEmpty(t.Titles), "artists": orEmpty(t.Artists), "upcs": orEmpty(t.UPCs),
			"spotify_track_ids": orEmpty(t.Keys(identity.SourceSpotify)), "s4a_songs": orEmpty(slices.Compact(s4a)),
			"tiktok_video_ids": orEmpty(t.Keys(identity.SourceTikTok)),
			"distrokid_items":  dk, "links": len(t.Links), "min_confidence": minConf,
		})
	}
	return out
}

func releaseRows(res identity.Result) []map[string]any {
	var out []map[string]any
	for _, r := range res.Releases {
		out = append(out, map[string]any{
			"upc": r.UPC, "title": r.Title, "artist": r.Artist, "titles": orEmpty(r.Titles),
			"isrcs": orEmpty(r.ISRCs), "isrc_count": len(r.ISRCs), "spotify_album_ids": orEmpty(r.SpotifyAlbumIDs), "links": len(r.Links),
		})
	}
	return out
}

func linkRows(res identity.Result, info map[string]itemInfo) []map[string]any {
	var out []map[string]any
	for _, l := range res.Links() {
		it := info[itemID(l.Source, l.Key, l.Artist)]
		out = append(out, map[string]any{
			"source": string(l.Source), "key": l.Key, "artist": l.Artist, "kind": it.kind, "title": it.title,
			"item_isrc": nullable(it.isrc), "item_upc": nullable(it.upc),
			"isrc": nullable(l.ISRC), "upc": nullable(l.UPC), "method": string(l.Method), "confidence": l.Confidence, "detail": l.Detail,
		})
	}
	return out
}

func unmatchedRows(res identity.Result, info map[string]itemInfo) []map[string]any {
	var out []map[string]any
	for _, u := range res.Unmatched {
		it := info[itemID(u.Source, u.Key, u.Artist)]
		keys := []string{}
		for _, c := range u.Candidates {
			keys = append(keys, c.Key)
		}
		cands, _ := json.Marshal(u.Candidates)
		if len(u.Candidates) == 0 {
			cands = []byte("[]")
		}
		out = append(out, map[string]any{
			"source": string(u.Source), "key": u.Key, "artist": u.Artist, "kind": it.kind, "title": u.Title,
			"item_isrc": nullable(it.isrc), "item_upc": nullable(it.upc),
			"reason": string(u.Reason), "detail": u.Detail, "candidate_keys": keys, "candidates": string(cands),
		})
	}
	return out
}

// writeCatalogFile writes rows as one Parquet file of o's columns, in o's
// order, and returns its path and row count.
func writeCatalogFile(ctx context.Context, conn *sql.Conn, dir string, o catalogOutput, rows []map[string]any) (string, int64, error) {
	src := filepath.Join(dir, o.file+".jsonl")
	fh, err := os.Create(src)
	if err != nil {
		return "", 0, fmt.Errorf("failed to write %s: %w", o.name, err)
	}
	bw := bufio.NewWriter(fh)
	enc := json.NewEncoder(bw)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			fh.Close()
			return "", 0, fmt.Errorf("failed to write %s: %w", o.name, err)
		}
	}
	if err := errors.Join(bw.Flush(), fh.Close()); err != nil {
		return "", 0, fmt.Errorf("failed to write %s: %w", o.name, err)
	}
	var cols, names []string
	for _, c := range o.columns {
		cols = append(cols, sqlengine.QuoteString(c[0])+": "+sqlengine.QuoteString(c[1]))
		names = append(names, `"`+c[0]+`"`)
	}
	local := filepath.Join(dir, o.file+".parquet")
	q := `COPY (SELECT ` + strings.Join(names, ", ") + ` FROM read_json(` + sqlengine.QuoteString(src) + `, format = 'newline_delimited',
		columns = {` + strings.Join(cols, ", ") + `}) ORDER BY ` + o.order + `) TO ` + sqlengine.QuoteString(local) + ` (FORMAT parquet, COMPRESSION zstd)`
	if len(rows) == 0 {
		var casts []string
		for _, c := range o.columns {
			casts = append(casts, `CAST(NULL AS `+c[1]+`) AS "`+c[0]+`"`)
		}
		q = `COPY (SELECT ` + strings.Join(casts, ", ") + ` WHERE false) TO ` + sqlengine.QuoteString(local) + ` (FORMAT parquet, COMPRESSION zstd)`
	}
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return "", 0, fmt.Errorf("failed to build %s: %w", o.name, err)
	}
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet("+sqlengine.QuoteString(local)+")").Scan(&n); err != nil {
		return "", 0, fmt.Errorf("failed to read back %s: %w", o.name, err)
	}
	return local, n, nil
}
