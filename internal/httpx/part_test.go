package httpx

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A batch of n requests spends n of the rate (capped at the burst).
func TestRequestCost(t *testing.T) {
	srv := newServer(t, ok)
	c, clk := client(t, srv)
	c.Limiter = NewLimiter(10, 20, 0)
	batch := get(c, "batch")
	batch.Cost = 20
	for range 3 {
		if _, err := c.Do(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	// The burst pays for the first; each later one waits 20 tokens at 10/s.
	slept := clk.Slept()
	if len(slept) != 2 || slept[0] != 2*time.Second || slept[1] != 2*time.Second {
		t.Fatalf("waits %v, want [2s 2s]", slept)
	}
	batch.Cost = 1000 // more than the burst: capped, not refused
	if _, err := c.Do(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

func TestPartError(t *testing.T) {
	c := &Client{AuthSentinel: errSentinel}
	outer := Request{Method: http.MethodPost, Header: http.Header{"Authorization": {"Bearer s3cr3t-token"}}}
	p := Part{Method: "GET", URL: "https://graph.example/v1.0/x", Status: 403,
		Header: http.Header{"Request-Id": {"r-1"}},
		Body:   []byte(`{"error":{"code":"Forbidden","message":"denied for Bearer s3cr3t-token"}}`)}
	err := c.PartError(outer, p, 2)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Kind != KindPermission || ae.Code != "Forbidden" || ae.RequestID != "r-1" || ae.Attempts != 2 {
		t.Fatalf("got %#v", err)
	}
	if !errors.Is(err, ErrPermission) || !errors.Is(err, errSentinel) {
		t.Errorf("%v does not match its sentinels", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("secret echoed: %v", err)
	}
	p.Status = 204
	if err := c.PartError(outer, p, 1); err != nil {
		t.Errorf("2xx part: %v", err)
	}
}

var errSentinel = errors.New("sentinel")

func TestPartRetry(t *testing.T) {
	c := &Client{Retries: 2, Jitter: func(d time.Duration) time.Duration { return d }}
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		name       string
		status     int
		header     http.Header
		idempotent bool
		attempt    int
		wait       time.Duration
		retry      bool
	}{
		{"429 with Retry-After", 429, h("Retry-After", "7"), true, 0, 7 * time.Second, true},
		{"429 without Retry-After backs off", 429, nil, true, 1, 2 * DefaultBaseBackoff, true},
		{"503 any method", 503, nil, false, 0, DefaultBaseBackoff, true},
		{"502 idempotent", 502, nil, true, 0, DefaultBaseBackoff, true},
		{"502 not idempotent", 502, nil, false, 0, 0, false},
		{"retries used up", 429, h("Retry-After", "1"), true, 2, 0, false},
		{"404 never", 404, nil, true, 0, 0, false},
		{"200 never", 200, nil, true, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodGet
			if !tc.idempotent {
				method = http.MethodPost
			}
			wait, retry := c.PartRetry(Part{Method: method, Status: tc.status, Header: tc.header}, tc.idempotent, tc.attempt)
			if retry != tc.retry || wait != tc.wait {
				t.Errorf("got %v, %v; want %v, %v", wait, retry, tc.wait, tc.retry)
			}
		})
	}
	if st := c.Stats(); st.Throttled != 3 || st.Retries != 4 {
		t.Errorf("stats %+v, want 3 throttled, 4 retries", st)
	}
}
