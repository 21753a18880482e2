package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bedrot-label/bedrot/host/contract"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/parquetfile"
	"github.com/bedrot-label/bedrot/host/pluginhost"
	"github.com/bedrot-label/bedrot/host/quality"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// Payload statuses.
const (
	StatusIngested    = "ingested"
	StatusQuarantined = "quarantined"
	StatusDuplicate   = "duplicate"
)

var errDiscarded = errors.New("payload discarded")

// runner is the state of one run.
type runner struct {
	p      *Pipeline
	req    Request
	runID  string
	start  time.Time
	res    *Result
	replay *replaySet
	// localRoots are the files and folders the host copies payloads from
	// itself (see localpayload.go).
	localRoots []string
	log        *slog.Logger

	inst     *pluginhost.Instance
	streams  map[string]sdk.Stream
	landing  string // landing batch folder
	payloads map[string]*payloadState
	order    []*payloadState
	loose    *payloadState // rows sent without a payload
	states   map[string][]byte
	// open counts payloads begun and not yet ended; safe is the last
	// checkpoint at which none was open, what a failed run keeps.
	open int
	safe *safePoint
	// configured is the source's configuration as the user wrote it,
	// before stored credentials replaced any of it.
	configured sdk.Config
	secrets    *strings.Replacer
	// contracts holds each stream's contract decision (nil: not enforced).
	contracts map[string]contract.Outcome
	// droppedRows and droppedValues count what discard policies removed,
	// by stream.
	droppedRows, droppedValues map[string]int
	seq                        int
	written                    []string // every key this run wrote (for cleanup on failure)
	known                      map[string]bool
	mu                         sync.Mutex
}

// safePoint is a checkpoint at which every payload begun had ended: the
// first payloads of the run's order and the stream states at that moment.
type safePoint struct {
	payloads int
	states   map[string][]byte
}

type payloadState struct {
	id, name string
	key      string
	landing  *objectWriter
	// localPath is the file the host copies the payload from itself (a
	// local payload), or "".
	localPath string
	// sum is the payload's digest (package sdk/digest).
	sum     string
	size    int64
	ended   bool
	discard bool
	// alreadyQuarantined: an earlier run quarantined the same content.
	alreadyQuarantined bool
	result             PayloadResult
	raws               map[string]*rawWriter
	// violations are the contract violations of the streams it carries.
	violations []sdk.Problem
	// dropped counts rows a discard_row policy removed.
	dropped int64
	// validation is the GX result of a failed validation, kept with the
	// quarantined payload.
	validation json.RawMessage
	// reason is the size and digest of a quarantined payload's
	// .reason.json.
	reason metastore.File
}

func (r *runner) announce(ctx context.Context, key string) error {
	if r.known == nil {
		r.known = map[string]bool{}
	}
	if r.known[key] {
		return nil
	}
	if err := r.p.Meta.AddPending(ctx, r.runID, key); err != nil {
		return fmt.Errorf("failed to announce %s: %w", key, err)
	}
	r.known[key] = true
	r.mu.Lock()
	r.written = append(r.written, key)
	r.mu.Unlock()
	return nil
}

// cleanup deletes everything a failed run wrote. Nothing of it was
// committed: the run failed before or in Commit, and Commit is atomic.
func (r *runner) cleanup(ctx context.Context) {
	for _, ps := range r.order {
		ps.abort(errDiscarded)
	}
	if r.loose != nil {
		r.loose.abort(errDiscarded)
	}
	for _, key := range r.written {
		listed, err := r.p.Meta.FileListed(ctx, key)
		if err != nil || listed {
			continue // unknown outcome: leave it to the sweeper
		}
		if err := r.p.Store.Delete(ctx, key); err == nil {
			_ = r.p.Meta.DropPending(ctx, key)
		}
	}
}

func (ps *payloadState) abort(cause error) {
	if ps.landing != nil {
		ps.landing.Abort(cause)
		ps.landing = nil
	}
	for _, rw := range ps.raws {
		rw.abort(cause)
	}
}

