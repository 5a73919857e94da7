package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/metastore/metastore/host/hosttest"
)

// The randomized differential tests send the same seeded sequence of
// requests (KV, Lease, Watch and HashKV, every option with a deterministic
// answer) to a fresh etcd 3.7.3 and a fresh MetaStore over raw gRPC and
// require the same answers, but for member and cluster IDs, raft terms, a
// remaining TTL within a second and lists etcd gives in map order.
//
// In `make test` they run a few seeds briefly; `make difftest` runs
// DIFF_SEEDS (a list of seeds and ranges, e.g. "1-20,97") for DIFF_OPS
// requests each. A difference is reported with its seed and request index,
// the request, both answers and the etcdctl commands that replay the run.

// diffRegressionSeeds are seeds whose runs found a difference, now fixed;
// the short run always includes them. Their requests depend on the
// generator: a change to it that moves them must find new ones (run
// `make difftest` against the commit before the fix).
var diffRegressionSeeds = []uint64{
	1, // request 0: a compaction at revision 0 on a store never compacted (etcd accepts it)
	2, // request 516: a keys-only read of a key with a lease (etcd 3.7.3 leaves the lease out)
	4, // request 31: a txn's range at revision -1 before any compaction (etcd reads the current revision)
	6, // request 28: HashKV at a revision where no key is live hashes what compaction left
}

// diffVerbose (DIFF_VERBOSE=1) logs every request and etcd's answer.
var diffVerbose = os.Getenv("DIFF_VERBOSE") != ""

// diffSettings reads DIFF_SEEDS and DIFF_OPS, with the short run's
// defaults.
func diffSettings(t *testing.T, seeds []uint64, ops int) ([]uint64, int) {
	t.Helper()
	if v := os.Getenv("DIFF_SEEDS"); v != "" {
		var err error
		if seeds, err = parseSeeds(v); err != nil {
			t.Fatalf("DIFF_SEEDS=%q: %v", v, err)
		}
	}
	if v := os.Getenv("DIFF_OPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("DIFF_OPS=%q: want a positive number", v)
		}
		ops = n
	}
	return seeds, ops
}

// parseSeeds parses "1-20,97".
func parseSeeds(v string) ([]uint64, error) {
	var seeds []uint64
	for part := range strings.SplitSeq(v, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil {
				return nil, err
			}
		}
		if b < a || b-a > 100_000 {
			return nil, fmt.Errorf("range %q", part)
		}
		for s := a; s <= b; s++ {
			seeds = append(seeds, s)
		}
	}
	return seeds, nil
}

// diffRun is one seed's run against one pair of servers.
type diffRun struct {
	t         *testing.T
	seed      uint64
	etcd, ms  *diffServer
	history   []diffOp
	generator *diffGen
}

// exec sends op to both servers and fails the test, with a report, when
// their answers differ.
func (r *diffRun) exec(op diffOp) {
	r.t.Helper()
	r.history = append(r.history, op)
	respE, errE := r.etcd.send(op)
	respM, errM := r.ms.send(op)
	want, got := normalize(respE, errE), normalize(respM, errM)
	if diffVerbose {
		r.t.Logf("%d: %s\n  -> %s", len(r.history)-1, describeOp(op), want)
	}
	if !sameAnswer(want, got) {
		r.t.Fatal(r.report(want, got))
	}
	if r.generator != nil {
		r.generator.observe(op, respE, errE)
	}
}

