package e2e

import (
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// httpResult is what a plain HTTP client sees of one response.
type httpResult struct {
	Status int
	Body   string
}

// httpDo sends one request to base+path and returns its status and body.
func httpDo(t *testing.T, method, base, path, body string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return httpResult{Status: resp.StatusCode, Body: string(b)}
}

// freeURL returns an http URL on a loopback port nobody listens on.
func freeURL(t *testing.T) string {
	t.Helper()
	return "http://127.0.0.1:" + strconv.Itoa(hosttest.FreePorts(t, 1)[0])
}

// sortedLines sorts the lines of a body whose line order is not defined
// (etcd runs its checks in map order).
func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestHealthEndpointsMatchEtcd asks etcd and MetaStore the same health,
// liveness, readiness and version questions and requires the same status
// codes and bodies.
func TestHealthEndpointsMatchEtcd(t *testing.T) {
	etcd, ms := servers(t)
	requests := []struct{ method, path string }{
		{"GET", "/health"},
		{"GET", "/health?serializable=true"},
		{"GET", "/health?exclude=NOSPACE"},
		{"GET", "/livez"},
		{"GET", "/livez?verbose"},
		{"GET", "/livez/serializable_read"},
		{"GET", "/readyz"},
		{"GET", "/readyz?verbose"},
		{"GET", "/readyz?exclude=linearizable_read&verbose"},
		{"GET", "/readyz?exclude=no_such_check&exclude=data_corruption&verbose"},
		{"GET", "/readyz/linearizable_read"},
		{"GET", "/readyz/data_corruption?verbose"},
		{"GET", "/readyz/non_learner"},
		{"GET", "/version"},
		{"POST", "/health"},
		{"PUT", "/readyz"},
	}
	for _, r := range requests {
		want := httpDo(t, r.method, etcd.Endpoint(), r.path, "")
		got := httpDo(t, r.method, ms.Endpoint(), r.path, "")
		if strings.Contains(r.path, "verbose") {
			want.Body, got.Body = sortedLines(want.Body), sortedLines(got.Body)
		}
		if r.path == "/version" {
			// etcd moves its storage version from 3.5.0 to 3.7.0 a while
			// after it starts: compare once it has.
			require.Eventually(t, func() bool {
				want = httpDo(t, r.method, etcd.Endpoint(), r.path, "")
				return strings.Contains(want.Body, `"storage":"3.7.0"`)
			}, 20*time.Second, 100*time.Millisecond, "etcd's storage version: %s", want.Body)
			require.Equal(t, http.StatusOK, got.Status)
			require.JSONEq(t, `{"etcdserver":"3.7.3","etcdcluster":"3.7.0","storage":"3.7.0"}`, got.Body)
			require.JSONEq(t, want.Body, got.Body)
			continue
		}
		require.Equal(t, want, got, "%s %s", r.method, r.path)
	}
}

// TestHealthOnMetricsURL serves health and metrics on --listen-metrics-urls.
func TestHealthOnMetricsURL(t *testing.T) {
	metricsURL := freeURL(t)
	hosttest.StartMember(t, hosttest.WithArgs("--listen-metrics-urls", metricsURL))
	require.Equal(t, httpResult{http.StatusOK, `{"health":"true","reason":""}`}, httpDo(t, "GET", metricsURL, "/health", ""))
	require.Equal(t, httpResult{http.StatusOK, "ok\n"}, httpDo(t, "GET", metricsURL, "/readyz", ""))
	res := httpDo(t, "GET", metricsURL, "/metrics", "")
	require.Equal(t, http.StatusOK, res.Status)
	require.Contains(t, res.Body, "etcd_server_has_leader 1")
}
