package storage

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
	storagev1 "github.com/metastore/metastore/pluginapi/storage/proto/v1"
)

// wireErrors pairs each sentinel with its code on the wire and the gRPC
// code its status carries (for readers of the status alone).
var wireErrors = pluginrpc.WireErrors[storagev1.ErrorCode]{
	Table: []pluginrpc.WireError[storagev1.ErrorCode]{
		{Err: ErrNotOpen, Code: storagev1.ErrorCode_ERROR_CODE_NOT_OPEN, GRPC: codes.FailedPrecondition},
		{Err: ErrClosed, Code: storagev1.ErrorCode_ERROR_CODE_CLOSED, GRPC: codes.FailedPrecondition},
		{Err: ErrCorrupt, Code: storagev1.ErrorCode_ERROR_CODE_CORRUPT, GRPC: codes.DataLoss},
		{Err: ErrInvalidRequest, Code: storagev1.ErrorCode_ERROR_CODE_INVALID_REQUEST, GRPC: codes.InvalidArgument},
		{Err: ErrUnavailable, Code: storagev1.ErrorCode_ERROR_CODE_UNAVAILABLE, GRPC: codes.Unavailable},
	},
	Unavailable: ErrUnavailable,
	Detail:      func(c storagev1.ErrorCode) protoadapt.MessageV1 { return &storagev1.Error{Code: c} },
	Code: func(m proto.Message) (storagev1.ErrorCode, bool) {
		e, ok := m.(*storagev1.Error)
		return e.GetCode(), ok
	},
}

// toStatus turns an engine error into the gRPC status the server shim
// returns.
func toStatus(err error) error { return wireErrors.ToStatus(err) }

// fromStatus rebuilds the engine's error from the status the client shim
// received.
func fromStatus(ctx context.Context, err error) error { return wireErrors.FromStatus(ctx, err) }
