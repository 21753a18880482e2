package agents

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"path"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/knowledge"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
)

// lakeServer is the lake as an agent reaches it (sdk.LakeServer): the
// host's object store, metastore, query engine and knowledge base, never
// their credentials. Access control wraps it (host/access).
type lakeServer struct {
	store     storage.Store
	meta      metastore.Store
	engine    *sqlengine.Engine
	knowledge *knowledge.Base
	// contributed counts knowledge entries added, per session.
	onKnowledge func(sdk.LakeCaller, knowledge.Entry)
}

// NewLakeServer is the lake service agents (and MCP clients) reach: the
// object store, metastore, read-only query engine and knowledge base,
// without access control — wrap it with host/access's GuardedLake.
func NewLakeServer(store storage.Store, meta metastore.Store, engine *sqlengine.Engine, kb *knowledge.Base) sdk.LakeServer {
	return &lakeServer{store: store, meta: meta, engine: engine, knowledge: kb}
}

// batchRows is how many rows a result batch holds.
const batchRows = 4096

// zoneOf is a dataset's zone: the first segment of its name.
func zoneOf(dataset string) string {
	z, _, _ := strings.Cut(dataset, ".")
	return z
}

func (l *lakeServer) ListDatasets(ctx context.Context, prefix string) ([]sdk.DatasetInfo, error) {
	names, err := l.meta.ListDatasets(ctx)
	if err != nil {
		return nil, err
	}
	var out []sdk.DatasetInfo
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || !sdk.IsLakeZone(zoneOf(n)) {
			continue
		}
		files, err := l.meta.ListFiles(ctx, n)
		if err != nil {
			return nil, err
		}
		di := sdk.DatasetInfo{Name: n, Zone: zoneOf(n), Files: int64(len(files))}
		for _, f := range files {
			di.Rows += f.Rows
		}
		out = append(out, di)
	}
	return out, nil
}

func (l *lakeServer) ReadDataset(ctx context.Context, req sdk.ReadDatasetRequest) (sdk.TableReader, error) {
	cols := "*"
	if len(req.Columns) > 0 {
		q := make([]string, len(req.Columns))
		for i, c := range req.Columns {
			q[i] = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
		}
		cols = strings.Join(q, ", ")
	}
	return l.Query(ctx, `SELECT `+cols+` FROM "`+strings.ReplaceAll(req.Name, `"`, `""`)+`"`, req.Limit)
}

