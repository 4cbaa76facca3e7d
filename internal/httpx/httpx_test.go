package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock whose Sleep advances it at once.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
	f.slept = append(f.slept, d)
	return nil
}

func (f *fakeClock) Slept() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.slept...)
}

// server serves h on 127.0.0.1 and counts the requests it receives.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// client returns a client of srv with a fake clock, 3 retries, a 64-byte
// body limit and no jitter (each backoff is its cap). Connections are not
// reused, so that net/http never retries on its own and the server's count
// is the number of attempts.
func client(t *testing.T, srv *server) (*Client, *fakeClock) {
	t.Helper()
	base, _ := url.Parse(srv.URL)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	clk := newFakeClock()
	return &Client{HTTP: &http.Client{Transport: tr}, Base: base, Retries: 3, MaxBody: 64,
		Now: clk.Now, Sleep: clk.Sleep, Jitter: func(d time.Duration) time.Duration { return d }}, clk
}

func get(c *Client, path string) Request {
	return Request{Method: http.MethodGet, URL: c.Base.JoinPath(path)}
}

// reply is one scripted response.
type reply struct {
	status int
	header map[string]string
	body   string
}

func script(replies ...reply) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		rep := replies[min(n, len(replies)-1)]
		n++
		mu.Unlock()
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}
}

func ra(v string) map[string]string { return map[string]string{"Retry-After": v} }

func TestRetries(t *testing.T) {
	now := newFakeClock().Now()
	for _, tc := range []struct {
		name       string
		method     string
		idempotent bool
		replies    []reply
		hits       int
		status     int
		kind       error // nil for success
		waits      []time.Duration
	}{
		{"429 with Retry-After then 503 with backoff", "GET", false,
			[]reply{{429, ra("7"), ""}, {503, nil, ""}, {200, nil, "ok"}}, 3, 200, nil, []time.Duration{7 * time.Second, 2 * time.Second}},
		{"Retry-After as an HTTP date", "GET", false,
			[]reply{{429, ra(now.Add(30 * time.Second).Format(http.TimeFormat)), ""}, {200, nil, ""}}, 2, 200, nil, []time.Duration{30 * time.Second}},
		{"Retry-After capped", "GET", false,
			[]reply{{429, ra("999999"), ""}, {200, nil, ""}}, 2, 200, nil, []time.Duration{DefaultMaxRetryAfter}},
		{"rate-limit reset header without Retry-After", "GET", false,
			[]reply{{429, map[string]string{"X-RateLimit-Reset": "5"}, ""}, {200, nil, ""}}, 2, 200, nil, []time.Duration{5 * time.Second}},
		{"503 forever gives up after the attempt cap", "GET", false,
			[]reply{{503, nil, ""}}, 4, 503, ErrServer, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"429 forever is throttled", "GET", false,
			[]reply{{429, ra("1"), ""}}, 4, 429, ErrThrottled, []time.Duration{time.Second, time.Second, time.Second}},
		{"404 is not retried", "GET", false, []reply{{404, nil, ""}}, 1, 404, ErrNotFound, nil},
		{"401", "GET", false, []reply{{401, nil, ""}}, 1, 401, ErrAuth, nil},
		{"403", "GET", false, []reply{{403, nil, ""}}, 1, 403, ErrPermission, nil},
		{"400", "GET", false, []reply{{400, nil, ""}}, 1, 400, ErrOther, nil},
		{"500 is not retried", "GET", false, []reply{{500, nil, ""}}, 1, 500, ErrServer, nil},
		{"POST 502 is not retried", "POST", false, []reply{{502, nil, ""}, {200, nil, ""}}, 1, 502, ErrServer, nil},
		{"idempotent POST 502 is retried", "POST", true, []reply{{502, nil, ""}, {200, nil, ""}}, 2, 200, nil, []time.Duration{time.Second}},
		{"POST 429 is retried", "POST", false, []reply{{429, ra("1"), ""}, {200, nil, ""}}, 2, 200, nil, []time.Duration{time.Second}},
		{"204 is a success", "GET", false, []reply{{204, nil, ""}}, 1, 204, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, script(tc.replies...))
			c, clk := client(t, srv)
			r := get(c, "x")
			r.Method, r.Idempotent = tc.method, tc.idempotent
			resp, err := c.Do(context.Background(), r)
			if resp == nil || resp.Status != tc.status {
				t.Fatalf("resp %+v err %v, want status %d", resp, err, tc.status)
			}
			if tc.kind == nil && err != nil || tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("err = %v, want %v", err, tc.kind)
			}
			if got := int(srv.hits.Load()); got != tc.hits {
				t.Errorf("server saw %d attempts, want %d", got, tc.hits)
			}
			if len(resp.Retried) != tc.hits-1 {
				t.Errorf("%d retried attempts returned, want %d", len(resp.Retried), tc.hits-1)
			}
			if got := clk.Slept(); fmt.Sprint(got) != fmt.Sprint(tc.waits) {
				t.Errorf("waits %v, want %v", got, tc.waits)
			}
			var ae *APIError
			if tc.kind != nil && (!errors.As(err, &ae) || ae.Attempts != tc.hits || ae.Status != tc.status) {
				t.Errorf("APIError %+v", ae)
			}
			st := c.Stats()
			if st.Requests != int64(tc.hits) || st.Retries != int64(tc.hits-1) || st.Waits != int64(len(tc.waits)) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	c := &Client{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		ceil := want * time.Millisecond
		for range 50 {
			if d := c.backoff(attempt); d < 0 || d > ceil {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", attempt, d, ceil)
			}
		}
	}
	if d := c.backoff(1000); d < 0 || d > time.Second {
		t.Errorf("backoff(1000) = %v", d)
	}
	c.Jitter = func(d time.Duration) time.Duration { return d }
	if d := c.backoff(63); d != time.Second {
		t.Errorf("backoff(63) = %v, want the cap", d)
	}
}

