package plugin

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/config"
)

func TestStatusesFollowLaunchesAndExits(t *testing.T) {
	entry := config.PluginEntry{Kind: config.KindQuota, Name: "status-test"}
	find := func() Status {
		for _, st := range Statuses() {
			if st.Kind == entry.Kind && st.Name == entry.Name {
				return st
			}
		}
		t.Fatalf("no status of %s/%s", entry.Kind, entry.Name)
		return Status{}
	}

	recordLaunch(entry, nil)
	require.Equal(t, Status{Kind: entry.Kind, Name: entry.Name, Up: true}, find())

	recordDown(entry, errors.New("the plugin process exited"))
	st := find()
	require.False(t, st.Up)
	require.Equal(t, "the plugin process exited", st.LastError)
	require.False(t, st.LastErrorAt.IsZero())

	recordRestart(entry)
	recordLaunch(entry, errors.New("handshake failed"))
	st = find()
	require.False(t, st.Up)
	require.Equal(t, 1, st.Restarts)
	require.Equal(t, "handshake failed", st.LastError)

	recordRestart(entry)
	recordLaunch(entry, nil)
	st = find()
	require.True(t, st.Up)
	require.Equal(t, 2, st.Restarts)
	require.Equal(t, "handshake failed", st.LastError, "a start forgets why the plugin last went down")
}

func TestCallQuantile(t *testing.T) {
	buckets := func(counts ...uint64) map[float64]uint64 {
		out := map[float64]uint64{}
		for i, n := range counts {
			out[0.001*float64(int(1)<<i)] = n // 1, 2, 4, 8 ms
		}
		return out
	}
	for _, tc := range []struct {
		name string
		call callTotal
		q    float64
		want float64
	}{
		{"no calls", callTotal{}, 0.99, 0},
		{"all in the first bucket", callTotal{count: 100, buckets: buckets(100, 100, 100, 100)}, 0.99, 0.00099},
		{"the slow tail decides", callTotal{count: 100, buckets: buckets(90, 90, 98, 100)}, 0.99, 0.006},
		{"the median is fast", callTotal{count: 100, buckets: buckets(90, 90, 98, 100)}, 0.5, 0.001 * 50 / 90},
		{"above every bound", callTotal{count: 100, buckets: buckets(10, 20, 30, 40)}, 0.99, 0.008},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.InDelta(t, tc.want, tc.call.quantile(tc.q), 1e-9)
		})
	}
}
