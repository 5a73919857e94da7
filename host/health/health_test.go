package health

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/version"
	"go.uber.org/zap/zaptest"
)

// member is a fake member: its leader, learner state, alarms and read
// error are what the checks see.
type member struct {
	leader  uint64
	learner bool
	alarms  []pb.AlarmType
	readErr error
	counts  map[string]bool // check (kind/name, or "health") -> last result
}

func (m *member) Range(context.Context, *pb.RangeRequest) (*pb.RangeResponse, error) {
	return &pb.RangeResponse{}, m.readErr
}

func (m *member) Alarms() []*pb.AlarmMember {
	var out []*pb.AlarmMember
	for _, a := range m.alarms {
		out = append(out, &pb.AlarmMember{MemberID: 1, Alarm: a})
	}
	return out
}

func (m *member) RecordHealth(ok bool)                   { m.counts["health"] = ok }
func (m *member) RecordCheck(kind, name string, ok bool) { m.counts[kind+"/"+name] = ok }

func serve(t *testing.T, m *member, method, path string) (int, string) {
	t.Helper()
	m.counts = map[string]bool{}
	mux := http.NewServeMux()
	New(Config{
		Logger:   zaptest.NewLogger(t),
		Status:   func() (uint64, bool) { return m.leader, m.learner },
		KV:       m,
		Alarms:   m,
		Metrics:  m,
		Versions: version.Versions{Server: "3.7.3", Cluster: "3.7.0", Storage: "3.7.0"},
	}).Install(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, strings.TrimSpace(string(body))
}

func TestEndpoints(t *testing.T) {
	healthy := func() *member { return &member{leader: 1} }
	tests := []struct {
		name, method, path string
		m                  *member
		wantCode           int
		wantBody           string
	}{
		{"health", "GET", "/health", healthy(), 200, `{"health":"true","reason":""}`},
		{"no leader", "GET", "/health", &member{}, 503, `{"health":"false","reason":"RAFT NO LEADER"}`},
		{"no leader, serializable", "GET", "/health?serializable=true", &member{}, 200, `{"health":"true","reason":""}`},
		{"alarm", "GET", "/health", &member{leader: 1, alarms: []pb.AlarmType{pb.AlarmType_NOSPACE}}, 503, `{"health":"false","reason":"ALARM NOSPACE"}`},
		{"alarm excluded", "GET", "/health?exclude=NOSPACE", &member{leader: 1, alarms: []pb.AlarmType{pb.AlarmType_NOSPACE}}, 200, `{"health":"true","reason":""}`},
		{"read fails", "GET", "/health", &member{leader: 1, readErr: errors.New("etcdserver: request timed out")}, 503,
			`{"health":"false","reason":"RANGE ERROR:etcdserver: request timed out"}`},
		{"post", "POST", "/health", healthy(), 405, "Method Not Allowed"},
		{"livez", "GET", "/livez", healthy(), 200, "ok"},
		{"readyz verbose", "GET", "/readyz?verbose", healthy(), 200,
			"[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\nok"},
		{"readyz of a learner", "GET", "/readyz", &member{leader: 1, learner: true}, 503,
			"[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[-]non_learner failed: not supported for learner"},
		{"readyz of a learner, excluded", "GET", "/readyz?exclude=non_learner", &member{leader: 1, learner: true}, 200, "ok"},
		{"corrupt", "GET", "/readyz/data_corruption", &member{leader: 1, alarms: []pb.AlarmType{pb.AlarmType_CORRUPT}}, 503,
			"[-]data_corruption failed: alarm activated: CORRUPT"},
		{"version", "GET", "/version", healthy(), 200, `{"etcdserver":"3.7.3","etcdcluster":"3.7.0","storage":"3.7.0"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := serve(t, tt.m, tt.method, tt.path)
			require.Equal(t, tt.wantCode, code)
			require.Equal(t, tt.wantBody, body)
		})
	}
}

func TestChecksAreCounted(t *testing.T) {
	m := &member{leader: 1, learner: true}
	serve(t, m, "GET", "/readyz")
	require.Equal(t, map[string]bool{"readyz/data_corruption": true, "readyz/serializable_read": true,
		"readyz/linearizable_read": true, "readyz/non_learner": false}, m.counts)
	serve(t, m, "GET", "/health")
	require.Equal(t, map[string]bool{"health": true}, m.counts)
}
