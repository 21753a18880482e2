// Package contract is the lake's schema registry: each dataset
// (raw.tiktok.videos, staging.tiktok_daily_metrics, …) has a versioned data
// contract — its columns with types and nullability, its primary key, its
// expectation suite and a schema evolution policy, named as dlt names them:
//
//	evolve         a new column is added and recorded as a new contract version
//	freeze         a new, missing or retyped column fails the batch (quarantined)
//	discard_row    rows that carry a value in a new column are dropped, and counted
//	discard_value  new columns are dropped from the data, and counted
//
// Contracts are YAML files users edit (config/contracts/<dataset>.yaml) and
// versions in the metastore with their history: an edited file becomes a
// new version, and so does every column an evolve policy adds. A dataset
// without a file gets a contract from the schema its source declares on
// first sight (policy evolve). A type change or a lost non-nullable column
// is a violation under every policy.
package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bedrot-label/bedrot/sdk"
)

// Policies.
const (
	Evolve       = "evolve"
	Freeze       = "freeze"
	DiscardRow   = "discard_row"
	DiscardValue = "discard_value"
)

// ErrBadContract wraps every problem with a contract file.
var ErrBadContract = errors.New("bad contract")

// Column is one column of a contract.
type Column struct {
	Name string `yaml:"name" json:"name"`
	// Type is string, int64, float64, bool, date, timestamp or decimal(p,s).
	Type     string `yaml:"type" json:"type"`
	Nullable bool   `yaml:"nullable" json:"nullable"`
	Doc      string `yaml:"doc,omitempty" json:"doc,omitempty"`
}

// Contract is a dataset's data contract.
type Contract struct {
	Dataset    string   `yaml:"dataset" json:"dataset"`
	Policy     string   `yaml:"policy" json:"policy"`
	PrimaryKey []string `yaml:"primary_key,omitempty" json:"primary_key,omitempty"`
	// Suite is the expectation suite file (default <suites dir>/<dataset>.json).
	Suite   string   `yaml:"suite,omitempty" json:"suite,omitempty"`
	Columns []Column `yaml:"columns" json:"columns"`
}

var decimalType = regexp.MustCompile(`^decimal\((\d+),(\d+)\)$`)

func validType(t string) bool {
	switch t {
	case "string", "int64", "float64", "bool", "date", "timestamp":
		return true
	}
	m := decimalType.FindStringSubmatch(t)
	if m == nil {
		return false
	}
	p, _ := strconv.Atoi(m[1])
	s, _ := strconv.Atoi(m[2])
	return p >= 1 && p <= 18 && s >= 0 && s <= p
}

// FromSchema is the contract a stream's declared schema implies.
func FromSchema(dataset string, s sdk.Schema, primaryKey []string) Contract {
	c := Contract{Dataset: dataset, Policy: Evolve, PrimaryKey: primaryKey}
	for _, f := range s.Fields {
		c.Columns = append(c.Columns, Column{Name: f.Name, Type: f.TypeString(), Nullable: f.Nullable, Doc: f.Doc})
	}
	return c
}

// Validate checks a contract; errors name the dataset and the column.
func (c Contract) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrBadContract, c.Dataset, fmt.Sprintf(format, args...)))
	}
	if c.Dataset == "" {
		bad("dataset: required")
	}
	switch c.Policy {
	case Evolve, Freeze, DiscardRow, DiscardValue:
	default:
		bad("policy: %q is not one of evolve, freeze, discard_row, discard_value", c.Policy)
	}
	if len(c.Columns) == 0 {
		bad("columns: at least one is required")
	}
	seen := map[string]bool{}
	for i, col := range c.Columns {
		switch {
		case col.Name == "":
			bad("columns[%d]: name is required", i)
		case seen[col.Name]:
			bad("columns[%d]: %q is declared twice", i, col.Name)
		case !validType(col.Type):
			bad("columns[%d] (%s): type %q is not one of string, int64, float64, bool, date, timestamp, decimal(p,s)", i, col.Name, col.Type)
		}
		seen[col.Name] = true
	}
	for _, k := range c.PrimaryKey {
		if !seen[k] {
			bad("primary_key: %q is not a column", k)
		}
	}
	return errors.Join(errs...)
}

