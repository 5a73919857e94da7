package pluginrpc

import "github.com/hashicorp/go-plugin"

// Process is a running plugin process, as Launch started it: what a host
// supervises, whatever the plugin's kind. Each kind's PluginProcess embeds
// it beside the plugin it dispensed.
type Process struct {
	client *plugin.Client
}

// Ping checks that the process answers.
func (p *Process) Ping() error {
	rpc, err := p.client.Client()
	if err != nil {
		return err
	}
	return rpc.Ping()
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool { return p.client.Exited() }

// Pid is the process id, or 0 if unknown.
func (p *Process) Pid() int {
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// ProtocolVersion is the protocol version the host and plugin agreed on.
func (p *Process) ProtocolVersion() int { return p.client.NegotiatedVersion() }

// Kill stops the process: gracefully if it answers, by SIGKILL otherwise.
// It waits for the process to exit. Calling it again does nothing.
func (p *Process) Kill() { p.client.Kill() }
