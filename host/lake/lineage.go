package lake

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/lineage"
	"github.com/bedrot-label/bedrot/host/marts"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/staging"
	"github.com/bedrot-label/bedrot/host/zone"
)

// Version is stamped on lineage events as the producer (set by the CLI).
var Version = "dev"

// openLineage makes the lake's OpenLineage client: events go to
// .bedrot/lineage/ in the lake, and to lineage.url when set.
func (l *Lake) openLineage(logger *slog.Logger) error {
	namer, err := lineage.NewNamer(l.Store.Location())
	if err != nil {
		return err
	}
	b := lineage.NewBuilder(lineage.Config{Namespace: l.Config.Lineage.Namespace, Producer: lineage.ProducerURI(Version), Namer: namer})
	em := lineage.Emitter(lineage.NewStoreEmitter(l.Store))
	if l.Config.Lineage.URL != "" {
		h, err := lineage.NewHTTPEmitter(lineage.HTTPConfig{URL: l.Config.Lineage.URL, APIKey: l.Config.Lineage.APIKey})
		if err != nil {
			return err
		}
		em = lineage.Multi(em, h)
	}
	l.Lineage = lineage.NewClient(b, em, logger)
	return nil
}

// runLineage emits a START and a COMPLETE or FAIL event for every pipeline
// run (ingest and replay). A lineage failure is logged, never the run's.
type runLineage struct{ c *lineage.Client }

// info describes a run for lineage: an ingest reads the source and writes
// landing and the raw streams it produced; a replay reads landing.
func (o runLineage) info(res pipeline.Result) lineage.RunInfo {
	r := lineage.RunInfo{RunID: res.RunID, Name: res.Source, StartedAt: res.Started, FinishedAt: res.Finished, Status: res.Status, Error: res.Error}
	landing := lineage.Dataset{Name: zone.LandingDataset(res.Source)}
	if res.Kind == "replay" {
		r.Kind = lineage.JobReplay
		r.Inputs = []lineage.Dataset{landing}
	} else {
		r.Kind = lineage.JobIngest
		r.Inputs = []lineage.Dataset{{ID: lineage.SourceDataset(res.Source)}}
		if !res.Finished.IsZero() {
			var st lineage.Stats
			for _, p := range res.Payloads {
				if p.Status != pipeline.StatusDuplicate {
					st.Rows, st.Bytes, st.Files = st.Rows+p.Records, st.Bytes+p.Size, st.Files+1
				}
			}
			landing.Stats = &st
		}
		r.Outputs = []lineage.Dataset{landing}
	}
	streams := map[string]*lineage.Stats{}
	for _, p := range res.Payloads {
		if p.Status != pipeline.StatusIngested {
			continue
		}
		for i, key := range p.RawFiles {
			s := zone.RawFileStream(key)
			if s == "" {
				continue
			}
			st := streams[s]
			if st == nil {
				st = &lineage.Stats{Bytes: -1} // raw bytes are not summed here
				streams[s] = st
			}
			st.Files++
			if i == 0 {
				st.Rows += p.Records
			}
		}
	}
	names := make([]string, 0, len(streams))
	for s := range streams {
		names = append(names, s)
	}
	slices.Sort(names)
	for _, s := range names {
		r.Outputs = append(r.Outputs, lineage.Dataset{Name: zone.RawDataset(res.Source, s), Stats: streams[s]})
	}
	return r
}

func (o runLineage) RunStarted(ctx context.Context, res pipeline.Result) {
	_ = o.c.Start(ctx, o.info(res))
}

func (o runLineage) RunFinished(ctx context.Context, res pipeline.Result) {
	_ = o.c.Finish(ctx, o.info(res))
}

// BuildLineage records a `bedrot build` in lineage: one run per staging
// dataset rebuilt (build.staging.<dataset>: the raw datasets its rebuilt
// partitions read) and one run per mart built (the datasets its SQL reads, the mart
// version written). Up-to-date partitions and marts are no run.
func (l *Lake) BuildLineage(ctx context.Context, st staging.Result, built []marts.Result, started, finished time.Time) {
	// One staging run per dataset rebuilt: its inputs are the raw datasets
	// its own partitions read.
	type dsRun struct {
		ins   map[string]bool
		stats lineage.Stats
	}
	perDataset := map[string]*dsRun{}
	for _, p := range st.Partitions {
		if st.RunID == "" || (p.Action != staging.Rebuilt && p.Action != staging.Emptied) {
			continue
		}
		d := perDataset[p.Dataset]
		if d == nil {
			d = &dsRun{ins: map[string]bool{}}
			perDataset[p.Dataset] = d
		}
		for _, key := range p.Inputs {
			if src, ok := rawSource(key); ok {
				if s := zone.RawFileStream(key); s != "" {
					d.ins[zone.RawDataset(src, s)] = true
				}
			}
		}
		d.stats.Rows, d.stats.Bytes, d.stats.Files = d.stats.Rows+p.Rows, d.stats.Bytes+p.Size, d.stats.Files+1
	}
	for _, ds := range slices.Sorted(maps.Keys(perDataset)) {
		d := perDataset[ds]
		stats := d.stats
		r := lineage.RunInfo{RunID: st.RunID, Kind: lineage.JobBuildStaging, Name: ds, StartedAt: started, FinishedAt: finished,
			Status: metastore.RunSucceeded, Outputs: []lineage.Dataset{{Name: ds, Stats: &stats}}}
		for _, name := range slices.Sorted(maps.Keys(d.ins)) {
			r.Inputs = append(r.Inputs, lineage.Dataset{Name: name})
		}
		_ = l.Lineage.Start(ctx, r)
		_ = l.Lineage.Finish(ctx, r)
	}
	for _, b := range built {
		if !b.Built {
			continue
		}
		r := lineage.RunInfo{RunID: pipeline.NewRunID(finished), Kind: lineage.JobBuildMart, Name: b.Mart, StartedAt: started, FinishedAt: finished,
			Status: metastore.RunSucceeded, Outputs: []lineage.Dataset{{Name: b.Dataset, Stats: &lineage.Stats{Rows: b.Rows, Bytes: -1, Files: 1}}}}
		for _, in := range b.Inputs {
			r.Inputs = append(r.Inputs, lineage.Dataset{Name: in})
		}
		_ = l.Lineage.Start(ctx, r)
		_ = l.Lineage.Finish(ctx, r)
	}
}

// rawSource returns the source of a raw file key (raw/source=<s>/...).
func rawSource(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, "raw/source=")
	if !ok {
		return "", false
	}
	src, _, ok := strings.Cut(rest, "/")
	return src, ok
}
