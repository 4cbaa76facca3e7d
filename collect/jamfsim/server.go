package jamfsim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
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
	DemoClientID     = "5f0c7e2a-9b41-4d8e-a6f3-1c2d3e4f5a6b"
	DemoClientSecret = "jamfsim-demo-client-secret-not-for-production"
	DemoUsername     = "custos-reader"
	DemoPassword     = "jamfsim-demo-password-not-for-production"
)

// Defaults of the simulated server.
const (
	// DefaultTokenTTL is the lifetime of an OAuth access token (an API
	// client's "access token lifetime").
	DefaultTokenTTL = 5 * time.Minute
	// DefaultUserTokenTTL is the lifetime of a user bearer token.
	DefaultUserTokenTTL = 20 * time.Minute
	// DefaultPageSize and MaxPageSize bound page-size on the listing.
	DefaultPageSize = 100
	MaxPageSize     = 2000
)

// Options configure a Server. The zero value of every field selects its
// default.
type Options struct {
	Devices int       // fleet size; default 20
	Seed    int64     // fleet seed, also seeds random faults; default 1
	Now     time.Time // fleet reference time; default time.Now, truncated to seconds
	// Clock drives token issuance and expiry; default time.Now. Tests
	// advance it to expire tokens.
	Clock        func() time.Time
	ClientID     string        // default DemoClientID
	ClientSecret string        // default DemoClientSecret
	Username     string        // default DemoUsername
	Password     string        // default DemoPassword
	TokenTTL     time.Duration // OAuth tokens; default DefaultTokenTTL
	UserTokenTTL time.Duration // user bearer tokens; default DefaultUserTokenTTL
	MaxPageSize  int           // largest page-size accepted; default MaxPageSize
	// Latency delays every response, so that concurrent requests overlap
	// (tests of a client's concurrency cap).
	Latency    time.Duration
	SlowDelay  time.Duration // how long FaultSlow holds a response; default 2 s
	RetryAfter time.Duration // Retry-After of Fault429 and Fault503, whole seconds; default 1 s
	Faults     Faults        // random faults on API requests
}

// Request is one request the server received.
type Request struct {
	Method, Path, RawQuery string
	Accept                 string
	Auth                   string // scheme of the Authorization header: "Bearer", "Basic" or ""
	Status                 int    // 0 while in flight, or when the connection was reset
	RetryAfter             string
	Fault                  Fault
	// Unexpected reports a path or method the simulator does not serve.
	Unexpected        bool
	Started, Finished time.Time // wall clock; Finished is zero while in flight
}

// AuthStats counts what the authentication endpoints did.
type AuthStats struct {
	OAuthTokens int // issued by /api/oauth/token
	UserTokens  int // issued by /api/v1/auth/token
	KeepAlives  int // tokens replaced through /api/v1/auth/keep-alive
	Invalidated int // tokens ended through /api/v1/auth/invalidate-token
	Refused     int // token requests refused
	Expired     int // API requests refused because their token had expired
	Live        int // tokens valid now
}

type grant struct {
	kind    string // "oauth" or "user"
	expires time.Time
}

// Server simulates a Jamf Pro server. It is safe for concurrent use.
type Server struct {
	opts Options

	mu          sync.Mutex
	fleet       *Fleet
	tokens      map[string]grant
	issued      []string
	auth        AuthStats
	log         []Request
	injections  []injection
	rng         *mrand.Rand
	inFlight    int
	maxInFlight int

	ln *simkit.Listener // set by Start
}

// New builds the fleet and a server for it without listening; use Handler
// with httptest, or Start.
func New(opts Options) *Server {
	if opts.Devices <= 0 {
		opts.Devices = 20
	}
	if opts.Seed == 0 {
		opts.Seed = 1
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
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.UserTokenTTL <= 0 {
		opts.UserTokenTTL = DefaultUserTokenTTL
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = MaxPageSize
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 2 * time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	return &Server{
		opts:   opts,
		fleet:  NewFleet(opts.Seed, opts.Devices, opts.Now),
		tokens: map[string]grant{},
		rng:    mrand.New(mrand.NewPCG(uint64(opts.Seed), 0x6661756c7473)),
	}
}

// Start builds a server and serves it in the background on 127.0.0.1
// (never another interface) on a free port, until Close.
func Start(opts Options) (*Server, error) {
	s := New(opts)
	ln, err := simkit.Serve("jamfsim", s.Handler())
	if err != nil {
		return nil, err
	}
	s.ln = ln
	return s, nil
}

// URL is the server's base URL, "http://127.0.0.1:PORT" (the Jamf Pro API
// is under /api, the Classic API under /JSSResource). It is empty unless
// the server was started with Start.
func (s *Server) URL() string { return s.ln.URL() }

// Close stops a server started with Start and waits for it to stop
// serving. It is a no-op for a server built with New.
func (s *Server) Close() error {
	return s.ln.Close()
}

// Handler serves every endpoint; it may be mounted on any listener.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Fleet returns the fleet being served. It must not be modified, nor read
// while Enroll or Remove may run.
func (s *Server) Fleet() *Fleet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fleet
}

// Enroll adds a device to the fleet, as an enrolment during a collection
// would, and returns its id.
func (s *Server) Enroll() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fleet.add("").Summary.ID
}

// Remove deletes the device with id from the fleet, as a retirement during
// a collection would; false if there is none.
func (s *Server) Remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fleet.remove(id)
}

// ---- test hooks ----

// Inject forces fault f on the next n requests whose path matches pattern
// (n < 0: every one until ClearInjections). A pattern is matched segment
// by segment, ignoring case: "*" matches any one segment, and the path may
// go on beyond the pattern unless the pattern ends in "$". So
// "/api/v2/mobile-devices$" is the listing alone, "/api/v2/mobile-devices/7"
// device 7's summary and detail, "/api/v2/mobile-devices/*/detail" every
// detail, "/JSSResource/mobiledevicehistory/id/7" device 7's history,
// "/api/oauth/token" the OAuth token endpoint.
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

// Requests returns the requests received so far in arrival order, those
// in flight included.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Unexpected returns the requests for paths or methods the simulator does
// not serve. A conforming client makes none.
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

// MaxInFlight is the most requests the server was handling at once (from
// arrival until it started to answer).
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInFlight
}

// Auth returns what the authentication endpoints did.
func (s *Server) Auth() AuthStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.auth
	now := s.opts.Clock()
	for _, g := range s.tokens {
		if now.Before(g.expires) {
			st.Live++
		}
	}
	return st
}

// Secrets returns every credential in play: the client secret, the
// password (as given and as a Basic credential) and every token issued.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	basic := base64.StdEncoding.EncodeToString([]byte(s.opts.Username + ":" + s.opts.Password))
	return append([]string{s.opts.ClientSecret, s.opts.Password, basic}, s.issued...)
}

// ---- serving ----

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
func (w *response) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Endpoint paths.
const (
	pathOAuthToken = "/api/oauth/token"
	pathUserToken  = "/api/v1/auth/token"
	pathKeepAlive  = "/api/v1/auth/keep-alive"
	pathInvalidate = "/api/v1/auth/invalidate-token"
	pathAuth       = "/api/v1/auth"
	pathDevices    = "/api/v2/mobile-devices"
	pathHistory    = "/JSSResource/mobiledevicehistory/id/"
)

func isAuthPath(p string) bool {
	return p == pathOAuthToken || p == pathUserToken || p == pathKeepAlive || p == pathInvalidate || p == pathAuth
}

func (s *Server) serveHTTP(rw http.ResponseWriter, r *http.Request) {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	rec := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Accept: r.Header.Get("Accept"),
		Auth: scheme, Started: time.Now()}
	listing := r.URL.Path == pathDevices
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	s.mu.Lock()
	i := len(s.log)
	s.log = append(s.log, rec)
	s.inFlight++
	s.maxInFlight = max(s.maxInFlight, s.inFlight)
	f := s.take(r.URL.Path, func(f Fault) bool {
		return !f.listingOnly() || listing && (f != FaultRepeatPage || page > 0)
	})
	if f == FaultNone && len(s.opts.Faults.Rates) > 0 && !isAuthPath(r.URL.Path) {
		if f = s.opts.Faults.pick(s.rng.Float64()); f.listingOnly() && (!listing || f == FaultRepeatPage && page == 0) {
			f = FaultNone
		}
	}
	s.mu.Unlock()
	answered := false
	done := func() { // the request stops counting as in flight once answered
		if !answered {
			answered = true
			s.mu.Lock()
			s.inFlight--
			s.mu.Unlock()
		}
	}
	defer done()

	if s.opts.Latency > 0 {
		sleepCtx(r.Context(), s.opts.Latency)
	}
	w := &response{header: http.Header{}}
	unexpected := false
	if st := f.status(); st != 0 {
		if f == Fault429 || f == Fault503 {
			w.header.Set("Retry-After", strconv.Itoa(int(s.opts.RetryAfter/time.Second)))
		}
		errorFor(r.URL.Path)(w, st, injectedCode(st), fmt.Sprintf("injected failure %d", st))
	} else {
		unexpected = !s.route(w, r, f)
	}

	body := w.body.Bytes()
	switch f {
	case FaultSlow:
		sleepCtx(r.Context(), s.opts.SlowDelay)
	case FaultTruncate:
		if len(body) > 1 {
			body = body[:len(body)/2]
		}
	case FaultMalformed:
		body = []byte(proxyPage)
		w.header.Set("Content-Type", "text/html; charset=utf-8")
	}
	finish := func(status int) {
		s.mu.Lock()
		defer s.mu.Unlock()
		l := &s.log[i]
		l.Status, l.Fault, l.Unexpected, l.Finished = status, f, unexpected, time.Now()
		l.RetryAfter = w.header.Get("Retry-After")
	}
	if f == FaultReset {
		done()
		finish(0)
		if hj, ok := rw.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // makes net/http close the connection
	}
	for k, v := range w.header {
		rw.Header()[k] = v
	}
	if w.code() != http.StatusNoContent {
		rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	done()
	finish(w.code())
	rw.WriteHeader(w.code())
	rw.Write(body)
}

// route answers r; false when the path or method is not simulated.
func (s *Server) route(w http.ResponseWriter, r *http.Request, f Fault) bool {
	p := r.URL.Path
	post := func(h func(http.ResponseWriter, *http.Request)) bool {
		if r.Method != http.MethodPost {
			jamfError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "Request method '"+r.Method+"' is not supported", "")
			return false
		}
		h(w, r)
		return true
	}
	switch {
	case p == pathOAuthToken:
		return post(s.serveOAuthToken)
	case p == pathUserToken:
		return post(s.serveUserToken)
	case p == pathKeepAlive:
		return post(s.serveKeepAlive)
	case p == pathInvalidate:
		return post(s.serveInvalidate)
	case p == pathAuth:
		if r.Method != http.MethodGet {
			jamfError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "Request method '"+r.Method+"' is not supported", "")
			return false
		}
		s.serveAuthDetails(w, r)
		return true
	case p == pathDevices || strings.HasPrefix(p, pathDevices+"/"):
		return s.serveDevices(w, r, f)
	case strings.HasPrefix(p, pathHistory):
		return s.serveHistory(w, r)
	}
	jamfError(w, http.StatusNotFound, "NOT_FOUND", "No handler found for "+r.Method+" "+p, "")
	return false
}

