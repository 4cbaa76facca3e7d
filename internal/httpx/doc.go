// Package httpx is the HTTP engine every MDM source shares: a client-side
// rate limiter and concurrency cap per API quota, per-attempt timeouts,
// retries with capped exponential backoff and full jitter that honour
// Retry-After, bounded bodies, typed errors (APIError, matched with
// errors.Is against ErrAuth, ErrPermission, ErrThrottled, ErrNotFound, ...),
// same-origin checks for requests, redirects and paging links (Pager), and
// redaction of every URL and message it produces.
//
// It returns every response it received, including the ones it retried, so
// that sources can preserve each of them verbatim; it never writes anything
// itself and never logs. Sources own their vendor's error format (through
// Client.DecodeError) and their credentials (they set Authorization per
// request). It must not import collect or anything above it.
package httpx
