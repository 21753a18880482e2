package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
)

const fileColumns = `dataset, object_key, size, digest, row_count, batch_id, run_id, meta, added_at`

// AddPending announces files about to be written by a run, reserving the
// keys: a key another run announced first fails the whole call with
// metastore.ErrKeyTaken.
func (s *store) AddPending(ctx context.Context, runID string, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to add pending files of run %q: %w", runID, err)
	}
	defer func() { _ = tx.Rollback() }()
	at := s.timeArg(now())
	for _, k := range keys {
		if k == "" {
			return fmt.Errorf("failed to add pending files of run %q: empty key", runID)
		}
	}
	for chunk := range slices.Chunk(keys, maxRowsPerStatement) {
		args := make([]any, 0, 3*len(chunk))
		for _, k := range chunk {
			args = append(args, k, runID, at)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pending_files (object_key, run_id, created_at)
			VALUES `+s.valuesList(len(chunk), 3)+` ON CONFLICT (object_key) DO NOTHING`, args...); err != nil {
			return fmt.Errorf("failed to add %d pending files of run %q: %w", len(chunk), runID, err)
		}
		owned := make([]any, 0, len(chunk)+1)
		owned = append(owned, runID)
		for _, k := range chunk {
			owned = append(owned, k)
		}
		var taken string
		err := tx.QueryRowContext(ctx, `SELECT object_key FROM pending_files WHERE run_id <> `+s.param(1)+
			` AND object_key IN (`+s.inListFrom(2, len(chunk))+`) LIMIT 1`, owned...).Scan(&taken)
		switch {
		case err == nil:
			return fmt.Errorf("failed to add pending files of run %q: %q: %w", runID, taken, metastore.ErrKeyTaken)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("failed to add pending files of run %q: %w", runID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to add pending files of run %q: %w", runID, err)
	}
	return nil
}

// DropPending forgets pending files. Keys not pending are ignored.
func (s *store) DropPending(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to drop pending files: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.dropPending(ctx, tx, keys); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to drop pending files: %w", err)
	}
	return nil
}

// consumePending drops the run's pending entries of keys and fails with
// ErrFenced unless every one of them was still there.
func (s *store) consumePending(ctx context.Context, tx *sql.Tx, runID string, keys []string) error {
	var consumed int64
	for chunk := range slices.Chunk(keys, maxRowsPerStatement) {
		args := make([]any, 0, len(chunk)+1)
		args = append(args, runID)
		for _, k := range chunk {
			args = append(args, k)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM pending_files WHERE run_id = `+s.param(1)+` AND object_key IN (`+s.inListFrom(2, len(chunk))+`)`, args...)
		if err != nil {
			return fmt.Errorf("failed to consume %d pending files of run %q: %w", len(chunk), runID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("failed to consume pending files of run %q: %w", runID, err)
		}
		consumed += n
	}
	if consumed != int64(len(keys)) {
		return fmt.Errorf("failed to commit run %q: %d of its %d files are no longer pending: %w", runID, int64(len(keys))-consumed, len(keys), metastore.ErrFenced)
	}
	return nil
}

// ClaimPending removes a pending entry and reports whether it was there.
func (s *store) ClaimPending(ctx context.Context, key string) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM pending_files WHERE object_key = $1`, key)
	if err != nil {
		return false, fmt.Errorf("failed to claim pending file %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("failed to claim pending file %q: %w", key, err)
	}
	return n == 1, nil
}

func (s *store) dropPending(ctx context.Context, tx *sql.Tx, keys []string) error {
	for chunk := range slices.Chunk(keys, maxRowsPerStatement) {
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_files WHERE object_key IN (`+s.inList(len(chunk))+`)`,
			args...); err != nil {
			return fmt.Errorf("failed to drop %d pending files: %w", len(chunk), err)
		}
	}
	return nil
}

