package identity

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// OverrideNone is the isrc value that forces an item to stay unmatched.
const OverrideNone = "none"

// Override is one entry of the overrides file: the item of Source with Key
// (and Artist) belongs to the track with ISRC, or to none.
type Override struct {
	Source Source `json:"source"`
	// Key is the Spotify track id, TikTok video id, or S4A / DistroKid song
	// title (compared after Normalize).
	Key string `json:"key"`
	// Artist narrows a title key to one artist (s4a and distrokid only;
	// compared after Normalize). Empty: every artist, and items without one.
	Artist string `json:"artist,omitempty"`
	// ISRC is the canonical ISRC, or OverrideNone.
	ISRC string `json:"isrc"`
	// Note is the user's free-text reason.
	Note string `json:"note,omitempty"`
	// File and Line locate the entry (0 for overrides built in code).
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

// None reports whether the override forces the item to stay unmatched.
func (o Override) None() bool { return strings.EqualFold(strings.TrimSpace(o.ISRC), OverrideNone) }

// where names the entry for messages.
func (o Override) where() string {
	if o.Line == 0 {
		return "override"
	}
	return fmt.Sprintf("override at %s:%d", o.File, o.Line)
}

// Overrides are the entries of an overrides file. When two entries apply
// to one item, the one naming the item's artist wins, then the first.
type Overrides []Override

// overrideFields are the fields an entry may have.
var overrideFields = []string{"source", "key", "artist", "isrc", "note"}

// LoadOverrides reads an overrides file (config/identity_overrides.yaml;
// the format is in the package documentation). A missing file is no
// overrides. Errors name the file, line and field.
func LoadOverrides(path string) (Overrides, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("identity overrides: %w", err)
	}
	return ParseOverrides(path, data)
}

// ParseOverrides parses the YAML of an overrides file; name is used in
// errors and in Override.File.
func ParseOverrides(name string, data []byte) (Overrides, error) {
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("identity overrides %s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("identity overrides %s: not valid YAML: %w", name, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || len(bytes.TrimSpace(data)) == 0 {
		return nil, nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fail(root.Line, "the file must be a mapping with an overrides: list (see the example file)")
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "version":
			if v.Kind != yaml.ScalarNode || v.Value != "1" {
				return nil, fail(v.Line, "version %q is not supported; write version: 1", v.Value)
			}
		case "overrides":
			switch {
			case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
				// overrides: with nothing under it
			case v.Kind != yaml.SequenceNode:
				return nil, fail(v.Line, "overrides must be a list of entries starting with \"- source:\"")
			default:
				list = v
			}
		default:
			return nil, fail(k.Line, "unknown top-level field %q (known: version, overrides)", k.Value)
		}
	}
	if list == nil {
		return nil, nil
	}
	var out Overrides
	seen := map[string]int{}
	for _, e := range list.Content {
		o, err := parseOverride(name, e, fail)
		if err != nil {
			return nil, err
		}
		id := o.identity()
		if first, dup := seen[id]; dup {
			return nil, fail(o.Line, "duplicate entry: line %d already overrides %s %q%s", first, o.Source, o.Key, artistSuffix(o.Artist))
		}
		seen[id] = o.Line
		out = append(out, o)
	}
	return out, nil
}

func artistSuffix(a string) string {
	if a == "" {
		return ""
	}
	return fmt.Sprintf(" by %q", a)
}

