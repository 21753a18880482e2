// Package zone is the lake's layout: which keys hold what. It is the
// product's contract with its users (DESIGN.md §3), so every path the host
// writes is built here:
//
//	.agent/context/ .agent/cache/ .agent/logs/
//	landing/<source>/YYYY-MM-DD-HHMM/        original payloads + _metadata.json
//	raw/source=<src>/date=YYYY-MM-DD/        immutable Parquet (Hive-style)
//	staging/domain=<domain>/year=YYYY/
//	curated/mart=<mart>/version=vX.Y/  curated/models/
//	archive/  sandbox/<user>/<project>/  knowledge/{decisions,patterns,agents}/
package zone

import (
	"context"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/storage"
)

// Folders is the layout bedrot init creates, in order.
var Folders = []string{
	".agent/context", ".agent/cache", ".agent/logs",
	"landing", "raw", "staging", "curated", "curated/models",
	"archive", "sandbox",
	"knowledge/decisions", "knowledge/patterns", "knowledge/agents",
}

// Host-internal keys (outside the user-facing zones).
const (
	// PluginLockKey is the lake's record of installed plugins and their SHA-256.
	PluginLockKey = ".bedrot/plugins.lock.json"
	// MetadataName is the landing batch's metadata file.
	MetadataName = "_metadata.json"
	// QuarantineDir holds a landing batch's rejected payloads and their reasons.
	QuarantineDir = "_quarantine"
)

// localPather is implemented by stores backed by a local folder.
type localPather interface{ LocalPath(key string) string }

// Init creates the layout. On a folder it makes the directories; on an
// object store, where folders do not exist, it writes a ".keep" marker in
// each so that the layout is visible to people browsing the bucket.
func Init(ctx context.Context, st storage.Store) error {
	lp, isLocal := st.(localPather)
	for _, f := range Folders {
		if isLocal {
			if err := os.MkdirAll(lp.LocalPath(f), 0o755); err != nil {
				return fmt.Errorf("failed to create %s: %w", f, err)
			}
			continue
		}
		if _, err := st.Put(ctx, f+"/.keep", strings.NewReader("")); err != nil {
			return fmt.Errorf("failed to create %s: %w", f, err)
		}
	}
	return nil
}

var sourceName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// ValidSource checks a source name for use in keys.
func ValidSource(name string) error {
	if !sourceName.MatchString(name) {
		return fmt.Errorf("invalid source name %q: use lower-case letters, digits, '-' and '_'", name)
	}
	return nil
}

// LandingBatch is the folder of one landing batch, named for the UTC minute
// the batch arrived: landing/<source>/YYYY-MM-DD-HHMM.
func LandingBatch(source string, t time.Time) string {
	return "landing/" + source + "/" + t.UTC().Format("2006-01-02-1504")
}

// RawPartition is the Hive partition of a source's raw files for the UTC
// date a batch arrived: raw/source=<src>/date=YYYY-MM-DD.
func RawPartition(source string, t time.Time) string {
	return "raw/source=" + source + "/date=" + t.UTC().Format("2006-01-02")
}

// RawFile names one raw Parquet file. The stream name leads so that readers
// can glob one stream (raw/source=spotify/*/tracks-*.parquet); the run id
// and sequence make the name unique.
func RawFile(source string, t time.Time, stream, runID string, seq int) string {
	return fmt.Sprintf("%s/%s-%s-%04d.zstd.parquet", RawPartition(source, t), stream, runID, seq)
}

// DataDocsDir is where a dataset's data docs (validation pages and their
// index) live: beside its data, in a folder Hive readers skip, e.g.
// raw/source=tiktok/_datadocs/videos for raw.tiktok.videos.
func DataDocsDir(dataset string) string {
	parts := strings.SplitN(dataset, ".", 3)
	if len(parts) == 3 && parts[0] == "raw" {
		return "raw/source=" + parts[1] + "/_datadocs/" + parts[2]
	}
	zone := parts[0]
	switch zone {
	case "staging", "curated":
	default:
		zone = "sandbox"
	}
	return zone + "/_datadocs/" + dataset
}

// Dataset names, as the metastore records them.
func LandingDataset(source string) string     { return "landing." + source }
func QuarantineDataset(source string) string  { return "quarantine." + source }
func RawDataset(source, stream string) string { return "raw." + source + "." + stream }

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._ ()+,=@-]+`)

// maxPayloadName bounds a payload name in bytes, leaving room within a key
// segment (255 bytes) for a duplicate's "N-" prefix and a quarantine
// reason's ".reason.json" suffix.
const maxPayloadName = 200

// PayloadName makes an original file name safe as the last segment of a key
// while keeping it recognisable. It never returns a name the landing batch
// reserves (MetadataName, QuarantineDir), even on a case-insensitive file
// system, and shortens long names, keeping their extension.
func PayloadName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = unsafeName.ReplaceAllString(name, "_")
	name = strings.TrimLeft(name, ".")
	if len(name) > maxPayloadName {
		// Only ASCII is left, so cutting bytes cuts whole characters.
		ext := path.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		name = name[:maxPayloadName-len(ext)] + ext
	}
	if name == "" || strings.EqualFold(name, MetadataName) || strings.EqualFold(name, QuarantineDir) {
		name = "payload"
	}
	return name
}
