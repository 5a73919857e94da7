package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/metastore/metastore/host/hosttest"
)

// TestHostileAuthFlood floods a member with Authenticate calls carrying
// wrong passwords, at etcd's default bcrypt cost, from many clients at
// once. bcrypt runs in a bounded number of slots, so a client with a
// token keeps writing and reading in good time meanwhile; the failures
// are counted in /metrics and recorded in the audit log, and the right
// password still works afterwards.
func TestHostileAuthFlood(t *testing.T) {
	audit := filepath.Join(t.TempDir(), "audit.log")
	m := hosttest.StartMember(t, hosttest.WithArgs("--audit-log", audit))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	setup := m.Client(t)
	_, err := setup.UserAdd(ctx, "root", "rootpw")
	require.NoError(t, err)
	_, err = setup.RoleAdd(ctx, "root")
	require.NoError(t, err)
	_, err = setup.UserGrantRole(ctx, "root", "root")
	require.NoError(t, err)
	_, err = setup.AuthEnable(ctx)
	require.NoError(t, err)
	root, err := clientv3.New(clientv3.Config{Endpoints: []string{m.Endpoint()}, Username: "root", Password: "rootpw",
		DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	defer root.Close()

	quiet := probeLatencies(t, root, 2*time.Second)

	conn, err := grpc.NewClient(strings.TrimPrefix(m.Endpoint(), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	authc := pb.NewAuthClient(conn)
	const attackers = 32
	var failed, busy, other atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range attackers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := authc.Authenticate(cctx, &pb.AuthenticateRequest{Name: "root", Password: "wrong"})
				ccancel()
				switch {
				case rpctypes.ErrorDesc(err) == rpctypes.ErrorDesc(rpctypes.ErrGRPCAuthFailed):
					failed.Add(1)
				case status.Code(err) == status.Code(rpctypes.ErrGRPCRequestTooManyRequests):
					busy.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // the flood under way
	flooded := probeLatencies(t, root, 5*time.Second)
	fams := scrape(t, m.Endpoint())
	waiting := value(t, fams, "metastore_auth_password_checks_waiting")
	close(stop)
	wg.Wait()

	t.Logf("quiet: %s; during the flood: %s", quiet, flooded)
	t.Logf("%d attackers: %d wrong-password answers, %d turned away busy, %d other; %.0f checks waiting at the peak sample",
		attackers, failed.Load(), busy.Load(), other.Load(), waiting)
	require.Positive(t, failed.Load(), "no attack got an answer")
	require.GreaterOrEqual(t, flooded.count, 10, "the client with a token was starved")
	require.Less(t, flooded.p99, 2*time.Second, "the client with a token waited too long")

	fams = scrape(t, m.Endpoint())
	require.GreaterOrEqual(t, value(t, fams, "metastore_auth_password_failures_total"), float64(failed.Load()))
	require.GreaterOrEqual(t, value(t, fams, "grpc_server_handled_total", "grpc_method=Authenticate", "grpc_code=InvalidArgument"), float64(failed.Load()))
	require.Eventually(t, func() bool {
		n := 0
		for _, l := range readAudit(t, audit) {
			if l.Event == "Authenticate" && l.Result != "ok" && l.Args["name"] == "root" {
				n++
			}
		}
		return int64(n) >= failed.Load()
	}, 10*time.Second, 200*time.Millisecond, "the audit log misses failed authentications")

	_, err = authc.Authenticate(ctx, &pb.AuthenticateRequest{Name: "root", Password: "rootpw"})
	require.NoError(t, err, "the right password after the flood")
}

// latencies summarizes a probe's requests.
type latencies struct {
	count    int
	p50, p99 time.Duration
}

func (l latencies) String() string {
	return fmt.Sprintf("%d puts and gets, p50 %v, p99 %v", l.count, l.p50.Round(time.Microsecond), l.p99.Round(time.Microsecond))
}

// probeLatencies puts and reads a key in turn for d.
func probeLatencies(t *testing.T, c *clientv3.Client, d time.Duration) latencies {
	t.Helper()
	var ds []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		_, err := c.Put(ctx, "probe", "v")
		if err == nil {
			_, err = c.Get(ctx, "probe")
		}
		cancel()
		require.NoError(t, err)
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return latencies{count: len(ds), p50: ds[len(ds)/2], p99: ds[len(ds)*99/100]}
}
