package wsone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
	"github.com/custos-ir/custos/internal/httpx"
	"github.com/custos-ir/custos/internal/redact"
)

// logHeaders are the response headers kept in the request log.
var logHeaders = []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Date", "Content-Type"}

// endpoint is one API resource with the versions the source can read,
// newest first, and the one the server accepted.
type endpoint struct {
	name     string
	versions []int

	mu     sync.Mutex // held while the version is being negotiated
	chosen atomic.Int32
}

func (ep *endpoint) version() int { return int(ep.chosen.Load()) }

// get fetches u from endpoint ep. The first request to ep negotiates its
// version: it asks for the newest the source knows
// (Accept: application/json;version=N) and, on 406 Not Acceptable, the
// next older; the version the server accepted is used from then on.
// Requests to ep wait while it is being negotiated.
func (s *Source) get(ctx context.Context, ep *endpoint, u *url.URL, sink collect.Sink) (*httpx.Response, collect.RawRef, error) {
	if v := ep.version(); v != 0 {
		return s.send(ctx, u, v, sink)
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if v := ep.version(); v != 0 {
		return s.send(ctx, u, v, sink)
	}
	for i, v := range ep.versions {
		resp, ref, err := s.send(ctx, u, v, sink)
		if resp != nil && resp.Status == http.StatusNotAcceptable {
			if i < len(ep.versions)-1 {
				continue
			}
			return resp, ref, fmt.Errorf("the server accepts none of the API versions custos reads for %s (%s): %w", ep.name, versionList(ep.versions), err)
		}
		if err == nil {
			ep.chosen.Store(int32(v))
		}
		return resp, ref, err
	}
	return nil, collect.RawRef{}, fmt.Errorf("no API version known for %s", ep.name)
}

func versionList(vs []int) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strconv.Itoa(v)
	}
	return strings.Join(out, ", ")
}

// send performs one authenticated GET asking for API version v, captures
// every response (retried attempts included) and returns the final one
// with its RawRef. With OAuth a 401 drops the token and tries once more
// with a new one; basic credentials that are refused are refused. A
// failure to store a response is a *httpsource.StagingError; a final
// status outside 2xx is an *Error.
func (s *Source) send(ctx context.Context, u *url.URL, v int, sink collect.Sink) (*httpx.Response, collect.RawRef, error) {
	for attempt := 0; ; attempt++ {
		h := http.Header{"Accept": {"application/json;version=" + strconv.Itoa(v)}}
		secrets := s.secrets
		if s.tokens != nil {
			tok, err := s.tokens.Token(ctx, sink)
			if err != nil {
				return nil, collect.RawRef{}, err
			}
			h.Set("Authorization", "Bearer "+tok)
			secrets = append(secrets[:len(secrets):len(secrets)], secret{"access token", tok})
		} else {
			h.Set("Authorization", s.basic)
		}
		if s.cfg.TenantCode != "" {
			h.Set("aw-tenant-code", s.cfg.TenantCode)
		}
		resp, err := s.api.Do(ctx, httpx.Request{Method: http.MethodGet, URL: u, Header: h})
		if resp == nil {
			return nil, collect.RawRef{}, err
		}
		ref, cerr := capture(sink, resp, "Accept: application/json;version="+strconv.Itoa(v), secrets)
		if cerr != nil {
			return nil, collect.RawRef{}, cerr
		}
		if s.tokens != nil && attempt == 0 && errors.Is(err, httpx.ErrAuth) {
			s.tokens.Invalidate()
			continue
		}
		return resp, ref, s.typed(err, resp, secrets)
	}
}

// typed turns the *httpx.APIError of a final status outside 2xx into an
// *Error carrying Workspace ONE's error body.
func (s *Source) typed(err error, resp *httpx.Response, secrets []secret) error {
	var ae *httpx.APIError
	if err == nil || !errors.As(err, &ae) || ae.Status < 300 || ae.Kind == httpx.KindTransport || ae.Kind == httpx.KindTooLarge {
		return err
	}
	e := &Error{Status: ae.Status, err: ae}
	if b, ok := parseError(resp.Body); ok {
		e.Code, e.Message, e.ActivityID = b.Code, redactText(b.Message, secrets), redactText(b.ActivityID, secrets)
	}
	return e
}

// decodeError is the API client's DecodeError: it reads Workspace ONE's
// error body into the *httpx.APIError's code ("errorCode N") and message
// (the message, then the activityId), without the source's credentials.
func (s *Source) decodeError(status int, h http.Header, body []byte) (string, string) {
	b, ok := parseError(body)
	if !ok {
		return "", ""
	}
	code := ""
	if b.HasCode {
		code = "errorCode " + strconv.Itoa(b.Code)
	}
	msg := s.redact(b.Message)
	if b.ActivityID != "" {
		msg += " (activityId " + s.redact(b.ActivityID) + ")"
	}
	return code, strings.TrimSpace(msg)
}

