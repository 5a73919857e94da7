package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/metastore/metastore/host/hosttest"
)

// resources is what a member holds: goroutines and resident memory (from
// its /metrics) and open files (from /proc).
type resources struct {
	goroutines, rssMiB float64
	files              int
}

func (r resources) String() string {
	return fmt.Sprintf("%.0f goroutines, %.0f MiB resident, %d open files", r.goroutines, r.rssMiB, r.files)
}

func sampleResources(t *testing.T, p *hosttest.Process) resources {
	t.Helper()
	done := make(chan struct{})
	timer := time.AfterFunc(20*time.Second, func() {
		select {
		case <-done:
		default:
			t.Errorf("/metrics of %s did not answer in 20 s", p.Name())
		}
	})
	defer timer.Stop()
	fams := scrape(t, p.Endpoint())
	close(done)
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.Pid()))
	return resources{
		goroutines: value(t, fams, "go_goroutines"),
		rssMiB:     value(t, fams, "process_resident_memory_bytes") / (1 << 20),
		files:      len(fds),
	}
}

// Margins of requireResourcesBack: what a member may hold more after a
// hostile run than before it, its clients gone. Memory is generous: the
// heap keeps what the largest requests needed until the runtime returns
// it to the system.
const (
	hostileGoroutineMargin = 25
	hostileFileMargin      = 10
	hostileRSSMarginMiB    = 200
)

// requireResourcesBack waits up to 20 s for the member's goroutines and
// open files to come back to within a margin of before, then checks its
// memory.
func requireResourcesBack(t *testing.T, p *hosttest.Process, before resources) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var after resources
	for {
		after = sampleResources(t, p)
		back := after.goroutines <= before.goroutines+hostileGoroutineMargin && after.files <= before.files+hostileFileMargin
		if back || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("before the run: %s; after: %s", before, after)
	if after.goroutines > before.goroutines+hostileGoroutineMargin {
		t.Errorf("goroutines leaked: %.0f before, %.0f after", before.goroutines, after.goroutines)
	}
	if after.files > before.files+hostileFileMargin {
		t.Errorf("open files leaked: %d before, %d after", before.files, after.files)
	}
	if after.rssMiB > before.rssMiB+hostileRSSMarginMiB {
		t.Errorf("resident memory grew from %.0f to %.0f MiB", before.rssMiB, after.rssMiB)
	}
}

// disarm deactivates every alarm the run raised, so that writes are
// admitted again.
func disarm(t *testing.T, s *hostileTarget) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := s.mt.Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_GET})
	if err != nil {
		t.Fatalf("%s: listing alarms: %v", s.name, err)
	}
	for _, a := range resp.Alarms {
		if _, err := s.mt.Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_DEACTIVATE, MemberID: a.MemberID, Alarm: a.Alarm}); err != nil {
			t.Fatalf("%s: clearing alarm %v: %v", s.name, a, err)
		}
	}
}
