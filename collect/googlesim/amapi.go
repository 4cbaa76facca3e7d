package googlesim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// serveAMAPI answers devices.list, devices.get and policies.get.
func (s *Server) serveAMAPI(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	if r.Method != http.MethodGet {
		googleError(w, http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "Method not allowed: this simulator serves reads only.")
		return
	}
	if len(segs) < 2 || segs[0] != "enterprises" {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "The requested URL "+r.URL.Path+" was not found on this server.")
		return
	}
	if segs[1] != s.opts.Enterprise {
		googleError(w, http.StatusForbidden, "PERMISSION_DENIED", fmt.Sprintf("Caller does not have access to enterprises/%s, or it does not exist.", segs[1]))
		return
	}
	mask, err := parseFields(r.URL.Query().Get("fields"))
	if err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid field selection "+err.Error())
		return
	}
	switch {
	case len(segs) == 3 && segs[2] == "devices":
		s.listDevices(w, r, mask)
	case len(segs) == 4 && segs[2] == "devices":
		for _, d := range s.fleet.Devices {
			if d.Name == strings.Join(segs, "/") {
				writeMasked(w, d, mask)
				return
			}
		}
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
	case len(segs) == 4 && segs[2] == "policies":
		if p, ok := s.fleet.Policies[strings.Join(segs, "/")]; ok {
			writeMasked(w, p, mask)
			return
		}
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Requested entity was not found.")
	default:
		googleError(w, http.StatusNotFound, "NOT_FOUND", "The requested URL "+r.URL.Path+" was not found on this server.")
	}
}

// listDevices pages the fleet. pageToken is the base64 of the next index
// with a check byte, opaque to clients.
func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, mask fieldMask) {
	q := r.URL.Query()
	size := MaxPageSize
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid value for pageSize: "+v)
			return
		}
		if n > 0 {
			size = min(n, MaxPageSize)
		}
	}
	start := 0
	if t := q.Get("pageToken"); t != "" {
		var ok bool
		if start, ok = s.decodeToken(t); !ok || start > len(s.fleet.Devices) {
			googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid page token.")
			return
		}
	}
	end := min(start+size, len(s.fleet.Devices))
	resp := struct {
		Devices       []Device `json:"devices,omitempty"`
		NextPageToken string   `json:"nextPageToken,omitempty"`
	}{Devices: s.fleet.Devices[start:end]}
	if end < len(s.fleet.Devices) {
		resp.NextPageToken = s.encodeToken(end)
	}
	writeMasked(w, resp, mask)
}

func (s *Server) encodeToken(i int) string {
	b := []byte(fmt.Sprintf("devices:%d:%s", i, s.keyID[:8]))
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) decodeToken(t string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return 0, false
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "devices" || parts[2] != s.keyID[:8] {
		return 0, false
	}
	i, err := strconv.Atoi(parts[1])
	return i, err == nil && i >= 0
}

// writeMasked writes v as JSON, keeping only what mask selects.
func writeMasked(w http.ResponseWriter, v any, mask fieldMask) {
	if mask == nil {
		writeJSON(w, v)
		return
	}
	raw, _ := json.Marshal(v)
	var doc any
	json.Unmarshal(raw, &doc)
	writeJSON(w, mask.apply(doc))
}

// fieldMask is a parsed partial-response selector: field → sub-selector
// (nil: the whole field).
type fieldMask map[string]fieldMask

// parseFields parses Google's fields parameter: "a,b/c,d(e,f/g)".
func parseFields(s string) (fieldMask, error) {
	if s == "" || s == "*" {
		return nil, nil
	}
	m := fieldMask{}
	rest, err := m.parse(s)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("%q: unexpected %q", s, rest)
	}
	return m, nil
}

func (m fieldMask) parse(s string) (string, error) {
	for {
		i := strings.IndexAny(s, ",()/")
		name := s
		if i >= 0 {
			name = s[:i]
		}
		if name == "" {
			return s, fmt.Errorf("empty field name in %q", s)
		}
		s = s[len(name):]
		switch {
		case strings.HasPrefix(s, "/"):
			sub := fieldMask{}
			if m[name] != nil {
				sub = m[name]
			}
			// a/b/c: a path of one field each.
			rest, err := sub.parsePath(s[1:])
			if err != nil {
				return s, err
			}
			m[name], s = sub, rest
		case strings.HasPrefix(s, "("):
			sub := fieldMask{}
			rest, err := sub.parse(s[1:])
			if err != nil {
				return s, err
			}
			if !strings.HasPrefix(rest, ")") {
				return rest, fmt.Errorf("missing )")
			}
			m[name], s = sub, rest[1:]
		default:
			m[name] = nil
		}
		if !strings.HasPrefix(s, ",") {
			return s, nil
		}
		s = s[1:]
	}
}

func (m fieldMask) parsePath(s string) (string, error) {
	i := strings.IndexAny(s, ",()/")
	name := s
	if i >= 0 {
		name = s[:i]
	}
	if name == "" {
		return s, fmt.Errorf("empty field name")
	}
	s = s[len(name):]
	if strings.HasPrefix(s, "/") {
		sub := fieldMask{}
		rest, err := sub.parsePath(s[1:])
		m[name] = sub
		return rest, err
	}
	m[name] = nil
	return s, nil
}

// apply keeps the selected members of doc (arrays are filtered element by
// element).
func (m fieldMask) apply(doc any) any {
	switch v := doc.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, sub := range m {
			if x, ok := v[k]; ok {
				if sub == nil {
					out[k] = x
				} else {
					out[k] = sub.apply(x)
				}
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = m.apply(x)
		}
		return out
	}
	return doc
}
