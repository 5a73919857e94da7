package pluginrpc

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// WireError pairs a plugin kind's sentinel error with its code on the wire
// (the kind's proto ErrorCode enum) and the gRPC code its status carries.
type WireError[C ~int32] struct {
	Err  error
	Code C
	GRPC codes.Code
}

// WireErrors is a kind's table of sentinels, with how its proto Error
// detail is built from a code and read back.
type WireErrors[C ~int32] struct {
	Table []WireError[C]
	// Unavailable is the kind's sentinel for a plugin that cannot answer.
	Unavailable error
	// Detail builds the kind's Error detail message for a code.
	Detail func(C) protoadapt.MessageV1
	// Code reads a code back from a detail; ok is false for other messages.
	Code func(proto.Message) (code C, ok bool)
}

// ToStatus turns an implementation's error into the status a server shim
// returns: the sentinel it wraps, if any, travels as an Error detail, and
// the message as is.
func (w WireErrors[C]) ToStatus(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	for _, e := range w.Table {
		if errors.Is(err, e.Err) {
			st, detailErr := status.New(e.GRPC, err.Error()).WithDetails(w.Detail(e.Code))
			if detailErr != nil {
				return status.Error(e.GRPC, err.Error())
			}
			return st.Err()
		}
	}
	return status.Error(codes.Unknown, err.Error())
}

// FromStatus rebuilds, in a client shim, the error the implementation
// returned. A sentinel comes back as itself (errors.Is holds) with the
// plugin's message. A call that failed in transport, because the plugin
// process died or stopped answering, wraps Unavailable; a call canceled by
// ctx returns ctx's error.
func (w WireErrors[C]) FromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%w: %w", w.Unavailable, err)
	}
	for _, d := range st.Details() {
		msg, isProto := d.(proto.Message)
		if !isProto {
			continue
		}
		code, isOurs := w.Code(msg)
		if !isOurs {
			continue
		}
		for _, e := range w.Table {
			if e.Code == code {
				return &RemoteError{Sentinel: e.Err, Msg: st.Message()}
			}
		}
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s", w.Unavailable, st.Message())
	case codes.Unavailable:
		return fmt.Errorf("%w: %s", w.Unavailable, st.Message())
	}
	return &RemoteError{Msg: st.Message()}
}

// RemoteError is an error returned in a plugin process: its message is the
// plugin's, and errors.Is matches the sentinel it wrapped, if any.
type RemoteError struct {
	Sentinel error
	Msg      string
}

func (e *RemoteError) Error() string { return e.Msg }

// Unwrap returns the sentinel.
func (e *RemoteError) Unwrap() error { return e.Sentinel }
