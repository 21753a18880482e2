package sqlstore_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	_ "modernc.org/sqlite"
)

func TestZZBusyExperiment(t *testing.T) {
	fails := map[string]int{}
	var mu sync.Mutex
	for iter := 0; iter < 200; iter++ {
		path := filepath.Join(t.TempDir(), "x.db")
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db, _ := sql.Open("sqlite", "file:"+path+"?_busy_timeout=30000&_journal_mode=WAL&_txlock=immediate")
				defer db.Close()
				conn, err := db.Conn(t.Context())
				if err != nil {
					mu.Lock(); fails["conn: "+err.Error()]++; mu.Unlock()
					return
				}
				defer conn.Close()
				tx, err := conn.BeginTx(t.Context(), nil)
				if err != nil {
					mu.Lock(); fails["begin: "+err.Error()]++; mu.Unlock()
					return
				}
				_, err = tx.Exec("CREATE TABLE IF NOT EXISTS t (x)")
				if err != nil {
					mu.Lock(); fails["exec: "+err.Error()]++; mu.Unlock()
				}
				tx.Commit()
			}()
		}
		wg.Wait()
	}
	fmt.Println(fails)
}
