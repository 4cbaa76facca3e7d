// Package httpsource holds what the sources that speak HTTP through
// internal/httpx share: capturing every response into the staging, and
// deciding whether a failure becomes a gap or stops the run. It is apart
// from package collect so that the offline stages, which import collect,
// do not link an HTTP client.
package httpsource

import (
	"context"
	"errors"
	"strings"

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
