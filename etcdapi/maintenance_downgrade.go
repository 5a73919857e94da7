package etcdapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errDowngradeUnsupported answers a downgrade to a version etcd would
// accept: MetaStore has one storage format and cannot lower it.
var errDowngradeUnsupported = status.Error(codes.FailedPrecondition,
	"etcdserver: downgrade is not supported: MetaStore keeps one storage format; restore a snapshot into the older version instead")

// Downgrade answers as etcd does for requests it would refuse (a badly
// formed version, a target that is not the previous minor version, a
// cancel, which etcd answers with success when no downgrade runs); a
// downgrade etcd would start is refused with a clear error, since there is
// nothing to downgrade to.
func (m *MaintenanceServer) Downgrade(ctx context.Context, r *pb.DowngradeRequest) (*pb.DowngradeResponse, error) {
	switch r.Action {
	case pb.DowngradeRequest_CANCEL:
		// etcd logs that no downgrade is in progress and answers success.
		m.s.lg.Warn("failed to cancel downgrade", zap.Error(rpctypes.ErrGRPCNoInflightDowngrade))
		major, minor, _ := parseMajorMinor(m.s.cfg.Version)
		resp := &pb.DowngradeResponse{Header: &pb.ResponseHeader{}, Version: fmt.Sprintf("%d.%d", major, minor)}
		m.s.fillHeader(resp.Header)
		return resp, nil
	case pb.DowngradeRequest_VALIDATE, pb.DowngradeRequest_ENABLE:
	default:
		return nil, status.Error(codes.InvalidArgument, "etcdserver: unknown method")
	}
	major, minor, ok := parseMajorMinor(r.Version)
	if !ok {
		return nil, rpctypes.ErrGRPCWrongDowngradeVersionFormat
	}
	curMajor, curMinor, _ := parseMajorMinor(m.s.cfg.Version)
	if major != curMajor || minor != curMinor-1 {
		return nil, rpctypes.ErrGRPCInvalidDowngradeTargetVersion
	}
	return nil, errDowngradeUnsupported
}

// parseMajorMinor reads "X.Y" or a semantic version "X.Y.Z[-pre][+build]".
func parseMajorMinor(v string) (major, minor int, ok bool) {
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 2 && len(parts) != 3 {
		return 0, 0, false
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (len(p) > 1 && p[0] == '0') {
			return 0, 0, false
		}
		nums[i] = n
	}
	return nums[0], nums[1], true
}
