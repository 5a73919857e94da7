package storage

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	storagev1 "github.com/metastore/metastore/pluginapi/storage/proto/v1"
)

// wireErrors pairs each sentinel with its code on the wire and the gRPC
// code its status carries (for readers of the status alone).
var wireErrors = []struct {
	err  error
	code storagev1.ErrorCode
	grpc codes.Code
}{
	{ErrNotOpen, storagev1.ErrorCode_ERROR_CODE_NOT_OPEN, codes.FailedPrecondition},
	{ErrClosed, storagev1.ErrorCode_ERROR_CODE_CLOSED, codes.FailedPrecondition},
	{ErrCorrupt, storagev1.ErrorCode_ERROR_CODE_CORRUPT, codes.DataLoss},
	{ErrInvalidRequest, storagev1.ErrorCode_ERROR_CODE_INVALID_REQUEST, codes.InvalidArgument},
	{ErrUnavailable, storagev1.ErrorCode_ERROR_CODE_UNAVAILABLE, codes.Unavailable},
}

// toStatus turns an engine error into the gRPC status the server shim
// returns: the sentinel it wraps, if any, travels as an Error detail, and
// the message as is.
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
			st, detailErr := status.New(w.grpc, err.Error()).WithDetails(&storagev1.Error{Code: w.code})
			if detailErr != nil {
				return status.Error(w.grpc, err.Error())
			}
			return st.Err()
		}
	}
	return status.Error(codes.Unknown, err.Error())
}

// fromStatus rebuilds the error the engine returned from the status the
// client shim received. A sentinel comes back as itself (errors.Is holds)
// with the engine's message. A call that failed in transport, because the
// plugin process died or stopped answering, wraps ErrUnavailable; a call
// canceled by ctx returns ctx's error.
func fromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for _, d := range st.Details() {
		detail, ok := d.(*storagev1.Error)
		if !ok {
			continue
		}
		for _, w := range wireErrors {
			if w.code == detail.GetCode() {
				return &remoteError{sentinel: w.err, msg: st.Message()}
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
	return &remoteError{msg: st.Message()}
}

// remoteError is an error returned by an engine in a plugin process: its
// message is the engine's, and errors.Is matches the sentinel it wrapped.
type remoteError struct {
	sentinel error
	msg      string
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }
