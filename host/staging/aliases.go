package staging

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed store_aliases.yaml
var defaultAliases []byte

// aliasFile is the form of store_aliases.yaml and of an override file.
type aliasFile struct {
	Stores []struct {
		Name    string   `yaml:"name"`
		Aliases []string `yaml:"aliases"`
	} `yaml:"stores"`
}

// storeAliases maps a normalised store name (normStore) to its canonical
// name.
type storeAliases struct {
	canon map[string]string
	// hash fingerprints the table, so a changed table rebuilds every
	// partition.
	hash string
}

// normStore is the form store names are compared in: runs of white space
// (tab, line breaks, form feed, space) made one space, trimmed, lower case.
// The SQL of the build computes the same (storeNormSQL).
func normStore(s string) string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f'
	})
	return strings.ToLower(strings.Join(f, " "))
}

// storeNormSQL is normStore in DuckDB.
const storeNormSQL = `lower(trim(regexp_replace(%s, '[\t\n\f\r ]+', ' ', 'g')))`

// loadAliases reads the embedded table and, when override is not empty,
// the override file on top of it.
func loadAliases(override string) (*storeAliases, error) {
	a := &storeAliases{canon: map[string]string{}}
	if err := a.add(defaultAliases, "the built-in store alias table"); err != nil {
		return nil, err
	}
	if override != "" {
		data, err := os.ReadFile(override)
		if err != nil {
			return nil, fmt.Errorf("failed to read the store alias file: %w", err)
		}
		if err := a.add(data, override); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(a.canon))
	for k := range a.canon {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\n", k, a.canon[k])
	}
	a.hash = hex.EncodeToString(h.Sum(nil))
	return a, nil
}

// add merges one alias file; its entries win over those already there.
// Within one file, an alias may name one store only.
func (a *storeAliases) add(data []byte, name string) error {
	var f aliasFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("%s is not a valid store alias file (expected \"stores:\" with a list of \"name:\" and \"aliases:\"): %w", name, err)
	}
	seen := map[string]string{}
	for i, s := range f.Stores {
		if strings.TrimSpace(s.Name) == "" {
			return fmt.Errorf("%s: store %d of the list has no name", name, i+1)
		}
		for j, alias := range append([]string{s.Name}, s.Aliases...) {
			k := normStore(alias)
			if k == "" {
				return fmt.Errorf("%s: store %q: alias %d is empty", name, s.Name, j)
			}
			if prev, ok := seen[k]; ok && prev != s.Name {
				return fmt.Errorf("%s: the alias %q names two stores, %q and %q; keep it under one", name, alias, prev, s.Name)
			}
			seen[k] = s.Name
			a.canon[k] = s.Name
		}
	}
	return nil
}

// Normalize returns a store's canonical name, or the name unchanged when the
// table does not know it.
func (a *storeAliases) Normalize(store string) string {
	if c, ok := a.canon[normStore(store)]; ok {
		return c
	}
	return store
}
