package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/metastore/metastore/host/hosttest"
)

// TestSIGTERMDuringWritesLosesNothingAcknowledged stops a member with
// SIGTERM while clients write, restarts it, and requires every write the
// member acknowledged to be there.
func TestSIGTERMDuringWritesLosesNothingAcknowledged(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	const writers = 4
	var (
		mu    sync.Mutex
		acked = map[string]string{}
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				key, value := fmt.Sprintf("sigterm/%d/%06d", w, i), fmt.Sprintf("v%d", i)
				cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := cli.Put(cctx, key, value)
				ccancel()
				if err != nil {
					continue
				}
				mu.Lock()
				acked[key] = value
				mu.Unlock()
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	require.NoError(t, m.Stop(), "the member must exit on SIGTERM within the stop timeout")
	require.NoError(t, m.ExitErr(), "exit status after SIGTERM")
	cancel()
	wg.Wait()
	require.Contains(t, m.Output(), "received signal, shutting down")
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, acked, "no write was acknowledged before SIGTERM")

	m.Restart(t)
	got := readPrefix(t, m, "sigterm/")
	for k, v := range acked {
		require.Equal(t, v, got[k], "acknowledged write %s lost", k)
	}
	t.Logf("%d acknowledged writes, all present after restart", len(acked))
}

func readPrefix(t *testing.T, m *hosttest.Process, prefix string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := hosttest.NewClient(t, m.Endpoint()).Get(ctx, prefix, clientv3.WithPrefix())
	require.NoError(t, err)
	out := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}

// TestSIGTERMClosesClientPort requires a member to exit cleanly on
// SIGTERM and its client port, HTTP and gRPC alike, to be closed.
func TestSIGTERMClosesClientPort(t *testing.T) {
	m := hosttest.StartMember(t)
	require.Equal(t, http.StatusOK, httpDo(t, "GET", m.Endpoint(), "/health", "").Status)
	require.NoError(t, m.Stop())
	require.NoError(t, m.ExitErr())
	require.Contains(t, m.Output(), `"msg":"stopped"`)
	resp, err := http.Get(m.Endpoint() + "/health")
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the client port must be closed after stop")
}

// TestSIGTERMLeaderHandsOver stops the leader of a three-member cluster
// with SIGTERM: it hands leadership to another member before it exits,
// and the others keep serving writes.
func TestSIGTERMLeaderHandsOver(t *testing.T) {
	members := hosttest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var leader *hosttest.Process
	var rest []*hosttest.Process
	require.Eventually(t, func() bool {
		leader, rest = nil, nil
		for _, m := range members {
			st, err := m.Client(t).Status(ctx, m.Endpoint())
			if err != nil {
				return false
			}
			if st.Leader == st.Header.MemberId {
				leader = m
			} else {
				rest = append(rest, m)
			}
		}
		return leader != nil
	}, 20*time.Second, 100*time.Millisecond)
	require.NoError(t, leader.Stop())
	require.NoError(t, leader.ExitErr())
	require.Contains(t, leader.Output(), "leadership transfer finished")
	cli := hosttest.NewClient(t, rest[0].Endpoint(), rest[1].Endpoint())
	_, err := cli.Put(ctx, "after-handover", "v")
	require.NoError(t, err)
}

// TestSIGTERMLastMemberDoesNotWaitForStoppedPeers: the members of a
// three-member cluster stop one after another, as a test harness or an
// operator stopping a whole cluster does. A leader whose peers have gone
// does not hand leadership to one of them and wait out the request
// timeout: it stops at once.
func TestSIGTERMLastMemberDoesNotWaitForStoppedPeers(t *testing.T) {
	members := hosttest.StartCluster(t, 3)
	cli := members[0].Client(t)
	_, err := cli.Put(ctxFor(t, 10*time.Second), "before-stop", "v")
	require.NoError(t, err)
	for _, m := range members {
		require.NoError(t, m.Stop())
		require.NoError(t, m.ExitErr())
	}
	var abandoned int
	for _, m := range members {
		out := m.Output()
		require.NotContains(t, out, "leadership transfer timed out", m.Name())
		if strings.Contains(out, "skipped leadership transfer") || strings.Contains(out, "leadership transfer abandoned") {
			abandoned++
		}
	}
	require.Positive(t, abandoned, "the member left last found no one to hand over to")
}
