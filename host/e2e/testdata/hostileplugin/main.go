// Command hostileplugin is a storage plugin that misbehaves once, for
// host/e2e's hostile plugin test: it serves the bbolt engine, but its
// 5th batch (exit, hang) or its first read after start (short, huge,
// garbage, swap: another key's record, wrongtype: a message of another
// type) goes wrong, as METASTORE_HOSTILE_MODE says. The file named by
// METASTORE_HOSTILE_ONCE marks that it already did, so the processes the
// host starts after it behave.
package main

import (
	"context"
	"os"
	"sync/atomic"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
	"github.com/metastore/metastore/pluginapi/storage"
	storagev1 "github.com/metastore/metastore/pluginapi/storage/proto/v1"
	"github.com/metastore/metastore/plugins/storage/bbolt"
)

type hostile struct {
	storage.Engine
	mode, once string
	applies    atomic.Int64
}

// misbehave reports whether this is the time, once per marker file.
func (h *hostile) misbehave() bool {
	f, err := os.OpenFile(h.once, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return false
	}
	_ = f.Close()
	return true
}

func (h *hostile) ApplyBatch(ctx context.Context, req storage.ApplyBatchRequest) (storage.ApplyBatchResponse, error) {
	if (h.mode == "exit" || h.mode == "hang") && h.applies.Add(1) == 5 && h.misbehave() {
		if h.mode == "exit" {
			os.Exit(3) // in the middle of the call
		}
		select {} // never answers
	}
	return h.Engine.ApplyBatch(ctx, req)
}

func (h *hostile) GetMany(ctx context.Context, req storage.GetManyRequest) (storage.GetManyResponse, error) {
	resp, err := h.Engine.GetMany(ctx, req)
	if err != nil || len(resp.Values) < 2 || req.Namespace == "meta" {
		return resp, err
	}
	switch h.mode {
	case "short", "huge", "garbage", "swap":
		if !h.misbehave() {
			return resp, nil
		}
	default:
		return resp, nil
	}
	switch h.mode {
	case "short": // fewer answers than keys
		resp.Values, resp.Found = resp.Values[1:], resp.Found[1:]
	case "huge": // a 48 MiB reply
		resp.Values[0] = make([]byte, 48<<20)
	case "garbage": // a value no engine wrote
		resp.Values[0] = []byte("\xff garbage")
	case "swap": // each key answered with the next one's record
		resp.Values = append(resp.Values[1:], resp.Values[0])
	}
	return resp, nil
}

func main() {
	h := &hostile{Engine: bbolt.New(), mode: os.Getenv("METASTORE_HOSTILE_MODE"), once: os.Getenv("METASTORE_HOSTILE_ONCE")}
	if h.mode != "wrongtype" {
		storage.Serve(h)
		return
	}
	// Served without the SDK's Serve, so that an interceptor can answer
	// a read with a message of another type.
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  storage.Handshake,
		VersionedPlugins: storage.VersionedPlugins(h),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return pluginrpc.NewGRPCServer(append(opts, grpc.UnaryInterceptor(h.wrongType)))
		},
		Logger: pluginrpc.NewLogger("storage.hostile"),
	})
}

// wrongType answers the first read of several keys with an InfoResponse.
func (h *hostile) wrongType(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	r, ok := req.(*storagev1.GetManyRequest)
	if err != nil || !ok || r.GetNamespace() == "meta" || len(r.GetKeys()) < 2 || !h.misbehave() {
		return resp, err
	}
	return &storagev1.InfoResponse{Name: "not", Version: "values", Capabilities: []string{"at", "all"}}, nil
}
