package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// defaultKnowledgeLimit is how many hits SearchKnowledge returns when the
// filter sets no limit.
const defaultKnowledgeLimit = 20

const knowledgeNodeColumns = `n.id, n.kind, n.node_key, n.title, n.body, n.tags, n.path, n.meta, n.created_at, n.updated_at`

// knowledgeNodeReturning is knowledgeNodeColumns unqualified, for RETURNING
// (SQLite allows no table alias there).
const knowledgeNodeReturning = `id, kind, node_key, title, body, tags, path, meta, created_at, updated_at`

// snippetMark wraps matched words in snippets.
const snippetMark = "**"

// UpsertKnowledgeNode inserts a node or updates the node of the same kind
// and key.
func (s *store) UpsertKnowledgeNode(ctx context.Context, n metastore.KnowledgeNode) (metastore.KnowledgeNode, error) {
	if !metastore.ValidKnowledgeNodeKind(n.Kind) {
		return n, fmt.Errorf("failed to save knowledge node %q: kind %q is not one of %s",
			n.Key, n.Kind, strings.Join(metastore.KnowledgeNodeKinds, ", "))
	}
	if strings.TrimSpace(n.Key) == "" {
		return n, fmt.Errorf("failed to save %s knowledge node: its key is empty", n.Kind)
	}
	if n.ID == "" {
		n.ID = n.Kind + ":" + n.Key
	}
	meta, err := jsonArg(n.Meta)
	if err != nil {
		return n, fmt.Errorf("failed to save knowledge node %s: meta: %w", n.ID, err)
	}
	tags := normTags(n.Tags)
	tagJSON, err := json.Marshal(tags)
	if err != nil {
		return n, fmt.Errorf("failed to save knowledge node %s: tags: %w", n.ID, err)
	}
	at := now()
	keepCreated := 1
	if n.CreatedAt.IsZero() {
		n.CreatedAt = at
		keepCreated = 0
	}
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = at
	}
	got, err := scanKnowledgeNode(s.wdb.QueryRowContext(ctx, `INSERT INTO knowledge_nodes (id, kind, node_key, title, body,
			tags, tag_text, path, meta, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (kind, node_key) DO UPDATE SET
			title = excluded.title,
			body = excluded.body,
			tags = excluded.tags,
			tag_text = excluded.tag_text,
			path = excluded.path,
			meta = excluded.meta,
			updated_at = excluded.updated_at,
			created_at = CASE WHEN $12 = 1 THEN excluded.created_at ELSE knowledge_nodes.created_at END
		RETURNING `+knowledgeNodeReturning,
		n.ID, n.Kind, n.Key, n.Title, n.Body, string(tagJSON), strings.Join(tags, " "), n.Path, meta,
		s.timeArg(n.CreatedAt), s.timeArg(n.UpdatedAt), keepCreated))
	if err != nil {
		if isUniqueViolation(err) {
			return n, fmt.Errorf("failed to save knowledge node %s:%s: id %q belongs to another node; leave ID empty to keep the node's own", n.Kind, n.Key, n.ID)
		}
		return n, fmt.Errorf("failed to save knowledge node %s: %w", n.ID, err)
	}
	return got, nil
}

