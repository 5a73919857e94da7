package console

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/metastore/metastore/host/plugin"
)

// pluginView is one catalog entry as the plugins page shows it.
type pluginView struct {
	Kind        string    `json:"kind"`
	Name        string    `json:"name"`
	Path        string    `json:"path"`
	SHA256      string    `json:"sha256"`
	SHA256Match bool      `json:"sha256Match"`
	SHA256Error string    `json:"sha256Error,omitempty"`
	Started     bool      `json:"started"`
	Up          bool      `json:"up"`
	Restarts    int       `json:"restarts"`
	LastError   string    `json:"lastError,omitempty"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	Calls       uint64    `json:"calls"`
	MeanCallMs  float64   `json:"meanCallMs"`
	P99CallMs   float64   `json:"p99CallMs"`
}

// plugins answers the catalog with what this process knows of each
// entry. While auth is on, only root may read it: it names binaries on
// the member's machine.
func (h *Handler) plugins(w http.ResponseWriter, r *http.Request) {
	token := sessionToken(r)
	status, body := h.call(r.Context(), "/v3/auth/status", token, struct{}{})
	if status != http.StatusOK {
		writeRaw(w, status, body)
		return
	}
	var st struct {
		Enabled bool `json:"enabled"`
	}
	_ = json.Unmarshal(body, &st)
	if st.Enabled {
		// Listing roles is root's alone: its answer is the check.
		if status, body := h.call(r.Context(), "/v3/auth/role/list", token, struct{}{}); status != http.StatusOK {
			writeRaw(w, status, body)
			return
		}
	}
	statuses := map[string]plugin.Status{}
	for _, s := range plugin.Statuses() {
		statuses[s.Kind+"/"+s.Name] = s
	}
	views := []pluginView{}
	for _, e := range h.catalog() {
		v := pluginView{Kind: e.Kind, Name: e.Name, Path: e.Path, SHA256: e.SHA256}
		sum, err := h.sums.of(e.Path)
		if err != nil {
			v.SHA256Error = err.Error()
		}
		v.SHA256Match = err == nil && strings.EqualFold(sum, e.SHA256)
		if s, ok := statuses[e.Kind+"/"+e.Name]; ok {
			v.Started, v.Up, v.Restarts, v.LastError, v.LastErrorAt, v.Calls = true, s.Up, s.Restarts, s.LastError, s.LastErrorAt, s.Calls
			if s.Calls > 0 {
				v.MeanCallMs = s.CallSeconds * 1000 / float64(s.Calls)
				v.P99CallMs = s.CallP99Seconds * 1000
			}
		}
		views = append(views, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plugins": views})
}

// checksums caches the sha256 of plugin binaries by path, size and
// modification time, so that an open plugins page does not read them
// again on every refresh.
type checksums struct {
	mu    sync.Mutex
	byKey map[string]string
}

func newChecksums() *checksums { return &checksums{byKey: map[string]string{}} }

func (c *checksums) of(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	key := fmt.Sprintf("%s\x00%d\x00%d", path, fi.ModTime().UnixNano(), fi.Size())
	c.mu.Lock()
	sum, ok := c.byKey[key]
	c.mu.Unlock()
	if ok {
		return sum, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return "", err
	}
	sum = hex.EncodeToString(hash.Sum(nil))
	c.mu.Lock()
	c.byKey[key] = sum
	c.mu.Unlock()
	return sum, nil
}