// Fingerprint identifies a contract's content.
func (c Contract) Fingerprint() string {
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Parse reads a contract file's content; name is for messages and gives
// the dataset when the file does not.
func Parse(name string, data []byte) (Contract, error) {
	var c Contract
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%w: %s: %v", ErrBadContract, name, err)
	}
	if c.Dataset == "" {
		c.Dataset = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(name), ".yaml"), ".yml")
	}
	if c.Policy == "" {
		c.Policy = Evolve
	}
	return c, c.Validate()
}

// LoadDir reads every *.yaml contract in dir; a missing dir holds none.
func LoadDir(dir string) (map[string]Contract, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Contract{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]Contract{}
	var errs []error
	for _, e := range entries {
		if e.IsDir() || (!strings.HasSuffix(e.Name(), ".yaml") && !strings.HasSuffix(e.Name(), ".yml")) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := Parse(path, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := out[c.Dataset]; dup {
			errs = append(errs, fmt.Errorf("%w: %s: a second contract for %s", ErrBadContract, path, c.Dataset))
			continue
		}
		out[c.Dataset] = c
	}
	return out, errors.Join(errs...)
}

// Drift is how a stream's schema departs from its contract.
type Drift struct {
	// Added are columns the data has and the contract does not.
	Added []Column
	// Missing are contract columns the data lacks.
	Missing []Column
	// Changed describes columns whose type or nullability differ in a way
	// the contract cannot accept.
	Changed []string
}

// None reports whether there is no drift at all.
func (d Drift) None() bool { return len(d.Added) == 0 && len(d.Missing) == 0 && len(d.Changed) == 0 }

// Compare returns how schema s departs from contract c. A nullable data
// column where the contract says non-nullable is a change; the reverse is
// fine (the data is stricter). A missing nullable column is reported in
// Missing but accepted by every policy (its values are null).
func Compare(c Contract, s sdk.Schema) Drift {
	var d Drift
	have := map[string]sdk.Field{}
	for _, f := range s.Fields {
		have[f.Name] = f
	}
	known := map[string]bool{}
	for _, col := range c.Columns {
		known[col.Name] = true
		f, ok := have[col.Name]
		if !ok {
			d.Missing = append(d.Missing, col)
			continue
		}
		if t := f.TypeString(); t != col.Type {
			d.Changed = append(d.Changed, fmt.Sprintf("column %q is %s in the data, %s in the contract", col.Name, t, col.Type))
		} else if f.Nullable && !col.Nullable {
			d.Changed = append(d.Changed, fmt.Sprintf("column %q may be null in the data, but the contract says it never is", col.Name))
		}
	}
	for _, f := range s.Fields {
		if !known[f.Name] {
			d.Added = append(d.Added, Column{Name: f.Name, Type: f.TypeString(), Nullable: f.Nullable, Doc: f.Doc})
		}
	}
	return d
}

// Decision is what a contract's policy makes of a drift.
type Decision struct {
	// Violations, when present, fail every batch of the stream.
	Violations []string
	// Evolved is the contract's next version when the policy added columns.
	Evolved *Contract
	// Drop are columns removed from the data (discard_value), or whose
	// non-null rows are dropped (discard_row).
	Drop []string
}

// Decide applies c's policy to d.
func Decide(c Contract, d Drift) Decision {
	var dec Decision
	dec.Violations = append(dec.Violations, d.Changed...)
	for _, m := range d.Missing {
		if !m.Nullable {
			dec.Violations = append(dec.Violations, fmt.Sprintf("column %q is required by the contract but missing from the data", m.Name))
		}
	}
	if len(d.Added) > 0 {
		names := make([]string, len(d.Added))
		for i, a := range d.Added {
			names[i] = a.Name
		}
		switch c.Policy {
		case Freeze:
			dec.Violations = append(dec.Violations, fmt.Sprintf("new column(s) %s: the contract of %s is frozen", strings.Join(names, ", "), c.Dataset))
		case Evolve:
			next := c
			next.Columns = slices.Clone(c.Columns)
			for _, a := range d.Added {
				a.Nullable = true // older data has no values for it
				next.Columns = append(next.Columns, a)
			}
			dec.Evolved = &next
		case DiscardRow, DiscardValue:
			dec.Drop = names
		}
	}
	return dec
}

// Marshal writes a contract as YAML, the format of its file.
func Marshal(c Contract) ([]byte, error) { return yaml.Marshal(c) }

// DiffLines describes in words how contract b differs from a.
func DiffLines(a, b Contract) []string {
	var out []string
	if a.Policy != b.Policy {
		out = append(out, fmt.Sprintf("policy: %s -> %s", a.Policy, b.Policy))
	}
	if !slices.Equal(a.PrimaryKey, b.PrimaryKey) {
		out = append(out, fmt.Sprintf("primary_key: %v -> %v", a.PrimaryKey, b.PrimaryKey))
	}
	if a.Suite != b.Suite {
		out = append(out, fmt.Sprintf("suite: %q -> %q", a.Suite, b.Suite))
	}
	old := map[string]Column{}
	for _, c := range a.Columns {
		old[c.Name] = c
	}
	seen := map[string]bool{}
	for _, c := range b.Columns {
		seen[c.Name] = true
		o, ok := old[c.Name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("+ column %s %s%s", c.Name, c.Type, nullText(c.Nullable)))
		case o.Type != c.Type || o.Nullable != c.Nullable:
			out = append(out, fmt.Sprintf("~ column %s: %s%s -> %s%s", c.Name, o.Type, nullText(o.Nullable), c.Type, nullText(c.Nullable)))
		}
	}
	for _, c := range a.Columns {
		if !seen[c.Name] {
			out = append(out, fmt.Sprintf("- column %s %s%s", c.Name, c.Type, nullText(c.Nullable)))
		}
	}
	return out
}

