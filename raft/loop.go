package raft

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/types"
	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// maxEventsPerReady bounds how many queued proposals and messages the raft
// loop steps into raft before it handles the next Ready.
const maxEventsPerReady = 4096

// runRaftLoop owns the RawNode: it steps events into raft and handles each
// Ready. Events that queue up while a Ready is being persisted all go into
// the next Ready, so one fsync covers all of them (group commit).
func (n *Node) runRaftLoop() {
	defer n.wg.Done()
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	for {
		if n.rn.HasReady() {
			if err := n.handleReady(); err != nil {
				n.fail(err)
				return
			}
		}
		n.maybeCampaign()
		if err := n.maybeSnapshot(); err != nil {
			n.fail(err)
			return
		}
		if !n.processEvents(ticker.C, !n.rn.HasReady()) {
			return
		}
	}
}

// processEvents steps queued events into raft: the first one waiting if
// block is set, then up to maxEventsPerReady more that are already queued.
// It returns false once the node is stopping.
func (n *Node) processEvents(tick <-chan time.Time, block bool) bool {
	if block {
		select {
		case <-tick:
			n.rn.Tick()
		case p := <-n.propc:
			n.take(p)
		case m := <-n.recvc:
			n.step(m)
		case f := <-n.ctlc:
			f(n.rn)
		case <-n.holds.expired():
			n.cfg.Transport.Send(n.holds.release())
		case <-n.stopc:
			return false
		}
	}
	// What is queued already is taken one channel at a time: a receive
	// that may not block locks its channel alone, where a select over
	// all five locks every one of them for each event. Proposals and
	// messages alternate, so neither waits behind a flood of the other.
	for i := 0; i < maxEventsPerReady; {
		took := false
		select {
		case p := <-n.propc:
			n.take(p)
			i, took = i+1, true
		default:
		}
		select {
		case m := <-n.recvc:
			n.step(m)
			i, took = i+1, true
		default:
		}
		if !took {
			break
		}
	}
	n.proposeBatch()
	select {
	case <-tick:
		n.rn.Tick()
	default:
	}
	select {
	case <-n.holds.expired():
		n.cfg.Transport.Send(n.holds.release())
	default:
	}
	for range maxEventsPerReady {
		select {
		case f := <-n.ctlc:
			f(n.rn)
			continue
		case <-n.stopc:
			return false
		default:
		}
		break
	}
	return !n.stopped()
}

// take adds p to the batch the raft loop steps into raft at once. A conf
// change is stepped alone, after the proposals taken before it.
func (n *Node) take(p proposal) {
	if p.cc != nil {
		n.proposeBatch()
		n.proposed(p, n.rn.ProposeConfChange(p.cc))
		return
	}
	if len(n.batch) > 0 && n.batchBytes+uint64(len(p.data)) > n.cfg.MaxSizePerMsg {
		n.proposeBatch()
	}
	n.batch = append(n.batch, p)
	n.batchBytes += uint64(len(p.data))
}

// proposeBatch steps the batch into raft as one proposal message of
// many entries, which raft takes or drops whole. For each message stepped
// raft allocates the message, the leader's acknowledgement of its own
// append and a few pointers: under 500 clients' puts, a message for each
// proposal made an eighth of everything a member allocated. The batch is
// bounded by MaxSizePerMsg, as a follower forwards it to the leader in
// one message.
func (n *Node) proposeBatch() {
	if len(n.batch) == 0 {
		return
	}
	entries := make([]raftpb.Entry, len(n.batch))
	ptrs := make([]*raftpb.Entry, len(n.batch))
	for i := range n.batch {
		entries[i].Data = n.batch[i].data
		ptrs[i] = &entries[i]
	}
	err := n.rn.Step(&raftpb.Message{Type: raftpb.MsgProp.Enum(), From: new(n.md.MemberID), Entries: ptrs})
	for i := range n.batch {
		n.proposed(n.batch[i], err)
	}
	clear(n.batch)
	n.batch, n.batchBytes = n.batch[:0], 0
}

// proposed tells p's caller what raft did with it.
func (n *Node) proposed(p proposal, err error) {
	if p.trace != nil && err == nil {
		n.walTraces = append(n.walTraces, *p.trace)
	}
	if errors.Is(err, etcdraft.ErrProposalDropped) {
		err = ErrProposalDropped
	}
	if p.errc == nil {
		if err != nil {
			p.dropped(err)
		}
		return
	}
	p.errc <- err
}

func (n *Node) step(m *raftpb.Message) {
	n.activity.note(m.GetFrom(), time.Now(), n.electionTimeout())
	if m.GetType() == raftpb.MsgProp {
		n.holds.noteForwarded(m.GetFrom())
	}
	if err := n.rn.Step(m); err != nil {
		n.lg.Debug("raft: dropped message", zap.Stringer("type", m.GetType()),
			zap.Stringer("from", types.ID(m.GetFrom())), zap.Error(err))
	}
}

