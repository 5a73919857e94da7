package host

import (
	"fmt"
	"sort"
	"strings"

	"github.com/metastore/metastore/pluginapi/storage"
	"github.com/metastore/metastore/plugins/storage/bbolt"
	"github.com/metastore/metastore/plugins/storage/memory"
)

// builtinEngines are the storage engines linked into the host, by the name
// the configuration uses. Each call makes a new, unopened engine.
var builtinEngines = map[string]func() storage.Engine{
	"bbolt":  func() storage.Engine { return bbolt.New() },
	"memory": func() storage.Engine { return memory.New() },
}

// newEngine returns a new engine by name, or an error listing the choices.
func newEngine(name string) (storage.Engine, error) {
	mk, ok := builtinEngines[name]
	if !ok {
		names := make([]string, 0, len(builtinEngines))
		for n := range builtinEngines {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown storage engine %q (built in: %s)", name, strings.Join(names, ", "))
	}
	return mk(), nil
}
