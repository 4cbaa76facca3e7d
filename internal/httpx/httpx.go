package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/internal/redact"
)

// Defaults for Client fields left zero.
const (
	DefaultMaxBody       = 64 << 20
	DefaultTimeout       = 60 * time.Second
	DefaultRetries       = 4
	DefaultBaseBackoff   = time.Second
	DefaultMaxBackoff    = 30 * time.Second
	DefaultMaxRetryAfter = 2 * time.Minute
	maxRedirects         = 10
)

// Client sends requests to one API. The zero value is not usable: set HTTP
// and Base. A Client must not be copied after first use; it is safe for
// concurrent use.
type Client struct {
	HTTP      *http.Client // its CheckRedirect is wrapped to refuse foreign origins
	Base      *url.URL     // scheme, host and port every request, redirect and paging link must use
	UserAgent string
	MaxBody   int64         // response bodies larger than this fail with ErrTooLarge
	Timeout   time.Duration // per attempt, reading the body included
	// Retries is the number of attempts after the first (0 means
	// DefaultRetries, negative none). See Do for what is retried.
	Retries int
	// BaseBackoff and MaxBackoff shape the wait before retry n when the
	// server gives no Retry-After: a random duration in
	// [0, min(MaxBackoff, BaseBackoff·2ⁿ)] (full jitter).
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter caps a Retry-After (a hostile or broken server could
	// ask for days); default DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// Limiter paces requests and caps those in flight; nil for none. It
	// may be shared with other clients spending the same quota.
	Limiter *Limiter
	// DecodeError extracts the vendor's error code and message from a
	// final non-2xx response; default DecodeJSONError. The text is cleaned
	// and redacted before it reaches an APIError.
	DecodeError func(status int, hdr http.Header, body []byte) (code, msg string)
	// RequestIDHeaders are the response headers read for
	// APIError.RequestID; default DefaultRequestIDHeaders.
	RequestIDHeaders []string
	// AuthSentinel, when set, is matched by errors.Is for errors of kinds
	// KindAuth and KindPermission as well (sources set collect.ErrAuth).
	AuthSentinel error
	// Sleep waits for d or until ctx ends; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used for timings, the rate limiter and HTTP-date
	// Retry-After.
	Now func() time.Time
	// Jitter returns a random duration in [0, d]; tests replace it.
	Jitter func(d time.Duration) time.Duration

	stats counters
}

// Response is one HTTP exchange as received.
type Response struct {
	Method   string
	URL      string // redacted
	Status   int
	Header   http.Header
	Body     []byte // at most MaxBody bytes
	Started  time.Time
	Finished time.Time
	// Err is the failure of this attempt (redacted): a transport error
	// (Status 0), a body cut short (Status set, Body partial) or a body
	// over MaxBody (*APIError of KindTooLarge, Body holds the first
	// MaxBody bytes or nothing when Content-Length announced too many).
	Err error
	// Retried holds earlier attempts of the same request that were retried.
	Retried []*Response
}

// Request describes one call. Body, if any, is resent on retries.
type Request struct {
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte
	// Idempotent marks a POST or PATCH as safe to repeat after a
	// connection failure or a 502/504 (a token request, a $batch of GETs).
	// GET, HEAD, OPTIONS, PUT and DELETE are idempotent by definition.
	Idempotent bool
	// Cost is what the request spends of the Limiter's rate (default 1):
	// a batch of n requests that the server evaluates one by one, as
	// Graph does, costs n. It is capped at the limiter's burst.
	Cost int
}

func (r Request) idempotent() bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return r.Idempotent
}

// secrets lists the credential values r carries, to be removed from any
// text that might echo them.
func (r Request) secrets() []string {
	s := append(redact.SecretValues(r.URL), redact.HeaderSecrets(r.Header)...)
	if r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s = append(s, redact.FormSecrets(r.Body)...)
	}
	return s
}

