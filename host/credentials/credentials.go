// Package credentials keeps the configuration values a source replaces
// while it runs — an OAuth refresh token that rotates on every refresh is
// the case that matters: the old value stops working, so losing the new one
// would lock the label out of its account.
//
// Values are sealed with AES-256-GCM under the host's secrets key before
// they reach the metastore, which therefore holds ciphertext only, bound to
// its source and key. The key comes from configuration (secrets.key,
// BEDROT_SECRETS_KEY or secrets.key_file); without one, the host generates a
// key file in the user's configuration folder the first time it needs one.
// Daemons that share a metastore must share the key.
//
// A stored value replaces the configured one only while the configured one
// is unchanged: each stored value remembers a keyed fingerprint of the
// configured value it replaced, so that a user who re-authorises and puts a
// fresh token in the configuration is not overridden by a stale stored one.
package credentials

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// KeySize is the length of a secrets key in bytes.
const KeySize = 32

// ErrBadKey wraps every problem with the secrets key.
var ErrBadKey = errors.New("bad secrets key")

// KeySource says where the secrets key comes from: Key (base64) if set,
// else the file at Path, created with a new random key if missing.
type KeySource struct {
	Key  string
	Path string
	// OnGenerate, if set, is called with the path of a newly generated key file.
	OnGenerate func(path string)
}

// DefaultKeyPath is <user config dir>/bedrot/secrets.key.
func DefaultKeyPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("%w: no secrets.key is configured and there is no user configuration folder to keep one in: %v", ErrBadKey, err)
	}
	return filepath.Join(dir, "bedrot", "secrets.key"), nil
}

// load returns the key bytes.
func (ks KeySource) load() ([]byte, error) {
	if ks.Key != "" {
		return decodeKey(ks.Key, "secrets.key")
	}
	path := ks.Path
	if path == "" {
		var err error
		if path, err = DefaultKeyPath(); err != nil {
			return nil, err
		}
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return generate(path, ks.OnGenerate)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %s: %v", ErrBadKey, path, err)
	}
	return decodeKey(string(data), path)
}

// decodeKey parses a base64 key; errors never quote the value.
func decodeKey(s, where string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("%w: %s holds %d bytes, want %d (make one with `openssl rand -base64 32`)", ErrBadKey, where, len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: %s is not base64 (make one with `openssl rand -base64 32`)", ErrBadKey, where)
}

// generate writes a new random key to path (mode 0600, folder 0700). If
// another process created it first, that key is used.
func generate(path string, onGenerate func(string)) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("%w: cannot generate a key: %v", ErrBadKey, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("%w: cannot create the folder for %s: %v", ErrBadKey, path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, fmt.Errorf("%w: cannot read %s: %v", ErrBadKey, path, rerr)
		}
		return decodeKey(string(data), path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot create %s: %v", ErrBadKey, path, err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("%w: cannot write %s: %v", ErrBadKey, path, err)
	}
	if onGenerate != nil {
		onGenerate(path)
	}
	return key, nil
}

// Vault seals, stores and applies a lake's stored credentials. The key is
// loaded the first time it is needed, so commands that never touch a stored
// credential never create a key file.
type Vault struct {
	meta metastore.Store
	keys KeySource

	once sync.Once
	aead cipher.AEAD
	mac  []byte
	err  error
}

// New returns a Vault over meta with its key from ks.
func New(meta metastore.Store, ks KeySource) *Vault {
	return &Vault{meta: meta, keys: ks}
}

func (v *Vault) init() error {
	v.once.Do(func() {
		master, err := v.keys.load()
		if err != nil {
			v.err = err
			return
		}
		sealKey, err := hkdf.Key(sha256.New, master, nil, "bedrot credentials seal v1", KeySize)
		if err != nil {
			v.err = fmt.Errorf("%w: %v", ErrBadKey, err)
			return
		}
		if v.mac, err = hkdf.Key(sha256.New, master, nil, "bedrot credentials fingerprint v1", KeySize); err != nil {
			v.err = fmt.Errorf("%w: %v", ErrBadKey, err)
			return
		}
		block, err := aes.NewCipher(sealKey)
		if err != nil {
			v.err = fmt.Errorf("%w: %v", ErrBadKey, err)
			return
		}
		v.aead, v.err = cipher.NewGCM(block)
	})
	return v.err
}

// fingerprint is a keyed hash of a configured value; it reveals nothing of
// the value without the key.
func (v *Vault) fingerprint(source, key, value string) string {
	m := hmac.New(sha256.New, v.mac)
	m.Write([]byte(source + "\x00" + key + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil))
}

func aad(source, key string) []byte { return []byte("bedrot/" + source + "/" + key) }

// Save stores new values of a source's configuration keys. configured is
// the source's configuration as the user wrote it (before Apply).
func (v *Vault) Save(ctx context.Context, source string, configured, updates map[string]string) error {
	if len(updates) == 0 {
		return nil
	}
	if err := v.init(); err != nil {
		return fmt.Errorf("failed to store the new value of %s for source %s: %w", keyList(updates), source, err)
	}
	for key, value := range updates {
		nonce := make([]byte, v.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return fmt.Errorf("failed to seal the new value of %s for source %s: %w", key, source, err)
		}
		sealed := v.aead.Seal(nonce, nonce, []byte(value), aad(source, key))
		c := metastore.Credential{Source: source, Key: key, Sealed: sealed, Base: v.fingerprint(source, key, configured[key])}
		if err := v.meta.PutCredential(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// Apply returns configured with the source's stored values in place of the
// configured ones they replaced. A stored value whose configured value has
// changed since is stale: it is deleted and the configured value is used;
// stale reports those keys. A value sealed under another secrets key is an
// ErrBadKey error, and stays stored.
func (v *Vault) Apply(ctx context.Context, source string, configured map[string]string) (effective map[string]string, stale []string, err error) {
	stored, err := v.meta.Credentials(ctx, source)
	if err != nil {
		return nil, nil, err
	}
	effective = maps.Clone(configured)
	if effective == nil {
		effective = map[string]string{}
	}
	if len(stored) == 0 {
		return effective, nil, nil
	}
	if err := v.init(); err != nil {
		return nil, nil, fmt.Errorf("failed to open the stored %s of source %s: %w", keyList(stored), source, err)
	}
	for key, c := range stored {
		// Open first: a value sealed under another key is an error to
		// report, never a stale value to drop.
		ns := v.aead.NonceSize()
		if len(c.Sealed) < ns {
			return nil, nil, fmt.Errorf("failed to open the stored %s of source %s: the sealed value is truncated", key, source)
		}
		plain, err := v.aead.Open(nil, c.Sealed[:ns], c.Sealed[ns:], aad(source, key))
		if err != nil {
			return nil, nil, fmt.Errorf("failed to open the stored %s of source %s: it was sealed with another secrets key "+
				"(configure the secrets key it was stored with): %w", key, source, ErrBadKey)
		}
		if c.Base != v.fingerprint(source, key, configured[key]) {
			if err := v.meta.DeleteCredential(ctx, source, key); err != nil {
				return nil, nil, err
			}
			stale = append(stale, key)
			continue
		}
		effective[key] = string(plain)
	}
	return effective, stale, nil
}

func keyList[V any](m map[string]V) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ", ")
}
