//go:build !unix

package sqlengine

import (
	"context"
	"os"
)

// lockPath creates path. Without flock, processes sharing a cache folder are
// not kept apart: give each process its own cache folder.
func lockPath(_ context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return func() { _ = f.Close() }, nil
}

// tryLockPath never succeeds without flock, so query folders are never
// judged stale.
func tryLockPath(string) (func(), bool) { return nil, false }
