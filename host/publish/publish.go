// Package publish loads lake datasets into PostgreSQL for BI tools: each
// table is copied into a fresh load table (COPY, streamed from the
// dataset's Parquet files), then every table of a publication is swapped in
// within one transaction, together with its primary and foreign keys and a
// stable v_<name> view, so that readers never see a half-loaded or
// half-swapped schema. A read-only role for BI tools is granted the views.
package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
)

// DefaultSchema is the PostgreSQL schema BI tools read.
const DefaultSchema = "analytics"

// DefaultReaderRole is the read-only role granted the views.
const DefaultReaderRole = "bedrot_bi"

// ForeignKey declares that Columns reference RefTable(RefColumns).
type ForeignKey struct {
	Columns    []string
	RefTable   string
	RefColumns []string
}

// Table is one dataset to publish.
type Table struct {
	// Name is the table's name in the schema, e.g. fact_royalties_monthly.
	Name string
	// Dataset is the lake dataset whose manifest files hold the rows.
	Dataset     string
	PrimaryKey  []string
	ForeignKeys []ForeignKey
	// View is the stable view's name (default v_<Name without fact_/dim_>).
	View string
	// Files, when set, are the files to load instead of Dataset's manifest
	// (a mart's newest version, say).
	Files []metastore.File
}

// Options configure a publication.
type Options struct {
	// URL of the PostgreSQL database.
	URL string
	// Schema (default analytics) and ReaderRole (default bedrot_bi).
	Schema, ReaderRole string
	// DateDimension, when set, names date columns (table.column) whose
	// range dim_date covers; dim_date is created when it is not empty.
	DateDimension []string
}

// TableResult says what was loaded.
type TableResult struct {
	Name, View string
	Rows       int64
	Files      int
	// Skipped lists foreign keys left out because some rows reference
	// nothing (they would make the swap fail).
	Skipped []string
}

// Publish loads tables into the schema and swaps them in atomically.
func Publish(ctx context.Context, st storage.Store, meta metastore.Store, tables []Table, opts Options) ([]TableResult, error) {
	if opts.Schema == "" {
		opts.Schema = DefaultSchema
	}
	if opts.ReaderRole == "" {
		opts.ReaderRole = DefaultReaderRole
	}
	conn, err := pgx.Connect(ctx, opts.URL)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to PostgreSQL for publishing: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	schema := pgx.Identifier{opts.Schema}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
		return nil, fmt.Errorf("failed to create schema %s: %w", opts.Schema, err)
	}
	suffix := fmt.Sprintf("__load_%d", time.Now().UnixNano())
	var results []TableResult
	loaded := []string{}
	defer func() {
		// Load tables left by a failure are dropped; after a swap none remain.
		for _, name := range loaded {
			_, _ = conn.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+pgx.Identifier{opts.Schema, name}.Sanitize())
		}
	}()
	for _, t := range tables {
		load := t.Name + suffix
		loaded = append(loaded, load)
		res, err := loadTable(ctx, conn, st, meta, opts.Schema, load, t)
		if err != nil {
			return nil, fmt.Errorf("failed to load %s into %s.%s: %w", t.Dataset, opts.Schema, t.Name, err)
		}
		results = append(results, res)
	}
	skipped, err := swap(ctx, conn, opts, tables, suffix)
	if err != nil {
		return nil, err
	}
	for i := range results {
		results[i].Skipped = skipped[results[i].Name]
	}
	loaded = nil
	return results, nil
}

// pgType maps an SDK field to a PostgreSQL column type.
func pgType(f sdk.Field) string {
	switch f.Type {
	case sdk.TypeString:
		return "text"
	case sdk.TypeInt64:
		return "bigint"
	case sdk.TypeFloat64:
		return "double precision"
	case sdk.TypeBool:
		return "boolean"
	case sdk.TypeDate:
		return "date"
	case sdk.TypeTimestamp:
		return "timestamptz"
	case sdk.TypeDecimal:
		return fmt.Sprintf("numeric(%d,%d)", f.Precision, f.Scale)
	}
	return "text"
}

