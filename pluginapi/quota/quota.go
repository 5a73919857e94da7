package quota

import (
	"context"
	"errors"
)

// Policy decides whether writes are admitted.
//
// Life cycle: the host builds a Policy, calls Info once to log what it runs,
// then Check for each write that would grow the store, from many goroutines
// at once. A Policy must be safe for concurrent use.
type Policy interface {
	// Info describes the policy.
	Info(ctx context.Context) (InfoResponse, error)

	// Check answers whether req may be proposed. A refused write is not
	// an error: Check returns a response with Admit false and, when the
	// refusal means the cluster is out of space, Alarm AlarmNoSpace.
	// Check returns an error only when it cannot decide (ErrUnavailable,
	// ErrInvalidRequest); the host then falls back to its built-in check.
	Check(ctx context.Context, req CheckRequest) (CheckResponse, error)
}

// InfoResponse names a policy.
type InfoResponse struct {
	Name    string
	Version string
	// Capabilities lists optional behaviour: CapabilityPrefixesOnly.
	Capabilities []string
}

// Capabilities a policy declares in InfoResponse.
const (
	// CapabilityPrefixesOnly: the policy judges only the prefixes it
	// declared (CheckRequest.Prefixes), so the host need not ask it about
	// writes with no put under one; the built-in check alone decides those.
	// It saves a call across the process boundary per write.
	CapabilityPrefixesOnly = "prefixes-only"
)

// WriteKind is the kind of a write being checked.
type WriteKind uint8

const (
	// WritePut is a single put.
	WritePut WriteKind = iota + 1
	// WriteTxn is a transaction with at least one put.
	WriteTxn
	// WriteLeaseGrant creates a lease.
	WriteLeaseGrant
)

// Put is one key a write would store.
type Put struct {
	Key []byte
	// ValueSize is the length of the value, in bytes.
	ValueSize int
}

// CheckRequest describes one write and the store it would land in.
type CheckRequest struct {
	Kind WriteKind
	// Cost estimates the bytes the write adds to the backend, as etcd
	// counts them: per put the key, the value and a fixed overhead; for a
	// txn the larger of its two branches; for a lease grant a fixed
	// overhead.
	Cost int64
	// Puts are the keys the write stores, for policies that look at keys
	// (per-prefix quotas). Nil for a lease grant. The slices belong to the
	// host and must not be retained.
	Puts []Put
	// Usage is the store's size as the host last measured it.
	Usage Usage
	// Prefixes are the usage of every prefix the policy declared (see
	// Configurer) that at least one of Puts falls under, with what the
	// write adds to it. Nil when no put falls under one.
	Prefixes []PrefixUsage
}

// PrefixUsage is what the live keys under a prefix take, as of the
// member's applied state, and what a write would add to it.
//
// A key counts len(key)+len(value) bytes. A put of a new key adds one key
// and those bytes; a put over a live key adds no key and the change of the
// value's size, which may be negative. For a txn the host takes, per
// prefix, the larger of its two branches (it cannot know which will run);
// deletes in the same write are not credited. A write that adds nothing
// (AddKeys and AddBytes both <= 0) should be admitted whatever the usage,
// so that a prefix over its limit can still shrink.
type PrefixUsage struct {
	// Prefix is the declared prefix. It belongs to the host.
	Prefix []byte
	// Keys and Bytes are the prefix's live keys and their bytes.
	Keys, Bytes int64
	// AddKeys and AddBytes are what the write would add.
	AddKeys, AddBytes int64
}

// Usage is the size of the store.
type Usage struct {
	// BackendBytes is the space the storage engine takes on disk.
	BackendBytes int64
	// BackendBytesInUse is the part of BackendBytes holding live data.
	BackendBytesInUse int64
}

// Alarm is an alarm a policy asks the host to raise.
type Alarm uint8

const (
	// AlarmNone raises nothing.
	AlarmNone Alarm = iota
	// AlarmNoSpace is etcd's NOSPACE: the cluster refuses writes that
	// grow the store until an operator frees space and disarms it.
	AlarmNoSpace
)

// CheckResponse is a policy's decision.
type CheckResponse struct {
	// Admit is true when the write may be proposed.
	Admit bool
	// Alarm is raised cluster-wide by the host when not AlarmNone.
	Alarm Alarm
	// Reason explains a refusal that raises no alarm, naming the limit
	// exceeded; the host returns it to the client.
	Reason string
}

// Configurer is implemented by policies that take a configuration: the
// config mapping of their catalog entry. The host calls Configure before
// the first Check, after every restart of the plugin process, and whenever
// the operator changes the configuration (the config file changed, or
// SIGHUP); checks made meanwhile see either the old or the new one.
type Configurer interface {
	// Configure replaces the policy's configuration. It returns
	// ErrInvalidConfig, naming what is wrong, for a configuration it
	// cannot use; the policy then keeps its previous one.
	Configure(ctx context.Context, req ConfigureRequest) (ConfigureResponse, error)
}

// ConfigureRequest carries a configuration.
type ConfigureRequest struct {
	// Config is the catalog entry's config mapping encoded as JSON; "{}"
	// or empty when the entry has none.
	Config []byte
}

// ConfigureResponse declares what the policy needs from the host.
type ConfigureResponse struct {
	// Prefixes are the key prefixes whose usage the host keeps and passes
	// in CheckRequest.Prefixes.
	Prefixes [][]byte
}

// Sentinel errors a policy returns, wrapped or not; callers check them with
// errors.Is.
var (
	// ErrInvalidRequest marks a request the policy cannot judge.
	ErrInvalidRequest = errors.New("quota: invalid request")
	// ErrUnavailable marks a policy that cannot answer now, e.g. because
	// its process died; the host falls back to its built-in check.
	ErrUnavailable = errors.New("quota: policy unavailable")
	// ErrInvalidConfig marks a configuration the policy cannot use.
	ErrInvalidConfig = errors.New("quota: invalid configuration")
	// ErrNotSupported marks a call the policy does not implement, such as
	// Configure on a policy that takes no configuration.
	ErrNotSupported = errors.New("quota: not supported")
)
