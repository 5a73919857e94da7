package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// memberListGateway lists one member, ID 7, at the client URL url.
type memberListGateway struct{ url string }

func (g memberListGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v3/cluster/member/list" {
		http.NotFound(w, r)
		return
	}
	_, _ = io.WriteString(w, `{"members":[{"ID":"7","clientURLs":["`+g.url+`"]}]}`)
}

// A member's health on the cluster page is what its own /health says,
// an unhealthy member's 503 included; one that does not answer is told
// apart, and only members of the list are asked.
func TestMemberHealthAsksTheMembersHealthEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		health http.HandlerFunc // nil: the member does not answer
		id     string
		status int
		want   string
	}{
		{"healthy", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"health":"true","reason":""}`)
		}, "7", http.StatusOK, `{"health":"true","status":200}`},
		{"alarm", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"health":"false","reason":"ALARM NOSPACE"}`, http.StatusServiceUnavailable)
		}, "7", http.StatusOK, `{"health":"false","reason":"ALARM NOSPACE","status":503}`},
		{"not etcd's answer", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "nope", http.StatusNotFound)
		}, "7", http.StatusOK, `{"health":"false","reason":"nope","status":404}`},
		{"unreachable", nil, "7", http.StatusBadGateway, ""},
		{"not a member", nil, "8", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked = append(asked, r.Method+" "+r.URL.Path)
				tc.health(w, r)
			}))
			url := srv.URL
			if tc.health == nil {
				srv.Close()
			} else {
				defer srv.Close()
			}
			h := New(Config{API: memberListGateway{url: url}})
			w := serve(h, http.MethodGet, "http://example.com/ui/api/member-health?id="+tc.id, "", http.Header{"X-Metastore-Console": {"1"}})
			require.Equal(t, tc.status, w.Code, w.Body.String())
			if tc.want != "" {
				require.JSONEq(t, tc.want, w.Body.String())
				require.Equal(t, []string{"GET /health"}, asked)
			}
		})
	}
}
