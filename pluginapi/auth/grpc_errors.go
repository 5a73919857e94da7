package auth

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	authv1 "github.com/metastore/metastore/pluginapi/auth/proto/v1"
	"github.com/metastore/metastore/pluginapi/pluginrpc"
)

// wireErrors pairs each sentinel with its code on the wire and the gRPC
// code its status carries.
var wireErrors = pluginrpc.WireErrors[authv1.ErrorCode]{
	Table: []pluginrpc.WireError[authv1.ErrorCode]{
		{Err: ErrInvalidCredentials, Code: authv1.ErrorCode_ERROR_CODE_INVALID_CREDENTIALS, GRPC: codes.Unauthenticated},
		{Err: ErrInvalidToken, Code: authv1.ErrorCode_ERROR_CODE_INVALID_TOKEN, GRPC: codes.Unauthenticated},
		{Err: ErrNotSupported, Code: authv1.ErrorCode_ERROR_CODE_NOT_SUPPORTED, GRPC: codes.Unimplemented},
		{Err: ErrUnavailable, Code: authv1.ErrorCode_ERROR_CODE_UNAVAILABLE, GRPC: codes.Unavailable},
	},
	Unavailable: ErrUnavailable,
	Detail:      func(c authv1.ErrorCode) protoadapt.MessageV1 { return &authv1.Error{Code: c} },
	Code: func(m proto.Message) (authv1.ErrorCode, bool) {
		e, ok := m.(*authv1.Error)
		return e.GetCode(), ok
	},
}

// toStatus turns a provider error into the status the server shim returns.
func toStatus(err error) error { return wireErrors.ToStatus(err) }

// fromStatus rebuilds the provider's error on the host side; a call that
// failed in transport wraps ErrUnavailable, so the host fails closed.
func fromStatus(ctx context.Context, err error) error { return wireErrors.FromStatus(ctx, err) }
