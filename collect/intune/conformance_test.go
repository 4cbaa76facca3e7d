package intune_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/intune"
	"github.com/custos-ir/custos/collect/mdmsim"
)

// TestConformance runs the shared source suite against the Graph
// simulator.
func TestConformance(t *testing.T) {
	collecttest.Run(t, graphHarness{})
}

// conformanceSecret is the client secret of the simulated app. It holds
// characters that form encoding changes, so that the suite also looks for
// its encoded forms.
const conformanceSecret = "ck~Conformance+Secret/42=not-for-disk"

// graphHarness serves mdmsim behind a thin layer that classifies requests
// into the suite's targets, notes when each arrived and was answered (for
// Retry-After and cancellation), and collects the tokens in play. Faults
// are mdmsim's own, injected by path.
type graphHarness struct{}

func (graphHarness) Start(t *testing.T, cfg collecttest.Config) collecttest.Sim {
	g := &graphSim{
		sim: mdmsim.New(mdmsim.Options{
			Devices: cfg.Devices, Seed: 11, ClientSecret: conformanceSecret, MaxPageSize: cfg.PageSize,
			AppsPerDevice: 12, ForeignURL: cfg.ForeignURL, Faults: mdmsim.Faults{SlowDelay: cfg.SlowDelay},
		}),
		pageSize: cfg.PageSize,
		tokens:   map[string]bool{},
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

// graphSim is one simulator with the suite's view of it.
type graphSim struct {
	sim      *mdmsim.Server
	url      string
	pageSize int

	mu     sync.Mutex
	log    []*served
	tokens map[string]bool
}

type served struct {
	req       collecttest.Request
	requestID string
	items     []collecttest.Request // a $batch's items as sent, until mdmsim has answered them
}

// simFaults maps the suite's faults to mdmsim's.
var simFaults = map[collecttest.Fault]mdmsim.Fault{
	collecttest.Throttle:             mdmsim.Fault429,
	collecttest.ThrottleNoRetryAfter: mdmsim.Fault429NoRetryAfter,
	collecttest.Unauthorized:         mdmsim.Fault401,
	collecttest.Forbidden:            mdmsim.Fault403,
	collecttest.Unavailable:          mdmsim.Fault503,
	collecttest.Truncated:            mdmsim.FaultTruncate,
	collecttest.Malformed:            mdmsim.FaultMalformed,
	collecttest.ForeignLink:          mdmsim.FaultForeignLink,
	collecttest.RepeatedLink:         mdmsim.FaultRepeatLink,
	collecttest.Slow:                 mdmsim.FaultSlow,
}

func (g *graphSim) NewSource(t *testing.T, c collecttest.Client) collect.Source {
	src, err := intune.New(intune.Config{
		Tenant: mdmsim.DefaultTenant, ClientID: mdmsim.DemoClientID, ClientSecret: conformanceSecret,
		GraphURL: g.url, LoginURL: g.url, Scope: mdmsim.GraphScope,
		HTTP: c.HTTP, Sleep: c.Sleep, PageSize: g.pageSize, RequestsPerSecond: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (g *graphSim) Devices() []string {
	f := g.sim.Fleet()
	ids := make([]string, f.Len())
	for i := range ids {
		ids[i] = f.DeviceAt(i).ID
	}
	return ids
}

// Inject maps a target to mdmsim path patterns: the token endpoint, the
// device list alone ("$"), or everything under one device (its apps and
// its compliance states; n counts per endpoint). $batch items match the
// same patterns.
func (g *graphSim) Inject(target collecttest.Target, f collecttest.Fault, n int) error {
	sf, ok := simFaults[f]
	paging := f == collecttest.ForeignLink || f == collecttest.RepeatedLink
	switch {
	case !ok:
	case target.Kind == collecttest.TargetAuth && !paging:
		g.sim.Inject("/"+mdmsim.DefaultTenant+"/oauth2/v2.0/token$", sf, n)
		return nil
	case target.Kind == collecttest.TargetList:
		g.sim.Inject("/v1.0/deviceManagement/managedDevices$", sf, n)
		return nil
	case target.Kind == collecttest.TargetDevice && target.DeviceID != "":
		g.sim.Inject("/v1.0/deviceManagement/managedDevices/"+target.DeviceID, sf, n)
		g.sim.Inject("/beta/deviceManagement/managedDevices/"+target.DeviceID, sf, n)
		return nil
	}
	return fmt.Errorf("%v on %v is not simulated", f, target)
}

// classify maps a request path to the suite's target.
func classify(path string) collecttest.Target {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(segs) == 4 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[3], "token"):
		return collecttest.Auth
	case len(segs) < 3 || (segs[0] != "v1.0" && segs[0] != "beta") ||
		!strings.EqualFold(segs[1], "deviceManagement") || !strings.EqualFold(segs[2], "managedDevices"):
		return collecttest.Target{}
	case len(segs) == 3:
		return collecttest.List
	}
	return collecttest.Device(segs[3])
}

func (g *graphSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := &served{req: collecttest.Request{Target: classify(r.URL.Path), Method: r.Method, URL: r.URL.RequestURI(), Started: time.Now()}}
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/$batch") {
		s.items = batchItems(r)
	}
	g.mu.Lock()
	g.log = append(g.log, s)
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
		g.tokens[tok] = true
	}
	g.mu.Unlock()

	rec := &recorder{ResponseWriter: w}
	if s.req.Target.Kind == collecttest.TargetAuth {
		rec.tee = &bytes.Buffer{}
	}
	defer func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		s.req.Status = rec.status
		s.req.RetryAfter = rec.Header().Get("Retry-After")
		s.req.Finished = time.Now()
		s.requestID = rec.Header().Get("request-id")
		if s.requestID == "" {
			s.requestID = rec.Header().Get("x-ms-request-id")
		}
		if rec.tee != nil {
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if json.Unmarshal(rec.tee.Bytes(), &tok) == nil && tok.AccessToken != "" {
				g.tokens[tok.AccessToken] = true
			}
		}
	}()
	g.sim.Handler().ServeHTTP(rec, r)
}