// handleReady persists, sends and hands off one Ready, then advances raft.
//
// A leader sends its messages before it persists the Ready (raft thesis
// §10.2.1, as etcd does): the followers write the new entries to their
// disks while the leader writes them to its own, and raft counts the
// leader's own copy toward a quorum only once Advance reports it
// persisted. Any other member sends only what is durable: its
// acknowledgements and votes promise state on disk. A leader that steps
// down in this Ready counts as a follower.
func (n *Node) handleReady() error {
	rd := n.rn.Ready()
	msgs, heldBack := n.holdBackSnapshots(rd.Messages)
	early := n.leadsAfter(rd)
	var last uint64
	if k := len(rd.Entries); k > 0 {
		last = rd.Entries[k-1].GetIndex()
	}
	msgs = n.holds.filter(msgs, early, last)
	if early {
		n.cfg.Transport.Send(msgs)
	}
	applyFirst := n.committedAreDurable(rd)
	if applyFirst {
		if !n.handOffCommitted(rd.CommittedEntries) {
			return nil
		}
		if len(rd.Entries) == 0 {
			// Nothing new to write but the HardState: this core runs
			// the apply first, which would otherwise wait for the
			// write. A lone client's put was woken 8 µs sooner after
			// its fsync (medians of a 2,000-put execution trace). A
			// Ready with entries does not yield: under load the raft
			// loop must not queue behind the handlers.
			runtime.Gosched()
		}
	}
	if err := n.persist(rd); err != nil {
		return err
	}
	if !early {
		n.cfg.Transport.Send(msgs)
	}
	n.reads.deliver(rd.ReadStates)
	if err := n.applyConfChanges(rd.CommittedEntries); err != nil {
		return err
	}
	if !applyFirst && !n.handOffCommitted(rd.CommittedEntries) {
		return nil
	}
	n.rn.Advance(rd)
	n.reportHeldBack(heldBack)
	if rd.SoftState != nil || rd.HardState != nil {
		n.noteLeader(rd.SoftState)
		n.publishStatus()
	}
	return nil
}

// committedAreDurable reports whether the Ready's committed entries may be
// applied before the Ready is written, as etcd applies while it writes
// its WAL. They may when this member's log already holds them durably (a
// Ready commits the entries an earlier Ready wrote, as a lone member's
// and a leader's do): a write of new entries, and its fsync, then no
// longer holds up the apply of those before them, nor a lone member's
// write of the HardState that records their commit. Entries this Ready
// writes wait for it, so the store never applies past the durable log,
// nor does a Ready with a snapshot or a conf change, which raft must
// see applied in order with the log.
//
// The log holds them when the Ready writes nothing at or below the last
// of them: raft commits entries of the Ready's own Entries too, and a
// follower's Entries may replace, at the same indexes, entries of an
// earlier leader that it wrote but that were never committed. Every
// earlier Ready was written before Advance, so the rest are in
// MemoryStorage; its last index is checked too, as a guard.
func (n *Node) committedAreDurable(rd etcdraft.Ready) bool {
	k := len(rd.CommittedEntries)
	if k == 0 || !etcdraft.IsEmptySnap(rd.Snapshot) {
		return false
	}
	lastCommitted := rd.CommittedEntries[k-1].GetIndex()
	if len(rd.Entries) > 0 && rd.Entries[0].GetIndex() <= lastCommitted {
		return false
	}
	last, err := n.storage.LastIndex()
	if err != nil || lastCommitted > last {
		return false
	}
	for _, e := range rd.CommittedEntries {
		if t := e.GetType(); t == raftpb.EntryConfChange || t == raftpb.EntryConfChangeV2 {
			return false
		}
	}
	return true
}

// handOffCommitted hands committed entries to the apply loop; false if
// the node stopped meanwhile.
func (n *Node) handOffCommitted(ents []*raftpb.Entry) bool {
	k := len(ents)
	if k == 0 {
		return true
	}
	n.handedOut = ents[k-1].GetIndex()
	return n.handOff(applyTask{entries: ents})
}

// persist writes the Ready's snapshot, HardState and entries to the WAL
// (one fsync for the HardState and entries) and then to MemoryStorage.
func (n *Node) persist(rd etcdraft.Ready) error {
	snap := rd.Snapshot
	hasSnap := !etcdraft.IsEmptySnap(snap)
	if hasSnap {
		if err := n.wal.SaveSnapshot(snap.GetMetadata()); err != nil {
			return err
		}
	}
	if err := n.saveWAL(rd); err != nil {
		return err
	}
	if hasSnap {
		if err := n.installSnapshot(snap); err != nil {
			return err
		}
	}
	if rd.HardState != nil {
		if err := n.storage.SetHardState(rd.HardState); err != nil {
			return err
		}
	}
	return n.storage.Append(rd.Entries)
}

