package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/version"
	"go.uber.org/zap"
)

// Config is what the checks read of the member, and how they report.
type Config struct {
	Logger *zap.Logger
	// Status returns the raft leader's member id (0: none) and whether
	// this member is a learner.
	Status func() (leader uint64, isLearner bool)
	// KV is the member's client API: the checks read a key through it,
	// as etcd's do, each read bounded by RequestTimeout.
	KV             KV
	RequestTimeout time.Duration
	// Alarms lists the member's active alarms as it has applied them,
	// without raft, as etcd's checks read them: a raft loop held by a
	// stalled disk must not hold the checks that report it.
	Alarms Alarms
	// Metrics counts the checks.
	Metrics Recorder
	// Versions is what /version reports.
	Versions version.Versions
}

// KV is the part of the client API's KV service the checks read a key
// with (etcdapi's KVServer is one).
type KV interface {
	Range(context.Context, *pb.RangeRequest) (*pb.RangeResponse, error)
}

// Alarms lists the active alarms (etcdapi's Server is one).
type Alarms interface {
	Alarms() []*pb.AlarmMember
}

// Recorder counts health checks (metrics.Health is one).
type Recorder interface {
	// RecordHealth counts a /health check that passed (ok) or not.
	RecordHealth(ok bool)
	// RecordCheck counts one check of /livez or /readyz (kind).
	RecordCheck(kind, name string, ok bool)
}

// Checker answers etcd's HTTP health endpoints from a member: /health
// (JSON), and /livez and /readyz with their per-check sub-paths (plain
// text), with the same checks, query parameters, status codes and bodies
// as etcd 3.6, and /version.
type Checker struct {
	lg  *zap.Logger
	cfg Config
}

// New returns the checker of the member cfg describes.
func New(cfg Config) *Checker { return &Checker{lg: cfg.Logger, cfg: cfg} }

// healthCheck is one named check of /livez or /readyz.
type healthCheck struct {
	name  string
	check func(context.Context) error
}

// Install serves the health endpoints and /version on mux.
func (h *Checker) Install(mux *http.ServeMux) {
	mux.HandleFunc("/health", h.serveHealth)
	h.installChecks(mux, "livez", []healthCheck{
		{"serializable_read", h.readCheck(true)},
	})
	h.installChecks(mux, "readyz", []healthCheck{
		{"data_corruption", h.alarmCheck(pb.AlarmType_CORRUPT)},
		{"serializable_read", h.readCheck(true)},
		{"linearizable_read", h.readCheck(false)},
		{"non_learner", h.learnerCheck},
	})
	mux.HandleFunc("/version", h.serveVersion)
}

// healthResult is /health's JSON body.
type healthResult struct {
	Health string `json:"health"`
	Reason string `json:"reason"`
}

// serveHealth checks, in etcd's order, the alarms not excluded with
// ?exclude=, the leader (unless ?serializable=true), and a one-key read.
func (h *Checker) serveHealth(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		h.lg.Warn("/health error", zap.Int("status-code", http.StatusMethodNotAllowed))
		return
	}
	q := r.URL.Query()
	serializable := q.Get("serializable") == "true"
	res := h.health(r.Context(), nonEmpty(q["exclude"]), serializable)
	h.cfg.Metrics.RecordHealth(res.Health == "true")
	body, _ := json.Marshal(res)
	if res.Health != "true" {
		http.Error(w, string(body), http.StatusServiceUnavailable)
		h.lg.Warn("/health error", zap.String("output", string(body)), zap.Int("status-code", http.StatusServiceUnavailable))
		return
	}
	_, _ = w.Write(body)
}

func (h *Checker) health(ctx context.Context, excluded []string, serializable bool) healthResult {
	alarms, err := h.alarms(ctx)
	if err != nil {
		return healthResult{Health: "false", Reason: fmt.Sprintf("ALARM ERROR:%s", err)}
	}
	for _, a := range alarms {
		if slices.Contains(excluded, a.Alarm.String()) {
			continue
		}
		reason := "ALARM UNKNOWN"
		switch a.Alarm {
		case pb.AlarmType_NOSPACE:
			reason = "ALARM NOSPACE"
		case pb.AlarmType_CORRUPT:
			reason = "ALARM CORRUPT"
		}
		h.lg.Warn("serving /health false due to an alarm", zap.String("alarm", a.String()))
		return healthResult{Health: "false", Reason: reason}
	}
	if leader, _ := h.cfg.Status(); !serializable && leader == 0 {
		h.lg.Warn("serving /health false; no leader")
		return healthResult{Health: "false", Reason: "RAFT NO LEADER"}
	}
	if err := h.read(ctx, serializable); err != nil {
		h.lg.Warn("serving /health false; Range fails", zap.Error(err))
		return healthResult{Health: "false", Reason: fmt.Sprintf("RANGE ERROR:%s", err)}
	}
	return healthResult{Health: "true"}
}