// Query runs a read-only statement and streams its rows as batches of
// batchRows. The statement runs on a goroutine of its own, at most
// queryAhead batches ahead of the reader: DuckDB materialises the result,
// but it is not held a second time as batches, and closing the reader
// early (say, when the read budget runs out) stops the statement.
func (l *lakeServer) Query(ctx context.Context, query string, limit int64) (sdk.TableReader, error) {
	ctx, cancel := context.WithCancel(ctx)
	r := &tableReader{batches: make(chan *sdk.RecordBatch, queryAhead), ready: make(chan struct{}), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(r.done)
		defer close(r.batches)
		_, r.err = l.engine.Query(ctx, query, func(rows *sqlengine.Rows) error {
			r.schema = schemaOf(rows.Columns())
			close(r.ready)
			b := sdk.NewBatchBuilder("", r.schema)
			for rows.Next() {
				if limit > 0 && rows.Count() > limit {
					break
				}
				for i, v := range rows.Values() {
					appendValue(b, i, r.schema.Fields[i], v)
				}
				b.EndRow()
				if b.Len() == batchRows {
					if err := r.send(ctx, b.Batch()); err != nil {
						return err
					}
					b = sdk.NewBatchBuilder("", r.schema) // the batch keeps the old one's arrays
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if b.Len() > 0 {
				return r.send(ctx, b.Batch())
			}
			return nil
		})
	}()
	select {
	case <-r.ready:
		return r, nil
	case <-r.done:
		// The statement failed before it had rows to give, or gave none.
		if r.err != nil {
			cancel()
			return nil, r.err
		}
		return r, nil
	}
}

// queryAhead is how many batches a query may have ready before its reader
// takes them.
const queryAhead = 2

func (l *lakeServer) PutObject(ctx context.Context, zone, key, _ string, body io.Reader) (sdk.ObjectInfo, error) {
	if !sdk.IsLakeZone(zone) {
		return sdk.ObjectInfo{}, fmt.Errorf("%q is not a zone of the lake", zone)
	}
	if err := sdk.ValidateObjectKey(key); err != nil {
		return sdk.ObjectInfo{}, err
	}
	full := path.Join(zone, key)
	n, err := l.store.Put(ctx, full, body)
	if err != nil {
		return sdk.ObjectInfo{}, fmt.Errorf("failed to write %s: %w", full, err)
	}
	return sdk.ObjectInfo{Zone: zone, Key: full, Size: n}, nil
}

func (l *lakeServer) SearchKnowledge(ctx context.Context, query string, limit int) ([]sdk.KnowledgeEntry, error) {
	hits, err := l.knowledge.Search(ctx, query, limit)
	if err != nil {
		return nil, err
	}
	var out []sdk.KnowledgeEntry
	for _, h := range hits {
		e, err := l.knowledge.Show(ctx, h.Node.ID)
		if err != nil {
			continue // an agent or dataset node: not an entry
		}
		out = append(out, toSDKEntry(e))
	}
	return out, nil
}

func (l *lakeServer) AddKnowledge(ctx context.Context, e sdk.KnowledgeEntry) (string, error) {
	caller, _ := sdk.LakeCallerFrom(ctx)
	entry, err := l.knowledge.Add(ctx, knowledge.Entry{Kind: e.Kind, Title: e.Title, Body: e.Body, Tags: e.Tags,
		Datasets: e.Datasets, Agent: caller.AgentID, Session: caller.SessionID})
	if err != nil {
		return "", err
	}
	if l.onKnowledge != nil {
		l.onKnowledge(caller, entry)
	}
	return entry.ID, nil
}

func toSDKEntry(e knowledge.Entry) sdk.KnowledgeEntry {
	return sdk.KnowledgeEntry{ID: e.ID, Kind: e.Kind, Title: e.Title, Body: e.Body, Tags: e.Tags, Datasets: e.Datasets, Author: e.Agent}
}

// tableReader hands out the batches a query's goroutine sends.
type tableReader struct {
	schema  sdk.Schema // set before ready closes
	batches chan *sdk.RecordBatch
	ready   chan struct{} // closed once the schema is known
	done    chan struct{} // closed when the statement has ended; err is set then
	err     error
	cancel  context.CancelFunc
}

func (r *tableReader) send(ctx context.Context, b *sdk.RecordBatch) error {
	select {
	case r.batches <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *tableReader) Schema() sdk.Schema { return r.schema }

func (r *tableReader) Next() (*sdk.RecordBatch, error) {
	if b, ok := <-r.batches; ok {
		return b, nil
	}
	<-r.done
	if r.err != nil {
		return nil, r.err
	}
	return nil, io.EOF
}

// Close stops the statement if it is still running and waits for it.
func (r *tableReader) Close() error {
	r.cancel()
	for range r.batches {
	}
	<-r.done
	return nil
}

// schemaOf maps DuckDB's column types to the SDK's.
func schemaOf(cols []sqlengine.Column) sdk.Schema {
	s := sdk.Schema{Fields: make([]sdk.Field, len(cols))}
	for i, c := range cols {
		f := sdk.Field{Name: c.Name, Nullable: true}
		t := strings.ToUpper(c.Type)
		switch {
		case t == "BIGINT" || t == "INTEGER" || t == "SMALLINT" || t == "TINYINT" || t == "UBIGINT" || t == "UINTEGER" || t == "HUGEINT":
			f.Type = sdk.TypeInt64
		case t == "DOUBLE" || t == "FLOAT" || t == "REAL" || strings.HasPrefix(t, "DECIMAL"):
			f.Type = sdk.TypeFloat64 // an agent's analysis; exact money stays in the lake
		case t == "BOOLEAN":
			f.Type = sdk.TypeBool
		case t == "DATE":
			f.Type = sdk.TypeDate
		case strings.HasPrefix(t, "TIMESTAMP"):
			f.Type = sdk.TypeTimestamp
		default:
			f.Type = sdk.TypeString
		}
		s.Fields[i] = f
	}
	return s
}

// appendValue appends one value as duckdb-go returned it.
func appendValue(b *sdk.BatchBuilder, col int, f sdk.Field, v any) {
	if v == nil {
		b.AppendNull(col)
		return
	}
	switch f.Type {
	case sdk.TypeInt64:
		switch x := v.(type) {
		case int64:
			b.AppendInt64(col, x)
		case int32:
			b.AppendInt64(col, int64(x))
		case int16:
			b.AppendInt64(col, int64(x))
		case int8:
			b.AppendInt64(col, int64(x))
		case uint64:
			b.AppendInt64(col, int64(x))
		case uint32:
			b.AppendInt64(col, int64(x))
		case *big.Int:
			b.AppendInt64(col, x.Int64())
		default:
			b.AppendNull(col)
		}
	case sdk.TypeFloat64:
		switch x := v.(type) {
		case float64:
			b.AppendFloat64(col, x)
		case float32:
			b.AppendFloat64(col, float64(x))
		case interface{ Float64() float64 }:
			b.AppendFloat64(col, x.Float64())
		default:
			var fl float64
			if _, err := fmt.Sscan(fmt.Sprint(x), &fl); err == nil {
				b.AppendFloat64(col, fl)
			} else {
				b.AppendNull(col)
			}
		}
	case sdk.TypeBool:
		x, _ := v.(bool)
		b.AppendBool(col, x)
	case sdk.TypeDate:
		if t, ok := v.(time.Time); ok {
			b.AppendInt32(col, sdk.DaysSinceEpoch(t))
		} else {
			b.AppendNull(col)
		}
	case sdk.TypeTimestamp:
		if t, ok := v.(time.Time); ok {
			b.AppendInt64(col, t.UnixMicro())
		} else {
			b.AppendNull(col)
		}
	default:
		b.AppendString(col, []byte(fmt.Sprint(v)))
	}
}
