package jamfsim

import (
	"cmp"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// serveDevices answers the Jamf Pro API's mobile-device endpoints; false
// for a path or method it does not serve.
func (s *Server) serveDevices(w http.ResponseWriter, r *http.Request, f Fault) bool {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, pathDevices), "/"), "/")
	if segs[0] == "" {
		segs = nil
	}
	if len(segs) > 2 || len(segs) == 2 && segs[1] != "detail" {
		jamfError(w, http.StatusNotFound, "NOT_FOUND", "No handler found for "+r.Method+" "+r.URL.Path, "")
		return false
	}
	if r.Method != http.MethodGet {
		jamfError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "Request method '"+r.Method+"' is not supported", "")
		return false
	}
	s.mu.Lock()
	ok := s.bearer(w, r, refuseJSON) != ""
	devices := s.fleet.Devices
	s.mu.Unlock()
	if !ok {
		return true
	}
	if len(segs) == 0 {
		s.list(w, r, devices, f)
		return true
	}
	i := slices.IndexFunc(devices, func(d *Device) bool { return d.Summary.ID == segs[0] })
	if i < 0 {
		jamfError(w, http.StatusNotFound, "INVALID_ID", "Mobile device with id "+strconv.Quote(segs[0])+" not found", "id")
		return true
	}
	if len(segs) == 1 {
		writeJSON(w, http.StatusOK, devices[i].Summary)
	} else {
		writeJSON(w, http.StatusOK, devices[i].Detail)
	}
	return true
}

// sortKeys are the fields the listing sorts by.
var sortKeys = map[string]func(a, b *Device) int{
	"id": func(a, b *Device) int {
		x, _ := strconv.Atoi(a.Summary.ID)
		y, _ := strconv.Atoi(b.Summary.ID)
		return cmp.Compare(x, y)
	},
	"name":            func(a, b *Device) int { return strings.Compare(a.Summary.Name, b.Summary.Name) },
	"displayName":     func(a, b *Device) int { return strings.Compare(a.Summary.Name, b.Summary.Name) },
	"serialNumber":    func(a, b *Device) int { return strings.Compare(a.Summary.SerialNumber, b.Summary.SerialNumber) },
	"udid":            func(a, b *Device) int { return strings.Compare(a.Summary.UDID, b.Summary.UDID) },
	"username":        func(a, b *Device) int { return strings.Compare(a.Summary.Username, b.Summary.Username) },
	"model":           func(a, b *Device) int { return strings.Compare(a.Summary.Model, b.Summary.Model) },
	"modelIdentifier": func(a, b *Device) int { return strings.Compare(a.Summary.ModelIdentifier, b.Summary.ModelIdentifier) },
}

// list answers GET /api/v2/mobile-devices: page (from 0), page-size
// (1 to Options.MaxPageSize, default 100) and sort (default id:asc;
// field[:asc|:desc], comma-separated) give {"totalCount", "results"}.
func (s *Server) list(w http.ResponseWriter, r *http.Request, devices []*Device, f Fault) {
	q := r.URL.Query()
	page, size := 0, DefaultPageSize
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			jamfError(w, http.StatusBadRequest, "INVALID_FIELD", "page must be a number greater than or equal to 0", "page")
			return
		}
		page = n
	}
	if v := q.Get("page-size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.opts.MaxPageSize {
			jamfError(w, http.StatusBadRequest, "INVALID_FIELD", "page-size must be between 1 and "+strconv.Itoa(s.opts.MaxPageSize), "page-size")
			return
		}
		size = n
	}
	spec := q.Get("sort")
	if spec == "" {
		spec = "id:asc"
	}
	var order []func(a, b *Device) int
	for term := range strings.SplitSeq(spec, ",") {
		field, dir, _ := strings.Cut(strings.TrimSpace(term), ":")
		by, ok := sortKeys[field]
		if !ok || dir != "" && dir != "asc" && dir != "desc" {
			jamfError(w, http.StatusBadRequest, "INVALID_SORT_FIELD", "Invalid sort criteria: "+term, "sort")
			return
		}
		if dir == "desc" {
			asc := by
			by = func(a, b *Device) int { return asc(b, a) }
		}
		order = append(order, by)
	}
	sorted := slices.Clone(devices)
	slices.SortStableFunc(sorted, func(a, b *Device) int {
		for _, by := range order {
			if c := by(a, b); c != 0 {
				return c
			}
		}
		return 0
	})
	results := []MobileDevice{}
	start := len(sorted)
	if page <= len(sorted)/size {
		start = page * size
	}
	switch f {
	case FaultRepeatPage:
		start = 0
	case FaultEmptyPage:
		start = len(sorted)
	}
	for _, d := range sorted[start:min(start+size, len(sorted))] {
		results = append(results, d.Summary)
	}
	writeJSON(w, http.StatusOK, struct {
		TotalCount int            `json:"totalCount"`
		Results    []MobileDevice `json:"results"`
	}{len(sorted), results})
}

// historySubsets maps the Classic subset names to History fields.
var historySubsets = []string{"General", "UserLocation", "Audits", "ManagementCommands", "Applications", "Ebooks"}

// serveHistory answers GET /JSSResource/mobiledevicehistory/id/{id} and
// …/id/{id}/subset/A&B, in XML unless the client accepts JSON.
func (s *Server) serveHistory(w http.ResponseWriter, r *http.Request) bool {
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, pathHistory), "/")
	if !(len(segs) == 1 || len(segs) == 3 && strings.EqualFold(segs[1], "subset")) || segs[0] == "" {
		classicError(w, http.StatusNotFound)
		return false
	}
	if r.Method != http.MethodGet {
		classicError(w, http.StatusMethodNotAllowed)
		return false
	}
	s.mu.Lock()
	ok := s.bearer(w, r, func(w http.ResponseWriter) { classicError(w, http.StatusUnauthorized) }) != ""
	d := s.fleet.Device(segs[0])
	s.mu.Unlock()
	if !ok {
		return true
	}
	if d == nil {
		classicError(w, http.StatusNotFound)
		return true
	}
	want := map[string]bool{}
	if len(segs) == 3 {
		for name := range strings.SplitSeq(segs[2], "&") {
			for _, sub := range historySubsets {
				if strings.EqualFold(name, sub) {
					want[sub] = true
				}
			}
		}
	} else {
		for _, sub := range historySubsets {
			want[sub] = true
		}
	}
	h := History{}
	if want["General"] {
		h.General = d.History.General
	}
	if want["UserLocation"] {
		h.UserLocation = d.History.UserLocation
	}
	if want["Audits"] {
		h.Audits = d.History.Audits
	}
	if want["ManagementCommands"] {
		h.ManagementCommands = d.History.ManagementCommands
	}
	if want["Applications"] {
		h.Applications = d.History.Applications
	}
	if want["Ebooks"] {
		h.Ebooks = d.History.Ebooks
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		// JSON lists every subset asked for, empty ones as [].
		m := map[string]json.RawMessage{}
		raw, _ := json.Marshal(h)
		json.Unmarshal(raw, &m)
		for k, v := range m {
			if string(v) == "null" {
				delete(m, k)
			}
		}
		if want["UserLocation"] && m["user_location"] == nil {
			m["user_location"] = json.RawMessage("[]")
		}
		if want["Audits"] && m["audits"] == nil {
			m["audits"] = json.RawMessage("[]")
		}
		writeJSON(w, http.StatusOK, map[string]any{"mobile_device_history": m})
		return true
	}
	body, err := xml.Marshal(h)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	w.Write(body)
	return true
}