func (r *diffRun) report(want, got diffAnswer) string {
	i := len(r.history) - 1
	var b strings.Builder
	if r.generator != nil {
		fmt.Fprintf(&b, "seed %d, request %d differs from etcd (replay: DIFF_RUN='%s' DIFF_SEEDS=%d DIFF_OPS=%d make difftest)\n",
			r.seed, i, replayPattern(r.t.Name()), r.seed, i+1)
	} else {
		fmt.Fprintf(&b, "request %d differs from etcd\n", i)
	}
	fmt.Fprintf(&b, "request:   %s\netcd:      %s\nmetastore: %s\n", describeOp(r.history[i]), want, got)
	var script strings.Builder
	for j, op := range r.history {
		if cmd, ok := etcdctlCommand(op); ok {
			fmt.Fprintf(&script, "%s  # %d\n", cmd, j)
		} else {
			fmt.Fprintf(&script, "# %d, not sent by etcdctl: %s\n", j, describeOp(op))
		}
	}
	if len(r.history) <= 60 {
		fmt.Fprintf(&b, "the run as etcdctl commands, against a fresh server:\n%s", script.String())
		return b.String()
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("metastore-diff-seed%d.sh", r.seed))
	if err := os.WriteFile(path, []byte(script.String()), 0o644); err != nil {
		fmt.Fprintf(&b, "writing the run's etcdctl commands: %v\n", err)
	} else {
		fmt.Fprintf(&b, "the run as etcdctl commands, against a fresh server: %s\n", path)
	}
	return b.String()
}

// replayPattern is the -run pattern of the test named name without its
// seed: TestDiffRandomEngines/rocksdb/seed=3 gives
// ^TestDiffRandomEngines$/^rocksdb$.
func replayPattern(name string) string {
	parts := strings.Split(name, "/")
	if len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// runDiffSeed runs ops generated requests of seed.
func runDiffSeed(t *testing.T, seed uint64, ops, members int, etcd, ms *diffServer) {
	t.Helper()
	r := &diffRun{t: t, seed: seed, etcd: etcd, ms: ms, generator: newDiffGen(seed, members)}
	for range ops {
		op := r.generator.next()
		if b, ok := r.generator.barrier(op); ok {
			r.exec(b)
		}
		r.exec(op)
	}
	t.Logf("seed %d: %d requests, same answers (revision %d)", seed, len(r.history), r.generator.rev)
}

// diffSeeds runs each seed on fresh servers that start calls.
func diffSeeds(t *testing.T, seeds []uint64, ops, members int, start func(t *testing.T) (etcd, ms []*hosttest.Process)) {
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			etcd, ms := start(t)
			runDiffSeed(t, seed, ops, members, dialDiffServer(t, "etcd", etcd), dialDiffServer(t, "metastore", ms))
		})
	}
}

func TestDiffRandom(t *testing.T) {
	seeds, ops := diffSettings(t, append([]uint64{}, diffRegressionSeeds...), 1500)
	diffSeeds(t, seeds, ops, 1, func(t *testing.T) (etcd, ms []*hosttest.Process) {
		return []*hosttest.Process{hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)))},
			[]*hosttest.Process{hosttest.StartMember(t)}
	})
}

// TestDiffRandomCluster spreads the requests over three members of each,
// so forwarding to the leader and reads on followers are compared too.
func TestDiffRandomCluster(t *testing.T) {
	seeds, ops := diffSettings(t, []uint64{11}, 1000)
	diffSeeds(t, seeds, ops, 3, func(t *testing.T) (etcd, ms []*hosttest.Process) {
		return hosttest.StartCluster(t, 3, hosttest.WithBinary(hosttest.EtcdBin(t))), hosttest.StartCluster(t, 3)
	})
}

// TestDiffRandomEngines runs MetaStore on its other engines: answers must
// not depend on the engine.
func TestDiffRandomEngines(t *testing.T) {
	seeds, ops := diffSettings(t, []uint64{21}, 1000)
	for _, engine := range []struct {
		name string
		opt  func(t *testing.T) hosttest.Option
	}{
		{"memory", func(*testing.T) hosttest.Option { return hosttest.WithArgs("--storage-engine", "memory") }},
		{"rocksdb", func(t *testing.T) hosttest.Option {
			pluginBin(t, "rocksdb")
			return hosttest.WithArgs("--storage", "rocksdb")
		}},
	} {
		t.Run(engine.name, func(t *testing.T) {
			diffSeeds(t, seeds, ops, 1, func(t *testing.T) (etcd, ms []*hosttest.Process) {
				return []*hosttest.Process{hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)))},
					[]*hosttest.Process{hosttest.StartMember(t, engine.opt(t))}
			})
		})
	}
}