func loadTable(ctx context.Context, conn *pgx.Conn, st storage.Store, meta metastore.Store, schema, load string, t Table) (TableResult, error) {
	res := TableResult{Name: t.Name, View: viewName(t)}
	files := t.Files
	if files == nil {
		var err error
		files, err = meta.ListFiles(ctx, t.Dataset)
		if err != nil && !errors.Is(err, metastore.ErrNotFound) {
			return res, err
		}
	}
	if len(files) == 0 {
		return res, fmt.Errorf("dataset %s has no files", t.Dataset)
	}
	var sch sdk.Schema
	for i, f := range files {
		obj, err := st.Open(ctx, f.Key)
		if err != nil {
			return res, err
		}
		r, err := parquetfile.NewReader(obj, obj.Size(), parquetfile.ReadOptions{})
		if err != nil {
			obj.Close()
			return res, fmt.Errorf("%s: %w", f.Key, err)
		}
		if i == 0 {
			sch = r.Schema()
			cols := make([]string, len(sch.Fields))
			for j, fl := range sch.Fields {
				cols[j] = pgx.Identifier{fl.Name}.Sanitize() + " " + pgType(fl)
				if !fl.Nullable {
					cols[j] += " NOT NULL"
				}
			}
			if _, err := conn.Exec(ctx, `CREATE TABLE `+pgx.Identifier{schema, load}.Sanitize()+` (`+strings.Join(cols, ", ")+`)`); err != nil {
				r.Close()
				obj.Close()
				return res, err
			}
		} else if !sameFields(sch, r.Schema()) {
			r.Close()
			obj.Close()
			return res, fmt.Errorf("%s has another schema than %s", f.Key, files[0].Key)
		}
		names := make([]string, len(sch.Fields))
		for j, fl := range sch.Fields {
			names[j] = fl.Name
		}
		n, err := conn.CopyFrom(ctx, pgx.Identifier{schema, load}, names, &batchSource{r: r, schema: sch})
		r.Close()
		obj.Close()
		if err != nil {
			return res, fmt.Errorf("%s: %w", f.Key, err)
		}
		res.Rows += n
		res.Files++
	}
	return res, nil
}

func sameFields(a, b sdk.Schema) bool {
	if len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name || pgType(a.Fields[i]) != pgType(b.Fields[i]) {
			return false
		}
	}
	return true
}

func viewName(t Table) string {
	if t.View != "" {
		return t.View
	}
	name := strings.TrimPrefix(strings.TrimPrefix(t.Name, "fact_"), "dim_")
	return "v_" + name
}

// swap replaces every published table by its load table, with keys, views
// and grants, in one transaction.
func swap(ctx context.Context, conn *pgx.Conn, opts Options, tables []Table, suffix string) (skipped map[string][]string, err error) {
	skipped = map[string][]string{}
	err = swapTx(ctx, conn, opts, tables, suffix, skipped)
	return skipped, err
}

