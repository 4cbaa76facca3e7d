package mdmsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custos-ir/custos/collect/simkit"
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
	Devices      int           // fleet size; default 50, at most MaxDevices
	Seed         int64         // fleet seed, also seeds the fault and Retry-After draws; default 1
	Tenant       string        // tenant domain; default DefaultTenant (Fleet.TenantID is accepted too)
	ClientID     string        // default DemoClientID
	ClientSecret string        // default DemoClientSecret
	Now          time.Time     // fleet reference time; default time.Now().UTC() truncated to seconds
	TokenTTL     time.Duration // access-token lifetime; default 3599s
	MaxPageSize  int           // page size cap of every collection; default 100
	// AppsPerDevice is about how many apps a device carries; default
	// DefaultAppsPerDevice (see NewFleetApps). Tests that page through
	// every app of a fleet run faster with a lighter fleet.
	AppsPerDevice int
	// Clock drives token issuance and expiry, error timestamps and the
	// rate limiters; default time.Now. Tests advance it to expire tokens
	// or refill a bucket.
	Clock func() time.Time

	// RateLimit is the sustained rate, in requests per second of Clock,
	// of a token bucket shared by every Graph request (each request inside
	// a $batch counts; the $batch envelope and the token endpoint do not).
	// A request finding the bucket empty is answered 429 TooManyRequests
	// with Retry-After (seconds until a token is back, at least 1). Zero
	// means unlimited. Intune's devices service allows 2,000 requests per
	// 20 s per app and tenant, i.e. RateLimit 100 with RateBurst 2000.
	RateLimit float64
	// RateBurst is the bucket size; default ceil(RateLimit).
	RateBurst int
	// DeviceAppsRateLimit and DeviceAppsRateBurst add a second, usually
	// tighter bucket for the beta per-device detectedApps endpoint, which
	// Intune throttles harder than the rest.
	DeviceAppsRateLimit float64
	DeviceAppsRateBurst int
	// RetryAfterOmit is the fraction (0 to 1) of throttling 429s, Fault429
	// and Fault503 responses sent without Retry-After, as Intune sometimes
	// does. The choice is drawn from a PRNG seeded with Seed.
	RetryAfterOmit float64

	// Faults are random faults injected into Graph requests (see
	// ParseFaults); Server.Inject forces faults on chosen paths.
	Faults Faults
	// ForeignURL is where FaultForeignLink points paging links; default
	// the request's port on 127.0.0.2, which a client that wrongly follows
	// the link finds closed (and which never leaves the machine).
	ForeignURL string
	// LogLimit bounds the request log: 0 keeps every request (the
	// default), a positive value keeps the most recent LogLimit requests
	// and a negative value keeps none. Counters (Stats) and the record of
	// unexpected requests are kept regardless.
	LogLimit int
}

// Request is one request the server answered.
type Request struct {
	Method    string
	Path      string
	RawQuery  string
	Status    int    // 0 when the connection was reset (FaultReset)
	RequestID string // the request-id (Graph) or x-ms-request-id (token endpoint) sent back
	// Fault is the fault injected into this response, or FaultNone.
	Fault Fault
	// RateLimited reports a 429 from the rate limiter (not from a fault).
	RateLimited bool
	// Unexpected reports a path, version or method the simulator does
	// not serve (answered as Graph does: 400 BadRequest "Resource not
	// found for the segment …", "Invalid version", or 405).
	Unexpected bool
	// Batch holds the requests of a $batch body, in the order sent.
	Batch []Request
}

// Stats counts what the server sent since it was built or ResetLog was
// called. Requests inside $batch bodies count in BatchItems and in every
// other counter, but not in Requests.
type Stats struct {
	Requests   int           // HTTP requests answered, token endpoint included
	BatchItems int           // requests answered inside $batch bodies
	Status429  int           // 429 responses, whatever sent them
	Throttled  int           // 429 responses sent by the rate limiters
	Faults     map[Fault]int // faults injected, by kind
	Unexpected int           // requests for paths or methods not served
}

// Server simulates the Entra ID token endpoint and the Intune part of
// Microsoft Graph on one listener: the login authority and the Graph host are
// the same base URL. It is safe for concurrent use.
type Server struct {
	opts   Options
	fleet  *Fleet
	props  map[reflect.Type]*propTable
	skip   skipTokens
	limit  *bucket
	appsLi *bucket

	mu         sync.Mutex
	tokens     map[string]time.Time // access token -> expiry
	log        []Request
	unexpected []Request
	stats      Stats
	injections []injection
	faultRNG   *mrand.Rand // fault draws only, so that other draws do not shift them
	miscRNG    *mrand.Rand // Retry-After omission, truncation points, $batch order

	ln *simkit.Listener // set by Start
}

