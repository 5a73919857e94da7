package mixin_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// quotaTenants are the prefix-quota limits the members run with: /a/ at
// most 3 keys and 40 bytes, /b/ at most 100 keys.
const quotaTenants = `        - prefix: /a/
          max-keys: 3
          max-bytes: 40
        - prefix: /b/
          max-keys: 100
`

// quotaConfig is a member config file that runs the prefix-quota plugin
// (bin/metastore-quota-prefix, which `make build` writes beside
// METASTORE_BIN), pinged every 200ms.
type quotaConfig struct {
	path string
	bin  string
	sum  string
}

func newQuotaConfig(t *testing.T) quotaConfig {
	t.Helper()
	bin := filepath.Join(filepath.Dir(hosttest.MetastoreBin(t)), "metastore-quota-prefix")
	code, err := os.ReadFile(bin)
	if err != nil {
		t.Fatalf("the prefix-quota plugin: %v: run `make build`", err)
	}
	sum := sha256.Sum256(code)
	q := quotaConfig{path: filepath.Join(t.TempDir(), "metastore.yaml"), bin: bin, sum: hex.EncodeToString(sum[:])}
	q.write(t, quotaTenants)
	return q
}

// write gives the plugin's config the prefixes section given; members
// running with the file take it live.
func (q quotaConfig) write(t *testing.T, prefixes string) {
	t.Helper()
	body := hosttest.PrefixQuotaConfig(q.bin, q.sum, prefixes)
	require.NoError(t, os.WriteFile(q.path, []byte(body), 0o600))
}

func (q quotaConfig) option() hosttest.Option { return hosttest.WithArgs("--config-file", q.path) }

// scrape returns the metric families m serves on its client URL.
func scrape(m *hosttest.Process) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(m.Endpoint() + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s/metrics: %s", m.Endpoint(), resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// seriesNames returns the names of the series families hold: a
// histogram's _bucket, _sum and _count, a summary's quantiles, _sum and
// _count, every other family's own name.
func seriesNames(families map[string]*dto.MetricFamily) map[string]bool {
	out := map[string]bool{}
	for name, f := range families {
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			out[name+"_bucket"], out[name+"_sum"], out[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			out[name], out[name+"_sum"], out[name+"_count"] = true, true, true
		default:
			out[name] = true
		}
	}
	return out
}
