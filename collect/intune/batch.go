package intune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
	"github.com/custos-ir/custos/internal/httpx"
	"github.com/custos-ir/custos/internal/redact"
)

// MaxBatch is the most requests Graph accepts in one $batch.
const MaxBatch = 20

// call is one GET of per-device (or per-app) work: a path under an API
// version, with its query.
type call struct {
	version string   // "v1.0" or "beta"
	segs    []string // path segments after the version, unescaped
	query   string   // raw query, already in Graph's form
}

// url is the absolute URL of c.
func (s *Source) url(c call) *url.URL {
	elems := []string{c.version}
	for _, seg := range c.segs {
		elems = append(elems, url.PathEscape(seg))
	}
	u := s.graph.Base.JoinPath(elems...)
	u.RawQuery = c.query
	return u
}

// batchable splits u, a URL on the Graph origin, into the API version and
// the rest as a $batch item names it (relative to the version, with the
// query), when u is under the configured base path.
func (s *Source) batchable(u *url.URL) (version, rel string, ok bool) {
	// JoinPath on a URL with an empty path gives a path without its
	// leading slash; String adds it back.
	abs := func(p string) string { return "/" + strings.TrimPrefix(p, "/") }
	prefix := strings.TrimSuffix(abs(s.graph.Base.EscapedPath()), "/") + "/"
	rest, ok := strings.CutPrefix(abs(u.EscapedPath()), prefix)
	if !ok {
		return "", "", false
	}
	version, rel, ok = strings.Cut(rest, "/")
	if !ok || (version != "v1.0" && version != "beta") || rel == "" {
		return "", "", false
	}
	rel = "/" + rel
	if u.RawQuery != "" {
		rel += "?" + u.RawQuery
	}
	return version, rel, true
}

// collections reads the collections at firsts, every page of each, and
// calls fn with each page (i: the collection's index). Pages of different
// collections go out together: the first pages in $batch requests, then
// the pages their @odata.nextLink name, round after round, so a group of
// devices or apps costs a few HTTP requests whatever its size. Every link
// is checked as a Pager checks it (the configured origin only; a repeated
// page stops that collection). errs holds what ended each collection
// early; err is for what must stop the run.
func (s *Source) collections(ctx context.Context, firsts []*url.URL, sink collect.Sink, fn func(i int, p page, ref collect.RawRef) error) (errs []error, err error) {
	errs = make([]error, len(firsts))
	pagers := make([]*httpx.Pager, len(firsts))
	cur := make([]int, len(firsts))
	for i, u := range firsts {
		pagers[i], cur[i] = s.graph.NewPager(u), i
	}
	for len(cur) > 0 {
		urls := make([]*url.URL, len(cur))
		for k, i := range cur {
			urls[k] = pagers[i].URL()
		}
		res, err := s.fetch(ctx, urls, sink)
		if err != nil {
			return errs, err
		}
		var next []int
		for k, i := range cur {
			r, n := res[k], pagers[i].Page()
			if r.err != nil {
				errs[i] = fmt.Errorf("page %d: %w", n, r.err)
				continue
			}
			var p page
			if err := json.Unmarshal(r.body, &p); err != nil {
				errs[i] = fmt.Errorf("page %d: decoding %s: %w", n, where(r.ref), err)
				continue
			}
			if err := fn(i, p, r.ref); err != nil {
				errs[i] = err
				continue
			}
			more, err := pagers[i].Next(p.NextLink)
			if err != nil {
				errs[i] = fmt.Errorf("page %d: @odata.nextLink: %w", n, err)
				continue
			}
			if more {
				next = append(next, i)
			}
		}
		cur = next
	}
	return errs, nil
}

// result is what one GET gave: the page, with where it is stored (inside
// a $batch response, the pointer /responses/<k>/body), or why it could
// not be had.
type result struct {
	body []byte
	ref  collect.RawRef
	err  error
}

// batchEnvelope is a $batch response (mdm-apis.md §1.11). Items come back
// in any order; each has its own status, headers and body.
type batchEnvelope struct {
	Responses []batchItem
}

type batchItem struct {
	ID      string
	Status  int
	Headers map[string]string
	Body    json.RawMessage
}

