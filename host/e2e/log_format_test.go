package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// A member's log lines carry their time as etcd's do (microseconds and the
// zone, "2026-12-06T14:09:34.282832Z"), so that what parses etcd's logs
// parses MetaStore's.
func TestLogTimestampsAreEtcds(t *testing.T) {
	etcd, ms := servers(t)
	layout := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d{4})$`)
	for _, m := range []*hosttest.Process{etcd, ms} {
		checked := 0
		for _, line := range strings.Split(m.Output(), "\n") {
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var entry struct {
				TS string `json:"ts"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
			require.Regexp(t, layout, entry.TS, "a log time of %s", m.Name())
			checked++
		}
		require.Positive(t, checked, "%s logs JSON lines", m.Name())
	}
}