// isUniqueViolation reports whether err is a unique-constraint violation
// of either dialect.
func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// normTags trims tags and drops empty and repeated ones, keeping order.
func normTags(tags []string) []string {
	out := []string{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// AddKnowledgeEdge links two nodes, idempotently.
func (s *store) AddKnowledgeEdge(ctx context.Context, e metastore.KnowledgeEdge) error {
	if !metastore.ValidKnowledgeEdgeKind(e.Kind) {
		return fmt.Errorf("failed to link %s to %s: edge kind %q is not one of %s",
			e.From, e.To, e.Kind, strings.Join(metastore.KnowledgeEdgeKinds, ", "))
	}
	if e.From == e.To {
		return fmt.Errorf("failed to link %s to itself: an edge joins two different nodes", e.From)
	}
	meta, err := jsonArg(e.Meta)
	if err != nil {
		return fmt.Errorf("failed to link %s to %s: meta: %w", e.From, e.To, err)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now()
	}
	var found int
	if err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM knowledge_nodes WHERE id IN ($1, $2)`,
		e.From, e.To).Scan(&found); err != nil {
		return fmt.Errorf("failed to link %s to %s: %w", e.From, e.To, err)
	}
	if found != 2 {
		return fmt.Errorf("failed to link %s to %s (%s): %w: add both nodes first", e.From, e.To, e.Kind, metastore.ErrNotFound)
	}
	if _, err := s.wdb.ExecContext(ctx, `INSERT INTO knowledge_edges (from_id, to_id, kind, meta, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (from_id, to_id, kind) DO NOTHING`,
		e.From, e.To, e.Kind, meta, s.timeArg(e.CreatedAt)); err != nil {
		return fmt.Errorf("failed to link %s to %s (%s): %w", e.From, e.To, e.Kind, err)
	}
	return nil
}

// RemoveKnowledgeEdge unlinks two nodes.
func (s *store) RemoveKnowledgeEdge(ctx context.Context, e metastore.KnowledgeEdge) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM knowledge_edges WHERE from_id = $1 AND to_id = $2 AND kind = $3`,
		e.From, e.To, e.Kind)
	if err != nil {
		return false, fmt.Errorf("failed to unlink %s from %s (%s): %w", e.From, e.To, e.Kind, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("failed to unlink %s from %s (%s): %w", e.From, e.To, e.Kind, err)
	}
	return n > 0, nil
}

// DeleteKnowledgeNode deletes a node and its edges in one transaction.
func (s *store) DeleteKnowledgeNode(ctx context.Context, id string) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to delete knowledge node %s: %w", id, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `DELETE FROM knowledge_edges WHERE from_id = $1 OR to_id = $1`, id); err != nil {
		return fmt.Errorf("failed to delete edges of knowledge node %s: %w", id, err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM knowledge_nodes WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("failed to delete knowledge node %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("failed to delete knowledge node %s: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("failed to delete knowledge node %s: %w", id, metastore.ErrNotFound)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to delete knowledge node %s: %w", id, err)
	}
	return nil
}

// GetKnowledgeNode returns the node with an id.
func (s *store) GetKnowledgeNode(ctx context.Context, id string) (metastore.KnowledgeNode, error) {
	n, err := scanKnowledgeNode(s.db.QueryRowContext(ctx, `SELECT `+knowledgeNodeColumns+` FROM knowledge_nodes n WHERE n.id = $1`, id))
	if errNoRows(err) {
		return n, fmt.Errorf("failed to get knowledge node %q: %w", id, metastore.ErrNotFound)
	}
	if err != nil {
		return n, fmt.Errorf("failed to get knowledge node %q: %w", id, err)
	}
	return n, nil
}

// FindKnowledgeNode returns the node of a kind and key.
func (s *store) FindKnowledgeNode(ctx context.Context, kind, key string) (metastore.KnowledgeNode, error) {
	n, err := scanKnowledgeNode(s.db.QueryRowContext(ctx, `SELECT `+knowledgeNodeColumns+`
		FROM knowledge_nodes n WHERE n.kind = $1 AND n.node_key = $2`, kind, key))
	if errNoRows(err) {
		return n, fmt.Errorf("failed to find %s %q in the knowledge graph: %w", kind, key, metastore.ErrNotFound)
	}
	if err != nil {
		return n, fmt.Errorf("failed to find %s %q in the knowledge graph: %w", kind, key, err)
	}
	return n, nil
}

// argList accumulates query arguments and hands out their placeholders.
type argList struct {
	s    *store
	args []any
}

// add appends v and returns its placeholder.
func (a *argList) add(v any) string {
	a.args = append(a.args, v)
	return a.s.param(len(a.args))
}

// addAll appends vs and returns their comma-separated placeholders.
func (a *argList) addAll(vs []string) string {
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = a.add(v)
	}
	return strings.Join(ps, ", ")
}

// SearchKnowledge runs a full-text search: FTS5 on SQLite, a tsvector on
// PostgreSQL.
func (s *store) SearchKnowledge(ctx context.Context, query string, f metastore.KnowledgeFilter) ([]metastore.KnowledgeHit, error) {
	for _, k := range f.Kinds {
		if !metastore.ValidKnowledgeNodeKind(k) {
			return nil, fmt.Errorf("failed to search knowledge: kind %q is not one of %s", k, strings.Join(metastore.KnowledgeNodeKinds, ", "))
		}
	}
	limit := f.Limit
	if limit == 0 {
		limit = defaultKnowledgeLimit
	}
	query = strings.TrimSpace(query)

	// Placeholders are handed out in text order: on SQLite they are all
	// anonymous "?", bound by position.
	a := &argList{s: s}
	var sel, from, order string
	var conds []string
	listing := query == ""
	switch {
	case listing:
		sel = knowledgeNodeColumns + `, 0.0, ''`
		from = `knowledge_nodes n`
		order = `n.updated_at DESC, n.id`
	case s.dialect == DialectSQLite:
		match := ftsQuery(query)
		if match == "" {
			return []metastore.KnowledgeHit{}, nil
		}
		// bm25 is lower for better matches; title weighs most, then tags.
		sel = knowledgeNodeColumns + `, -bm25(knowledge_fts, 10.0, 1.0, 4.0) AS score,
			snippet(knowledge_fts, -1, '` + snippetMark + `', '` + snippetMark + `', '…', 16)`
		from = `knowledge_fts JOIN knowledge_nodes n ON n.seq = knowledge_fts.rowid`
		conds = append(conds, `knowledge_fts MATCH `+a.add(match))
		order = `score DESC, n.updated_at DESC, n.id`
	default:
		q := a.add(query)
		sel = knowledgeNodeColumns + `, ts_rank_cd(n.search, q.q) AS score,
			ts_headline('english', n.title || E'\n' || n.body, q.q,
				'StartSel="` + snippetMark + `", StopSel="` + snippetMark + `", MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=" … "')`
		from = `knowledge_nodes n, websearch_to_tsquery('english', ` + q + `) AS q (q)`
		conds = append(conds, `n.search @@ q.q`)
		order = `score DESC, n.updated_at DESC, n.id`
	}
	if len(f.Kinds) > 0 {
		conds = append(conds, `n.kind IN (`+a.addAll(f.Kinds)+`)`)
	}
	if f.Tag != "" {
		if s.dialect == DialectSQLite {
			conds = append(conds, `EXISTS (SELECT 1 FROM json_each(n.tags) WHERE json_each.value = `+a.add(f.Tag)+`)`)
		} else {
			conds = append(conds, `n.tags @> jsonb_build_array(`+a.add(f.Tag)+`::text)`)
		}
	}
	stmt := `SELECT ` + sel + ` FROM ` + from
	if len(conds) > 0 {
		stmt += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	stmt += ` ORDER BY ` + order
	if limit > 0 {
		stmt += ` LIMIT ` + a.add(limit)
	}

	rows, err := s.db.QueryContext(ctx, stmt, a.args...)
	if err != nil {
		return nil, fmt.Errorf("failed to search knowledge for %q: %w", query, err)
	}
	defer func() { _ = rows.Close() }()
	hits := []metastore.KnowledgeHit{}
	for rows.Next() {
		var h metastore.KnowledgeHit
		var tags []byte
		n := &h.Node
		if err := rows.Scan(&n.ID, &n.Kind, &n.Key, &n.Title, &n.Body, &tags, &n.Path, (*[]byte)(&n.Meta),
			timeDest{&n.CreatedAt}, timeDest{&n.UpdatedAt}, &h.Rank, &h.Snippet); err != nil {
			return nil, fmt.Errorf("failed to read knowledge search results: %w", err)
		}
		if err := decodeTags(tags, n); err != nil {
			return nil, err
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to search knowledge for %q: %w", query, err)
	}
	return hits, nil
}

// KnowledgeNeighbors walks the graph breadth first, one query per step.
func (s *store) KnowledgeNeighbors(ctx context.Context, id string, edgeKinds []string, direction string, depth int) ([]metastore.KnowledgeNode, []metastore.KnowledgeEdge, error) {
	switch direction {
	case metastore.DirectionOut, metastore.DirectionIn, metastore.DirectionBoth:
	default:
		return nil, nil, fmt.Errorf("failed to walk the knowledge graph from %s: direction %q is not one of out, in, both", id, direction)
	}
	if depth < 1 || depth > metastore.MaxKnowledgeDepth {
		return nil, nil, fmt.Errorf("failed to walk the knowledge graph from %s: depth %d is not between 1 and %d", id, depth, metastore.MaxKnowledgeDepth)
	}
	for _, k := range edgeKinds {
		if !metastore.ValidKnowledgeEdgeKind(k) {
			return nil, nil, fmt.Errorf("failed to walk the knowledge graph from %s: edge kind %q is not one of %s",
				id, k, strings.Join(metastore.KnowledgeEdgeKinds, ", "))
		}
	}
	if _, err := s.GetKnowledgeNode(ctx, id); err != nil {
		return nil, nil, fmt.Errorf("failed to walk the knowledge graph: %w", err)
	}

	level := map[string]int{id: 0}
	var order []string // reached node ids, by level
	edges := []metastore.KnowledgeEdge{}
	seenEdge := map[[3]string]bool{}
	frontier := []string{id}
	for step := 1; step <= depth && len(frontier) > 0; step++ {
		var next []string
		for chunk := range slices.Chunk(frontier, maxRowsPerStatement/2) {
			found, err := s.knowledgeEdgesOf(ctx, chunk, edgeKinds, direction)
			if err != nil {
				return nil, nil, fmt.Errorf("failed to walk the knowledge graph from %s: %w", id, err)
			}
			for _, e := range found {
				k := [3]string{e.From, e.To, e.Kind}
				if seenEdge[k] {
					continue
				}
				seenEdge[k] = true
				edges = append(edges, e)
				for _, end := range []string{e.From, e.To} {
					if _, ok := level[end]; !ok {
						level[end] = step
						order = append(order, end)
						next = append(next, end)
					}
				}
			}
		}
		frontier = next
	}

	nodes := make([]metastore.KnowledgeNode, 0, len(order))
	for chunk := range slices.Chunk(order, maxRowsPerStatement) {
		got, err := s.knowledgeNodesByID(ctx, chunk)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to walk the knowledge graph from %s: %w", id, err)
		}
		nodes = append(nodes, got...)
	}
	sort.SliceStable(nodes, func(i, j int) bool {
		a, b := nodes[i], nodes[j]
		if level[a.ID] != level[b.ID] {
			return level[a.ID] < level[b.ID]
		}
		if !a.UpdatedAt.Equal(b.UpdatedAt) {
			return a.UpdatedAt.After(b.UpdatedAt)
		}
		return a.ID < b.ID
	})
	return nodes, edges, nil
}

// knowledgeEdgesOf returns the edges of kinds (empty: all) leaving,
// entering or touching (by direction) the nodes ids.
func (s *store) knowledgeEdgesOf(ctx context.Context, ids, kinds []string, direction string) ([]metastore.KnowledgeEdge, error) {
	a := &argList{s: s}
	var cond string
	switch direction {
	case metastore.DirectionOut:
		cond = `from_id IN (` + a.addAll(ids) + `)`
	case metastore.DirectionIn:
		cond = `to_id IN (` + a.addAll(ids) + `)`
	default:
		cond = `(from_id IN (` + a.addAll(ids) + `) OR to_id IN (` + a.addAll(ids) + `))`
	}
	if len(kinds) > 0 {
		cond += ` AND kind IN (` + a.addAll(kinds) + `)`
	}
	rows, err := s.db.QueryContext(ctx, `SELECT from_id, to_id, kind, meta, created_at FROM knowledge_edges
		WHERE `+cond+` ORDER BY created_at, from_id, to_id, kind`, a.args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []metastore.KnowledgeEdge
	for rows.Next() {
		var e metastore.KnowledgeEdge
		if err := rows.Scan(&e.From, &e.To, &e.Kind, (*[]byte)(&e.Meta), timeDest{&e.CreatedAt}); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// knowledgeNodesByID returns the nodes with the ids, in no set order.
func (s *store) knowledgeNodesByID(ctx context.Context, ids []string) ([]metastore.KnowledgeNode, error) {
	a := &argList{s: s}
	rows, err := s.db.QueryContext(ctx, `SELECT `+knowledgeNodeColumns+` FROM knowledge_nodes n
		WHERE n.id IN (`+a.addAll(ids)+`)`, a.args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []metastore.KnowledgeNode
	for rows.Next() {
		n, err := scanKnowledgeNode(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// scanKnowledgeNode reads knowledgeNodeColumns.
func scanKnowledgeNode(r rowScanner) (metastore.KnowledgeNode, error) {
	var n metastore.KnowledgeNode
	var tags []byte
	if err := r.Scan(&n.ID, &n.Kind, &n.Key, &n.Title, &n.Body, &tags, &n.Path, (*[]byte)(&n.Meta),
		timeDest{&n.CreatedAt}, timeDest{&n.UpdatedAt}); err != nil {
		return n, err
	}
	return n, decodeTags(tags, &n)
}

// decodeTags fills n.Tags from the tags column's JSON.
func decodeTags(raw []byte, n *metastore.KnowledgeNode) error {
	n.Tags = nil
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, &n.Tags); err != nil {
		return fmt.Errorf("failed to read tags of knowledge node %s: %w", n.ID, err)
	}
	if len(n.Tags) == 0 {
		n.Tags = nil
	}
	return nil
}

// ftsQuery turns a web-search style query into an FTS5 query that cannot
// be a syntax error, matching websearch_to_tsquery's reading: words must
// all match, "quoted phrases" match as phrases, OR between two terms
// matches either, and a term after '-' must not match. Every word is
// quoted, so FTS5 operators and punctuation in the input are just text;
// words joined by punctuation (o'reilly, raw.tiktok.videos) become a
// phrase, as PostgreSQL's parser splits them too. English stop words are
// dropped, as PostgreSQL's english configuration drops them. It returns ""
// when nothing searchable is left.
func ftsQuery(q string) string {
	type term struct {
		words  []string
		negate bool
		or     bool // joined to the previous term with OR
	}
	var terms []term
	pendingOr := false
	rs := []rune(q)
	for i := 0; i < len(rs); {
		r := rs[i]
		if unicode.IsSpace(r) {
			i++
			continue
		}
		negate := false
		if r == '-' {
			negate = true
			i++
			if i >= len(rs) {
				break
			}
		}
		var raw string
		quoted := rs[i] == '"'
		if quoted {
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			raw = string(rs[i+1 : j])
			i = j + 1
		} else {
			j := i
			for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != '"' {
				j++
			}
			raw = string(rs[i:j])
			i = j
		}
		if !quoted && !negate && strings.EqualFold(raw, "or") {
			pendingOr = len(terms) > 0
			continue
		}
		var words []string
		for _, w := range strings.FieldsFunc(strings.ToLower(raw), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			if !englishStopWords[w] {
				words = append(words, w)
			}
		}
		if len(words) == 0 {
			continue
		}
		terms = append(terms, term{words: words, negate: negate, or: pendingOr && !negate})
		pendingOr = false
	}

	var pos, neg []string
	for _, t := range terms {
		phrase := `"` + strings.Join(t.words, " ") + `"`
		switch {
		case t.negate:
			neg = append(neg, phrase)
		case t.or && len(pos) > 0:
			pos = append(pos, "OR", phrase)
		case len(pos) > 0:
			pos = append(pos, "AND", phrase)
		default:
			pos = append(pos, phrase)
		}
	}
	if len(pos) == 0 {
		return ""
	}
	out := "(" + strings.Join(pos, " ") + ")"
	for _, n := range neg {
		out += " NOT " + n
	}
	return out
}

// englishStopWords is PostgreSQL's english stop-word list (Snowball's),
// dropped from SQLite queries so that both dialects match alike.
var englishStopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`i me my myself we our ours ourselves you your yours yourself
		yourselves he him his himself she her hers herself it its itself they them their theirs
		themselves what which who whom this that these those am is are was were be been being have
		has had having do does did doing a an the and but if or because as until while of at by for
		with about against between into through during before after above below to from up down in
		out on off over under again further then once here there when where why how all any both
		each few more most other some such no nor not only own same so than too very s t can will
		just don should now`) {
		m[w] = true
	}
	return m
}()
