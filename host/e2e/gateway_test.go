package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
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
func watchHTTP(t *testing.T, m *hosttest.Process, key string, lines int, after func(n int)) []string {
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
	run := func(m *hosttest.Process) []any {
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

// startHTTPS starts a member (etcd when bin is set) whose only client URL
// is https, with extra flags, and returns that URL.
func startHTTPS(t *testing.T, p *testPKI, bin string, extra ...string) string {
	t.Helper()
	cert, key := p.issue(t, "server")
	url := fmt.Sprintf("https://127.0.0.1:%d", freePort(t))
	args := append(append([]string(nil), authArgs...), "--listen-client-urls", url, "--advertise-client-urls", url,
		"--cert-file", cert, "--key-file", key)
	opts := []hosttest.Option{hosttest.WithArgs(append(args, extra...)...)}
	if bin != "" {
		opts = append(opts, hosttest.WithBinary(bin))
	}
	hosttest.StartMember(t, opts...)
	return url
}

// httpsClient is a plain net/http client trusting p's CA, presenting a
// certificate for cn unless cn is empty; "-" is a certificate without a
// common name.
func httpsClient(t *testing.T, p *testPKI, cn string) *http.Client {
	t.Helper()
	cfg := &tls.Config{RootCAs: x509.NewCertPool(), MinVersion: tls.VersionTLS12}
	cfg.RootCAs.AddCert(p.ca)
	if cn != "" {
		certFile, keyFile := p.issue(t, strings.TrimPrefix(cn, "-"))
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		require.NoError(t, err)
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

// gatewayOverHTTPS runs KV and auth calls through the HTTP/JSON gateway of
// an https URL and returns each call's status and masked body; tokens are
// the server's own.
func gatewayOverHTTPS(t *testing.T, c *http.Client, url string) []string {
	t.Helper()
	var out []string
	token := ""
	call := func(path, body string) {
		req, err := http.NewRequest("POST", url+path, strings.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := c.Do(req)
		require.NoError(t, err, path)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var v map[string]any
		masked := b // etcd answers some refusals in plain text
		if json.Unmarshal(b, &v) == nil {
			masked, err = json.Marshal(maskJSON(t, string(b)))
			require.NoError(t, err)
		}
		if tk, ok := v["token"].(string); ok {
			token, masked = tk, []byte("token issued")
		}
		out = append(out, fmt.Sprintf("%s %d %s", path, resp.StatusCode, masked))
	}
	call("/v3/kv/put", `{"key":"`+b64("k")+`","value":"`+b64("v")+`"}`)
	call("/v3/kv/range", `{"key":"`+b64("k")+`"}`)
	call("/v3/auth/user/add", `{"name":"root","password":"rootpw"}`)
	call("/v3/auth/user/grant", `{"user":"root","role":"root"}`)
	call("/v3/auth/enable", `{}`)
	call("/v3/kv/range", `{"key":"`+b64("k")+`"}`)
	call("/v3/auth/authenticate", `{"name":"root","password":"rootpw"}`)
	require.NotEmpty(t, token, "authenticate over https issued no token: %v", out)
	call("/v3/kv/put", `{"key":"`+b64("k")+`","value":"`+b64("w")+`"}`)
	call("/v3/kv/range", `{"key":"`+b64("k")+`"}`)
	return out
}

// The gateway serves on an https-only member, with and without
// --client-cert-auth, as etcd's does: same statuses and bodies over a plain
// net/http TLS client, auth included. With --client-cert-auth and auth on,
// a client certificate with a common name is refused, as etcd refuses it
// (the gateway cannot pass it on); one without a name goes through.
func TestGatewayOverHTTPSMatchesEtcd(t *testing.T) {
	for _, tc := range []struct {
		name     string
		certAuth bool
	}{
		{"server TLS", false},
		{"client-cert-auth", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPKI(t)
			var flags []string
			cn := "" // the client presents no certificate
			if tc.certAuth {
				flags = []string{"--trusted-ca-file", p.caFile, "--client-cert-auth"}
				cn = "-" // a certificate without a common name
			}
			client := httpsClient(t, p, cn)
			etcdURL := startHTTPS(t, p, hosttest.EtcdBin(t), flags...)
			msURL := startHTTPS(t, p, "", flags...)
			want := gatewayOverHTTPS(t, client, etcdURL)
			got := gatewayOverHTTPS(t, client, msURL)
			require.Equal(t, want, got)
			require.Contains(t, got[1], `"value":"`+b64("v")+`"`, "the range over https read the put")
			require.Contains(t, got[len(got)-1], `"value":"`+b64("w")+`"`, "root's token worked over https")
			if !tc.certAuth {
				return
			}
			named := httpsClient(t, p, "alice")
			for _, url := range []string{etcdURL, msURL} {
				resp, err := named.Post(url+"/v3/kv/range", "application/json", strings.NewReader(`{"key":"`+b64("k")+`"}`))
				require.NoError(t, err)
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusBadRequest, resp.StatusCode, url)
				require.Contains(t, string(body), "CommonName of client sending a request against gateway will be ignored", url)
			}
			_, err := httpsClient(t, p, "").Post(msURL+"/v3/kv/range", "application/json", strings.NewReader(`{}`))
			require.Error(t, err, "a client without a certificate is refused at the handshake")
		})
	}
}

// Over TLS, clients such as curl speak HTTP/2 to the gateway; as etcd, the
// member tells those requests from gRPC's by their content-type.
func TestGatewayOverHTTP2MatchesEtcd(t *testing.T) {
	p := newTestPKI(t)
	client := httpsClient(t, p, "")
	client.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	etcdURL := startHTTPS(t, p, hosttest.EtcdBin(t))
	msURL := startHTTPS(t, p, "")
	for _, url := range []string{etcdURL, msURL} {
		resp, err := client.Post(url+"/v3/kv/range", "application/json", strings.NewReader(`{"key":"`+b64("k")+`"}`))
		require.NoError(t, err)
		_, err = io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 2, resp.ProtoMajor, "%s answered over %s", url, resp.Proto)
		require.Equal(t, http.StatusOK, resp.StatusCode, url)
	}
	want := gatewayOverHTTPS(t, client, etcdURL)
	got := gatewayOverHTTPS(t, client, msURL)
	require.Equal(t, want, got)
	require.Contains(t, got[1], `"value":"`+b64("v")+`"`, "the range over HTTP/2 read the put")
}
