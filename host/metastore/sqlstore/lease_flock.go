//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// Contention on a lease file may come from a RunAlive probe, which holds a
// shared lock for an instant; LockRun retries for this long before it
// concludes that another process holds the lease.
const (
	flockRetryFor   = 100 * time.Millisecond
	flockRetryEvery = 10 * time.Millisecond
)

// lockFile takes an exclusive flock on path, creating it. unlock removes the
// file while still holding the lock, then releases it.
func lockFile(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("failed to create lease folder: %w", err)
	}
	deadline := time.Now().Add(flockRetryFor)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("failed to open lease file %q: %w", path, err)
		}
		err = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("failed to lock %q: %w", path, metastore.ErrLeaseHeld)
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("failed to lock %q: %w", path, ctx.Err())
			case <-time.After(flockRetryEvery):
			}
			continue
		}
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("failed to lock %q: %w", path, err)
		}
		// A previous holder removes the file before unlocking it; if this is
		// such a removed file, the lock guards nothing: start again.
		held, err1 := f.Stat()
		named, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || !os.SameFile(held, named) {
			_ = f.Close()
			continue
		}
		var once sync.Once
		return func() {
			once.Do(func() {
				_ = os.Remove(path)
				_ = f.Close()
			})
		}, nil
	}
}

// lockFileWait takes an exclusive flock on path, creating it, and waits for
// it as long as ctx allows. The file stays in place after unlock.
func lockFileWait(ctx context.Context, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("failed to create lock folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to open lock file %q: %w", path, err)
	}
	for {
		err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("failed to lock %q: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("failed to lock %q: %w", path, ctx.Err())
		case <-time.After(flockRetryEvery):
		}
	}
}

// fileLocked reports whether some process holds an flock on path. A missing
// file means no one does.
func fileLocked(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to open lease file %q: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	err = flock(f, syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to probe lease file %q: %w", path, err)
	}
	return false, nil
}

// flock calls flock(2) on f, retrying on EINTR.
func flock(f *os.File, how int) error {
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := raw.Control(func(fd uintptr) {
		for {
			opErr = syscall.Flock(int(fd), how)
			if !errors.Is(opErr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return opErr
}
