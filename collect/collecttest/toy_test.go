package collecttest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/internal/httpx"
)

// A toy MDM (an OAuth token, cursor paging with absolute links, per-device
// apps) and a small source written the way sources should be: the suite
// must pass it, which shows its cases can be met by an API other than
// Graph, through the shared HTTP engine.
func TestSuitePassesAFaithfulSource(t *testing.T) {
	collecttest.Run(t, toyHarness{})
}

const toySecret = "toy+secret/with=odd~chars"

type toyHarness struct{}

func (toyHarness) Start(t *testing.T, cfg collecttest.Config) collecttest.Sim {
	s := &toyServer{cfg: cfg, tokens: map[string]bool{}, faults: map[collecttest.Target][]*toyFault{}}
	for i := range cfg.Devices {
		s.devices = append(s.devices, fmt.Sprintf("dev-%03d", i))
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

type toyFault struct {
	f collecttest.Fault
	n int
}

type toyServer struct {
	cfg     collecttest.Config
	url     string
	devices []string

	mu         sync.Mutex
	tokens     map[string]bool
	faults     map[collecttest.Target][]*toyFault
	log        []*collecttest.Request
	unexpected []string
}

func (s *toyServer) NewSource(t *testing.T, c collecttest.Client) collect.Source {
	base, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	return &toySource{secret: toySecret, c: &httpx.Client{HTTP: c.HTTP, Base: base, Sleep: c.Sleep, AuthSentinel: collect.ErrAuth}}
}

func (s *toyServer) Devices() []string { return append([]string(nil), s.devices...) }

func (s *toyServer) Inject(target collecttest.Target, f collecttest.Fault, n int) error {
	if target.Kind == collecttest.TargetAuth && (f == collecttest.ForeignLink || f == collecttest.RepeatedLink) {
		return errors.New("a token response has no paging link")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[target] = append(s.faults[target], &toyFault{f: f, n: n})
	return nil
}

func (s *toyServer) take(target collecttest.Target) collecttest.Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[target]
	if len(q) == 0 {
		return collecttest.None
	}
	f := q[0].f
	if q[0].n > 0 {
		if q[0].n--; q[0].n == 0 {
			s.faults[target] = q[1:]
		}
	}
	return f
}

func (s *toyServer) Requests() []collecttest.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]collecttest.Request, len(s.log))
	for i, r := range s.log {
		out[i] = *r
	}
	return out
}

func (s *toyServer) Unexpected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unexpected...)
}

func (s *toyServer) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{toySecret}
	for tok := range s.tokens {
		out = append(out, tok)
	}
	return out
}

func (s *toyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var target collecttest.Target
	known := true
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth/token":
		target = collecttest.Auth
	case r.Method == http.MethodGet && r.URL.Path == "/api/devices":
		target = collecttest.List
	case r.Method == http.MethodGet && len(segs) == 4 && segs[0] == "api" && segs[1] == "devices" && segs[3] == "apps":
		target = collecttest.Device(segs[2])
	default:
		known = false
	}
	rec := &collecttest.Request{Target: target, Method: r.Method, URL: r.URL.RequestURI(), Started: time.Now()}
	s.mu.Lock()
	s.log = append(s.log, rec)
	if !known {
		s.unexpected = append(s.unexpected, r.Method+" "+r.URL.RequestURI())
	}
	s.mu.Unlock()
	status, body, hdr := s.answer(r, target, known, rec)
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
	s.mu.Lock()
	rec.Status, rec.RetryAfter, rec.Finished = status, hdr["Retry-After"], time.Now()
	s.mu.Unlock()
}

