package auth

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
)

// ErrPasswordChecksBusy refuses a password check or hash when too many
// already wait for the CPU: a flood of Authenticate calls is turned away
// at once instead of queueing without bound.
var ErrPasswordChecksBusy = errors.New("auth: too many password checks waiting")

// passwordGate bounds the bcrypt work (comparing and hashing passwords)
// that runs at once, to half the CPUs and at least one, so that a flood
// of Authenticate calls with wrong passwords leaves the other CPUs to
// other clients. Callers wait for a slot until their context ends; past
// maxWaiting waiting callers, they are refused.
type passwordGate struct {
	slots      chan struct{}
	maxWaiting int64
	waiting    atomic.Int64
	refused    atomic.Uint64 // turned away busy, or given up waiting
	failed     atomic.Uint64 // wrong passwords and unknown users
}

func newPasswordGate(slots, maxWaiting int) *passwordGate {
	return &passwordGate{slots: make(chan struct{}, max(1, slots)), maxWaiting: int64(maxWaiting)}
}

// defaultPasswordGate runs GOMAXPROCS/2 checks at once, with up to 256
// more waiting per slot.
func defaultPasswordGate() *passwordGate {
	n := max(1, runtime.GOMAXPROCS(0)/2)
	return newPasswordGate(n, 256*n)
}

// run calls fn once a slot is free.
func (g *passwordGate) run(ctx context.Context, fn func()) error {
	select {
	case g.slots <- struct{}{}:
	default:
		if g.waiting.Add(1) > g.maxWaiting {
			g.waiting.Add(-1)
			g.refused.Add(1)
			return ErrPasswordChecksBusy
		}
		select {
		case g.slots <- struct{}{}:
			g.waiting.Add(-1)
		case <-ctx.Done():
			g.waiting.Add(-1)
			g.refused.Add(1)
			return ctx.Err()
		}
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}

// PasswordStats counts password checks for metrics.
type PasswordStats struct {
	// Waiting is how many checks and hashes wait for a slot now.
	Waiting int64
	// Failed counts wrong passwords and unknown users, Refused the checks
	// turned away because too many waited or whose callers gave up
	// waiting.
	Failed, Refused uint64
}

// PasswordStats returns the member's password check counts.
func (as *Store) PasswordStats() PasswordStats {
	return PasswordStats{Waiting: as.gate.waiting.Load(), Failed: as.gate.failed.Load(), Refused: as.gate.refused.Load()}
}
