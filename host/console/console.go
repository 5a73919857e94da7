package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/metastore/metastore/host/config"
)

// Prefix is where the console is served.
const Prefix = "/ui/"

// pages are the deep links the console answers with its one document.
var pages = map[string]bool{
	"": true, "members": true, "keys": true, "leases": true, "auth": true, "plugins": true, "metrics": true,
}

//go:embed assets
var assets embed.FS

// Config is what the console serves from.
type Config struct {
	Logger *zap.Logger
	// API is the member's JSON gateway of its gRPC API, which serves
	// /v3/...
	API http.Handler
	// Catalog returns the member's plugin catalog in effect, as the last
	// config reload applied it; it is asked on every plugins request.
	Catalog func() []config.PluginEntry
	// Members is the client the cluster page asks other members' Status
	// with, at their client URLs (nil: plain HTTP, 3s timeout).
	Members *http.Client
}

// Handler serves the console under Prefix.
type Handler struct {
	lg      *zap.Logger
	api     http.Handler
	catalog func() []config.PluginEntry
	static  http.Handler
	sums    *checksums
	members *http.Client
}

var _ http.Handler = (*Handler)(nil)

// New returns the console's handler, to mount at Prefix.
func New(c Config) *Handler {
	lg := c.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	catalog := c.Catalog
	if catalog == nil {
		catalog = func() []config.PluginEntry { return nil }
	}
	members := c.Members
	if members == nil {
		members = &http.Client{Timeout: 3 * time.Second}
	}
	return &Handler{
		lg: lg, api: c.API, catalog: catalog, members: members,
		static: http.StripPrefix(Prefix+"assets/", http.FileServerFS(sub)),
		sums:   newChecksums(),
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	securityHeaders(w.Header())
	switch {
	case strings.HasPrefix(rest, "api/"):
		h.serveAPI(w, r, strings.TrimPrefix(rest, "api"))
	case strings.HasPrefix(rest, "assets/"):
		w.Header().Set("Cache-Control", "no-cache")
		h.static.ServeHTTP(w, r)
	case pages[strings.TrimSuffix(rest, "/")]:
		h.serveIndex(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveIndex answers every page with the one document; its script reads
// the path.
func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// securityHeaders keep the console's pages to their own scripts and
// styles, out of other sites' frames, and their responses from being
// sniffed as another type.
func securityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
}
