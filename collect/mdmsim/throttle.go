package mdmsim

import (
	"math"
	"time"
)

// bucket is a token bucket: it holds at most burst tokens, refills at rate
// tokens per second of the server's clock, and each request takes one. It
// reads time only from the clock it is given, so tests drive it with a
// fixed or stepped clock and never depend on wall-clock timing. The caller
// serialises access.
type bucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	primed bool
}

func newBucket(rate float64, burst int) *bucket {
	if rate <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(rate)))
	}
	return &bucket{rate: rate, burst: float64(burst)}
}

func (b *bucket) refill(now time.Time) {
	if !b.primed {
		b.tokens, b.last, b.primed = b.burst, now, true
		return
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
}

// wait is how long until a token is available (0 if one is).
func (b *bucket) wait() time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - b.tokens) / b.rate * float64(time.Second)))
}

// admit takes one token from every non-nil bucket, or from none of them:
// it returns 0 when the request may go ahead, else the time until all of
// them will have a token.
func admit(now time.Time, bs ...*bucket) time.Duration {
	var wait time.Duration
	for _, b := range bs {
		if b != nil {
			b.refill(now)
			wait = max(wait, b.wait())
		}
	}
	if wait > 0 {
		return wait
	}
	for _, b := range bs {
		if b != nil {
			b.tokens--
		}
	}
	return 0
}

// retryAfterSeconds renders a wait as a Retry-After value: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
