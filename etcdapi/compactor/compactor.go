package compactor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/metastore/metastore/mvcc"
)

// Auto-compaction modes, as etcd's --auto-compaction-mode names them.
const (
	Periodic = "periodic"
	Revision = "revision"
)

// revisionCheckInterval is how often revision-mode auto-compaction looks at
// the revision, as etcd.
const revisionCheckInterval = 5 * time.Minute

// Config configures auto-compaction.
type Config struct {
	// Mode is Periodic or Revision; "" disables
	// auto-compaction.
	Mode string
	// Period is the history kept in periodic mode.
	Period time.Duration
	// Revisions is the number of revisions kept in revision mode.
	Revisions int64
	// CheckInterval is how often revision mode looks at the revision;
	// 0 means 5 minutes, as etcd.
	CheckInterval time.Duration
	// Observe, if set, is told of every auto-compaction this member
	// proposed and how it ended (nil: done or compacted already).
	Observe func(rev int64, err error)
}

// Parse reads --auto-compaction-mode and
// --auto-compaction-retention as etcd does: in revision mode the retention
// is a number of revisions; in periodic mode it is a duration ("30m") or a
// bare number of hours. A zero retention disables auto-compaction.
func Parse(mode, retention string) (Config, error) {
	if mode != Periodic && mode != Revision {
		return Config{}, fmt.Errorf("unknown auto-compaction mode %q: want periodic or revision", mode)
	}
	n, err := strconv.ParseInt(retention, 10, 64)
	if err == nil && n >= 0 {
		if n == 0 {
			return Config{}, nil
		}
		if mode == Revision {
			return Config{Mode: mode, Revisions: n}, nil
		}
		return Config{Mode: mode, Period: time.Duration(n) * time.Hour}, nil
	}
	if mode == Revision {
		return Config{}, fmt.Errorf("invalid auto-compaction retention %q for revision mode: want a number of revisions", retention)
	}
	d, err := time.ParseDuration(retention)
	if err != nil || d < 0 {
		return Config{}, fmt.Errorf("invalid auto-compaction retention %q: want a duration or a number of hours", retention)
	}
	if d == 0 {
		return Config{}, nil
	}
	return Config{Mode: mode, Period: d}, nil
}

// Compactor compacts the store through raft, on the leader only: every
// member runs one, and followers skip their turns. The store deletes
// compacted revisions in small batches, so a compaction never holds writes
// for long.
type Compactor struct {
	lg      *zap.Logger
	cfg     Config
	rev     func() int64
	leader  func() bool
	compact func(ctx context.Context, rev int64) error
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Start starts auto-compaction as cfg says, and returns nil when cfg.Mode
// is "" (none). rev reads the current revision, leader tells whether this
// member leads, and compact proposes a compaction at a revision and waits
// until it is applied. Stop ends it.
func Start(lg *zap.Logger, cfg Config, rev func() int64, leader func() bool, compact func(ctx context.Context, rev int64) error) *Compactor {
	if cfg.Mode == "" {
		return nil
	}
	c := &Compactor{lg: lg, cfg: cfg, rev: rev, leader: leader, compact: compact}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if cfg.Mode == Periodic {
			c.runPeriodic(ctx, time.After)
		} else {
			c.runRevision(ctx, time.After)
		}
	}()
	c.lg.Info("auto-compaction enabled", zap.String("mode", cfg.Mode),
		zap.Duration("period", cfg.Period), zap.Int64("revisions", cfg.Revisions))
	return c
}

// Stop stops auto-compaction and waits for a compaction in flight. A nil
// Compactor has nothing to stop.
func (c *Compactor) Stop() {
	if c == nil {
		return
	}
	c.cancel()
	c.wg.Wait()
}

type afterFunc func(time.Duration) <-chan time.Time

// runPeriodic keeps Period of history, as etcd: it samples the revision
// every tenth of the period (at most every 6 minutes) and, once a period
// has passed since the last compaction (an hour at most, after the first),
// compacts at the revision sampled a period ago.
func (c *Compactor) runPeriodic(ctx context.Context, after afterFunc) {
	interval := min(c.cfg.Period, time.Hour)
	sample := interval / 10
	window := int(c.cfg.Period/sample) + 1
	revs := make([]int64, 0, window+1)
	last := int64(0)
	lastSuccess := time.Now()
	wait := c.cfg.Period
	for {
		revs = append(revs, c.rev())
		if len(revs) > window {
			revs = revs[1:] // revs[0] is the revision a period ago
		}
		select {
		case <-ctx.Done():
			return
		case <-after(sample):
		}
		rev := revs[0]
		if time.Since(lastSuccess) < wait || rev == last || !c.leader() {
			continue
		}
		wait = interval
		if c.run(ctx, rev) {
			last, lastSuccess = rev, time.Now()
		}
	}
}

// runRevision keeps Revisions revisions, as etcd: every CheckInterval it
// compacts at the current revision minus Revisions.
func (c *Compactor) runRevision(ctx context.Context, after afterFunc) {
	every := c.cfg.CheckInterval
	if every <= 0 {
		every = revisionCheckInterval
	}
	prev := int64(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-after(every):
		}
		rev := c.rev() - c.cfg.Revisions
		if rev <= 0 || rev == prev || !c.leader() {
			continue
		}
		if c.run(ctx, rev) {
			prev = rev
		}
	}
}

// run compacts at rev and reports success; a revision already compacted
// counts as success.
func (c *Compactor) run(ctx context.Context, rev int64) bool {
	start := time.Now()
	c.lg.Info("starting auto compaction", zap.String("mode", c.cfg.Mode), zap.Int64("revision", rev))
	err := c.compact(ctx, rev)
	if c.cfg.Observe != nil && ctx.Err() == nil {
		if errors.Is(err, mvcc.ErrCompacted) {
			c.cfg.Observe(rev, nil)
		} else {
			c.cfg.Observe(rev, err)
		}
	}
	if err != nil && !errors.Is(err, mvcc.ErrCompacted) {
		if ctx.Err() == nil {
			c.lg.Warn("auto compaction failed; will retry", zap.Int64("revision", rev), zap.Error(err))
		}
		return false
	}
	c.lg.Info("completed auto compaction", zap.Int64("revision", rev), zap.Duration("took", time.Since(start)))
	return true
}