func swapTx(ctx context.Context, conn *pgx.Conn, opts Options, tables []Table, suffix string, skipped map[string][]string) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	id := func(name string) string { return pgx.Identifier{opts.Schema, name}.Sanitize() }
	cols := func(cs []string) string {
		q := make([]string, len(cs))
		for i, c := range cs {
			q[i] = pgx.Identifier{c}.Sanitize()
		}
		return strings.Join(q, ", ")
	}
	// Serialise publications of this schema.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "bedrot-publish:"+opts.Schema); err != nil {
		return err
	}
	// Readers lock a view before its table; take the views first too, or a
	// reader holding a view while waiting for its table deadlocks with us.
	views := []string{}
	for _, t := range tables {
		views = append(views, viewName(t))
	}
	if len(opts.DateDimension) > 0 {
		views = append(views, "v_date")
	}
	for _, v := range views {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, id(v)).Scan(&exists); err != nil {
			return err
		}
		if exists {
			if _, err := tx.Exec(ctx, `LOCK TABLE `+id(v)+` IN ACCESS EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
	}
	// Old tables are renamed aside, not dropped, until every view points at
	// its new table: a reader waiting on a view's lock then reads the new
	// definition instead of failing on a dropped relation.
	var old []string
	for _, t := range tables {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, id(t.Name)).Scan(&exists); err != nil {
			return err
		}
		if exists {
			aside := t.Name + suffix + "_old"
			if _, err := tx.Exec(ctx, `ALTER TABLE `+id(t.Name)+` RENAME TO `+pgx.Identifier{aside}.Sanitize()); err != nil {
				return fmt.Errorf("failed to replace %s: %w", t.Name, err)
			}
			old = append(old, aside)
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+id(t.Name+suffix)+` RENAME TO `+pgx.Identifier{t.Name}.Sanitize()); err != nil {
			return err
		}
		if len(t.PrimaryKey) > 0 {
			// A key with nullable columns (a track without ISRC) cannot be a
			// PRIMARY KEY in PostgreSQL: it becomes a unique key on which two
			// NULLs are equal.
			var nullable bool
			if err := tx.QueryRow(ctx, `SELECT bool_or(is_nullable = 'YES') FROM information_schema.columns
				WHERE table_schema = $1 AND table_name = $2 AND column_name = ANY($3)`, opts.Schema, t.Name, t.PrimaryKey).Scan(&nullable); err != nil {
				return err
			}
			if nullable {
				// Columns declared nullable that hold no NULL can still carry
				// a real primary key.
				conds := make([]string, len(t.PrimaryKey))
				for i, c := range t.PrimaryKey {
					conds[i] = pgx.Identifier{c}.Sanitize() + " IS NULL"
				}
				var anyNull bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+id(t.Name)+` WHERE `+strings.Join(conds, " OR ")+`)`).Scan(&anyNull); err != nil {
					return err
				}
				if !anyNull {
					for _, c := range t.PrimaryKey {
						if _, err := tx.Exec(ctx, `ALTER TABLE `+id(t.Name)+` ALTER COLUMN `+pgx.Identifier{c}.Sanitize()+` SET NOT NULL`); err != nil {
							return err
						}
					}
					nullable = false
				}
			}
			q := `ALTER TABLE ` + id(t.Name) + ` ADD PRIMARY KEY (` + cols(t.PrimaryKey) + `)`
			if nullable {
				q = `ALTER TABLE ` + id(t.Name) + ` ADD UNIQUE NULLS NOT DISTINCT (` + cols(t.PrimaryKey) + `)`
			}
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("primary key of %s (%s): %w", t.Name, strings.Join(t.PrimaryKey, ", "), err)
			}
		}
	}
	if len(opts.DateDimension) > 0 {
		var parts []string
		for _, dc := range opts.DateDimension {
			table, col, _ := strings.Cut(dc, ".")
			parts = append(parts, fmt.Sprintf(`SELECT min(%[1]s) AS lo, max(%[1]s) AS hi FROM %[2]s`, pgx.Identifier{col}.Sanitize(), id(table)))
		}
		q := `CREATE TABLE ` + id("dim_date") + ` AS
			SELECT d::date AS date, extract(year FROM d)::int AS year, extract(quarter FROM d)::int AS quarter,
				extract(month FROM d)::int AS month, to_char(d, 'YYYY-MM') AS year_month, extract(isodow FROM d)::int AS weekday
			FROM (SELECT min(lo) AS lo, max(hi) AS hi FROM (` + strings.Join(parts, " UNION ALL ") + `) r) b,
				generate_series(b.lo, b.hi, interval '1 day') AS d`
		if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS `+id("dim_date__next")); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, strings.Replace(q, id("dim_date"), id("dim_date__next"), 1)); err != nil {
			return fmt.Errorf("failed to build dim_date: %w", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, id("dim_date")).Scan(&exists); err != nil {
			return err
		}
		if exists {
			if _, err := tx.Exec(ctx, `ALTER TABLE `+id("dim_date")+` RENAME TO `+pgx.Identifier{"dim_date" + suffix + "_old"}.Sanitize()); err != nil {
				return err
			}
			old = append(old, "dim_date"+suffix+"_old")
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+id("dim_date__next")+` RENAME TO dim_date`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `ALTER TABLE `+id("dim_date")+` ADD PRIMARY KEY (date)`); err != nil {
			return err
		}
		if err := replaceView(ctx, tx, id("v_date"), id("dim_date")); err != nil {
			return err
		}
	}
	for _, t := range tables {
		for _, fk := range t.ForeignKeys {
			// Rows that reference nothing would fail the whole swap: the
			// key is then left out and reported.
			conds := make([]string, len(fk.Columns))
			notNull := make([]string, len(fk.Columns))
			for i := range fk.Columns {
				conds[i] = "r." + pgx.Identifier{fk.RefColumns[i]}.Sanitize() + " = f." + pgx.Identifier{fk.Columns[i]}.Sanitize()
				notNull[i] = "f." + pgx.Identifier{fk.Columns[i]}.Sanitize() + " IS NOT NULL"
			}
			var orphans int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+id(t.Name)+` f WHERE `+strings.Join(notNull, " AND ")+
				` AND NOT EXISTS (SELECT 1 FROM `+id(fk.RefTable)+` r WHERE `+strings.Join(conds, " AND ")+`)`).Scan(&orphans); err != nil {
				return fmt.Errorf("foreign key %s(%s) -> %s: %w", t.Name, strings.Join(fk.Columns, ", "), fk.RefTable, err)
			}
			if orphans > 0 {
				skipped[t.Name] = append(skipped[t.Name], fmt.Sprintf("%s(%s) -> %s: %d row(s) reference nothing", t.Name, strings.Join(fk.Columns, ", "), fk.RefTable, orphans))
				continue
			}
			if _, err := tx.Exec(ctx, `ALTER TABLE `+id(t.Name)+` ADD FOREIGN KEY (`+cols(fk.Columns)+`) REFERENCES `+id(fk.RefTable)+` (`+cols(fk.RefColumns)+`)`); err != nil {
				return fmt.Errorf("foreign key %s(%s) -> %s: %w", t.Name, strings.Join(fk.Columns, ", "), fk.RefTable, err)
			}
		}
		if err := replaceView(ctx, tx, id(viewName(t)), id(t.Name)); err != nil {
			return err
		}
	}
	for _, o := range old {
		if _, err := tx.Exec(ctx, `DROP TABLE `+id(o)+` CASCADE`); err != nil {
			return err
		}
	}
	role := pgx.Identifier{opts.ReaderRole}.Sanitize()
	if _, err := tx.Exec(ctx, `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = `+quoteLiteral(opts.ReaderRole)+`) THEN CREATE ROLE `+role+` NOLOGIN; END IF; END $$`); err != nil {
		return fmt.Errorf("failed to create role %s: %w", opts.ReaderRole, err)
	}
	if _, err := tx.Exec(ctx, `GRANT USAGE ON SCHEMA `+pgx.Identifier{opts.Schema}.Sanitize()+` TO `+role); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `GRANT SELECT ON ALL TABLES IN SCHEMA `+pgx.Identifier{opts.Schema}.Sanitize()+` TO `+role); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// replaceView points a view at a table: in place when the columns allow