// ListPending returns every pending file, oldest first.
func (s *store) ListPending(ctx context.Context) ([]metastore.Pending, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT object_key, run_id, created_at FROM pending_files ORDER BY created_at, object_key`)
	if err != nil {
		return nil, fmt.Errorf("failed to list pending files: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var ps []metastore.Pending
	for rows.Next() {
		var p metastore.Pending
		if err := rows.Scan(&p.Key, &p.RunID, timeDest{&p.CreatedAt}); err != nil {
			return nil, fmt.Errorf("failed to list pending files: %w", err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list pending files: %w", err)
	}
	return ps, nil
}

// HasBatch reports whether the dataset already holds the batch.
func (s *store) HasBatch(ctx context.Context, dataset, batchID string) (bool, error) {
	var has bool
	err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM batches WHERE dataset = $1 AND batch_id = $2)`,
		dataset, batchID).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("failed to look up batch %q of dataset %q: %w", batchID, dataset, err)
	}
	return has, nil
}

// Commit applies c in one transaction. Rows are written in a fixed order
// (datasets, batches and states sorted) so that concurrent commits on
// PostgreSQL cannot deadlock. Empty RunIDs of batches, files and states
// become c.RunID; zero times become the commit time.
func (s *store) Commit(ctx context.Context, c metastore.Commit) ([]metastore.File, error) {
	if err := validateCommit(c); err != nil {
		return nil, fmt.Errorf("failed to commit run %q: %w", c.RunID, err)
	}
	at := now()

	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to commit run %q: %w", c.RunID, err)
	}
	defer func() { _ = tx.Rollback() }()

	datasets := map[string]bool{}
	for _, b := range c.Batches {
		datasets[b.Dataset] = true
	}
	for _, f := range c.Files {
		datasets[f.Dataset] = true
	}
	for _, name := range slices.Sorted(maps.Keys(datasets)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO datasets (name, created_at) VALUES ($1, $2)
			ON CONFLICT (name) DO NOTHING`, name, s.timeArg(at)); err != nil {
			return nil, fmt.Errorf("failed to create dataset %q: %w", name, err)
		}
	}

	batches := slices.Clone(c.Batches)
	slices.SortFunc(batches, func(a, b metastore.Batch) int {
		return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(a.ID, b.ID))
	})
	var replaced []metastore.File
	for _, b := range batches {
		runID := cmp.Or(b.RunID, c.RunID)
		if !c.Replace {
			res, err := tx.ExecContext(ctx, `INSERT INTO batches (dataset, batch_id, run_id, row_count, committed_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dataset, batch_id) DO NOTHING`,
				b.Dataset, b.ID, runID, b.Rows, s.timeArg(at))
			if err != nil {
				return nil, fmt.Errorf("failed to insert batch %q of dataset %q: %w", b.ID, b.Dataset, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return nil, fmt.Errorf("failed to insert batch %q of dataset %q: %w", b.ID, b.Dataset, err)
			} else if n == 0 {
				return nil, fmt.Errorf("failed to commit batch %q of dataset %q: %w", b.ID, b.Dataset, metastore.ErrDuplicateBatch)
			}
			continue
		}
		// The upsert locks the batch row first, so concurrent replacements
		// of one batch take turns and each sees the files of the last.
		if _, err := tx.ExecContext(ctx, `INSERT INTO batches (dataset, batch_id, run_id, row_count, committed_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dataset, batch_id) DO UPDATE SET
				run_id = excluded.run_id, row_count = excluded.row_count, committed_at = excluded.committed_at`,
			b.Dataset, b.ID, runID, b.Rows, s.timeArg(at)); err != nil {
			return nil, fmt.Errorf("failed to replace batch %q of dataset %q: %w", b.ID, b.Dataset, err)
		}
		old, err := s.deleteBatchFiles(ctx, tx, b.Dataset, b.ID)
		if err != nil {
			return nil, err
		}
		replaced = append(replaced, old...)
	}

	for chunk := range slices.Chunk(c.Files, maxRowsPerStatement) {
		args := make([]any, 0, 9*len(chunk))
		for _, f := range chunk {
			meta, err := jsonArg(f.Meta)
			if err != nil {
				return nil, fmt.Errorf("failed to add file %q to dataset %q: meta: %w", f.Key, f.Dataset, err)
			}
			added := f.AddedAt
			if added.IsZero() {
				added = at
			}
			args = append(args, f.Dataset, f.Key, f.Size, f.Digest, f.Rows, f.BatchID,
				cmp.Or(f.RunID, c.RunID), meta, s.timeArg(added))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO manifest_files (`+fileColumns+`)
			VALUES `+s.valuesList(len(chunk), 9), args...); err != nil {
			return nil, fmt.Errorf("failed to add files %q…%q to manifests: %w",
				chunk[0].Key, chunk[len(chunk)-1].Key, err)
		}
	}
	keys := make([]string, len(c.Files))
	for i, f := range c.Files {
		keys[i] = f.Key
	}
	if c.Fenced {
		if err := s.consumePending(ctx, tx, c.RunID, keys); err != nil {
			return nil, err
		}
	} else if err := s.dropPending(ctx, tx, keys); err != nil {
		return nil, err
	}

	states := slices.Clone(c.States)
	slices.SortFunc(states, func(a, b metastore.StreamState) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Stream, b.Stream))
	})
	for _, st := range states {
		updated := st.UpdatedAt
		if updated.IsZero() {
			updated = at
		}
		state := st.State
		if state == nil {
			state = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO stream_state (source, stream, state, run_id, updated_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, stream) DO UPDATE SET
				state = excluded.state, run_id = excluded.run_id, updated_at = excluded.updated_at`,
			st.Source, st.Stream, state, cmp.Or(st.RunID, c.RunID), s.timeArg(updated)); err != nil {
			return nil, fmt.Errorf("failed to save state of stream %q of source %q: %w", st.Stream, st.Source, err)
		}
	}

	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("failed to commit run %q: %w", c.RunID, err)
	}

	// A replaced file whose key the commit lists again stays in the lake.
	relisted := map[string]bool{}
	for _, f := range c.Files {
		relisted[f.Key] = true
	}
	replaced = slices.DeleteFunc(replaced, func(f metastore.File) bool { return relisted[f.Key] })
	slices.SortFunc(replaced, func(a, b metastore.File) int { return cmp.Compare(a.Key, b.Key) })
	return replaced, nil
}

// deleteBatchFiles removes a batch's files from its dataset's manifest and
// returns them.
func (s *store) deleteBatchFiles(ctx context.Context, tx *sql.Tx, dataset, batchID string) ([]metastore.File, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM manifest_files WHERE dataset = $1 AND batch_id = $2
		RETURNING `+fileColumns, dataset, batchID)
	if err != nil {
		return nil, fmt.Errorf("failed to remove files of batch %q from dataset %q: %w", batchID, dataset, err)
	}
	defer func() { _ = rows.Close() }()
	var files []metastore.File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to remove files of batch %q from dataset %q: %w", batchID, dataset, err)
		}
		files = append(files, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to remove files of batch %q from dataset %q: %w", batchID, dataset, err)
	}
	return files, nil
}