// hijack returns a handler that drops the connection: with reset, by a TCP
// reset; otherwise by closing it (EOF).
func hijack(reset bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		if tc, ok := conn.(*net.TCPConn); ok && reset {
			tc.SetLinger(0)
		}
		conn.Close()
	}
}

// failing fails the first n requests with fail, then answers "ok".
func failing(n int64, fail http.HandlerFunc) http.HandlerFunc {
	var count atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if count.Add(1) <= n {
			fail(w, r)
			return
		}
		io.WriteString(w, "ok")
	}
}

func truncated(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "50")
	io.WriteString(w, `{"value":[`)
}

func TestConnectionFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		method     string
		idempotent bool
		handler    http.HandlerFunc
		hits       int
		ok         bool
	}{
		{"GET after resets", "GET", false, failing(2, hijack(true)), 3, true},
		{"GET after EOF", "GET", false, failing(2, hijack(false)), 3, true},
		{"GET after a truncated body", "GET", false, failing(1, truncated), 2, true},
		{"GET reset forever", "GET", false, hijack(true), 4, false},
		{"POST reset is not retried", "POST", false, failing(1, hijack(true)), 1, false},
		{"POST truncated is not retried", "POST", false, failing(1, truncated), 1, false},
		{"idempotent POST reset is retried", "POST", true, failing(1, hijack(true)), 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.handler)
			c, _ := client(t, srv)
			r := get(c, "x")
			r.Method, r.Idempotent = tc.method, tc.idempotent
			resp, err := c.Do(context.Background(), r)
			if got := int(srv.hits.Load()); got != tc.hits {
				t.Errorf("server saw %d attempts, want %d", got, tc.hits)
			}
			if tc.ok {
				if err != nil || string(resp.Body) != "ok" || len(resp.Retried) != tc.hits-1 || resp.Retried[0].Err == nil {
					t.Fatalf("resp %+v err %v", resp, err)
				}
				return
			}
			var ae *APIError
			if !errors.Is(err, ErrTransport) || !errors.As(err, &ae) || ae.Attempts != tc.hits || resp == nil || resp.Err == nil {
				t.Fatalf("err = %v (%+v), want a transport error after %d attempts", err, ae, tc.hits)
			}
		})
	}
}

