package digest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/bedrot-label/bedrot/sdk/digest"
)

// Known answers: what b3sum and sha256sum print for the same input.
func TestKnownAnswers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"", "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
		{"abc", "blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"},
	} {
		if got := digest.Of([]byte(c.in)); got != c.want {
			t.Errorf("Of(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	h, err := digest.NewAlgorithm(digest.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	h.Write([]byte("abc"))
	if got, want := h.String(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("SHA-256 of abc = %s, want %s (bare hex, as sha256sum prints it)", got, want)
	}
}

// Bytes written in pieces of any size give the digest of the whole.
func TestPiecewiseWrites(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("Spotify\tUS\t0.000123456789\n"), 100_000) // 2.6 MB, many BLAKE3 chunks
	whole := digest.Of(data)
	for _, piece := range []int{1, 7, 1023, 1024, 1025, 64 << 10, 1 << 20} {
		h := digest.New()
		for b := data; len(b) > 0; {
			n := min(piece, len(b))
			h.Write(b[:n])
			b = b[n:]
		}
		if got := h.String(); got != whole {
			t.Errorf("pieces of %d bytes: %s, want %s", piece, got, whole)
		}
	}
}

// For checks a digest with the algorithm it names, legacy SHA-256 included.
func TestForChecksEitherAlgorithm(t *testing.T) {
	t.Parallel()
	data := []byte("Reporting Date\tSale Month\n")
	sum := sha256.Sum256(data)
	for _, d := range []string{digest.Of(data), hex.EncodeToString(sum[:]), strings.ToUpper(hex.EncodeToString(sum[:]))} {
		h, err := digest.For(d)
		if err != nil {
			t.Fatalf("For(%s): %v", d, err)
		}
		h.Write(data)
		if !digest.Equal(h.String(), d) {
			t.Errorf("For(%s) computed %s", d, h.String())
		}
	}
}

func TestInvalidDigests(t *testing.T) {
	t.Parallel()
	for _, d := range []string{"", "abc", "blake3:", "blake3:" + strings.Repeat("0", 63), strings.Repeat("g", 64),
		"md5:" + strings.Repeat("0", 64), "sha256:" + strings.Repeat("0", 64), "BLAKE3:" + strings.Repeat("0", 64)} {
		if _, err := digest.Algorithm(d); !errors.Is(err, digest.ErrInvalid) {
			t.Errorf("Algorithm(%q) = %v, want ErrInvalid", d, err)
		}
		if _, err := digest.For(d); err == nil {
			t.Errorf("For(%q) succeeded", d)
		}
	}
	if got, err := digest.Parse("BLAKE3:" + strings.Repeat("A", 64)); err == nil {
		t.Errorf("Parse accepted an upper-case algorithm name: %s", got)
	}
	if got, err := digest.Parse("blake3:" + strings.Repeat("AB", 32)); err != nil || got != "blake3:"+strings.Repeat("ab", 32) {
		t.Errorf("Parse = %s, %v; want lower-case hex", got, err)
	}
}
