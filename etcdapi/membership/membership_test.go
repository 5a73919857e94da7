package membership

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.etcd.io/raft/v3/raftpb"
)

// cluster returns a Cluster of the given members; a name marks a started
// member, "L" in it a learner.
func cluster(maxLearners int, specs ...string) *Cluster {
	c := New(maxLearners)
	for i, spec := range specs {
		id := uint64(i + 1)
		m := &Member{ID: id, PeerURLs: []string{fmt.Sprintf("http://10.0.0.%d:2380", id)}}
		switch spec {
		case "started":
			m.Name = fmt.Sprintf("m%d", id)
		case "learner":
			m.IsLearner = true
		case "started learner":
			m.Name, m.IsLearner = fmt.Sprintf("m%d", id), true
		}
		c.members[id] = m
	}
	return c
}

func TestReadiness(t *testing.T) {
	tests := map[string]struct {
		c                      *Cluster
		add, remove1, promote4 bool
	}{
		"one started member":                {c: cluster(1, "started"), add: true, remove1: false, promote4: true},
		"three started":                     {c: cluster(1, "started", "started", "started"), add: true, remove1: true, promote4: true},
		"two of three started":              {c: cluster(1, "started", "started", "added"), add: false, remove1: false, promote4: true},
		"two started, one added, a learner": {c: cluster(1, "started", "started", "added", "learner"), add: false, remove1: false, promote4: true},
		"one of three started":              {c: cluster(1, "started", "added", "added"), add: false, remove1: false, promote4: false},
		"four started":                      {c: cluster(1, "started", "started", "started", "started"), add: true, remove1: true, promote4: true},
		"two started":                       {c: cluster(1, "started", "started"), add: true, remove1: true, promote4: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tt.add, tt.c.ReadyToAddVoter(), "ReadyToAddVoter")
			assert.Equal(t, tt.remove1, tt.c.ReadyToRemoveVoter(1), "ReadyToRemoveVoter(1)")
			assert.Equal(t, tt.promote4, tt.c.ReadyToPromote(), "ReadyToPromote")
		})
	}
}

func change(typ raftpb.ConfChangeType, id uint64) *raftpb.ConfChange {
	return &raftpb.ConfChange{Type: typ.Enum(), NodeId: &id}
}

func TestValidate(t *testing.T) {
	member := func(id uint64, url string, learner bool) *Member {
		return &Member{ID: id, PeerURLs: []string{url}, IsLearner: learner}
	}
	c := cluster(1, "started", "started", "learner")
	c.removed[9] = true
	tests := map[string]struct {
		cc   *raftpb.ConfChange
		ctx  *Member
		want error
	}{
		"add a new voter":          {cc: change(raftpb.ConfChangeAddNode, 5), ctx: member(5, "http://10.0.0.5:2380", false)},
		"add an existing ID":       {cc: change(raftpb.ConfChangeAddNode, 2), ctx: member(2, "http://10.0.0.5:2380", false), want: ErrMemberExists},
		"add a removed ID":         {cc: change(raftpb.ConfChangeAddNode, 9), ctx: member(9, "http://10.0.0.9:2380", false), want: ErrMemberRemoved},
		"add a taken peer URL":     {cc: change(raftpb.ConfChangeAddNode, 5), ctx: member(5, "http://10.0.0.2:2380", false), want: ErrPeerURLExists},
		"a second learner":         {cc: change(raftpb.ConfChangeAddLearnerNode, 5), ctx: member(5, "http://10.0.0.5:2380", true), want: ErrTooManyLearners},
		"promote the learner":      {cc: change(raftpb.ConfChangeAddNode, 3), ctx: member(3, "http://10.0.0.3:2380", false)},
		"remove a member":          {cc: change(raftpb.ConfChangeRemoveNode, 2)},
		"remove an unknown member": {cc: change(raftpb.ConfChangeRemoveNode, 7), want: ErrMemberNotFound},
		"update to a free URL":     {cc: change(raftpb.ConfChangeUpdateNode, 2), ctx: member(2, "http://10.0.0.7:2380", false)},
		"update to its own URL":    {cc: change(raftpb.ConfChangeUpdateNode, 2), ctx: member(2, "http://10.0.0.2:2380", false)},
		"update to another's URL":  {cc: change(raftpb.ConfChangeUpdateNode, 2), ctx: member(2, "http://10.0.0.1:2380", false), want: ErrPeerURLExists},
		"update an unknown member": {cc: change(raftpb.ConfChangeUpdateNode, 7), ctx: member(7, "http://10.0.0.7:2380", false), want: ErrMemberNotFound},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, c.Validate(tt.cc, tt.ctx), tt.want)
		})
	}
	assert.NoError(t, cluster(2, "started", "learner").Validate(
		change(raftpb.ConfChangeAddLearnerNode, 5), member(5, "http://10.0.0.5:2380", true)),
		"a second learner under --max-learners 2")
}
