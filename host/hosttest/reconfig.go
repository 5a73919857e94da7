package hosttest

import (
	"strings"
	"testing"
	"time"
)

// UntilHealthy calls f, a membership change, again while it is refused
// with "unhealthy cluster", for up to 20 s. Under --strict-reconfig-check
// (the default) a member counts a peer as connected only once it has heard
// from it for 5 s, as etcd does, so a change right after a cluster starts
// or a member comes back is refused; an operator, like etcd's own tests,
// waits and asks again.
func UntilHealthy[T any](t testing.TB, f func() (T, error)) (T, error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := f()
		if err == nil || !strings.Contains(err.Error(), "unhealthy cluster") || time.Now().After(deadline) {
			return v, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}