func TestTimeoutIsRetriedThenTyped(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c, _ := client(t, srv)
	c.Timeout, c.Retries = 5*time.Millisecond, 1
	_, err := c.Do(context.Background(), get(c, "x"))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Kind != KindTransport || !ae.Timeout() || ae.Attempts != 2 {
		t.Fatalf("err = %v, want a transport timeout after 2 attempts", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v does not match context.DeadlineExceeded", err)
	}
}

func TestRefusedConnectionIsRetriedForAnyMethod(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base, _ := url.Parse("http://" + addr)
	clk := newFakeClock()
	c := &Client{HTTP: &http.Client{}, Base: base, Retries: 2, Now: clk.Now, Sleep: clk.Sleep}
	resp, err := c.Do(context.Background(), Request{Method: "POST", URL: base.JoinPath("token"), Body: []byte("x")})
	if !errors.Is(err, ErrTransport) || resp == nil || len(resp.Retried) != 2 {
		t.Fatalf("resp %+v err %v, want 3 refused attempts", resp, err)
	}
}

func TestBodyLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		stored  int
		err     bool
	}{
		{"announced too large", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("x", 100))
		}, 0, true},
		{"streamed too large", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("x", 10))
			w.(http.Flusher).Flush()
			io.WriteString(w, strings.Repeat("x", 90))
		}, 64, true},
		{"exactly the limit", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("x", 10))
			w.(http.Flusher).Flush()
			io.WriteString(w, strings.Repeat("x", 54))
		}, 64, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.handler)
			c, _ := client(t, srv)
			resp, err := c.Do(context.Background(), get(c, "x"))
			if len(resp.Body) != tc.stored || tc.err && cap(resp.Body) > 64 {
				t.Errorf("stored %d bytes (cap %d), want %d", len(resp.Body), cap(resp.Body), tc.stored)
			}
			if !tc.err {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ae *APIError
			if !errors.Is(err, ErrTooLarge) || !errors.As(err, &ae) || ae.Limit != 64 || !strings.Contains(err.Error(), "exceeds 64 bytes") {
				t.Errorf("err = %v, want body too large", err)
			}
			if srv.hits.Load() != 1 {
				t.Errorf("too large body retried: %d attempts", srv.hits.Load())
			}
		})
	}
}

func TestAPIErrorFields(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", "rid-1")
		w.Header().Set("client-request-id", "cid-1")
		w.WriteHeader(403)
		io.WriteString(w, `{"error":{"code":"Forbidden","message":"line one\r\nline two \u001b[31m"}}`)
	})
	c, _ := client(t, srv)
	c.MaxBody = 0
	sentinel := errors.New("source auth")
	c.AuthSentinel = sentinel
	_, err := c.Do(context.Background(), get(c, "v1.0/x"))
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v", err)
	}
	if ae.Kind != KindPermission || ae.Status != 403 || ae.Code != "Forbidden" || ae.Message != "line one line two [31m" || ae.RequestID != "rid-1" {
		t.Errorf("APIError %+v", ae)
	}
	if !errors.Is(err, ErrPermission) || !errors.Is(err, sentinel) || errors.Is(err, ErrAuth) {
		t.Errorf("errors.Is wrong for %v", err)
	}
	want := "GET " + srv.URL + "/v1.0/x: permission denied: HTTP 403 Forbidden: line one line two [31m (request-id rid-1)"
	if err.Error() != want {
		t.Errorf("message\n got %q\nwant %q", err.Error(), want)
	}

	// A 404 does not match the auth sentinel; a custom decoder is used.
	srv2 := newServer(t, script(reply{404, map[string]string{"x-ms-request-id": "ms-1"}, "nope"}))
	c2, _ := client(t, srv2)
	c2.AuthSentinel = sentinel
	c2.DecodeError = func(status int, _ http.Header, body []byte) (string, string) {
		return "Custom", fmt.Sprintf("%d %s", status, body)
	}
	_, err = c2.Do(context.Background(), get(c2, "y"))
	if !errors.As(err, &ae) || ae.Code != "Custom" || ae.Message != "404 nope" || ae.RequestID != "ms-1" || errors.Is(err, sentinel) || !errors.Is(err, ErrNotFound) {
		t.Errorf("404: %+v", ae)
	}
}

// Secrets in the URL, the Authorization header or a form body never reach
// an error message, a response URL or a wrapped *url.Error, even when the
// server echoes them.
func TestRedaction(t *testing.T) {
	const secret, token, formSecret = "QUERYSECRET", "BEARERTOKEN", "FORMSECRET"
	echo := func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":"got %s %s %s"}`, r.URL.RawQuery, r.Header.Get("Authorization"), body)
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"echoed by the server", echo},
		{"transport error", hijack(false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.handler)
			c, _ := client(t, srv)
			c.Retries, c.MaxBody = -1, 0
			u := c.Base.JoinPath("token")
			u.RawQuery = "client_secret=" + secret + "&$skiptoken=keep"
			h := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/x-www-form-urlencoded"}}
			resp, err := c.Do(context.Background(), Request{Method: "POST", URL: u, Header: h, Body: []byte("client_id=a&client_secret=" + formSecret)})
			if err == nil {
				t.Fatal("no error")
			}
			texts := []string{err.Error(), resp.URL}
			if resp.Err != nil {
				texts = append(texts, resp.Err.Error())
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				texts = append(texts, ue.Error(), ue.URL)
			}
			for _, s := range texts {
				for _, sec := range []string{secret, token, formSecret} {
					if strings.Contains(s, sec) {
						t.Errorf("%q shows %s", s, sec)
					}
				}
			}
			var ae *APIError
			if !errors.As(err, &ae) || !strings.HasSuffix(ae.URL, "/token?client_secret=REDACTED&$skiptoken=keep") || resp.URL != ae.URL {
				t.Errorf("redacted URL lost its shape: %q", ae.URL)
			}
			if !strings.Contains(err.Error(), "/token?…: ") {
				t.Errorf("message shows the query: %v", err)
			}
		})
	}
}

