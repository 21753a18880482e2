// Package suite reads and writes Great Expectations expectation suites.
//
// Three spellings are accepted:
//
//   - the GX 0.x dialect: {"expectation_suite_name": …, "expectations":
//     [{"expectation_type": …, "kwargs": {…}, "meta": {…}}]};
//   - the GX 1.x dialect: {"name": …, "expectations": [{"type": …,
//     "kwargs": {…}, "meta": {…}, "id": …}]}, where the kwargs may also stand
//     inline next to "type" (as GX's pydantic models serialise them);
//   - the shorthand used by the label's design documents:
//     {"expect_column_values_to_be_between": {"column": "view_count",
//     "min_value": 0}}, an object of such entries or a list of them; a type
//     may map to a list of kwargs objects to repeat the expectation.
//
// Parse checks every expectation against the catalog of supported types
// (Lookup): unknown types, missing, unknown and mistyped kwargs are reported
// together, each error naming the suite, the expectation (index and type)
// and the key. Marshal always writes the 1.x dialect.
package suite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dialect tells which spelling a suite was read from.
type Dialect string

// The spellings Parse understands.
const (
	DialectV0        Dialect = "0.x"
	DialectV1        Dialect = "1.x"
	DialectShorthand Dialect = "shorthand"
)

// Suite is an expectation suite: a name and an ordered list of expectations.
type Suite struct {
	Name string
	// ID is the 1.x suite id (0.x: ge_cloud_id); empty when absent.
	ID string
	// Meta is the suite's free-form meta object, kept verbatim.
	Meta map[string]any
	// Notes is the 1.x suite notes (a string or an object), kept verbatim.
	Notes any
	// Parameters are the suite parameters (0.x: evaluation_parameters).
	Parameters map[string]any
	// Expectations in file order.
	Expectations []Expectation
	// Dialect is the spelling the suite was read from (informational).
	Dialect Dialect
}

// Expectation is one configured expectation.
type Expectation struct {
	// Type is the GX expectation type, e.g. "expect_column_values_to_be_between".
	Type string
	// Kwargs are the expectation's arguments as decoded from JSON: numbers
	// are json.Number (their exact text is kept), lists []any, objects
	// map[string]any.
	Kwargs map[string]any
	// Meta is the expectation's meta object, kept verbatim.
	Meta map[string]any
	// ID, Notes and Description are optional 1.x fields, kept verbatim.
	ID          string
	Notes       any
	Description string
}

// Column returns the "column" kwarg, or "" when the expectation has none.
func (e Expectation) Column() string {
	s, _ := e.Kwargs["column"].(string)
	return s
}

// ParseFile reads a suite file. A suite without a name is named after the
// file (its base name without extension).
func ParseFile(path string) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read expectation suite: %w", err)
	}
	base := filepath.Base(path)
	s, err := Parse(strings.TrimSuffix(base, filepath.Ext(base)), data)
	if err != nil {
		return nil, fmt.Errorf("expectation suite file %s: %w", path, err)
	}
	return s, nil
}

