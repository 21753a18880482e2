package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/bedrot-label/bedrot/host/metastore"
)

const pluginColumns = `kind, name, version, protocol_version, sha256, path, installed_at`

// UpsertPlugin records an installed plugin, replacing the entry of the same
// kind and name. A zero InstalledAt becomes now.
func (s *store) UpsertPlugin(ctx context.Context, p metastore.Plugin) error {
	if p.Kind == "" || p.Name == "" {
		return fmt.Errorf("failed to record plugin %q of kind %q: kind and name are required", p.Name, p.Kind)
	}
	if p.InstalledAt.IsZero() {
		p.InstalledAt = now()
	}
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO plugins (`+pluginColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (kind, name) DO UPDATE SET
			version = excluded.version,
			protocol_version = excluded.protocol_version,
			sha256 = excluded.sha256,
			path = excluded.path,
			installed_at = excluded.installed_at`,
		p.Kind, p.Name, p.Version, p.ProtocolVersion, p.SHA256, p.Path, s.timeArg(p.InstalledAt))
	if err != nil {
		return fmt.Errorf("failed to record %s plugin %q: %w", p.Kind, p.Name, err)
	}
	return nil
}

// GetPlugin returns an installed plugin, or metastore.ErrNotFound (wrapped).
func (s *store) GetPlugin(ctx context.Context, kind, name string) (metastore.Plugin, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+pluginColumns+` FROM plugins WHERE kind = $1 AND name = $2`, kind, name)
	p, err := scanPlugin(row)
	if errNoRows(err) {
		return metastore.Plugin{}, fmt.Errorf("failed to get %s plugin %q: %w", kind, name, metastore.ErrNotFound)
	}
	if err != nil {
		return metastore.Plugin{}, fmt.Errorf("failed to get %s plugin %q: %w", kind, name, err)
	}
	return p, nil
}

// ListPlugins returns the installed plugins ordered by kind and name.
func (s *store) ListPlugins(ctx context.Context) ([]metastore.Plugin, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+pluginColumns+` FROM plugins ORDER BY kind, name`)
	if err != nil {
		return nil, fmt.Errorf("failed to list plugins: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var ps []metastore.Plugin
	for rows.Next() {
		p, err := scanPlugin(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list plugins: %w", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list plugins: %w", err)
	}
	return ps, nil
}

// DeletePlugin forgets an installed plugin, or returns metastore.ErrNotFound
// (wrapped).
func (s *store) DeletePlugin(ctx context.Context, kind, name string) error {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM plugins WHERE kind = $1 AND name = $2`, kind, name)
	if err != nil {
		return fmt.Errorf("failed to delete %s plugin %q: %w", kind, name, err)
	}
	if err := expectRow(res); err != nil {
		return fmt.Errorf("failed to delete %s plugin %q: %w", kind, name, err)
	}
	return nil
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

func scanPlugin(r rowScanner) (metastore.Plugin, error) {
	var p metastore.Plugin
	err := r.Scan(&p.Kind, &p.Name, &p.Version, &p.ProtocolVersion, &p.SHA256, &p.Path, timeDest{&p.InstalledAt})
	return p, err
}

// expectRow returns metastore.ErrNotFound when a statement changed no row.
func expectRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("failed to count affected rows: %w", err)
	}
	if n == 0 {
		return metastore.ErrNotFound
	}
	return nil
}