func TestForeignHost(t *testing.T) {
	foreign := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, foreign.URL+"/x?access_token=leak", http.StatusFound)
		case "/home":
			http.Redirect(w, r, "/landed", http.StatusFound)
		default:
			io.WriteString(w, r.URL.Path+" "+r.Header.Get("Authorization"))
		}
	})
	c, _ := client(t, srv)
	h := http.Header{"Authorization": {"Bearer tok"}}

	fu, _ := url.Parse(foreign.URL + "/x")
	if _, err := c.Do(context.Background(), Request{Method: "GET", URL: fu, Header: h}); !errors.Is(err, ErrForeignHost) {
		t.Errorf("foreign URL: %v", err)
	}
	resp, err := c.Do(context.Background(), Request{Method: "GET", URL: c.Base.JoinPath("away"), Header: h})
	if !errors.Is(err, ErrForeignHost) || strings.Contains(err.Error(), "leak") {
		t.Errorf("foreign redirect: %v", err)
	}
	if resp == nil || len(resp.Retried) != 0 {
		t.Errorf("foreign redirect retried: %+v", resp)
	}
	if n := foreign.hits.Load(); n != 0 {
		t.Fatalf("foreign host contacted %d times", n)
	}
	resp, err = c.Do(context.Background(), Request{Method: "GET", URL: c.Base.JoinPath("home"), Header: h})
	if err != nil || string(resp.Body) != "/landed Bearer tok" {
		t.Errorf("same-origin redirect: %v %q", err, resp.Body)
	}
}

func TestSameOrigin(t *testing.T) {
	base, _ := url.Parse("https://graph.example/prefix")
	c := &Client{Base: base}
	for link, ok := range map[string]bool{
		"https://graph.example/v1.0/x?$skiptoken=a": true,
		"/v1.0/x?$skiptoken=a":                      true,
		"v1.0/x":                                    true,
		"https://GRAPH.example:443/x":               true,
		"//graph.example/x":                         true,
		"http://graph.example/x":                    false,
		"https://graph.example:8443/x":              false,
		"https://graph.example.evil/x":              false,
		"https://evil.example/x":                    false,
		"//evil.example/x":                          false,
		"https://user@graph.example/x":              false,
		"https:graph.example":                       false,
		"https://graph.example@evil.example/x":      false,
		"https://evil.example\\@graph.example/x":    false,
		"ftp://graph.example/x":                     false,
		"https://graph.example%2fevil/x":            false,
		"":                                          true, // the base itself
	} {
		u, err := c.SameOrigin(link)
		if ok != (err == nil) {
			t.Errorf("SameOrigin(%q) = %v, %v; want ok=%v", link, u, err, ok)
		}
		if _, perr := url.Parse(link); !ok && perr == nil && !errors.Is(err, ErrForeignHost) {
			t.Errorf("SameOrigin(%q): %v is not ErrForeignHost", link, err)
		}
	}
}

