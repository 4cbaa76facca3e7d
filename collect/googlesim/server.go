package googlesim

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of the simulated tenant.
const (
	DefaultEnterprise = "LC02custos"
	DefaultProject    = "custos-sim"
	ServiceAccount    = "custos-collector@custos-sim.iam.gserviceaccount.com"
	// ScopeAMAPI and ScopePubSub are the OAuth scopes the simulator grants.
	ScopeAMAPI  = "https://www.googleapis.com/auth/androidmanagement"
	ScopePubSub = "https://www.googleapis.com/auth/pubsub"
	// MaxPageSize is the largest devices.list page served.
	MaxPageSize = 100
)

// Options configures a Server.
type Options struct {
	Devices    int    // fleet size; default 25
	Seed       uint64 // fleet seed
	Enterprise string // default DefaultEnterprise
	// Key is the service account's key; a 2048-bit key is generated when
	// nil.
	Key *rsa.PrivateKey
	Now func() time.Time
	// SlowDelay is how long FaultSlow holds a response; default 2 s.
	SlowDelay time.Duration
	// Twin, when set, makes one device of the fleet a phone another MDM
	// also manages: it reports that serial number and IMEI.
	Twin *Twin
	// AckDeadline is the subscription's lease on a pulled message;
	// default 10 s, Pub/Sub's default.
	AckDeadline time.Duration
}

// Server simulates Google's token endpoint and the Android Management
// API. It is safe for concurrent use.
type Server struct {
	opts  Options
	fleet *Fleet
	keyID string

	mu           sync.Mutex
	tokens       map[string]tokenGrant
	assertions   []string
	subscription []*msgState
	leased       map[string]*msgState // by ack id
	ackedPrefix  int                  // subscription[:ackedPrefix] are all acknowledged
	requests     []Request
	inject       []injection
}

type tokenGrant struct {
	scopes  []string
	expires time.Time
}

// Request is one request the simulator received.
type Request struct {
	Method, Path, RawQuery string
	Status                 int
	RetryAfter             string
	Fault                  Fault
	Started, Finished      time.Time // Finished is zero while in flight
}

// Fault is a failure the simulator can inject.
type Fault int

// Faults. Status faults answer with Google's error body; the others alter
// a successful response.
const (
	FaultNone Fault = iota
	Fault401
	Fault403
	Fault429 // with Retry-After: 1
	Fault429NoRetryAfter
	Fault503
	FaultTruncate    // the body cut short, Content-Length matching
	FaultMalformed   // an HTML error page with status 200
	FaultSlow        // answered after Options.SlowDelay
	FaultRepeatToken // nextPageToken naming the page just served
)

func (f Fault) status() int {
	return map[Fault]int{Fault401: 401, Fault403: 403, Fault429: 429, Fault429NoRetryAfter: 429, Fault503: 503}[f]
}

// New generates the fleet and the service account.
func New(opts Options) *Server {
	if opts.Devices <= 0 {
		opts.Devices = 25
	}
	if opts.Enterprise == "" {
		opts.Enterprise = DefaultEnterprise
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 2 * time.Second
	}
	if opts.AckDeadline <= 0 {
		opts.AckDeadline = 10 * time.Second
	}
	if opts.Key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		opts.Key = k
	}
	s := &Server{opts: opts, tokens: map[string]tokenGrant{}, keyID: fmt.Sprintf("%x", opts.Key.N.Bytes()[:20])}
	s.fleet = newFleet(opts.Enterprise, opts.Devices, opts.Seed, opts.Now())
	if t := opts.Twin; t != nil && t.Index >= 0 && t.Index < len(s.fleet.Devices) {
		d := s.fleet.Devices[t.Index]
		d.HardwareInfo.SerialNumber = t.Serial
		if d.NetworkInfo != nil {
			d.NetworkInfo.IMEI = t.IMEI
		}
	}
	return s
}

// Twin is a device of the fleet that another MDM also manages, by its
// index in the fleet, and the identifiers it shares with that record.
type Twin struct {
	Index        int
	Serial, IMEI string
}

// Fleet returns the generated enterprise.
func (s *Server) Fleet() *Fleet { return s.fleet }

// ServiceAccountKey returns the JSON key file of the simulated service
// account, whose token_uri is base + "/token".
func (s *Server) ServiceAccountKey(base string) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(s.opts.Key)
	if err != nil {
		panic(err)
	}
	key := map[string]string{
		"type": "service_account", "project_id": DefaultProject, "private_key_id": s.keyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": ServiceAccount, "client_id": "104729573922016581234",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": strings.TrimRight(base, "/") + "/token",
	}
	out, _ := json.MarshalIndent(key, "", "  ")
	return out
}

// Secrets returns every credential in play: the key file's private key,
// the assertions received and the access tokens issued.
func (s *Server) Secrets() []string {
	der, _ := x509.MarshalPKCS8PrivateKey(s.opts.Key)
	out := []string{strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))}
	s.mu.Lock()
	defer s.mu.Unlock()
	out = append(out, s.assertions...)
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// injection applies fault to requests whose path has prefix, n times
// (n < 0: always).
type injection struct {
	prefix string
	fault  Fault
	n      int
}

// Inject makes the next n requests (n < 0: every one) whose path starts
// with prefix ("/token", "/v1/enterprises/E/devices", …) get fault.
func (s *Server) Inject(prefix string, f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = append(s.inject, injection{prefix, f, n})
}

