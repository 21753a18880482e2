package sdk

import (
	"context"
	"errors"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// This file is the one place where errors cross the wire: SDK error kinds are
// carried as gRPC status codes, never as message text.

func errorToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && !errors.As(err, new(*Error)) {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, ErrUnimplemented):
		return status.Error(codes.Unimplemented, err.Error())
	}
	var e *Error
	if !errors.As(err, &e) {
		return status.Error(codes.Unknown, err.Error())
	}
	switch e.Kind {
	case KindTransient:
		return status.Error(codes.Unavailable, e.Err.Error())
	case KindConfig:
		return status.Error(codes.FailedPrecondition, e.Err.Error())
	case KindRateLimited:
		st := status.New(codes.ResourceExhausted, e.Err.Error())
		delay := time.Until(e.RetryAt)
		if delay < 0 {
			delay = 0
		}
		if withInfo, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)}); derr == nil {
			st = withInfo
		}
		return st.Err()
	}
	return status.Error(codes.Unknown, err.Error())
}

func errorFromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := errors.New(st.Message())
	switch st.Code() {
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	case codes.Unimplemented:
		return ErrUnimplemented
	case codes.Unavailable:
		return Transient(msg)
	case codes.FailedPrecondition, codes.InvalidArgument:
		return ConfigError(msg)
	case codes.ResourceExhausted:
		retryAt := time.Now()
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				retryAt = retryAt.Add(ri.GetRetryDelay().AsDuration())
			}
		}
		return RateLimited(msg, retryAt)
	}
	return msg
}
