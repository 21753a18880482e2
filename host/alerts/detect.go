package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/notify"
	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// maxListedKeys bounds how many damaged keys a data loss alert's detail
// names.
const maxListedKeys = 20

// DataLossOptions tune DataLoss.
type DataLossOptions struct {
	// Deep also reads every object and compares its checksum with the
	// manifest's. It reads the whole lake: run it rarely (a nightly
	// scrub). Without it, only existence and size are checked.
	Deep bool
	// Datasets limits the check to these datasets (default: all).
	Datasets []string
}

// FileProblem is a file a manifest lists that storage does not hold as
// recorded.
type FileProblem struct {
	Key string `json:"key"`
	// Missing is set when storage does not hold the file at all.
	Missing bool `json:"missing"`
	// Corrupt is set when the file has the size the manifest recorded but
	// another checksum: only a deep check sees it.
	Corrupt bool `json:"corrupt"`
	// Problem says what is wrong: "missing", or the size or checksum storage
	// holds against what the manifest recorded.
	Problem string `json:"problem"`
}

// DatasetCheck is what CheckDataset found in one dataset.
type DatasetCheck struct {
	Dataset string `json:"dataset"`
	// Files and Bytes are what its manifest lists.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Deep is set when the files' checksums were checked too.
	Deep     bool          `json:"deep"`
	Problems []FileProblem `json:"problems"`
}

// CheckDataset checks that every file the dataset's manifest lists is in
// storage with the size (and with deep, the checksum) the manifest
// recorded. Storage errors other than a missing object stop the check and
// are returned: they say nothing about the data.
func CheckDataset(ctx context.Context, meta metastore.Store, st storage.Store, dataset string, deep bool) (DatasetCheck, error) {
	out := DatasetCheck{Dataset: dataset, Deep: deep, Problems: []FileProblem{}}
	files, err := meta.ListFiles(ctx, dataset)
	if err != nil {
		return out, fmt.Errorf("failed to check %s: %w", dataset, err)
	}
	for _, f := range files {
		out.Files++
		out.Bytes += f.Size
		p, err := checkFile(ctx, st, f, deep)
		if err != nil {
			return out, fmt.Errorf("failed to check %s: %w", dataset, err)
		}
		if p != nil {
			out.Problems = append(out.Problems, *p)
		}
	}
	return out, nil
}

// DataLoss checks that every file a manifest lists is in storage with the
// size (and with opts.Deep, the checksum) the manifest recorded
// (CheckDataset). It returns one critical condition per damaged dataset,
// keyed "data_loss:<dataset>", naming the dataset and the missing or
// damaged keys.
func DataLoss(ctx context.Context, meta metastore.Store, st storage.Store, opts DataLossOptions) ([]Condition, error) {
	datasets := opts.Datasets
	if len(datasets) == 0 {
		var err error
		if datasets, err = meta.ListDatasets(ctx); err != nil {
			return nil, fmt.Errorf("failed to check for data loss: %w", err)
		}
	}
	var out []Condition
	for _, ds := range datasets {
		c, err := CheckDataset(ctx, meta, st, ds, opts.Deep)
		if err != nil {
			return nil, fmt.Errorf("failed to check for data loss: %w", err)
		}
		if len(c.Problems) == 0 {
			continue
		}
		missing := 0
		for _, p := range c.Problems {
			if p.Missing {
				missing++
			}
		}
		detail := listProblems(c.Problems) + "\nThe manifest lists these files but storage does not hold them as recorded. " +
			"Restore them from a backup or rebuild the dataset (bedrot replay) before resuming the pipeline."
		out = append(out, Condition{
			Key: KindDataLoss + ":" + ds, Kind: KindDataLoss, Severity: notify.Critical,
			Title:   fmt.Sprintf("Data loss in %s: %d of %d files missing or damaged", ds, len(c.Problems), c.Files),
			Detail:  detail,
			Source:  sourceOfDataset(ds),
			Dataset: ds,
			Details: map[string]string{"dataset": ds, "files": strconv.Itoa(c.Files), "missing": strconv.Itoa(missing),
				"damaged": strconv.Itoa(len(c.Problems) - missing), "first_key": c.Problems[0].Key, "checked": Checked(opts.Deep)},
		})
	}
	return out, nil
}

