package audit

import (
	"context"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
)

// argsOf returns the arguments worth recording of an audited call's
// request: names, ids and URLs, never a password or a key's value.
type argsOf func(req any) map[string]any

// auditedCalls are the client calls the audit log records, by gRPC
// method. Reads (user and role lists, status, hashes) are not recorded.
var auditedCalls = map[string]argsOf{
	"/etcdserverpb.Auth/Authenticate": func(req any) map[string]any {
		return map[string]any{"name": req.(*pb.AuthenticateRequest).Name}
	},
	"/etcdserverpb.Auth/AuthEnable":  noArgs,
	"/etcdserverpb.Auth/AuthDisable": noArgs,
	"/etcdserverpb.Auth/UserAdd": func(req any) map[string]any {
		r := req.(*pb.AuthUserAddRequest)
		return map[string]any{"name": r.Name, "no-password": r.Options != nil && r.Options.NoPassword}
	},
	"/etcdserverpb.Auth/UserDelete": func(req any) map[string]any {
		return map[string]any{"name": req.(*pb.AuthUserDeleteRequest).Name}
	},
	"/etcdserverpb.Auth/UserChangePassword": func(req any) map[string]any {
		return map[string]any{"name": req.(*pb.AuthUserChangePasswordRequest).Name}
	},
	"/etcdserverpb.Auth/UserGrantRole": func(req any) map[string]any {
		r := req.(*pb.AuthUserGrantRoleRequest)
		return map[string]any{"name": r.User, "role": r.Role}
	},
	"/etcdserverpb.Auth/UserRevokeRole": func(req any) map[string]any {
		r := req.(*pb.AuthUserRevokeRoleRequest)
		return map[string]any{"name": r.Name, "role": r.Role}
	},
	"/etcdserverpb.Auth/RoleAdd": func(req any) map[string]any {
		return map[string]any{"role": req.(*pb.AuthRoleAddRequest).Name}
	},
	"/etcdserverpb.Auth/RoleDelete": func(req any) map[string]any {
		return map[string]any{"role": req.(*pb.AuthRoleDeleteRequest).Role}
	},
	"/etcdserverpb.Auth/RoleGrantPermission": func(req any) map[string]any {
		r := req.(*pb.AuthRoleGrantPermissionRequest)
		args := map[string]any{"role": r.Name}
		if r.Perm != nil {
			args["perm"] = r.Perm.PermType.String()
			args["key"] = string(r.Perm.Key)
			args["range-end"] = string(r.Perm.RangeEnd)
		}
		return args
	},
	"/etcdserverpb.Auth/RoleRevokePermission": func(req any) map[string]any {
		r := req.(*pb.AuthRoleRevokePermissionRequest)
		return map[string]any{"role": r.Role, "key": string(r.Key), "range-end": string(r.RangeEnd)}
	},
	"/etcdserverpb.Cluster/MemberAdd": func(req any) map[string]any {
		r := req.(*pb.MemberAddRequest)
		return map[string]any{"peer-urls": r.PeerURLs, "learner": r.IsLearner}
	},
	"/etcdserverpb.Cluster/MemberRemove": func(req any) map[string]any {
		return map[string]any{"id": types.ID(req.(*pb.MemberRemoveRequest).ID).String()}
	},
	"/etcdserverpb.Cluster/MemberUpdate": func(req any) map[string]any {
		r := req.(*pb.MemberUpdateRequest)
		return map[string]any{"id": types.ID(r.ID).String(), "peer-urls": r.PeerURLs}
	},
	"/etcdserverpb.Cluster/MemberPromote": func(req any) map[string]any {
		return map[string]any{"id": types.ID(req.(*pb.MemberPromoteRequest).ID).String()}
	},
	"/etcdserverpb.Maintenance/Alarm": func(req any) map[string]any {
		r := req.(*pb.AlarmRequest)
		return map[string]any{"action": r.Action.String(), "member": types.ID(r.MemberID).String(), "alarm": r.Alarm.String()}
	},
	"/etcdserverpb.Maintenance/Defragment": noArgs,
	"/etcdserverpb.Maintenance/Snapshot":   noArgs,
	"/etcdserverpb.Maintenance/MoveLeader": func(req any) map[string]any {
		return map[string]any{"target": types.ID(req.(*pb.MoveLeaderRequest).TargetID).String()}
	},
	"/etcdserverpb.Maintenance/Downgrade": func(req any) map[string]any {
		r := req.(*pb.DowngradeRequest)
		return map[string]any{"action": r.Action.String(), "version": r.Version}
	},
	"/etcdserverpb.KV/Compact": func(req any) map[string]any {
		r := req.(*pb.CompactionRequest)
		return map[string]any{"revision": r.Revision, "physical": r.Physical}
	},
}

func noArgs(any) map[string]any { return nil }

// Callers names who makes a client call: the user of its token or of its
// client certificate, "" when auth is off. etcdapi's Server is one.
type Callers interface {
	CallerName(ctx context.Context) string
}

// ServerOptions returns the interceptors that record the audited calls
// to a, naming their callers by callers (nil: no names), or nothing
// without an audit log. They must run before the auth checks, so that
// refused calls are recorded too.
func ServerOptions(a *Log, callers Callers) []grpc.ServerOption {
	if a == nil {
		return nil
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unaryInterceptor(a, callers)),
		grpc.ChainStreamInterceptor(streamInterceptor(a, callers)),
	}
}

func unaryInterceptor(a *Log, callers Callers) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		args, ok := auditedCalls[info.FullMethod]
		if !ok {
			return handler(ctx, req)
		}
		if r, isAlarm := req.(*pb.AlarmRequest); isAlarm && r.Action == pb.AlarmRequest_GET {
			return handler(ctx, req) // a read
		}
		// Before the call: AuthDisable ends the identity it was made with.
		rec := callRecord(ctx, callers, info.FullMethod, args(req))
		resp, err := handler(ctx, req)
		rec.Result = result(err)
		if r, ok := req.(*pb.AuthenticateRequest); ok && err == nil {
			rec.User = r.Name // who has just proven to be that user
		}
		a.add(rec)
		return resp, err
	}
}

func streamInterceptor(a *Log, callers Callers) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		args, ok := auditedCalls[info.FullMethod]
		if !ok {
			return handler(srv, ss)
		}
		rec := callRecord(ss.Context(), callers, info.FullMethod, args(nil))
		err := handler(srv, ss)
		rec.Result = result(err)
		a.add(rec)
		return err
	}
}

// callRecord starts the record of a client call.
func callRecord(ctx context.Context, callers Callers, method string, args map[string]any) record {
	rec := record{Event: method[strings.LastIndexByte(method, '/')+1:], Method: method, Args: args}
	if callers != nil {
		rec.User = callers.CallerName(ctx)
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		rec.Peer = p.Addr.String()
	}
	return rec
}
