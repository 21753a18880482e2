-- A manifest file's checksum names its algorithm (package sdk/digest):
-- "blake3:" and hex for files written since payload digests are BLAKE3, a
-- bare hex SHA-256 for files recorded before. The column says so.
ALTER TABLE manifest_files RENAME COLUMN sha256 TO digest;
