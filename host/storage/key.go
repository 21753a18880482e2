package storage

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalidKey is returned (wrapped) for a key or listing prefix that breaks
// the key rules of ValidateKey.
var ErrInvalidKey = errors.New("invalid object key")

const (
	// MaxKeyLen is the longest key in bytes, S3's limit.
	MaxKeyLen = 1024
	// MaxSegmentLen is the longest "/"-separated segment in bytes, the
	// file-name limit of common file systems, so every key fits the folder
	// backend as well as S3.
	MaxSegmentLen = 255
)

// ValidateKey checks a key against the rules every backend shares: not empty,
// at most MaxKeyLen bytes of valid UTF-8, no control characters or
// backslashes, no segment longer than MaxSegmentLen bytes, no leading or trailing "/", no empty segments ("a//b") and no
// "." or ".." segments. The error wraps ErrInvalidKey and says which rule the
// key broke.
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: key is empty", ErrInvalidKey)
	}
	if err := checkChars(key); err != nil {
		return err
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("%w %q: key starts with \"/\"", ErrInvalidKey, key)
	}
	if strings.HasSuffix(key, "/") {
		return fmt.Errorf("%w %q: key ends with \"/\"", ErrInvalidKey, key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := checkSegment(key, seg); err != nil {
			return err
		}
	}
	return nil
}

// ValidatePrefix checks a listing prefix. The empty prefix (everything) is
// valid; otherwise every complete segment (those before the last "/") must
// follow the rules of ValidateKey, and the trailing partial segment, which
// may be empty, must hold no forbidden characters. So "raw/", "raw/source=a"
// and "raw/source=a/da" are valid, "/raw", "raw//" and "../raw" are not.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := checkChars(prefix); err != nil {
		return err
	}
	if strings.HasPrefix(prefix, "/") {
		return fmt.Errorf("%w: prefix %q starts with \"/\"", ErrInvalidKey, prefix)
	}
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return nil
	}
	for seg := range strings.SplitSeq(prefix[:i], "/") {
		if err := checkSegment(prefix, seg); err != nil {
			return err
		}
	}
	return nil
}

func checkChars(s string) error {
	if len(s) > MaxKeyLen {
		return fmt.Errorf("%w %.40q…: %d bytes, longer than %d", ErrInvalidKey, s, len(s), MaxKeyLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w %q: not valid UTF-8", ErrInvalidKey, s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w %q: contains control character %U", ErrInvalidKey, s, r)
		}
		if r == '\\' {
			return fmt.Errorf("%w %q: contains a backslash", ErrInvalidKey, s)
		}
	}
	return nil
}

func checkSegment(key, seg string) error {
	switch seg {
	case "":
		return fmt.Errorf("%w %q: empty path segment", ErrInvalidKey, key)
	case ".", "..":
		return fmt.Errorf("%w %q: %q path segment", ErrInvalidKey, key, seg)
	}
	if len(seg) > MaxSegmentLen {
		return fmt.Errorf("%w %.40q…: a segment of %d bytes, longer than %d", ErrInvalidKey, key, len(seg), MaxSegmentLen)
	}
	return nil
}
