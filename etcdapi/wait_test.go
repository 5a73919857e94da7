package etcdapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDeadlinesNeverEarly: a request's deadline never closes before the
// request timeout has passed, and requests starting together share one.
func TestDeadlinesNeverEarly(t *testing.T) {
	d := newDeadlines(50 * time.Millisecond)
	start := time.Now()
	a, b := d.after(), d.after()
	require.Equal(t, a, b, "requests within a tick share a deadline")
	<-a
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)

	later := time.Now()
	c := d.after()
	require.NotEqual(t, a, c, "a request after the deadline gets a new one")
	<-c
	require.GreaterOrEqual(t, time.Since(later), 50*time.Millisecond)
}
