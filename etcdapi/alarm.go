package etcdapi

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// AlarmObserver is told of each alarm a member raises by itself (NOSPACE
// when a write finds the quota exhausted, CORRUPT from the corruption
// checks or the storage engine): the raising member, the member the alarm
// names, its type, and why raising it failed (nil once it is applied).
type AlarmObserver func(raisedBy, member uint64, t pb.AlarmType, err error)

// raiseAlarm proposes the alarm t of member, waits until it is applied
// here, and tells the observer.
func (s *Server) raiseAlarm(ctx context.Context, member uint64, t pb.AlarmType) error {
	ar := &pb.AlarmRequest{Action: pb.AlarmRequest_ACTIVATE, MemberID: member, Alarm: t}
	res, err := s.propose(ctx, &pb.InternalRaftRequest{Alarm: ar})
	err = firstErr(err, res.Err)
	if s.maint.observeAlarms != nil {
		s.maint.observeAlarms(s.raft.MemberID(), member, t, err)
	}
	return err
}
