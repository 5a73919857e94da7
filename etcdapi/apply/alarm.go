package apply

import (
	"errors"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/etcdapi/alarm"
)

// ErrCorrupt is returned for a write applied while the CORRUPT alarm is
// active: the members disagree on the data, and no write may make it
// worse until an operator has repaired the cluster.
var ErrCorrupt = errors.New("apply: corrupt cluster")

// refuseWhileCorrupt fails, as etcd's corrupt applier does, the requests
// that change the key space or leases while CORRUPT is active. A refused
// entry only advances the consistent index.
func (a *Applier) refuseWhileCorrupt(index uint64, r *pb.InternalRaftRequest) (Result, bool) {
	refused := r.Put != nil || r.DeleteRange != nil || r.Txn != nil || r.Compaction != nil ||
		r.LeaseGrant != nil || r.LeaseRevoke != nil
	if !refused || !a.alarms.Active(pb.AlarmType_CORRUPT) {
		return Result{}, true
	}
	a.store.SetConsistentIndex(index)
	return Result{Err: ErrCorrupt}, false
}

// applyAlarm raises or clears an alarm, as etcd does: raising NONE or an
// alarm already raised changes nothing, clearing one that is not raised
// answers no alarm. GET answers the alarms of the asked type.
func (a *Applier) applyAlarm(index uint64, r *pb.AlarmRequest) Result {
	resp := &pb.AlarmResponse{Header: &pb.ResponseHeader{}}
	tw := a.store.Write(index)
	defer func() { resp.Header.Revision = tw.Rev(); tw.End() }()
	switch r.Action {
	case pb.AlarmRequest_GET:
		resp.Alarms = a.alarms.List(r.Alarm)
	case pb.AlarmRequest_ACTIVATE:
		if r.Alarm == pb.AlarmType_NONE {
			break
		}
		m, added := a.alarms.Activate(r.MemberID, r.Alarm)
		if added {
			data, err := proto.Marshal(m)
			if err != nil {
				a.lg.Panic("cannot marshal an alarm", zap.Error(err))
			}
			tw.PutMeta(alarm.Namespace, alarm.Key(r.MemberID, r.Alarm), data)
			a.lg.Warn("alarm raised", zap.String("alarm", r.Alarm.String()), zap.Stringer("member-id", types.ID(r.MemberID)))
		}
		resp.Alarms = []*pb.AlarmMember{m}
	case pb.AlarmRequest_DEACTIVATE:
		m := a.alarms.Deactivate(r.MemberID, r.Alarm)
		if m == nil {
			break
		}
		tw.DeleteMeta(alarm.Namespace, alarm.Key(r.MemberID, r.Alarm))
		a.lg.Warn("alarm cleared", zap.String("alarm", r.Alarm.String()), zap.Stringer("member-id", types.ID(r.MemberID)))
		resp.Alarms = []*pb.AlarmMember{m}
	}
	return Result{Resp: resp}
}
