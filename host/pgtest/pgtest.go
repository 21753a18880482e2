// Package pgtest names the PostgreSQL server the tests run against:
// BEDROT_TEST_DATABASE_URL when set, else the local server that
// `make postgres` starts (trust authentication, database test).
package pgtest

import "os"

// DefaultURL is the local test server.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL is the PostgreSQL server tests use.
func URL() string {
	if u := os.Getenv("BEDROT_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}
