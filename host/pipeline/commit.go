package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// landingMetadata is _metadata.json of a landing batch. It never holds
// secrets: configuration values of secret parameters are left out.
type landingMetadata struct {
	Source   string            `json:"source"`
	Batch    string            `json:"batch"`
	RunID    string            `json:"run_id"`
	Plugin   pluginMetadata    `json:"plugin"`
	Started  time.Time         `json:"started_at"`
	Landed   time.Time         `json:"landed_at"`
	Records  int64             `json:"records"`
	Config   map[string]string `json:"config,omitempty"`
	Payloads []PayloadResult   `json:"payloads"`
}

type pluginMetadata struct {
	Name            string `json:"name"`
	Version         string `json:"version"`
	SHA256          string `json:"sha256"`
	ProtocolVersion int    `json:"protocol_version"`
}

func (r *runner) publicConfig() map[string]string {
	secret := map[string]bool{}
	for _, p := range r.inst.Info.Spec.Params {
		if p.Secret {
			secret[p.Name] = true
		}
	}
	out := map[string]string{}
	for k, v := range r.req.Config {
		if !secret[k] {
			out[k] = v
		}
	}
	return out
}

// commit makes the run's data visible in one metastore transaction.
func (r *runner) commit(ctx context.Context) error {
	if err := r.commitOnce(ctx); err != nil {
		return err
	}
	if r.res.Landing == "" {
		// Nothing landed: give the reserved landing folder back (and drop a
		// _metadata.json an attempt that lost a duplicate race wrote).
		key := r.landing + "/" + zone.MetadataName
		if err := r.p.Store.Delete(ctx, key); err != nil {
			return fmt.Errorf("failed to delete the unused %s: %w", key, err)
		}
		return r.p.Meta.DropPending(ctx, key)
	}
	return nil
}

func (r *runner) commitOnce(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		c, err := r.buildCommit(ctx)
		if err != nil {
			return err
		}
		if len(c.Files) == 0 && len(c.States) == 0 {
			r.collectResults()
			return nil
		}
		replaced, err := r.p.Meta.Commit(ctx, c)
		if errors.Is(err, metastore.ErrDuplicateBatch) && attempt < 3 {
			// Another run committed the same content meanwhile: drop ours.
			if derr := r.dropCommitted(ctx); derr != nil {
				return derr
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("failed to commit run %s: %w", r.runID, err)
		}
		for _, f := range replaced {
			if err := r.p.Store.Delete(ctx, f.Key); err != nil {
				r.log.Warn("failed to delete replaced file; the sweeper will not see it", "key", f.Key, "error", err)
			}
		}
		r.collectResults()
		return nil
	}
}

func (r *runner) collectResults() {
	for _, ps := range r.order {
		r.res.Payloads = append(r.res.Payloads, ps.result)
		if ps.result.Status == StatusIngested {
			r.res.Rows += ps.result.Records
			r.res.Bytes += ps.result.Size
		}
	}
}

// dropCommitted discards payloads whose content some other run committed.
func (r *runner) dropCommitted(ctx context.Context) error {
	for _, ps := range r.order {
		if ps.result.Status != StatusIngested {
			continue
		}
		have, err := r.p.Meta.HasBatch(ctx, zone.LandingDataset(r.req.Source), ps.sum)
		if err != nil {
			return err
		}
		if have {
			ps.result.Status = StatusDuplicate
			r.discard(ctx, ps)
		}
	}
	return nil
}

