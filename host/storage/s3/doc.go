// Package s3store is the S3-compatible backend of storage.Store, built on
// minio-go: MinIO in production and in tests, or any S3 service that
// supports path-style requests.
//
// Keys map one to one onto object names in one bucket, under an optional
// prefix, so the same lake layout that the folder backend keeps on disk lives
// in the bucket. Put streams its input with bounded memory: inputs up to one
// part (PartSize) go up in a single PUT, larger ones as a multipart upload of
// PartSize parts, uploaded one at a time, which S3 makes visible only when
// the upload completes and which is aborted on any failure. Credentials
// never appear in errors, in Location or when a Config is printed.
package s3store
