// Package httpsource holds what the sources that speak HTTP through
// internal/httpx share: capturing every response into the staging, and
// deciding whether a failure becomes a gap or stops the run. It is apart
// from package collect so that the offline stages, which import collect,
// do not link an HTTP client.
package httpsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/httpx"
)

// StagingError is a failure to write to the staging: it stops the run.
type StagingError struct{ Err error }

func (e *StagingError) Error() string { return e.Err.Error() }
func (e *StagingError) Unwrap() error { return e.Err }

// CaptureHTTP stores resp, and every retried attempt before it, in sink
// under source, and returns the collect.RawRef of resp's body. keep is false for
// responses that must not be kept (token responses): they are logged
// without their body. headers names the response headers worth logging
// (request ids, Retry-After); they are logged in lower case. A failure is
// a *StagingError.
func CaptureHTTP(sink collect.Sink, source string, resp *httpx.Response, keep bool, headers []string) (collect.RawRef, error) {
	for _, r := range resp.Retried {
		if _, err := sink.Capture(source, exchange(r, headers), r.Body, keep); err != nil {
			return collect.RawRef{}, &StagingError{err}
		}
	}
	ref, err := sink.Capture(source, exchange(resp, headers), resp.Body, keep)
	if err != nil {
		return collect.RawRef{}, &StagingError{err}
	}
	return ref, nil
}

func exchange(r *httpx.Response, headers []string) *collect.Exchange {
	ex := &collect.Exchange{Started: r.Started, Finished: r.Finished, Method: r.Method, URL: r.URL, Status: r.Status}
	for _, h := range headers {
		if v := r.Header.Get(h); v != "" {
			if ex.Headers == nil {
				ex.Headers = map[string]string{}
			}
			ex.Headers[strings.ToLower(h)] = v
		}
	}
	if r.Err != nil {
		ex.Error = r.Err.Error()
	}
	return ex
}

// Fatal reports whether err must stop the whole run rather than become a
// gap: the run cancelled, or the staging failing.
func Fatal(ctx context.Context, err error) bool {
	var se *StagingError
	return ctx.Err() != nil || errors.As(err, &se)
}

// AuthFailed reports whether err is the credential refused (not a
// permission missing for one endpoint): it stops the run.
func AuthFailed(err error) bool {
	return errors.Is(err, collect.ErrAuth) && !errors.Is(err, httpx.ErrPermission)
}

// GapOrStop records a failed fetch as gap g (reason permission_denied or
// error, g.Detail followed by the error) and returns nil, or returns err
// itself when the whole run must stop: credentials refused, the run
// cancelled, the staging failing.
func GapOrStop(ctx context.Context, err error, sink collect.Sink, g collect.Gap) error {
	if Fatal(ctx, err) || AuthFailed(err) {
		return err
	}
	g.Reason = collect.ReasonError
	if errors.Is(err, httpx.ErrPermission) {
		g.Reason = collect.ReasonPermissionDenied
	}
	g.Detail += ": " + err.Error()
	return sink.Gap(g)
}

// BaseURL parses the base URL a flag gives for a source's API:
// scheme://host[/prefix], http or https, trailing slashes dropped.
func BaseURL(source, flag, s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%s: %s %q: want scheme://host[/prefix]", source, flag, s)
	}
	return u, nil
}

// SegmentOK reports whether an id a server sent can name a resource as
// one escaped path segment: a hostile or broken id such as "..", "." or ""
// would name another resource once the path is cleaned.
func SegmentOK(id string) bool {
	return id != "" && id != "." && id != ".." && len(id) <= 256
}

// Bearer supplies a source's access token, and drops it when the API
// refuses it.
type Bearer interface {
	Token(ctx context.Context, sink collect.Sink) (string, error)
	Invalidate()
}

// Authorized sends r through c with the bearer's token, captures every
// response in sink under source (logging headers), and returns the final
// response with its RawRef. A 401 drops the token and tries once more
// with a new one. A failure to store a response is a *StagingError.
func Authorized(ctx context.Context, c *httpx.Client, r httpx.Request, b Bearer, sink collect.Sink, source string, headers []string) (*httpx.Response, collect.RawRef, error) {
	for attempt := 0; ; attempt++ {
		tok, err := b.Token(ctx, sink)
		if err != nil {
			return nil, collect.RawRef{}, err
		}
		req := r
		req.Header = r.Header.Clone()
		if req.Header == nil {
			req.Header = http.Header{}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(ctx, req)
		if resp == nil {
			return nil, collect.RawRef{}, err
		}
		ref, cerr := CaptureHTTP(sink, source, resp, true, headers)
		if cerr != nil {
			return nil, collect.RawRef{}, cerr
		}
		if errors.Is(err, httpx.ErrAuth) && attempt == 0 {
			b.Invalidate()
			continue
		}
		return resp, ref, err
	}
}

// TokenRequest is one OAuth token request: a form POSTed to URL. Refused
// turns a 4xx answer into the error to report (it must match
// collect.ErrAuth and echo no secret of the form).
type TokenRequest struct {
	URL     *url.URL
	Form    url.Values
	Refused func(resp *httpx.Response) error
}

// TokenCache holds a source's access token and fetches a new one when none
// is cached or the cached one expires within five minutes. Token
// responses are logged (status, timing) but never kept. It is a Bearer.
type TokenCache struct {
	Client  *httpx.Client // the token endpoint's
	Source  string        // where responses are logged
	Headers []string      // response headers logged
	Now     func() time.Time
	// Request builds the next token request (an assertion is signed
	// afresh for each).
	Request func() (TokenRequest, error)

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Token implements Bearer.
func (c *TokenCache) Token(ctx context.Context, sink collect.Sink) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.Now().Add(5*time.Minute).Before(c.expires) {
		return c.token, nil
	}
	tr, err := c.Request()
	if err != nil {
		return "", err
	}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	resp, err := c.Client.Do(ctx, httpx.Request{Method: http.MethodPost, URL: tr.URL, Header: h, Body: []byte(tr.Form.Encode()), Idempotent: true})
	if resp != nil {
		if _, cerr := CaptureHTTP(sink, c.Source, resp, false, c.Headers); cerr != nil {
			return "", cerr
		}
	}
	if resp != nil && resp.Status >= 400 && resp.Status <= 499 {
		return "", tr.Refused(resp)
	}
	if err != nil {
		return "", fmt.Errorf("requesting a token: %w", err)
	}
	var tok struct {
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
		return "", errors.New("requesting a token: malformed token response")
	}
	c.token = tok.AccessToken
	c.expires = c.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	return c.token, nil
}

// Invalidate implements Bearer.
func (c *TokenCache) Invalidate() {
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
}
