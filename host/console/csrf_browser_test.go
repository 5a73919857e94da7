package console_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// A page of another origin cannot write through the console: neither a
// form it posts (no console header) nor a fetch (its preflight is
// refused). The console's own pages can.
func TestConsoleRefusesCrossOriginPost(t *testing.T) {
	m := hosttest.StartMember(t)
	target := m.Endpoint() + "/ui/api/v3/kv/put"
	evil := serveEvilPage(t, fmt.Sprintf(`<!doctype html>
<script>
window.submitForm = () => {
  const f = document.createElement("form");
  f.method = "POST";
  f.action = %q;
  f.enctype = "text/plain";
  const i = document.createElement("input");
  i.name = '{"key":"L2V2aWwvZm9ybQ==","value":"eA==","x":"';
  i.value = '"}';
  f.appendChild(i);
  document.body.appendChild(f);
  f.submit();
};
window.fetchResult = "pending";
fetch(%q, {method: "POST", headers: {"X-MetaStore-Console": "1", "Content-Type": "application/json"},
  body: JSON.stringify({key: btoa("/evil/fetch"), value: btoa("x")})})
  .then((r) => { window.fetchResult = "status " + r.status; }, (e) => { window.fetchResult = "failed: " + e; });
</script>`, target, target))

	p := newPage(t)
	p.open(evil)
	p.waitFor(`window.fetchResult !== "pending"`)
	require.Contains(t, eval[string](p, `window.fetchResult`), "failed", "a cross-origin fetch got through")
	// The form's submission navigates the tab to the console's answer.
	_ = eval[bool](p, `setTimeout(window.submitForm, 0), true`)
	time.Sleep(300 * time.Millisecond) // a poll across the navigation fails
	p.waitFor(`location.href.startsWith(` + jsString(target) + `)`)
	p.waitText("body", "cross-site request refused")

	out, err := m.Etcdctl(t, "get", "--prefix", "/evil/")
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(out), "a cross-origin request wrote a key")

	// The same requests from outside a browser: without the console's
	// header, or with another Origin, they are refused.
	for name, header := range map[string]http.Header{
		"no console header": {"Content-Type": {"application/json"}},
		"another origin":    {"X-Metastore-Console": {"1"}, "Origin": {"http://attacker.example"}},
		"cross-site fetch":  {"X-Metastore-Console": {"1"}, "Sec-Fetch-Site": {"cross-site"}},
	} {
		req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(`{"key":"L2V2aWwvY3VybA==","value":"eA=="}`))
		require.NoError(t, err)
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, name)
	}
	out, err = m.Etcdctl(t, "get", "--prefix", "/evil/")
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(out))
}

// serveEvilPage serves html on another port of 127.0.0.1: another origin.
func serveEvilPage(t *testing.T, html string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(html))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/"
}
