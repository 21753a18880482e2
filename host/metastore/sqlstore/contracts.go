package sqlstore

import (
	"context"
	"fmt"

	"github.com/bedrot-label/bedrot/host/metastore"
)

const contractColumns = `dataset, version, origin, reason, file_hash, spec, created_at`

// AddContractVersion records the next version of a dataset's contract. The
// number is assigned in the INSERT itself; a concurrent writer that took it
// first makes this one try the next.
func (s *store) AddContractVersion(ctx context.Context, v metastore.ContractVersion) (int, error) {
	if v.Dataset == "" || len(v.Spec) == 0 {
		return 0, fmt.Errorf("failed to record a contract of %q: dataset and spec are required", v.Dataset)
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = now()
	}
	spec, err := jsonArg(v.Spec)
	if err != nil {
		return 0, fmt.Errorf("failed to record a contract of %s: %w", v.Dataset, err)
	}
	var lastErr error
	for range 20 {
		var version int
		lastErr = s.wdb.QueryRowContext(ctx, `INSERT INTO contracts (`+contractColumns+`)
			SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6 FROM contracts WHERE dataset = $1
			RETURNING version`,
			v.Dataset, v.Origin, v.Reason, v.FileHash, spec, s.timeArg(v.CreatedAt)).Scan(&version)
		if lastErr == nil {
			return version, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return 0, fmt.Errorf("failed to record a contract of %s: %w", v.Dataset, lastErr)
}

func (s *store) scanContracts(ctx context.Context, q string, args ...any) ([]metastore.ContractVersion, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to read contracts: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []metastore.ContractVersion
	for rows.Next() {
		var v metastore.ContractVersion
		if err := rows.Scan(&v.Dataset, &v.Version, &v.Origin, &v.Reason, &v.FileHash, (*[]byte)(&v.Spec), timeDest{&v.CreatedAt}); err != nil {
			return nil, fmt.Errorf("failed to read contracts: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read contracts: %w", err)
	}
	return out, nil
}

// ContractVersions returns a dataset's versions, oldest first.
func (s *store) ContractVersions(ctx context.Context, dataset string) ([]metastore.ContractVersion, error) {
	return s.scanContracts(ctx, `SELECT `+contractColumns+` FROM contracts WHERE dataset = $1 ORDER BY version`, dataset)
}

// LatestContracts returns the newest version of every contract.
func (s *store) LatestContracts(ctx context.Context) ([]metastore.ContractVersion, error) {
	return s.scanContracts(ctx, `SELECT `+contractColumns+` FROM contracts c
		WHERE version = (SELECT MAX(version) FROM contracts WHERE dataset = c.dataset) ORDER BY dataset`)
}
