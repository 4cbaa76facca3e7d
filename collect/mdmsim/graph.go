package mdmsim

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
)

// route is a resolved Graph request.
type route struct {
	version string // "v1.0" or "beta"
	kind    int
	id      string // device, app or audit event id
}

const (
	routeDevices          = iota // deviceManagement/managedDevices
	routeDevice                  // deviceManagement/managedDevices/{id}
	routeDeviceApps              // deviceManagement/managedDevices/{id}/detectedApps (beta)
	routeDeviceCompliance        // deviceManagement/managedDevices/{id}/deviceCompliancePolicyStates
	routeApps                    // deviceManagement/detectedApps
	routeApp                     // deviceManagement/detectedApps/{id}
	routeAppDevices              // deviceManagement/detectedApps/{id}/managedDevices
	routeAuditEvents             // deviceManagement/auditEvents
	routeAuditEvent              // deviceManagement/auditEvents/{id}
)

// resolve maps path segments (after the version) to a route. Segments are
// matched case-insensitively, as Graph does, and an entity key may be given
// as a segment (/managedDevices/{id}) or in parentheses (/managedDevices('{id}')).
func resolve(version string, segs []string) (route, *apiError) {
	var flat []string
	for _, s := range segs {
		if name, key, ok := strings.Cut(s, "('"); ok && strings.HasSuffix(key, "')") {
			flat = append(flat, name, strings.TrimSuffix(key, "')"))
			continue
		}
		flat = append(flat, s)
	}
	rt := route{version: version}
	switch {
	case len(flat) == 0:
		return rt, badRequest("Invalid request.")
	case !strings.EqualFold(flat[0], "deviceManagement"):
		return rt, segmentNotFound(flat[0])
	case len(flat) == 1:
		return rt, segmentNotFound(flat[0])
	}
	// collection, collection/{id}, collection/{id}/nav: the kinds for each
	// depth, or -1 where there is none.
	type shape struct {
		list, entity int
		nav          map[string]int // lower-case navigation -> kind
	}
	var sh shape
	switch {
	case strings.EqualFold(flat[1], "managedDevices"):
		sh = shape{routeDevices, routeDevice, map[string]int{"devicecompliancepolicystates": routeDeviceCompliance}}
		if version == "beta" {
			// v1.0 has no managedDevice -> detectedApps navigation.
			sh.nav["detectedapps"] = routeDeviceApps
		}
	case strings.EqualFold(flat[1], "detectedApps"):
		sh = shape{routeApps, routeApp, map[string]int{"manageddevices": routeAppDevices}}
	case strings.EqualFold(flat[1], "auditEvents"):
		sh = shape{routeAuditEvents, routeAuditEvent, nil}
	default:
		return rt, segmentNotFound(flat[1])
	}
	switch len(flat) {
	case 2:
		rt.kind = sh.list
	case 3:
		rt.kind, rt.id = sh.entity, flat[2]
	default:
		k, ok := sh.nav[strings.ToLower(flat[3])]
		switch {
		case !ok:
			return rt, segmentNotFound(flat[3])
		case len(flat) > 4:
			return rt, segmentNotFound(flat[4])
		}
		rt.kind, rt.id = k, flat[2]
	}
	return rt, nil
}

// Filters each collection honours; everything else in $filter is ignored.
var (
	deviceFilter     = filterSpec{strings: []string{"deviceName", "serialNumber", "operatingSystem"}, times: []string{"lastSyncDateTime"}}
	appFilter        = filterSpec{strings: []string{"displayName", "platform"}}
	complianceFilter = filterSpec{strings: []string{"state", "platformType"}}
	auditFilter      = filterSpec{strings: []string{"category", "activityType", "activityResult", "componentName"}, times: []string{"activityDateTime"}}
)