// maxUnexpected bounds the record of unexpected requests.
const maxUnexpected = 1000

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
	if opts.Faults.SlowDelay <= 0 {
		opts.Faults.SlowDelay = 2 * time.Second
	}
	if opts.Faults.RetryAfter <= 0 {
		opts.Faults.RetryAfter = time.Second
	}
	key := make([]byte, 32)
	rand.Read(key)
	seed := uint64(opts.Seed)
	return &Server{
		opts:  opts,
		fleet: NewFleetApps(opts.Seed, opts.Devices, opts.Now, opts.AppsPerDevice),
		props: map[reflect.Type]*propTable{
			reflect.TypeFor[Device]():                      newPropTable(reflect.TypeFor[Device](), "microsoft.graph.managedDevice"),
			reflect.TypeFor[DetectedApp]():                 newPropTable(reflect.TypeFor[DetectedApp](), "microsoft.graph.detectedApp"),
			reflect.TypeFor[DeviceCompliancePolicyState](): newPropTable(reflect.TypeFor[DeviceCompliancePolicyState](), "microsoft.graph.deviceCompliancePolicyState"),
			reflect.TypeFor[AuditEvent]():                  newPropTable(reflect.TypeFor[AuditEvent](), "microsoft.graph.auditEvent"),
		},
		skip:     skipTokens{key: key},
		limit:    newBucket(opts.RateLimit, opts.RateBurst),
		appsLi:   newBucket(opts.DeviceAppsRateLimit, opts.DeviceAppsRateBurst),
		tokens:   map[string]time.Time{},
		stats:    Stats{Faults: map[Fault]int{}},
		faultRNG: mrand.New(mrand.NewPCG(seed, 0x6661756c7473)),
		miscRNG:  mrand.New(mrand.NewPCG(seed, 0x6d697363)),
	}
}

// Start builds a server and serves it in the background on 127.0.0.1 (never
// another interface) on a free port.
func Start(opts Options) (*Server, error) {
	s := New(opts)
	ln, err := simkit.Serve("mdmsim", s.Handler())
	if err != nil {
		return nil, err
	}
	s.ln = ln
	return s, nil
}

// URL is the base URL, "http://127.0.0.1:PORT", of both the login authority
// and the Graph host. It is empty unless the server was started with Start.
func (s *Server) URL() string { return s.ln.URL() }

// Handler serves every endpoint; it may be mounted on any listener.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Fleet is the fleet being served; it must not be modified.
func (s *Server) Fleet() *Fleet { return s.fleet }

// Close stops a server started with Start and waits for it to stop serving.
// It is a no-op for a server built with New.
func (s *Server) Close() error {
	return s.ln.Close()
}

// ---- test hooks ----

// Requests returns a copy of the log of requests served, in completion
// order (see Options.LogLimit).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.opts.LogLimit; l > 0 && len(s.log) > l {
		return slices.Clone(s.log[len(s.log)-l:])
	}
	return slices.Clone(s.log)
}

// Unexpected returns the requests, $batch items included, for paths,
// versions or methods the simulator does not serve (the first 1,000). A
// client under test should have none.
func (s *Server) Unexpected() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unexpected)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Faults = make(map[Fault]int, len(s.stats.Faults))
	for f, n := range s.stats.Faults {
		st.Faults[f] = n
	}
	return st
}

// ResetLog clears the request log, the record of unexpected requests and
// the counters. Injections, tokens and rate-limit state are kept.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.unexpected = nil, nil
	s.stats = Stats{Faults: map[Fault]int{}}
}

