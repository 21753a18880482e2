package lake

import (
	"context"
	"log/slog"
	"slices"

	"github.com/bedrot-label/bedrot/host/lineage"
	"github.com/bedrot-label/bedrot/host/pipeline"
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