// (the view keeps its identity, so waiting readers read the new table),
// else dropped and created.
func replaceView(ctx context.Context, tx pgx.Tx, view, table string) error {
	if _, err := tx.Exec(ctx, `SAVEPOINT replace_view`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE OR REPLACE VIEW `+view+` AS SELECT * FROM `+table); err == nil {
		_, err := tx.Exec(ctx, `RELEASE SAVEPOINT replace_view`)
		return err
	}
	if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT replace_view`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DROP VIEW IF EXISTS `+view); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `CREATE VIEW `+view+` AS SELECT * FROM `+table)
	return err
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// batchSource streams a Parquet reader's rows into COPY.
type batchSource struct {
	r      *parquetfile.Reader
	schema sdk.Schema
	b      *sdk.RecordBatch
	i      int
	row    []any
	err    error
}

func (s *batchSource) Next() bool {
	for s.b == nil || s.i+1 >= s.b.NumRows {
		b, err := s.r.Next()
		if errors.Is(err, io.EOF) {
			return false
		}
		if err != nil {
			s.err = err
			return false
		}
		s.b, s.i = b, -1
		if b.NumRows > 0 {
			break
		}
	}
	s.i++
	return true
}

func (s *batchSource) Values() ([]any, error) {
	if s.row == nil {
		s.row = make([]any, len(s.schema.Fields))
	}
	for c, f := range s.schema.Fields {
		col := &s.b.Columns[c]
		if col.IsNull(s.i) {
			s.row[c] = nil
			continue
		}
		switch f.Type {
		case sdk.TypeString:
			s.row[c] = col.String(s.i)
		case sdk.TypeInt64:
			s.row[c] = col.Int64s[s.i]
		case sdk.TypeFloat64:
			s.row[c] = col.Float64s[s.i]
		case sdk.TypeBool:
			s.row[c] = col.Bools[s.i]
		case sdk.TypeDate:
			s.row[c] = pgtype.Date{Time: time.Unix(int64(col.Int32s[s.i])*86400, 0).UTC(), Valid: true}
		case sdk.TypeTimestamp:
			s.row[c] = time.UnixMicro(col.Int64s[s.i]).UTC()
		case sdk.TypeDecimal:
			s.row[c] = pgtype.Numeric{Int: big.NewInt(col.Int64s[s.i]), Exp: -f.Scale, Valid: true}
		}
	}
	return s.row, nil
}

func (s *batchSource) Err() error { return s.err }
