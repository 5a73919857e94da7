package storage

import "github.com/metastore/metastore/pluginapi/pluginrpc"

// PluginProcess is a storage engine running in a plugin process. Its Kill
// gives the engine no chance to flush: close the engine first.
type PluginProcess struct {
	*pluginrpc.Process
	engine Engine
}

// Launch starts the plugin binary of cfg.Cmd and returns the engine it
// serves. cfg.Handshake and cfg.Plugins are filled in. The caller must Kill
// the process when done, after closing the engine: Kill gives the engine
// no chance to flush.
func Launch(cfg pluginrpc.ClientConfig) (*PluginProcess, error) {
	cfg.Handshake = Handshake
	cfg.Plugins = VersionedPlugins(nil)
	proc, raw, err := pluginrpc.Launch(cfg, "storage", PluginName)
	if err != nil {
		return nil, err
	}
	return &PluginProcess{Process: proc, engine: raw.(Engine)}, nil
}

// Engine is the engine the process serves.
func (p *PluginProcess) Engine() Engine { return p.engine }
