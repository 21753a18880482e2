package sdk

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrUnimplemented is returned for a method the plugin does not provide.
	ErrUnimplemented = errors.New("not implemented by the plugin")
)

// ErrorKind tells the host how to treat a failure.
type ErrorKind int32

// Error kinds.
const (
	// KindUnknown is an error with no classification; the host treats it as
	// a failure of the plugin and does not retry.
	KindUnknown ErrorKind = iota
	// KindTransient may succeed if retried (network blip, 5xx).
	KindTransient
	// KindConfig needs the user to fix configuration; retrying will not help.
	KindConfig
	// KindRateLimited should be retried after RetryAt.
	KindRateLimited
)

func (k ErrorKind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindConfig:
		return "config"
	case KindRateLimited:
		return "rate_limited"
	}
	return "unknown"
}

// Error is a classified plugin error. Build it with Transient, ConfigError or
// RateLimited; inspect it with errors.As.
type Error struct {
	Kind ErrorKind
	// RetryAt is when a rate limit resets (KindRateLimited only).
	RetryAt time.Time
	Err     error
}

func (e *Error) Error() string {
	switch e.Kind {
	case KindRateLimited:
		return fmt.Sprintf("rate limited until %s: %v", e.RetryAt.UTC().Format(time.RFC3339), e.Err)
	case KindConfig:
		return fmt.Sprintf("configuration error: %v", e.Err)
	case KindTransient:
		return fmt.Sprintf("transient error: %v", e.Err)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Transient marks err as worth retrying.
func Transient(err error) error { return &Error{Kind: KindTransient, Err: err} }

// ConfigError marks err as a configuration problem the user must fix.
func ConfigError(err error) error { return &Error{Kind: KindConfig, Err: err} }

// RateLimited marks err as a rate limit that resets at retryAt.
func RateLimited(err error, retryAt time.Time) error {
	return &Error{Kind: KindRateLimited, RetryAt: retryAt, Err: err}
}

// KindOf returns the kind of a classified error, or KindUnknown.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}
