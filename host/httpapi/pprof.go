package httpapi

import (
	"net/http"
	"net/http/pprof"
	"runtime"
)

// PprofPrefix is where the runtime profiles are served on the client
// URLs (Config.Pprof), as etcd.
const PprofPrefix = "/debug/pprof"

// registerPprof serves Go's runtime profiles under PprofPrefix on mux. As
// etcd, it turns on mutex profiling (one event in five) unless something
// set a rate already.
func registerPprof(mux *http.ServeMux) {
	if runtime.SetMutexProfileFraction(-1) == 0 {
		runtime.SetMutexProfileFraction(5)
	}
	mux.HandleFunc(PprofPrefix+"/", pprof.Index)
	mux.HandleFunc(PprofPrefix+"/profile", pprof.Profile)
	mux.HandleFunc(PprofPrefix+"/symbol", pprof.Symbol)
	mux.HandleFunc(PprofPrefix+"/cmdline", pprof.Cmdline)
	mux.HandleFunc(PprofPrefix+"/trace", pprof.Trace)
	for _, p := range []string{"heap", "goroutine", "threadcreate", "block", "mutex"} {
		mux.Handle(PprofPrefix+"/"+p, pprof.Handler(p))
	}
}
