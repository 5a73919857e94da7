package alarm

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/mvcc"
)

// Namespace is the storage engine namespace of active alarms: the
// 8-byte big-endian member id then the 4-byte alarm type, to the
// marshalled pb.AlarmMember. It changes in the write batch of the raft
// entry that raised or cleared the alarm.
const Namespace = "alarm"

// Store holds the cluster's active alarms. The applier changes it;
// request handlers read it.
type Store struct {
	mu     sync.RWMutex
	alarms map[alarmKey]*pb.AlarmMember
}

type alarmKey struct {
	member uint64
	alarm  pb.AlarmType
}

func NewStore() *Store {
	return &Store{alarms: make(map[alarmKey]*pb.AlarmMember)}
}

// Load replaces the alarms with the persisted ones: at start, before raft,
// and after a snapshot was installed.
func (as *Store) Load(ctx context.Context, store *mvcc.Store) error {
	fresh := make(map[alarmKey]*pb.AlarmMember)
	var decodeErr error
	err := store.ScanMeta(ctx, Namespace, func(_, v []byte) bool {
		m := &pb.AlarmMember{}
		if err := proto.Unmarshal(v, m); err != nil {
			decodeErr = fmt.Errorf("alarm: decoding an alarm: %w", err)
			return false
		}
		fresh[alarmKey{m.MemberID, m.Alarm}] = m
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return err
	}
	as.mu.Lock()
	as.alarms = fresh
	as.mu.Unlock()
	return nil
}

// active reports whether any member has raised t.
func (as *Store) Active(t pb.AlarmType) bool {
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
func (as *Store) Raised(member uint64, t pb.AlarmType) bool {
	as.mu.RLock()
	defer as.mu.RUnlock()
	_, ok := as.alarms[alarmKey{member, t}]
	return ok
}

// list returns the alarms of type t (every alarm for NONE), ordered by
// member then type. The returned alarms must not be modified.
func (as *Store) List(t pb.AlarmType) []*pb.AlarmMember {
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
func (as *Store) Activate(member uint64, t pb.AlarmType) (m *pb.AlarmMember, added bool) {
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
func (as *Store) Deactivate(member uint64, t pb.AlarmType) *pb.AlarmMember {
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

// Key is the engine key, in Namespace, of member's alarm t.
func Key(member uint64, t pb.AlarmType) []byte {
	k := binary.BigEndian.AppendUint64(nil, member)
	return binary.BigEndian.AppendUint32(k, uint32(t))
}
