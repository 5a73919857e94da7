package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

func TestQuotaNoSpaceAlarm(t *testing.T) {
	m := hosttest.StartMember(t, hosttest.WithArgs("--quota-backend-bytes", "400000"))
	cli := m.Client(t)
	ctx := context.Background()
	value := strings.Repeat("a", 20000)

	// Overwrite a few keys until the quota refuses a put.
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		_, err = cli.Put(ctx, fmt.Sprintf("big%d", i%4), value)
	}
	require.ErrorIs(t, err, rpctypes.ErrNoSpace)

	out, err := m.Etcdctl(t, "alarm", "list")
	require.NoError(t, err)
	require.Contains(t, out, "alarm:NOSPACE")
	st, err := cli.Status(ctx, m.Endpoint())
	require.NoError(t, err)
	require.Len(t, st.Errors, 1)
	require.Contains(t, st.Errors[0], "NOSPACE")
	require.EqualValues(t, 400000, st.DbSizeQuota)

	// While NOSPACE is active, writes that grow the store are refused,
	// even small ones; reads and deletes work.
	_, err = cli.Put(ctx, "small", "x")
	require.ErrorIs(t, err, rpctypes.ErrNoSpace)
	_, err = cli.Txn(ctx).Then(clientv3.OpPut("t", "x")).Commit()
	require.ErrorIs(t, err, rpctypes.ErrNoSpace)
	_, err = cli.Grant(ctx, 60)
	require.ErrorIs(t, err, rpctypes.ErrNoSpace)
	_, err = cli.Txn(ctx).Then(clientv3.OpGet("big0")).Commit()
	require.NoError(t, err)
	_, err = cli.Txn(ctx).Then(clientv3.OpDelete("big3")).Commit()
	require.NoError(t, err)
	get, err := cli.Get(ctx, "big", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	require.NoError(t, err)
	require.Len(t, get.Kvs, 3)
	del, err := cli.Delete(ctx, "big2")
	require.NoError(t, err)

	// Compaction and defragmentation free the space; disarming lets
	// writes in again.
	_, err = cli.Compact(ctx, del.Header.Revision, clientv3.WithCompactPhysical())
	require.NoError(t, err)
	_, err = m.Etcdctl(t, "defrag")
	require.NoError(t, err)
	_, err = cli.Put(ctx, "small", "x")
	require.ErrorIs(t, err, rpctypes.ErrNoSpace, "the alarm stays until disarmed")
	out, err = m.Etcdctl(t, "alarm", "disarm")
	require.NoError(t, err)
	require.Contains(t, out, "alarm:NOSPACE")
	out, err = m.Etcdctl(t, "alarm", "list")
	require.NoError(t, err)
	require.Empty(t, out)
	_, err = cli.Put(ctx, "small", "x")
	require.NoError(t, err)
}

func TestQuotaAlarmSurvivesRestart(t *testing.T) {
	m := hosttest.StartMember(t, hosttest.WithArgs("--quota-backend-bytes", "300000"))
	cli := m.Client(t)
	ctx := context.Background()
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		_, err = cli.Put(ctx, fmt.Sprintf("big%d", i%4), strings.Repeat("a", 20000))
	}
	require.ErrorIs(t, err, rpctypes.ErrNoSpace)
	require.NoError(t, m.Stop())
	m.Restart(t)
	cli = m.Client(t)
	alarms, err := cli.AlarmList(ctx)
	require.NoError(t, err)
	require.Len(t, alarms.Alarms, 1)
	_, err = cli.Put(ctx, "small", "x")
	require.ErrorIs(t, err, rpctypes.ErrNoSpace)
}
