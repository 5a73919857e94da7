package raft

import (
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// Defaults applied by Start to zero Config fields.
const (
	DefaultTickInterval           = 100 * time.Millisecond
	DefaultElectionTicks          = 10
	DefaultSnapshotCount          = 10000
	DefaultSnapshotCatchUpEntries = 5000
	DefaultMaxSizePerMsg          = 1 << 20
	DefaultMaxInflightMsgs        = 512
	DefaultReadIndexTimeout       = 5 * time.Second
	DefaultCommitHold             = time.Millisecond
)

// Peer is an initial voter of a new cluster.
type Peer struct {
	ID   uint64   `json:"id"`
	Name string   `json:"name,omitempty"`
	URLs []string `json:"urls"`
}

// PeerFromContext decodes the Peer that Start stores in the Context of the
// conf change entries bootstrapping a new cluster.
func PeerFromContext(ctx []byte) (Peer, error) {
	var p Peer
	if err := json.Unmarshal(ctx, &p); err != nil {
		return Peer{}, fmt.Errorf("raft: decode peer context: %w", err)
	}
	return p, nil
}

// Config configures a Node. Zero fields take the defaults above.
type Config struct {
	// Logger receives the node's and the raft library's logs;
	// nil means zap.NewNop().
	Logger *zap.Logger
	// WALDir holds the WAL segments and snapshot markers.
	WALDir string
	// MemberID and ClusterID are written to a new WAL. When the WAL exists
	// its values win; a non-zero value here that differs is an error.
	MemberID, ClusterID uint64
	// Peers are the initial voters of a new cluster; ignored when the WAL
	// exists. Empty means joining an existing cluster: the node waits for
	// the leader to replicate the log to it.
	Peers []Peer
	// ForceNewCluster, when the WAL exists, makes this member a cluster
	// of one that keeps its member and cluster ids and its committed log:
	// entries past the commit index are discarded, and committed conf
	// changes removing every other member are appended (see
	// forceNewCluster). Without a WAL it changes nothing. Start returns
	// ErrForceLearner for a learner.
	ForceNewCluster bool
	// Self describes this member (name, peer URLs) for the conf change
	// that adds it when ForceNewCluster finds its log does not have it;
	// its ID is the WAL's.
	Self Peer
	// TickInterval is the heartbeat interval (--heartbeat-interval).
	TickInterval time.Duration
	// ElectionTicks is the election timeout in ticks.
	ElectionTicks int
	// SnapshotCount is the number of applied entries between raft
	// snapshots, each of which compacts the log and releases WAL segments.
	SnapshotCount uint64
	// SnapshotCatchUpEntries is how many entries below a snapshot stay in
	// memory for slow followers.
	SnapshotCatchUpEntries uint64
	// Transport sends messages to peers; nil means a no-op transport,
	// enough for a single-member cluster.
	Transport Transport
	// MaxSizePerMsg bounds the bytes of entries in one append message.
	MaxSizePerMsg uint64
	// MaxInflightMsgs bounds the append messages in flight per follower.
	MaxInflightMsgs int
	// ReadIndexTimeout bounds how long one ReadIndex round may take.
	ReadIndexTimeout time.Duration
	// DisablePreVote turns raft's Pre-Vote off (--pre-vote=false): a
	// member that was cut off then raises the term when it comes back.
	DisablePreVote bool
	// UnsafeNoFsync makes the WAL skip its fsyncs (--unsafe-no-fsync).
	UnsafeNoFsync bool
	// Tracer, when set, traces the WAL write and fsync that persist
	// proposals made with a sampled span in their context, as a child of
	// that span. Nil traces nothing and costs nothing.
	Tracer trace.Tracer
	// WALSegmentSize is the size past which a new WAL segment is cut;
	// 0 means the wal package default (64 MiB).
	WALSegmentSize int64
	// CommitHold is how long a leader may hold an append that only
	// tells a follower a newer commit index, for the next append to
	// carry it instead (see commitHolds); 0 means DefaultCommitHold,
	// a negative value holds none.
	CommitHold time.Duration
}

// withDefaults returns cfg with zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = DefaultTickInterval
	}
	if cfg.ElectionTicks <= 0 {
		cfg.ElectionTicks = DefaultElectionTicks
	}
	if cfg.SnapshotCount == 0 {
		cfg.SnapshotCount = DefaultSnapshotCount
	}
	if cfg.SnapshotCatchUpEntries == 0 {
		cfg.SnapshotCatchUpEntries = DefaultSnapshotCatchUpEntries
	}
	if cfg.Transport == nil {
		cfg.Transport = nopTransport{}
	}
	if cfg.MaxSizePerMsg == 0 {
		cfg.MaxSizePerMsg = DefaultMaxSizePerMsg
	}
	if cfg.MaxInflightMsgs <= 0 {
		cfg.MaxInflightMsgs = DefaultMaxInflightMsgs
	}
	if cfg.ReadIndexTimeout <= 0 {
		cfg.ReadIndexTimeout = DefaultReadIndexTimeout
	}
	if cfg.CommitHold == 0 {
		cfg.CommitHold = DefaultCommitHold
	}
	return cfg
}

// validate reports configuration errors that defaults cannot fix.
func (cfg Config) validate() error {
	switch {
	case cfg.WALDir == "":
		return fmt.Errorf("%w: WALDir is empty", ErrInvalidConfig)
	case cfg.ElectionTicks < 2:
		return fmt.Errorf("%w: ElectionTicks %d must be at least 2", ErrInvalidConfig, cfg.ElectionTicks)
	}
	return nil
}