func (s *Server) injected(path string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.inject {
		in := &s.inject[i]
		if in.n != 0 && strings.HasPrefix(path, in.prefix) {
			if in.n > 0 {
				in.n--
			}
			return in.fault
		}
	}
	return FaultNone
}

// Handler serves every simulated endpoint.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		i := len(s.requests)
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Started: s.opts.Now()})
		s.mu.Unlock()
		f := s.injected(r.URL.Path)
		buf := &bufferedResponse{header: http.Header{}, status: 200}
		if st := f.status(); st != 0 {
			if f == Fault429 {
				buf.header.Set("Retry-After", "1")
			}
			googleError(buf, st, statusName(st), fmt.Sprintf("Injected failure %d.", st))
		} else {
			s.serve(buf, r)
		}
		body := buf.body.Bytes()
		switch f {
		case FaultSlow:
			t := time.NewTimer(s.opts.SlowDelay)
			select {
			case <-t.C:
			case <-r.Context().Done():
			}
			t.Stop()
		case FaultTruncate:
			if len(body) > 2 {
				body = body[:len(body)/2]
			}
		case FaultMalformed:
			body = []byte("<!DOCTYPE html><html><head><title>Error 502 (Server Error)!!1</title></head><body><p>That is an error.</p></body></html>")
			buf.header.Set("Content-Type", "text/html; charset=UTF-8")
		case FaultRepeatToken:
			self := r.URL.Query().Get("pageToken")
			if self == "" {
				self = s.encodeToken(0) // the first page, named by a token
			}
			body = repeatToken(body, self)
		}
		s.mu.Lock()
		s.requests[i].Status, s.requests[i].Fault, s.requests[i].Finished = buf.status, f, s.opts.Now()
		s.requests[i].RetryAfter = buf.header.Get("Retry-After")
		s.mu.Unlock()
		for k, v := range buf.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(buf.status)
		w.Write(body)
	})
}

// repeatToken makes a devices page name itself (token) as its next page.
func repeatToken(body []byte, token string) []byte {
	var page map[string]any
	if json.Unmarshal(body, &page) != nil || page["nextPageToken"] == nil {
		return body
	}
	page["nextPageToken"] = token
	out, _ := json.Marshal(page)
	return out
}

// bufferedResponse holds a response so that faults can alter it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(code int)        { b.status = code }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		s.serveToken(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "The requested URL "+r.URL.Path+" was not found on this server.")
		return
	}
	if strings.HasPrefix(r.URL.Path, "/v1/projects/") {
		s.servePubSub(w, r)
		return
	}
	if err := s.authorize(r, ScopeAMAPI); err != nil {
		err.write(w)
		return
	}
	s.serveAMAPI(w, r)
}

// Unexpected returns the requests the simulator did not serve as an API
// call: unknown paths and methods (404 or 405 from the router).
func (s *Server) Unexpected() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Fault == FaultNone && (r.Status == 404 || r.Status == 405) {
			out = append(out, r)
		}
	}
	return out
}

// apiError is Google's error: HTTP status, canonical status name, message.
type apiError struct {
	code    int
	status  string
	message string
	header  http.Header
}

func (e *apiError) write(w http.ResponseWriter) {
	for k, v := range e.header {
		w.Header()[k] = v
	}
	googleError(w, e.code, e.status, e.message)
}

// googleError writes Google's JSON error body (google.rpc.Status).
func googleError(w http.ResponseWriter, code int, status, message string) {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": message, "status": status}})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}

func statusName(code int) string {
	switch code {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 503:
		return "UNAVAILABLE"
	}
	return "INTERNAL"
}

// authorize checks the bearer token and that it carries scope.
func (s *Server) authorize(r *http.Request, scope string) *apiError {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	g, known := s.tokens[tok]
	s.mu.Unlock()
	if !ok || !known || s.opts.Now().After(g.expires) {
		return &apiError{code: 401, status: "UNAUTHENTICATED",
			message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
			header:  http.Header{"Www-Authenticate": {`Bearer realm="https://accounts.google.com/", error="invalid_token"`}}}
	}
	for _, sc := range g.scopes {
		if sc == scope {
			return nil
		}
	}
	return &apiError{code: 403, status: "PERMISSION_DENIED", message: "Request had insufficient authentication scopes."}
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		googleError(w, 500, "INTERNAL", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.Write(append(body, '\n'))
}

// ClearInjections drops every pending injection.
func (s *Server) ClearInjections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = nil
}

// Running is a simulator serving on a loopback port.
type Running struct {
	*Server
	url  string
	srv  *http.Server
	done chan struct{}
}

// Start serves a new simulator on 127.0.0.1 (a free port) until Close.
func Start(opts Options) (*Running, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("googlesim: listening on loopback: %w", err)
	}
	r := &Running{Server: New(opts), url: "http://" + ln.Addr().String(), done: make(chan struct{})}
	r.srv = &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(r.done)
		r.srv.Serve(ln) // returns http.ErrServerClosed on Close
	}()
	return r, nil
}

// URL is "http://127.0.0.1:PORT": the token endpoint is URL/token, the API
// and Pub/Sub are under URL/v1.
func (r *Running) URL() string { return r.url }

// Close stops serving.
func (r *Running) Close() error {
	err := r.srv.Close()
	<-r.done
	return err
}
