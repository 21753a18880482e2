package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// timeDest scans a time column of either dialect: time.Time from
// PostgreSQL, text from SQLite.
type timeDest struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d timeDest) Scan(src any) error {
	t, ok, err := parseTimeValue(src)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("failed to scan time: unexpected NULL")
	}
	*d.t = t
	return nil
}

// nullTimeDest scans a nullable time column; NULL leaves a nil pointer.
type nullTimeDest struct{ t **time.Time }

// Scan implements sql.Scanner.
func (d nullTimeDest) Scan(src any) error {
	t, ok, err := parseTimeValue(src)
	if err != nil {
		return err
	}
	if !ok {
		*d.t = nil
		return nil
	}
	*d.t = &t
	return nil
}

// textTimeLayouts are the text forms a SQLite time column may hold: the
// store's own (RFC 3339), and CURRENT_TIMESTAMP's for column defaults.
var textTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05"}

// parseTimeValue converts a driver value to a UTC time; ok is false for
// NULL.
func parseTimeValue(src any) (t time.Time, ok bool, err error) {
	var text string
	switch v := src.(type) {
	case nil:
		return time.Time{}, false, nil
	case time.Time:
		return normTime(v), true, nil
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return time.Time{}, false, fmt.Errorf("failed to scan time from %T", src)
	}
	for _, layout := range textTimeLayouts {
		if t, err := time.Parse(layout, text); err == nil {
			return normTime(t), true, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("failed to parse time %q", text)
}

// errNoRows reports whether err is sql.ErrNoRows.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