// parseOverride checks and returns one entry of the list.
func parseOverride(name string, e *yaml.Node, fail func(int, string, ...any) error) (Override, error) {
	if e.Kind != yaml.MappingNode {
		return Override{}, fail(e.Line, "each entry must be a mapping (source:, key:, isrc:)")
	}
	o := Override{File: name, Line: e.Line}
	lines := map[string]int{}
	for i := 0; i+1 < len(e.Content); i += 2 {
		k, v := e.Content[i], e.Content[i+1]
		if _, dup := lines[k.Value]; dup {
			return o, fail(k.Line, "field %s given twice in one entry", k.Value)
		}
		lines[k.Value] = k.Line
		if v.Kind != yaml.ScalarNode {
			return o, fail(v.Line, "field %s must be a single value (quote it if it contains : or #)", k.Value)
		}
		val := strings.TrimSpace(v.Value)
		if v.ShortTag() == "!!null" {
			val = ""
		}
		switch k.Value {
		case "source":
			o.Source = Source(strings.ToLower(val))
		case "key":
			o.Key = val
		case "artist":
			o.Artist = val
		case "isrc":
			o.ISRC = val
		case "note":
			o.Note = val
		default:
			return o, fail(k.Line, "unknown field %q (known: %s)", k.Value, strings.Join(overrideFields, ", "))
		}
	}
	at := func(field string) int {
		if l, ok := lines[field]; ok {
			return l
		}
		return e.Line
	}
	switch o.Source {
	case SourceSpotify, SourceTikTok, SourceS4A, SourceDistroKid:
	case "":
		return o, fail(at("source"), "field source is missing (spotify, s4a, tiktok or distrokid)")
	default:
		return o, fail(at("source"), "source %q is not one of spotify, s4a, tiktok, distrokid", o.Source)
	}
	if o.Key == "" {
		return o, fail(at("key"), "field key is missing: %s", keyHelp(o.Source))
	}
	var ok bool
	switch o.Source {
	case SourceSpotify:
		if o.Key, ok = spotifyTrackID(o.Key); !ok {
			return o, fail(at("key"), "key %q is not a Spotify track id (22 letters and digits, or an open.spotify.com/track/… link)", short(o.Key))
		}
	case SourceTikTok:
		if o.Key, ok = tiktokVideoID(o.Key); !ok {
			return o, fail(at("key"), "key %q is not a TikTok video id (digits, or a tiktok.com/@user/video/… link)", short(o.Key))
		}
	default:
		if Normalize(o.Key) == "" {
			return o, fail(at("key"), "key %q has no letters or digits to match a title on", o.Key)
		}
	}
	if o.Artist != "" && o.Source != SourceS4A && o.Source != SourceDistroKid {
		return o, fail(at("artist"), "field artist only applies to s4a and distrokid entries (a %s key already names one item)", o.Source)
	}
	switch {
	case o.ISRC == "":
		return o, fail(at("isrc"), "field isrc is missing: write the track's ISRC, or none to keep the item unmatched")
	case o.None():
		o.ISRC = OverrideNone
	default:
		isrc, valid := NormalizeISRC(o.ISRC)
		if !valid {
			return o, fail(at("isrc"), "isrc %q is not an ISRC (12 characters like QZWFV2600103 or QZ-WFV-26-00103) nor none", o.ISRC)
		}
		o.ISRC = isrc
	}
	return o, nil
}

// short shortens a value for an error message.
func short(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:60]) + "…"
	}
	return s
}

func keyHelp(s Source) string {
	switch s {
	case SourceSpotify:
		return "the Spotify track id"
	case SourceTikTok:
		return "the TikTok video id"
	}
	return "the song title as written"
}

// identity is the entry's identity for duplicate detection and lookup.
func (o Override) identity() string {
	switch o.Source {
	case SourceS4A, SourceDistroKid:
		return string(o.Source) + "\x00" + Normalize(o.Key) + "\x00" + Normalize(o.Artist)
	}
	return string(o.Source) + "\x00" + o.Key
}

// spotifyTrackID returns the track id from an id, a spotify:track: URI or
// an open.spotify.com/track/ link.
func spotifyTrackID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "track/"); i >= 0 {
		s = s[i+len("track/"):]
	} else {
		s = strings.TrimPrefix(s, "spotify:track:")
	}
	if i := strings.IndexAny(s, "?#/"); i >= 0 {
		s = s[:i]
	}
	if len(s) != 22 {
		return s, false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return s, false
		}
	}
	return s, true
}

// tiktokVideoID returns the video id from an id or a tiktok.com/…/video/ link.
func tiktokVideoID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "video/"); i >= 0 {
		s = s[i+len("video/"):]
	}
	if i := strings.IndexAny(s, "?#/"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return s, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return s, false
		}
	}
	return s, true
}
