package lineage

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// FileNamespace is the dataset namespace of a folder lake (OpenLineage
// naming: local files are namespace "file", name an absolute path).
const FileNamespace = "file"

// SourceNamespace is the dataset namespace of source connectors, the
// external systems ingest runs read (named by the source, e.g. spotify).
const SourceNamespace = "bedrot-source"

// DatasetID is a dataset's OpenLineage identity.
type DatasetID struct {
	Namespace string
	Name      string
}

// String is "namespace:name" (for a file, "file:/srv/lake/…").
func (id DatasetID) String() string { return id.Namespace + ":" + id.Name }

// IsZero reports whether id is unset.
func (id DatasetID) IsZero() bool { return id.Namespace == "" && id.Name == "" }

// Namer maps BEDROT dataset names to OpenLineage datasets of one lake.
type Namer struct {
	namespace string // "file" or "s3://bucket"
	root      string // "/srv/lake/" or "prefix/" or ""
}

// NewNamer makes the Namer of the lake at location, as storage.Store's
// Location gives it: an absolute folder ("/srv/lake") or
// "s3://bucket[/prefix]".
func NewNamer(location string) (*Namer, error) {
	if rest, ok := strings.CutPrefix(location, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("invalid lake location %q: no bucket after s3://", location)
		}
		prefix = strings.Trim(prefix, "/")
		if prefix != "" {
			prefix += "/"
		}
		return &Namer{namespace: "s3://" + bucket, root: prefix}, nil
	}
	if !path.IsAbs(location) {
		return nil, fmt.Errorf("invalid lake location %q: want an absolute folder or s3://bucket/prefix", location)
	}
	root := path.Clean(location)
	if root != "/" {
		root += "/"
	}
	return &Namer{namespace: FileNamespace, root: root}, nil
}

// Namespace is the namespace of the lake's datasets.
func (n *Namer) Namespace() string { return n.namespace }

// Dataset returns the identity of a BEDROT dataset (metastore name, e.g.
// raw.spotify.tracks or curated.royalties_monthly.v1_0); see the package
// documentation for the mapping. It fails for names outside the lake's
// zones: give those a DatasetID of their own.
func (n *Namer) Dataset(name string) (DatasetID, error) {
	rel, err := RelativeName(name)
	if err != nil {
		return DatasetID{}, err
	}
	return DatasetID{Namespace: n.namespace, Name: n.root + rel}, nil
}

// Relative strips the lake's root from a dataset name of this lake, giving
// the key-relative form (raw/source=spotify/*/tracks-*.parquet); ok is false
// for a dataset of another namespace or root.
func (n *Namer) Relative(id DatasetID) (rel string, ok bool) {
	if id.Namespace != n.namespace {
		return "", false
	}
	return strings.CutPrefix(id.Name, n.root)
}

// RelativeName returns where a BEDROT dataset lives relative to the lake's
// root: its root folder, or the glob of its files where it shares a folder
// with other datasets.
func RelativeName(name string) (string, error) {
	parts := strings.Split(name, ".")
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, "/*?[]\\") {
			return "", fmt.Errorf("invalid dataset name %q: want zone.name[.part] with no empty parts, slashes or wildcards", name)
		}
	}
	bad := func() (string, error) {
		return "", fmt.Errorf("unknown dataset %q: lineage names landing.<source>, quarantine.<source>, raw.<source>[.<stream>], staging.<domain>[.<name>] and curated.<mart>[.v<X_Y>]; name other datasets with a DatasetID", name)
	}
	switch {
	case parts[0] == "landing" && len(parts) == 2:
		return "landing/" + parts[1], nil
	case parts[0] == "quarantine" && len(parts) == 2:
		return "landing/" + parts[1] + "/*/_quarantine", nil
	case parts[0] == "raw" && len(parts) == 2:
		return "raw/source=" + parts[1], nil
	case parts[0] == "raw" && len(parts) == 3:
		return "raw/source=" + parts[1] + "/*/" + parts[2] + "-*.parquet", nil
	case parts[0] == "staging" && len(parts) == 2:
		return "staging/domain=" + parts[1], nil
	case parts[0] == "staging" && len(parts) == 3:
		return "staging/domain=" + parts[1] + "/*/" + parts[2] + "-*.parquet", nil
	case parts[0] == "curated" && len(parts) == 2:
		return "curated/mart=" + parts[1], nil
	case parts[0] == "curated" && len(parts) == 3:
		v, ok := strings.CutPrefix(parts[2], "v")
		if !ok || v == "" {
			return bad()
		}
		return "curated/mart=" + parts[1] + "/version=v" + strings.ReplaceAll(v, "_", "."), nil
	}
	return bad()
}

// SourceDataset is the identity of a source connector (what an ingest run
// reads): namespace SourceNamespace, name the source.
func SourceDataset(source string) DatasetID {
	return DatasetID{Namespace: SourceNamespace, Name: source}
}

// PostgresTable is the identity of a PostgreSQL table:
// postgres://host:port and database.schema.table.
func PostgresTable(host string, port int, database, schema, table string) DatasetID {
	return DatasetID{
		Namespace: "postgres://" + net.JoinHostPort(host, strconv.Itoa(port)),
		Name:      database + "." + schema + "." + table,
	}
}

// PostgresTableFromDSN is PostgresTable for the server and database a
// connection string (URL or key=value) names. Only host, port and database
// are used: credentials never reach an event, nor this function's errors.
func PostgresTableFromDSN(dsn, schema, table string) (DatasetID, error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		// pgconn's error may quote the connection string: do not pass it on.
		return DatasetID{}, errors.New("invalid PostgreSQL connection string: check its syntax (the text is not repeated here because it may hold a password)")
	}
	if cfg.Database == "" {
		return DatasetID{}, errors.New("the PostgreSQL connection string names no database: add one (…/dbname or dbname=…)")
	}
	return PostgresTable(cfg.Host, int(cfg.Port), cfg.Database, schema, table), nil
}