func TestPager(t *testing.T) {
	base, _ := url.Parse("https://graph.example")
	c := &Client{Base: base}
	first := base.JoinPath("v1.0", "items")
	first.RawQuery = "$top=2"

	p := c.NewPager(first)
	if p.Page() != 1 || p.URL() != first {
		t.Fatalf("start %d %v", p.Page(), p.URL())
	}
	for i, link := range []string{"https://graph.example/v1.0/items?$skiptoken=1", "/v1.0/items?$skiptoken=2"} {
		if more, err := p.Next(link); !more || err != nil || p.Page() != i+2 || p.URL().Host != "graph.example" {
			t.Fatalf("Next(%q) = %v %v page %d", link, more, err, p.Page())
		}
	}
	if more, err := p.Next(""); more || err != nil {
		t.Errorf("empty link: %v %v", more, err)
	}
	for _, tc := range []struct {
		link string
		want error
		msg  string
	}{
		{"https://graph.example/v1.0/items?$skiptoken=1", ErrRepeatedLink, "(page 2)"},
		{first.String(), ErrRepeatedLink, "(page 1)"},
		{"https://evil.example/v1.0/items?$skiptoken=3", ErrForeignHost, "https://evil.example (configured https://graph.example)"},
	} {
		if more, err := p.Next(tc.link); more || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Next(%q) = %v %v, want %v", tc.link, more, err, tc.want)
		}
	}

	p = c.NewPager(first)
	p.MaxPages = 3
	for i := range 2 {
		if _, err := p.Next(fmt.Sprintf("/v1.0/items?$skiptoken=%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Next("/v1.0/items?$skiptoken=9"); !errors.Is(err, ErrTooManyPages) {
		t.Errorf("page 4 of 3: %v", err)
	}

	p = c.NewPager(first)
	foreign, _ := url.Parse("https://evil.example/x?pageToken=a")
	if _, err := p.NextURL(foreign); !errors.Is(err, ErrForeignHost) {
		t.Errorf("NextURL foreign: %v", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"0": 0, "120": 2 * time.Minute, " 5 ": 5 * time.Second,
		"Thu, 26 Nov 2026 10:00:30 GMT":       30 * time.Second,
		"Thu, 26 Nov 2026 09:00:00 GMT":       0,
		"Thursday, 26-Nov-26 10:01:00 GMT":    time.Minute,
		"99999999999999999999999999999999999": maxDelaySeconds * time.Second,
	} {
		if d, ok := ParseRetryAfter(v, now); !ok || d != want {
			t.Errorf("ParseRetryAfter(%q) = %v %v, want %v", v, d, ok, want)
		}
	}
	for _, bad := range []string{"", "-1", "+5", "1.5", "soon", "5s", "0x10"} {
		if _, ok := ParseRetryAfter(bad, now); ok {
			t.Errorf("ParseRetryAfter(%q) accepted", bad)
		}
	}
	if d, ok := ParseRateLimitReset(fmt.Sprint(now.Unix()+90), now); !ok || d != 90*time.Second {
		t.Errorf("epoch reset = %v %v", d, ok)
	}
	if d, ok := ParseRateLimitReset("12", now); !ok || d != 12*time.Second {
		t.Errorf("delta reset = %v %v", d, ok)
	}
}

func TestCancellation(t *testing.T) {
	srv := newServer(t, script(reply{503, nil, ""}))
	c, _ := client(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	c.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	resp, err := c.Do(ctx, get(c, "x"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if resp == nil || resp.Status != 503 || srv.hits.Load() != 1 {
		t.Errorf("the attempt made before cancellation is not returned: %+v", resp)
	}
	if _, err := c.Do(ctx, get(c, "x")); !errors.Is(err, context.Canceled) || srv.hits.Load() != 1 {
		t.Errorf("cancelled context sent a request: %v", err)
	}
}

func TestDecodeJSONError(t *testing.T) {
	for body, want := range map[string][2]string{
		`{"error":{"code":"Forbidden","message":"m","innerError":{}}}`:                          {"Forbidden", "m"},
		`{"error":{"code":403,"message":"m","status":"PERMISSION_DENIED"}}`:                     {"PERMISSION_DENIED", "m"},
		`{"error":{"code":429,"message":"m"}}`:                                                  {"429", "m"},
		`{"error":"invalid_client","error_description":"AADSTS7000215: bad"}`:                   {"invalid_client", "AADSTS7000215: bad"},
		`{"httpStatus":403,"errors":[{"code":"INVALID_PRIVILEGE","description":"d","id":"0"}]}`: {"INVALID_PRIVILEGE", "d"},
		`{"errorCode":1001,"message":"m","activityId":"a"}`:                                     {"1001", "m"},
		`{"message":"only"}`: {"", "only"},
		`<html>`:             {"", ""},
		`{"error":`:          {"", ""},
		``:                   {"", ""},
	} {
		if code, msg := DecodeJSONError(400, nil, []byte(body)); code != want[0] || msg != want[1] {
			t.Errorf("DecodeJSONError(%s) = %q %q, want %q", body, code, msg, want)
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\n\tb":              "a b",
		"  lead  trail  ":       "lead trail",
		"x\x1b[2Jy":             "x [2Jy",
		"bad\xffutf8":           "bad utf8",
		"é":                     "é",
		strings.Repeat("a", 20): "aaaaaaaaaa…",
	} {
		if got := clean(in, 10); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}
