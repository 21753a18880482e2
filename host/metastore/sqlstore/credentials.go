package sqlstore

import (
	"context"
	"fmt"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// PutCredential inserts or replaces a source's sealed credential.
func (s *store) PutCredential(ctx context.Context, c metastore.Credential) error {
	if c.Source == "" || c.Key == "" || len(c.Sealed) == 0 {
		return fmt.Errorf("failed to store credential %q of source %q: source, key and sealed value are required", c.Key, c.Source)
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = now()
	}
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO credentials (source, key, sealed, base, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (source, key) DO UPDATE SET
			sealed = excluded.sealed,
			base = excluded.base,
			updated_at = excluded.updated_at`,
		c.Source, c.Key, c.Sealed, c.Base, s.timeArg(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("failed to store credential %q of source %q: %w", c.Key, c.Source, err)
	}
	return nil
}

// Credentials returns a source's sealed credentials keyed by key.
func (s *store) Credentials(ctx context.Context, source string) (map[string]metastore.Credential, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, key, sealed, base, updated_at
		FROM credentials WHERE source = $1`, source)
	if err != nil {
		return nil, fmt.Errorf("failed to read stored credentials of source %q: %w", source, err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]metastore.Credential{}
	for rows.Next() {
		var c metastore.Credential
		if err := rows.Scan(&c.Source, &c.Key, &c.Sealed, &c.Base, timeDest{&c.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("failed to read stored credentials of source %q: %w", source, err)
		}
		out[c.Key] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read stored credentials of source %q: %w", source, err)
	}
	return out, nil
}

// DeleteCredential forgets a stored credential.
func (s *store) DeleteCredential(ctx context.Context, source, key string) error {
	if _, err := s.wdb.ExecContext(ctx, `DELETE FROM credentials WHERE source = $1 AND key = $2`, source, key); err != nil {
		return fmt.Errorf("failed to delete credential %q of source %q: %w", key, source, err)
	}
	return nil
}
