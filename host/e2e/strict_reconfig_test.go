package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// TestStrictReconfigCheckDisabled removes a started voter from a
// three-member cluster whose third member is down, with
// --strict-reconfig-check=false: the removal goes ahead.
func TestStrictReconfigCheckDisabled(t *testing.T) {
	ms := hosttest.StartCluster(t, 3, hosttest.WithArgs("--strict-reconfig-check=false"))
	victim := memberID(t, ms[0], ms[1].Name())
	ms[2].Kill()
	out, err := ms[0].Etcdctl(t, "member", "remove", victim)
	require.NoError(t, err)
	require.Contains(t, out, fmt.Sprintf("Member %16s removed from cluster ", victim))
}

// memberID returns the hex id of the member called name, from m's list.
func memberID(t *testing.T, m *hosttest.Member, name string) string {
	t.Helper()
	out, err := m.Etcdctl(t, "member", "list", "-w", "json")
	require.NoError(t, err)
	var list struct {
		Members []struct {
			ID   uint64 `json:"ID"`
			Name string `json:"name"`
		} `json:"members"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	for _, mem := range list.Members {
		if mem.Name == name {
			return fmt.Sprintf("%x", mem.ID)
		}
	}
	t.Fatalf("member %s not in %s", name, out)
	return ""
}