// redact removes the source's credentials from a text.
func (s *Source) redact(text string) string { return redactText(text, s.secrets) }

// redactText removes secrets from a text.
func redactText(text string, secrets []secret) string {
	vals := make([]string, 0, len(secrets))
	for _, sc := range secrets {
		vals = append(vals, sc.value)
	}
	return redact.String(text, vals...)
}

// tokenRequest is the client-credentials grant.
func (s *Source) tokenRequest() (httpsource.TokenRequest, error) {
	return httpsource.TokenRequest{
		URL: s.tokenURL,
		Form: url.Values{
			"grant_type":    {"client_credentials"},
			"client_id":     {s.cfg.ClientID},
			"client_secret": {s.cfg.ClientSecret},
		},
		Refused: func(resp *httpx.Response) error {
			// The server's words, never an echo of the secret.
			code, msg := httpx.DecodeJSONError(resp.Status, resp.Header, resp.Body)
			return fmt.Errorf("requesting a token for client %s at %s: HTTP %d %s: %s: %w",
				clip(s.cfg.ClientID, 100), redact.URL(s.tokenURL), resp.Status, clip(s.redact(code), 100), clip(s.redact(msg), 300), collect.ErrAuth)
		},
	}, nil
}

// capture stores resp, and every retried attempt before it, in sink, each
// request-log line noting the version asked (note), and returns the RawRef
// of resp's body. A body that carries one of the credentials (a 403 that
// repeats the tenant code it was sent) is stored with it replaced; the
// log line says so and gives the size and sha256 of the bytes received.
func capture(sink collect.Sink, resp *httpx.Response, note string, secrets []secret) (collect.RawRef, error) {
	var ref collect.RawRef
	for _, r := range append(resp.Retried[:len(resp.Retried):len(resp.Retried)], resp) {
		ex := &collect.Exchange{Started: r.Started, Finished: r.Finished, Method: r.Method, URL: r.URL, Status: r.Status,
			Headers: redact.Headers(r.Header, logHeaders...), Note: note}
		if r.Err != nil {
			ex.Error = r.Err.Error()
		}
		body := r.Body
		if clean, what := scrub(body, secrets); what != nil {
			sum := sha256.Sum256(body)
			ex.Note += fmt.Sprintf("; body redacted (%s replaced by %s): received %d bytes, sha256 %s",
				strings.Join(what, ", "), redact.Placeholder, len(body), hex.EncodeToString(sum[:]))
			body = clean
		}
		var err error
		if ref, err = sink.Capture(Name, ex, body, true); err != nil {
			return collect.RawRef{}, &httpsource.StagingError{Err: err}
		}
	}
	return ref, nil
}

// scrub replaces every credential in body, as written and as JSON would
// escape it, and names those it found (nil when none).
func scrub(body []byte, secrets []secret) ([]byte, []string) {
	var what []string
	out := body
	for _, sc := range secrets {
		if len(sc.value) < 4 {
			continue
		}
		forms := []string{sc.value}
		if q, err := json.Marshal(sc.value); err == nil && string(q[1:len(q)-1]) != sc.value {
			forms = append(forms, string(q[1:len(q)-1]))
		}
		found := false
		for _, f := range forms {
			if bytes.Contains(out, []byte(f)) {
				out = bytes.ReplaceAll(out, []byte(f), []byte(redact.Placeholder))
				found = true
			}
		}
		if found {
			what = append(what, sc.name)
		}
	}
	return out, what
}

// page is one page of a Workspace ONE listing: the items of its list
// member, kept raw, and its paging members.
type page struct {
	Number int // the page asked for, from 0
	Items  []json.RawMessage
	// Page, PageSize and Total as the envelope gave them; Has* say
	// whether it did.
	Page, PageSize, Total          int
	HasPage, HasPageSize, HasTotal bool
}

// decodePage reads an envelope {"<member>":[…],"Page":P,"PageSize":S,
// "Total":N} by exact member names (encoding/json would match them in any
// case, and the records' pointers would then lead nowhere in the stored
// bytes); of repeated members the last counts, as a JSON pointer
// resolves them.
func decodePage(data []byte, member string) (page, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return page{}, err
	}
	if all == nil {
		return page{}, errors.New("null where an object was expected")
	}
	var p page
	if v, ok := all[member]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &p.Items); err != nil {
			return page{}, fmt.Errorf("%s: %w", member, err)
		}
	}
	for _, f := range []struct {
		name string
		into *int
		has  *bool
	}{{"Page", &p.Page, &p.HasPage}, {"PageSize", &p.PageSize, &p.HasPageSize}, {"Total", &p.Total, &p.HasTotal}} {
		v, ok := all[f.name]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, f.into); err != nil {
			return page{}, fmt.Errorf("%s: %w", f.name, err)
		}
		*f.has = true
	}
	return p, nil
}

