package host

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/plugins/quota/backendbytes"
)

// TestBuiltinNames: the configuration names the built-in implementations
// the member links in.
func TestBuiltinNames(t *testing.T) {
	require.Equal(t, config.BuiltinEngines(), slices.Sorted(maps.Keys(builtinEngines)))
	require.Equal(t, config.BuiltinQuotaPolicy, backendbytes.Name)
}