// Do sends r and returns the final response with every retried attempt in
// Response.Retried, so that the caller can keep them all.
//
// What is retried, up to Retries more attempts: 429 and 503 for any method
// (the server did not act on the request), honouring Retry-After (capped at
// MaxRetryAfter) for this request only; 502 and 504, and
// connection failures (refused, reset, EOF, timeout, a body cut short) for
// idempotent requests only; a connection that could not be opened for any
// method. Without Retry-After the wait is capped exponential backoff with
// full jitter. TLS failures, unknown hosts, foreign redirects and bodies
// over MaxBody are not retried.
//
// The error is nil for a final 2xx response. Otherwise it is an *APIError
// (a final status outside 2xx, a transport failure, a body too large) and
// the response is still returned; or, when ctx ends, an error matching
// ctx.Err() with the responses received until then (nil if none). A URL on
// a foreign origin fails with ErrForeignHost before anything is sent.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	if r.URL == nil {
		return nil, errors.New("httpx: request without URL")
	}
	if err := c.checkOrigin(r.URL); err != nil {
		return nil, err
	}
	retries := c.retries()
	secrets := r.secrets()
	var earlier []*Response
	last := func(resp *Response) *Response {
		if resp == nil && len(earlier) > 0 {
			resp, earlier = earlier[len(earlier)-1], earlier[:len(earlier)-1]
		}
		if resp != nil {
			resp.Retried = earlier
		}
		return resp
	}
	for attempt := 0; ; attempt++ {
		release, err := c.acquire(ctx, r.Cost)
		if err != nil {
			return last(nil), fmt.Errorf("%s %s: %w", r.Method, shortURL(redact.URL(r.URL)), err)
		}
		if attempt > 0 {
			c.stats.retries.Add(1)
		}
		resp := c.once(ctx, r, secrets)
		release()
		if resp.Status == http.StatusTooManyRequests {
			c.stats.throttled.Add(1)
		}
		// A Retry-After delays the retry of this request only, as Graph
		// and the other MDM APIs document it; the limiter keeps every
		// request at the configured rate meanwhile. (Pausing every
		// request on each 429 or 503 stalls a client that meets scattered
		// ones.)
		wait := c.retryWait(resp, attempt)
		if err := ctx.Err(); err != nil {
			return last(resp), fmt.Errorf("%s %s: %w", r.Method, shortURL(resp.URL), err)
		}
		if !c.retryable(r, resp) || attempt >= retries {
			return last(resp), c.check(r, resp, attempt+1, secrets)
		}
		earlier = append(earlier, resp)
		if err := c.wait(ctx, wait); err != nil {
			return last(nil), fmt.Errorf("%s %s: %w", r.Method, shortURL(resp.URL), err)
		}
	}
}

// retries is the number of retries allowed after a first attempt.
func (c *Client) retries() int {
	switch {
	case c.Retries == 0:
		return DefaultRetries
	case c.Retries < 0:
		return 0
	}
	return c.Retries
}

// check turns a final response into nil or an *APIError.
func (c *Client) check(r Request, resp *Response, attempts int, secrets []string) error {
	var tooLarge *APIError
	if errors.As(resp.Err, &tooLarge) {
		tooLarge.Attempts = attempts
		return tooLarge
	}
	if resp.Err != nil {
		return &APIError{Kind: KindTransport, Method: r.Method, URL: resp.URL, Status: resp.Status, Attempts: attempts, Err: resp.Err}
	}
	return c.statusError(Part{Method: r.Method, URL: resp.URL, Status: resp.Status, Header: resp.Header, Body: resp.Body}, attempts, secrets)
}

// statusError is nil for a 2xx status, else the *APIError describing p.
func (c *Client) statusError(p Part, attempts int, secrets []string) error {
	if p.Status >= 200 && p.Status <= 299 {
		return nil
	}
	e := &APIError{Method: p.Method, URL: p.URL, Status: p.Status, Attempts: attempts, Kind: KindOf(p.Status)}
	if e.Kind == KindAuth || e.Kind == KindPermission {
		e.mark = c.AuthSentinel
	}
	decode := c.DecodeError
	if decode == nil {
		decode = DecodeJSONError
	}
	code, msg := decode(p.Status, p.Header, p.Body)
	e.Code = clean(redact.String(code, secrets...), maxCode)
	e.Message = clean(redact.String(msg, secrets...), maxMessage)
	hdrs := c.RequestIDHeaders
	if hdrs == nil {
		hdrs = DefaultRequestIDHeaders
	}
	for _, h := range hdrs {
		if v := p.Header.Get(h); v != "" {
			e.RequestID = clean(v, maxCode)
			break
		}
	}
	return e
}

func (c *Client) once(ctx context.Context, r Request, secrets []string) *Response {
	resp := &Response{Method: r.Method, URL: redact.URL(r.URL), Started: c.now()}
	fail := func(err error) *Response {
		resp.Finished = c.now()
		resp.Err = redactErr(err, secrets)
		return resp
	}
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
		return fail(permanentError{err})
	}
	// What is sent is what was checked: the URL as re-parsed.
	if err := c.checkOrigin(req.URL); err != nil {
		return fail(err)
	}
	for k, vs := range r.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	c.stats.requests.Add(1)
	hr, err := c.httpClient().Do(req)
	if err != nil {
		return fail(err)
	}
	defer hr.Body.Close()
	resp.Status = hr.StatusCode
	resp.Header = hr.Header
	limit := c.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	tooLarge := func() *Response {
		resp.Finished = c.now()
		resp.Err = &APIError{Kind: KindTooLarge, Method: r.Method, URL: resp.URL, Status: hr.StatusCode, Limit: limit}
		return resp
	}
	if hr.ContentLength > limit {
		return tooLarge()
	}
	// One byte past the limit tells a body of exactly limit bytes from a
	// longer one; it is never kept.
	// A declared length sizes the buffer once (up to 64 MiB: the length is
	// the server's word), instead of growing it by copies.
	var buf bytes.Buffer
	if hr.ContentLength > 0 {
		buf.Grow(int(min(hr.ContentLength, limit+1, 64<<20)) + bytes.MinRead)
	}
	_, err = buf.ReadFrom(io.LimitReader(hr.Body, limit+1))
	data := buf.Bytes()
	resp.Body = data
	if int64(len(data)) > limit {
		resp.Body = data[:limit:limit]
		return tooLarge()
	}
	if err != nil {
		return fail(fmt.Errorf("reading body: %w", err))
	}
	resp.Finished = c.now()
	return resp
}

