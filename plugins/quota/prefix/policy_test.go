package prefix_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
	"github.com/metastore/metastore/pluginapi/quota"
	"github.com/metastore/metastore/plugins/quota/prefix"
)

const testConfig = `{"prefixes":[{"prefix":"/a/","max-keys":2,"max-bytes":100},{"prefix":"/b/","max-bytes":10}]}`

// conformance runs the policy's behaviour against p, a prefix policy in
// process or behind the plugin protocol.
func conformance(t *testing.T, p quota.Policy) {
	ctx := context.Background()
	info, err := p.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, prefix.Name, info.Name)

	c := p.(quota.Configurer)
	resp, err := c.Configure(ctx, quota.ConfigureRequest{Config: []byte(testConfig)})
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("/a/"), []byte("/b/")}, resp.Prefixes)

	usage := func(pfx string, keys, bytes, addKeys, addBytes int64) quota.CheckRequest {
		return quota.CheckRequest{Kind: quota.WritePut, Cost: 1, Prefixes: []quota.PrefixUsage{
			{Prefix: []byte(pfx), Keys: keys, Bytes: bytes, AddKeys: addKeys, AddBytes: addBytes},
		}}
	}
	tests := []struct {
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := p.Check(ctx, tt.req)
			require.NoError(t, err)
			require.Equal(t, tt.admit, resp.Admit)
			require.Equal(t, quota.AlarmNone, resp.Alarm, "a tenant's limit raises no cluster alarm")
			require.Contains(t, resp.Reason, tt.reason)
		})
	}

	// A bad configuration is refused and the limits stay.
	for _, bad := range []string{
		`{"prefixes":[{"prefix":"/a/"}]}`,
		`{"prefixes":[{"prefix":"","max-keys":1}]}`,
		`{"prefixes":[{"prefix":"/a/","max-keys":-1}]}`,
		`{"prefixes":[{"prefix":"/a/","max-keys":1},{"prefix":"/a/","max-keys":2}]}`,
		`{"prefixes":[{"prefix":"/a/","max-keyz":1}]}`,
		`not json`,
	} {
		_, err := c.Configure(ctx, quota.ConfigureRequest{Config: []byte(bad)})
		require.ErrorIs(t, err, quota.ErrInvalidConfig, bad)
	}
	r, err := p.Check(ctx, usage("/a/", 2, 10, 1, 10))
	require.NoError(t, err)
	require.False(t, r.Admit, "the previous limits still hold")

	// A new configuration applies to the next check.
	_, err = c.Configure(ctx, quota.ConfigureRequest{Config: []byte(`{"prefixes":[{"prefix":"/a/","max-keys":5}]}`)})
	require.NoError(t, err)
	r, err = p.Check(ctx, usage("/a/", 2, 10, 1, 10))
	require.NoError(t, err)
	require.True(t, r.Admit)
}

func TestPolicyInProcess(t *testing.T) {
	conformance(t, prefix.New())
}

// The policy as a real plugin process, through the plugin protocol.
func TestPolicyPluginProcess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "metastore-quota-prefix")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/metastore/metastore/cmd/metastore-quota-prefix").CombinedOutput()
	require.NoError(t, err, string(out))

	proc, err := quota.Launch(pluginrpc.ClientConfig{Cmd: exec.Command(bin), Logger: hclog.NewNullLogger()})
	require.NoError(t, err)
	defer proc.Kill()
	conformance(t, proc.Policy())
	require.NoError(t, proc.Ping())
	require.Positive(t, proc.Pid())

	// A dead policy cannot decide: the host falls back.
	p := proc.Policy()
	proc.Kill()
	_, err = p.Check(context.Background(), quota.CheckRequest{Kind: quota.WritePut, Cost: 1})
	require.ErrorIs(t, err, quota.ErrUnavailable)
}
