package pluginrpc

import (
	"math"

	"google.golang.org/grpc"
)

// MaxMessageBytes is the largest gRPC message either side sends or accepts.
// gRPC's default receive limit is 4 MiB, far below one engine batch of the
// host's write buffer, so both sides raise it to gRPC's ceiling.
const MaxMessageBytes = math.MaxInt32

// NewGRPCServer is the go-plugin ServeConfig.GRPCServer function: a gRPC
// server with opts (go-plugin passes its TLS credentials there) and the
// raised message limits. go-plugin's DefaultGRPCServer keeps gRPC's 4 MiB
// receive limit.
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts,
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
	)
	return grpc.NewServer(opts...)
}

// DialOptions are the client side of the raised limits, for go-plugin's
// ClientConfig.GRPCDialOptions.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageBytes),
			grpc.MaxCallSendMsgSize(MaxMessageBytes),
		),
	}
}
