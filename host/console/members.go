package console

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// maxStatusBytes bounds a member's Status answer.
const maxStatusBytes = 1 << 20

// memberStatus answers the Status of the member with the given id, asked
// of the gateway on its first client URL that answers, with the caller's
// token. Only the client URLs the member list gives are asked, so the
// console reaches no other address.
func (h *Handler) memberStatus(w http.ResponseWriter, r *http.Request) {
	token := sessionToken(r)
	status, body := h.call(r.Context(), "/v3/cluster/member/list", token, struct{}{})
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
			status, body, err := h.remoteStatus(r, u, token)
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

// remoteStatus asks the gateway at the client URL base for its member's
// Status.
func (h *Handler) remoteStatus(r *http.Request, base, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost,
		strings.TrimSuffix(base, "/")+"/v3/maintenance/status", bytes.NewReader([]byte("{}")))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
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