// httpClient is c.HTTP with redirects limited to the base origin: a
// redirect elsewhere fails with ErrForeignHost instead of carrying the
// request's headers there.
func (c *Client) httpClient() *http.Client {
	hc := &http.Client{}
	if c.HTTP != nil {
		*hc = *c.HTTP
	}
	next := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := c.checkOrigin(req.URL); err != nil {
			return fmt.Errorf("redirect: %w", err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return hc
}

// retryable decides whether resp is worth another attempt of r.
func (c *Client) retryable(r Request, resp *Response) bool {
	if resp.Err != nil {
		var ae *APIError
		switch {
		case errors.As(resp.Err, &ae), errors.Is(resp.Err, ErrForeignHost), permanent(resp.Err):
			return false
		case resp.Status == 0 && notSent(resp.Err):
			return true
		}
		return r.idempotent()
	}
	switch resp.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return true
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return r.idempotent()
	}
	return false
}

// permanentError marks a failure before sending that no retry can fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// permanent reports transport failures that another attempt cannot fix.
func permanent(err error) bool {
	var (
		pe   permanentError
		cv   *tls.CertificateVerificationError
		ua   x509.UnknownAuthorityError
		he   x509.HostnameError
		ci   x509.CertificateInvalidError
		rh   tls.RecordHeaderError
		dns  *net.DNSError
		addr *net.AddrError
	)
	switch {
	case errors.As(err, &pe), errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci), errors.As(err, &rh), errors.As(err, &addr):
		return true
	case errors.As(err, &dns):
		return dns.IsNotFound
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil && strings.Contains(ue.Err.Error(), "unsupported protocol scheme") {
		return true
	}
	return false
}

// notSent reports a failure to open the connection: the request was never
// sent, so any method may be tried again.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retryWait returns how long to wait before retrying after resp: what the
// server asked (Retry-After or a rate-limit reset header, capped), else
// backoff.
func (c *Client) retryWait(resp *Response, attempt int) time.Duration {
	if resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable {
		capAt := c.MaxRetryAfter
		if capAt <= 0 {
			capAt = DefaultMaxRetryAfter
		}
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
			return min(d, capAt)
		}
		for _, h := range []string{"RateLimit-Reset", "X-RateLimit-Reset"} {
			if d, ok := ParseRateLimitReset(resp.Header.Get(h), c.now()); ok {
				return min(d, capAt)
			}
		}
	}
	return c.backoff(attempt)
}

// backoff is capped exponential backoff with full jitter.
func (c *Client) backoff(attempt int) time.Duration {
	base, ceil := c.BaseBackoff, c.MaxBackoff
	if base <= 0 {
		base = DefaultBaseBackoff
	}
	if ceil <= 0 {
		ceil = DefaultMaxBackoff
	}
	d := ceil
	if attempt < 32 && base<<attempt > 0 {
		d = min(base<<attempt, ceil)
	}
	if c.Jitter != nil {
		return min(max(c.Jitter(d), 0), d)
	}
	return rand.N(d + 1)
}

// maxDelaySeconds keeps a parsed delay representable as a time.Duration.
const maxDelaySeconds = 1 << 32

// ParseRetryAfter reads a Retry-After value: delay seconds (digits only) or
// an HTTP date, a date in the past meaning no wait. Huge delays are clamped
// to 2³² seconds (about 136 years) rather than overflowing.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, ok := digits(v); ok {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxDelaySeconds*time.Second), true
	}
	return 0, false
}

// ParseRateLimitReset reads a rate-limit reset header (RateLimit-Reset,
// X-RateLimit-Reset): delay seconds, or Unix seconds when the value is
// too large to be a delay (as some gateways send it).
func ParseRateLimitReset(v string, now time.Time) (time.Duration, bool) {
	s, ok := digits(strings.TrimSpace(v))
	if !ok {
		return 0, false
	}
	if s > 1_000_000_000 && s < maxDelaySeconds {
		return max(time.Unix(s, 0).Sub(now), 0), true
	}
	return time.Duration(s) * time.Second, true
}

// digits parses a non-empty run of ASCII digits, clamped to
// maxDelaySeconds.
func digits(v string) (int64, bool) {
	if v == "" || len(v) > 64 {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil || s > maxDelaySeconds {
		s = maxDelaySeconds
	}
	return s, true
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}
