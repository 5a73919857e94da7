package raft

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPeerActivityRuns(t *testing.T) {
	var a peerActivity
	t0 := time.Unix(1000, 0)
	silence := time.Second
	require.True(t, a.activeSince(1, t0, silence).IsZero(), "never heard")

	for i := range 5 {
		a.note(1, t0.Add(time.Duration(i)*500*time.Millisecond), silence)
	}
	require.Equal(t, t0, a.activeSince(1, t0.Add(2500*time.Millisecond), silence), "one run since the first message")
	require.True(t, a.activeSince(1, t0.Add(3100*time.Millisecond), silence).IsZero(), "silent longer than the limit")

	back := t0.Add(4 * time.Second)
	a.note(1, back, silence)
	require.Equal(t, back, a.activeSince(1, back, silence), "a new run starts after a silence")
}

// A member that becomes leader has heard raft messages from a follower
// only since then, but has reached it with probes all along: the earlier
// run counts.
func TestActiveSinceTakesTheEarlierCurrentRun(t *testing.T) {
	n := &Node{cfg: Config{TickInterval: 100 * time.Millisecond, ElectionTicks: 10}}
	now := time.Now()
	n.reached.note(2, now.Add(-10*time.Second), ReachSilence)
	for d := 10 * time.Second; d >= 0; d -= 500 * time.Millisecond {
		n.reached.note(2, now.Add(-d), ReachSilence)
	}
	n.activity.note(2, now, n.electionTimeout())
	require.Equal(t, now.Add(-10*time.Second), n.ActiveSince(2))

	// Heard of only by raft messages.
	n.activity.note(3, now, n.electionTimeout())
	require.Equal(t, now, n.ActiveSince(3))

	// A probe run that ended does not count.
	n.reached.note(4, now.Add(-10*time.Second), ReachSilence)
	n.activity.note(4, now, n.electionTimeout())
	require.Equal(t, now, n.ActiveSince(4))
	require.True(t, n.ActiveSince(5).IsZero())
}
