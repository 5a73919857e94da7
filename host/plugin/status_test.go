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
