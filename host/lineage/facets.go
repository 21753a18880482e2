package lineage

import (
	"embed"
	"io/fs"
)

//go:embed facets/*.json
var facetFiles embed.FS

// FacetSchemas holds the JSON schemas of BEDROT's own facets (bedrot_run,
// bedrot_dataset), whose $ids the facets' _schemaURLs name. They are
// published from this package's facets folder; package lineagetest
// validates events against them.
func FacetSchemas() fs.FS {
	sub, err := fs.Sub(facetFiles, "facets")
	if err != nil {
		panic(err) // the embedded folder exists
	}
	return sub
}
