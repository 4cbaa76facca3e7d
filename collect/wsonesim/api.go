package wsonesim

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// searchPage is the envelope of GET /API/mdm/devices/search.
type searchPage struct {
	Devices  []Device `json:"Devices"`
	Page     int      `json:"Page"`
	PageSize int      `json:"PageSize"`
	Total    int      `json:"Total"`
}

// appsPage is the envelope of GET /API/mdm/devices/{id}/apps.
type appsPage struct {
	DeviceApps []App `json:"DeviceApps"`
	Page       int   `json:"Page"`
	PageSize   int   `json:"PageSize"`
	Total      int   `json:"Total"`
}

// paging reads page (0-based, default 0) and pagesize (default and at
// most Options.MaxPageSize); it answers 400 and reports false for values
// that are not numbers or are negative.
func (s *Server) paging(w http.ResponseWriter, q url.Values) (page, size int, ok bool) {
	page, size = 0, s.opts.MaxPageSize
	for _, p := range []struct {
		name string
		into *int
	}{{"page", &page}, {"pagesize", &size}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, 400, "The value '"+v+"' is not valid for "+p.name+".")
			return 0, 0, false
		}
		if n > 0 || p.name == "page" {
			*p.into = n
		}
	}
	return page, min(size, s.opts.MaxPageSize), true
}

// window is the [start, end) of page in n items of pages of size; start
// is n when the page is past the end.
func window(page, size, n int) (int, int) {
	if size <= 0 || page > n/size {
		return n, n
	}
	start := page * size
	return min(start, n), min(start+size, n)
}

// search serves GET /API/mdm/devices/search: the filters user (user name
// or e-mail), platform, ownership and model (each an exact match,
// ignoring case), orderby=deviceid with sortorder ASC or DESC (another
// orderby leaves the natural order), page and pagesize. No match, or a
// page past the end, is 204 with no body.
func (s *Server) search(w http.ResponseWriter, r *http.Request, f Fault) {
	q := r.URL.Query()
	page, size, ok := s.paging(w, q)
	if !ok {
		return
	}
	var devs []Device
	for _, d := range s.fleet.Devices {
		if match(q.Get("user"), d.UserName, d.UserEmailAddress) && match(q.Get("platform"), d.Platform) &&
			match(q.Get("ownership"), d.Ownership) && match(q.Get("model"), d.Model) {
			devs = append(devs, d)
		}
	}
	switch strings.ToLower(q.Get("orderby")) {
	case "deviceid", "id":
		slices.SortFunc(devs, func(a, b Device) int { return a.ID.Value - b.ID.Value })
		if strings.EqualFold(q.Get("sortorder"), "DESC") {
			slices.Reverse(devs)
		}
	case "":
		if s.opts.UnstableOrder {
			s.mu.Lock()
			s.miscRNG.Shuffle(len(devs), func(i, j int) { devs[i], devs[j] = devs[j], devs[i] })
			s.mu.Unlock()
		}
	}
	asked := page
	if f == FaultIgnorePage {
		page = 0
	}
	start, end := window(page, size, len(devs))
	if f == FaultEmpty || start == end {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	out := searchPage{Devices: devs[start:end], Page: asked, PageSize: size, Total: len(devs)}
	if f == FaultRepeatPage {
		out.Page--
	}
	writeJSON(w, out)
}

func match(want string, have ...string) bool {
	if want == "" {
		return true
	}
	for _, h := range have {
		if strings.EqualFold(want, h) {
			return true
		}
	}
	return false
}

// apps serves GET /API/mdm/devices/{id}/apps for a numeric device id:
// 404 errorCode 5061 for an unknown device; a device without apps, or a
// page past the end, is 200 with an empty body.
func (s *Server) apps(w http.ResponseWriter, r *http.Request, idSeg string, f Fault) {
	id, err := strconv.Atoi(idSeg)
	if _, known := s.fleet.Device(id); err != nil || !known {
		writeError(w, http.StatusNotFound, 5061, "Device not found for this request.")
		return
	}
	page, size, ok := s.paging(w, r.URL.Query())
	if !ok {
		return
	}
	apps := s.fleet.Apps[id]
	asked := page
	if f == FaultIgnorePage {
		page = 0
	}
	start, end := window(page, size, len(apps))
	if f == FaultEmpty || start == end {
		w.WriteHeader(http.StatusOK)
		return
	}
	out := appsPage{DeviceApps: apps[start:end], Page: asked, PageSize: size, Total: len(apps)}
	if f == FaultRepeatPage {
		out.Page--
	}
	writeJSON(w, out)
}