// Parse decodes a suite in any of the accepted spellings and validates it.
// defaultName names the suite when the document does not (shorthand files
// never do). All problems are returned at once, joined with errors.Join.
func Parse(defaultName string, data []byte) (*Suite, error) {
	root, err := decodeOrdered(data)
	if err != nil {
		return nil, err
	}
	s := &Suite{Name: defaultName}
	var errs []error
	switch v := root.(type) {
	case []any:
		s.Dialect = DialectShorthand
		for i, item := range v {
			obj, ok := item.(*object)
			if !ok {
				errs = append(errs, fmt.Errorf("suite %q: entry %d: want an object like {\"expect_…\": {kwargs}}, got %s", s.Name, i, jsonKind(item)))
				continue
			}
			errs = append(errs, s.addShorthand(obj)...)
		}
	case *object:
		if _, ok := v.get("expectations"); ok {
			errs = append(errs, s.readSuiteObject(v)...)
		} else {
			s.Dialect = DialectShorthand
			errs = append(errs, s.addShorthand(v)...)
		}
	default:
		return nil, fmt.Errorf("suite %q: want a JSON object or list, got %s", defaultName, jsonKind(root))
	}
	for i := range s.Expectations {
		if s.Expectations[i].Meta == nil {
			s.Expectations[i].Meta = map[string]any{}
		}
	}
	if len(errs) == 0 {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, errors.Join(errs...)
}

// suiteKeys are the top-level keys of a 0.x or 1.x suite.
var suiteKeys = []string{
	"name", "expectation_suite_name", "id", "ge_cloud_id", "expectations",
	"suite_parameters", "evaluation_parameters", "meta", "notes", "data_asset_type",
}

func (s *Suite) readSuiteObject(o *object) []error {
	var errs []error
	s.Dialect = DialectV1
	if v, ok := o.get("expectation_suite_name"); ok {
		s.Dialect = DialectV0
		if name, ok := v.(string); ok && name != "" {
			s.Name = name
		}
	}
	if v, ok := o.get("name"); ok {
		if name, ok := v.(string); ok && name != "" {
			s.Name = name
		} else if v != nil {
			errs = append(errs, fmt.Errorf("suite %q: \"name\" must be a string, got %s", s.Name, jsonKind(v)))
		}
	}
	for _, k := range []string{"id", "ge_cloud_id"} {
		if v, ok := o.get(k); ok {
			if id, ok := v.(string); ok {
				s.ID = id
			}
		}
	}
	for _, k := range []string{"suite_parameters", "evaluation_parameters"} {
		if v, ok := o.get(k); ok && v != nil {
			m, ok := plain(v).(map[string]any)
			if !ok {
				errs = append(errs, fmt.Errorf("suite %q: %q must be an object, got %s", s.Name, k, jsonKind(v)))
				continue
			}
			s.Parameters = m
		}
	}
	if v, ok := o.get("meta"); ok && v != nil {
		m, ok := plain(v).(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("suite %q: \"meta\" must be an object, got %s", s.Name, jsonKind(v)))
		}
		s.Meta = m
	}
	if v, ok := o.get("notes"); ok && v != nil {
		s.Notes = plain(v)
	}
	for _, k := range o.keys {
		if !slices.Contains(suiteKeys, k) {
			errs = append(errs, fmt.Errorf("suite %q: unknown top-level key %q (a suite has %s)", s.Name, k, strings.Join(suiteKeys, ", ")))
		}
	}
	v, _ := o.get("expectations")
	list, ok := v.([]any)
	if !ok {
		return append(errs, fmt.Errorf("suite %q: \"expectations\" must be a list, got %s", s.Name, jsonKind(v)))
	}
	for i, item := range list {
		obj, ok := item.(*object)
		if !ok {
			errs = append(errs, fmt.Errorf("suite %q: expectations[%d]: want an object, got %s", s.Name, i, jsonKind(item)))
			// Keep the index aligned with the file.
			s.Expectations = append(s.Expectations, Expectation{})
			continue
		}
		e, err := s.readExpectation(len(s.Expectations), obj)
		errs = append(errs, err...)
		s.Expectations = append(s.Expectations, e...)
	}
	return errs
}

// expectationKeys are the non-kwarg keys of an expectation object.
var expectationKeys = []string{
	"type", "expectation_type", "kwargs", "meta", "id", "ge_cloud_id", "notes",
	"description", "rendered_content", "expectation_context", "severity",
}

