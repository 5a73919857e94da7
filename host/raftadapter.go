package host

import (
	"github.com/metastore/metastore/etcdapi"
	"github.com/metastore/metastore/raft"
)

// raftAdapter presents the raft node as the API's Raft.
type raftAdapter struct{ *raft.Node }

var _ etcdapi.Raft = raftAdapter{}

func (a raftAdapter) Status() etcdapi.RaftStatus {
	st := a.Node.Status()
	return etcdapi.RaftStatus{
		Leader:       st.Leader,
		Term:         st.Term,
		CommitIndex:  st.CommitIndex,
		AppliedIndex: st.AppliedIndex,
		IsLearner:    st.IsLearner,
	}
}
