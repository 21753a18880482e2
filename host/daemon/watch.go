package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/bedrot-label/bedrot/host/alerts"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/metrics"
	"github.com/bedrot-label/bedrot/host/scheduler"
)

// dataLossEvery is how many checks pass between two data loss checks (each
// looks at every manifest file in storage).
const dataLossEvery = 10

// watchLoop looks for alert conditions every daemon.check_interval, and at
// once when a job fails for good or succeeds (a poke), so that a failure
// is alerted within seconds and its alert resolved when a run succeeds.
func (d *Daemon) watchLoop(ctx context.Context) {
	interval := d.cfg.Daemon.CheckInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for n := 0; ; n++ {
		if err := d.check(ctx, n%dataLossEvery == 0); err != nil && ctx.Err() == nil {
			d.log.Error("alert check failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.poke:
		}
	}
}

// Check runs every detector once and reconciles the alerts (the data loss
// check too when withDataLoss), then refreshes the alert and SLO metrics.
func (d *Daemon) Check(ctx context.Context, withDataLoss bool) error {
	return d.check(ctx, withDataLoss)
}

func (d *Daemon) check(ctx context.Context, withDataLoss bool) error {
	var errs []error
	runs, err := alerts.FinishedRuns(ctx, d.lake.Meta, 2000)
	if err != nil {
		return err
	}
	// A failed run made by a job's current attempt may still be retried:
	// the job marks it retried before it leaves the running state. Until
	// then it is not final.
	running, err := d.sched.Jobs(ctx, scheduler.JobFilter{States: []string{"running"}, Limit: 1000})
	if err != nil {
		return err
	}
	attempt := map[string]time.Time{}
	for _, j := range running {
		if j.AttemptedAt != nil && (attempt[j.Source].IsZero() || j.AttemptedAt.Before(attempt[j.Source])) {
			attempt[j.Source] = *j.AttemptedAt
		}
	}
	// A job whose daemon died during its last attempt is discarded by the
	// daemon that rescues it: the run of that attempt, abandoned, is the
	// job's outcome. The discarded jobs are listed only when a run was
	// abandoned.
	var discarded []scheduler.JobInfo
	if slices.ContainsFunc(runs, func(r metastore.Run) bool { return r.Status == metastore.RunAbandoned }) {
		if discarded, err = d.sched.Jobs(ctx, scheduler.JobFilter{States: []string{"discarded"}, Limit: 1000}); err != nil {
			return err
		}
	}
	final := runs[:0:0]
	for _, r := range runs {
		// Other runs abandoned by a dead daemon belong to jobs the daemons
		// rescued and retried: the retry's outcome is what counts.
		if r.Status == metastore.RunAbandoned && !lastAttemptRun(discarded, r) {
			continue
		}
		if at, ok := attempt[r.Source]; ok && r.Status == metastore.RunFailed && !r.StartedAt.Before(at) {
			continue
		}
		final = append(final, r)
	}
	d.reconcile(ctx, alerts.KindRunFailed, alerts.FailedRuns(final), nil, &errs)
	d.reconcile(ctx, alerts.KindSlowRun, alerts.SlowRuns(final, alerts.SlowRunOptions{}), nil, &errs)
	quality, qerr := alerts.QualityWarnings(ctx, d.lake.Meta)
	d.reconcile(ctx, alerts.KindQuality, quality, qerr, &errs)
	if withDataLoss {
		loss, lerr := alerts.DataLoss(ctx, d.lake.Meta, d.lake.Store, alerts.DataLossOptions{})
		d.reconcile(ctx, alerts.KindDataLoss, loss, lerr, &errs)
	}
	if counts, err := d.lake.Meta.OpenAlertCounts(ctx); err == nil {
		for _, sev := range []string{metrics.SeverityCritical, metrics.SeverityHigh, metrics.SeverityMedium, metrics.SeverityLow} {
			d.metrics.SetOpenAlerts(sev, counts[sev])
		}
	} else {
		errs = append(errs, err)
	}
	if err := d.refreshDatasets(ctx); err != nil {
		errs = append(errs, err)
	}
	if rep, err := alerts.LoadSLO(ctx, d.lake.Meta, alerts.SLOOptions{}); err == nil {
		d.setSLO(rep)
	} else {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// lastAttemptRun reports whether run r was made by the last attempt of one
// of the discarded jobs.
func lastAttemptRun(discarded []scheduler.JobInfo, r metastore.Run) bool {
	for _, j := range discarded {
		if j.Source == r.Source && j.AttemptedAt != nil && j.FinalizedAt != nil &&
			!r.StartedAt.Before(*j.AttemptedAt) && !r.StartedAt.After(*j.FinalizedAt) {
			return true
		}
	}
	return false
}

// refreshDatasets updates each dataset's quality score (its newest
// validation) and the newest data time behind the freshness metric.
func (d *Daemon) refreshDatasets(ctx context.Context) error {
	vals, err := d.lake.Meta.ListValidations(ctx, metastore.ValidationFilter{Limit: 1000})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, v := range vals { // newest first
		if !seen[v.Dataset] {
			seen[v.Dataset] = true
			d.metrics.QualityScore(v.Dataset, v.Score)
		}
	}
	newest, err := d.lake.Meta.NewestFiles(ctx)
	if err != nil {
		return err
	}
	d.newestMu.Lock()
	d.newest = newest
	d.newestMu.Unlock()
	return nil
}

// scrubTask names the scrub in the metastore's maintenance schedule.
const scrubTask = "scrub"

// scrubLoop scrubs the lake every daemon.scrub_interval. The schedule is
// the lake's, kept in the metastore: a daemon restarted more often than
// the interval still scrubs on time, and daemons sharing a lake scrub it
// once per interval between them. The first daemon of a lake starts the
// schedule, so the first scrub comes an interval after it starts.
func (d *Daemon) scrubLoop(ctx context.Context) {
	every := d.cfg.Daemon.ScrubInterval
	if every <= 0 {
		return
	}
	// After a failure, or while another daemon scrubs, look again in a
	// while rather than at once.
	retry := min(every, time.Minute)
	for {
		var wait time.Duration
		last, err := d.lake.Meta.MaintenanceLast(ctx, scrubTask)
		if err == nil && last.IsZero() {
			last, err = d.lake.Meta.StartMaintenance(ctx, scrubTask, time.Now())
		}
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			d.log.Error("failed to read when the lake was last scrubbed", "error", err)
			wait = retry
		case time.Until(last.Add(every)) > 0:
			// Not due: look again when it is, in case another daemon
			// scrubbed meanwhile.
			wait = time.Until(last.Add(every))
		default:
			ran, err := d.scrub(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.Error("scrub failed", "error", err)
			}
			if err != nil || !ran {
				wait = retry
			}
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}

// Scrub reads every file the manifests list against its checksum
// (alerts.Damage) and reconciles the scrub's alerts: a corrupt file raises
// a critical data_damage alert, which the next scrub that finds the file
// intact resolves. One daemon scrubs at a time; while another does, Scrub
// returns at once.
func (d *Daemon) Scrub(ctx context.Context) error {
	_, err := d.scrub(ctx)
	return err
}

// scrub is Scrub, reporting whether this daemon scrubbed; one that did
// records it in the maintenance schedule.
func (d *Daemon) scrub(ctx context.Context) (bool, error) {
	unlock, err := d.lake.Meta.LockRun(ctx, scrubTask)
	if errors.Is(err, metastore.ErrLeaseHeld) {
		d.log.Info("another daemon is scrubbing the lake; this one skips its turn")
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer unlock()
	began := time.Now()
	damaged, err := alerts.Damage(ctx, d.lake.Meta, d.lake.Store)
	var errs []error
	d.reconcileKeys(ctx, alerts.KindDataLoss, alerts.DamageKeyPrefix, damaged, err, &errs)
	if err == nil {
		d.log.Info("scrubbed the lake", "damaged_datasets", len(damaged), "took", time.Since(began).Round(time.Millisecond))
		if err := d.lake.Meta.MaintenanceDone(ctx, scrubTask, began); err != nil {
			errs = append(errs, err)
		}
	}
	return true, errors.Join(errs...)
}

// reconcile applies one detector's result; a detector that failed leaves
// its alerts as they are.
func (d *Daemon) reconcile(ctx context.Context, kind string, firing []alerts.Condition, detectErr error, errs *[]error) {
	d.reconcileKeys(ctx, kind, kind+":", firing, detectErr, errs)
}

// reconcileKeys is reconcile over the alerts of kind whose key starts with
// prefix (alerts.Manager.ReconcileKeys).
func (d *Daemon) reconcileKeys(ctx context.Context, kind, prefix string, firing []alerts.Condition, detectErr error, errs *[]error) {
	if detectErr != nil {
		*errs = append(*errs, fmt.Errorf("%s check: %w", kind, detectErr))
		return
	}
	res, err := d.alerts.ReconcileKeys(ctx, kind, prefix, firing)
	if err != nil {
		*errs = append(*errs, err)
	}
	for _, a := range res.Opened {
		d.metrics.AlertRaised(a.Severity)
		d.log.Warn("alert raised", "alert", a.ID, "key", a.Key, "severity", a.Severity, "title", a.Title)
	}
	for _, a := range res.Resolved {
		d.log.Info("alert resolved: its condition cleared", "alert", a.ID, "key", a.Key)
	}
}

// setSLO exports the SLO figures.
func (d *Daemon) setSLO(rep alerts.SLOReport) {
	for _, s := range rep.Sources {
		if s.SuccessRate.Samples > 0 {
			d.metrics.SetSLOSuccessRatio(s.Source, s.SuccessRate.Value)
		}
		if s.Freshness.Samples > 0 {
			d.metrics.SetSLOFreshness(s.Source, time.Duration(s.Freshness.Value*float64(time.Second)))
		}
	}
	if rep.Overall.MTTD.Samples > 0 {
		d.metrics.SetSLOMTTD(time.Duration(rep.Overall.MTTD.Value * float64(time.Second)))
	}
	if rep.Overall.MTTR.Samples > 0 {
		d.metrics.SetSLOMTTR(time.Duration(rep.Overall.MTTR.Value * float64(time.Second)))
	}
}

// remediator carries out the alerting matrix's auto-remediation with the
// scheduler.
type remediator struct{ d *Daemon }

// Pause pauses the source, or every configured source when the alert
// names none (a staging or curated dataset).
func (r remediator) Pause(ctx context.Context, source, reason string) error {
	sources := []string{source}
	if source == "" {
		sources = slices.Sorted(maps.Keys(r.d.cfg.Sources))
	}
	var errs []error
	for _, s := range sources {
		if _, ok := r.d.cfg.Sources[s]; !ok {
			continue
		}
		if _, err := r.d.sched.Pause(ctx, s, "auto", reason); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Retry queues one more run of the source, which gets the scheduler's
// attempts (three).
func (r remediator) Retry(ctx context.Context, source string, attempts int) error {
	if _, ok := r.d.cfg.Sources[source]; !ok {
		return fmt.Errorf("source %q is not configured here", source)
	}
	_, err := r.d.sched.Trigger(ctx, source, scheduler.ModeIngest, scheduler.TriggerRemediation)
	return err
}
