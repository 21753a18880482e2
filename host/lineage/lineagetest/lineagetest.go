// Package lineagetest validates OpenLineage events against the official
// JSON schemas, vendored in testdata/openlineage (see its README for where
// each file comes from), and BEDROT's own facet schemas. It is for tests:
// only test code should import it, so the schemas stay out of the bedrot
// binary. Nothing is fetched from the network: every $ref resolves to a
// vendored file by its $id.
package lineagetest

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/bedrot-label/bedrot/host/lineage"
)

//go:embed testdata/openlineage
var vendored embed.FS

// CoreSchemaID is the $id of the core spec events are validated against.
const CoreSchemaID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"

type validator struct {
	mu       sync.Mutex
	c        *jsonschema.Compiler
	ids      map[string]bool // $ids of the loaded schema files
	compiled map[string]*jsonschema.Schema
}

var (
	once    sync.Once
	shared  *validator
	loadErr error
)

func get() (*validator, error) {
	once.Do(func() { shared, loadErr = load() })
	return shared, loadErr
}

func load() (*validator, error) {
	v := &validator{c: jsonschema.NewCompiler(), ids: map[string]bool{}, compiled: map[string]*jsonschema.Schema{}}
	v.c.DefaultDraft(jsonschema.Draft2020)
	v.c.AssertFormat()
	add := func(fsys fs.FS, dir string) error {
		return fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || path.Ext(p) != ".json" {
				return err
			}
			// Files under upstream/ are kept for comparison, not loaded.
			if strings.Contains(p, "/upstream/") {
				return nil
			}
			doc, err := readJSON(fsys, p)
			if err != nil {
				return err
			}
			id, _ := doc.(map[string]any)["$id"].(string)
			if id == "" {
				return fmt.Errorf("schema %s has no $id", p)
			}
			if err := v.c.AddResource(id, doc); err != nil {
				return fmt.Errorf("schema %s: %w", p, err)
			}
			v.ids[id] = true
			return nil
		})
	}
	if err := add(vendored, "testdata/openlineage"); err != nil {
		return nil, err
	}
	if err := add(lineage.FacetSchemas(), "."); err != nil {
		return nil, err
	}
	return v, nil
}

func readJSON(fsys fs.FS, p string) (any, error) {
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return doc, nil
}

// schema compiles (once) the schema at url, which must be a vendored one.
func (v *validator) schema(url string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s := v.compiled[url]; s != nil {
		return s, nil
	}
	base, _, _ := strings.Cut(url, "#")
	if !v.ids[base] {
		return nil, fmt.Errorf("schema %s is not vendored in lineagetest: use a facet version it has (%s)", url, strings.Join(v.known(), ", "))
	}
	s, err := v.c.Compile(url)
	if err != nil {
		return nil, err
	}
	v.compiled[url] = s
	return s, nil
}

func (v *validator) known() []string {
	var ids []string
	for id := range v.ids {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Validate checks one serialised event: against the core spec (the
// document of its schemaURL, which must be the 2-0-2 RunEvent), and each
// facet against the schema its _schemaURL names, which must be one of the
// vendored ones. The error says which part failed and why.
func Validate(event []byte) error {
	v, err := get()
	if err != nil {
		return fmt.Errorf("failed to load the vendored schemas: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("event is not JSON: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return errors.New("event is not a JSON object")
	}
	core, err := v.schema(CoreSchemaID)
	if err != nil {
		return err
	}
	if err := core.Validate(doc); err != nil {
		return fmt.Errorf("event does not match the OpenLineage spec: %w", err)
	}
	if su, _ := obj["schemaURL"].(string); su != lineage.RunEventSchemaURL {
		return fmt.Errorf("event schemaURL is %q, want %q", su, lineage.RunEventSchemaURL)
	}
	var errs []error
	check := func(where string, facets any) {
		m, _ := facets.(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, _ := m[k].(map[string]any)
			url, _ := f["_schemaURL"].(string)
			if url == "" {
				errs = append(errs, fmt.Errorf("%s.%s has no _schemaURL", where, k))
				continue
			}
			s, err := v.schema(url)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", where, k, err))
				continue
			}
			if err := s.Validate(m[k]); err != nil {
				errs = append(errs, fmt.Errorf("%s.%s does not match %s: %w", where, k, url, err))
			}
		}
	}
	run, _ := obj["run"].(map[string]any)
	check("run.facets", run["facets"])
	job, _ := obj["job"].(map[string]any)
	check("job.facets", job["facets"])
	for _, side := range []string{"inputs", "outputs"} {
		list, _ := obj[side].([]any)
		for i, d := range list {
			dm, _ := d.(map[string]any)
			check(fmt.Sprintf("%s[%d].facets", side, i), dm["facets"])
			extra := "inputFacets"
			if side == "outputs" {
				extra = "outputFacets"
			}
			check(fmt.Sprintf("%s[%d].%s", side, i, extra), dm[extra])
		}
	}
	return errors.Join(errs...)
}

// VendoredDefs returns the $defs of a vendored schema file by its path
// under testdata/openlineage (for comparing copies of the spec).
func VendoredDefs(p string) (map[string]any, error) {
	doc, err := readJSON(vendored, path.Join("testdata/openlineage", p))
	if err != nil {
		return nil, err
	}
	defs, _ := doc.(map[string]any)["$defs"].(map[string]any)
	if defs == nil {
		return nil, fmt.Errorf("%s has no $defs", p)
	}
	return defs, nil
}
