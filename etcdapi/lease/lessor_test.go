package lease

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.uber.org/zap/zaptest"
)

func newTestLessor(t *testing.T, now *time.Time) *Lessor {
	return New(zaptest.NewLogger(t), Config{MinTTL: 5, PromoteExtension: time.Second}, func() time.Time { return *now })
}

func TestGrant(t *testing.T) {
	tests := map[string]struct {
		id, ttl int64
		wantTTL int64
		wantErr error
	}{
		"granted":           {id: 1, ttl: 60, wantTTL: 60},
		"raised to the min": {id: 2, ttl: 1, wantTTL: 5},
		"largest":           {id: 3, ttl: MaxTTL, wantTTL: MaxTTL},
		"too large":         {id: 4, ttl: MaxTTL + 1, wantErr: ErrTTLTooLarge},
		"ID 0, as etcd":     {id: 0, ttl: 60, wantErr: ErrNotFound},
		"granted ID again":  {id: 9, ttl: 60, wantErr: ErrExist},
	}
	now := time.Unix(1000, 0)
	le := newTestLessor(t, &now)
	_, err := le.Grant(9, 10)
	require.NoError(t, err)
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			l, err := le.Grant(tt.id, tt.ttl)
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr == nil {
				assert.Equal(t, tt.id, l.ID())
				assert.Equal(t, tt.wantTTL, l.TTL())
				assert.True(t, le.Exists(tt.id))
			}
		})
	}
}

func put(key string, lease int64) mvccpb.Event {
	return mvccpb.Event{Type: mvccpb.Event_PUT, Kv: &mvccpb.KeyValue{Key: []byte(key), Lease: lease}}
}

func del(key string) mvccpb.Event {
	return mvccpb.Event{Type: mvccpb.Event_DELETE, Kv: &mvccpb.KeyValue{Key: []byte(key)}}
}

func TestTrackAndRemove(t *testing.T) {
	now := time.Unix(1000, 0)
	le := newTestLessor(t, &now)
	for _, id := range []int64{1, 2} {
		_, err := le.Grant(id, 60)
		require.NoError(t, err)
	}
	le.Track([]mvccpb.Event{put("a", 1), put("b", 1), put("c", 2), put("d", 0), put("e", 7)})
	keys, ok := le.KeysOf(1)
	assert.True(t, ok)
	assert.Equal(t, []string{"a", "b"}, keys)

	le.Track([]mvccpb.Event{put("a", 2), del("b"), put("c", 0)})
	keys, _ = le.KeysOf(1)
	assert.Empty(t, keys, "a moved to lease 2, b deleted")
	keys, _ = le.KeysOf(2)
	assert.Equal(t, []string{"a"}, keys, "c left its lease")

	le.Remove(2)
	_, ok = le.KeysOf(2)
	assert.False(t, ok)
	assert.Equal(t, []int64{1}, le.IDs())
}

func TestPrimaryCountsTime(t *testing.T) {
	now := time.Unix(1000, 0)
	le := newTestLessor(t, &now)
	_, err := le.Grant(1, 10)
	require.NoError(t, err)
	_, err = le.Renew(context.Background(), 1)
	require.ErrorIs(t, err, ErrNotPrimary, "only the primary renews")
	_, err = le.Status(1, false)
	require.ErrorIs(t, err, ErrNotPrimary)

	le.SetPrimary(true)
	st, err := le.Status(1, false)
	require.NoError(t, err)
	assert.Equal(t, Status{TTL: 11, Granted: 10}, st, "promotion adds the extension")
	assert.Empty(t, le.Expired(10))

	now = now.Add(12 * time.Second)
	assert.Equal(t, []int64{1}, le.Expired(10), "expired after TTL and extension")
	assert.Empty(t, le.Expired(10), "offered once, then after RevokeRetry")

	_, err = le.Renew(context.Background(), 2)
	require.ErrorIs(t, err, ErrNotFound)
	le.SetPrimary(false)
	assert.False(t, le.IsPrimary())
}
