//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlstore

import (
	"context"
	"errors"
	"fmt"
)

// lockFile is not available without flock(2).
func lockFile(context.Context, string) (func(), error) {
	return nil, fmt.Errorf("failed to lock run: SQLite run leases need flock: %w", errors.ErrUnsupported)
}

// fileLocked is not available without flock(2).
func fileLocked(string) (bool, error) {
	return false, fmt.Errorf("failed to check run lease: SQLite run leases need flock: %w", errors.ErrUnsupported)
}

// lockFileWait cannot lock without flock(2); opening a SQLite metastore from
// several processes at once is then not serialized.
func lockFileWait(context.Context, string) (func(), error) {
	return func() {}, nil
}
