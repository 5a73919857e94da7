package etcdapi

import (
	"context"
	"fmt"

	"github.com/metastore/metastore/etcdapi/alarm"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// AlarmObserver is told of each alarm a member raises by itself (NOSPACE
// when a write finds the quota exhausted, CORRUPT from the corruption
// checks or the storage engine): the raising member, the member the alarm
// names, its type, and why raising it failed (nil once it is applied).
type AlarmObserver func(raisedBy, member uint64, t pb.AlarmType, err error)

// ObserveAlarms sets the observer of the alarms this member raises by
// itself; call it before serving.
func (s *Server) ObserveAlarms(fn AlarmObserver) { s.maint.observeAlarms = fn }

// raiseAlarm proposes the alarm t of member, waits until it is applied
// here, and tells the observer.
func (s *Server) raiseAlarm(ctx context.Context, member uint64, t pb.AlarmType) error {
	ar := &pb.AlarmRequest{Action: pb.AlarmRequest_ACTIVATE, MemberID: member, Alarm: t}
	res, err := s.propose(ctx, &pb.InternalRaftRequest{Alarm: ar})
	err = firstErr(err, res.err)
	if s.maint.observeAlarms != nil {
		s.maint.observeAlarms(s.raft.MemberID(), member, t, err)
	}
	return err
}

// applyAlarm raises or clears an alarm, as etcd does: raising NONE or an
// alarm already raised changes nothing, clearing one that is not raised
// answers no alarm. GET answers the alarms of the asked type.
func (a *applier) applyAlarm(index uint64, r *pb.AlarmRequest) applyResult {
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
			a.lg.Warn("alarm raised", zap.String("alarm", r.Alarm.String()), zap.String("member-id", fmt.Sprintf("%x", r.MemberID)))
		}
		resp.Alarms = []*pb.AlarmMember{m}
	case pb.AlarmRequest_DEACTIVATE:
		m := a.alarms.Deactivate(r.MemberID, r.Alarm)
		if m == nil {
			break
		}
		tw.DeleteMeta(alarm.Namespace, alarm.Key(r.MemberID, r.Alarm))
		a.lg.Warn("alarm cleared", zap.String("alarm", r.Alarm.String()), zap.String("member-id", fmt.Sprintf("%x", r.MemberID)))
		resp.Alarms = []*pb.AlarmMember{m}
	}
	return applyResult{resp: resp}
}