func (r *runner) execute(ctx context.Context) error {
	r.configured = r.req.Config
	if r.p.Credentials != nil {
		eff, stale, err := r.p.Credentials.Apply(ctx, r.req.Source, r.req.Config)
		if err != nil {
			return err
		}
		for _, k := range stale {
			r.log.Warn("the configured value changed since the plugin last rotated it: using the configured value and forgetting the stored one", "key", k)
		}
		r.req.Config = eff
	}
	inst, err := r.p.Plugins.Launch(ctx, sdk.KindSource, r.req.plugin())
	if err != nil {
		return err
	}
	r.inst = inst
	r.addSecrets()
	defer inst.Kill()
	r.log.Info("plugin started", "plugin", inst.Plugin.Name, "version", inst.Plugin.Version, "pid", inst.Pid())

	// Check and Discover answer within the idle timeout, or the plugin is
	// considered hung.
	call := func(fn func(context.Context) error) func() error {
		return func() error {
			idle := r.p.idleTimeout()
			cctx, cancel := context.WithTimeout(ctx, idle)
			defer cancel()
			err := fn(cctx)
			// gRPC may report the deadline a moment before the context does.
			if err != nil && ctx.Err() == nil && (cctx.Err() != nil || errors.Is(err, context.DeadlineExceeded)) {
				return fmt.Errorf("%w (%s); the plugin was stopped", errIdle, idle)
			}
			return err
		}
	}
	if err := r.step(ctx, "check", call(func(c context.Context) error { return inst.Source.Check(c, r.req.Config) })); err != nil {
		return inst.Describe(err)
	}
	var streams []sdk.Stream
	if err := r.step(ctx, "discover", call(func(c context.Context) (err error) { streams, err = inst.Source.Discover(c, r.req.Config); return })); err != nil {
		return inst.Describe(err)
	}
	r.streams = map[string]sdk.Stream{}
	for _, s := range streams {
		r.streams[s.Name] = s
	}
	if err := r.enforceContracts(ctx, streams); err != nil {
		return err
	}
	state := map[string][]byte{}
	if r.replay == nil {
		saved, err := r.p.Meta.States(ctx, r.req.Source)
		if err != nil {
			return fmt.Errorf("failed to load stream state: %w", err)
		}
		for k, v := range saved {
			state[k] = v.State
		}
	}
	r.payloads = map[string]*payloadState{}
	r.states = map[string][]byte{}
	if r.landing, err = r.landingFolder(ctx); err != nil {
		return err
	}
	if err := r.step(ctx, "extract", func() error { return r.read(ctx, state) }); err != nil {
		return r.salvage(ctx, err)
	}
	for _, s := range slices.Sorted(maps.Keys(r.droppedRows)) {
		if n := r.droppedRows[s]; n > 0 {
			r.res.Notes = append(r.res.Notes, fmt.Sprintf("%s: %d row(s) dropped by the discard_row policy: they had values in column(s) %s",
				zone.RawDataset(r.req.Source, s), n, strings.Join(r.contracts[s].Drop, ", ")))
		}
	}
	for _, s := range slices.Sorted(maps.Keys(r.droppedValues)) {
		if n := r.droppedValues[s]; n > 0 {
			r.res.Notes = append(r.res.Notes, fmt.Sprintf("%s: %d value(s) of column(s) %s dropped by the discard_value policy",
				zone.RawDataset(r.req.Source, s), n, strings.Join(r.contracts[s].Drop, ", ")))
		}
	}
	if err := r.validateBatches(ctx); err != nil {
		return err
	}
	return r.step(ctx, "commit", func() error { return r.commit(ctx) })
}

