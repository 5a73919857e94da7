package plugin

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/config"
)

func TestPolicies(t *testing.T) {
	tests := []struct {
		kind string
		want Policy
	}{
		{config.KindStorage, Policy{OnFailure: FailStop, Backoff: 200 * time.Millisecond, MaxBackoff: 10 * time.Second}},
		{config.KindAuth, Policy{OnFailure: FailClosed, Backoff: time.Second, MaxBackoff: time.Second}},
		{config.KindQuota, Policy{OnFailure: FallBack, Backoff: time.Second, MaxBackoff: 30 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			got, ok := PolicyOf(tt.kind)
			require.True(t, ok)
			require.Equal(t, tt.want, got)
		})
	}
	kinds := make([]string, len(policies))
	for i, k := range policies {
		kinds[i] = k.kind
	}
	require.Equal(t, config.PluginKinds(), kinds, "one policy for each kind a catalog entry may have, in the same order")
	_, ok := PolicyOf("tracing")
	require.False(t, ok, "an unknown kind has no policy")
}

// TestPoliciesDocumented: the architecture page's table of plugin kinds
// names each kind's failure policy in the row of its contract.
func TestPoliciesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/architecture.md")
	require.NoError(t, err)
	for _, kind := range config.PluginKinds() {
		p, _ := PolicyOf(kind)
		var row string
		for _, line := range strings.Split(string(doc), "\n") {
			if strings.HasPrefix(line, "|") && strings.Contains(line, "`pluginapi/"+kind+".") {
				row = line
			}
		}
		require.NotEmpty(t, row, "docs/architecture.md has no row for the %s contract", kind)
		cells := strings.Split(strings.Trim(row, "| "), "|")
		// The page may conjugate a policy: "the member fails stop".
		last := strings.ReplaceAll(cells[len(cells)-1], "fails ", "fail ")
		require.Contains(t, last, p.OnFailure.String(), "the %s row names another policy", kind)
	}
}
