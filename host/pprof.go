package host

import (
	"net/http"
	"net/http/pprof"
	"runtime"

	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
)

// pprofPrefix is where --enable-pprof serves the runtime profiles on the
// client URLs, as etcd.
const pprofPrefix = "/debug/pprof"

// servePprof serves the profiles on the client URLs' mux with
// --enable-pprof or, as etcd, --log-level=debug.
func servePprof(lg *zap.Logger, c *config.Config, mux *http.ServeMux) {
	if c.EnablePprof {
		lg.Info("pprof is enabled", zap.String("path", pprofPrefix))
	}
	if c.EnablePprof || c.LogLevel == "debug" {
		registerPprof(mux)
	}
}

// registerPprof serves Go's runtime profiles under pprofPrefix on mux. As
// etcd, it turns on mutex profiling (one event in five) unless something
// set a rate already.
func registerPprof(mux *http.ServeMux) {
	if runtime.SetMutexProfileFraction(-1) == 0 {
		runtime.SetMutexProfileFraction(5)
	}
	mux.HandleFunc(pprofPrefix+"/", pprof.Index)
	mux.HandleFunc(pprofPrefix+"/profile", pprof.Profile)
	mux.HandleFunc(pprofPrefix+"/symbol", pprof.Symbol)
	mux.HandleFunc(pprofPrefix+"/cmdline", pprof.Cmdline)
	mux.HandleFunc(pprofPrefix+"/trace", pprof.Trace)
	for _, p := range []string{"heap", "goroutine", "threadcreate", "block", "mutex"} {
		mux.Handle(pprofPrefix+"/"+p, pprof.Handler(p))
	}
}
