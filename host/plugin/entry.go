package plugin

import "time"

// Plugin kinds a catalog entry may have.
const (
	KindStorage = "storage"
	KindAuth    = "auth"
	KindQuota   = "quota"
)

// Entry is one entry of the plugin catalog, the `plugins` list of the
// config file: a plugin binary the host may start, and how. Built-in
// implementations need no entry; they are chosen by name.
type Entry struct {
	// Kind is the plugin kind: storage, auth or quota.
	Kind string `koanf:"kind"`
	// Name is how the rest of the configuration refers to the plugin
	// (storage-engine: <name>). It must differ from the built-in names of
	// its kind.
	Name string `koanf:"name"`
	// Path is the plugin binary; a relative path is taken from the
	// working directory.
	Path string `koanf:"path"`
	// SHA256 is the binary's checksum in hex (sha256sum's output). A
	// binary whose checksum differs is not started.
	SHA256 string `koanf:"sha256"`
	// Args are the binary's command-line arguments.
	Args []string `koanf:"args"`
	// Env are environment variables set for the plugin on top of the
	// host's environment.
	Env map[string]string `koanf:"env"`
	// Options are passed to the engine's Open (storage plugins).
	Options map[string]string `koanf:"options"`
	// Config is the policy's configuration (quota plugins), passed to it
	// as JSON; a reload that changes only this applies it live.
	Config map[string]any `koanf:"config"`
	// PingInterval is how often the host checks that the plugin answers
	// (default 1s); PingTimeout how long it waits for the answer (default
	// 5s) before it counts the plugin as dead.
	PingInterval time.Duration `koanf:"ping-interval"`
	PingTimeout  time.Duration `koanf:"ping-timeout"`
}

// Supervision defaults of an entry.
const (
	DefaultPingInterval = time.Second
	DefaultPingTimeout  = 5 * time.Second
)

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
type Audit func(event string, e Entry, err error)

// orNoAudit returns a, or an Audit that records nothing when a is nil.
func orNoAudit(a Audit) Audit {
	if a == nil {
		return func(string, Entry, error) {}
	}
	return a
}
