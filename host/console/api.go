package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

// consoleHeader is the header every request of the console's pages
// carries: a cross-site page cannot set it without a preflight, which the
// console never allows.
const consoleHeader = "X-MetaStore-Console"

// sessionCookie, with the port of the console's URL appended, names the
// cookie holding the token of the user logged in to the console: a
// browser keeps cookies by host, not port, and members sharing a host
// each keep their own.
const sessionCookie = "metastore_console"

// maxLoginBytes bounds a login request's body.
const maxLoginBytes = 64 << 10

// errCrossSite is the answer to a request that did not come from the
// console's own pages.
var errCrossSite = errors.New("console: cross-site request refused")

// serveAPI serves /ui/api/<path>: login, logout, the plugin catalog, other
// members' Status and /health, YAML formatting, and the gateway under v3/.
func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, path string) {
	if err := sameOrigin(r); err != nil {
		h.lg.Debug("refused a request", zap.String("path", r.URL.Path), zap.String("origin", r.Header.Get("Origin")),
			zap.String("sec-fetch-site", r.Header.Get("Sec-Fetch-Site")), zap.String("remote", r.RemoteAddr))
		writeError(w, http.StatusForbidden, err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case strings.HasPrefix(path, "/v3/"):
		h.forward(w, r, path)
	case path == "/login" && r.Method == http.MethodPost:
		h.login(w, r)
	case path == "/logout" && r.Method == http.MethodPost:
		http.SetCookie(w, h.cookie(r, "", -1))
		writeJSON(w, http.StatusOK, struct{}{})
	case path == "/plugins" && r.Method == http.MethodGet:
		h.plugins(w, r)
	case path == "/member-status" && r.Method == http.MethodGet:
		h.memberStatus(w, r)
	case path == "/member-health" && r.Method == http.MethodGet:
		h.memberHealth(w, r)
	case path == "/format-yaml" && r.Method == http.MethodPost:
		h.formatYAML(w, r)
	default:
		writeError(w, http.StatusNotFound, "console: no such request")
	}
}

// sameOrigin refuses a request that lacks the console's header, or whose
// Origin or Sec-Fetch-Site says another site sent it.
func sameOrigin(r *http.Request) error {
	if r.Header.Get(consoleHeader) == "" {
		return errCrossSite
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return errCrossSite
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host != r.Host {
			return errCrossSite
		}
	}
	return nil
}

// forward passes a request to the gateway as /v3/..., with the token of
// the session cookie, if any, as its authorization.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, path string) {
	out := r.Clone(r.Context())
	out.URL.Path, out.URL.RawPath = path, ""
	out.RequestURI = ""
	out.Header.Del("Authorization")
	out.Header.Del("Cookie")
	if token := sessionToken(r); token != "" {
		out.Header.Set("Authorization", token)
	}
	h.api.ServeHTTP(w, out)
}

// cookieName is the session cookie's name for the console r came to.
func cookieName(r *http.Request) string {
	_, port, err := net.SplitHostPort(r.Host)
	if err != nil || strings.Trim(port, "0123456789") != "" {
		return sessionCookie
	}
	return sessionCookie + "_" + port
}

func sessionToken(r *http.Request) string {
	c, err := r.Cookie(cookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// login authenticates with etcd's Authenticate through the gateway and
// keeps the token it returns in the session cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxLoginBytes)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "console: login: "+err.Error())
		return
	}
	status, body := h.call(r.Context(), "/v3/auth/authenticate", "", req)
	if status != http.StatusOK {
		writeRaw(w, status, body)
		return
	}
	var resp struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Token == "" {
		writeError(w, http.StatusBadGateway, "console: login: no token in the answer")
		return
	}
	http.SetCookie(w, h.cookie(r, resp.Token, 0))
	writeJSON(w, http.StatusOK, map[string]string{"name": req.Name})
}

// cookie is the session cookie holding token; maxAge -1 deletes it.
func (h *Handler) cookie(r *http.Request, token string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: cookieName(r), Value: token, Path: Prefix + "api/", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	}
}

// call makes one gateway request to path with body as JSON and token (""
// for none), and returns the answer's status and body.
func (h *Handler) call(ctx context.Context, path, token string, body any) (int, []byte) {
	b, err := json.Marshal(body)
	if err != nil {
		return http.StatusInternalServerError, errorBody(err.Error())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(b))
	if err != nil {
		return http.StatusInternalServerError, errorBody(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	h.api.ServeHTTP(rec, req)
	return rec.status, rec.body.Bytes()
}

// recorder keeps a gateway answer in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

// writeError answers as the gateway does: {"error", "code", "message"}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeRaw(w, status, errorBody(msg))
}

func errorBody(msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": msg, "message": msg})
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
