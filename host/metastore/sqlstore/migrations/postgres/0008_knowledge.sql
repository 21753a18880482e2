-- The knowledge graph: nodes (agents, sessions, datasets, decisions,
-- patterns, findings) and the edges between them. A node is identified by
-- its kind and natural key (a dataset's name, an agent's id, an entry's
-- slug); id is its stable handle, referenced by edges. The Markdown entries
-- under knowledge/ in the lake are the source of truth for entry nodes.
--
-- Full-text search is a generated tsvector (English stemming; title weighs
-- most, then tags, then body) with a GIN index, queried with
-- websearch_to_tsquery. tag_text is the tags joined by spaces.
CREATE TABLE knowledge_nodes (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('agent', 'session', 'dataset', 'decision', 'pattern', 'finding')),
    node_key   TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL DEFAULT '',
    tags       JSONB NOT NULL DEFAULT '[]',
    tag_text   TEXT NOT NULL DEFAULT '',
    path       TEXT NOT NULL DEFAULT '',
    meta       JSONB,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    search     TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A') ||
        setweight(to_tsvector('english'::regconfig, tag_text), 'B') ||
        setweight(to_tsvector('english'::regconfig, body), 'C')
    ) STORED,
    UNIQUE (kind, node_key)
);
CREATE INDEX knowledge_nodes_search_idx ON knowledge_nodes USING GIN (search);
CREATE INDEX knowledge_nodes_tags_idx ON knowledge_nodes USING GIN (tags);
CREATE INDEX knowledge_nodes_updated_idx ON knowledge_nodes (updated_at DESC, id);

CREATE TABLE knowledge_edges (
    from_id    TEXT NOT NULL REFERENCES knowledge_nodes (id) ON DELETE CASCADE,
    to_id      TEXT NOT NULL REFERENCES knowledge_nodes (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('produced', 'consumed', 'contributed', 'informs', 'supersedes')),
    meta       JSONB,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (from_id, to_id, kind)
);
CREATE INDEX knowledge_edges_to_idx ON knowledge_edges (to_id, kind);