// diffCorpus holds hand-written request sequences of the differences the
// randomized runs found, so that they stay covered whatever the generator
// becomes.
var diffCorpus = []struct {
	name string
	ops  []diffOp
}{
	{"keys-only reads leave the lease out", []diffOp{
		{req: &pb.LeaseGrantRequest{ID: 0x100, TTL: 600}},
		{req: &pb.PutRequest{Key: []byte("k"), Value: []byte("v"), Lease: 0x100}},
		{req: &pb.RangeRequest{Key: []byte("k"), KeysOnly: true}},
		{req: &pb.RangeRequest{Key: []byte("k"), KeysOnly: true}, stream: true},
		{req: &pb.RangeRequest{Key: []byte("k"), KeysOnly: true, SortTarget: pb.RangeRequest_VALUE, SortOrder: pb.RangeRequest_DESCEND}},
		{req: &pb.RangeRequest{Key: []byte("k"), KeysOnly: true, SortTarget: pb.RangeRequest_MOD, SortOrder: pb.RangeRequest_DESCEND}},
		{req: &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestRange{
			RequestRange: &pb.RangeRequest{Key: []byte("k"), KeysOnly: true}}}}}},
	}},
	{"a compaction at revision 0 on a store never compacted", []diffOp{
		{req: &pb.PutRequest{Key: []byte("a"), Value: []byte("1")}},
		{req: &pb.HashKVRequest{}},
		{req: &pb.CompactionRequest{Revision: 0, Physical: true}},
		{req: &pb.HashKVRequest{}},
		{req: &pb.HashKVRequest{Revision: 2}},
		{req: &pb.CompactionRequest{Revision: 0}},
		{req: &pb.CompactionRequest{Revision: 1, Physical: true}},
		{req: &pb.HashKVRequest{}},
		{req: &pb.HashKVRequest{Revision: 1}},
	}},
	{"HashKV where no key is live hashes what compaction left", []diffOp{
		{req: &pb.PutRequest{Key: []byte("a"), Value: []byte("1")}},
		{req: &pb.PutRequest{Key: []byte("b"), Value: []byte("1")}},
		{req: &pb.CompactionRequest{Revision: 3, Physical: true}},
		{req: &pb.DeleteRangeRequest{Key: []byte("a")}},
		{req: &pb.DeleteRangeRequest{Key: []byte("b")}},
		{req: &pb.HashKVRequest{Revision: 5}},
		{req: &pb.HashKVRequest{}},
	}},
	{"HashKV at a negative revision hashes no revision", []diffOp{
		{req: &pb.PutRequest{Key: []byte("a"), Value: []byte("1")}},
		{req: &pb.HashKVRequest{Revision: -1}},
		{req: &pb.CompactionRequest{Revision: 2, Physical: true}},
		{req: &pb.HashKVRequest{Revision: -1}},
		{req: &pb.HashKVRequest{Revision: -9223372036854775808}},
	}},
	{"a txn's range at a negative revision", []diffOp{
		{req: &pb.PutRequest{Key: []byte("a"), Value: []byte("1")}},
		{req: &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestRange{
			RequestRange: &pb.RangeRequest{Key: []byte("a"), Revision: -1}}}}}},
		{req: &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestRange{
			RequestRange: &pb.RangeRequest{Key: []byte("a"), Revision: -2}}}}}},
		{req: &pb.RangeRequest{Key: []byte("a"), Revision: -2}},
		{req: &pb.CompactionRequest{Revision: 2, Physical: true}},
		{req: &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestRange{
			RequestRange: &pb.RangeRequest{Key: []byte("a"), Revision: -1}}}}}},
	}},
}

func TestDiffCorpus(t *testing.T) {
	for _, c := range diffCorpus {
		t.Run(c.name, func(t *testing.T) {
			etcd := hosttest.StartMember(t, hosttest.WithBinary(hosttest.EtcdBin(t)))
			ms := hosttest.StartMember(t)
			r := &diffRun{t: t, etcd: dialDiffServer(t, "etcd", []*hosttest.Process{etcd}),
				ms: dialDiffServer(t, "metastore", []*hosttest.Process{ms})}
			for _, op := range c.ops {
				r.exec(op)
			}
		})
	}
}
