package quota

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
	quotav1 "github.com/metastore/metastore/pluginapi/quota/proto/v1"
)

// wireErrors pairs each sentinel with its code on the wire and the gRPC
// code its status carries.
var wireErrors = pluginrpc.WireErrors[quotav1.ErrorCode]{
	Table: []pluginrpc.WireError[quotav1.ErrorCode]{
		{Err: ErrInvalidRequest, Code: quotav1.ErrorCode_ERROR_CODE_INVALID_REQUEST, GRPC: codes.InvalidArgument},
		{Err: ErrInvalidConfig, Code: quotav1.ErrorCode_ERROR_CODE_INVALID_CONFIG, GRPC: codes.InvalidArgument},
		{Err: ErrNotSupported, Code: quotav1.ErrorCode_ERROR_CODE_NOT_SUPPORTED, GRPC: codes.Unimplemented},
		{Err: ErrUnavailable, Code: quotav1.ErrorCode_ERROR_CODE_UNAVAILABLE, GRPC: codes.Unavailable},
	},
	Unavailable: ErrUnavailable,
	Detail:      func(c quotav1.ErrorCode) protoadapt.MessageV1 { return &quotav1.Error{Code: c} },
	Code: func(m proto.Message) (quotav1.ErrorCode, bool) {
		e, ok := m.(*quotav1.Error)
		return e.GetCode(), ok
	},
}

// toStatus turns a policy error into the status the server shim returns.
func toStatus(err error) error { return wireErrors.ToStatus(err) }

// fromStatus rebuilds the policy's error on the host side; a call that
// failed in transport wraps ErrUnavailable, so the host falls back to its
// built-in check.
func fromStatus(ctx context.Context, err error) error { return wireErrors.FromStatus(ctx, err) }
