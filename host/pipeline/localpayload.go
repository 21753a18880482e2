package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bedrot-label/bedrot/host/storage"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// Local payloads: a file-drop source (DistroKid exports) reads files on this
// machine, so instead of streaming hundreds of MB through the plugin
// connection (encrypted, copied and decrypted on the way) it names the file
// and the host copies it to landing itself. The host offers only the files
// and folders named in the source's configuration, checks every path it is
// given against them, and compares its copy with the size and checksum of
// what the plugin read (XXH64 when the plugin sends it, SHA-256 otherwise),
// so a file that changed meanwhile is rejected.

// localRoots returns the existing files and folders that the configuration's
// values name (a value may be a list joined by the OS path-list separator),
// as clean absolute paths.
func localRoots(cfg sdk.Config) []string {
	seen := map[string]bool{}
	for _, v := range cfg {
		if v == "" || strings.ContainsAny(v, "\n\x00") {
			continue
		}
		for _, p := range filepath.SplitList(v) {
			if p == "" {
				continue
			}
			abs, err := filepath.Abs(p)
			if err != nil {
				continue
			}
			fi, err := os.Stat(abs)
			if err != nil || !(fi.IsDir() || fi.Mode().IsRegular()) {
				continue
			}
			seen[abs] = true
		}
	}
	roots := make([]string, 0, len(seen))
	for p := range seen {
		roots = append(roots, p)
	}
	sort.Strings(roots)
	return roots
}

// startLocalCopy checks path against roots and starts copying it to a new
// landing object, hashed with d, or with XXH64 alone if d is nil.
func startLocalCopy(ctx context.Context, st storage.Store, key, source, path string, roots []string, d *digest.Hash) (*objectWriter, error) {
	if !sdk.WithinRoots(path, roots) {
		return nil, fmt.Errorf("plugin %s named the local file %q as a payload, which is not among the files and folders of its configuration", source, path)
	}
	r, err := openLocalPayload(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open the payload file %s: %w", path, err)
	}
	return newObjectCopy(ctx, st, key, r, d), nil
}

// openLocalPayload opens a payload file for copying: mapped into memory
// where the system allows (see mapped.go), read otherwise.
func openLocalPayload(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if m, err := mapFile(f); err == nil {
		return m, nil
	}
	return f, nil
}
