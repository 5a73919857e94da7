package console

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// maxStatusBytes bounds a member's Status or /health answer.
const maxStatusBytes = 1 << 20

// memberStatus answers the Status of the member with the given id, asked
// of the gateway on its first client URL that answers, with the caller's
// token.
func (h *Handler) memberStatus(w http.ResponseWriter, r *http.Request) {
	h.askMember(w, r, func(base string) (int, []byte, error) {
		return h.remote(r, http.MethodPost, base+"/v3/maintenance/status", []byte("{}"))
	})
}

// healthView is a member's /health answer, as the cluster page shows it:
// etcd's {"health": "true"|"false", "reason"} and the HTTP status.
type healthView struct {
	Health string `json:"health"`
	Reason string `json:"reason,omitempty"`
	Status int    `json:"status"`
}

// memberHealth answers what the /health endpoint of the member with the
// given id says, asked on its first client URL that answers: the health
// etcd's users check, which fails on an alarm, no leader or a failed
// read. An unhealthy member's 503 is answered 200 with its body, so
// that the page tells it from an unreachable one.
func (h *Handler) memberHealth(w http.ResponseWriter, r *http.Request) {
	h.askMember(w, r, func(base string) (int, []byte, error) {
		status, body, err := h.remote(r, http.MethodGet, base+"/health", nil)
		if err != nil {
			return 0, nil, err
		}
		v := healthView{Status: status}
		if err := json.Unmarshal(body, &v); err != nil || v.Health == "" {
			v.Health, v.Reason = "false", strings.TrimSpace(string(body))
		}
		b, err := json.Marshal(v)
		return http.StatusOK, b, err
	})
}

// askMember finds the client URLs of the member with the request's id in
// the member list, read with the caller's token, and answers with what
// ask returns for the first of them that answers. Only the client URLs
// the member list gives are asked, so the console reaches no other
// address.
func (h *Handler) askMember(w http.ResponseWriter, r *http.Request, ask func(base string) (int, []byte, error)) {
	status, body := h.call(r.Context(), "/v3/cluster/member/list", sessionToken(r), struct{}{})
	if status != http.StatusOK {
		writeRaw(w, status, body)
		return
	}
	var list struct {
		Members []struct {
			ID         string   `json:"ID"`
			ClientURLs []string `json:"clientURLs"`
		} `json:"members"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		writeError(w, http.StatusBadGateway, "console: member list: "+err.Error())
		return
	}
	id := r.URL.Query().Get("id")
	for _, m := range list.Members {
		if m.ID != id {
			continue
		}
		if len(m.ClientURLs) == 0 {
			writeError(w, http.StatusNotFound, "console: the member has no client URL yet")
			return
		}
		var last string
		for _, u := range m.ClientURLs {
			status, body, err := ask(strings.TrimSuffix(u, "/"))
			if err == nil {
				writeRaw(w, status, body)
				return
			}
			last = err.Error()
		}
		writeError(w, http.StatusBadGateway, "console: "+last)
		return
	}
	writeError(w, http.StatusNotFound, "console: no member "+id)
}

// remote makes one request to another member with the caller's token
// and returns its status and at most maxStatusBytes of its body.
func (h *Handler) remote(r *http.Request, method, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token := sessionToken(r); token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := h.members.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusBytes))
	return resp.StatusCode, b, err
}