// answer builds the response; it records the fault it injected in rec.
func (s *toyServer) answer(r *http.Request, target collecttest.Target, known bool, rec *collecttest.Request) (int, []byte, map[string]string) {
	js := map[string]string{"Content-Type": "application/json"}
	if !known {
		return http.StatusNotFound, []byte(`{"error":"not_found"}`), js
	}
	fault := s.take(target)
	s.mu.Lock()
	rec.Fault = fault
	s.mu.Unlock()
	switch fault {
	case collecttest.Throttle:
		return http.StatusTooManyRequests, []byte(`{"error":"slow_down"}`), map[string]string{"Retry-After": "1"}
	case collecttest.ThrottleNoRetryAfter:
		return http.StatusTooManyRequests, []byte(`{"error":"slow_down"}`), js
	case collecttest.Unauthorized:
		return http.StatusUnauthorized, []byte(`{"error":"invalid_token"}`), js
	case collecttest.Forbidden:
		return http.StatusForbidden, []byte(`{"error":"forbidden"}`), js
	case collecttest.Unavailable:
		return http.StatusServiceUnavailable, []byte(`{"error":"unavailable"}`), map[string]string{"Retry-After": "1"}
	case collecttest.Malformed:
		return http.StatusOK, []byte("<html><body>proxy error</body></html>"), map[string]string{"Content-Type": "text/html"}
	case collecttest.Slow:
		select {
		case <-r.Context().Done():
		case <-time.After(s.cfg.SlowDelay):
		}
	}
	var body []byte
	switch target.Kind {
	case collecttest.TargetAuth:
		if r.ParseForm() != nil || r.PostForm.Get("client_secret") != toySecret {
			return http.StatusUnauthorized, []byte(`{"error":"invalid_client"}`), js
		}
		b := make([]byte, 24)
		rand.Read(b)
		tok := hex.EncodeToString(b)
		s.mu.Lock()
		s.tokens[tok] = true
		s.mu.Unlock()
		body, _ = json.Marshal(map[string]any{"access_token": tok, "expires_in": 3600})
	default:
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		ok := s.tokens[tok]
		s.mu.Unlock()
		if !ok {
			return http.StatusUnauthorized, []byte(`{"error":"invalid_token"}`), js
		}
		if target.Kind == collecttest.TargetDevice {
			body, _ = json.Marshal(map[string]any{"apps": []map[string]string{{"id": "com.example." + target.DeviceID}, {"id": "com.example.common"}}})
			break
		}
		off, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		limit := s.cfg.PageSize
		end := min(off+limit, len(s.devices))
		page := map[string]any{"devices": []map[string]string{}}
		var devs []map[string]string
		for _, id := range s.devices[min(off, end):end] {
			devs = append(devs, map[string]string{"id": id, "name": "Phone " + id})
		}
		page["devices"] = devs
		if end < len(s.devices) {
			next := fmt.Sprintf("/api/devices?cursor=%d", end)
			switch fault {
			case collecttest.ForeignLink:
				next = s.cfg.ForeignURL + next
			case collecttest.RepeatedLink:
				next = s.url + r.URL.RequestURI()
			default:
				next = s.url + next
			}
			page["next"] = next
		}
		body, _ = json.Marshal(page)
	}
	if fault == collecttest.Truncated {
		body = body[:len(body)/2]
	}
	return http.StatusOK, body, js
}

// toySource collects from the toy MDM. Its token is set before the
// per-device goroutines start and never changes.
type toySource struct {
	secret string
	c      *httpx.Client
	token  string
}

func (*toySource) Name() string { return "toy" }

func (*toySource) Describe() collect.Descriptor {
	return collect.Descriptor{Name: "toy", API: "toy MDM", Telemetry: []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory}}
}

func (s *toySource) capture(sink collect.Sink, resp *httpx.Response, keep bool) (collect.RawRef, error) {
	if resp == nil {
		return collect.RawRef{}, nil
	}
	var ref collect.RawRef
	for _, r := range append(append([]*httpx.Response(nil), resp.Retried...), resp) {
		ex := &collect.Exchange{Started: r.Started, Finished: r.Finished, Method: r.Method, URL: r.URL, Status: r.Status}
		if v := r.Header.Get("Retry-After"); v != "" {
			ex.Headers = map[string]string{"retry-after": v}
		}
		if r.Err != nil {
			ex.Error = r.Err.Error()
		}
		var err error
		if ref, err = sink.Capture("toy", ex, r.Body, keep); err != nil {
			return collect.RawRef{}, err
		}
	}
	return ref, nil
}

