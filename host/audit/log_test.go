package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap/zaptest"

	"github.com/metastore/metastore/host/config"
)

func TestLogWritesOneRecordALine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	a, err := Open(zaptest.NewLogger(t), path)
	require.NoError(t, err)
	a.Plugin("plugin.start", config.PluginEntry{Kind: config.KindQuota, Name: "prefix", Path: "/bin/q"}, nil)
	a.Alarm(1, 2, pb.AlarmType_NOSPACE, nil)
	a.AutoCompaction(7, errors.New("mvcc: required revision has been compacted"))
	a.Close()
	a.AutoCompaction(8, nil) // after Close: dropped

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var got []record
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var r record
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		require.NotEmpty(t, r.Time)
		r.Time = ""
		got = append(got, r)
	}
	require.Equal(t, []record{
		{Event: "plugin.start", Args: map[string]any{"kind": "quota", "name": "prefix", "path": "/bin/q"}, Result: "ok"},
		{Event: "alarm", Args: map[string]any{"action": "ACTIVATE", "alarm": "NOSPACE", "member": "2", "raised-by": "1"}, Result: "ok"},
		{Event: "auto-compaction", Args: map[string]any{"revision": float64(7)}, Result: "mvcc: required revision has been compacted"},
	}, got)
}

func TestNoLog(t *testing.T) {
	a, err := Open(zaptest.NewLogger(t), "")
	require.NoError(t, err)
	require.Nil(t, a)
	a.Plugin("plugin.start", config.PluginEntry{}, nil) // records nothing
	a.Close()
	require.Nil(t, ServerOptions(a, nil))
}
