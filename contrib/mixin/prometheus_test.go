package mixin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// alertsFireTimeout bounds the whole of TestAlertsFire once the members
// serve.
const alertsFireTimeout = 90 * time.Second

// A real Prometheus scrapes a real 3-member cluster running the
// prefix-quota plugin, every second, and evaluates the mixin's rules every
// second. A killed plugin process, a plugin call that fails, a killed
// member and a lost quorum each make their alert fire, as Prometheus'
// HTTP API reports it.
func TestAlertsFire(t *testing.T) {
	bin := prometheusBinary(t, "prometheus")
	q := newQuotaConfig(t)
	ms := hosttest.StartCluster(t, 3, q.option())
	p := startPrometheus(t, bin, ms)
	deadline := time.Now().Add(alertsFireTimeout)

	// Before any fault: every member scraped at least twice (so a counter
	// has a sample before it moves), and none of the alerts below firing.
	p.waitQuery(t, deadline, `count(instance_kind_name:metastore_plugin_errors:ratio_rate5m)`, "3")
	p.waitQuery(t, deadline, `count(metastore_plugin_restarts_total == 0)`, "3")
	for _, name := range []string{"MetaStorePluginRestarted", "MetaStorePluginErrors", "etcdMembersDown",
		"etcdInsufficientMembers", "etcdNoLeader"} {
		p.requireQuiet(t, name)
	}

	// The quota plugin of m1 killed: the member starts it again.
	require.NoError(t, syscall.Kill(ms[0].ChildPid(t, "metastore-quota"), syscall.SIGKILL))
	p.waitFiring(t, deadline, "MetaStorePluginRestarted", map[string]string{
		"instance": instance(ms[0]), "kind": "quota", "name": "prefix-quota", "severity": "warning"})

	// A configuration the plugin refuses: the Configure call fails, on
	// every member.
	q.write(t, "        - prefix: /a/\n          max-keys: -1\n")
	for _, m := range ms {
		p.waitFiring(t, deadline, "MetaStorePluginErrors", map[string]string{
			"instance": instance(m), "kind": "quota", "name": "prefix-quota", "severity": "warning"})
	}

	// m3 killed: a member is down, the quorum holds.
	ms[2].Kill()
	p.waitFiring(t, deadline, "etcdMembersDown", map[string]string{"job": "metastore", "severity": "critical"})
	p.requireQuiet(t, "etcdInsufficientMembers")

	// m2 killed too: no quorum, and m1 has no leader.
	ms[1].Kill()
	p.waitFiring(t, deadline, "etcdInsufficientMembers", map[string]string{"job": "metastore", "severity": "critical"})
	p.waitFiring(t, deadline, "etcdNoLeader", map[string]string{"instance": instance(ms[0]), "severity": "critical"})
}

// instance is m's instance label: the host:port Prometheus scrapes.
func instance(m *hosttest.Process) string { return strings.TrimPrefix(m.Endpoint(), "http://") }

// prometheusServer is a Prometheus process under test.
type prometheusServer struct {
	url string
}

// startPrometheus starts bin scraping ms every second as job "metastore",
// with the mixin's rules evaluated every second, and waits until it is
// ready. Its storage is under t.TempDir(); it is killed when the test
// ends, and its output logged if the test failed.
//
// So that alerts fire within the test, it loads copies of the rule files
// in which every "for:" duration is 0s (rulesForTest): the expressions,
// and so what makes an alert fire, are the files' own.
func startPrometheus(t *testing.T, bin string, ms []*hosttest.Process) *prometheusServer {
	t.Helper()
	dir := t.TempDir()
	var ruleFiles, targets []string
	for _, f := range []string{rulesFile, alertsFile} {
		path := filepath.Join(dir, filepath.Base(f))
		require.NoError(t, os.WriteFile(path, rulesForTest(t, f), 0o600))
		ruleFiles = append(ruleFiles, fmt.Sprintf("%q", path))
	}
	for _, m := range ms {
		targets = append(targets, fmt.Sprintf("%q", instance(m)))
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%s]
scrape_configs:
  - job_name: metastore
    static_configs:
      - targets: [%s]
`, strings.Join(ruleFiles, ", "), strings.Join(targets, ", ")), 0o600))

	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr)
	// One writer for both: exec then writes from one goroutine at a time.
	// It is read only once the process has exited.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	p := &prometheusServer{url: "http://" + addr}
	for limit := time.Now().Add(30 * time.Second); time.Now().Before(limit); time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			t.Fatalf("prometheus exited before it was ready:\n%s", out.String())
		default:
		}
		if resp, err := http.Get(p.url + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
	}
	t.Fatalf("prometheus was not ready within 30s")
	return nil
}

// forLine is a rule's "for:" line in the mixin's rule files.
var forLine = regexp.MustCompile(`(?m)^(\s+)for: \S+$`)

// rulesForTest returns the rule file at path with every "for:" duration
// set to 0s.
func rulesForTest(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return forLine.ReplaceAll(data, []byte("${1}for: 0s"))
}

// freeAddr returns a loopback address with a port free now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// alert is an alert as /api/v1/alerts reports it.
type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
	Value  string            `json:"value"`
}

// firing returns the alerts named name in state firing whose labels
// include want.
func (p *prometheusServer) firing(name string, want map[string]string) ([]alert, error) {
	var resp struct {
		Data struct {
			Alerts []alert `json:"alerts"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/alerts", &resp); err != nil {
		return nil, err
	}
	var out []alert
	for _, a := range resp.Data.Alerts {
		if a.Labels["alertname"] != name || a.State != "firing" {
			continue
		}
		matches := true
		for k, v := range want {
			matches = matches && a.Labels[k] == v
		}
		if matches {
			out = append(out, a)
		}
	}
	return out, nil
}

// requireQuiet fails the test if an alert named name fires.
func (p *prometheusServer) requireQuiet(t *testing.T, name string) {
	t.Helper()
	alerts, err := p.firing(name, nil)
	require.NoError(t, err)
	require.Empty(t, alerts, "%s fires", name)
}

// waitFiring waits, until deadline at the latest, for an alert named
// name with labels including want to fire.
func (p *prometheusServer) waitFiring(t *testing.T, deadline time.Time, name string, want map[string]string) {
	t.Helper()
	require.Eventually(t, func() bool {
		alerts, err := p.firing(name, want)
		return err == nil && len(alerts) > 0
	}, time.Until(deadline), 100*time.Millisecond, "alert %s %v firing", name, want)
	t.Logf("%s %v fires", name, want)
}

// waitQuery waits, until deadline at the latest, for the instant query
// expr to return one sample of value want.
func (p *prometheusServer) waitQuery(t *testing.T, deadline time.Time, expr, want string) {
	t.Helper()
	var got string
	require.Eventually(t, func() bool {
		var resp struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		err := p.get("/api/v1/query?query="+url.QueryEscape(expr), &resp)
		if err != nil || len(resp.Data.Result) != 1 {
			return false
		}
		got, _ = resp.Data.Result[0].Value[1].(string)
		return got == want
	}, time.Until(deadline), 100*time.Millisecond, "query %s = %s (last %q)", expr, want, got)
}

// get decodes the JSON answer of the API call path into v.
func (p *prometheusServer) get(path string, v any) error {
	resp, err := http.Get(p.url + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
