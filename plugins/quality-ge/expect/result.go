package expect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/bedrot-label/bedrot/plugins/quality-ge/suite"
)

// Result is a GX 1.x expectation suite validation result
// (ExpectationSuiteValidationResult). It marshals to the JSON GX writes.
type Result struct {
	Success         bool                `json:"success"`
	Results         []ExpectationResult `json:"results"`
	SuiteName       string              `json:"suite_name"`
	SuiteParameters map[string]any      `json:"suite_parameters"`
	Statistics      Statistics          `json:"statistics"`
	Meta            map[string]any      `json:"meta"`
	ID              *string             `json:"id"`
	// DataQualityScore is the run's score in [0, 1] (see the package doc).
	// It is written as meta.data_quality_score, where GX tooling that reads
	// the result keeps it as free-form metadata.
	DataQualityScore float64 `json:"-"`
}

// Statistics summarise a validation run as GX does.
type Statistics struct {
	EvaluatedExpectations    int `json:"evaluated_expectations"`
	SuccessfulExpectations   int `json:"successful_expectations"`
	UnsuccessfulExpectations int `json:"unsuccessful_expectations"`
	// SuccessPercent is null when nothing was evaluated.
	SuccessPercent *float64 `json:"success_percent"`
}

// ExpectationResult is one ExpectationValidationResult.
type ExpectationResult struct {
	Success           bool              `json:"success"`
	ExpectationConfig ExpectationConfig `json:"expectation_config"`
	Result            *Dict             `json:"result"`
	Meta              map[string]any    `json:"meta"`
	ExceptionInfo     ExceptionInfo     `json:"exception_info"`
	// Quality is this expectation's contribution to the data quality score:
	// the share of checked values that met it (map expectations), or 1/0
	// for pass/fail (table and aggregate expectations), 0 on an exception.
	Quality float64 `json:"-"`
}

// ExpectationConfig is the expectation as configured, GX 1.x spelling.
type ExpectationConfig struct {
	Type        string         `json:"type"`
	Kwargs      map[string]any `json:"kwargs"`
	Meta        map[string]any `json:"meta"`
	ID          string         `json:"id,omitempty"`
	Notes       any            `json:"notes,omitempty"`
	Description string         `json:"description,omitempty"`
}

// ExceptionInfo tells whether evaluating the expectation failed.
type ExceptionInfo struct {
	RaisedException    bool    `json:"raised_exception"`
	ExceptionTraceback *string `json:"exception_traceback"`
	ExceptionMessage   *string `json:"exception_message"`
}

// MarshalJSON writes the result with meta.data_quality_score set.
func (r *Result) MarshalJSON() ([]byte, error) {
	type plain Result
	cp := *r
	meta := make(map[string]any, len(r.Meta)+1)
	for k, v := range r.Meta {
		meta[k] = v
	}
	meta["data_quality_score"] = r.DataQualityScore
	cp.Meta = meta
	if cp.Results == nil {
		cp.Results = []ExpectationResult{}
	}
	return json.Marshal((*plain)(&cp))
}

// Dict is a JSON object that keeps its keys in insertion order, so results
// read like GX's. Values are plain Go values, Value, []Value or nested Dicts.
type Dict struct {
	keys []string
	vals []any
}

// Set adds or replaces a key.
func (d *Dict) Set(k string, v any) {
	if i := slices.Index(d.keys, k); i >= 0 {
		d.vals[i] = v
		return
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
}

// Get returns the value of a key.
func (d *Dict) Get(k string) (any, bool) {
	if d == nil {
		return nil, false
	}
	if i := slices.Index(d.keys, k); i >= 0 {
		return d.vals[i], true
	}
	return nil, false
}

// Keys lists the keys in order.
func (d *Dict) Keys() []string { return slices.Clone(d.keys) }

// MarshalJSON writes the object in key order.
func (d *Dict) MarshalJSON() ([]byte, error) {
	if d == nil {
		return []byte("{}"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range d.keys {
		if i > 0 {
			b.WriteString(", ")
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteString(": ")
		vb, err := marshalAny(d.vals[i])
		if err != nil {
			return nil, fmt.Errorf("result key %q: %w", k, err)
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalAny(v any) ([]byte, error) {
	switch x := v.(type) {
	case float64:
		return appendFloat(nil, x), nil
	case Value:
		return x.appendJSON(nil), nil
	case []Value:
		b := []byte{'['}
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = e.appendJSON(b)
		}
		return append(b, ']'), nil
	case []any:
		b := []byte{'['}
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			eb, err := marshalAny(e)
			if err != nil {
				return nil, err
			}
			b = append(b, eb...)
		}
		return append(b, ']'), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// resultFormat is a parsed result_format.
type resultFormat struct {
	level        int // index into suite.ResultFormatLevels
	partial      int
	indexColumns []string
}

const (
	levelBooleanOnly = iota
	levelBasic
	levelSummary
	levelComplete
)

func parseResultFormat(v any, def resultFormat) (resultFormat, error) {
	rf := def
	switch x := v.(type) {
	case nil:
		return rf, nil
	case string:
		i := slices.Index(suite.ResultFormatLevels, x)
		if i < 0 {
			return rf, fmt.Errorf("result_format must be one of %s, got %q", strings.Join(suite.ResultFormatLevels, ", "), x)
		}
		rf.level = i
	case map[string]any:
		if lv, ok := x["result_format"]; ok {
			s, _ := lv.(string)
			i := slices.Index(suite.ResultFormatLevels, s)
			if i < 0 {
				return rf, fmt.Errorf("result_format.result_format must be one of %s, got %v", strings.Join(suite.ResultFormatLevels, ", "), lv)
			}
			rf.level = i
		}
		if pv, ok := x["partial_unexpected_count"]; ok {
			n, err := toInt(pv)
			if err != nil || n < 0 {
				return rf, fmt.Errorf("result_format.partial_unexpected_count must be a whole number ≥ 0, got %v", pv)
			}
			rf.partial = int(n)
		}
		if cv, ok := x["unexpected_index_column_names"]; ok && cv != nil {
			list, _ := cv.([]any)
			rf.indexColumns = nil
			for _, e := range list {
				s, ok := e.(string)
				if !ok {
					return rf, fmt.Errorf("result_format.unexpected_index_column_names must be a list of column names")
				}
				rf.indexColumns = append(rf.indexColumns, s)
			}
		}
	default:
		return rf, fmt.Errorf("result_format must be a level name or an object, got %T", v)
	}
	return rf, nil
}