// installChecks serves /<kind> (every check but those in ?exclude=) and
// /<kind>/<check> (that check alone).
func (h *Checker) installChecks(mux *http.ServeMux, kind string, checks []healthCheck) {
	root := "/" + kind
	mux.HandleFunc(root, func(w http.ResponseWriter, r *http.Request) {
		excluded := nonEmpty(r.URL.Query()["exclude"])
		var run []healthCheck
		for _, c := range checks {
			if !slices.Contains(excluded, c.name) {
				run = append(run, c)
			}
		}
		var missing []string
		for _, x := range excluded {
			if !slices.ContainsFunc(checks, func(c healthCheck) bool { return c.name == x }) {
				missing = append(missing, fmt.Sprintf("%q", x))
			}
		}
		if len(missing) > 0 {
			h.lg.Warn("some health checks cannot be excluded", zap.String("missing-health-checks", strings.Join(missing, ",")))
		}
		h.serveChecks(w, r, kind, root, run)
	})
	for _, c := range checks {
		path := root + "/" + c.name
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			h.serveChecks(w, r, kind, path, []healthCheck{c})
		})
	}
}

// serveChecks runs checks and answers "ok" or 503 with one "[+]name ok" or
// "[-]name failed: reason" line per check (shown on success with
// ?verbose).
func (h *Checker) serveChecks(w http.ResponseWriter, r *http.Request, kind, path string, checks []healthCheck) {
	if !getOnly(w, r) {
		h.lg.Warn("Health request error", zap.String("path", path), zap.Int("status-code", http.StatusMethodNotAllowed))
		return
	}
	var out strings.Builder
	failed := false
	for _, c := range checks {
		err := c.check(r.Context())
		h.cfg.Metrics.RecordCheck(kind, c.name, err == nil)
		if err != nil {
			failed = true
			fmt.Fprintf(&out, "[-]%s failed: %v\n", c.name, err)
		} else {
			fmt.Fprintf(&out, "[+]%s ok\n", c.name)
		}
	}
	if failed {
		http.Error(w, out.String(), http.StatusServiceUnavailable)
		h.lg.Error("Health check error", zap.String("path", path), zap.String("reason", out.String()),
			zap.Int("status-code", http.StatusServiceUnavailable))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-config.Options", "nosniff")
	if _, ok := r.URL.Query()["verbose"]; ok {
		fmt.Fprint(w, out.String())
	}
	fmt.Fprint(w, "ok\n")
}

func (h *Checker) readCheck(serializable bool) func(context.Context) error {
	return func(ctx context.Context) error { return h.read(ctx, serializable) }
}

// read does what etcd's checks do: a one-key, keys-only range.
func (h *Checker) read(ctx context.Context, serializable bool) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.RequestTimeout)
	defer cancel()
	_, err := h.cfg.KV.Range(ctx, &pb.RangeRequest{Key: []byte{0}, KeysOnly: true, Limit: 1, Serializable: serializable})
	return err
}

func (h *Checker) alarmCheck(alarm pb.AlarmType) func(context.Context) error {
	return func(ctx context.Context) error {
		alarms, err := h.alarms(ctx)
		if err != nil {
			return err
		}
		for _, a := range alarms {
			if a.Alarm == alarm {
				return fmt.Errorf("alarm activated: %s", alarm)
			}
		}
		return nil
	}
}

func (h *Checker) learnerCheck(context.Context) error {
	if _, learner := h.cfg.Status(); learner {
		return errors.New("not supported for learner")
	}
	return nil
}

// alarms returns the member's active alarms.
func (h *Checker) alarms(context.Context) ([]*pb.AlarmMember, error) {
	return h.cfg.Alarms.Alarms(), nil
}

// serveVersion answers /version as etcd does.
func (h *Checker) serveVersion(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	body, _ := json.Marshal(h.cfg.Versions)
	_, _ = w.Write(body)
}

// getOnly answers 405 to anything but GET and reports whether the request
// may go on.
func getOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet {
		return true
	}
	w.Header().Set("Allow", http.MethodGet)
	http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
	return false
}

func nonEmpty(vs []string) []string {
	return slices.DeleteFunc(slices.Clone(vs), func(s string) bool { return s == "" })
}