// errorFor returns the error writer of the API a path belongs to.
func errorFor(path string) func(w http.ResponseWriter, status int, code, description string) {
	switch {
	case strings.HasPrefix(path, "/JSSResource/"):
		return func(w http.ResponseWriter, status int, _, _ string) { classicError(w, status) }
	case path == pathOAuthToken:
		return oauthOrJamfError
	case path == pathUserToken:
		return func(w http.ResponseWriter, status int, code, description string) {
			if status == http.StatusUnauthorized {
				writeJSON(w, status, ErrorBody{HTTPStatus: status, Errors: []Cause{}})
				return
			}
			jamfError(w, status, code, description, "")
		}
	}
	return func(w http.ResponseWriter, status int, code, description string) {
		jamfError(w, status, code, description, "")
	}
}

// oauthOrJamfError answers the OAuth token endpoint: an OAuth error body
// for a refused client, Jamf's error body otherwise.
func oauthOrJamfError(w http.ResponseWriter, status int, code, description string) {
	switch status {
	case http.StatusUnauthorized:
		writeJSON(w, status, map[string]string{"error": "invalid_client"})
	case http.StatusForbidden:
		writeJSON(w, status, map[string]string{"error": "unauthorized_client", "error_description": "The API client is disabled"})
	default:
		jamfError(w, status, code, description, "")
	}
}

func injectedCode(status int) string {
	switch status {
	case 401:
		return "INVALID_TOKEN"
	case 403:
		return "INVALID_PRIVILEGE"
	case 429:
		return "TOO_MANY_REQUESTS"
	case 503:
		return "SERVICE_UNAVAILABLE"
	}
	return "UNEXPECTED_ERROR"
}

// Cause is one item of a Jamf Pro API error body.
type Cause struct {
	Code        string  `json:"code"`
	Field       *string `json:"field"`
	Description string  `json:"description"`
	ID          *string `json:"id"`
}

// ErrorBody is the Jamf Pro API's error body (ApiError).
type ErrorBody struct {
	HTTPStatus int     `json:"httpStatus"`
	Errors     []Cause `json:"errors"`
}

// jamfError writes the Jamf Pro API error body:
// {"httpStatus": N, "errors": [{"code", "field", "description", "id"}]}.
func jamfError(w http.ResponseWriter, status int, code, description, field string) {
	c := Cause{Code: code, Description: description, ID: ptr("0")}
	if field != "" {
		c.Field = ptr(field)
	}
	writeJSON(w, status, ErrorBody{HTTPStatus: status, Errors: []Cause{c}})
}

// classicError writes the Classic API's HTML error page.
func classicError(w http.ResponseWriter, status int) {
	text := http.StatusText(status)
	detail := map[int]string{
		401: "The request requires user authentication",
		403: "The server understood the request, but is refusing to fulfill it",
		404: "The server has not found anything matching the request URI",
		429: "Too many requests",
		500: "The server encountered an unexpected condition which prevented it from fulfilling the request",
		503: "The server is currently unable to handle the request due to a temporary overloading or maintenance of the server",
	}[status]
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html>\n<head>\n   <title>Status page</title>\n</head>\n<body style=\"font-family: sans-serif;\">\n"+
		"<p style=\"font-size: 1.2em;font-weight: bold;margin: 1em 0px;\">%s</p>\n<p>%s</p>\n"+
		"<p>You can get technical details <a href=\"http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html\">here</a>.<br>\n"+
		"Please continue your visit at our <a href=\"/\">home page</a>.\n</p>\n</body>\n</html>\n", text, detail)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // the simulator's own values always marshal
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(body)
}

// proxyPage is what FaultMalformed sends instead of the API's answer.
const proxyPage = "<!DOCTYPE html>\r\n<html><head><title>502 Bad Gateway</title></head>" +
	"<body><h1>Bad Gateway</h1><p>The proxy could not reach the Jamf Pro server. Reference #97.3c1a2b.1761234567</p></body></html>\r\n"

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