// UnmarshalJSON reads the envelope by exact member names, as page does:
// records point into it (/responses/K/body/...).
func (e *batchEnvelope) UnmarshalJSON(data []byte) error {
	m, err := members(data, "responses")
	if err != nil {
		return err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(m["responses"], &items); err != nil || items == nil {
		return errors.New("no responses array")
	}
	e.Responses = make([]batchItem, len(items))
	for k, raw := range items {
		im, err := members(raw, "id", "status", "headers", "body")
		if err != nil {
			return fmt.Errorf("responses/%d: %w", k, err)
		}
		it := &e.Responses[k]
		for name, dst := range map[string]any{"id": &it.ID, "status": &it.Status, "headers": &it.Headers} {
			if v := im[name]; v != nil {
				if err := json.Unmarshal(v, dst); err != nil {
					return fmt.Errorf("responses/%d/%s: %w", k, name, err)
				}
			}
		}
		it.Body = im["body"]
	}
	return nil
}

// fetch GETs urls and returns their results in the same order: URLs of
// one API version go out in $batch requests of up to Config.Batch, the
// others (and a lone one) on their own. A URL whose $batch failed as a
// whole (a broken or refused envelope, an item left unanswered) is sent
// again on its own, so that one bad response does not cost the rest of its
// batch. The error is for what must stop the run (the run cancelled, the
// staging failing); a failed GET has its own error in its result,
// authentication failures included, for the caller to judge.
func (s *Source) fetch(ctx context.Context, urls []*url.URL, sink collect.Sink) ([]result, error) {
	res := make([]result, len(urls))
	type item struct {
		i   int
		rel string
	}
	byVersion := map[string][]item{}
	var alone []int
	size := min(s.cfg.Batch, MaxBatch)
	for i, u := range urls {
		version, rel, ok := s.batchable(u)
		if !ok || size <= 1 {
			alone = append(alone, i)
			continue
		}
		byVersion[version] = append(byVersion[version], item{i, rel})
	}
	for _, version := range []string{"v1.0", "beta"} {
		for chunk := range slices.Chunk(byVersion[version], size) {
			if len(chunk) == 1 {
				alone = append(alone, chunk[0].i)
				continue
			}
			rels := make([]string, len(chunk))
			out := make([]result, len(chunk))
			for k, it := range chunk {
				rels[k] = it.rel
			}
			failed, err := s.batch(ctx, version, rels, out, sink)
			if err != nil {
				return res, err
			}
			for k, it := range chunk {
				res[it.i] = out[k]
			}
			for _, k := range failed {
				alone = append(alone, chunk[k].i)
			}
		}
	}
	slices.Sort(alone)
	for _, i := range alone {
		resp, ref, err := s.get(ctx, urls[i], sink)
		if resp == nil && err != nil && httpsource.Fatal(ctx, err) {
			return res, err
		}
		res[i] = result{ref: ref, err: err}
		if resp != nil {
			res[i].body = resp.Body
		}
	}
	return res, nil
}

// batch sends GETs of rels (at most MaxBatch, relative to version) as
// $batch requests, filling res, and returns the indexes of those to send
// on their own. Graph evaluates, throttles and fails every item on its own
// (an outer 200 says nothing about the items), so each item is judged like
// a response: a 429 or 503 item, or a 502 or 504 one, goes into the next
// $batch after the longest Retry-After (or backoff) any of them asked for,
// up to the client's retries. Every $batch response is kept verbatim.
func (s *Source) batch(ctx context.Context, version string, rels []string, res []result, sink collect.Sink) (alone []int, err error) {
	u := s.graph.Base.JoinPath(version, "$batch")
	itemBase := s.graph.Base.JoinPath(version).String()
	pending := make([]int, len(rels))
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; len(pending) > 0; attempt++ {
		type item struct {
			ID     string `json:"id"`
			Method string `json:"method"`
			URL    string `json:"url"`
		}
		var body struct {
			Requests []item `json:"requests"`
		}
		for _, i := range pending {
			body.Requests = append(body.Requests, item{ID: strconv.Itoa(i + 1), Method: http.MethodGet, URL: rels[i]})
		}
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		req := httpx.Request{Method: http.MethodPost, URL: u, Body: data, Idempotent: true, Cost: len(pending),
			Header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}}
		resp, ref, err := s.send(ctx, req, sink)
		var env batchEnvelope
		switch {
		case err != nil && resp == nil && httpsource.Fatal(ctx, err):
			return nil, err
		case err != nil && httpsource.AuthFailed(err):
			// The credential itself was refused: every item would be.
			for _, i := range pending {
				res[i] = result{ref: ref, err: fmt.Errorf("$batch: %w", err)}
			}
			return alone, nil
		case err != nil || json.Unmarshal(resp.Body, &env) != nil:
			return append(alone, pending...), nil
		}
		answered := map[int]bool{}
		var retry []int
		var delay time.Duration
		for k, it := range env.Responses {
			n, err := strconv.Atoi(it.ID)
			i := n - 1
			if err != nil || i < 0 || i >= len(rels) || answered[i] || !slices.Contains(pending, i) {
				continue // an id that was not asked, or answered twice: the first answer stands
			}
			answered[i] = true
			h := http.Header{}
			for k, v := range it.Headers {
				h.Set(k, v)
			}
			p := httpx.Part{Method: http.MethodGet, URL: redact.URLString(itemBase + rels[i]), Status: it.Status, Header: h, Body: it.Body}
			if d, again := s.graph.PartRetry(p, true, attempt); again {
				retry = append(retry, i)
				delay = max(delay, d)
				continue
			}
			r := ref
			r.Pointer = fmt.Sprintf("/responses/%d/body", k)
			res[i] = result{body: it.Body, ref: r, err: s.graph.PartError(req, p, attempt+1)}
		}
		for _, i := range pending {
			if !answered[i] {
				alone = append(alone, i)
			}
		}
		if len(retry) > 0 {
			if err := s.graph.Wait(ctx, delay); err != nil {
				return nil, err
			}
		}
		pending = retry
	}
	return alone, nil
}