// serveGraph answers one Graph request — sent on its own, or an item of a
// $batch body (item) — into w. It returns the transport fault (slow,
// truncate, malformed, reset, foreign-link) to apply when the response is
// delivered; items never get one.
//
// The order of checks: version, bearer token, $batch, route and method,
// injected fault, rate limits, random fault, query options, resource.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, segs []string, rec *Request, item bool) Fault {
	rid := newGUID()
	crid := r.Header.Get("client-request-id")
	if crid == "" {
		crid = rid
	}
	h := w.Header()
	h.Set("request-id", rid)
	h.Set("client-request-id", crid)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"West Europe","Slice":"E","Ring":"5","ScaleUnit":"003","RoleInstance":"AM2PEPF0000A1B2"}}`)
	fail := func(e *apiError) Fault {
		writeGraphError(w, e, s.opts.Clock())
		return FaultNone
	}

	if len(segs) == 0 || (segs[0] != "v1.0" && segs[0] != "beta") {
		v := ""
		if len(segs) > 0 {
			v = segs[0]
		}
		rec.Unexpected = true
		return fail(badRequest("Invalid version: " + v))
	}
	if e := s.authenticate(r); e != nil {
		return fail(e)
	}
	version := segs[0]

	if !item && len(segs) == 2 && segs[1] == "$batch" {
		if r.Method != http.MethodPost {
			rec.Unexpected = true
			e := methodNotAllowed(r)
			e.header.Set("Allow", "POST")
			return fail(e)
		}
		f := s.takeInjection(r.URL.Path, false)
		if f == FaultNone {
			f = s.drawFault()
		}
		rec.Fault = f
		if f.status() != 0 {
			return fail(faultError(f, r, rid, s.retryAfterFor(f, 0)))
		}
		if t := s.serveBatch(w, r, version, rec); f == FaultNone {
			f, rec.Fault = t, t
		}
		return f
	}

	rt, e := resolve(version, segs[1:])
	if e != nil {
		rec.Unexpected = true
		return fail(e)
	}
	if r.Method != http.MethodGet {
		rec.Unexpected = true
		return fail(methodNotAllowed(r))
	}

	f := s.takeInjection(r.URL.Path, item)
	if f == FaultNone {
		if wait := s.admit(rt); wait > 0 {
			rec.RateLimited = true
			return fail(throttled(r, rid, s.retryAfterFor(FaultNone, wait)))
		}
		f = s.drawFault()
		if item && f.status() == 0 {
			f = FaultNone
		}
	}
	rec.Fault = f
	if f.status() != 0 {
		return fail(faultError(f, r, rid, s.retryAfterFor(f, 0)))
	}
	// From here on f is a transport fault (or none): it alters whatever
	// answer is written, an error included.
	q, e := parseQuery(r)
	if e == nil {
		e = s.serveRoute(w, r, rt, q, rid)
	}
	if e != nil {
		fail(e)
	}
	return f
}

// collection is a list served page by page without being materialised.
type collection struct {
	n  int
	at func(i int) reflect.Value
}

func sliceOf[T any](xs []T) collection {
	return collection{len(xs), func(i int) reflect.Value { return reflect.ValueOf(&xs[i]).Elem() }}
}

func (s *Server) devicesAt(positions []int32) collection {
	return collection{len(positions), func(i int) reflect.Value {
		return reflect.ValueOf(s.fleet.deviceProps(int(positions[i]))).Elem()
	}}
}

func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request, rt route, q query, rid string) *apiError {
	f := s.fleet
	meta := requestBase(r) + "/" + rt.version + "/$metadata#deviceManagement/"
	devices := s.props[reflect.TypeFor[Device]()]
	apps := s.props[reflect.TypeFor[DetectedApp]()]
	switch rt.kind {
	case routeDevices:
		all := collection{f.Len(), func(i int) reflect.Value { return reflect.ValueOf(f.deviceProps(i)).Elem() }}
		return s.serveList(w, r, q, devices, all, deviceFilter, meta+"managedDevices")
	case routeApps:
		return s.serveList(w, r, q, apps, sliceOf(f.apps), appFilter, meta+"detectedApps")
	case routeAuditEvents:
		return s.serveList(w, r, q, s.props[reflect.TypeFor[AuditEvent]()], sliceOf(f.auditEvents()), auditFilter, meta+"auditEvents")
	case routeAuditEvent:
		for _, e := range f.auditEvents() {
			if strings.EqualFold(e.ID, rt.id) {
				return s.serveEntity(w, q, s.props[reflect.TypeFor[AuditEvent]()], reflect.ValueOf(e), meta+"auditEvents")
			}
		}
		return intuneNotFound(rid, fmt.Sprintf("deviceManagement/auditEvents('%s')", rt.id))
	case routeApp, routeAppDevices:
		a, ok := f.app(rt.id)
		switch {
		case !ok && rt.kind == routeApp:
			return intuneNotFound(rid, fmt.Sprintf("deviceManagement/detectedApps('%s')", rt.id))
		case !ok:
			return intuneNotFound(rid, fmt.Sprintf("deviceManagement/detectedApps('%s')/managedDevices", rt.id))
		case rt.kind == routeApp:
			return s.serveEntity(w, q, apps, reflect.ValueOf(a), meta+"detectedApps")
		}
		return s.serveList(w, r, q, devices, s.devicesAt(f.holders[f.appKey[a.ID]]), deviceFilter,
			meta+"detectedApps('"+a.ID+"')/managedDevices")
	}

	p := f.Index(rt.id)
	if p < 0 {
		nav := map[int]string{routeDeviceApps: "/detectedApps", routeDeviceCompliance: "/deviceCompliancePolicyStates"}[rt.kind]
		return intuneNotFound(rid, fmt.Sprintf("deviceManagement/managedDevices('%s')%s", rt.id, nav))
	}
	id := guidString(f.ids[p])
	switch rt.kind {
	case routeDevice:
		return s.serveEntity(w, q, devices, reflect.ValueOf(f.deviceProps(p)).Elem(), meta+"managedDevices")
	case routeDeviceApps:
		return s.serveList(w, r, q, apps, sliceOf(f.reportedApps(p)), filterSpec{strings: []string{"displayName"}},
			meta+"managedDevices('"+id+"')/detectedApps")
	case routeDeviceCompliance:
		return s.serveList(w, r, q, s.props[reflect.TypeFor[DeviceCompliancePolicyState]()], sliceOf(f.complianceStates(f.deviceProps(p))),
			complianceFilter, meta+"managedDevices('"+id+"')/deviceCompliancePolicyStates")
	}
	panic(fmt.Sprintf("mdmsim: unhandled route %d", rt.kind))
}

func writeGraphJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", graphContentType)
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// serveList writes one page of a collection. items are in the server's
// stable order. The page size is $top capped by MaxPageSize, or
// MaxPageSize; the next page is reached through an absolute @odata.nextLink
// carrying an opaque $skiptoken. Only the page's items are built, except
// under a supported $filter, which visits every item.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, q query, pt *propTable, items collection, spec filterSpec, context string) *apiError {
	sel, e := pt.parseSelect(q.selectRaw, q.hasSelect)
	if e != nil {
		return e
	}
	var terms []filterTerm
	if q.hasFilter {
		if terms, e = parseFilter(q.filter, spec); e != nil {
			return e
		}
	}
	if len(terms) > 0 {
		var idx []int
		for i := range items.n {
			if pt.matches(items.at(i), terms) {
				idx = append(idx, i)
			}
		}
		all := items
		items = collection{len(idx), func(i int) reflect.Value { return all.at(idx[i]) }}
	}
	scope := strings.ToLower(r.URL.Path) + "\x00" + filterScope(terms)
	start := 0
	if q.hasSkip {
		off, ok := s.skip.offset(scope, q.skiptoken)
		if !ok {
			return badRequest(fmt.Sprintf("The $skiptoken value '%s' is not valid.", q.skiptoken))
		}
		start = min(off, items.n)
	}
	size := s.opts.MaxPageSize
	if q.top > 0 && q.top < size {
		size = q.top
	}
	end := min(start+size, items.n)

	buf := make([]byte, 0, 1024+400*(end-start))
	buf = append(buf, `{"@odata.context":`...)
	buf = appendJSON(buf, context+pt.contextSuffix(sel))
	if end < items.n {
		buf = append(buf, `,"@odata.nextLink":`...)
		buf = appendJSON(buf, nextLink(r, q, s.skip.mint(scope, end)))
	}
	buf = append(buf, `,"value":[`...)
	for i := start; i < end; i++ {
		if i > start {
			buf = append(buf, ',')
		}
		buf = pt.appendObject(buf, "", items.at(i), sel)
	}
	buf = append(buf, "]}"...)
	writeGraphJSON(w, buf)
	return nil
}

// serveEntity writes a single entity with its @odata.context.
func (s *Server) serveEntity(w http.ResponseWriter, q query, pt *propTable, v reflect.Value, context string) *apiError {
	sel, e := pt.parseSelect(q.selectRaw, q.hasSelect)
	if e != nil {
		return e
	}
	writeGraphJSON(w, pt.appendObject(nil, context+pt.contextSuffix(sel)+"/$entity", v, sel))
	return nil
}
