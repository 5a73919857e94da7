package console

import (
	"crypto/tls"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeGateway answers Authenticate with a token and echoes the path and
// authorization of every other request.
type fakeGateway struct{ seen []string }

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.seen = append(g.seen, r.URL.Path+" "+r.Header.Get("Authorization"))
	if r.URL.Path == "/v3/auth/authenticate" {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), `"password":"pw"`) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"etcdserver: authentication failed, invalid user ID or password","code":3}`)
			return
		}
		_, _ = io.WriteString(w, `{"token":"tok.1"}`)
		return
	}
	_, _ = io.WriteString(w, `{}`)
}

func serve(h http.Handler, method, target, body string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPagesAndAssets(t *testing.T) {
	h := New(Config{API: &fakeGateway{}})
	for _, tc := range []struct {
		path        string
		status      int
		contentType string
	}{
		{"/ui/", http.StatusOK, "text/html; charset=utf-8"},
		{"/ui/keys", http.StatusOK, "text/html; charset=utf-8"},
		{"/ui/members", http.StatusOK, "text/html; charset=utf-8"},
		{"/ui/metrics/", http.StatusOK, "text/html; charset=utf-8"},
		{"/ui/assets/js/app.js", http.StatusOK, "text/javascript; charset=utf-8"},
		{"/ui/assets/console.css", http.StatusOK, "text/css; charset=utf-8"},
		{"/ui/secret", http.StatusNotFound, ""},
		{"/ui/assets/nothing.js", http.StatusNotFound, ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			w := serve(h, http.MethodGet, tc.path, "", nil)
			require.Equal(t, tc.status, w.Code)
			if tc.contentType != "" {
				require.Equal(t, tc.contentType, w.Header().Get("Content-Type"))
			}
			require.Contains(t, w.Header().Get("Content-Security-Policy"), "default-src 'self'")
			require.Equal(t, "DENY", w.Header().Get("X-Frame-Options"))
		})
	}
}

// The console works offline: no asset names another host.
func TestAssetsNameNoOtherHost(t *testing.T) {
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	require.NoError(t, fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(path)
		require.NoError(t, err)
		require.Empty(t, external.FindAllString(string(b), -1), path)
		return nil
	}))
}

func TestCrossSiteRequestsRefused(t *testing.T) {
	gw := &fakeGateway{}
	h := New(Config{API: gw})
	for _, tc := range []struct {
		name   string
		header http.Header
		status int
	}{
		{"the console's own", http.Header{"X-Metastore-Console": {"1"}, "Origin": {"http://example.com"}}, http.StatusOK},
		{"no origin named", http.Header{"X-Metastore-Console": {"1"}}, http.StatusOK},
		{"same-origin fetch", http.Header{"X-Metastore-Console": {"1"}, "Sec-Fetch-Site": {"same-origin"}}, http.StatusOK},
		{"no console header", http.Header{"Origin": {"http://example.com"}}, http.StatusForbidden},
		{"another origin", http.Header{"X-Metastore-Console": {"1"}, "Origin": {"http://evil.example"}}, http.StatusForbidden},
		{"another port", http.Header{"X-Metastore-Console": {"1"}, "Origin": {"http://example.com:8080"}}, http.StatusForbidden},
		{"cross-site fetch", http.Header{"X-Metastore-Console": {"1"}, "Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"same-site fetch", http.Header{"X-Metastore-Console": {"1"}, "Sec-Fetch-Site": {"same-site"}}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw.seen = nil
			w := serve(h, http.MethodPost, "http://example.com/ui/api/v3/kv/put", `{}`, tc.header)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status != http.StatusOK {
				require.Empty(t, gw.seen, "a refused request reached the gateway")
			}
		})
	}
}

// Login keeps the token in a cookie scripts cannot read, which then
// authorizes the gateway requests; a token a page sends itself is not
// passed on.
func TestLoginCookieAuthorizesGatewayRequests(t *testing.T) {
	gw := &fakeGateway{}
	h := New(Config{API: gw})
	console := http.Header{"X-Metastore-Console": {"1"}}

	w := serve(h, http.MethodPost, "/ui/api/login", `{"name":"alice","password":"bad"}`, console)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "authentication failed")
	require.Empty(t, w.Result().Cookies())

	w = serve(h, http.MethodPost, "/ui/api/login", `{"name":"alice","password":"pw"}`, console)
	require.Equal(t, http.StatusOK, w.Code)
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	require.Equal(t, "tok.1", c.Value)
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.False(t, c.Secure, "Secure on plain http")

	gw.seen = nil
	serve(h, http.MethodPost, "/ui/api/v3/kv/range", `{}`, http.Header{
		"X-Metastore-Console": {"1"}, "Cookie": {"metastore_console=tok.1"}, "Authorization": {"forged"},
	})
	require.Equal(t, []string{"/v3/kv/range tok.1"}, gw.seen)
	gw.seen = nil
	// Another port's console keeps its own cookie.
	serve(h, http.MethodPost, "http://example.com:2379/ui/api/v3/kv/range", `{}`, http.Header{
		"X-Metastore-Console": {"1"}, "Cookie": {"metastore_console=tok.1; metastore_console_2379=tok.2"},
	})
	require.Equal(t, []string{"/v3/kv/range tok.2"}, gw.seen)
	gw.seen = nil
	serve(h, http.MethodPost, "/ui/api/v3/kv/range", `{}`, http.Header{"X-Metastore-Console": {"1"}, "Authorization": {"forged"}})
	require.Equal(t, []string{"/v3/kv/range "}, gw.seen)

	r := httptest.NewRequest(http.MethodPost, "https://example.com/ui/api/login", strings.NewReader(`{"name":"alice","password":"pw"}`))
	r.Header.Set("X-Metastore-Console", "1")
	r.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	require.True(t, rec.Result().Cookies()[0].Secure, "not Secure on https")

	w = serve(h, http.MethodPost, "/ui/api/logout", ``, console)
	require.Equal(t, -1, w.Result().Cookies()[0].MaxAge)
}
