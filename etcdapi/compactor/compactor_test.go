package compactor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		mode, retention string
		want            Config
		wantErr         bool
	}{
		{mode: "periodic", retention: "0", want: Config{}},
		{mode: "periodic", retention: "1", want: Config{Mode: "periodic", Period: time.Hour}},
		{mode: "periodic", retention: "30m", want: Config{Mode: "periodic", Period: 30 * time.Minute}},
		{mode: "revision", retention: "1000", want: Config{Mode: "revision", Revisions: 1000}},
		{mode: "revision", retention: "1h", wantErr: true},
		{mode: "periodic", retention: "soon", wantErr: true},
		{mode: "daily", retention: "1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.mode, tt.retention)
		if tt.wantErr {
			require.Error(t, err, "%s %s", tt.mode, tt.retention)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
	}
}

// fakeTicks delivers a tick for each After call only when the test says so.
type fakeTicks struct{ c chan time.Time }

func (f fakeTicks) after(time.Duration) <-chan time.Time { return f.c }

func TestRevisionCompactorCompactsOnLeaderOnly(t *testing.T) {
	var mu sync.Mutex
	var compacted []int64
	rev, leader := int64(100), false
	c := &Compactor{
		lg:  zaptest.NewLogger(t),
		cfg: Config{Mode: Revision, Revisions: 10},
		rev: func() int64 { mu.Lock(); defer mu.Unlock(); return rev },
		leader: func() bool {
			mu.Lock()
			defer mu.Unlock()
			return leader
		},
		compact: func(_ context.Context, r int64) error {
			mu.Lock()
			defer mu.Unlock()
			compacted = append(compacted, r)
			return nil
		},
	}
	ticks := fakeTicks{c: make(chan time.Time)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.runRevision(ctx, ticks.after); close(done) }()
	ticks.c <- time.Now() // follower: nothing
	mu.Lock()
	leader = true
	mu.Unlock()
	ticks.c <- time.Now() // compacts at 90
	ticks.c <- time.Now() // same revision: nothing
	mu.Lock()
	rev = 150
	mu.Unlock()
	ticks.c <- time.Now() // compacts at 140
	ticks.c <- time.Now()
	cancel()
	<-done
	require.Equal(t, []int64{90, 140}, compacted)
}
