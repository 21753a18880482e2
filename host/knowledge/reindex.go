package knowledge

import (
	"context"
	"errors"
	"fmt"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/storage"
)

// ReindexResult says what Reindex did.
type ReindexResult struct {
	// Entries is how many entry files were indexed.
	Entries int `json:"entries"`
	// Removed is how many entry nodes were dropped because their file is
	// gone (an agent's node stays, without its entry).
	Removed int `json:"removed"`
	// Failed lists the files that could not be indexed, with the reason.
	Failed []string `json:"failed,omitempty"`
}

// Reindex rebuilds the graph's entry nodes and their edges from the
// Markdown files under knowledge/, the source of truth people may edit. A
// file that cannot be read or parsed is reported (in the result and the
// joined error) and its node left as it was; the others are indexed.
// Entries whose file is gone leave the graph. Datasets, sessions and their
// lineage edges are untouched.
func (b *Base) Reindex(ctx context.Context) (ReindexResult, error) {
	var res ReindexResult
	var keys []string
	modTimes := map[string]storage.ObjectInfo{}
	err := b.Store.List(ctx, Root, func(o storage.ObjectInfo) error {
		if _, _, _, ok := ParsePath(o.Key); ok {
			keys = append(keys, o.Key)
			modTimes[o.Key] = o
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("failed to list %s: %w", Root, err)
	}

	var errs []error
	fail := func(key string, err error) {
		res.Failed = append(res.Failed, fmt.Sprintf("%s: %v", key, err))
		errs = append(errs, err)
	}
	seen := map[string]bool{} // paths found, indexed or not
	var entries []Entry
	for _, key := range keys {
		seen[key] = true
		e, err := b.readEntry(ctx, key)
		if err != nil {
			fail(key, err)
			continue
		}
		if e.Created.IsZero() {
			e.Created = modTimes[key].ModTime.UTC()
		}
		if err := b.index(ctx, e); err != nil {
			fail(key, err)
			continue
		}
		entries = append(entries, e)
	}
	// Edges after all nodes, so that an entry may supersede one listed
	// after it.
	for _, e := range entries {
		if err := b.link(ctx, e); err != nil {
			fail(e.Path, err)
			continue
		}
		res.Entries++
	}

	hits, err := b.Meta.SearchKnowledge(ctx, "", metastore.KnowledgeFilter{Kinds: EntryKinds, Limit: -1})
	if err != nil {
		return res, errors.Join(append(errs, fmt.Errorf("failed to list entry nodes: %w", err))...)
	}
	for _, h := range hits {
		n := h.Node
		if n.Path == "" || seen[n.Path] {
			continue
		}
		if n.Kind == KindAgent {
			// The agent stays in the graph (its sessions and entries);
			// only its entry is gone.
			_, err = b.Meta.UpsertKnowledgeNode(ctx, metastore.KnowledgeNode{Kind: n.Kind, Key: n.Key, Title: n.Key})
		} else {
			err = b.Meta.DeleteKnowledgeNode(ctx, n.ID)
		}
		if err != nil {
			fail(n.Path, err)
			continue
		}
		res.Removed++
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("failed to index %d knowledge file(s): %w", len(errs), errors.Join(errs...))
	}
	return res, nil
}
