package knowledge

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// Entry kinds: the knowledge node kinds that have a Markdown entry.
const (
	KindDecision = metastore.NodeDecision
	KindPattern  = metastore.NodePattern
	KindFinding  = metastore.NodeFinding
	KindAgent    = metastore.NodeAgent
)

// EntryKinds lists the entry kinds.
var EntryKinds = []string{KindDecision, KindPattern, KindFinding, KindAgent}

// Lake folders of the knowledge base (DESIGN.md §3).
const (
	DecisionsDir = "knowledge/decisions"
	PatternsDir  = "knowledge/patterns"
	AgentsDir    = "knowledge/agents"
)

// Entry is one Markdown entry of the knowledge base: YAML front matter and
// a Markdown body.
type Entry struct {
	// ID is "<kind>:<slug>", the entry's node ID in the graph.
	ID   string
	Kind string // decision, pattern, finding or agent
	// Slug names the entry's file; for an agent entry it is the agent's id.
	Slug  string
	Title string
	// Tags are lower-case; an entry tagged with a task type is gathered
	// for tasks of that type.
	Tags []string
	// Datasets are the BEDROT dataset names (raw.tiktok.videos) the entry
	// informs.
	Datasets []string
	// Agent contributed the entry (required for findings).
	Agent string
	// Session produced the entry.
	Session string
	// Supersedes lists the IDs of entries this one replaces.
	Supersedes []string
	Created    time.Time
	Body       string
	// Path is the entry's lake key.
	Path string
}

// frontMatter is the YAML header of an entry file.
type frontMatter struct {
	ID         string    `yaml:"id,omitempty"`
	Kind       string    `yaml:"kind,omitempty"`
	Title      string    `yaml:"title"`
	Tags       []string  `yaml:"tags,omitempty,flow"`
	Datasets   []string  `yaml:"datasets,omitempty,flow"`
	Agent      string    `yaml:"agent,omitempty"`
	Session    string    `yaml:"session,omitempty"`
	Supersedes []string  `yaml:"supersedes,omitempty,flow"`
	Created    time.Time `yaml:"created,omitempty"`
}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// ValidSlug checks an entry slug (or agent id) for use in a lake key.
func ValidSlug(slug string) error {
	if !slugPattern.MatchString(slug) || strings.Contains(slug, "..") {
		return fmt.Errorf("invalid slug %q: use lower-case letters, digits, '.', '-' and '_' (at most 100), starting with a letter or digit", slug)
	}
	return nil
}

// Slugify derives a slug from a title: lower-case words joined by '-',
// at most 60 characters. It returns "" for a title without letters or
// digits.
func Slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// EntryPath is the lake key of an entry:
//
//	knowledge/decisions/<slug>.md
//	knowledge/patterns/<slug>.md
//	knowledge/agents/<agent>.md                   (an agent's own entry)
//	knowledge/agents/<agent>/findings/<slug>.md   (findings, by the agent that found them)
func EntryPath(kind, slug, agent string) (string, error) {
	if err := ValidSlug(slug); err != nil {
		return "", err
	}
	switch kind {
	case KindDecision:
		return DecisionsDir + "/" + slug + ".md", nil
	case KindPattern:
		return PatternsDir + "/" + slug + ".md", nil
	case KindAgent:
		return AgentsDir + "/" + slug + ".md", nil
	case KindFinding:
		if agent == "" {
			return "", errors.New("a finding belongs to the agent that found it: set its agent")
		}
		if err := ValidSlug(agent); err != nil {
			return "", fmt.Errorf("agent: %w", err)
		}
		return AgentsDir + "/" + agent + "/findings/" + slug + ".md", nil
	}
	return "", fmt.Errorf("kind %q is not one of %s", kind, strings.Join(EntryKinds, ", "))
}

