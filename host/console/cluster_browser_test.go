package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/metastore/metastore/host/hosttest"
)

// The cluster page of any member of three lists all three, healthy, with
// one leader, each one's status asked of that member; the metrics page
// draws the member's own metrics.
func TestConsoleClusterOfThree(t *testing.T) {
	ms := hosttest.StartCluster(t, 3)
	cli := ms[0].Client(t)
	for i := range 50 {
		_, err := cli.Put(context.Background(), fmt.Sprintf("/load/%02d", i), "x")
		require.NoError(t, err)
	}

	p := newPage(t)
	p.open(ms[1].Endpoint() + "/ui/members")
	for _, m := range ms {
		p.waitText(fmt.Sprintf(`tr[data-member=%q]`, m.Name()), "healthy")
		p.waitText(fmt.Sprintf(`tr[data-member=%q]`, m.Name()), m.Endpoint())
	}
	// The page redraws itself every few seconds: wait for, not read, what
	// it shows. One leader badge beside the three health badges.
	p.waitFor(`document.querySelectorAll("#members-table .badge.ok").length === 4`)
	p.waitFor(`document.querySelector("#member-count")?.textContent === "3"`)
	p.waitText("#no-alarms", "No alarms")
	p.waitFor(`Number(document.querySelector("#revision").textContent) >= 51`)
	p.screenshot("cluster", true)

	p.open(ms[0].Endpoint() + "/ui/metrics")
	start := time.Now()
	p.waitText(`[data-testid="value-db"]`, "now")
	p.waitText(`[data-testid="value-requests"]`, "now")
	// A few seconds of writes, for the charts to draw.
	for i := 0; time.Since(start) < 4*time.Second; i++ {
		_, err := cli.Put(context.Background(), fmt.Sprintf("/load/%02d", i%50), strings.Repeat("y", i))
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
	}
	p.waitFor(`Number(document.querySelector('[data-testid="value-requests"]').textContent.replace("now ", "")) > 0`)
	p.screenshot("metrics", true)
}

// A NOSPACE alarm shows on the cluster page, the member unhealthy with
// the reason its /health gives, and root disarms it there, after which
// /health, and the page, say healthy again.
func TestConsoleAlarmDisarm(t *testing.T) {
	m := hosttest.StartMember(t, hosttest.WithArgs("--quota-backend-bytes", "400000"))
	cli := m.Client(t)
	ctx := context.Background()
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		_, err = cli.Put(ctx, fmt.Sprintf("big%d", i%4), strings.Repeat("a", 20000))
	}
	require.ErrorIs(t, err, rpctypes.ErrNoSpace)

	p := newPage(t)
	p.open(m.Endpoint() + "/ui/members")
	p.waitText(`tr[data-alarm="NOSPACE"]`, "default")
	p.waitText(`tr[data-member="default"] [data-testid="health"]`, "unhealthy")
	p.waitText(`tr[data-member="default"] [data-testid="health-reason"]`, "ALARM NOSPACE")
	p.screenshot("alarm", false)
	p.click(`tr[data-alarm="NOSPACE"] [data-testid="disarm"]`)
	p.waitText("#no-alarms", "No alarms")
	p.waitFor(`document.querySelector('tr[data-member="default"] [data-testid="health"]')?.textContent === "healthy"`)
	out, err := m.Etcdctl(t, "alarm", "list")
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(out))
}
