package plugin

import "github.com/metastore/metastore/host/config"

// Plugin events of the audit log.
const (
	EventStart    = "plugin.start"
	EventExit     = "plugin.exit"
	EventRestart  = "plugin.restart"
	EventFallback = "plugin.fallback"
)

// Audit records an event (one of the Event constants) of the plugin of
// the catalog entry e; err is the event's error (for an exit, why the
// plugin ended).
type Audit func(event string, e config.PluginEntry, err error)

// orNoAudit returns a, or an Audit that records nothing when a is nil.
func orNoAudit(a Audit) Audit {
	if a == nil {
		return func(string, config.PluginEntry, error) {}
	}
	return a
}