// Inject forces fault f on the next n requests whose path matches pattern,
// before the rate limiter and the random faults are consulted; n < 0 means
// every matching request until ClearInjections, and n == 0 does nothing.
//
// A pattern is matched against the request path (without the query)
// segment by segment, case-insensitively: "*" matches any one segment, the
// last segment of the pattern matches any segment it is a prefix of, and
// the path may go on beyond the pattern — unless the pattern ends in "$",
// which asks for the whole path and nothing more. So
// "/v1.0/deviceManagement/managedDevices" matches the device list and
// everything under it, "/v1.0/deviceManagement/managedDevices$" the list
// alone, "/beta/deviceManagement/managedDevices/*/detectedApps" every
// device's apps, "/contoso.onmicrosoft.com/oauth2" the token endpoint, and
// "" every request.
//
// Requests inside a $batch body are matched by their own path (with the
// batch's version prefix). A status fault (401, 403, 429, 5xx) answers
// the item alone; a transport fault (slow, reset, truncate, malformed)
// befalls the whole $batch response that carries the item, as it would on
// the wire; a paging fault is left for a request sent on its own. Injections are consulted in the order they were made; only requests
// that authenticate (or token requests) consume them.
func (s *Server) Inject(pattern string, f Fault, n int) {
	if n == 0 || f <= FaultNone || f >= numFaults {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injections = append(s.injections, injection{prefix: pattern, fault: f, n: n})
}

// ClearInjections drops every pending injection.
func (s *Server) ClearInjections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injections = nil
}

func matchPattern(pattern, path string) bool {
	exact := strings.HasSuffix(pattern, "$")
	pattern = strings.TrimSuffix(pattern, "$")
	if pattern == "" {
		return !exact || path == "" || path == "/"
	}
	ps := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if exact && len(segs) != len(ps) {
		return false
	}
	for i, p := range ps {
		if i >= len(segs) {
			return false
		}
		switch {
		case p == "*":
		case i == len(ps)-1 && !exact:
			if !strings.HasPrefix(strings.ToLower(segs[i]), strings.ToLower(p)) {
				return false
			}
		case !strings.EqualFold(p, segs[i]):
			return false
		}
	}
	return true
}

// takeInjection returns the fault injected for path, consuming one use, or
// FaultNone. A $batch item (item) only takes status faults.
func (s *Server) takeInjection(path string, item bool) Fault {
	return s.take(path, func(f Fault) bool { return !item || f.status() != 0 })
}

// takeEnvelopeInjection returns a transport fault injected for the path of
// a $batch item, to apply to the whole $batch response, consuming one use.
func (s *Server) takeEnvelopeInjection(path string) Fault {
	return s.take(path, func(f Fault) bool { return f.status() == 0 && !f.pagingOnly() })
}

// take returns the first fault injected for path that ok accepts,
// consuming one use, or FaultNone.
func (s *Server) take(path string, ok func(Fault) bool) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.injections {
		in := &s.injections[i]
		if !matchPattern(in.prefix, path) || !ok(in.fault) {
			continue
		}
		f := in.fault
		if in.n > 0 {
			in.n--
			if in.n == 0 {
				s.injections = slices.Delete(s.injections, i, i+1)
			}
		}
		return f
	}
	return FaultNone
}

func (s *Server) drawFault() Fault {
	if len(s.opts.Faults.Rates) == 0 {
		return FaultNone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Faults.pick(s.faultRNG.Float64())
}

func (s *Server) drawTokenFault() Fault {
	if s.opts.Faults.Token <= 0 {
		return FaultNone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, w := s.faultRNG.Float64(), s.faultRNG.Float64()
	return s.opts.Faults.pickToken(v, w)
}

// retryAfterFor is the Retry-After, in seconds, of a 429 or 503: 0 to
// omit it. wait is the rate limiter's wait (for a throttling 429, f is
// FaultNone).
func (s *Server) retryAfterFor(f Fault, wait time.Duration) int {
	switch f {
	case FaultNone, Fault429, Fault503:
	default:
		return 0
	}
	if s.opts.RetryAfterOmit > 0 {
		s.mu.Lock()
		omit := s.miscRNG.Float64() < s.opts.RetryAfterOmit
		s.mu.Unlock()
		if omit {
			return 0
		}
	}
	if f == FaultNone {
		return retryAfterSeconds(wait)
	}
	return retryAfterSeconds(s.opts.Faults.RetryAfter)
}

// admit applies the rate limiters to a request for route rt: 0 to go
// ahead, else how long until the request would be admitted.
func (s *Server) admit(rt route) time.Duration {
	if s.limit == nil && s.appsLi == nil {
		return 0
	}
	apps := s.appsLi
	if rt.kind != routeDeviceApps {
		apps = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return admit(s.opts.Clock(), s.limit, apps)
}

// record counts a finished request and logs it.
func (s *Server) record(rec *Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stats
	st.Requests++
	st.BatchItems += len(rec.Batch)
	count := func(r *Request) {
		if r.Status == http.StatusTooManyRequests {
			st.Status429++
		}
		if r.RateLimited {
			st.Throttled++
		}
		if r.Fault != FaultNone {
			st.Faults[r.Fault]++
		}
		if r.Unexpected {
			st.Unexpected++
			if len(s.unexpected) < maxUnexpected {
				u := *r
				u.Batch = nil
				s.unexpected = append(s.unexpected, u)
			}
		}
	}
	count(rec)
	for i := range rec.Batch {
		count(&rec.Batch[i])
	}
	switch l := s.opts.LogLimit; {
	case l < 0:
	case l > 0 && len(s.log) >= 2*l:
		s.log = append(slices.Clone(s.log[len(s.log)-l+1:]), *rec)
	default:
		s.log = append(s.log, *rec)
	}
}

// ---- serving ----

// response buffers a response so that faults can alter it before it is
// sent, and so that $batch items can be answered by the same code.
type response struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newResponse() *response { return &response{header: http.Header{}} }

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *response) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

func (w *response) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	rec := &Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	w := newResponse()
	segs := splitPath(r.URL.Path)
	var transport Fault
	if len(segs) == 4 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "v2.0") && strings.EqualFold(segs[3], "token") {
		transport = s.serveToken(w, r, segs[0], rec)
	} else {
		transport = s.serveGraph(w, r, segs, rec, false)
	}
	rec.RequestID = w.header.Get("request-id")
	if rec.RequestID == "" {
		rec.RequestID = w.header.Get("x-ms-request-id")
	}
	s.deliver(rw, r, w, transport, rec)
}

