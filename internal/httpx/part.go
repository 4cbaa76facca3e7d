package httpx

import (
	"context"
	"net/http"
	"time"
)

// Part is one response inside a multi-request exchange, such as an item of
// a Graph $batch: the server answered it with its own status, headers and
// body inside an envelope that itself succeeded. Sources decode the
// envelope; the Client judges each part the way it judges a response.
type Part struct {
	Method string
	URL    string // redacted, as it should appear in errors
	Status int
	Header http.Header
	Body   []byte
}

// PartError is nil for a 2xx part, else the *APIError for it, decoded with
// DecodeError and redacted like the error of a whole response (the
// credentials of outer, the request that carried the part, are removed
// from its text). attempts is the number of times the part was sent.
func (c *Client) PartError(outer Request, p Part, attempts int) error {
	return c.statusError(p, attempts, outer.secrets())
}

// PartRetry reports whether a part that failed on its attempt-th try
// (counting from 0) deserves another, and how long to wait before it: 429
// and 503, and 502 and 504 for idempotent parts, up to Retries retries,
// honouring the part's Retry-After as Do does. A 429 part is counted in
// Stats.Throttled.
func (c *Client) PartRetry(p Part, idempotent bool, attempt int) (time.Duration, bool) {
	if p.Status == http.StatusTooManyRequests {
		c.stats.throttled.Add(1)
	}
	resp := &Response{Status: p.Status, Header: p.Header}
	if !c.retryable(Request{Method: p.Method, Idempotent: idempotent}, resp) || attempt >= c.retries() {
		return 0, false
	}
	c.stats.retries.Add(1)
	return c.retryWait(resp, attempt), true
}

// Wait sleeps d before resending parts, or until ctx ends. It counts as a
// throttled wait in Stats.
func (c *Client) Wait(ctx context.Context, d time.Duration) error {
	return c.wait(ctx, d)
}
