package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func ok(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }

func TestRateLimit(t *testing.T) {
	srv := newServer(t, ok)
	c, clk := client(t, srv)
	c.Limiter = NewLimiter(5, 2, 0)
	for range 10 {
		if _, err := c.Do(context.Background(), get(c, "x")); err != nil {
			t.Fatal(err)
		}
	}
	// A burst of 2, then one request every 200 ms.
	slept := clk.Slept()
	if len(slept) != 8 {
		t.Fatalf("waits %v, want 8", slept)
	}
	for _, d := range slept {
		if d != 200*time.Millisecond {
			t.Errorf("waits %v, want 200ms each", slept)
			break
		}
	}
	st := c.Stats()
	if st.Requests != 10 || st.Waits != 8 || st.WaitTime != 1600*time.Millisecond || st.Retries != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The cap holds however many goroutines send at once: with 3 slots and 10
// senders, 3 requests are at the server and 7 wait for a slot before any
// is answered.
func TestConcurrencyCap(t *testing.T) {
	var inFlight, peak atomic.Int64
	gate := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-gate
		inFlight.Add(-1)
		io.WriteString(w, "ok")
	})
	c, _ := client(t, srv)
	lim := NewLimiter(0, 0, 3)
	c.Limiter = lim
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			_, err := c.Do(context.Background(), get(c, "x"))
			errs <- err
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for (lim.queued.Load() != 7 || inFlight.Load() != 3) && inFlight.Load() <= 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak %d requests in flight before any answer, want 3", p)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if p := peak.Load(); p > 3 {
		t.Errorf("peak %d requests in flight, cap 3", p)
	}
	if st := c.Stats(); st.Requests != 10 || st.Queued != 7 {
		t.Errorf("stats %+v", st)
	}
}

func TestLimiterHonoursCancellation(t *testing.T) {
	gate := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-gate })
	c, _ := client(t, srv)
	lim := NewLimiter(0, 0, 1)
	c.Limiter = lim
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Do(context.Background(), get(c, "busy"))
	}()
	for srv.hits.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	// Waiting for the only slot, then cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for lim.queued.Load() != 1 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	resp, err := c.Do(ctx, get(c, "x"))
	if !errors.Is(err, context.Canceled) || resp != nil {
		t.Errorf("slot wait: resp %v err %v, want context.Canceled", resp, err)
	}
	close(gate)
	<-done
	if srv.hits.Load() != 1 {
		t.Errorf("cancelled request reached the server")
	}

	// Waiting for a token, then cancelled: the token goes back.
	clk := newFakeClock()
	c2 := &Client{HTTP: c.HTTP, Base: c.Base, Now: clk.Now, Limiter: NewLimiter(1, 1, 0)}
	c2.Limiter.bucket.ReserveN(clk.Now(), 1) // spend the burst
	before := c2.Limiter.bucket.TokensAt(clk.Now())
	c2.Sleep = func(ctx context.Context, d time.Duration) error { return context.Canceled }
	if _, err := c2.Do(context.Background(), get(c2, "x")); !errors.Is(err, context.Canceled) {
		t.Errorf("token wait: %v", err)
	}
	if after := c2.Limiter.bucket.TokensAt(clk.Now()); after != before {
		t.Errorf("cancelled reservation kept: tokens %v then %v", before, after)
	}
	if srv.hits.Load() != 1 {
		t.Errorf("cancelled request reached the server")
	}
}

// A Retry-After delays the retry of the request it answered, not the other
// requests through the same limiter.
func TestRetryAfterDelaysOnlyItsRequest(t *testing.T) {
	srv := newServer(t, script(reply{429, ra("5"), ""}, reply{200, nil, "ok"}, reply{200, nil, "ok"}))
	clk := newFakeClock()
	lim := NewLimiter(0, 0, 2)
	a, _ := client(t, srv)
	b, _ := client(t, srv)
	for _, c := range []*Client{a, b} {
		c.Now, c.Sleep, c.Limiter = clk.Now, clk.Sleep, lim
	}
	resp, err := a.Do(context.Background(), get(a, "x"))
	if err != nil || string(resp.Body) != "ok" {
		t.Fatalf("a: %v", err)
	}
	if st := a.Stats(); st.Throttled != 1 || st.Waits != 1 || st.WaitTime != 5*time.Second {
		t.Errorf("a stats %+v, want one 5s wait", st)
	}
	if _, err := b.Do(context.Background(), get(b, "x")); err != nil {
		t.Fatalf("b: %v", err)
	}
	if st := b.Stats(); st.Waits != 0 {
		t.Errorf("b waited for a's Retry-After: %+v", st)
	}
}

// Many goroutines through one client and one limiter, for -race.
func TestConcurrentUse(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("n") == "3" {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
			return
		}
		io.WriteString(w, "ok")
	})
	c, _ := client(t, srv)
	c.Limiter = NewLimiter(1000, 10, 4)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			r := get(c, "x")
			r.URL.RawQuery = "n=" + string(rune('0'+i%8))
			c.Do(context.Background(), r)
			_ = c.Stats()
		})
	}
	wg.Wait()
	if st := c.Stats(); st.Requests != 35+5*4 || st.Throttled != 5*4 {
		t.Errorf("stats %+v", st)
	}
}
