package lake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bedrot-label/bedrot/host/marts"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/sqlengine"
	"github.com/bedrot-label/bedrot/host/staging"
)

// ErrMarts wraps a problem with the marts' definitions (curated.marts_dir).
var ErrMarts = errors.New("marts")

// Build brings staging (the given domains, or all) and, unless stagingOnly,
// the marts up to date, and records the lineage. Builds are serialised
// across processes (one lease), so that two daemons finishing ingests at
// once build one after the other.
func (l *Lake) Build(ctx context.Context, domains []string, stagingOnly bool) (staging.Result, []marts.Result, error) {
	unlock, err := metastore.WaitLock(ctx, l.Meta, "build", 200*time.Millisecond)
	if err != nil {
		return staging.Result{}, nil, err
	}
	defer unlock()
	started := time.Now().UTC()
	eng, err := sqlengine.New(sqlengine.Options{Store: l.Store, Meta: l.Meta})
	if err != nil {
		return staging.Result{}, nil, err
	}
	st, err := staging.Build(ctx, staging.Deps{Store: l.Store, Meta: l.Meta, Engine: eng, Logger: l.Logger, Quality: l.Quality}, staging.Options{Domains: domains})
	if err != nil {
		return st, nil, err
	}
	var built []marts.Result
	if !stagingOnly {
		defs, err := marts.LoadDir(l.Config.Curated.MartsDir)
		if err != nil {
			return st, nil, fmt.Errorf("%w: %w", ErrMarts, err)
		}
		if built, err = marts.Build(ctx, marts.Deps{Store: l.Store, Meta: l.Meta, Engine: eng, Logger: l.Logger}, defs); err != nil {
			return st, built, err
		}
	}
	l.BuildLineage(ctx, st, built, started, time.Now().UTC())
	return st, built, nil
}
