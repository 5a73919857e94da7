package host

import (
	"context"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"github.com/metastore/metastore/etcdapi"
)

// auditArgs returns the arguments worth recording of an audited call's
// request: names, ids and URLs, never a password or a key's value.
type auditArgs func(req any) map[string]any

// auditedCalls are the client calls the audit log records, by gRPC
// method. Reads (user and role lists, status, hashes) are not recorded.
var auditedCalls = map[string]auditArgs{
	"/etcdserverpb.Auth/Authenticate": func(req any) map[string]any {
		return map[string]any{"name": req.(*pb.AuthenticateRequest).Name}
	},
	"/etcdserverpb.Auth/AuthEnable":  noAuditArgs,
	"/etcdserverpb.Auth/AuthDisable": noAuditArgs,
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
	"/etcdserverpb.Maintenance/Defragment": noAuditArgs,
	"/etcdserverpb.Maintenance/Snapshot":   noAuditArgs,
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

func noAuditArgs(any) map[string]any { return nil }

// auditServerOptions returns the interceptors that record the audited
// calls, or nothing without an audit log. They must run before the auth
// checks, so that refused calls are recorded too.
func auditServerOptions(a *auditLog, api *etcdapi.Server) []grpc.ServerOption {
	if a == nil {
		return nil
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(auditUnaryInterceptor(a, api)),
		grpc.ChainStreamInterceptor(auditStreamInterceptor(a, api)),
	}
}

func auditUnaryInterceptor(a *auditLog, api *etcdapi.Server) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		args, ok := auditedCalls[info.FullMethod]
		if !ok {
			return handler(ctx, req)
		}
		if r, isAlarm := req.(*pb.AlarmRequest); isAlarm && r.Action == pb.AlarmRequest_GET {
			return handler(ctx, req) // a read
		}
		// Before the call: AuthDisable ends the identity it was made with.
		rec := auditCall(ctx, api, info.FullMethod, args(req))
		resp, err := handler(ctx, req)
		rec.Result = auditResult(err)
		if r, ok := req.(*pb.AuthenticateRequest); ok && err == nil {
			rec.User = r.Name // who has just proven to be that user
		}
		a.record(rec)
		return resp, err
	}
}

func auditStreamInterceptor(a *auditLog, api *etcdapi.Server) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		args, ok := auditedCalls[info.FullMethod]
		if !ok {
			return handler(srv, ss)
		}
		rec := auditCall(ss.Context(), api, info.FullMethod, args(nil))
		err := handler(srv, ss)
		rec.Result = auditResult(err)
		a.record(rec)
		return err
	}
}

// auditCall starts the record of a client call.
func auditCall(ctx context.Context, api *etcdapi.Server, method string, args map[string]any) auditRecord {
	rec := auditRecord{Event: method[strings.LastIndexByte(method, '/')+1:], Method: method, Args: args}
	if api != nil {
		rec.User = api.CallerName(ctx)
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		rec.Peer = p.Addr.String()
	}
	return rec
}