// decodeItem decodes one item of a page, which must be a JSON object.
func decodeItem(raw json.RawMessage, v any) error {
	if b := bytes.TrimSpace(raw); len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(raw, v)
}

// errPaging marks a listing whose paging cannot be trusted.
var errPaging = errors.New("inconsistent paging")

// shortError ends a listing that was answered "no results" before the
// Total its first pages gave was reached.
type shortError struct{ page, listed, total int }

func (e *shortError) Error() string {
	return fmt.Sprintf("page %d came back empty after %d of the %d items the listing announced: the rest were not collected", e.page, e.listed, e.total)
}

// lister describes one paged listing.
type lister struct {
	ep     *endpoint
	path   []string // under the API base, unescaped segments
	query  string   // fixed query before page and pagesize
	member string   // the envelope member holding the items
	size   int      // pagesize asked
}

func (l lister) url(base *url.URL, n int) *url.URL {
	u := base.JoinPath(l.path...)
	q := fmt.Sprintf("page=%d&pagesize=%d", n, l.size)
	if l.query != "" {
		q = l.query + "&" + q
	}
	u.RawQuery = q
	return u
}

// list walks the pages of a listing (page 0, 1, …), calling fn with each
// page that holds items. It stops after the page that reaches the Total
// the envelope announces (by position: page number × PageSize), after a
// page shorter than PageSize when there is no Total, or at an empty
// answer (204, or 200 with no body: "no results"). An empty answer before
// the announced Total is a *shortError; an envelope naming another page
// than the one asked, or a page that only repeats items already listed,
// is errPaging: the server's paging cannot be followed safely.
func (s *Source) list(ctx context.Context, l lister, sink collect.Sink, fn func(p page, ref collect.RawRef) error) error {
	pager := s.api.NewPager(l.url(s.api.Base, 0))
	seen := map[[32]byte]bool{}
	listed, total := 0, -1
	for n := 0; ; n++ {
		resp, ref, err := s.get(ctx, l.ep, pager.URL(), sink)
		if err != nil {
			return fmt.Errorf("page %d: %w", n, err)
		}
		if resp.Status == http.StatusNoContent || len(bytes.TrimSpace(resp.Body)) == 0 {
			if total >= 0 && listed < total {
				return &shortError{page: n, listed: listed, total: total}
			}
			return nil
		}
		p, err := decodePage(resp.Body, l.member)
		if err != nil {
			return fmt.Errorf("page %d: decoding %s: %w", n, ref.Path, err)
		}
		p.Number = n
		if p.HasPage && p.Page != n {
			return fmt.Errorf("%w: asked for page %d, the answer says page %d", errPaging, n, p.Page)
		}
		fresh := 0
		for _, it := range p.Items {
			if k := sha256.Sum256(it); !seen[k] {
				seen[k] = true
				fresh++
			}
		}
		if len(p.Items) > 0 && fresh == 0 {
			return fmt.Errorf("%w: page %d only repeats items already listed", errPaging, n)
		}
		if len(p.Items) > 0 {
			if err := fn(p, ref); err != nil {
				return err
			}
		}
		listed += len(p.Items)
		if p.HasTotal && p.Total >= 0 {
			total = p.Total
		}
		size := l.size
		if p.HasPageSize && p.PageSize > 0 {
			size = min(p.PageSize, 1<<31) // (n+1)·size must not overflow
		}
		switch {
		case len(p.Items) == 0:
			if total >= 0 && listed < total {
				return &shortError{page: n, listed: listed, total: total}
			}
			return nil
		case total >= 0 && (listed >= total || (n+1)*size >= total):
			return nil
		case total < 0 && len(p.Items) < size:
			return nil
		}
		if _, err := pager.NextURL(l.url(s.api.Base, n+1)); err != nil {
			return fmt.Errorf("page %d: %w", n+1, err)
		}
	}
}

// at is the RawRef of item i of the list member of the page at ref.
func at(ref collect.RawRef, member string, i int) collect.RawRef {
	ref.Pointer = "/" + member + "/" + strconv.Itoa(i)
	return ref
}

// where names a stored object for a message: path#pointer.
func where(ref collect.RawRef) string { return ref.Path + "#" + ref.Pointer }
