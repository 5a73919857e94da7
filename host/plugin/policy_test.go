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

// Each kind's restart backoff waits as the policy table says: its Backoff,
// doubling up to MaxBackoff, without jitter, and from Backoff again after
// Reset.
func TestPolicyBackOff(t *testing.T) {
	ms := time.Millisecond
	tests := map[string][]time.Duration{
		config.KindStorage: {200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 10 * time.Second, 10 * time.Second},
		config.KindAuth:    {time.Second, time.Second, time.Second},
		config.KindQuota:   {time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second},
	}
	for kind, want := range tests {
		t.Run(kind, func(t *testing.T) {
			bo := mustPolicyOf(kind).NewBackOff()
			var got []time.Duration
			for range want {
				got = append(got, bo.NextBackOff())
			}
			require.Equal(t, want, got)
			bo.Reset()
			require.Equal(t, want[0], bo.NextBackOff())
		})
	}
}
