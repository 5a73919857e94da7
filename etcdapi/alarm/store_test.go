package alarm

import (
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

func TestStoreActivateListDeactivate(t *testing.T) {
	as := NewStore()
	m, added := as.Activate(2, pb.AlarmType_CORRUPT)
	require.True(t, added)
	again, added := as.Activate(2, pb.AlarmType_CORRUPT)
	require.False(t, added, "raising twice adds nothing")
	require.Same(t, m, again)
	as.Activate(1, pb.AlarmType_NOSPACE)
	as.Activate(1, pb.AlarmType_CORRUPT)

	list := as.List(pb.AlarmType_NONE)
	require.Equal(t, []uint64{1, 1, 2}, []uint64{list[0].MemberID, list[1].MemberID, list[2].MemberID}, "by member")
	require.Equal(t, pb.AlarmType_NOSPACE, list[0].Alarm, "then by type")
	require.Len(t, as.List(pb.AlarmType_CORRUPT), 2)

	require.True(t, as.Active(pb.AlarmType_NOSPACE))
	require.True(t, as.Raised(1, pb.AlarmType_NOSPACE))
	require.False(t, as.Raised(2, pb.AlarmType_NOSPACE))
	require.NotNil(t, as.Deactivate(1, pb.AlarmType_NOSPACE))
	require.Nil(t, as.Deactivate(1, pb.AlarmType_NOSPACE), "clearing what is not raised answers nothing")
	require.False(t, as.Active(pb.AlarmType_NOSPACE))
	require.NotEqual(t, Key(1, pb.AlarmType_NOSPACE), Key(1, pb.AlarmType_CORRUPT))
}