// installSnapshot applies a snapshot received from the leader: it replaces
// the log, is handed to the apply loop in order, and releases WAL segments
// it covers.
func (n *Node) installSnapshot(snap *raftpb.Snapshot) error {
	if err := n.storage.ApplySnapshot(snap); err != nil {
		return fmt.Errorf("raft: apply snapshot to storage: %w", err)
	}
	md := snap.GetMetadata()
	n.lg.Info("raft: installed snapshot from leader",
		zap.Uint64("index", md.GetIndex()), zap.Uint64("term", md.GetTerm()))
	n.confs = newConfLog(md.GetIndex(), md.GetConfState())
	n.updateLearner(md.GetConfState())
	n.snapIndex = md.GetIndex()
	n.handedOut = max(n.handedOut, md.GetIndex())
	n.snapAfter = n.snapIndex + n.cfg.SnapshotCount
	if !n.handOff(applyTask{snapshot: snap}) {
		return nil
	}
	return n.wal.ReleaseTo(md.GetIndex())
}

// applyConfChanges applies the committed conf changes in ents to raft, in
// order, and records the resulting ConfStates for later snapshots.
func (n *Node) applyConfChanges(ents []*raftpb.Entry) error {
	for _, e := range ents {
		var cc raftpb.ConfChangeI
		switch e.GetType() {
		case raftpb.EntryConfChange:
			v1 := &raftpb.ConfChange{}
			if err := proto.Unmarshal(e.GetData(), v1); err != nil {
				return fmt.Errorf("raft: decode conf change at index %d: %w", e.GetIndex(), err)
			}
			cc = v1
		case raftpb.EntryConfChangeV2:
			v2 := &raftpb.ConfChangeV2{}
			if err := proto.Unmarshal(e.GetData(), v2); err != nil {
				return fmt.Errorf("raft: decode conf change at index %d: %w", e.GetIndex(), err)
			}
			cc = v2
		default:
			continue
		}
		cc = n.guardConfChange(cc)
		cs := n.rn.ApplyConfChange(cc)
		n.confs.add(e.GetIndex(), cs)
		n.updateLearner(cs)
		n.lg.Info("raft: applied conf change", zap.Uint64("index", e.GetIndex()),
			zap.String("change", etcdraft.DescribeConfChange(cc)))
	}
	return nil
}

// handOff queues t for the apply loop, keeping log order. It returns false
// if the node stopped first.
func (n *Node) handOff(t applyTask) bool {
	select {
	case n.applyc <- t:
		return true
	case <-n.stopc:
		return false
	}
}

// maybeCampaign makes the sole voter of a cluster elect itself right away
// instead of after an election timeout, once, when no leader is known.
func (n *Node) maybeCampaign() {
	if n.campaigned || n.lead != 0 {
		return
	}
	cs := n.confs.current()
	if len(cs.GetVoters()) != 1 || cs.GetVoters()[0] != n.md.MemberID || len(cs.GetVotersOutgoing()) != 0 {
		return
	}
	n.campaigned = true
	if err := n.rn.Campaign(); err != nil {
		n.lg.Warn("raft: campaign", zap.Error(err))
	}
}

// noteLeader records a change of leader and wakes LeaderChanged waiters.
func (n *Node) noteLeader(ss *etcdraft.SoftState) {
	if ss == nil || ss.Lead == n.lead {
		return
	}
	n.lg.Info("raft: leader changed", zap.Stringer("from", types.ID(n.lead)), zap.Stringer("to", types.ID(ss.Lead)),
		zap.Stringer("state", ss.RaftState))
	n.lead = ss.Lead
	n.leaderCh.notify()
}

// leadsAfter reports whether this member is the leader once rd is
// handled: rd's SoftState when it changes the role, else the role last
// published.
func (n *Node) leadsAfter(rd etcdraft.Ready) bool {
	if rd.SoftState != nil {
		return rd.SoftState.RaftState == etcdraft.StateLeader
	}
	st := n.status.Load()
	return st != nil && st.IsLeader
}

// publishStatus stores a fresh Status for Status callers.
func (n *Node) publishStatus() {
	bs := n.rn.BasicStatus()
	n.status.Store(&Status{
		ID:          bs.ID,
		Leader:      bs.Lead,
		Term:        bs.HardState.GetTerm(),
		CommitIndex: bs.HardState.GetCommit(),
		IsLeader:    bs.RaftState == etcdraft.StateLeader,
		IsLearner:   n.isLearner.Load(),
	})
}

func (n *Node) updateLearner(cs *raftpb.ConfState) {
	learner := false
	for _, id := range cs.GetLearners() {
		learner = learner || id == n.md.MemberID
	}
	n.isLearner.Store(learner)
}

// guardConfChange turns a change raft cannot make (a voter demoted to a
// learner, which the host refuses before proposing) into a no-op, so that a
// racing proposal cannot stop the node.
func (n *Node) guardConfChange(cc raftpb.ConfChangeI) raftpb.ConfChangeI {
	v1, ok := cc.(*raftpb.ConfChange)
	if !ok || v1.GetType() != raftpb.ConfChangeAddLearnerNode {
		return cc
	}
	if slices.Contains(n.confs.current().GetVoters(), v1.GetNodeId()) {
		n.lg.Warn("raft: ignoring conf change that would demote a voter", zap.Stringer("member-id", types.ID(v1.GetNodeId())))
		noop := proto.Clone(v1).(*raftpb.ConfChange)
		noop.NodeId = new(uint64)
		return noop
	}
	return cc
}