// checkFile returns what is wrong with f, or nil when storage holds it as
// its manifest recorded.
func checkFile(ctx context.Context, st storage.Store, f metastore.File, deep bool) (*FileProblem, error) {
	missing := &FileProblem{Key: f.Key, Missing: true, Problem: "missing"}
	info, err := st.Stat(ctx, f.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return missing, nil
	}
	if err != nil {
		return nil, err
	}
	if info.Size != f.Size {
		return &FileProblem{Key: f.Key, Problem: fmt.Sprintf("size %d bytes, the manifest recorded %d", info.Size, f.Size)}, nil
	}
	if !deep {
		return nil, nil
	}
	obj, err := st.Open(ctx, f.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return missing, nil
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = obj.Close() }()
	h, err := digest.For(f.Digest)
	if err != nil {
		return &FileProblem{Key: f.Key, Corrupt: true, Problem: fmt.Sprintf("the manifest records no usable checksum: %v", err)}, nil
	}
	if _, err := io.Copy(h, obj); err != nil {
		return nil, fmt.Errorf("failed to read %s: %w", f.Key, err)
	}
	if sum := h.String(); !digest.Equal(sum, f.Digest) {
		return &FileProblem{Key: f.Key, Corrupt: true,
			Problem: fmt.Sprintf("checksum %s, the manifest recorded %s (checksum mismatch)", sum, f.Digest)}, nil
	}
	return nil, nil
}

// listProblems is an alert's list of problem files: the first
// maxListedKeys, then how many more.
func listProblems(problems []FileProblem) string {
	lines := make([]string, 0, min(len(problems), maxListedKeys))
	for _, p := range problems[:min(len(problems), maxListedKeys)] {
		lines = append(lines, p.Key+": "+p.Problem)
	}
	detail := strings.Join(lines, "\n")
	if len(problems) > maxListedKeys {
		detail += fmt.Sprintf("\n… and %d more", len(problems)-maxListedKeys)
	}
	return detail
}

// Checked names what a check looked at, deep (reading the files) or not.
func Checked(deep bool) string {
	if deep {
		return "existence, size and checksum"
	}
	return "existence and size"
}

// DamageKeyPrefix starts the keys of the scrub's alerts ("data_damage:
// <dataset>"). They are of KindDataLoss (critical; the source is paused),
// but only the next scrub resolves them: the quick data loss check, which
// does not read the files, cannot tell that they cleared.
const DamageKeyPrefix = "data_damage:"

// Damage reads every file the manifests list (CheckDataset, deep) and
// returns one critical condition per dataset holding corrupt files: the
// size its manifest recorded, another checksum (bit rot, a replaced object).
// Missing and resized files are DataLoss's conditions, so that one problem
// raises one alert.
func Damage(ctx context.Context, meta metastore.Store, st storage.Store) ([]Condition, error) {
	datasets, err := meta.ListDatasets(ctx)
	if err != nil {
		return nil, fmt.Errorf("failed to scrub: %w", err)
	}
	var out []Condition
	for _, ds := range datasets {
		c, err := CheckDataset(ctx, meta, st, ds, true)
		if err != nil {
			return nil, fmt.Errorf("failed to scrub: %w", err)
		}
		var corrupt []FileProblem
		for _, p := range c.Problems {
			if p.Corrupt {
				corrupt = append(corrupt, p)
			}
		}
		if len(corrupt) == 0 {
			continue
		}
		detail := listProblems(corrupt) + "\nStorage holds these files with the size the manifest recorded but other bytes. " +
			"Restore them from a backup or rebuild the dataset (bedrot replay) before resuming the pipeline; bedrot scrub checks again."
		out = append(out, Condition{
			Key: DamageKeyPrefix + ds, Kind: KindDataLoss, Severity: notify.Critical,
			Title:   fmt.Sprintf("Damaged files in %s: %d of %d no longer match their checksum", ds, len(corrupt), c.Files),
			Detail:  detail,
			Source:  sourceOfDataset(ds),
			Dataset: ds,
			Details: map[string]string{"dataset": ds, "files": strconv.Itoa(c.Files), "damaged": strconv.Itoa(len(corrupt)),
				"first_key": corrupt[0].Key, "checked": "checksum (scrub)"},
		})
	}
	return out, nil
}

// sourceOfDataset is the source a dataset belongs to ("spotify" for
// "raw.spotify.streams", "landing.spotify" or "quarantine.spotify"), or ""
// for staging and curated datasets, which combine sources.
func sourceOfDataset(ds string) string {
	parts := strings.SplitN(ds, ".", 3)
	if len(parts) >= 2 {
		switch parts[0] {
		case "landing", "raw", "quarantine":
			return parts[1]
		}
	}
	return ""
}

