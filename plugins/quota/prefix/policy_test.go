package prefix_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/pluginapi/quota/quotatest"
	"github.com/metastore/metastore/plugins/quota/prefix"
)

const testConfig = `{"prefixes":[{"prefix":"/a/","max-keys":2,"max-bytes":100},{"prefix":"/b/","max-bytes":10}]}`

func usage(pfx string, keys, bytes, addKeys, addBytes int64) quota.CheckRequest {
	return quota.CheckRequest{Kind: quota.WritePut, Cost: 1, Prefixes: []quota.PrefixUsage{
		{Prefix: []byte(pfx), Keys: keys, Bytes: bytes, AddKeys: addKeys, AddBytes: addBytes},
	}}
}

// checks are requests under testConfig, their answers and what a refusal
// names.
var checks = []struct {
	name   string
	req    quota.CheckRequest
	admit  bool
	reason string
}{
	{"no prefix", quota.CheckRequest{Kind: quota.WritePut, Cost: 10}, true, ""},
	{"room for a key", usage("/a/", 1, 10, 1, 10), true, ""},
	{"key limit", usage("/a/", 2, 10, 1, 10), false, `prefix "/a/" is limited to 2 keys`},
	{"overwrite at the key limit", usage("/a/", 2, 10, 0, 5), true, ""},
	{"byte limit", usage("/a/", 1, 95, 1, 6), false, `prefix "/a/" is limited to 100 bytes`},
	{"exactly the byte limit", usage("/a/", 1, 95, 0, 5), true, ""},
	{"shrinking over the limit", usage("/a/", 5, 500, 0, -3), true, ""},
	{"bytes only prefix", usage("/b/", 100, 9, 1, 2), false, `prefix "/b/" is limited to 10 bytes`},
	{"undeclared prefix", usage("/c/", 100, 100, 1, 100), true, ""},
}

// fixture is the quotatest fixture of the policies newPolicy returns.
func fixture(newPolicy func(t *testing.T) quota.Policy) quotatest.Fixture {
	f := quotatest.Fixture{
		New:      newPolicy,
		Config:   []byte(testConfig),
		Prefixes: [][]byte{[]byte("/a/"), []byte("/b/")},
		InvalidConfigs: [][]byte{
			[]byte(`{"prefixes":[{"prefix":"/a/"}]}`),
			[]byte(`{"prefixes":[{"prefix":"","max-keys":1}]}`),
			[]byte(`{"prefixes":[{"prefix":"/a/","max-keys":-1}]}`),
			[]byte(`{"prefixes":[{"prefix":"/a/","max-keys":1},{"prefix":"/a/","max-keys":2}]}`),
			[]byte(`{"prefixes":[{"prefix":"/a/","max-keyz":1}]}`),
			[]byte(`not json`),
		},
	}
	for _, c := range checks {
		f.Cases = append(f.Cases, quotatest.Case{Name: c.name, Request: c.req, Admit: c.admit})
	}
	return f
}

func inProcess(*testing.T) quota.Policy { return prefix.New() }

func TestConformanceInProcess(t *testing.T) { quotatest.Run(t, fixture(inProcess)) }

func TestConformanceOverGRPC(t *testing.T) {
	quotatest.Run(t, fixture(func(t *testing.T) quota.Policy { return quotatest.OverGRPC(t, prefix.New()) }))
}

// The policy as a real plugin process, through the plugin protocol.
func TestConformancePluginProcess(t *testing.T) {
	bin := quotatest.BuildPlugin(t, "github.com/metastore/metastore/cmd/metastore-quota-prefix")
	quotatest.Run(t, fixture(func(t *testing.T) quota.Policy { return quotatest.LaunchPlugin(t, bin) }))
}

// A refusal names the prefix and its limit, raises no cluster alarm, and a
// new configuration applies to the next check.
func TestReasonsAndReconfiguration(t *testing.T) {
	ctx := context.Background()
	p := prefix.New()
	_, err := p.Configure(ctx, quota.ConfigureRequest{Config: []byte(testConfig)})
	require.NoError(t, err)
	for _, c := range checks {
		resp, err := p.Check(ctx, c.req)
		require.NoError(t, err)
		require.Equal(t, quota.AlarmNone, resp.Alarm, "%s: a tenant's limit raises no cluster alarm", c.name)
		require.Contains(t, resp.Reason, c.reason, c.name)
	}
	_, err = p.Configure(ctx, quota.ConfigureRequest{Config: []byte(`{"prefixes":[{"prefix":"/a/","max-keys":5}]}`)})
	require.NoError(t, err)
	r, err := p.Check(ctx, usage("/a/", 2, 10, 1, 10))
	require.NoError(t, err)
	require.True(t, r.Admit)
}

// A dead policy cannot decide: the host falls back.
func TestDeadPluginIsUnavailable(t *testing.T) {
	bin := quotatest.BuildPlugin(t, "github.com/metastore/metastore/cmd/metastore-quota-prefix")
	proc, err := quota.Launch(pluginrpc.ClientConfig{Cmd: exec.Command(bin), Logger: hclog.NewNullLogger()})
	require.NoError(t, err)
	require.NoError(t, proc.Ping())
	require.Positive(t, proc.Pid())
	p := proc.Policy()
	proc.Kill()
	_, err = p.Check(context.Background(), quota.CheckRequest{Kind: quota.WritePut, Cost: 1})
	require.ErrorIs(t, err, quota.ErrUnavailable)
}