func (s *toySource) get(ctx context.Context, u *url.URL, sink collect.Sink) ([]byte, collect.RawRef, error) {
	resp, err := s.c.Do(ctx, httpx.Request{Method: http.MethodGet, URL: u, Header: http.Header{"Authorization": {"Bearer " + s.token}}})
	ref, cerr := s.capture(sink, resp, true)
	if cerr != nil {
		return nil, ref, cerr
	}
	if err != nil {
		return nil, ref, err
	}
	return resp.Body, ref, nil
}

func (s *toySource) Collect(ctx context.Context, req collect.Request, sink collect.Sink) error {
	form := url.Values{"client_id": {"toy"}, "client_secret": {s.secret}}
	resp, err := s.c.Do(ctx, httpx.Request{Method: http.MethodPost, URL: s.c.Base.JoinPath("oauth", "token"),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte(form.Encode()), Idempotent: true})
	if _, cerr := s.capture(sink, resp, false); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("toy: requesting token: %w", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(resp.Body, &tok) != nil || tok.AccessToken == "" {
		return errors.New("toy: requesting token: malformed token response")
	}
	s.token = tok.AccessToken

	var devices []collect.Device
	first := s.c.Base.JoinPath("api", "devices")
	p := s.c.NewPager(first)
	for {
		body, ref, err := s.get(ctx, p.URL(), sink)
		if err != nil {
			return fmt.Errorf("toy: listing devices: page %d: %w", p.Page(), err)
		}
		var page struct {
			Devices []struct{ ID, Name string } `json:"devices"`
			Next    string                      `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return fmt.Errorf("toy: listing devices: page %d: decoding %s: %w", p.Page(), ref.Path, err)
		}
		for i, d := range page.Devices {
			r := ref
			r.Pointer = fmt.Sprintf("/devices/%d", i)
			devices = append(devices, collect.Device{Key: "toy:" + d.ID, Source: "toy", SourceID: d.ID, Name: d.Name,
				Platform: "android", Ownership: "corporate", Compliance: "unknown", Compromised: collect.Compromised{Value: "unknown"}, Raw: r})
		}
		more, err := p.Next(page.Next)
		if err != nil {
			return fmt.Errorf("toy: listing devices: page %d: %w", p.Page(), err)
		}
		if !more {
			break
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, d := range devices {
		if req.IsDone(d.Key) {
			continue
		}
		g.Go(func() error {
			if err := sink.Device(d); err != nil {
				return err
			}
			if err := s.apps(gctx, d, sink); err != nil {
				switch {
				case gctx.Err() != nil || (errors.Is(err, collect.ErrAuth) && !errors.Is(err, httpx.ErrPermission)):
					return fmt.Errorf("toy: apps of %s: %w", d.SourceID, err)
				}
				reason := collect.ReasonError
				if errors.Is(err, httpx.ErrPermission) {
					reason = collect.ReasonPermissionDenied
				}
				if err := sink.Gap(collect.Gap{DeviceKey: d.Key, Source: "toy", Telemetry: collect.TelemetryAppInventory, Reason: reason, Detail: err.Error()}); err != nil {
					return err
				}
			}
			return sink.UnitDone(d.Key)
		})
	}
	return g.Wait()
}

func (s *toySource) apps(ctx context.Context, d collect.Device, sink collect.Sink) error {
	body, ref, err := s.get(ctx, s.c.Base.JoinPath("api", "devices", d.SourceID, "apps"), sink)
	if err != nil {
		return err
	}
	var v struct {
		Apps []struct{ ID string } `json:"apps"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("decoding %s: %w", ref.Path, err)
	}
	for i, a := range v.Apps {
		r := ref
		r.Pointer = fmt.Sprintf("/apps/%d", i)
		if err := sink.App(collect.App{DeviceKey: d.Key, AppID: a.ID, InstallSource: "unknown", Raw: r}); err != nil {
			return err
		}
	}
	return nil
}
