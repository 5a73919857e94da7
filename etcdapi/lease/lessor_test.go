package lease

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.uber.org/zap"
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

// TestExpiredFollowsRenewals: leases granted, renewed, promoted with the
// extension and offered for revocation in a random order are offered by
// Expired exactly when their expiry has passed, earliest expiry first, as
// a lessor that reorders on every renewal would offer them.
func TestExpiredFollowsRenewals(t *testing.T) {
	now := time.Unix(1000, 0)
	le := newTestLessor(t, &now)
	le.SetPrimary(true)
	rng := rand.New(rand.NewPCG(1, 2))
	expiry := map[int64]time.Time{} // what each lease's expiry must be
	retry := le.Config().RevokeRetry
	for step := range 2000 {
		switch op := rng.IntN(10); {
		case op == 0 && len(expiry) < 40:
			id := int64(len(expiry) + 1)
			_, err := le.Grant(id, 5+id)
			require.NoError(t, err)
			expiry[id] = now.Add(time.Duration(5+id) * time.Second)
		case op < 6 && len(expiry) > 0:
			id := int64(rng.IntN(len(expiry)) + 1)
			if !expiry[id].After(now) {
				// Expired: Renew would wait for the revocation, which
				// this test never applies.
				continue
			}
			ttl, err := le.Renew(context.Background(), id)
			require.NoError(t, err)
			expiry[id] = now.Add(time.Duration(ttl) * time.Second)
		case op < 8:
			now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
		case op == 8 && rng.IntN(10) == 0:
			// A new term: every lease gets its TTL plus the extension,
			// so a renewal right after moves its expiry earlier.
			le.SetPrimary(false)
			le.SetPrimary(true)
			for id := range expiry {
				expiry[id] = now.Add(time.Duration(5+id)*time.Second + le.Config().PromoteExtension)
			}
		default:
			var want []int64
			for id, e := range expiry {
				if !e.After(now) {
					want = append(want, id)
				}
			}
			got := le.Expired(len(expiry) + 1)
			require.ElementsMatch(t, want, got, "step %d", step)
			for i := 1; i < len(got); i++ {
				require.False(t, expiry[got[i]].Before(expiry[got[i-1]]), "step %d: earliest first: %v", step, got)
			}
			for _, id := range got {
				expiry[id] = now.Add(retry)
			}
		}
	}
}

// BenchmarkRenew renews, one after another, 100 leases of a primary, as
// lease-keepalive's 100 clients do.
func BenchmarkRenew(b *testing.B) {
	now := time.Unix(1000, 0)
	le := New(zap.NewNop(), Config{MinTTL: 5}, func() time.Time { return now })
	le.SetPrimary(true)
	for id := int64(1); id <= 100; id++ {
		if _, err := le.Grant(id, 60); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		now = now.Add(time.Microsecond)
		if _, err := le.Renew(context.Background(), int64(i%100)+1); err != nil {
			b.Fatal(err)
		}
	}
}
