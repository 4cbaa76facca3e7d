package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func client(t *testing.T, h http.HandlerFunc) (*Client, *[]time.Duration) {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL)
	var waits []time.Duration
	return &Client{HTTP: srv.Client(), Base: base, Retries: 3, MaxBody: 64,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}, &waits
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	n := 0
	c, waits := client(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		switch n {
		case 1:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		case 2:
			w.WriteHeader(503) // no Retry-After: backoff
		default:
			w.Write([]byte("ok"))
		}
	})
	resp, err := c.Do(context.Background(), Request{Method: "GET", URL: c.Base.JoinPath("x")})
	if err != nil || resp.Status != 200 || string(resp.Body) != "ok" {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	if len(resp.Retried) != 2 || resp.Retried[0].Status != 429 || resp.Retried[1].Status != 503 {
		t.Errorf("retried attempts %+v", resp.Retried)
	}
	if len(*waits) != 2 || (*waits)[0] != 7*time.Second || (*waits)[1] <= 0 || (*waits)[1] > DefaultMaxBackoff {
		t.Errorf("waits %v", *waits)
	}
}

func TestNoRetryOnClientErrorsAndGiveUp(t *testing.T) {
	n := 0
	c, _ := client(t, func(w http.ResponseWriter, r *http.Request) { n++; w.WriteHeader(404) })
	resp, err := c.Do(context.Background(), Request{Method: "GET", URL: c.Base.JoinPath("x")})
	if err != nil || resp.Status != 404 || n != 1 {
		t.Fatalf("404: n=%d resp=%v err=%v", n, resp, err)
	}
	n = 0
	c2, _ := client(t, func(w http.ResponseWriter, r *http.Request) { n++; w.WriteHeader(503) })
	resp, err = c2.Do(context.Background(), Request{Method: "GET", URL: c2.Base.JoinPath("x")})
	if err != nil || resp.Status != 503 || n != 4 {
		t.Fatalf("503 forever: n=%d status=%d err=%v", n, resp.Status, err)
	}
}

func TestBodyCapAndForeignHost(t *testing.T) {
	c, _ := client(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("x", 100))) })
	if _, err := c.Do(context.Background(), Request{Method: "GET", URL: c.Base.JoinPath("x")}); err == nil || !strings.Contains(err.Error(), "exceeds 64 bytes") {
		t.Errorf("oversized body: %v", err)
	}
	foreign, _ := url.Parse("http://203.0.113.9/x")
	if _, err := c.Do(context.Background(), Request{Method: "GET", URL: foreign}); !errors.Is(err, ErrForeignHost) {
		t.Errorf("foreign host: %v", err)
	}
	if _, err := c.SameOrigin("https://" + c.Base.Host + "/x"); !errors.Is(err, ErrForeignHost) {
		t.Errorf("scheme change accepted: %v", err)
	}
	if u, err := c.SameOrigin("/v1.0/x?$skiptoken=a"); err != nil || u.Host != c.Base.Host {
		t.Errorf("relative link: %v %v", u, err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{"0": 0, "120": 2 * time.Minute, "Thu, 26 Nov 2026 10:00:30 GMT": 30 * time.Second, "Thu, 26 Nov 2026 09:00:00 GMT": 0} {
		if d, ok := ParseRetryAfter(v, now); !ok || d != want {
			t.Errorf("ParseRetryAfter(%q) = %v %v, want %v", v, d, ok, want)
		}
	}
	for _, bad := range []string{"", "-1", "soon"} {
		if _, ok := ParseRetryAfter(bad, now); ok {
			t.Errorf("ParseRetryAfter(%q) accepted", bad)
		}
	}
}

func TestCancellation(t *testing.T) {
	c, _ := client(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	ctx, cancel := context.WithCancel(context.Background())
	c.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	if _, err := c.Do(ctx, Request{Method: "GET", URL: c.Base.JoinPath("x")}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
