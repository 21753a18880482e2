// Package miniotest runs a real MinIO server for tests, so the S3 backend is
// tested against the real thing, never a mock.
//
// A test package shares one server: its TestMain calls Main, tests call
// Require (or Shared) for the server and NewBucket for a bucket of their own.
// The server listens on 127.0.0.1 on free ports, keeps its data in a
// temporary folder, and is killed when the test binary exits (on Linux even
// when the binary is killed, through the parent-death signal).
//
// The MinIO binary comes from $BEDROT_MINIO_BIN, else
// $HOME/.cache/bedrot/bin/minio. If it is missing the tests fail (they do not
// skip) and say to run `make minio`.
package miniotest
