package mdmsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// Demo credentials accepted by default. They are public on purpose: the
// simulator guards nothing.
const (
	DemoClientID     = "7c2f4e1a-3b5d-4c8e-9f60-1a2b3c4d5e6f"
	DemoClientSecret = "mdmsim-demo-secret-not-for-production"
	DefaultTenant    = "contoso.onmicrosoft.com"
	// GraphScope is the only scope the token endpoint grants.
	GraphScope = "https://graph.microsoft.com/.default"
)

const (
	graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
	aadContentType   = "application/json; charset=utf-8"
)

// Options configure a Server. The zero value of every field selects its
// default.
type Options struct {
	Devices      int           // fleet size; default 50
	Seed         int64         // fleet seed; default 1
	Tenant       string        // tenant domain; default DefaultTenant (Fleet.TenantID is accepted too)
	ClientID     string        // default DemoClientID
	ClientSecret string        // default DemoClientSecret
	Now          time.Time     // fleet reference time; default time.Now().UTC() truncated to seconds
	TokenTTL     time.Duration // access-token lifetime; default 3599s
	MaxPageSize  int           // managedDevices/detectedApps page size cap; default 100
	// Clock drives token issuance and expiry (and error timestamps) only;
	// default time.Now. Tests advance it to expire tokens.
	Clock func() time.Time
}

// Request is one request the server answered.
type Request struct {
	Method    string
	Path      string
	RawQuery  string
	Status    int
	RequestID string // the request-id (Graph) or x-ms-request-id (token endpoint) sent back
}

// Server simulates the Entra ID token endpoint and the Intune part of
// Microsoft Graph on one listener: the login authority and the Graph host are
// the same base URL. It is safe for concurrent use.
type Server struct {
	opts    Options
	fleet   *Fleet
	devices *propTable
	apps    *propTable
	skip    skipTokens

	mu     sync.Mutex
	tokens map[string]time.Time // access token -> expiry
	log    []Request

	url  string
	srv  *http.Server
	done chan struct{}
}

// New builds the fleet and a server for it without listening; use Handler
// with httptest, or Start.
func New(opts Options) *Server {
	if opts.Devices <= 0 {
		opts.Devices = 50
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Tenant == "" {
		opts.Tenant = DefaultTenant
	}
	if opts.ClientID == "" {
		opts.ClientID = DemoClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DemoClientSecret
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now().UTC().Truncate(time.Second)
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 3599 * time.Second
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 100
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	key := make([]byte, 32)
	rand.Read(key)
	return &Server{
		opts:    opts,
		fleet:   NewFleet(opts.Seed, opts.Devices, opts.Now),
		devices: newPropTable(reflect.TypeFor[Device](), "microsoft.graph.managedDevice"),
		apps:    newPropTable(reflect.TypeFor[DetectedApp](), "microsoft.graph.detectedApp"),
		skip:    skipTokens{key: key},
		tokens:  map[string]time.Time{},
	}
}

// Start builds a server and serves it in the background on 127.0.0.1 (never
// another interface) on a free port.
func Start(opts Options) (*Server, error) {
	s := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mdmsim: listening on loopback: %w", err)
	}
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.srv.Serve(ln) // returns http.ErrServerClosed on Close
	}()
	return s, nil
}

// URL is the base URL, "http://127.0.0.1:PORT", of both the login authority
// and the Graph host. It is empty unless the server was started with Start.
func (s *Server) URL() string { return s.url }

// Handler serves every endpoint; it may be mounted on any listener.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Fleet is the fleet being served; it must not be modified.
func (s *Server) Fleet() *Fleet { return s.fleet }

