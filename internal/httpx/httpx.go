// Package httpx is the HTTP engine every MDM source shares: bounded bodies,
// per-request timeouts, retries with capped exponential backoff that honour
// Retry-After, same-origin checks for paging links, and redacted URLs.
//
// It returns every response it received, including the ones it retried, so
// that sources can preserve each of them verbatim. It must not import
// collect or anything above it.
package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/custos-ir/custos/internal/redact"
)

// Defaults for Client fields left zero.
const (
	DefaultMaxBody    = 64 << 20
	DefaultTimeout    = 60 * time.Second
	DefaultRetries    = 4
	DefaultMaxBackoff = 30 * time.Second
)

// Client sends requests to one API. The zero value is not usable; set HTTP
// and Base.
type Client struct {
	HTTP      *http.Client
	Base      *url.URL // scheme and host every request and paging link must use
	UserAgent string
	MaxBody   int64         // response bodies larger than this fail
	Timeout   time.Duration // per attempt
	Retries   int           // extra attempts on 429, 502, 503, 504 and transport errors
	// Sleep waits for d or until ctx ends; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used for timings and HTTP-date Retry-After.
	Now func() time.Time
}

// Response is one HTTP exchange as received.
type Response struct {
	Method   string
	URL      string // redacted
	Status   int
	Header   http.Header
	Body     []byte
	Started  time.Time
	Finished time.Time
	Err      error // transport error of a failed attempt (Status is 0)
	// Retried holds earlier attempts of the same request that were retried.
	Retried []*Response
}

// Request describes one call. Body, if any, is resent on retries.
type Request struct {
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte
}

// ErrForeignHost is returned for a URL whose scheme or host differs from
// the client's base URL.
var ErrForeignHost = errors.New("refusing to send credentials to a foreign host")

// SameOrigin parses link and checks it against the base URL.
func (c *Client) SameOrigin(link string) (*url.URL, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("parsing link: %w", err)
	}
	if !u.IsAbs() {
		u = c.Base.ResolveReference(u)
	}
	if u.Scheme != c.Base.Scheme || u.Host != c.Base.Host {
		return nil, fmt.Errorf("%w: %s://%s (configured %s://%s)", ErrForeignHost, u.Scheme, u.Host, c.Base.Scheme, c.Base.Host)
	}
	return u, nil
}

// Do sends r, retrying transient failures. It returns the final response
// whatever its status; err is non-nil only when no response could be had
// (transport failure after all retries, body too large, cancellation).
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	if _, err := c.SameOrigin(r.URL.String()); err != nil {
		return nil, err
	}
	retries := c.Retries
	if retries == 0 {
		retries = DefaultRetries
	}
	var earlier []*Response
	for attempt := 0; ; attempt++ {
		resp := c.once(ctx, r)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		wait, retry := c.retryAfter(resp, attempt)
		if !retry || attempt >= retries {
			resp.Retried = earlier
			if resp.Err != nil {
				return resp, fmt.Errorf("%s %s: %w", r.Method, resp.URL, resp.Err)
			}
			return resp, nil
		}
		earlier = append(earlier, resp)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (c *Client) once(ctx context.Context, r Request) *Response {
	resp := &Response{Method: r.Method, URL: redact.URL(r.URL), Started: c.now()}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL.String(), body)
	if err != nil {
		resp.Err = err
		return resp
	}
	for k, vs := range r.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hr, err := c.HTTP.Do(req)
	if err != nil {
		resp.Finished = c.now()
		resp.Err = errors.New(redact.String(err.Error(), r.URL.RawQuery))
		return resp
	}
	defer hr.Body.Close()
	max := c.MaxBody
	if max == 0 {
		max = DefaultMaxBody
	}
	data, err := io.ReadAll(io.LimitReader(hr.Body, max+1))
	resp.Finished = c.now()
	resp.Status = hr.StatusCode
	resp.Header = hr.Header
	resp.Body = data
	if err != nil {
		resp.Err = fmt.Errorf("reading body: %w", err)
	} else if int64(len(data)) > max {
		resp.Body = data[:max]
		resp.Err = fmt.Errorf("response body exceeds %d bytes", max)
	}
	return resp
}

// retryAfter decides whether resp is worth another attempt and how long to
// wait first.
func (c *Client) retryAfter(resp *Response, attempt int) (time.Duration, bool) {
	switch {
	case resp.Err != nil && resp.Status == 0:
	case resp.Status == http.StatusTooManyRequests, resp.Status == http.StatusBadGateway,
		resp.Status == http.StatusServiceUnavailable, resp.Status == http.StatusGatewayTimeout:
	default:
		return 0, false
	}
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
		return min(d, DefaultMaxBackoff*4), true
	}
	// Capped exponential backoff with full jitter.
	backoff := min(time.Second<<attempt, DefaultMaxBackoff)
	return backoff/2 + rand.N(backoff/2+1), true
}

// ParseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}