// failedRunStatuses are the final statuses FailedRuns alerts on: a run
// that failed, or whose process died (abandoned).
var failedRunStatuses = map[string]bool{metastore.RunFailed: true, metastore.RunAbandoned: true}

// FinishedRuns loads up to limit of the newest runs that have finished
// (any final status), newest first; limit 0 means 1000. The daemon drops
// the failed runs it will still retry before passing them to FailedRuns.
func FinishedRuns(ctx context.Context, meta metastore.Store, limit int) ([]metastore.Run, error) {
	if limit <= 0 {
		limit = 1000
	}
	runs, err := meta.ListRuns(ctx, metastore.RunFilter{Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("failed to load runs: %w", err)
	}
	out := runs[:0]
	for _, r := range runs {
		if r.FinishedAt != nil && r.Status != metastore.RunRunning {
			out = append(out, r)
		}
	}
	return out, nil
}

// newestFirst sorts finished runs by finish time, newest first.
func newestFirst(runs []metastore.Run) []metastore.Run {
	out := make([]metastore.Run, 0, len(runs))
	for _, r := range runs {
		if r.FinishedAt != nil && r.Status != metastore.RunRunning {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b metastore.Run) int {
		return cmp.Or(b.FinishedAt.Compare(*a.FinishedAt), b.StartedAt.Compare(a.StartedAt), strings.Compare(b.ID, a.ID))
	})
	return out
}

// bySource groups runs by source, keeping their order, sources sorted.
func bySource(runs []metastore.Run) ([]string, map[string][]metastore.Run) {
	groups := map[string][]metastore.Run{}
	for _, r := range runs {
		groups[r.Source] = append(groups[r.Source], r)
	}
	sources := make([]string, 0, len(groups))
	for s := range groups {
		sources = append(sources, s)
	}
	slices.Sort(sources)
	return sources, groups
}

// FailedRuns returns a high condition, keyed "run_failed:<source>", for
// every source whose newest finished run failed or was abandoned. Pass
// final runs only: a failed run the scheduler will still retry is not an
// alert yet. The condition clears when the source's newest run succeeded
// (fully or partially).
func FailedRuns(runs []metastore.Run) []Condition {
	sources, groups := bySource(newestFirst(runs))
	var out []Condition
	for _, src := range sources {
		rs := groups[src]
		newest := rs[0]
		if !failedRunStatuses[newest.Status] {
			continue
		}
		// The condition began when the first run of the failing streak
		// finished.
		streak, began := 0, *newest.FinishedAt
		for _, r := range rs {
			if !failedRunStatuses[r.Status] {
				break
			}
			streak, began = streak+1, *r.FinishedAt
		}
		detail := fmt.Sprintf("Run %s (%s) %s at %s", newest.ID, newest.Kind, newest.Status, newest.FinishedAt.UTC().Format(time.RFC3339))
		if newest.Error != "" {
			detail += ": " + newest.Error
		}
		if streak > 1 {
			detail += fmt.Sprintf("\nThe last %d runs of %s did not succeed.", streak, src)
		}
		detail += fmt.Sprintf("\nSee bedrot runs %s for what to do.", newest.ID)
		out = append(out, Condition{
			Key: KindRunFailed + ":" + src, Kind: KindRunFailed, Severity: notify.High,
			Title:  fmt.Sprintf("%s run %s", src, newest.Status),
			Detail: detail, Source: src, RunID: newest.ID, Since: began,
			Details: map[string]string{"status": newest.Status, "failed_in_a_row": strconv.Itoa(streak)},
		})
	}
	return out
}

// QualityWarnings returns a medium condition, keyed "quality:<dataset>",
// for every dataset whose newest validation did not pass. It clears when a
// newer validation passes.
func QualityWarnings(ctx context.Context, meta metastore.Store) ([]Condition, error) {
	const recent = 1000
	vals, err := meta.ListValidations(ctx, metastore.ValidationFilter{Limit: recent})
	if err != nil {
		return nil, fmt.Errorf("failed to check data quality: %w", err)
	}
	newest := map[string]metastore.Validation{}
	for _, v := range vals { // newest first
		if _, ok := newest[v.Dataset]; !ok {
			newest[v.Dataset] = v
		}
	}
	if len(vals) == recent {
		// Datasets validated long ago may lie beyond the recent ones.
		datasets, err := meta.ListDatasets(ctx)
		if err != nil {
			return nil, fmt.Errorf("failed to check data quality: %w", err)
		}
		for _, ds := range datasets {
			if _, ok := newest[ds]; ok {
				continue
			}
			vs, err := meta.ListValidations(ctx, metastore.ValidationFilter{Dataset: ds, Limit: 1})
			if err != nil {
				return nil, fmt.Errorf("failed to check data quality of %s: %w", ds, err)
			}
			if len(vs) == 1 {
				newest[ds] = vs[0]
			}
		}
	}
	datasets := make([]string, 0, len(newest))
	for ds := range newest {
		datasets = append(datasets, ds)
	}
	slices.Sort(datasets)
	var out []Condition
	for _, ds := range datasets {
		v := newest[ds]
		if v.Success {
			continue
		}
		out = append(out, Condition{
			Key: KindQuality + ":" + ds, Kind: KindQuality, Severity: notify.Medium,
			Title: fmt.Sprintf("Data quality warning: %s does not meet suite %s", ds, v.Suite),
			Detail: fmt.Sprintf("Validation %s at %s: quality score %.3f over %d rows.\nSee bedrot quality results %s for the failed expectations.",
				v.ID, v.FinishedAt.UTC().Format(time.RFC3339), v.Score, v.Rows, v.ID),
			Source: sourceOfDataset(ds), Dataset: ds, RunID: v.RunID, Since: v.FinishedAt,
			Details: map[string]string{"validation_id": v.ID, "suite": v.Suite, "score": strconv.FormatFloat(v.Score, 'f', 3, 64)},
		})
	}
	return out, nil
}

// SlowRunOptions tune SlowRuns.
type SlowRunOptions struct {
	// Factor: a run is slow when it took more than Factor times the median
	// of the previous runs (default 3).
	Factor float64
	// Window is how many previous succeeded runs the median is taken over
	// (default 10); fewer than MinHistory (default 5, at least 1) and the
	// source is not judged.
	Window, MinHistory int
}

func (o SlowRunOptions) withDefaults() SlowRunOptions {
	if o.Factor <= 0 {
		o.Factor = 3
	}
	if o.Window <= 0 {
		o.Window = 10
	}
	if o.MinHistory <= 0 {
		o.MinHistory = 5
	}
	o.Window = max(o.Window, o.MinHistory)
	return o
}

// SlowRuns returns a low condition, keyed "slow_run:<source>", for every
// source whose newest succeeded run took more than Factor times the median
// duration (finish minus start) of its previous Window succeeded runs. It
// clears when the newest succeeded run is back within bounds.
func SlowRuns(runs []metastore.Run, opts SlowRunOptions) []Condition {
	opts = opts.withDefaults()
	sources, groups := bySource(newestFirst(runs))
	var out []Condition
	for _, src := range sources {
		var ok []metastore.Run
		for _, r := range groups[src] {
			if r.Status == metastore.RunSucceeded {
				ok = append(ok, r)
			}
		}
		if len(ok) < 1+opts.MinHistory {
			continue
		}
		newest, prev := ok[0], ok[1:min(len(ok), 1+opts.Window)]
		durations := make([]time.Duration, len(prev))
		for i, r := range prev {
			durations[i] = r.FinishedAt.Sub(r.StartedAt)
		}
		med := median(durations)
		took := newest.FinishedAt.Sub(newest.StartedAt)
		if med <= 0 || float64(took) <= opts.Factor*float64(med) {
			continue
		}
		ratio := float64(took) / float64(med)
		out = append(out, Condition{
			Key: KindSlowRun + ":" + src, Kind: KindSlowRun, Severity: notify.Low,
			Title: fmt.Sprintf("%s run took %.1fx its median", src, ratio),
			Detail: fmt.Sprintf("Run %s took %s; the median of the %d succeeded runs before it is %s (alert above %gx).",
				newest.ID, took.Round(time.Second), len(prev), med.Round(time.Second), opts.Factor),
			Source: src, RunID: newest.ID, Since: *newest.FinishedAt,
			Details: map[string]string{"duration_seconds": strconv.FormatFloat(took.Seconds(), 'f', 0, 64),
				"median_seconds": strconv.FormatFloat(med.Seconds(), 'f', 0, 64), "ratio": strconv.FormatFloat(ratio, 'f', 1, 64)},
		})
	}
	return out
}

// median of durations (the mean of the middle two for an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
