package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// b64 encodes a key or value as the gateway's JSON carries bytes.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// gatewayMasked are JSON fields that legitimately differ between two
// servers: identities, terms and lease ids.
var gatewayMasked = map[string]bool{"cluster_id": true, "member_id": true, "raft_term": true, "ID": true}

// maskJSON decodes a gateway response and hides gatewayMasked fields.
func maskJSON(t *testing.T, body string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(body), &v), "body %q", body)
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if gatewayMasked[k] {
					x[k] = "N"
				} else {
					x[k] = walk(e)
				}
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	return walk(v)
}

// gatewayCall is one HTTP/JSON request.
type gatewayCall struct {
	path, body string
}

// TestGatewayMatchesEtcd sends the same HTTP/JSON requests to etcd's
// gateway and MetaStore's and requires the same status codes and bodies.
func TestGatewayMatchesEtcd(t *testing.T) {
	etcd, ms := servers(t)
	calls := []gatewayCall{
		{"/v3/kv/put", `{"key":"` + b64("foo") + `","value":"` + b64("bar") + `"}`},
		{"/v3/kv/put", `{"key":"` + b64("foo") + `","value":"` + b64("baz") + `","prev_kv":true}`},
		{"/v3/kv/put", `{"key":"` + b64("fop") + `","value":"` + b64("1") + `"}`},
		{"/v3/kv/range", `{"key":"` + b64("foo") + `"}`},
		{"/v3/kv/range", `{"key":"` + b64("fo") + `","range_end":"` + b64("fp") + `","sort_order":"DESCEND","sort_target":"KEY"}`},
		{"/v3/kv/range", `{"key":"` + b64("fo") + `","range_end":"` + b64("fp") + `","count_only":true}`},
		{"/v3/kv/range", `{"key":"` + b64("fo") + `","range_end":"` + b64("fp") + `","keys_only":true,"limit":1}`},
		{"/v3/kv/range", `{"key":"` + b64("foo") + `","revision":2}`},
		{"/v3/kv/range", `{"key":"` + b64("foo") + `","revision":100}`},
		{"/v3/kv/txn", `{"compare":[{"key":"` + b64("foo") + `","result":"EQUAL","target":"VALUE","value":"` + b64("baz") + `"}],` +
			`"success":[{"request_put":{"key":"` + b64("txn") + `","value":"` + b64("yes") + `"}}],` +
			`"failure":[{"request_range":{"key":"` + b64("foo") + `"}}]}`},
		{"/v3/kv/txn", `{"compare":[{"key":"` + b64("foo") + `","result":"GREATER","target":"MOD","mod_revision":100}],` +
			`"success":[{"request_put":{"key":"` + b64("txn") + `","value":"` + b64("no") + `"}}],` +
			`"failure":[{"request_range":{"key":"` + b64("foo") + `"}},{"request_delete_range":{"key":"` + b64("txn") + `","prev_kv":true}}]}`},
		{"/v3/kv/deleterange", `{"key":"` + b64("fo") + `","range_end":"` + b64("fp") + `","prev_kv":true}`},
		{"/v3/kv/range", `{"key":"` + b64("fo") + `","range_end":"` + b64("fp") + `"}`},
		{"/v3/kv/put", `{"key":"","value":"` + b64("v") + `"}`},
		{"/v3/kv/put", `{"key":"` + b64("k") + `","value":"` + b64("v") + `","lease":12345}`},
		{"/v3/kv/put", `not json`},
		{"/v3/kv/compaction", `{"revision":3}`},
		{"/v3/kv/range", `{"key":"` + b64("foo") + `","revision":2}`},
		{"/v3/kv/compaction", `{"revision":1000}`},
		{"/v3beta/kv/range", `{"key":"` + b64("txn") + `"}`},
		{"/v3/maintenance/alarm", `{"action":"GET"}`},
		{"/v3/kv/nosuchthing", `{}`},
	}
	for i, c := range calls {
		want := httpDo(t, "POST", etcd.Endpoint(), c.path, c.body)
		got := httpDo(t, "POST", ms.Endpoint(), c.path, c.body)
		require.Equal(t, want.Status, got.Status, "call %d: %s %s: etcd said %s, MetaStore %s", i, c.path, c.body, want.Body, got.Body)
		require.Equal(t, maskJSON(t, want.Body), maskJSON(t, got.Body), "call %d: %s %s", i, c.path, c.body)
	}
}

// TestGatewayLeaseMatchesEtcd grants, keeps alive, inspects and revokes a
// lease over HTTP/JSON on both servers.
func TestGatewayLeaseMatchesEtcd(t *testing.T) {
	etcd, ms := servers(t)
	steps := []gatewayCall{
		{"/v3/lease/grant", `{"TTL":60,"ID":7}`},
		{"/v3/lease/keepalive", `{"ID":7}`},
		{"/v3/lease/timetolive", `{"ID":7,"keys":true}`},
		{"/v3/lease/leases", `{}`},
		{"/v3/lease/revoke", `{"ID":7}`},
		{"/v3/lease/revoke", `{"ID":7}`},
	}
	for i, c := range steps {
		want := httpDo(t, "POST", etcd.Endpoint(), c.path, c.body)
		got := httpDo(t, "POST", ms.Endpoint(), c.path, c.body)
		require.Equal(t, want.Status, got.Status, "step %d %s: etcd said %s, MetaStore %s", i, c.path, want.Body, got.Body)
		require.Equal(t, maskJSON(t, want.Body), maskJSON(t, got.Body), "step %d %s", i, c.path)
	}
}

// watchHTTP opens a streaming watch on m and returns its first lines: the
// created response and then one per event batch. after(n) runs once line n
// (from 1) has been read.
func watchHTTP(t *testing.T, m *hosttest.Member, key string, lines int, after func(n int)) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := `{"create_request":{"key":"` + b64(key) + `","prev_kv":true}}`
	req, err := http.NewRequestWithContext(ctx, "POST", m.Endpoint()+"/v3/watch", strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var out []string
	for len(out) < lines && sc.Scan() {
		out = append(out, sc.Text())
		after(len(out))
	}
	return out
}

// TestGatewayWatchMatchesEtcd streams a watch over HTTP/JSON on both
// servers.
func TestGatewayWatchMatchesEtcd(t *testing.T) {
	etcd, ms := servers(t)
	run := func(m *hosttest.Member) []any {
		lines := watchHTTP(t, m, "w", 3, func(n int) {
			if n < 3 {
				value := strings.Repeat("v", n)
				httpDo(t, "POST", m.Endpoint(), "/v3/kv/put", `{"key":"`+b64("w")+`","value":"`+b64(value)+`"}`)
			}
		})
		var out []any
		for _, l := range lines {
			out = append(out, maskJSON(t, l))
		}
		return out
	}
	require.Equal(t, run(etcd), run(ms))
}
