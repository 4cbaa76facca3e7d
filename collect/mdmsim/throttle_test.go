package mdmsim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := fixedNow
	type step struct {
		at   time.Duration // since t0
		wait time.Duration // admit's answer
	}
	cases := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{"burst then refill", 2, 3, []step{{0, 0}, {0, 0}, {0, 0}, {0, 500 * time.Millisecond}, {500 * time.Millisecond, 0}, {700 * time.Millisecond, 300 * time.Millisecond}, {time.Second, 0}}},
		{"default burst is one second's worth", 4, 0, []step{{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 250 * time.Millisecond}}},
		{"slow rate", 0.1, 1, []step{{0, 0}, {time.Second, 9 * time.Second}, {10 * time.Second, 0}}},
		{"full bucket does not overflow", 1, 2, []step{{0, 0}, {time.Hour, 0}, {time.Hour, 0}, {time.Hour, time.Second}}},
		{"clock going backwards refills nothing", 1, 1, []step{{time.Minute, 0}, {0, time.Second}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBucket(c.rate, c.burst)
			for i, s := range c.steps {
				if got := admit(t0.Add(s.at), b); got != s.wait {
					t.Fatalf("step %d at %v: wait %v, want %v", i, s.at, got, s.wait)
				}
			}
		})
	}
	if newBucket(0, 5) != nil || admit(t0, nil, nil) != 0 {
		t.Error("a zero rate must mean no limit")
	}
	// Two buckets: a request takes from both or from neither.
	a, b := newBucket(10, 5), newBucket(1, 1)
	if admit(t0, a, b) != 0 || admit(t0, a, b) != time.Second || a.tokens != 4 {
		t.Errorf("tokens %v %v", a.tokens, b.tokens)
	}
	for _, c := range []struct {
		d    time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {7 * time.Second, 7}} {
		if got := retryAfterSeconds(c.d); got != c.want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	clock := &testClock{t: fixedNow}
	s, ts := newTestServer(t, Options{Clock: clock.Now, RateLimit: 0.5, RateBurst: 2})
	list := ts.URL + "/v1.0/deviceManagement/managedDevices?$top=1"
	// The token endpoint is never rate-limited.
	var tok string
	for range 5 {
		tok = getToken(t, ts.URL)
	}
	for i := range 2 {
		if r := get(t, list, tok); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := get(t, list, tok)
	if r.status != 429 || r.header.Get("Retry-After") != "2" {
		t.Fatalf("third request: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	e := r.err(t)
	var inner struct {
		Version    int     `json:"_version"`
		Message    string  `json:"Message"`
		RetryAfter *string `json:"RetryAfter"`
	}
	if e.Error.Code != "TooManyRequests" || json.Unmarshal([]byte(e.Error.Message), &inner) != nil || inner.Version != 3 ||
		inner.RetryAfter != nil || !strings.HasPrefix(inner.Message, "Too many requests - ") || e.Error.InnerError.RequestID != r.header.Get("request-id") {
		t.Errorf("429 body %s", r.raw)
	}
	clock.Add(time.Second)
	if r := get(t, list, tok); r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Errorf("half refilled: %d %q", r.status, r.header.Get("Retry-After"))
	}
	clock.Add(time.Second)
	if r := get(t, list, tok); r.status != 200 {
		t.Errorf("refilled: %d", r.status)
	}
	reqs := s.Requests()
	if st := s.Stats(); st.Throttled != 2 || st.Status429 != 2 || !reqs[len(reqs)-2].RateLimited || reqs[len(reqs)-1].RateLimited {
		t.Errorf("stats %+v", st)
	}
}

func TestRetryAfterOmitted(t *testing.T) {
	count := func(omit float64, seed int64) (with, without int) {
		clock := &testClock{t: fixedNow}
		_, ts := newTestServer(t, Options{Clock: clock.Now, RateLimit: 1, RateBurst: 1, RetryAfterOmit: omit, Seed: seed})
		tok := getToken(t, ts.URL)
		get(t, ts.URL+"/v1.0/deviceManagement/detectedApps?$top=1", tok)
		for range 40 {
			r := get(t, ts.URL+"/v1.0/deviceManagement/detectedApps?$top=1", tok)
			if r.status != 429 {
				t.Fatalf("status %d", r.status)
			}
			if r.header.Get("Retry-After") == "" {
				without++
			} else {
				with++
			}
		}
		return with, without
	}
	if w, wo := count(0, 1); wo != 0 || w != 40 {
		t.Errorf("omit 0: %d with, %d without", w, wo)
	}
	if w, wo := count(1, 1); w != 0 || wo != 40 {
		t.Errorf("omit 1: %d with, %d without", w, wo)
	}
	w, wo := count(0.5, 7)
	if w < 8 || wo < 8 {
		t.Errorf("omit 0.5: %d with, %d without", w, wo)
	}
	// The same seed omits it on the same responses.
	if w2, wo2 := count(0.5, 7); w2 != w || wo2 != wo {
		t.Errorf("same seed, different omissions: %d/%d then %d/%d", w, wo, w2, wo2)
	}
}

// The per-device detectedApps endpoint can have its own, tighter bucket on
// top of the shared one.
func TestDeviceAppsRateLimit(t *testing.T) {
	clock := &testClock{t: fixedNow}
	s, ts := newTestServer(t, Options{Clock: clock.Now, RateLimit: 100, DeviceAppsRateLimit: 0.1, DeviceAppsRateBurst: 2})
	tok := getToken(t, ts.URL)
	id := s.Fleet().Devices[0].ID
	apps := ts.URL + "/beta/deviceManagement/managedDevices/" + id + "/detectedApps"
	for i := range 2 {
		if r := get(t, apps, tok); r.status != 200 {
			t.Fatalf("apps %d: %d", i, r.status)
		}
	}
	if r := get(t, apps, tok); r.status != 429 || r.header.Get("Retry-After") != "10" {
		t.Errorf("third apps request: %d %q", r.status, r.header.Get("Retry-After"))
	}
	for i := range 10 {
		if r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices/"+id, tok); r.status != 200 {
			t.Fatalf("device %d: %d", i, r.status)
		}
	}
}
