package sqlstore_test

import (
	"fmt"
	"testing"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// The benchmarks measure Commit with files per commit, the lake's hot
// write path, on each dialect.

func BenchmarkCommitSQLite(b *testing.B)   { benchmarkCommit(b, openSQLite) }
func BenchmarkCommitPostgres(b *testing.B) { benchmarkCommit(b, openPostgres) }

func benchmarkCommit(b *testing.B, open func(t testing.TB) metastore.Store) {
	for _, files := range []int{1, 10, 1000} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			s := open(b)
			n := 0
			for b.Loop() {
				n++
				id := fmt.Sprintf("batch-%d", n)
				c := metastore.Commit{RunID: "bench", Batches: []metastore.Batch{{Dataset: "raw.bench", ID: id}},
					States: []metastore.StreamState{{Source: "bench", Stream: "s", State: []byte(id)}}}
				for i := range files {
					c.Files = append(c.Files, metastore.File{Dataset: "raw.bench", Key: fmt.Sprintf("%s/%d", id, i),
						BatchID: id, Size: 1, Digest: "x", Meta: []byte(`{"a":1}`)})
				}
				if _, err := s.Commit(b.Context(), c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