func (s *Suite) readExpectation(idx int, o *object) ([]Expectation, []error) {
	tv, hasType := o.get("type")
	if !hasType {
		tv, hasType = o.get("expectation_type")
	}
	if !hasType {
		// {"expect_…": {kwargs}} inside an expectations list.
		if len(o.keys) == 1 && strings.HasPrefix(o.keys[0], "expect_") {
			before := len(s.Expectations)
			errs := s.addShorthand(o)
			added := s.Expectations[before:]
			s.Expectations = s.Expectations[:before]
			return added, errs
		}
		return []Expectation{{}}, []error{fmt.Errorf("suite %q: expectations[%d]: no \"type\" (1.x) or \"expectation_type\" (0.x) key", s.Name, idx)}
	}
	typ, ok := tv.(string)
	if !ok {
		return []Expectation{{}}, []error{fmt.Errorf("suite %q: expectations[%d]: the expectation type must be a string, got %s", s.Name, idx, jsonKind(tv))}
	}
	e := Expectation{Type: typ}
	var errs []error
	if kv, ok := o.get("kwargs"); ok {
		m, ok := plain(kv).(map[string]any)
		if !ok && kv != nil {
			errs = append(errs, &KwargError{Suite: s.Name, Index: idx, Type: typ, Key: "kwargs", Msg: "must be an object, got " + jsonKind(kv)})
		}
		e.Kwargs = m
	}
	inline := map[string]any{}
	for _, k := range o.keys {
		if slices.Contains(expectationKeys, k) {
			continue
		}
		v, _ := o.get(k)
		inline[k] = plain(v)
	}
	if len(inline) > 0 {
		if e.Kwargs == nil {
			e.Kwargs = inline
		} else {
			for k := range inline {
				errs = append(errs, &KwargError{Suite: s.Name, Index: idx, Type: typ, Key: k,
					Msg: "stands next to \"kwargs\"; put every argument inside \"kwargs\" (or all of them inline)"})
			}
		}
	}
	if e.Kwargs == nil {
		e.Kwargs = map[string]any{}
	}
	if mv, ok := o.get("meta"); ok && mv != nil {
		m, ok := plain(mv).(map[string]any)
		if !ok {
			errs = append(errs, &KwargError{Suite: s.Name, Index: idx, Type: typ, Key: "meta", Msg: "must be an object, got " + jsonKind(mv)})
		}
		e.Meta = m
	}
	for _, k := range []string{"id", "ge_cloud_id"} {
		if v, ok := o.get(k); ok {
			if id, ok := v.(string); ok {
				e.ID = id
			}
		}
	}
	if v, ok := o.get("notes"); ok && v != nil {
		e.Notes = plain(v)
	}
	if v, ok := o.get("description"); ok && v != nil {
		d, ok := v.(string)
		if !ok {
			errs = append(errs, &KwargError{Suite: s.Name, Index: idx, Type: typ, Key: "description", Msg: "must be a string, got " + jsonKind(v)})
		}
		e.Description = d
	}
	return []Expectation{e}, errs
}

// addShorthand appends the expectations of a {"expect_…": kwargs} object.
func (s *Suite) addShorthand(o *object) []error {
	var errs []error
	for _, typ := range o.keys {
		v, _ := o.get(typ)
		var list []any
		switch x := v.(type) {
		case []any:
			list = x
		default:
			list = []any{x}
		}
		for _, item := range list {
			idx := len(s.Expectations)
			e := Expectation{Type: typ, Kwargs: map[string]any{}}
			switch x := plain(item).(type) {
			case map[string]any:
				if m, ok := x["meta"].(map[string]any); ok {
					e.Meta = m
					delete(x, "meta")
				}
				e.Kwargs = x
			case nil:
				// {"expect_table_row_count_to_be_between": null} has no kwargs.
			default:
				errs = append(errs, &KwargError{Suite: s.Name, Index: idx, Type: typ, Msg: "the kwargs must be an object, got " + jsonKind(item)})
			}
			s.Expectations = append(s.Expectations, e)
		}
	}
	return errs
}

// Marshal writes the suite as GX 1.x JSON.
func Marshal(s *Suite) ([]byte, error) {
	type exp struct {
		Type        string         `json:"type"`
		Kwargs      map[string]any `json:"kwargs"`
		Meta        map[string]any `json:"meta"`
		ID          string         `json:"id,omitempty"`
		Notes       any            `json:"notes,omitempty"`
		Description string         `json:"description,omitempty"`
	}
	type doc struct {
		Name            string         `json:"name"`
		ID              string         `json:"id,omitempty"`
		Expectations    []exp          `json:"expectations"`
		SuiteParameters map[string]any `json:"suite_parameters"`
		Meta            map[string]any `json:"meta"`
		Notes           any            `json:"notes,omitempty"`
	}
	d := doc{Name: s.Name, ID: s.ID, Expectations: []exp{}, SuiteParameters: orEmpty(s.Parameters), Meta: orEmpty(s.Meta), Notes: s.Notes}
	for _, e := range s.Expectations {
		d.Expectations = append(d.Expectations, exp{
			Type: e.Type, Kwargs: orEmpty(e.Kwargs), Meta: orEmpty(e.Meta),
			ID: e.ID, Notes: e.Notes, Description: e.Description,
		})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("suite %q: encode: %w", s.Name, err)
	}
	return buf.Bytes(), nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
