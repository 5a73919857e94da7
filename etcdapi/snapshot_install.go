package etcdapi

import (
	"context"
	"fmt"
)

// InstallSnapshot replaces the member's state with a raft snapshot from
// the leader. replace writes the snapshot into the storage engine and
// returns its consistent index; it runs while the store holds off every
// reader and writer (see mvcc.Store.Restore). The store is then rebuilt in
// place, its watchers catch up with the revisions they missed, and the
// state the API keeps beside the store (membership, leases, users and
// roles, alarms) is reloaded; the membership hook resyncs the peers. It runs on the raft apply goroutine,
// which applies the entries after the snapshot once it returns.
func (s *Server) InstallSnapshot(ctx context.Context, replace func(context.Context) (uint64, error)) error {
	if err := s.store.Restore(ctx, replace); err != nil {
		return err
	}
	if err := s.members.Load(ctx, s.store); err != nil {
		return fmt.Errorf("etcdapi: reloading the membership after a snapshot: %w", err)
	}
	s.members.Notify()
	if err := s.leases.Load(ctx, s.store); err != nil {
		return fmt.Errorf("etcdapi: reloading the leases after a snapshot: %w", err)
	}
	if err := s.auth.Load(ctx, s.store); err != nil {
		return fmt.Errorf("etcdapi: reloading users and roles after a snapshot: %w", err)
	}
	if err := s.maint.alarms.Load(ctx, s.store); err != nil {
		return fmt.Errorf("etcdapi: reloading the alarms after a snapshot: %w", err)
	}
	return nil
}
