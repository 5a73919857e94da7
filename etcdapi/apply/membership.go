package apply

import (
	"encoding/json"

	"go.etcd.io/etcd/api/v3/membershippb"
	"go.etcd.io/etcd/client/pkg/v3/types"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/metastore/metastore/etcdapi/membership"
)

// applyConfChange records a committed conf change in the membership and
// the engine, and answers the request that proposed it.
func (a *Applier) applyConfChange(e *raftpb.Entry) {
	index := e.GetIndex()
	cc := &raftpb.ConfChange{}
	if err := proto.Unmarshal(e.GetData(), cc); err != nil {
		a.lg.Panic("cannot decode committed conf change", zap.Uint64("index", index), zap.Error(err))
	}
	var ctx *membership.Member
	if len(cc.GetContext()) > 0 {
		ctx = &membership.Member{}
		if err := json.Unmarshal(cc.GetContext(), ctx); err != nil {
			a.lg.Panic("cannot decode conf change context", zap.Uint64("index", index), zap.Error(err))
		}
		ctx.ID = cc.GetNodeId()
	}
	tw := a.store.Write(index)
	err := a.members.Apply(tw, cc, ctx)
	if err == nil {
		a.lg.Info("applied membership change", zap.Uint64("index", index),
			zap.Stringer("type", cc.GetType()), zap.Stringer("member-id", types.ID(cc.GetNodeId())))
	} else {
		a.lg.Warn("refused membership change", zap.Uint64("index", index),
			zap.Stringer("type", cc.GetType()), zap.Stringer("member-id", types.ID(cc.GetNodeId())), zap.Error(err))
	}
	tw.End()
	if err == nil {
		a.members.Notify()
	}
	if cc.GetId() != 0 {
		a.done(cc.GetId(), Result{Err: err})
	}
}

// applyMemberAttrs records the name and client URLs a member publishes
// when it starts.
func (a *Applier) applyMemberAttrs(index uint64, r *membershippb.ClusterMemberAttrSetRequest) Result {
	tw := a.store.Write(index)
	found := a.members.SetAttributes(tw, r.GetMember_ID(), r.GetMemberAttributes().GetName(),
		r.GetMemberAttributes().GetClientUrls())
	tw.End()
	if found {
		a.members.Notify()
	}
	return Result{}
}
