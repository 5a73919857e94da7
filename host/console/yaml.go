package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"go.yaml.in/yaml/v3"
)

// maxYAMLBytes bounds a value the keys page asks to have formatted: a
// value larger than this is shown as written.
const maxYAMLBytes = 1 << 20

// formatYAML answers the YAML documents of the request's body
// pretty-printed: block style, two spaces of indent, comments and key
// order kept. It formats bytes the page already read and reads no key
// itself; still, while auth is on, only a logged in user may ask. A body
// that does not parse is answered 422, one over maxYAMLBytes 413.
func (h *Handler) formatYAML(w http.ResponseWriter, r *http.Request) {
	if status, body := h.authenticated(r); status != http.StatusOK {
		writeRaw(w, status, body)
		return
	}
	in, err := io.ReadAll(io.LimitReader(r.Body, maxYAMLBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "console: yaml: "+err.Error())
		return
	}
	if len(in) > maxYAMLBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "console: yaml: the value is too large to format")
		return
	}
	out, err := prettyYAML(in)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "console: yaml: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"yaml": string(out)})
}

// authenticated answers 200 when auth is off or the request's session
// token is one the member accepts, else the gateway's refusal.
func (h *Handler) authenticated(r *http.Request) (int, []byte) {
	token := sessionToken(r)
	status, body := h.call(r.Context(), "/v3/auth/status", token, struct{}{})
	if status != http.StatusOK {
		return status, body
	}
	var st struct {
		Enabled bool `json:"enabled"`
	}
	if err := json.Unmarshal(body, &st); err == nil && st.Enabled && token == "" {
		return http.StatusUnauthorized, errorBody("etcdserver: user name is empty")
	}
	return http.StatusOK, nil
}

// prettyYAML re-encodes every document of in in block style. Aliases stay
// aliases: nothing is expanded, so the output is about as large as in.
func prettyYAML(in []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(in))
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	docs := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		blockStyle(&doc)
		if err := enc.Encode(&doc); err != nil {
			return nil, err
		}
		docs++
	}
	if docs == 0 {
		return nil, errors.New("no document")
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// blockStyle turns flow mappings and sequences ({a: 1}, [1, 2]) under n
// into block ones; scalars keep their quoting.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style &^= yaml.FlowStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}
