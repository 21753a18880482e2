package zone

import (
	"path"
	"strings"
)

// RawFileStream returns the stream of a raw file key made by RawFile
// (raw/source=s/date=d/<stream>-<run id>-<seq>.zstd.parquet), or "" when
// key is not one.
func RawFileStream(key string) string {
	base, ok := strings.CutSuffix(path.Base(key), ".zstd.parquet")
	if !ok || !strings.HasPrefix(key, "raw/source=") {
		return ""
	}
	// The run id holds one dash (20261126T055012Z-9f3a1c), the sequence
	// none: the stream is what precedes the last three dashes.
	parts := strings.Split(base, "-")
	if len(parts) < 4 {
		return ""
	}
	return strings.Join(parts[:len(parts)-3], "-")
}