// validateBatches validates each ingested payload's raw rows, per dataset
// with a suite, before anything is committed: a payload whose rows break
// their suite is quarantined whole with the validation result attached,
// and none of it reaches raw. Every validation is recorded with the run.
func (r *runner) validateBatches(ctx context.Context) error {
	q := r.p.Quality
	if q == nil || r.replay != nil {
		return nil
	}
	type job struct {
		ps                     *payloadState
		stream, dataset, suite string
		keys                   []string
	}
	var jobs []job
	for _, ps := range r.order {
		if ps.result.Status != StatusIngested {
			continue
		}
		for _, stream := range slices.Sorted(maps.Keys(ps.raws)) {
			ds := zone.RawDataset(r.req.Source, stream)
			suite := q.SuiteFor(ds)
			if suite == "" || len(ps.raws[stream].files) == 0 {
				continue
			}
			j := job{ps: ps, stream: stream, dataset: ds, suite: suite}
			for _, f := range ps.raws[stream].files {
				j.keys = append(j.keys, f.Key)
			}
			jobs = append(jobs, j)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	sess, err := q.Open(ctx)
	if errors.Is(err, pluginhost.ErrNotInstalled) {
		note := fmt.Sprintf("not validated: %s have suites, but the validator plugin is not installed (bedrot plugin install bin/bedrot-validator-quality-ge)",
			jobs[0].dataset)
		r.log.Warn(note)
		r.res.Notes = append(r.res.Notes, note)
		return nil
	}
	if err != nil {
		return err
	}
	defer sess.Close()
	return r.step(ctx, "validate", func() error {
		for _, j := range jobs {
			if j.ps.result.Status != StatusIngested {
				continue // quarantined for another dataset already
			}
			out, err := sess.ValidateKeys(ctx, j.dataset, j.suite, j.keys, quality.Options{RunID: r.runID})
			if err != nil {
				return fmt.Errorf("failed to validate %s of %s: %w", j.dataset, j.ps.name, err)
			}
			if _, err := q.Record(ctx, out); err != nil {
				return err
			}
			j.ps.result.Validations = append(j.ps.result.Validations, out.ID)
			if out.Success {
				continue
			}
			var stats struct {
				Statistics struct {
					Evaluated  int `json:"evaluated_expectations"`
					Successful int `json:"successful_expectations"`
				} `json:"statistics"`
			}
			_ = json.Unmarshal(out.Result, &stats)
			j.ps.result.Problems = append(j.ps.result.Problems, sdk.Problem{File: j.ps.name, Field: j.stream,
				Message: fmt.Sprintf("its %d rows break the expectation suite %s of %s: %d of %d expectations unmet (quality score %.3f); see `bedrot quality results %s`",
					out.Rows, out.Suite, j.dataset, stats.Statistics.Evaluated-stats.Statistics.Successful, stats.Statistics.Evaluated, out.Score, out.ID)})
			j.ps.validation = out.Result
			if err := r.quarantine(ctx, j.ps); err != nil {
				return err
			}
		}
		return nil
	})
}

// enforceContracts checks each stream's declared schema against its raw
// dataset's contract (when the pipeline has a registry) and records the
// decisions onBatch applies.
func (r *runner) enforceContracts(ctx context.Context, streams []sdk.Stream) error {
	if r.p.Contracts == nil || r.replay != nil {
		return nil
	}
	r.contracts = map[string]contract.Outcome{}
	r.droppedRows, r.droppedValues = map[string]int{}, map[string]int{}
	for _, s := range streams {
		ds := zone.RawDataset(r.req.Source, s.Name)
		out, err := r.p.Contracts.Enforce(ctx, ds, s.Schema, s.PrimaryKey, r.runID)
		if err != nil {
			return sdk.ConfigError(fmt.Errorf("contract of %s: %w", ds, err))
		}
		r.contracts[s.Name] = out
		for _, n := range out.Notes {
			r.log.Info(n)
			r.res.Notes = append(r.res.Notes, n)
		}
		for _, v := range out.Violations {
			r.log.Warn("stream breaks its contract; its payloads are quarantined", "dataset", ds, "violation", v)
		}
	}
	return nil
}

// salvage keeps what a failed read produced before its last safe
// checkpoint: those payloads and the stream states of that checkpoint are
// committed, so the next run resumes from there; everything after is
// discarded. It returns cause, saying what was kept.
func (r *runner) salvage(ctx context.Context, cause error) error {
	if r.replay != nil || r.safe == nil {
		return cause
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for _, ps := range r.order[r.safe.payloads:] {
		r.discard(ctx, ps)
	}
	r.order = r.order[:r.safe.payloads]
	r.states = r.safe.states
	if err := r.validateBatches(ctx); err != nil {
		return fmt.Errorf("%w; validating what was read before the last checkpoint failed too: %v", cause, err)
	}
	if err := r.step(ctx, "commit", func() error { return r.commit(ctx) }); err != nil {
		return fmt.Errorf("%w; keeping what was read before the last checkpoint failed too: %v", cause, err)
	}
	if len(r.order) == 0 {
		return fmt.Errorf("%w; kept the plugin's last checkpoint: the next run resumes from there", cause)
	}
	return fmt.Errorf("%w; kept %d payload(s) with %d rows read before the plugin's last checkpoint: the next run resumes from there",
		cause, len(r.order), r.res.Rows)
}

// onConfigUpdate stores new configuration values the plugin sent (rotated
// credentials) at once, whatever becomes of the run.
func (r *runner) onConfigUpdate(ctx context.Context, values map[string]string) error {
	params := map[string]bool{}
	for _, p := range r.inst.Info.Spec.Params {
		params[p.Name] = true
	}
	for k := range values {
		if !params[k] {
			return fmt.Errorf("plugin %s sent a configuration update for %q, which is not one of its parameters", r.req.Source, k)
		}
	}
	if r.p.Credentials == nil {
		return fmt.Errorf("plugin %s rotated a credential, but this host has no credential store to keep it in", r.req.Source)
	}
	if err := r.p.Credentials.Save(context.WithoutCancel(ctx), r.req.Source, r.configured, values); err != nil {
		return err
	}
	var secrets []string
	for k, v := range values {
		r.req.Config[k] = v
		secrets = append(secrets, v)
	}
	r.addSecrets(secrets...)
	r.log.Info("stored a configuration value the plugin replaced", "keys", strings.Join(slices.Sorted(maps.Keys(values)), ","))
	return nil
}

// addSecrets makes redact hide these values (and the secret parameters'
// values known so far).
func (r *runner) addSecrets(extra ...string) {
	var olds []string
	seen := map[string]bool{}
	add := func(v string) {
		if len(v) >= 4 && !seen[v] {
			seen[v] = true
			olds = append(olds, v, "REDACTED")
		}
	}
	for _, p := range r.secretParams() {
		add(r.req.Config[p])
		add(r.configured[p])
	}
	for _, v := range extra {
		add(v)
	}
	r.secrets = strings.NewReplacer(olds...)
}

func (r *runner) secretParams() []string {
	if r.inst == nil {
		return nil
	}
	var out []string
	for _, p := range r.inst.Info.Spec.Params {
		if p.Secret {
			out = append(out, p.Name)
		}
	}
	return out
}

// redact hides secret values in text that leaves the run: errors and the
// plugin's log lines. Plugins must not put secrets there; this is the net.
func (r *runner) redact(s string) string {
	if r.secrets == nil {
		return s
	}
	return r.secrets.Replace(s)
}

func (r *runner) step(ctx context.Context, name string, fn func() error) error {
	_ = r.p.Meta.StartStep(ctx, r.runID, name)
	err := fn()
	status, detail := metastore.RunSucceeded, json.RawMessage(nil)
	if err != nil {
		status = metastore.RunFailed
		detail, _ = json.Marshal(map[string]string{"error": r.redact(err.Error())})
	}
	_ = r.p.Meta.FinishStep(context.WithoutCancel(ctx), r.runID, name, status, detail)
	return err
}

// landingFolder reserves the batch folder for this run's minute by
// announcing its _metadata.json. If another batch landed in the same minute,
// or another run holds the folder, a suffix keeps them apart.
func (r *runner) landingFolder(ctx context.Context) (string, error) {
	base := zone.LandingBatch(r.req.Source, r.start)
	dir := base
	for i := 2; i < 1000; i++ {
		key := dir + "/" + zone.MetadataName
		_, err := r.p.Store.Stat(ctx, key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			err := r.announce(ctx, key)
			if err == nil {
				return dir, nil
			}
			if !errors.Is(err, metastore.ErrKeyTaken) {
				return "", err
			}
		case err != nil:
			return "", fmt.Errorf("failed to choose the landing folder: %w", err)
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
	return "", fmt.Errorf("failed to choose the landing folder: %s and 998 others are taken", base)
}

func (r *runner) read(ctx context.Context, state map[string][]byte) error {
	idle := r.p.idleTimeout()
	readCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(idle, func() { cancel(fmt.Errorf("%w (%s); the plugin was stopped", errIdle, idle)) })
	defer timer.Stop()

	req := sdk.ReadRequest{Config: r.req.Config, Streams: r.req.Streams, State: state}
	if r.replay == nil {
		// Replay checks the bytes the plugin re-reads, so it has them sent.
		r.localRoots = localRoots(r.req.Config)
		req.LocalPayloadRoots = r.localRoots
	}
	stream, err := r.inst.Source.Read(readCtx, req)
	if err != nil {
		return r.inst.Describe(err)
	}
	for {
		msg, err := stream.Recv()
		timer.Reset(idle)
		if err == io.EOF {
			break
		}
		if err != nil {
			if cause := context.Cause(readCtx); cause != nil && ctx.Err() == nil {
				return r.inst.Describe(cause)
			}
			if ctx.Err() != nil {
				return fmt.Errorf("run cancelled: %w", context.Cause(ctx))
			}
			return r.inst.Describe(err)
		}
		if err := r.handle(readCtx, msg); err != nil {
			return err
		}
	}
	for _, ps := range r.order {
		if !ps.ended {
			return fmt.Errorf("plugin %s finished without ending payload %q", r.req.Source, ps.name)
		}
	}
	if r.loose != nil {
		if err := r.finishRaw(ctx, r.loose); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) handle(ctx context.Context, m sdk.ReadMessage) error {
	switch {
	case m.Batch != nil:
		return r.onBatch(ctx, m.Batch)
	case m.PayloadChunk != nil:
		ps, err := r.payload(m.PayloadChunk.ID)
		if err != nil || ps.discard {
			return err
		}
		if ps.localPath != "" {
			return fmt.Errorf("plugin %s sent bytes of payload %q, which the host copies from %s itself", r.req.Source, ps.name, ps.localPath)
		}
		if ps.landing != nil {
			_, err = ps.landing.Write(m.PayloadChunk.Data)
			return err
		}
		return r.replay.write(ps, m.PayloadChunk.Data)
	case m.PayloadBegin != nil:
		return r.onPayloadBegin(ctx, m.PayloadBegin)
	case m.PayloadClose != nil:
		return r.onPayloadClose(ctx, m.PayloadClose)
	case m.PayloadEnd != nil:
		return r.onPayloadEnd(ctx, m.PayloadEnd)
	case m.Checkpoint != nil:
		r.states[m.Checkpoint.Stream] = m.Checkpoint.State
		if r.open == 0 && r.loose == nil {
			r.safe = &safePoint{payloads: len(r.order), states: maps.Clone(r.states)}
		}
	case m.ConfigUpdate != nil:
		return r.onConfigUpdate(ctx, m.ConfigUpdate)
	case m.Log != nil:
		r.pluginLog(m.Log)
	case m.Progress != nil:
		if r.p.OnProgress != nil {
			r.p.OnProgress(Progress{Done: m.Progress.Done, Total: m.Progress.Total, Unit: m.Progress.Unit})
		}
	}
	return nil
}

func (r *runner) pluginLog(l *sdk.LogMessage) {
	args := make([]any, 0, len(l.KeyVals)+2)
	for _, kv := range l.KeyVals {
		args = append(args, r.redact(kv))
	}
	args = append(args, "plugin", r.req.Source)
	lvl := slog.LevelInfo
	switch l.Level {
	case sdk.LevelDebug:
		lvl = slog.LevelDebug
	case sdk.LevelWarn:
		lvl = slog.LevelWarn
	case sdk.LevelError:
		lvl = slog.LevelError
	}
	r.log.Log(context.Background(), lvl, r.redact(l.Message), args...)
}

func (r *runner) payload(id string) (*payloadState, error) {
	ps, ok := r.payloads[id]
	if !ok {
		return nil, fmt.Errorf("plugin %s referred to unknown payload %q", r.req.Source, id)
	}
	return ps, nil
}

func (r *runner) onPayloadBegin(ctx context.Context, b *sdk.PayloadBegin) error {
	if _, dup := r.payloads[b.ID]; dup {
		return fmt.Errorf("plugin %s began payload %q twice", r.req.Source, b.ID)
	}
	ps := &payloadState{id: b.ID, name: b.Name, raws: map[string]*rawWriter{}}
	ps.result = PayloadResult{Name: b.Name}
	r.payloads[b.ID] = ps
	r.order = append(r.order, ps)
	r.open++
	if r.replay != nil {
		return r.replay.begin(ps)
	}
	ps.key = r.uniqueLandingKey(zone.PayloadName(b.Name))
	ps.result.Key = ps.key
	err := r.announce(ctx, ps.key)
	if errors.Is(err, metastore.ErrKeyTaken) {
		// This run reserved the folder, so the key is debris of a run
		// killed so recently that its last announcement reached the
		// metastore after this run swept: sweep again and retry.
		if _, serr := r.p.Sweep(ctx); serr == nil {
			err = r.announce(ctx, ps.key)
		}
	}
	if err != nil {
		return err
	}
	// The host checks the plugin's digest with the algorithm it named.
	d, err := digest.NewAlgorithm(b.DigestAlgorithm)
	if err != nil {
		return fmt.Errorf("plugin %s began payload %q: %w", r.req.Source, b.Name, err)
	}
	if b.LocalPath == "" {
		ps.landing = newObjectWriter(ctx, r.p.Store, ps.key, d)
		return nil
	}
	// The plugin of a local payload that sends XXH64 computed the digest
	// of the bytes it read already: the copy is checked against the XXH64,
	// at a fraction of the cost.
	if b.SendsXXH64 {
		d = nil
	}
	if ps.landing, err = startLocalCopy(ctx, r.p.Store, ps.key, r.req.Source, b.LocalPath, r.localRoots, d); err != nil {
		return err
	}
	ps.localPath = b.LocalPath
	return nil
}

func (r *runner) uniqueLandingKey(name string) string {
	key := r.landing + "/" + name
	for i := 2; ; i++ {
		taken := false
		for _, ps := range r.order {
			if ps.key == key {
				taken = true
			}
		}
		if !taken {
			return key
		}
		key = fmt.Sprintf("%s/%d-%s", r.landing, i, name)
	}
}

func (r *runner) onPayloadClose(ctx context.Context, c *sdk.PayloadClose) error {
	ps, err := r.payload(c.ID)
	if err != nil || ps.discard {
		return err
	}
	if r.replay != nil {
		return r.replay.close(ps, c)
	}
	lw := ps.landing
	ps.landing = nil
	if err := lw.Close(); err != nil {
		if ps.localPath != "" {
			return fmt.Errorf("failed to copy %s to landing: %w", ps.localPath, err)
		}
		return fmt.Errorf("failed to write %s: %w", ps.key, err)
	}
	ps.size = lw.n
	want, err := digest.Parse(c.Digest)
	if err != nil {
		return fmt.Errorf("plugin %s closed payload %q with a bad digest: %w", r.req.Source, ps.name, err)
	}
	if got, fast := lw.xxh64(); fast {
		if got != c.XXH64 || ps.size != c.Size {
			return fmt.Errorf("payload file %s changed while it was read: the plugin read %d bytes with XXH64 %016x, the host copied %d bytes with XXH64 %016x; run again once it is complete",
				ps.localPath, c.Size, c.XXH64, ps.size, got)
		}
		ps.sum = want
	} else {
		ps.sum = lw.digest()
	}
	if ps.localPath != "" && (ps.sum != want || ps.size != c.Size) {
		return fmt.Errorf("payload file %s changed while it was read: the plugin read %d bytes with the digest %s, the host copied %d bytes with the digest %s; run again once it is complete",
			ps.localPath, c.Size, want, ps.size, ps.sum)
	}
	if ps.sum != want || ps.size != c.Size {
		return fmt.Errorf("payload %q arrived corrupted: plugin sent %d bytes with the digest %s, host received %d bytes with the digest %s",
			ps.name, c.Size, want, ps.size, ps.sum)
	}
	ps.result.Digest, ps.result.Size = ps.sum, ps.size
	have, err := r.p.Meta.HasBatch(ctx, zone.LandingDataset(r.req.Source), ps.sum)
	if err != nil {
		return err
	}
	if have {
		r.log.Info("payload already in the lake; skipping", "payload", ps.name, "digest", ps.sum)
		ps.result.Status = StatusDuplicate
		r.discard(ctx, ps)
	}
	return nil
}

// discard drops a payload's files (never committed) and ignores the rest of it.
func (r *runner) discard(ctx context.Context, ps *payloadState) {
	ps.discard = true
	ps.abort(errDiscarded)
	keys := []string{}
	if ps.key != "" && r.replay == nil {
		keys = append(keys, ps.key)
	}
	for _, rw := range ps.raws {
		for _, f := range rw.files {
			keys = append(keys, f.Key)
		}
		rw.files = nil
	}
	for _, k := range keys {
		if err := r.p.Store.Delete(ctx, k); err == nil {
			_ = r.p.Meta.DropPending(ctx, k)
		}
	}
}

func (r *runner) onPayloadEnd(ctx context.Context, e *sdk.PayloadEnd) error {
	ps, err := r.payload(e.ID)
	if err != nil {
		return err
	}
	if ps.landing != nil {
		return fmt.Errorf("plugin %s ended payload %q before closing it", r.req.Source, ps.name)
	}
	if ps.ended {
		return fmt.Errorf("plugin %s ended payload %q twice", r.req.Source, ps.name)
	}
	ps.ended = true
	r.open--
	if ps.discard {
		return nil
	}
	ps.result.Records = e.Records
	if problems := append(slices.Clone(e.Problems), ps.violations...); len(problems) > 0 {
		ps.result.Problems = problems
		return r.quarantine(ctx, ps)
	}
	if err := r.finishRaw(ctx, ps); err != nil {
		return err
	}
	var rows int64
	for _, rw := range ps.raws {
		rows += rw.rows
		for _, f := range rw.files {
			ps.result.RawFiles = append(ps.result.RawFiles, f.Key)
		}
	}
	if rows+ps.dropped != e.Records {
		return fmt.Errorf("plugin %s reported %d records for payload %q but sent %d rows", r.req.Source, e.Records, ps.name, rows+ps.dropped)
	}
	sort.Strings(ps.result.RawFiles)
	ps.result.Status = StatusIngested
	return nil
}

func (r *runner) onBatch(ctx context.Context, b *sdk.RecordBatch) error {
	var ps *payloadState
	if b.PayloadID == "" {
		if r.loose == nil {
			r.loose = &payloadState{id: "", raws: map[string]*rawWriter{}}
		}
		ps = r.loose
	} else {
		var err error
		if ps, err = r.payload(b.PayloadID); err != nil {
			return err
		}
		if ps.ended {
			return fmt.Errorf("plugin %s sent rows for payload %q after ending it", r.req.Source, ps.name)
		}
	}
	if ps.discard {
		return nil
	}
	st, ok := r.streams[b.Stream]
	if !ok {
		return fmt.Errorf("plugin %s sent rows for stream %q, which it did not declare in Discover", r.req.Source, b.Stream)
	}
	if err := b.Validate(st.Schema); err != nil {
		return fmt.Errorf("plugin %s sent a malformed batch: %w", r.req.Source, err)
	}
	schema := st.Schema
	if out, ok := r.contracts[b.Stream]; ok {
		if len(out.Violations) > 0 {
			if !slices.ContainsFunc(ps.violations, func(p sdk.Problem) bool { return p.Field == b.Stream }) {
				for _, v := range out.Violations {
					ps.violations = append(ps.violations, sdk.Problem{File: ps.name, Field: b.Stream,
						Message: fmt.Sprintf("breaks contract %s v%d: %s", zone.RawDataset(r.req.Source, b.Stream), out.Contract.Version, v)})
				}
			}
			return nil // the payload is quarantined at its end
		}
		var rows, values int
		b, schema, rows, values = contract.Apply(b, st.Schema, out.Drop, out.Contract.Policy == contract.DiscardRow)
		ps.dropped += int64(rows)
		r.droppedRows[b.Stream] += rows
		r.droppedValues[b.Stream] += values
		if b.NumRows == 0 {
			return nil
		}
	}
	rw := ps.raws[b.Stream]
	if rw == nil {
		rw = &rawWriter{stream: b.Stream, schema: schema}
		ps.raws[b.Stream] = rw
	}
	if rw.enc == nil {
		if err := r.openRaw(ctx, rw); err != nil {
			return err
		}
	}
	if err := rw.enc.write(b); err != nil {
		return fmt.Errorf("failed to write raw rows of %s: %w", b.Stream, err)
	}
	rw.rows += int64(b.NumRows)
	limit := r.p.RowsPerFile
	if limit <= 0 {
		limit = 8_000_000
	}
	if rw.enc.rows >= limit {
		return r.closeRaw(rw)
	}
	return nil
}

func (r *runner) openRaw(ctx context.Context, rw *rawWriter) error {
	key := zone.RawFile(r.req.Source, r.start, rw.stream, r.runID, r.seq)
	r.seq++
	if err := r.announce(ctx, key); err != nil {
		return err
	}
	enc, err := startEncoder(ctx, r.p.Store, key, rw.schema, parquetfile.Options{
		RowGroupRows: r.p.RowGroupRows,
		// Two row groups encode at once: the plugin's batches are handed
		// over (each is decoded afresh), and memory stays bounded.
		Concurrency: rawEncoders,
		KeyValue: map[string]string{
			"bedrot.source": r.req.Source, "bedrot.stream": rw.stream, "bedrot.run_id": r.runID,
			"bedrot.plugin_version": r.inst.Plugin.Version,
		},
	})
	if err != nil {
		return fmt.Errorf("failed to start raw file %s: %w", key, err)
	}
	rw.enc = enc
	return nil
}

func (r *runner) closeRaw(rw *rawWriter) error {
	if rw.enc == nil {
		return nil
	}
	enc := rw.enc
	rw.enc = nil
	f, err := enc.finish()
	if err != nil {
		return err
	}
	f.Dataset, f.RunID = zone.RawDataset(r.req.Source, rw.stream), r.runID
	rw.files = append(rw.files, f)
	return nil
}

func (r *runner) finishRaw(_ context.Context, ps *payloadState) error {
	names := make([]string, 0, len(ps.raws))
	for n := range ps.raws {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := r.closeRaw(ps.raws[n]); err != nil {
			return err
		}
	}
	return nil
}

// quarantine moves a rejected payload out of the batch into its
// _quarantine folder with the reasons beside it; none of its rows are kept.
func (r *runner) quarantine(ctx context.Context, ps *payloadState) error {
	ps.result.Status = StatusQuarantined
	ps.result.RawFiles = nil
	r.log.Warn("payload quarantined", "payload", ps.name, "problems", len(ps.result.Problems))
	for _, rw := range ps.raws {
		rw.abort(errDiscarded)
		for _, f := range rw.files {
			if err := r.p.Store.Delete(ctx, f.Key); err == nil {
				_ = r.p.Meta.DropPending(ctx, f.Key)
			}
		}
		rw.files = nil
	}
	if r.replay != nil {
		return nil
	}
	have, err := r.p.Meta.HasBatch(ctx, zone.QuarantineDataset(r.req.Source), ps.sum)
	if err != nil {
		return err
	}
	qkey := r.landing + "/" + zone.QuarantineDir + "/" + zone.PayloadName(ps.name)
	if have {
		// The same bad file was quarantined before: point at that copy.
		ps.alreadyQuarantined = true
		ps.result.Key = r.quarantinedKey(ctx, ps.sum)
		if err := r.p.Store.Delete(ctx, ps.key); err == nil {
			_ = r.p.Meta.DropPending(ctx, ps.key)
		}
		return nil
	}
	if err := r.announce(ctx, qkey); err != nil {
		return err
	}
	if err := copyObject(ctx, r.p.Store, ps.key, qkey); err != nil {
		return fmt.Errorf("failed to quarantine %s: %w", ps.name, err)
	}
	if err := r.p.Store.Delete(ctx, ps.key); err != nil {
		return fmt.Errorf("failed to quarantine %s: %w", ps.name, err)
	}
	_ = r.p.Meta.DropPending(ctx, ps.key)
	ps.key, ps.result.Key = qkey, qkey
	doc := map[string]any{
		"payload": ps.name, "digest": ps.sum, "size": ps.size, "run_id": r.runID,
		"reason":   fmt.Sprintf("%d problem(s) in the file; nothing of it reached raw", len(ps.result.Problems)),
		"problems": ps.result.Problems,
	}
	if ps.validation != nil {
		doc["reason"] = "its rows break their expectation suite; nothing of it reached raw"
		doc["validation"] = ps.validation
	}
	reason, _ := json.MarshalIndent(doc, "", "  ")
	rkey := qkey + ".reason.json"
	if err := r.announce(ctx, rkey); err != nil {
		return err
	}
	if _, err := r.p.Store.Put(ctx, rkey, bytes.NewReader(reason)); err != nil {
		return fmt.Errorf("failed to write quarantine reason for %s: %w", ps.name, err)
	}
	ps.reason = metastore.File{Size: int64(len(reason)), Digest: digest.Of(reason)}
	return nil
}

// quarantinedKey finds where an earlier run quarantined this content.
func (r *runner) quarantinedKey(ctx context.Context, sha string) string {
	files, err := r.p.Meta.ListFiles(ctx, zone.QuarantineDataset(r.req.Source))
	if err == nil {
		for _, f := range files {
			if f.BatchID == sha && !strings.HasSuffix(f.Key, ".reason.json") {
				return f.Key
			}
		}
	}
	return ""
}

func copyObject(ctx context.Context, st storage.Store, from, to string) error {
	obj, err := st.Open(ctx, from)
	if err != nil {
		return err
	}
	defer obj.Close()
	_, err = st.Put(ctx, to, obj)
	return err
}
