package console

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// authOnGateway answers that auth is on, and every other request as
// fakeGateway does.
type authOnGateway struct{ fakeGateway }

func (g *authOnGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v3/auth/status" {
		g.seen = append(g.seen, r.URL.Path+" "+r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, `{"enabled":true}`)
		return
	}
	g.fakeGateway.ServeHTTP(w, r)
}

func TestFormatYAML(t *testing.T) {
	console := http.Header{"X-Metastore-Console": {"1"}}
	loggedIn := http.Header{"X-Metastore-Console": {"1"}, "Cookie": {sessionCookie + "=tok.1"}}
	for _, tc := range []struct {
		name   string
		api    http.Handler
		header http.Header
		body   string
		status int
		want   string
	}{
		{"flow style to block", &fakeGateway{}, console,
			"server: {host: db,   port: 5432}\nlist: [a, b]\n", http.StatusOK,
			"server:\n  host: db\n  port: 5432\nlist:\n  - a\n  - b\n"},
		{"comments, order and quoting kept", &fakeGateway{}, console,
			"# top\nz: 'quoted'\na:\n      - x # why\n", http.StatusOK,
			"# top\nz: 'quoted'\na:\n  - x # why\n"},
		{"several documents", &fakeGateway{}, console,
			"a: 1\n---\nb: [2]\n", http.StatusOK,
			"a: 1\n---\nb:\n  - 2\n"},
		{"aliases not expanded", &fakeGateway{}, console,
			"a: &x [1, 2]\nb: *x\n", http.StatusOK,
			"a: &x\n  - 1\n  - 2\nb: *x\n"},
		{"does not parse", &fakeGateway{}, console, "a: [1, 2\nb: c\n", http.StatusUnprocessableEntity, ""},
		{"empty", &fakeGateway{}, console, "", http.StatusUnprocessableEntity, ""},
		{"too large", &fakeGateway{}, console, "a: " + strings.Repeat("x", maxYAMLBytes), http.StatusRequestEntityTooLarge, ""},
		{"no console header", &fakeGateway{}, nil, "a: 1\n", http.StatusForbidden, ""},
		{"auth on, not logged in", &authOnGateway{}, console, "a: 1\n", http.StatusUnauthorized, ""},
		{"auth on, logged in", &authOnGateway{}, loggedIn, "a:   1\n", http.StatusOK, "a: 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(New(Config{API: tc.api}), http.MethodPost, "http://example.com/ui/api/format-yaml", tc.body, tc.header)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.status != http.StatusOK {
				return
			}
			var resp struct{ YAML string }
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &resp))
			require.Equal(t, tc.want, resp.YAML)
		})
	}
}
