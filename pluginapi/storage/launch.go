package storage

import (
	"github.com/hashicorp/go-plugin"

	"github.com/metastore/metastore/pluginapi/pluginrpc"
)

// PluginProcess is a storage engine running in a plugin process.
type PluginProcess struct {
	client *plugin.Client
	engine Engine
}

// Launch starts the plugin binary of cfg.Cmd and returns the engine it
// serves. cfg.Handshake and cfg.Plugins are filled in. The caller must Kill
// the process when done, after closing the engine: Kill gives the engine
// no chance to flush.
func Launch(cfg pluginrpc.ClientConfig) (*PluginProcess, error) {
	cfg.Handshake = Handshake
	cfg.Plugins = VersionedPlugins(nil)
	client, raw, err := pluginrpc.Launch(cfg, "storage", PluginName)
	if err != nil {
		return nil, err
	}
	return &PluginProcess{client: client, engine: raw.(Engine)}, nil
}

// Engine is the engine the process serves.
func (p *PluginProcess) Engine() Engine { return p.engine }

// Ping checks that the process answers.
func (p *PluginProcess) Ping() error {
	rpc, err := p.client.Client()
	if err != nil {
		return err
	}
	return rpc.Ping()
}

// Exited reports whether the process has exited.
func (p *PluginProcess) Exited() bool { return p.client.Exited() }

// Pid is the process id, or 0 if unknown.
func (p *PluginProcess) Pid() int {
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// ProtocolVersion is the protocol version the host and plugin agreed on.
func (p *PluginProcess) ProtocolVersion() int { return p.client.NegotiatedVersion() }

// Kill stops the process: gracefully if it answers, by SIGKILL otherwise.
// It waits for the process to exit. Calling it again does nothing.
func (p *PluginProcess) Kill() { p.client.Kill() }