// validateCommit checks what the schema cannot.
func validateCommit(c metastore.Commit) error {
	for _, b := range c.Batches {
		if b.Dataset == "" || b.ID == "" {
			return fmt.Errorf("batch %q of dataset %q: dataset and ID are required", b.ID, b.Dataset)
		}
	}
	for _, f := range c.Files {
		if f.Dataset == "" || f.Key == "" {
			return fmt.Errorf("file %q of dataset %q: dataset and key are required", f.Key, f.Dataset)
		}
	}
	for _, st := range c.States {
		if st.Source == "" || st.Stream == "" {
			return fmt.Errorf("state of stream %q of source %q: source and stream are required", st.Stream, st.Source)
		}
	}
	return nil
}

// ListDatasets returns dataset names, sorted.
func (s *store) ListDatasets(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM datasets ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("failed to list datasets: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("failed to list datasets: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list datasets: %w", err)
	}
	return names, nil
}

// ListFiles returns a dataset's manifest in key order, or
// metastore.ErrNotFound (wrapped) if the dataset does not exist.
func (s *store) ListFiles(ctx context.Context, dataset string) ([]metastore.File, error) {
	// Reading the dataset and its files in one statement gives one snapshot.
	rows, err := s.db.QueryContext(ctx, `SELECT d.name, f.object_key, f.size, f.digest, f.row_count,
			f.batch_id, f.run_id, f.meta, f.added_at
		FROM datasets d LEFT JOIN manifest_files f ON f.dataset = d.name
		WHERE d.name = $1 ORDER BY f.object_key`, dataset)
	if err != nil {
		return nil, fmt.Errorf("failed to list files of dataset %q: %w", dataset, err)
	}
	defer func() { _ = rows.Close() }()
	found := false
	var files []metastore.File
	for rows.Next() {
		found = true
		var (
			f                    metastore.File
			key, sha, batch, run sql.NullString
			size, nrows          sql.NullInt64
			added                *time.Time
		)
		if err := rows.Scan(&f.Dataset, &key, &size, &sha, &nrows, &batch, &run, (*[]byte)(&f.Meta),
			nullTimeDest{&added}); err != nil {
			return nil, fmt.Errorf("failed to list files of dataset %q: %w", dataset, err)
		}
		if !key.Valid {
			continue // the dataset has no files
		}
		f.Key, f.Size, f.Digest, f.Rows = key.String, size.Int64, sha.String, nrows.Int64
		f.BatchID, f.RunID = batch.String, run.String
		if added != nil {
			f.AddedAt = *added
		}
		files = append(files, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list files of dataset %q: %w", dataset, err)
	}
	if !found {
		return nil, fmt.Errorf("failed to list files of dataset %q: %w", dataset, metastore.ErrNotFound)
	}
	return files, nil
}

// NewestFiles returns when each dataset's newest file was added.
func (s *store) NewestFiles(ctx context.Context) (map[string]time.Time, error) {
	// SQLite keeps times as fixed-width UTC text, so MAX is the newest.
	rows, err := s.db.QueryContext(ctx, `SELECT dataset, MAX(added_at) FROM manifest_files GROUP BY dataset`)
	if err != nil {
		return nil, fmt.Errorf("failed to find the newest file of each dataset: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			ds    string
			added time.Time
		)
		if err := rows.Scan(&ds, timeDest{&added}); err != nil {
			return nil, fmt.Errorf("failed to find the newest file of each dataset: %w", err)
		}
		out[ds] = added
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to find the newest file of each dataset: %w", err)
	}
	return out, nil
}

func scanFile(r rowScanner) (metastore.File, error) {
	var f metastore.File
	err := r.Scan(&f.Dataset, &f.Key, &f.Size, &f.Digest, &f.Rows, &f.BatchID, &f.RunID,
		(*[]byte)(&f.Meta), timeDest{&f.AddedAt})
	return f, err
}

// FileListed reports whether any manifest lists key.
func (s *store) FileListed(ctx context.Context, key string) (bool, error) {
	var listed bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM manifest_files WHERE object_key = $1)`,
		key).Scan(&listed); err != nil {
		return false, fmt.Errorf("failed to look up file %q in manifests: %w", key, err)
	}
	return listed, nil
}

// States returns a source's stream states keyed by stream.
func (s *store) States(ctx context.Context, source string) (map[string]metastore.StreamState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, stream, state, run_id, updated_at
		FROM stream_state WHERE source = $1`, source)
	if err != nil {
		return nil, fmt.Errorf("failed to read stream states of source %q: %w", source, err)
	}
	defer func() { _ = rows.Close() }()
	states := map[string]metastore.StreamState{}
	for rows.Next() {
		var st metastore.StreamState
		if err := rows.Scan(&st.Source, &st.Stream, &st.State, &st.RunID, timeDest{&st.UpdatedAt}); err != nil {
			return nil, fmt.Errorf("failed to read stream states of source %q: %w", source, err)
		}
		if len(st.State) == 0 {
			st.State = nil
		}
		states[st.Stream] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read stream states of source %q: %w", source, err)
	}
	return states, nil
}