// htmlPage is what FaultMalformed sends instead of JSON.
const htmlPage = "<!DOCTYPE html>\r\n<html><head><title>Service Unavailable</title></head>" +
	"<body><h1>Service Unavailable</h1><p>The proxy could not complete your request. Reference #18.2f4a1d17.1761234567.5c0b2e1</p></body></html>\r\n"

// deliver logs the request and sends the buffered response, altered by a
// transport fault. The request is logged before the client can see any
// answer, so a client that has its response finds it in the log.
func (s *Server) deliver(rw http.ResponseWriter, r *http.Request, w *response, f Fault, rec *Request) {
	body := w.body.Bytes()
	switch f {
	case FaultSlow:
		sleepCtx(r.Context(), s.opts.Faults.SlowDelay)
	case FaultReset:
		rec.Status = 0
		s.record(rec)
		if hj, ok := rw.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // makes net/http close the connection
	case FaultTruncate:
		if len(body) > 1 {
			s.mu.Lock()
			cut := len(body)/4 + s.miscRNG.IntN(len(body)/2+1)
			s.mu.Unlock()
			body = body[:min(max(cut, 1), len(body)-1)]
		}
	case FaultMalformed:
		body = []byte(htmlPage)
		w.header.Set("Content-Type", "text/html; charset=utf-8")
		w.header.Del("OData-Version")
	case FaultForeignLink:
		const key = `"@odata.nextLink":"`
		body = bytes.Replace(body, []byte(key+requestBase(r)), []byte(key+s.foreignBase(r)), 1)
	case FaultRepeatLink:
		body = replaceNextLink(body, requestBase(r)+r.URL.RequestURI())
	}
	for k, v := range w.header {
		rw.Header()[k] = v
	}
	rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rec.Status = w.code()
	s.record(rec)
	rw.WriteHeader(w.code())
	rw.Write(body)
}

// replaceNextLink sets the value of the page's @odata.nextLink, if it has
// one. The simulator writes the key once, and its value has no escaped
// quote.
func replaceNextLink(body []byte, link string) []byte {
	key := []byte(`"@odata.nextLink":`)
	i := bytes.Index(body, key)
	if i < 0 {
		return body
	}
	start := i + len(key)
	end := bytes.IndexByte(body[start+1:], '"')
	if end < 0 || body[start] != '"' {
		return body
	}
	end += start + 2
	out := append([]byte{}, body[:start]...)
	out = appendString(out, link)
	return append(out, body[end:]...)
}

func (s *Server) foreignBase(r *http.Request) string {
	if s.opts.ForeignURL != "" {
		return strings.TrimSuffix(s.opts.ForeignURL, "/")
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		return "http://127.0.0.2:" + port
	}
	return "http://127.0.0.2"
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

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
