package lease

import "errors"

// Errors of the lessor. etcdapi turns them into etcd's rpctypes values.
var (
	// ErrNotFound: no lease has the ID (also for ID 0, which none has).
	ErrNotFound = errors.New("lease: lease not found")
	// ErrExist: a grant of an ID already granted.
	ErrExist = errors.New("lease: lease already exists")
	// ErrTTLTooLarge: a grant of a TTL above MaxTTL.
	ErrTTLTooLarge = errors.New("lease: lease TTL is too large")
	// ErrNotPrimary is returned for renewals and TTL queries on a member
	// that is not the leader: only the leader counts lease time.
	ErrNotPrimary = errors.New("lease: lease time is kept by the leader only")
	// ErrStopped fails the checkpoints still queued when the checkpointer
	// stops.
	ErrStopped = errors.New("lease: checkpointer stopped")
)
