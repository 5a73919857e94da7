package quota

import (
	"context"
	"fmt"

	quotav1 "github.com/metastore/metastore/pluginapi/quota/proto/v1"
)

// grpcServer serves a Policy over the plugin protocol.
type grpcServer struct {
	quotav1.UnimplementedQuotaPolicyServer
	impl Policy
}

// NewGRPCServer returns the server shim of impl. Configure reaches impl
// when it is a Configurer and fails with ErrNotSupported otherwise.
func NewGRPCServer(impl Policy) quotav1.QuotaPolicyServer { return &grpcServer{impl: impl} }

func (s *grpcServer) Info(ctx context.Context, _ *quotav1.InfoRequest) (*quotav1.InfoResponse, error) {
	info, err := s.impl.Info(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &quotav1.InfoResponse{Name: info.Name, Version: info.Version, Capabilities: info.Capabilities}, nil
}

func (s *grpcServer) Configure(ctx context.Context, r *quotav1.ConfigureRequest) (*quotav1.ConfigureResponse, error) {
	c, ok := s.impl.(Configurer)
	if !ok {
		return nil, toStatus(fmt.Errorf("%w: the policy takes no configuration", ErrNotSupported))
	}
	resp, err := c.Configure(ctx, ConfigureRequest{Config: r.GetConfig()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &quotav1.ConfigureResponse{Prefixes: resp.Prefixes}, nil
}

func (s *grpcServer) Check(ctx context.Context, r *quotav1.CheckRequest) (*quotav1.CheckResponse, error) {
	resp, err := s.impl.Check(ctx, checkRequestFromWire(r))
	if err != nil {
		return nil, toStatus(err)
	}
	return &quotav1.CheckResponse{Admit: resp.Admit, Alarm: quotav1.Alarm(resp.Alarm), Reason: resp.Reason}, nil
}

func checkRequestToWire(req CheckRequest) *quotav1.CheckRequest {
	w := &quotav1.CheckRequest{
		Kind:  quotav1.WriteKind(req.Kind),
		Cost:  req.Cost,
		Usage: &quotav1.Usage{BackendBytes: req.Usage.BackendBytes, BackendBytesInUse: req.Usage.BackendBytesInUse},
	}
	if len(req.Puts) > 0 {
		w.Puts = make([]*quotav1.Put, len(req.Puts))
		for i, p := range req.Puts {
			w.Puts[i] = &quotav1.Put{Key: p.Key, ValueSize: int64(p.ValueSize)}
		}
	}
	if len(req.Prefixes) > 0 {
		w.Prefixes = make([]*quotav1.PrefixUsage, len(req.Prefixes))
		for i, p := range req.Prefixes {
			w.Prefixes[i] = &quotav1.PrefixUsage{Prefix: p.Prefix, Keys: p.Keys, Bytes: p.Bytes, AddKeys: p.AddKeys, AddBytes: p.AddBytes}
		}
	}
	return w
}

func checkRequestFromWire(w *quotav1.CheckRequest) CheckRequest {
	req := CheckRequest{
		Kind:  WriteKind(w.GetKind()),
		Cost:  w.GetCost(),
		Usage: Usage{BackendBytes: w.GetUsage().GetBackendBytes(), BackendBytesInUse: w.GetUsage().GetBackendBytesInUse()},
	}
	if ps := w.GetPuts(); len(ps) > 0 {
		req.Puts = make([]Put, len(ps))
		for i, p := range ps {
			req.Puts[i] = Put{Key: p.GetKey(), ValueSize: int(p.GetValueSize())}
		}
	}
	if ps := w.GetPrefixes(); len(ps) > 0 {
		req.Prefixes = make([]PrefixUsage, len(ps))
		for i, p := range ps {
			req.Prefixes[i] = PrefixUsage{Prefix: p.GetPrefix(), Keys: p.GetKeys(), Bytes: p.GetBytes(), AddKeys: p.GetAddKeys(), AddBytes: p.GetAddBytes()}
		}
	}
	return req
}
