package etcdapi

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/mvcc"
)

// AlarmNamespace is the storage engine namespace of active alarms: the
// 8-byte big-endian member id then the 4-byte alarm type, to the
// marshalled pb.AlarmMember. It changes in the write batch of the raft
// entry that raised or cleared the alarm.
const AlarmNamespace = "alarm"

// alarmStore holds the cluster's active alarms. The applier changes it;
// request handlers read it.
type alarmStore struct {
	mu     sync.RWMutex
	alarms map[alarmKey]*pb.AlarmMember
	// observe, set before serving, is told of the alarms this member
	// raises by itself.
	observe AlarmObserver
}

// AlarmObserver is told of each alarm a member raises by itself (NOSPACE
// when a write finds the quota exhausted, CORRUPT from the corruption
// checks or the storage engine): the raising member, the member the alarm
// names, its type, and why raising it failed (nil once it is applied).
type AlarmObserver func(raisedBy, member uint64, t pb.AlarmType, err error)

// ObserveAlarms sets the observer of the alarms this member raises by
// itself; call it before serving.
func (s *Server) ObserveAlarms(fn AlarmObserver) { s.maint.alarms.observe = fn }

// raiseAlarm proposes the alarm t of member, waits until it is applied
// here, and tells the observer.
func (s *Server) raiseAlarm(ctx context.Context, member uint64, t pb.AlarmType) error {
	ar := &pb.AlarmRequest{Action: pb.AlarmRequest_ACTIVATE, MemberID: member, Alarm: t}
	res, err := s.propose(ctx, &pb.InternalRaftRequest{Alarm: ar})
	err = firstErr(err, res.err)
	if s.maint.alarms.observe != nil {
		s.maint.alarms.observe(s.raft.MemberID(), member, t, err)
	}
	return err
}

type alarmKey struct {
	member uint64
	alarm  pb.AlarmType
}

func newAlarmStore() *alarmStore {
	return &alarmStore{alarms: make(map[alarmKey]*pb.AlarmMember)}
}

// load reads the persisted alarms; it runs at start, before raft.
func (as *alarmStore) load(ctx context.Context, store *mvcc.Store) error {
	var decodeErr error
	err := store.ScanMeta(ctx, AlarmNamespace, func(_, v []byte) bool {
		m := &pb.AlarmMember{}
		if err := proto.Unmarshal(v, m); err != nil {
			decodeErr = fmt.Errorf("etcdapi: decoding an alarm: %w", err)
			return false
		}
		as.alarms[alarmKey{m.MemberID, m.Alarm}] = m
		return true
	})
	if err == nil {
		err = decodeErr
	}
	return err
}

// active reports whether any member has raised t.
func (as *alarmStore) active(t pb.AlarmType) bool {
	as.mu.RLock()
	defer as.mu.RUnlock()
	for k := range as.alarms {
		if k.alarm == t {
			return true
		}
	}
	return false
}

// raised reports whether member has t raised.
func (as *alarmStore) raised(member uint64, t pb.AlarmType) bool {
	as.mu.RLock()
	defer as.mu.RUnlock()
	_, ok := as.alarms[alarmKey{member, t}]
	return ok
}

// list returns the alarms of type t (every alarm for NONE), ordered by
// member then type. The returned alarms must not be modified.
func (as *alarmStore) list(t pb.AlarmType) []*pb.AlarmMember {
	as.mu.RLock()
	defer as.mu.RUnlock()
	var out []*pb.AlarmMember
	for k, m := range as.alarms {
		if t == pb.AlarmType_NONE || k.alarm == t {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *pb.AlarmMember) int {
		return cmp.Or(cmp.Compare(a.MemberID, b.MemberID), cmp.Compare(a.Alarm, b.Alarm))
	})
	return out
}

// activate adds the alarm and returns it, or returns the one already
// active for the same member and type (then added is false).
func (as *alarmStore) activate(member uint64, t pb.AlarmType) (m *pb.AlarmMember, added bool) {
	as.mu.Lock()
	defer as.mu.Unlock()
	k := alarmKey{member, t}
	if m, ok := as.alarms[k]; ok {
		return m, false
	}
	m = &pb.AlarmMember{MemberID: member, Alarm: t}
	as.alarms[k] = m
	return m, true
}

// deactivate removes the alarm and returns it, or nil if it was not active.
func (as *alarmStore) deactivate(member uint64, t pb.AlarmType) *pb.AlarmMember {
	as.mu.Lock()
	defer as.mu.Unlock()
	k := alarmKey{member, t}
	m, ok := as.alarms[k]
	if !ok {
		return nil
	}
	delete(as.alarms, k)
	return m
}

func alarmEngineKey(member uint64, t pb.AlarmType) []byte {
	k := binary.BigEndian.AppendUint64(nil, member)
	return binary.BigEndian.AppendUint32(k, uint32(t))
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
		resp.Alarms = a.alarms.list(r.Alarm)
	case pb.AlarmRequest_ACTIVATE:
		if r.Alarm == pb.AlarmType_NONE {
			break
		}
		m, added := a.alarms.activate(r.MemberID, r.Alarm)
		if added {
			data, err := proto.Marshal(m)
			if err != nil {
				a.lg.Panic("cannot marshal an alarm", zap.Error(err))
			}
			tw.PutMeta(AlarmNamespace, alarmEngineKey(r.MemberID, r.Alarm), data)
			a.lg.Warn("alarm raised", zap.String("alarm", r.Alarm.String()), zap.String("member-id", fmt.Sprintf("%x", r.MemberID)))
		}
		resp.Alarms = []*pb.AlarmMember{m}
	case pb.AlarmRequest_DEACTIVATE:
		m := a.alarms.deactivate(r.MemberID, r.Alarm)
		if m == nil {
			break
		}
		tw.DeleteMeta(AlarmNamespace, alarmEngineKey(r.MemberID, r.Alarm))
		a.lg.Warn("alarm cleared", zap.String("alarm", r.Alarm.String()), zap.String("member-id", fmt.Sprintf("%x", r.MemberID)))
		resp.Alarms = []*pb.AlarmMember{m}
	}
	return applyResult{resp: resp}
}
