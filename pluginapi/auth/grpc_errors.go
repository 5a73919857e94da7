package auth

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/metastore/metastore/pluginapi/auth/proto/v1"
)

// wireErrors pairs each sentinel with its code on the wire and the gRPC
// code its status carries.
var wireErrors = []struct {
	err  error
	code authv1.ErrorCode
	grpc codes.Code
}{
	{ErrInvalidCredentials, authv1.ErrorCode_ERROR_CODE_INVALID_CREDENTIALS, codes.Unauthenticated},
	{ErrInvalidToken, authv1.ErrorCode_ERROR_CODE_INVALID_TOKEN, codes.Unauthenticated},
	{ErrNotSupported, authv1.ErrorCode_ERROR_CODE_NOT_SUPPORTED, codes.Unimplemented},
	{ErrUnavailable, authv1.ErrorCode_ERROR_CODE_UNAVAILABLE, codes.Unavailable},
}

// toStatus turns a provider error into the status the server shim returns:
// the sentinel it wraps travels as an Error detail.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	for _, w := range wireErrors {
		if errors.Is(err, w.err) {
			st, derr := status.New(w.grpc, err.Error()).WithDetails(&authv1.Error{Code: w.code})
			if derr != nil {
				return status.Error(w.grpc, err.Error())
			}
			return st.Err()
		}
	}
	return status.Error(codes.Unknown, err.Error())
}

// fromStatus rebuilds the provider's error on the host side. A sentinel
// comes back as itself (errors.Is holds) with the provider's message; a
// call that failed in transport, because the plugin process is gone,
// wraps ErrUnavailable, so the host fails closed.
func fromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for _, d := range st.Details() {
		if detail, ok := d.(*authv1.Error); ok {
			for _, w := range wireErrors {
				if w.code == detail.GetCode() {
					return &remoteError{sentinel: w.err, msg: st.Message()}
				}
			}
		}
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s", ErrUnavailable, st.Message())
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", ErrUnavailable, st.Message())
	}
	return errors.New(st.Message())
}

// remoteError is a sentinel error as a plugin returned it.
type remoteError struct {
	sentinel error
	msg      string
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }
