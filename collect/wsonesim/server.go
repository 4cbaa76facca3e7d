package wsonesim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/http"
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
	DemoClientID     = "custos-wsonesim-client"
	DemoClientSecret = "wsonesim-demo-secret-not-for-production"
	DemoUsername     = "custos-api"
	DemoPassword     = "wsonesim-demo-password-not-for-production"
	// DemoTenantCode is the REST API key sent as aw-tenant-code.
	DemoTenantCode = "wsonesim+DemoTenantCode/Not4Production="
)

// TokenPath is the path of the OAuth token endpoint, on the same listener
// as the API (in SaaS it is on https://{region}.uemauth.workspaceone.com).
const TokenPath = "/connect/token"

// DefaultMaxPageSize is the largest page served, the API's default and cap.
const DefaultMaxPageSize = 500

// Options configure a Server. The zero value of every field selects its
// default.
type Options struct {
	Devices int       // fleet size; default 16
	Seed    uint64    // fleet seed, also seeds random faults
	Now     time.Time // fleet reference time; default time.Now().UTC() truncated to seconds
	// Clock drives token expiry, the rate limiter and the request log's
	// times; default time.Now.
	Clock func() time.Time

	ClientID, ClientSecret string // OAuth client; defaults DemoClientID, DemoClientSecret
	Username, Password     string // basic auth; defaults DemoUsername, DemoPassword
	TenantCode             string // aw-tenant-code; default DemoTenantCode
	TokenTTL               time.Duration

	MaxPageSize int // default DefaultMaxPageSize
	// SearchVersions and AppsVersions are the API versions (Accept:
	// application/json;version=N) served for device search (default 1 and
	// 2) and per-device apps (default 1). Other versions are answered
	// 406, as an older server answers a client that asks for too new a
	// version.
	SearchVersions, AppsVersions []int
	// UnstableOrder makes a search without orderby list the devices in a
	// fresh order on every request, as a server paging an unsorted query
	// may: a client that does not pin the order misses and repeats
	// devices across pages.
	UnstableOrder bool

	// RateLimit is the sustained rate, in API requests per second of
	// Clock, of a token bucket of RateBurst (default ceil(RateLimit));
	// an empty bucket answers 429 with Retry-After. API responses then
	// carry X-RateLimit-Limit, -Remaining and -Reset. Zero means
	// unlimited.
	RateLimit float64
	RateBurst int

	// Faults are random faults on API requests; Inject forces faults on
	// chosen paths.
	Faults Faults
}

// Request is one request the server received.
type Request struct {
	Method, Path, RawQuery string
	Accept                 string
	Auth                   string // "bearer", "basic" or "" (none or refused)
	Version                int    // the API version served, 0 when none was
	Status                 int    // 0 while in flight or when the connection was reset
	RetryAfter             string
	Fault                  Fault
	// Pattern is the Inject pattern that forced Fault; empty for a
	// random fault or none.
	Pattern     string
	RateLimited bool
	// Unexpected reports a path or method the simulator does not serve.
	Unexpected        bool
	Started, Finished time.Time // Finished is zero while in flight
}

// Server simulates the Workspace ONE UEM REST API and its OAuth token
// endpoint on one listener. It is safe for concurrent use.
type Server struct {
	opts  Options
	fleet *Fleet

	mu         sync.Mutex
	tokens     map[string]time.Time // issued access token → expiry
	received   map[string]bool      // bearer values received
	log        []Request
	injections []injection
	faultRNG   *mrand.Rand
	miscRNG    *mrand.Rand
	bucket     *bucket

	ln *simkit.Listener // set by Start
}

// New builds the fleet and a server for it without listening; use Handler
// with httptest, or Start.
func New(opts Options) *Server {
	if opts.Devices <= 0 {
		opts.Devices = 16
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now().UTC().Truncate(time.Second)
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&opts.ClientID, DemoClientID)
	def(&opts.ClientSecret, DemoClientSecret)
	def(&opts.Username, DemoUsername)
	def(&opts.Password, DemoPassword)
	def(&opts.TenantCode, DemoTenantCode)
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = DefaultMaxPageSize
	}
	if opts.SearchVersions == nil {
		opts.SearchVersions = []int{1, 2}
	}
	if opts.AppsVersions == nil {
		opts.AppsVersions = []int{1}
	}
	if opts.Faults.SlowDelay <= 0 {
		opts.Faults.SlowDelay = 2 * time.Second
	}
	if opts.Faults.RetryAfter <= 0 {
		opts.Faults.RetryAfter = time.Second
	}
	s := &Server{
		opts: opts, fleet: NewFleet(opts.Seed, opts.Devices, opts.Now),
		tokens: map[string]time.Time{}, received: map[string]bool{},
		faultRNG: mrand.New(mrand.NewPCG(opts.Seed, 0x6661756c7473)),
		miscRNG:  mrand.New(mrand.NewPCG(opts.Seed, 0x6d697363)),
	}
	if opts.RateLimit > 0 {
		burst := opts.RateBurst
		if burst <= 0 {
			burst = int(math.Ceil(opts.RateLimit))
		}
		s.bucket = &bucket{rate: opts.RateLimit, burst: float64(burst), tokens: float64(burst), last: opts.Clock()}
	}
	return s
}

// Start builds a server and serves it in the background on 127.0.0.1
// (never another interface), on a free port, until Close.
func Start(opts Options) (*Server, error) {
	s := New(opts)
	ln, err := simkit.Serve("wsonesim", s.Handler())
	if err != nil {
		return nil, err
	}
	s.ln = ln
	return s, nil
}

// URL is "http://127.0.0.1:PORT", the REST API host (the API is under
// URL/API) and the token endpoint's host (URL + TokenPath). It is empty
// unless the server was started with Start.
func (s *Server) URL() string { return s.ln.URL() }

// TokenURL is the token endpoint of a server started with Start.
func (s *Server) TokenURL() string {
	if s.URL() == "" {
		return ""
	}
	return s.URL() + TokenPath
}

// Close stops a server started with Start and waits for it to stop. It is
// a no-op for a server built with New.
func (s *Server) Close() error {
	return s.ln.Close()
}

// Handler serves every endpoint; it may be mounted on any listener.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Fleet is the fleet being served; it must not be modified.
func (s *Server) Fleet() *Fleet { return s.fleet }

// Requests returns the requests received so far, in arrival order,
// including those still in flight.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Unexpected returns the requests for paths or methods the simulator does
// not serve. A client under test should make none.
func (s *Server) Unexpected() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.log {
		if r.Unexpected {
			out = append(out, r)
		}
	}
	return out
}

// Secrets returns every credential in play: the client secret, the
// password, the tenant code, the basic credential as sent, and every
// access token issued or received. None may reach a client's disk.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{s.opts.ClientSecret, s.opts.Password, s.opts.TenantCode,
		base64.StdEncoding.EncodeToString([]byte(s.opts.Username + ":" + s.opts.Password))}
	for t := range s.tokens {
		out = append(out, t)
	}
	for t := range s.received {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out[4:])
	return out
}

// Inject forces fault f on the next n requests whose path matches pattern
// (n < 0: every one until ClearInjections). A pattern matches segment by
// segment, ignoring case: "*" matches any one segment, the path may go on
// beyond the pattern unless it ends in "$". So
// "/API/mdm/devices/search$" is the device search, "/API/mdm/devices/5012"
// everything under device 5012 (its apps), "/API/mdm/devices/*/apps"
// every device's apps, "/API" every API call, TokenPath the token
// endpoint. Only requests that authenticate consume an injection on the
// API; injections are consulted in the order made.
func (s *Server) Inject(pattern string, f Fault, n int) {
	if n == 0 || f <= FaultNone || f >= numFaults {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injections = append(s.injections, injection{pattern: pattern, fault: f, n: n})
}

// ClearInjections drops every pending injection.
func (s *Server) ClearInjections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.injections = nil
}

// take returns the fault injected for path, consuming one use, and the
// pattern that asked for it.
func (s *Server) take(path string) (Fault, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.injections {
		in := &s.injections[i]
		if !simkit.MatchSegments(in.pattern, path) {
			continue
		}
		f, p := in.fault, in.pattern
		if in.n > 0 {
			if in.n--; in.n == 0 {
				s.injections = slices.Delete(s.injections, i, i+1)
			}
		}
		return f, p
	}
	return FaultNone, ""
}

// draw returns a random fault for an API request.
func (s *Server) draw() Fault {
	if len(s.opts.Faults.Rates) == 0 {
		return FaultNone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Faults.pick(s.faultRNG.Float64())
}

// response buffers a response so that faults can alter it.
type response struct {
	header http.Header
	status int
	body   bytes.Buffer
}

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

func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Accept: r.Header.Get("Accept"), Started: s.opts.Clock()}
	s.mu.Lock()
	i := len(s.log)
	s.log = append(s.log, rec)
	s.mu.Unlock()

	w := &response{header: http.Header{}}
	switch {
	case r.URL.Path == TokenPath:
		s.serveToken(w, r, &rec)
	case r.URL.Path == "/API" || strings.HasPrefix(r.URL.Path, "/API/"):
		s.serveAPI(w, r, &rec)
	default:
		rec.Unexpected = true
		writeError(w, http.StatusNotFound, 404, "The requested resource was not found.")
	}
	s.deliver(rw, r, w, &rec, i)
}

// htmlPage is what FaultMalformed sends instead of JSON.
const htmlPage = "<!DOCTYPE html>\r\n<html><head><title>502 Bad Gateway</title></head>" +
	"<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response from an upstream server.</p></body></html>\r\n"

// deliver applies a transport fault and sends the buffered response. The
// log shows the request's fault before the response is held back, and
// its status before the client can read it.
func (s *Server) deliver(rw http.ResponseWriter, r *http.Request, w *response, rec *Request, i int) {
	update := func() {
		s.mu.Lock()
		s.log[i] = *rec
		s.mu.Unlock()
	}
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	body := w.body.Bytes()
	switch rec.Fault {
	case FaultSlow:
		update()
		sleepCtx(r.Context(), s.opts.Faults.SlowDelay)
	case FaultReset:
		rec.Finished = s.opts.Clock()
		update()
		if conn, _, err := http.NewResponseController(rw).Hijack(); err == nil {
			conn.Close()
			return
		}
		panic(http.ErrAbortHandler)
	case FaultTruncate:
		if len(body) > 1 {
			s.mu.Lock()
			cut := len(body)/4 + s.miscRNG.IntN(len(body)/2+1)
			s.mu.Unlock()
			body = body[:min(max(cut, 1), len(body)-1)]
		}
	case FaultMalformed:
		if status >= 200 && status <= 299 {
			body = []byte(htmlPage)
			w.header.Set("Content-Type", "text/html; charset=utf-8")
		}
	}
	for k, v := range w.header {
		rw.Header()[k] = v
	}
	rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rec.Status, rec.RetryAfter, rec.Finished = status, w.header.Get("Retry-After"), s.opts.Clock()
	update()
	rw.WriteHeader(status)
	rw.Write(body)
}

// ---- API ----

// serveAPI authenticates a request, applies injected and random faults
// and the rate limit, then routes it.
func (s *Server) serveAPI(w *response, r *http.Request, rec *Request) {
	if !s.authenticate(w, r, rec) {
		return
	}
	f, pattern := s.take(r.URL.Path)
	if f == FaultNone {
		f = s.draw()
	}
	rec.Fault, rec.Pattern = f, pattern
	if st := f.status(); st != 0 {
		s.statusFault(w, r, f)
		return
	}
	if wait, ok := s.admit(w); !ok {
		rec.RateLimited = true
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeError(w, http.StatusTooManyRequests, 429, "The rate limit of this organization group has been exceeded. Try again later.")
		return
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	route, versions := "", []int(nil)
	switch {
	case len(segs) == 4 && strings.EqualFold(segs[1], "mdm") && strings.EqualFold(segs[2], "devices") && strings.EqualFold(segs[3], "search"):
		route, versions = "search", s.opts.SearchVersions
	case len(segs) == 5 && strings.EqualFold(segs[1], "mdm") && strings.EqualFold(segs[2], "devices") && strings.EqualFold(segs[4], "apps"):
		route, versions = "apps", s.opts.AppsVersions
	default:
		rec.Unexpected = true
		writeError(w, http.StatusNotFound, 404, "The requested resource "+r.URL.Path+" was not found.")
		return
	}
	if r.Method != http.MethodGet {
		rec.Unexpected = true
		w.Header().Set("Allow", "GET")
		writeError(w, http.StatusMethodNotAllowed, 405, "The requested resource does not support http method '"+r.Method+"'.")
		return
	}
	v, ok := acceptVersion(r.Header.Get("Accept"))
	if !ok || !slices.Contains(versions, v) {
		writeError(w, http.StatusNotAcceptable, 406, fmt.Sprintf("The requested API version is not supported for this resource (Accept: %.100s); supported versions: %s.",
			r.Header.Get("Accept"), joinInts(versions)))
		return
	}
	rec.Version = v
	w.Header().Set("Content-Type", fmt.Sprintf("application/json; version=%d; charset=utf-8", v))
	if route == "search" {
		s.search(w, r, f)
	} else {
		s.apps(w, r, segs[3], f)
	}
}

// acceptVersion reads the version of the first JSON media range in an
// Accept header: application/json;version=N. No Accept, */* or JSON
// without a version means version 1.
func acceptVersion(accept string) (int, bool) {
	if strings.TrimSpace(accept) == "" {
		return 1, true
	}
	for rng := range strings.SplitSeq(accept, ",") {
		params := strings.Split(rng, ";")
		mt := strings.ToLower(strings.TrimSpace(params[0]))
		if mt != "application/json" && mt != "*/*" {
			continue
		}
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "version") {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				return n, err == nil && n > 0
			}
		}
		return 1, true
	}
	return 0, false
}

func joinInts(vs []int) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strconv.Itoa(v)
	}
	return strings.Join(out, ", ")
}

// statusFault answers with the status of f.
func (s *Server) statusFault(w *response, r *http.Request, f Fault) {
	switch f {
	case Fault401:
		writeError(w, 401, 401, "User credentials are invalid or the access token has expired.")
	case Fault403:
		if tc, ok := r.Header["Aw-Tenant-Code"]; ok {
			writeError(w, 403, 1013, "Tenant code "+strings.Join(tc, ",")+" does not identify an Organization Group.")
		} else {
			writeError(w, 403, 403, "Access denied: the API role of this account does not allow this request.")
		}
	case Fault429, Fault429NoRetryAfter:
		if f == Fault429 {
			ra := s.opts.Faults.RetryAfter
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ra.Seconds()))))
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(s.opts.Clock().Add(ra).Unix(), 10))
		}
		writeError(w, 429, 429, "The rate limit of this organization group has been exceeded. Try again later.")
	case Fault503:
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(s.opts.Faults.RetryAfter.Seconds()))))
		writeError(w, 503, 503, "The service is temporarily unavailable.")
	default:
		writeError(w, f.status(), f.status(), http.StatusText(f.status())+".")
	}
}

// writeError writes Workspace ONE's error body with a fresh activityId.
// errorCode 1013 (tenant code) and 5061 (device not found) are the API's;
// for other failures the simulator sends the HTTP status as errorCode.
func writeError(w http.ResponseWriter, status, code int, msg string) {
	body, _ := json.Marshal(struct {
		ErrorCode  int    `json:"errorCode"`
		Message    string `json:"message"`
		ActivityID string `json:"activityId"`
	}{code, msg, newGUID()})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
}

// writeJSON writes v as a 200 JSON body.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, 500, 500, "internal error")
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// newGUID returns a random version-4 GUID (activity ids are not part of
// the deterministic fleet).
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// bucket is a token bucket on the server's clock.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

// admit takes a token from the bucket, if there is one, and sets the
// rate-limit headers; otherwise it reports how long until one is back.
func (s *Server) admit(w *response) (time.Duration, bool) {
	if s.bucket == nil {
		return 0, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, now := s.bucket, s.opts.Clock()
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
	}
	b.last = now
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	full := time.Duration((b.burst - b.tokens) / b.rate * float64(time.Second))
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(int(b.burst)))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(int(b.tokens)))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(full).Unix(), 10))
	if ok {
		return 0, true
	}
	return max(time.Duration((1-b.tokens)/b.rate*float64(time.Second)), time.Second), false
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