// Requests joins the harness's log (arrival order, timings) with mdmsim's
// (the fault each response carried, $batch items) by request id.
func (g *graphSim) Requests() []collecttest.Request {
	byID := map[string]mdmsim.Request{}
	for _, r := range g.sim.Requests() {
		if r.RequestID != "" {
			byID[r.RequestID] = r
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []collecttest.Request
	for _, s := range g.log {
		req := s.req
		sr := byID[s.requestID]
		req.Fault = suiteFault(sr.Fault)
		out = append(out, req)
		for _, it := range sr.Batch {
			out = append(out, collecttest.Request{
				Target: classify(it.Path), Method: it.Method, URL: it.Path + "?" + it.RawQuery, Status: it.Status,
				Fault: suiteFault(it.Fault), Started: req.Started, Finished: req.Finished, Batched: true,
			})
		}
		if sr.Batch == nil {
			// In flight (or refused whole): the items as sent.
			for _, it := range s.items {
				it.Started, it.Finished = req.Started, req.Finished
				out = append(out, it)
			}
		}
	}
	return out
}

// batchItems reads the items of a $batch request, leaving its body for
// the simulator.
func batchItems(r *http.Request) []collecttest.Request {
	data, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	r.Body = io.NopCloser(bytes.NewReader(data))
	var in struct {
		Requests []struct{ Method, URL string }
	}
	if err != nil || json.Unmarshal(data, &in) != nil {
		return nil
	}
	version := strings.TrimSuffix(r.URL.Path, "/$batch")
	var out []collecttest.Request
	for _, it := range in.Requests {
		path, query, _ := strings.Cut(it.URL, "?")
		out = append(out, collecttest.Request{Target: classify(version + path), Method: it.Method,
			URL: version + path + "?" + query, Batched: true})
	}
	return out
}

func suiteFault(f mdmsim.Fault) collecttest.Fault {
	for k, v := range simFaults {
		if v == f && f != mdmsim.FaultNone {
			return k
		}
	}
	return collecttest.None
}

func (g *graphSim) Unexpected() []string {
	var out []string
	for _, r := range g.sim.Unexpected() {
		out = append(out, fmt.Sprintf("%s %s?%s → %d", r.Method, r.Path, r.RawQuery, r.Status))
	}
	return out
}

func (g *graphSim) Secrets() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := []string{conformanceSecret}
	for tok := range g.tokens {
		out = append(out, tok)
	}
	return out
}

// recorder passes a response through, noting its status and, when tee is
// set, copying its body.
type recorder struct {
	http.ResponseWriter
	status int
	tee    *bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.tee != nil {
		r.tee.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

// Hijack lets mdmsim's connection-reset fault through.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(r.ResponseWriter).Hijack()
}