func nullText(nullable bool) string {
	if nullable {
		return " (nullable)"
	}
	return ""
}

// Apply carries out a discard_value or discard_row decision on a batch of
// a stream with schema s: the dropped columns leave the batch and, for
// discard_row, so do rows holding a value in one of them. It returns the
// batch (b itself, changed, or a new one), the kept schema and how many
// rows and values were dropped.
func Apply(b *sdk.RecordBatch, s sdk.Schema, drop []string, rows bool) (*sdk.RecordBatch, sdk.Schema, int, int) {
	if len(drop) == 0 {
		return b, s, 0, 0
	}
	dropped := map[string]bool{}
	for _, d := range drop {
		dropped[d] = true
	}
	var kept sdk.Schema
	var keepCols []int
	values := 0
	remove := make([]bool, b.NumRows)
	anyRemoved := false
	for i, f := range s.Fields {
		if !dropped[f.Name] {
			kept.Fields = append(kept.Fields, f)
			keepCols = append(keepCols, i)
			continue
		}
		for r := range b.NumRows {
			if !b.Columns[i].IsNull(r) {
				values++
				if rows {
					remove[r], anyRemoved = true, true
				}
			}
		}
	}
	cols := make([]sdk.Column, len(keepCols))
	for j, i := range keepCols {
		cols[j] = b.Columns[i]
	}
	out := &sdk.RecordBatch{Stream: b.Stream, PayloadID: b.PayloadID, NumRows: b.NumRows, Columns: cols}
	if !anyRemoved {
		if rows {
			values = 0 // no row had a value there
		}
		return out, kept, 0, values
	}
	bb := sdk.NewBatchBuilder(b.Stream, kept)
	bb.Reset(b.Stream, b.PayloadID)
	n := 0
	for r := range b.NumRows {
		if remove[r] {
			n++
			continue
		}
		for j, f := range kept.Fields {
			c := &out.Columns[j]
			switch {
			case c.IsNull(r):
				bb.AppendNull(j)
			case f.Type == sdk.TypeString:
				bb.AppendString(j, []byte(c.String(r)))
			case f.Type == sdk.TypeFloat64:
				bb.AppendFloat64(j, c.Float64s[r])
			case f.Type == sdk.TypeBool:
				bb.AppendBool(j, c.Bools[r])
			case f.Type == sdk.TypeDate:
				bb.AppendInt32(j, c.Int32s[r])
			default:
				bb.AppendInt64(j, c.Int64s[r])
			}
		}
		bb.EndRow()
	}
	return bb.Batch(), kept, n, 0
}
