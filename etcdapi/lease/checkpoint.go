package lease

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// checkpointJob is a run of checkpoints waiting to be proposed; done, when
// not nil, receives the outcome once they are applied.
type checkpointJob struct {
	cps  []*pb.LeaseCheckpoint
	done chan error
}

// queueCheckpoints appends a job; the caller holds mu. Jobs are proposed
// in the order they were queued, which is the order the lessor decided
// them in: a renewal's reset always follows any checkpoint computed
// before the renewal.
func (le *Lessor) queueCheckpoints(cps []*pb.LeaseCheckpoint, done chan error) {
	if le.cpClosed {
		if done != nil {
			done <- ErrStopped
		}
		return
	}
	le.cpQueue = append(le.cpQueue, checkpointJob{cps: cps, done: done})
	select {
	case le.cpWake <- struct{}{}:
	default:
	}
}

// failCheckpoints drops the queue, failing its waiters; the caller holds
// mu.
func (le *Lessor) failCheckpoints(err error) {
	for _, j := range le.cpQueue {
		if j.done != nil {
			j.done <- err
		}
	}
	le.cpQueue = nil
}

func (le *Lessor) takeCheckpoints() []checkpointJob {
	le.mu.Lock()
	defer le.mu.Unlock()
	jobs := le.cpQueue
	le.cpQueue = nil
	return jobs
}

// RunCheckpointer proposes queued checkpoints until stop closes. It
// merges the queued jobs into raft entries of at most CheckpointBatch
// checkpoints and proposes them one after the other, each waiting for the
// previous to apply, so the log keeps the queue's order. After a failed
// proposal it drops the rest of what it took: proposing them could reorder
// the log if the failed one still commits.
func (le *Lessor) RunCheckpointer(stop <-chan struct{}, propose func(context.Context, []*pb.LeaseCheckpoint) error) {
	for {
		select {
		case <-le.cpWake:
		case <-stop:
			le.mu.Lock()
			le.cpClosed = true
			le.failCheckpoints(ErrStopped)
			le.mu.Unlock()
			return
		}
		jobs := le.takeCheckpoints()
		err := le.proposeJobs(jobs, propose)
		for _, j := range jobs {
			if j.done != nil {
				j.done <- err
			}
		}
	}
}

func (le *Lessor) proposeJobs(jobs []checkpointJob, propose func(context.Context, []*pb.LeaseCheckpoint) error) error {
	var batch []*pb.LeaseCheckpoint
	for _, j := range jobs {
		for _, cp := range j.cps {
			batch = append(batch, cp)
			if len(batch) == le.cfg.CheckpointBatch {
				if err := propose(context.Background(), batch); err != nil {
					return err
				}
				batch = nil
			}
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return propose(context.Background(), batch)
}
