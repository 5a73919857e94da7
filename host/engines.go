package host

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/metastore/metastore/host/audit"
	"github.com/metastore/metastore/host/config"
	"github.com/metastore/metastore/host/plugin"
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

// newEngine returns the engine cfg.StorageEngine names, not yet opened: a
// built-in one, or one served by a newly started plugin process of the
// catalog, whose start it records in auditLog (nil: none). The second result
// are the options to open it with.
func newEngine(lg *zap.Logger, cfg config.Config, auditLog *audit.Log) (storage.Engine, map[string]string, error) {
	if mk, ok := builtinEngines[cfg.StorageEngine]; ok {
		if cfg.StorageEngine == "bbolt" && cfg.UnsafeNoFsync {
			return newFailStopEngine(mk()), map[string]string{bbolt.OptionUnsafeNoFsync: "true"}, nil
		}
		return newFailStopEngine(mk()), nil, nil
	}
	if p := cfg.StoragePlugin(); p != nil {
		eng, err := plugin.StartEngine(lg, *p)
		auditLog.Plugin(plugin.EventStart, *p, err)
		return eng, p.Options, err
	}
	return nil, nil, fmt.Errorf("unknown storage engine %q", cfg.StorageEngine)
}

// restoreEngine is snapshotcmd's Engines: a built-in engine, or a storage
// plugin of configFile's catalog, started for the restore.
func restoreEngine(name, configFile string) (storage.Engine, error) {
	if mk, ok := builtinEngines[name]; ok {
		return mk(), nil
	}
	if configFile == "" {
		return nil, fmt.Errorf("unknown storage engine %q: restore writes one of %v, or a storage plugin of --config-file's catalog",
			name, config.BuiltinEngines())
	}
	cfg, _, err := config.Load([]string{"--config-file", configFile, "--storage-engine", name}, nil)
	if err != nil {
		return nil, err
	}
	p := cfg.StoragePlugin()
	if p == nil {
		return nil, fmt.Errorf("%s has no storage plugin named %q", configFile, name)
	}
	return plugin.StartEngine(zap.NewNop(), *p)
}
