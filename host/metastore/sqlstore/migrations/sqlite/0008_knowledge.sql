-- The knowledge graph: nodes (agents, sessions, datasets, decisions,
-- patterns, findings) and the edges between them. A node is identified by
-- its kind and natural key (a dataset's name, an agent's id, an entry's
-- slug); id is its stable handle, referenced by edges. The Markdown entries
-- under knowledge/ in the lake are the source of truth for entry nodes.
--
-- Full-text search is an external-content FTS5 table over title, body and
-- tags (tag_text: the tags joined by spaces), kept in sync by triggers in
-- the writing transaction; seq is the rowid FTS5 refers to.
CREATE TABLE knowledge_nodes (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('agent', 'session', 'dataset', 'decision', 'pattern', 'finding')),
    node_key   TEXT NOT NULL,
    title      TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL DEFAULT '',
    tags       TEXT NOT NULL DEFAULT '[]',
    tag_text   TEXT NOT NULL DEFAULT '',
    path       TEXT NOT NULL DEFAULT '',
    meta       TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (kind, node_key)
) STRICT;
CREATE INDEX knowledge_nodes_updated_idx ON knowledge_nodes (updated_at DESC, id);

CREATE TABLE knowledge_edges (
    from_id    TEXT NOT NULL REFERENCES knowledge_nodes (id) ON DELETE CASCADE,
    to_id      TEXT NOT NULL REFERENCES knowledge_nodes (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('produced', 'consumed', 'contributed', 'informs', 'supersedes')),
    meta       TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (from_id, to_id, kind)
) STRICT;
CREATE INDEX knowledge_edges_to_idx ON knowledge_edges (to_id, kind);

CREATE VIRTUAL TABLE knowledge_fts USING fts5 (
    title, body, tag_text,
    content = 'knowledge_nodes', content_rowid = 'seq',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER knowledge_nodes_fts_insert AFTER INSERT ON knowledge_nodes BEGIN
    INSERT INTO knowledge_fts (rowid, title, body, tag_text) VALUES (new.seq, new.title, new.body, new.tag_text);
END;
CREATE TRIGGER knowledge_nodes_fts_delete AFTER DELETE ON knowledge_nodes BEGIN
    INSERT INTO knowledge_fts (knowledge_fts, rowid, title, body, tag_text)
        VALUES ('delete', old.seq, old.title, old.body, old.tag_text);
END;
CREATE TRIGGER knowledge_nodes_fts_update AFTER UPDATE ON knowledge_nodes BEGIN
    INSERT INTO knowledge_fts (knowledge_fts, rowid, title, body, tag_text)
        VALUES ('delete', old.seq, old.title, old.body, old.tag_text);
    INSERT INTO knowledge_fts (rowid, title, body, tag_text) VALUES (new.seq, new.title, new.body, new.tag_text);
END;
