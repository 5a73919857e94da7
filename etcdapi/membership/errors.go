package membership

import "errors"

// Errors of membership changes, as etcd's membership package names them.
// etcdapi turns them into etcd's rpctypes values.
var (
	ErrMemberExists    = errors.New("membership: member ID already exist")
	ErrMemberNotFound  = errors.New("membership: member not found")
	ErrMemberRemoved   = errors.New("membership: member ID removed")
	ErrPeerURLExists   = errors.New("membership: Peer URLs already exists")
	ErrTooManyLearners = errors.New("membership: too many learner members in cluster")
)