func (r *runner) buildCommit(ctx context.Context) (metastore.Commit, error) {
	src := r.req.Source
	r.res.Landing = "" // set again below if this attempt lands anything
	c := metastore.Commit{RunID: r.runID, Replace: r.replay != nil, Fenced: true}
	meta := landingMetadata{Source: src, Batch: r.landing, RunID: r.runID, Started: r.start, Landed: r.p.now(),
		Plugin: pluginMetadata{Name: r.inst.Plugin.Name, Version: r.inst.Plugin.Version, SHA256: r.inst.Plugin.SHA256,
			ProtocolVersion: r.inst.Plugin.ProtocolVersion},
		Config: r.publicConfig(), Payloads: []PayloadResult{}}
	landed := 0
	for _, ps := range r.order {
		meta.Payloads = append(meta.Payloads, ps.result)
		switch ps.result.Status {
		case StatusIngested:
			meta.Records += ps.result.Records
			if r.replay == nil {
				landed++
				c.Batches = append(c.Batches, metastore.Batch{Dataset: zone.LandingDataset(src), ID: ps.sum, RunID: r.runID, Rows: ps.result.Records})
				c.Files = append(c.Files, metastore.File{Dataset: zone.LandingDataset(src), Key: ps.key, Size: ps.size, Digest: ps.sum,
					Rows: ps.result.Records, BatchID: ps.sum, RunID: r.runID, Meta: mustJSON(map[string]string{"name": ps.name})})
			}
			streams := make([]string, 0, len(ps.raws))
			for s := range ps.raws {
				streams = append(streams, s)
			}
			sort.Strings(streams)
			for _, s := range streams {
				rw := ps.raws[s]
				c.Batches = append(c.Batches, metastore.Batch{Dataset: zone.RawDataset(src, s), ID: ps.sum, RunID: r.runID, Rows: rw.rows})
				for _, f := range rw.files {
					f.BatchID = ps.sum
					c.Files = append(c.Files, f)
				}
			}
		case StatusQuarantined:
			if r.replay != nil || ps.alreadyQuarantined {
				continue
			}
			landed++
			c.Batches = append(c.Batches, metastore.Batch{Dataset: zone.QuarantineDataset(src), ID: ps.sum, RunID: r.runID})
			c.Files = append(c.Files,
				metastore.File{Dataset: zone.QuarantineDataset(src), Key: ps.key, Size: ps.size, Digest: ps.sum, BatchID: ps.sum, RunID: r.runID,
					Meta: mustJSON(map[string]any{"name": ps.name, "problems": len(ps.result.Problems)})},
				metastore.File{Dataset: zone.QuarantineDataset(src), Key: ps.key + ".reason.json", Size: ps.reason.Size, Digest: ps.reason.Digest,
					BatchID: ps.sum, RunID: r.runID})
		}
	}
	if r.loose != nil {
		for s, rw := range r.loose.raws {
			id := "run-" + r.runID
			c.Batches = append(c.Batches, metastore.Batch{Dataset: zone.RawDataset(src, s), ID: id, RunID: r.runID, Rows: rw.rows})
			for _, f := range rw.files {
				f.BatchID = id
				c.Files = append(c.Files, f)
			}
		}
	}
	if landed > 0 {
		data, err := json.MarshalIndent(meta, "", "  ")
		if err != nil {
			return c, err
		}
		key := r.landing + "/" + zone.MetadataName
		if err := r.announce(ctx, key); err != nil {
			return c, err
		}
		if _, err := r.p.Store.Put(ctx, key, bytes.NewReader(data)); err != nil {
			return c, fmt.Errorf("failed to write %s: %w", key, err)
		}
		id := "run-" + r.runID
		c.Batches = append(c.Batches, metastore.Batch{Dataset: zone.LandingDataset(src) + ".metadata", ID: id, RunID: r.runID})
		c.Files = append(c.Files, metastore.File{Dataset: zone.LandingDataset(src) + ".metadata", Key: key, Size: int64(len(data)),
			Digest: digest.Of(data), BatchID: id, RunID: r.runID})
		r.res.Landing = r.landing
	}
	if r.replay == nil {
		for stream, st := range r.states {
			c.States = append(c.States, metastore.StreamState{Source: src, Stream: stream, State: st, RunID: r.runID, UpdatedAt: r.p.now()})
		}
	}
	return c, nil
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
