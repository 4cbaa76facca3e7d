package httpx

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limiter paces and caps the requests spent against one API quota: a token
// bucket (requests per second with a burst) and a cap on requests in
// flight. One Limiter serves every Client that spends the same quota (for
// Intune, the Graph client; for Jamf, every client of the server). A
// Retry-After delays only the retry of the request it answered (Client.Do).
// It is safe for concurrent use; a nil *Limiter limits nothing.
type Limiter struct {
	bucket *rate.Limiter // nil: no rate limit
	slots  chan struct{} // nil: no cap on requests in flight
	queued atomic.Int64  // requests waiting for a slot now (tests)
}

// NewLimiter returns a limiter allowing perSecond requests a second on
// average with bursts of burst (at least 1), and at most maxInFlight
// requests at once. perSecond <= 0 means no rate limit and maxInFlight <= 0
// no cap.
func NewLimiter(perSecond float64, burst, maxInFlight int) *Limiter {
	l := &Limiter{}
	if perSecond > 0 {
		l.bucket = rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
	}
	if maxInFlight > 0 {
		l.slots = make(chan struct{}, maxInFlight)
	}
	return l
}

// acquire waits for a slot, then for cost tokens (at least 1, at most the
// burst), each wait ending early with ctx. The returned release frees the
// slot; it must be called once the response body has been read.
func (c *Client) acquire(ctx context.Context, cost int) (release func(), err error) {
	l := c.Limiter
	if l == nil {
		return func() {}, nil
	}
	release = func() {}
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		default:
			start := c.now()
			l.queued.Add(1)
			select {
			case l.slots <- struct{}{}:
				l.queued.Add(-1)
			case <-ctx.Done():
				l.queued.Add(-1)
				return nil, ctx.Err()
			}
			c.stats.queued.Add(1)
			c.stats.queueTime.Add(int64(c.now().Sub(start)))
		}
		release = func() { <-l.slots }
	}
	if l.bucket != nil {
		now := c.now()
		r := l.bucket.ReserveN(now, min(max(cost, 1), l.bucket.Burst()))
		if d := r.DelayFrom(now); d > 0 {
			if err := c.wait(ctx, d); err != nil {
				r.CancelAt(c.now())
				release()
				return nil, err
			}
		}
	}
	return release, nil
}

// Stats counts what a Client did, for progress reports. Waits are the
// throttled waits: rate-limiter delays, pauses after a Retry-After and the
// sleeps before every retry; Queued counts requests that waited for a free
// slot under the in-flight cap.
type Stats struct {
	Requests  int64         // attempts sent, retries included
	Retries   int64         // attempts that repeated an earlier one
	Throttled int64         // 429 responses received
	Waits     int64         // throttled waits
	WaitTime  time.Duration // total time of the throttled waits
	Queued    int64         // waits for a slot under the in-flight cap
	QueueTime time.Duration // total time of those
}

// Add returns the sum of s and o (a source with several clients reports
// their sum).
func (s Stats) Add(o Stats) Stats {
	return Stats{
		Requests: s.Requests + o.Requests, Retries: s.Retries + o.Retries, Throttled: s.Throttled + o.Throttled,
		Waits: s.Waits + o.Waits, WaitTime: s.WaitTime + o.WaitTime,
		Queued: s.Queued + o.Queued, QueueTime: s.QueueTime + o.QueueTime,
	}
}

type counters struct {
	requests, retries, throttled, waits, waitTime, queued, queueTime atomic.Int64
}

// Stats returns the counts so far. It is safe to call while requests run.
func (c *Client) Stats() Stats {
	return Stats{
		Requests: c.stats.requests.Load(), Retries: c.stats.retries.Load(), Throttled: c.stats.throttled.Load(),
		Waits: c.stats.waits.Load(), WaitTime: time.Duration(c.stats.waitTime.Load()),
		Queued: c.stats.queued.Load(), QueueTime: time.Duration(c.stats.queueTime.Load()),
	}
}

// wait sleeps d (a throttled wait) or until ctx ends, and counts it.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	c.stats.waits.Add(1)
	start := c.now()
	var err error
	if c.Sleep != nil {
		err = c.Sleep(ctx, d)
	} else {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-t.C:
		}
		t.Stop()
	}
	if err != nil {
		c.stats.waitTime.Add(int64(max(c.now().Sub(start), 0)))
		return err
	}
	c.stats.waitTime.Add(int64(d))
	return nil
}
