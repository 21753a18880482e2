// Package digest computes and checks the checksums the lake records for
// the files it keeps: landing payloads, Parquet files, reports.
//
// A digest names its algorithm. The lake writes BLAKE3 (256-bit) digests,
// "blake3:" followed by 64 lower-case hex digits; b3sum prints the same
// hex. A bare 64-hex-digit digest is a SHA-256, as lakes recorded before
// BLAKE3 and as sha256sum prints it; such digests stay valid and are
// checked with SHA-256. BLAKE3 (github.com/zeebo/blake3, AVX2) hashes
// about twice as fast as SHA-256 does with the CPU's SHA extensions, which
// on a file-drop ingest of hundreds of MB is CPU time the ingest needs.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/zeebo/blake3"
)

// The algorithms a digest may name.
const (
	BLAKE3 = "blake3"
	SHA256 = "sha256"
)

const (
	blake3Prefix = BLAKE3 + ":"
	hexLen       = 64
)

// Hash computes a digest as bytes are written to it.
type Hash struct {
	algo string
	h    hash.Hash
}

// New returns a Hash of the lake's digest algorithm, BLAKE3.
func New() *Hash { return &Hash{algo: BLAKE3, h: blake3.New()} }

// NewAlgorithm returns a Hash of the named algorithm (BLAKE3 or SHA256).
func NewAlgorithm(algo string) (*Hash, error) {
	switch algo {
	case BLAKE3:
		return New(), nil
	case SHA256:
		return &Hash{algo: SHA256, h: sha256.New()}, nil
	}
	return nil, fmt.Errorf("unknown digest algorithm %q (known: %s, %s)", algo, BLAKE3, SHA256)
}

// For returns a Hash of the algorithm d names, to check bytes against d.
func For(d string) (*Hash, error) {
	algo, err := Algorithm(d)
	if err != nil {
		return nil, err
	}
	return NewAlgorithm(algo)
}

// Write adds p to the digest; it never fails.
func (h *Hash) Write(p []byte) (int, error) { return h.h.Write(p) }

// Algorithm is the name of h's algorithm.
func (h *Hash) Algorithm() string { return h.algo }

// String returns the digest of the bytes written so far.
func (h *Hash) String() string {
	sum := hex.EncodeToString(h.h.Sum(nil))
	if h.algo == SHA256 {
		return sum
	}
	return h.algo + ":" + sum
}

// Of returns the digest of b.
func Of(b []byte) string {
	h := New()
	h.Write(b)
	return h.String()
}

// ErrInvalid is wrapped by the errors Algorithm and Parse return.
var ErrInvalid = errors.New("not a digest")

// Algorithm returns the algorithm d names: BLAKE3 for "blake3:" and 64 hex
// digits, SHA256 for 64 hex digits alone.
func Algorithm(d string) (string, error) {
	algo, sum := SHA256, d
	if rest, ok := strings.CutPrefix(d, blake3Prefix); ok {
		algo, sum = BLAKE3, rest
	}
	if len(sum) != hexLen || !isHex(sum) {
		return "", fmt.Errorf("%w: %q is neither %s:<64 hex digits> nor 64 hex digits (SHA-256)", ErrInvalid, d, BLAKE3)
	}
	return algo, nil
}

// Parse checks that d is a digest and returns it in its canonical form
// (lower-case hex).
func Parse(d string) (string, error) {
	if _, err := Algorithm(d); err != nil {
		return "", err
	}
	return strings.ToLower(d), nil
}

// Hex returns the hex digits of d without its algorithm's name.
func Hex(d string) string {
	if rest, ok := strings.CutPrefix(d, blake3Prefix); ok {
		return rest
	}
	return d
}

// Equal reports whether two digests are the same, ignoring the case of
// their hex digits.
func Equal(a, b string) bool { return strings.EqualFold(a, b) }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
