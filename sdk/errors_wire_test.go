package sdk

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestErrorWireRoundTrip(t *testing.T) {
	t.Parallel()
	base := errors.New("upstream said no")
	cases := []struct {
		name     string
		err      error
		code     codes.Code
		kind     ErrorKind
		is       error  // errors.Is target on the far side, if any
		contains string // the far side's message must contain this
	}{
		{name: "transient", err: Transient(base), code: codes.Unavailable, kind: KindTransient, contains: "upstream said no"},
		{name: "wrapped transient", err: fmt.Errorf("failed to fetch: %w", Transient(base)), code: codes.Unavailable, kind: KindTransient, contains: "upstream said no"},
		{name: "config", err: ConfigError(errors.New(`inbox "/x" is missing`)), code: codes.FailedPrecondition, kind: KindConfig, contains: `inbox "/x" is missing`},
		{name: "rate limited", err: RateLimited(base, time.Now().Add(90*time.Second)), code: codes.ResourceExhausted, kind: KindRateLimited, contains: "upstream said no"},
		{name: "unimplemented", err: ErrUnimplemented, code: codes.Unimplemented, is: ErrUnimplemented},
		{name: "wrapped unimplemented", err: fmt.Errorf("discover: %w", ErrUnimplemented), code: codes.Unimplemented, is: ErrUnimplemented},
		{name: "canceled", err: context.Canceled, code: codes.Canceled, is: context.Canceled},
		{name: "wrapped canceled", err: fmt.Errorf("failed to read: %w", context.Canceled), code: codes.Canceled, is: context.Canceled},
		{name: "deadline", err: context.DeadlineExceeded, code: codes.DeadlineExceeded, is: context.DeadlineExceeded},
		{name: "plain", err: errors.New("failed to parse line 3: bad date"), code: codes.Unknown, kind: KindUnknown, contains: "failed to parse line 3: bad date"},
		{name: "unknown kind", err: &Error{Kind: KindUnknown, Err: base}, code: codes.Unknown, kind: KindUnknown, contains: "upstream said no"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := errorToStatus(tc.err)
			require.Equal(t, tc.code, status.Code(st))
			back := errorFromStatus(st)
			require.Error(t, back)
			require.Equal(t, tc.kind, KindOf(back))
			if tc.is != nil {
				require.ErrorIs(t, back, tc.is)
			}
			if tc.contains != "" {
				require.Contains(t, back.Error(), tc.contains)
			}
		})
	}
}

func TestErrorWireRateLimitedRetryAt(t *testing.T) {
	t.Parallel()
	for _, delay := range []time.Duration{0, 1500 * time.Millisecond, 90 * time.Second, 26 * time.Hour} {
		retryAt := time.Now().Add(delay)
		back := errorFromStatus(errorToStatus(RateLimited(errors.New("slow down"), retryAt)))
		var e *Error
		require.ErrorAs(t, back, &e)
		require.Equal(t, KindRateLimited, e.Kind)
		require.WithinDuration(t, retryAt, e.RetryAt, time.Second, "delay %s", delay)
		require.Contains(t, e.Error(), "rate limited until")
	}
	// A reset time already past comes back as "now", never in the past
	// by more than the trip.
	past := errorFromStatus(errorToStatus(RateLimited(errors.New("slow down"), time.Now().Add(-time.Hour))))
	var e *Error
	require.ErrorAs(t, past, &e)
	require.WithinDuration(t, time.Now(), e.RetryAt, time.Second)
}

func TestErrorWireNilAndStatusPassThrough(t *testing.T) {
	t.Parallel()
	require.NoError(t, errorToStatus(nil))
	require.NoError(t, errorFromStatus(nil))

	// A gRPC status error from elsewhere passes through unchanged.
	st := status.Error(codes.PermissionDenied, "no access")
	require.Equal(t, st, errorToStatus(st))
	back := errorFromStatus(st)
	require.Equal(t, KindUnknown, KindOf(back))
	require.EqualError(t, back, "no access")

	// InvalidArgument is a configuration error too.
	require.Equal(t, KindConfig, KindOf(errorFromStatus(status.Error(codes.InvalidArgument, "bad"))))

	// A non-status error (the transport failing on the host side) is kept.
	plain := errors.New("connection reset")
	require.Equal(t, plain, errorFromStatus(plain))
}

func TestErrorKindString(t *testing.T) {
	t.Parallel()
	require.Equal(t, "transient", KindTransient.String())
	require.Equal(t, "config", KindConfig.String())
	require.Equal(t, "rate_limited", KindRateLimited.String())
	require.Equal(t, "unknown", KindUnknown.String())
	require.Equal(t, "configuration error: x", ConfigError(errors.New("x")).Error())
	require.Equal(t, "transient error: x", Transient(errors.New("x")).Error())
	require.Equal(t, KindUnknown, KindOf(errors.New("x")))
	require.Equal(t, KindUnknown, KindOf(nil))
}