// Requests returns a copy of the log of requests served, in completion order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Close stops a server started with Start and waits for it to stop serving.
// It is a no-op for a server built with New.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	<-s.done
	return err
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	defer func() {
		rid := w.Header().Get("request-id")
		if rid == "" {
			rid = w.Header().Get("x-ms-request-id")
		}
		s.mu.Lock()
		s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Status: w.status, RequestID: rid})
		s.mu.Unlock()
	}()
	segs := splitPath(r.URL.Path)
	if len(segs) == 4 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "v2.0") && strings.EqualFold(segs[3], "token") {
		s.serveToken(w, r, segs[0])
		return
	}
	s.serveGraph(w, r, segs)
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// newGUID returns a random version-4 GUID for request and trace ids (these
// are not part of the deterministic fleet).
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ---- Entra ID token endpoint ----

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

func (s *Server) tenantKnown(t string) bool {
	return strings.EqualFold(t, s.opts.Tenant) || strings.EqualFold(t, s.fleet.TenantID)
}

// serveToken implements POST /{tenant}/oauth2/v2.0/token for the
// client-credentials grant, checking in the order Entra reports problems:
// method, tenant, grant type, client, scope, secret.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	now := s.opts.Clock()
	traceID := newGUID()
	corrID := r.Header.Get("client-request-id")
	if corrID == "" {
		corrID = newGUID()
	} else {
		w.Header().Set("client-request-id", corrID)
	}
	w.Header().Set("x-ms-request-id", traceID)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	fail := func(status int, kind string, code int, msg string) {
		writeAADError(w, r, status, kind, code, msg, traceID, corrID, now)
	}

	if r.Method != http.MethodPost {
		fail(http.StatusBadRequest, "invalid_request", 900561,
			fmt.Sprintf("The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
		return
	}
	if !s.tenantKnown(tenant) {
		fail(http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	form := r.PostForm
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && clientID == "" {
		// client_secret_basic: RFC 6749 §2.3.1 form-encodes both parts.
		clientID, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	missing := func(param string) {
		fail(http.StatusBadRequest, "invalid_request", 900144,
			fmt.Sprintf("The request body must contain the following parameter: '%s'.", param))
	}
	grant := form.Get("grant_type")
	switch {
	case grant == "":
		missing("grant_type")
		return
	case grant != "client_credentials":
		fail(http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant))
		return
	case clientID == "":
		missing("client_id")
		return
	case clientID != s.opts.ClientID:
		fail(http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, s.opts.Tenant))
		return
	}
	switch scope := form.Get("scope"); {
	case scope == "":
		missing("scope")
		return
	case scope != GraphScope:
		fail(http.StatusBadRequest, "invalid_scope", 70011,
			fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", scope))
		return
	}
	switch {
	case secret == "":
		fail(http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	case subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1:
		fail(http.StatusUnauthorized, "invalid_client", 7000215,
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
		return
	}

	tok := s.mintToken(now)
	secs := int64(s.opts.TokenTTL / time.Second)
	w.Header().Set("Content-Type", aadContentType)
	w.WriteHeader(http.StatusOK)
	w.Write(appendJSON(nil, tokenResponse{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: tok}))
}

// mintToken issues a JWT-shaped access token. Its signature is random: the
// server recognises its tokens by lookup, and clients must treat them as
// opaque anyway.
func (s *Server) mintToken(now time.Time) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"RS256","kid":"mdmsim"}`))
	uti := make([]byte, 16)
	rand.Read(uti)
	claims := struct {
		Aud   string   `json:"aud"`
		Iss   string   `json:"iss"`
		Iat   int64    `json:"iat"`
		Nbf   int64    `json:"nbf"`
		Exp   int64    `json:"exp"`
		AppID string   `json:"appid"`
		Roles []string `json:"roles"`
		Tid   string   `json:"tid"`
		Uti   string   `json:"uti"`
		Ver   string   `json:"ver"`
	}{
		Aud: "https://graph.microsoft.com", Iss: "https://sts.windows.net/" + s.fleet.TenantID + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(s.opts.TokenTTL).Unix(),
		AppID: s.opts.ClientID, Roles: []string{"DeviceManagementManagedDevices.Read.All"},
		Tid: s.fleet.TenantID, Uti: hex.EncodeToString(uti), Ver: "1.0",
	}
	sig := make([]byte, 256)
	rand.Read(sig)
	tok := header + "." + enc.EncodeToString(appendJSON(nil, claims)) + "." + enc.EncodeToString(sig)
	s.mu.Lock()
	s.tokens[tok] = now.Add(s.opts.TokenTTL)
	s.mu.Unlock()
	return tok
}

// authenticate checks the bearer token the way Graph words its failures.
func (s *Server) authenticate(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return unauthenticated(r, msgTokenEmpty)
	}
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case !ok && strings.Count(tok, ".") != 2:
		return unauthenticated(r, msgTokenFormat)
	case !ok:
		return unauthenticated(r, msgTokenInvalid)
	case !s.opts.Clock().Before(exp):
		return unauthenticated(r, msgTokenExpired)
	}
	return nil
}

// ---- Graph ----

// route is a resolved Graph request.
type route struct {
	version string // "v1.0" or "beta"
	kind    int
	id      string // device or app id
}

const (
	routeDevices    = iota // deviceManagement/managedDevices
	routeDevice            // deviceManagement/managedDevices/{id}
	routeDeviceApps        // deviceManagement/managedDevices/{id}/detectedApps (beta)
	routeApps              // deviceManagement/detectedApps
	routeApp               // deviceManagement/detectedApps/{id}
	routeAppDevices        // deviceManagement/detectedApps/{id}/managedDevices
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
	switch {
	case strings.EqualFold(flat[1], "managedDevices"):
		switch {
		case len(flat) == 2:
			rt.kind = routeDevices
		case len(flat) == 3:
			rt.kind, rt.id = routeDevice, flat[2]
		case strings.EqualFold(flat[3], "detectedApps") && version == "beta" && len(flat) == 4:
			rt.kind, rt.id = routeDeviceApps, flat[2]
		case strings.EqualFold(flat[3], "detectedApps") && version == "beta":
			return rt, segmentNotFound(flat[4])
		default:
			// v1.0 has no managedDevice -> detectedApps navigation.
			return rt, segmentNotFound(flat[3])
		}
	case strings.EqualFold(flat[1], "detectedApps"):
		switch {
		case len(flat) == 2:
			rt.kind = routeApps
		case len(flat) == 3:
			rt.kind, rt.id = routeApp, flat[2]
		case strings.EqualFold(flat[3], "managedDevices") && len(flat) == 4:
			rt.kind, rt.id = routeAppDevices, flat[2]
		case strings.EqualFold(flat[3], "managedDevices"):
			return rt, segmentNotFound(flat[4])
		default:
			return rt, segmentNotFound(flat[3])
		}
	default:
		return rt, segmentNotFound(flat[1])
	}
	return rt, nil
}

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request, segs []string) {
	rid := newGUID()
	crid := r.Header.Get("client-request-id")
	if crid == "" {
		crid = rid
	}
	h := w.Header()
	h.Set("request-id", rid)
	h.Set("client-request-id", crid)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"West Europe","Slice":"E","Ring":"5","ScaleUnit":"003","RoleInstance":"AM2PEPF0000A1B2"}}`)
	fail := func(e *apiError) { writeGraphError(w, e, s.opts.Clock()) }

	if len(segs) == 0 || (segs[0] != "v1.0" && segs[0] != "beta") {
		v := ""
		if len(segs) > 0 {
			v = segs[0]
		}
		fail(badRequest("Invalid version: " + v))
		return
	}
	if e := s.authenticate(r); e != nil {
		fail(e)
		return
	}
	rt, e := resolve(segs[0], segs[1:])
	if e != nil {
		fail(e)
		return
	}
	if r.Method != http.MethodGet {
		fail(methodNotAllowed(r))
		return
	}
	q, e := parseQuery(r)
	if e != nil {
		fail(e)
		return
	}
	meta := requestBase(r) + "/" + rt.version + "/$metadata#deviceManagement/"
	f := s.fleet
	switch rt.kind {
	case routeDevices:
		e = s.serveList(w, r, q, s.devices, deviceValues(f.Devices), []string{"deviceName", "serialNumber", "operatingSystem"}, meta+"managedDevices")
	case routeDevice:
		d := f.Device(rt.id)
		if d == nil {
			e = intuneNotFound(rid, fmt.Sprintf("deviceManagement/managedDevices('%s')", rt.id))
			break
		}
		e = s.serveEntity(w, q, s.devices, reflect.ValueOf(d).Elem(), meta+"managedDevices")
	case routeDeviceApps:
		d := f.Device(rt.id)
		if d == nil {
			e = intuneNotFound(rid, fmt.Sprintf("deviceManagement/managedDevices('%s')/detectedApps", rt.id))
			break
		}
		e = s.serveList(w, r, q, s.apps, appValues(d.ReportedApps()), []string{"displayName"},
			meta+"managedDevices('"+d.ID+"')/detectedApps")
	case routeApps:
		e = s.serveList(w, r, q, s.apps, appValues(f.apps), []string{"displayName"}, meta+"detectedApps")
	case routeApp:
		a, ok := f.app(rt.id)
		if !ok {
			e = intuneNotFound(rid, fmt.Sprintf("deviceManagement/detectedApps('%s')", rt.id))
			break
		}
		e = s.serveEntity(w, q, s.apps, reflect.ValueOf(a), meta+"detectedApps")
	case routeAppDevices:
		a, ok := f.app(rt.id)
		if !ok {
			e = intuneNotFound(rid, fmt.Sprintf("deviceManagement/detectedApps('%s')/managedDevices", rt.id))
			break
		}
		e = s.serveList(w, r, q, s.devices, deviceValues(f.holders[a.ID]), []string{"deviceName", "serialNumber", "operatingSystem"},
			meta+"detectedApps('"+a.ID+"')/managedDevices")
	}
	if e != nil {
		fail(e)
	}
}

func deviceValues(ds []*Device) []reflect.Value {
	vs := make([]reflect.Value, len(ds))
	for i, d := range ds {
		vs[i] = reflect.ValueOf(d).Elem()
	}
	return vs
}

func appValues(as []DetectedApp) []reflect.Value {
	vs := make([]reflect.Value, len(as))
	for i := range as {
		vs[i] = reflect.ValueOf(as[i])
	}
	return vs
}

func writeGraphJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", graphContentType)
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// serveList writes one page of a collection. items are in the server's
// stable order (by id). The page size is $top capped by MaxPageSize, or
// MaxPageSize; the next page is reached through an absolute @odata.nextLink
// carrying an opaque $skiptoken.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, q query, pt *propTable, items []reflect.Value, filterProps []string, context string) *apiError {
	sel, e := pt.parseSelect(q.selectRaw, q.hasSelect)
	if e != nil {
		return e
	}
	var terms []filterTerm
	if q.hasFilter {
		terms = parseFilter(q.filter, filterProps)
	}
	if len(terms) > 0 {
		kept := items[:0:0]
		for _, v := range items {
			if pt.matches(v, terms) {
				kept = append(kept, v)
			}
		}
		items = kept
	}
	scope := strings.ToLower(r.URL.Path) + "\x00" + filterScope(terms)
	start := 0
	if q.hasSkip {
		off, ok := s.skip.offset(scope, q.skiptoken)
		if !ok {
			return badRequest(fmt.Sprintf("The $skiptoken value '%s' is not valid.", q.skiptoken))
		}
		start = min(off, len(items))
	}
	size := s.opts.MaxPageSize
	if q.top > 0 && q.top < size {
		size = q.top
	}
	end := min(start+size, len(items))

	buf := []byte(`{"@odata.context":`)
	buf = appendJSON(buf, context+pt.contextSuffix(sel))
	if end < len(items) {
		buf = append(buf, `,"@odata.nextLink":`...)
		buf = appendJSON(buf, nextLink(r, q, s.skip.mint(scope, end)))
	}
	buf = append(buf, `,"value":[`...)
	for i, v := range items[start:end] {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = pt.appendObject(buf, "", v, sel)
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
