package host

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// module is MetaStore's module path.
const module = "github.com/metastore/metastore/"

// layers states, for each part of the module (the longest matching package
// prefix applies), which of the module's packages its non-test code may
// import; a part may always import its own subpackages. It is the import
// table of the architecture (docs/architecture.md): pluginapi at the
// bottom, then raft and mvcc, etcdapi's domain packages, etcdapi, host, and
// thin mains. Test code may import more (fakes, engines, the binaries).
var layers = []struct {
	part    string
	mayUse  []string
	comment string
}{
	{"pluginapi", nil, "the published plugin contract: nothing of ours"},
	{"plugins", []string{"pluginapi"}, "one implementation each, built on the contract alone"},
	{"raft", nil, "the consensus loop knows no store and no server"},
	{"mvcc", []string{"pluginapi/storage"}, "the store reaches its engine through the contract"},
	{"etcdapi/admission", []string{"pluginapi"}, "quota admission: never the server, raft or host"},
	{"etcdapi/alarm", []string{"mvcc"}, "a domain state machine: never the server, raft or host"},
	{"etcdapi/apply", []string{"etcdapi/alarm", "etcdapi/auth", "etcdapi/codec", "etcdapi/lease", "etcdapi/membership", "etcdapi/txn", "mvcc", "pluginapi"}, "the state machine over the domains, its entries read with the wire format's codec: never the server, raft or host"},
	{"etcdapi/auth", []string{"mvcc", "pluginapi"}, "a domain state machine: never the server, raft or host"},
	{"etcdapi/codec", nil, "the wire format: etcd's protos alone"},
	{"etcdapi/compactor", []string{"mvcc"}, "auto-compaction: never the server, raft or host"},
	{"etcdapi/corruption", []string{"mvcc"}, "corruption checks: never the server, raft or host"},
	{"etcdapi/lease", []string{"mvcc", "pluginapi"}, "a domain state machine: never the server, raft or host"},
	{"etcdapi/membership", []string{"mvcc", "pluginapi"}, "a domain state machine: never the server, raft or host"},
	{"etcdapi/snapfile", []string{"pluginapi/storage"}, "the snapshot file format: a leaf over the engine contract's errors"},
	{"etcdapi/txn", []string{"mvcc"}, "KV execution: never the server, raft or host"},
	{"etcdapi/watch", []string{"mvcc"}, "the watch protocol over the store's watch streams: the member through an interface it declares, never raft or host"},
	{"etcdapi", []string{"etcdapi/admission", "etcdapi/alarm", "etcdapi/apply", "etcdapi/auth", "etcdapi/compactor", "etcdapi/corruption", "etcdapi/lease", "etcdapi/membership", "etcdapi/snapfile", "etcdapi/txn", "etcdapi/watch", "mvcc", "pluginapi"}, "the gRPC services over the domains; raft through an interface it declares"},
	{"host", []string{"etcdapi", "mvcc", "pluginapi", "plugins", "raft"}, "the member: wiring and life cycle"},
	// host's parts sit between host and the packages it wires: each is
	// handed what it needs, never the member, so none imports host.
	// config, the settings as plain data, comes first: every other part
	// may read it, and it runs nothing (it parses the auto-compaction and
	// TLS settings).
	{"host/config", []string{"etcdapi/compactor", "host/tlsconf"}, "configuration as plain data: never a running part"},
	{"host/tlsconf", nil, "TLS settings from etcd's flags: a leaf, nothing of ours"},
	{"host/plugin", []string{"host/config", "pluginapi", "plugins/quota/backendbytes"}, "plugin supervision: the catalog entry and the contracts, never the member"},
	{"host/metrics", []string{"etcdapi", "mvcc", "raft"}, "collectors read the parts they are handed, never the member"},
	{"host/audit", []string{"host/config"}, "the audit log: handed the member's events, never the member"},
	{"host/tracing", []string{"host/config", "pluginapi/pluginrpc"}, "tracing: the settings and the trace context plugins share, never the member"},
	{"host/console", []string{"host/config", "host/plugin"}, "the web console: talks to the member through its gateway, never the member"},
	{"host/health", nil, "the health endpoints: handed the member's status and client API, never the member"},
	{"host/httpapi", []string{"host/tlsconf"}, "client-facing HTTP: handed the gRPC server, listeners and handlers, never the member"},
	{"host/quotausage", []string{"mvcc", "pluginapi/quota"}, "the quota prefixes' usage: read from the store it is handed, never the member"},
	{"host/snapshotcmd", []string{"etcdapi", "etcdapi/snapfile", "host/config", "pluginapi/storage", "raft"}, "the snapshot subcommands: a data dir from a snapshot file, never the member"},
	{"cmd", []string{"host", "pluginapi", "plugins"}, "thin mains"},
	{"concurrency", nil, "the client SDK: clientv3 only"},
	{"contrib", nil, "operators' files (monitoring rules, a dashboard); only their tests run the binaries"},
}

// goPackage is what go list -json says of a package.
type goPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T, args ...string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	require.NoError(t, err, "go list")
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// layerOf returns the index in layers of the part pkg (relative to the
// module) belongs to, -1 for none.
func layerOf(pkg string) int {
	best, bestLen := -1, -1
	for i, l := range layers {
		if (pkg == l.part || strings.HasPrefix(pkg, l.part+"/")) && len(l.part) > bestLen {
			best, bestLen = i, len(l.part)
		}
	}
	return best
}

func within(pkg, part string) bool { return pkg == part || strings.HasPrefix(pkg, part+"/") }

func TestLayering(t *testing.T) {
	pkgs := listPackages(t, "./...")
	require.NotEmpty(t, pkgs)
	for _, p := range pkgs {
		from := strings.TrimPrefix(p.ImportPath, module)
		i := layerOf(from)
		if i < 0 {
			t.Errorf("%s belongs to no layer: add it to the table", from)
			continue
		}
		l := layers[i]
		for _, imp := range p.Imports {
			to, ours := strings.CutPrefix(imp, module)
			if !ours || within(to, l.part) {
				continue
			}
			allowed := false
			for _, use := range l.mayUse {
				allowed = allowed || within(to, use)
			}
			if !allowed {
				t.Errorf("%s imports %s: %s may import only %v (%s)", from, to, l.part, l.mayUse, l.comment)
			}
		}
	}
}

// TestConcurrencyIsClientOnly: the SDK reaches the server through clientv3
// only, never through MetaStore's or etcd's server code, not even
// indirectly.
func TestConcurrencyIsClientOnly(t *testing.T) {
	pkgs := listPackages(t, module+"concurrency")
	require.Len(t, pkgs, 1)
	for _, dep := range pkgs[0].Deps {
		switch {
		case strings.HasPrefix(dep, module),
			strings.HasPrefix(dep, "go.etcd.io/etcd/server/"),
			strings.HasPrefix(dep, "go.etcd.io/raft/"),
			strings.HasPrefix(dep, "go.etcd.io/bbolt"):
			t.Errorf("concurrency depends on %s", dep)
		}
	}
}
