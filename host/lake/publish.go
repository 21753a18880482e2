package lake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bedrot-label/bedrot/host/marts"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/publish"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/sdk"
)

// ErrNoAnalytics is returned by Publish when no PostgreSQL database is
// configured to publish to.
var ErrNoAnalytics = errors.New("publish needs PostgreSQL: set curated.analytics_url (BEDROT_CURATED_ANALYTICS_URL) or database.url")

// Publish loads the newest version of every mart of curated.marts_dir into
// the analytics schema: dimensions (marts named dim_*) as they are, the
// others as fact_<mart> tables referencing dim_date (through their
// sale_month or date column) and dim_track (through isrc), each with a
// stable v_<name> view. A mart not built yet is an error.
func (l *Lake) Publish(ctx context.Context) ([]publish.TableResult, error) {
	url := l.Config.PublishURL()
	if url == "" {
		return nil, ErrNoAnalytics
	}
	defs, err := marts.LoadDir(l.Config.Curated.MartsDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMarts, err)
	}
	eng, err := sqlengine.New(sqlengine.Options{Store: l.Store, Meta: l.Meta})
	if err != nil {
		return nil, err
	}
	datasets, err := eng.Datasets(ctx)
	if err != nil {
		return nil, err
	}
	var tables []publish.Table
	var dates []string
	hasColumn := map[string]map[string]bool{}
	// Dimensions first: the facts reference them.
	slices.SortStableFunc(defs, func(a, b marts.Mart) int {
		return cmp.Compare(boolInt(!strings.HasPrefix(a.Name, "dim_")), boolInt(!strings.HasPrefix(b.Name, "dim_")))
	})
	for _, m := range defs {
		name := "fact_" + m.Name
		view := "v_" + m.Name
		if strings.HasPrefix(m.Name, "dim_") {
			name, view = m.Name, "v_"+strings.TrimPrefix(m.Name, "dim_")
		}
		var files []metastore.File
		for _, d := range datasets {
			if d.Name == m.Current() {
				files = d.Files
			}
		}
		if files == nil {
			return nil, fmt.Errorf("mart %s has not been built: run `bedrot build` first", m.Name)
		}
		t := publish.Table{Name: name, Dataset: m.Current(), Files: files, PrimaryKey: m.PrimaryKey, View: view}
		schema, err := l.fileSchema(ctx, files[0].Key)
		if err != nil {
			return nil, err
		}
		hasColumn[name] = map[string]bool{}
		for _, f := range schema.Fields {
			hasColumn[name][f.Name] = true
		}
		if !strings.HasPrefix(name, "dim_") {
			// Its date column (sale_month or date) spans dim_date and
			// references it; its isrc references dim_track.
			for _, f := range schema.Fields {
				if f.Type == sdk.TypeDate && (f.Name == "sale_month" || f.Name == "date") {
					dates = append(dates, name+"."+f.Name)
					t.ForeignKeys = append(t.ForeignKeys, publish.ForeignKey{Columns: []string{f.Name}, RefTable: "dim_date", RefColumns: []string{"date"}})
					break
				}
			}
			if hasColumn[name]["isrc"] && hasColumn["dim_track"] != nil {
				t.ForeignKeys = append(t.ForeignKeys, publish.ForeignKey{Columns: []string{"isrc"}, RefTable: "dim_track", RefColumns: []string{"isrc"}})
			}
		}
		tables = append(tables, t)
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("%w: no marts in %s", ErrMarts, l.Config.Curated.MartsDir)
	}
	return publish.Publish(ctx, l.Store, l.Meta, tables, publish.Options{URL: url, Schema: l.Config.Curated.AnalyticsSchema,
		DateDimension: dates})
}

// fileSchema reads a lake Parquet file's schema.
func (l *Lake) fileSchema(ctx context.Context, key string) (sdk.Schema, error) {
	obj, err := l.Store.Open(ctx, key)
	if err != nil {
		return sdk.Schema{}, err
	}
	defer obj.Close()
	r, err := parquetfile.NewReader(obj, obj.Size(), parquetfile.ReadOptions{})
	if err != nil {
		return sdk.Schema{}, fmt.Errorf("%s: %w", key, err)
	}
	defer r.Close()
	return r.Schema(), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
