package plugin

import (
	"sync/atomic"

	"google.golang.org/grpc"
)

// pluginTracing is how plugin processes started from now on take part in
// the host's traces; nil while the host does not trace.
var pluginTracing atomic.Pointer[tracingSetup]

// tracingSetup is what SetTracing was given.
type tracingSetup struct {
	dial []grpc.DialOption
	env  []string
}

// SetTracing makes the plugin processes started from now on trace their
// calls: dial are the host's options that trace each call and send its
// trace context along, env the variables that turn the plugin's own
// tracing on (before the entry's env, which may override them). The host
// tracing once per process, this is process-wide, like the plugin metrics.
// Without a call, or with nothing, plugins are started untraced.
func SetTracing(dial []grpc.DialOption, env []string) {
	if len(dial) == 0 && len(env) == 0 {
		pluginTracing.Store(nil)
		return
	}
	pluginTracing.Store(&tracingSetup{dial: dial, env: env})
}

// withTracing adds the tracing setup, if any, to a plugin process's
// environment and dial options.
func withTracing(env []string, dial []grpc.DialOption) ([]string, []grpc.DialOption) {
	t := pluginTracing.Load()
	if t == nil {
		return env, dial
	}
	return append(env, t.env...), append(dial[:len(dial):len(dial)], t.dial...)
}
