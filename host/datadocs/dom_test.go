package datadocs

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// node is a minimal DOM built from the rendered HTML with encoding/xml in
// its non-strict HTML mode, so the tests can check the structure (elements,
// attributes, text as a browser shows it) without a third-party parser.
type node struct {
	Name     string
	Attr     map[string]string
	Children []*node
	Parent   *node
	text     string // for text nodes (Name == "")
}

func parseDOM(t *testing.T, doc []byte) *node {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = false
	d.AutoClose = append(slices.Clone(xml.HTMLAutoClose), "wbr")
	d.Entity = xml.HTMLEntity
	root := &node{Name: "#document"}
	cur := root
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the page must parse as HTML")
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{Name: strings.ToLower(tok.Name.Local), Attr: map[string]string{}, Parent: cur}
			for _, a := range tok.Attr {
				name := a.Name.Local
				if a.Name.Space != "" {
					name = a.Name.Space + ":" + name
				}
				n.Attr[strings.ToLower(name)] = a.Value
			}
			cur.Children = append(cur.Children, n)
			cur = n
		case xml.EndElement:
			name := strings.ToLower(tok.Name.Local)
			for n := cur; n != nil && n != root; n = n.Parent {
				if n.Name == name {
					cur = n.Parent
					break
				}
			}
		case xml.CharData:
			cur.Children = append(cur.Children, &node{text: string(tok), Parent: cur})
		}
	}
	return root
}

// all returns the elements under n (n included) for which match is true.
func (n *node) all(match func(*node) bool) []*node {
	var out []*node
	var walk func(*node)
	walk = func(c *node) {
		if c.Name != "" && match(c) {
			out = append(out, c)
		}
		for _, ch := range c.Children {
			walk(ch)
		}
	}
	walk(n)
	return out
}

// byName returns the elements named name under n.
func (n *node) byName(name string) []*node {
	return n.all(func(c *node) bool { return c.Name == name })
}

// byID returns the element with the id, or nil.
func (n *node) byID(id string) *node {
	found := n.all(func(c *node) bool { return c.Attr["id"] == id })
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// byClass returns the elements whose class list has class.
func (n *node) byClass(class string) []*node {
	return n.all(func(c *node) bool { return hasClass(c, class) })
}

func hasClass(n *node, class string) bool {
	for _, c := range strings.Fields(n.Attr["class"]) {
		if c == class {
			return true
		}
	}
	return false
}

// Text returns the text under n with runs of white space collapsed.
func (n *node) Text() string {
	var b strings.Builder
	var walk func(*node)
	walk = func(c *node) {
		if c.Name == "" {
			b.WriteString(c.text)
			return
		}
		// Element boundaries separate words, except <wbr> (a line-break
		// opportunity inside a word).
		if c.Name != "wbr" {
			b.WriteByte(' ')
		}
		for _, ch := range c.Children {
			walk(ch)
		}
		if c.Name != "wbr" {
			b.WriteByte(' ')
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// ancestor returns n's nearest ancestor named name, or nil.
func (n *node) ancestor(name string) *node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Name == name {
			return p
		}
	}
	return nil
}
