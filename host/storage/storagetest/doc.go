// Package storagetest is the conformance suite every storage.Store backend
// must pass, in the manner of River's riverdrivertest.Exercise and lakeFS's
// blocktest: one set of tests, run by each backend's own test file against a
// real instance (a temporary folder, a real MinIO bucket).
package storagetest
