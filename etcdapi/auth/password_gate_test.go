package auth

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPasswordGate(t *testing.T) {
	g := newPasswordGate(1, 1)
	hold, release := make(chan struct{}), make(chan struct{})
	go func() { _ = g.run(context.Background(), func() { close(hold); <-release }) }()
	<-hold

	// One caller may wait for the slot; the next is turned away at once.
	waited := make(chan error, 1)
	go func() { waited <- g.run(context.Background(), func() {}) }()
	require.Eventually(t, func() bool { return g.waiting.Load() == 1 }, 5*time.Second, time.Millisecond)
	require.ErrorIs(t, g.run(context.Background(), func() { t.Error("ran past the bound") }), ErrPasswordChecksBusy)

	// A waiter whose context ends gives up.
	close(release)
	require.NoError(t, <-waited)
	hold2, release2 := make(chan struct{}), make(chan struct{})
	go func() { _ = g.run(context.Background(), func() { close(hold2); <-release2 }) }()
	<-hold2
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, g.run(ctx, func() { t.Error("ran without a slot") }), context.DeadlineExceeded)
	close(release2)
	require.Equal(t, uint64(2), g.refused.Load())
	require.Equal(t, int64(0), g.waiting.Load())
}