// ParsePath reads an entry's kind, slug and (for findings) agent from its
// lake key; ok is false for keys that are not entries.
func ParsePath(key string) (kind, slug, agent string, ok bool) {
	if !strings.HasSuffix(key, ".md") || strings.EqualFold(path.Base(key), "README.md") {
		return "", "", "", false
	}
	dir, file := path.Split(strings.TrimSuffix(key, ".md"))
	dir = strings.TrimSuffix(dir, "/")
	switch {
	case dir == DecisionsDir:
		kind = KindDecision
	case dir == PatternsDir:
		kind = KindPattern
	case dir == AgentsDir:
		kind = KindAgent
	case strings.HasPrefix(dir, AgentsDir+"/") && strings.HasSuffix(dir, "/findings"):
		agent = strings.TrimSuffix(strings.TrimPrefix(dir, AgentsDir+"/"), "/findings")
		if strings.Contains(agent, "/") || ValidSlug(agent) != nil {
			return "", "", "", false
		}
		kind = KindFinding
	default:
		return "", "", "", false
	}
	if ValidSlug(file) != nil {
		return "", "", "", false
	}
	return kind, file, agent, true
}

// Render writes the entry as Markdown with YAML front matter.
func Render(e Entry) ([]byte, error) {
	fm := frontMatter{ID: e.ID, Kind: e.Kind, Title: e.Title, Tags: e.Tags, Datasets: e.Datasets,
		Agent: e.Agent, Session: e.Session, Supersedes: e.Supersedes, Created: e.Created.UTC()}
	var b bytes.Buffer
	b.WriteString("---\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(fm); err != nil {
		return nil, fmt.Errorf("failed to render entry %s: %w", e.ID, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("failed to render entry %s: %w", e.ID, err)
	}
	b.WriteString("---\n\n")
	body := strings.TrimSpace(e.Body)
	if body != "" {
		b.WriteString(body)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// Parse reads an entry file: "---", YAML front matter, "---", then the
// Markdown body. Unknown front matter fields are an error (a misspelt
// "dataset:" would otherwise be lost). Path, Slug and ID are left for the
// caller, who knows the file's key.
func Parse(data []byte) (Entry, error) {
	text := strings.ReplaceAll(string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))), "\r\n", "\n")
	if !strings.HasPrefix(text, "---\n") {
		return Entry{}, errors.New(`no front matter: the file must start with a line "---", then YAML (title: ...), then "---"`)
	}
	rest := text[len("---\n"):]
	var head, body string
	switch {
	case strings.HasPrefix(rest, "---\n") || rest == "---":
		head, body = "", strings.TrimPrefix(strings.TrimPrefix(rest, "---"), "\n")
	default:
		i := strings.Index(rest, "\n---\n")
		if i < 0 {
			if !strings.HasSuffix(rest, "\n---") {
				return Entry{}, errors.New(`front matter is not closed: add a line "---" after it`)
			}
			i = len(rest) - len("\n---")
			head, body = rest[:i], ""
		} else {
			head, body = rest[:i], rest[i+len("\n---\n"):]
		}
	}
	var fm frontMatter
	dec := yaml.NewDecoder(strings.NewReader(head))
	dec.KnownFields(true)
	if err := dec.Decode(&fm); err != nil && !errors.Is(err, io.EOF) {
		return Entry{}, fmt.Errorf("front matter: %w (known fields: id, kind, title, tags, datasets, agent, session, supersedes, created)", err)
	}
	e := Entry{ID: fm.ID, Kind: fm.Kind, Title: strings.TrimSpace(fm.Title), Tags: normTags(fm.Tags),
		Datasets: normList(fm.Datasets), Agent: strings.TrimSpace(fm.Agent), Session: strings.TrimSpace(fm.Session),
		Supersedes: normList(fm.Supersedes), Body: strings.TrimSpace(body)}
	if !fm.Created.IsZero() {
		e.Created = fm.Created.UTC()
	}
	return e, nil
}

// normTags lower-cases and trims tags, dropping empty and repeated ones.
func normTags(tags []string) []string {
	out := normList(tags)
	for i := range out {
		out[i] = strings.ToLower(out[i])
	}
	return normList(out)
}

// normList trims values, dropping empty and repeated ones; nil when none
// are left.
func normList(vs []string) []string {
	var out []string
	for _, v := range vs {
		v = strings.TrimSpace(v)
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
