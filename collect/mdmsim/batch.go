package mdmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// JSON batching: POST /{version}/$batch with
// {"requests":[{"id","method","url","headers","body","dependsOn"}]} answers
// {"responses":[{"id","status","headers","body"}]}. Every item is served
// as if sent on its own (authenticated with the batch's token, relative to
// the batch's version), so each meets the rate limiters and can fail with
// its own status — a per-item 429 carries its Retry-After in the item's
// headers. The envelope is 200 whatever the items got; it is 400 only when
// the batch itself is malformed.

// MaxBatch is the most requests one $batch may hold.
const MaxBatch = 20

// maxBatchBody bounds a $batch request body.
const maxBatchBody = 4 << 20

type batchItem struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResult struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// batchHeaders are the response headers copied into an item's headers.
var batchHeaders = []string{"Content-Type", "OData-Version", "Retry-After", "WWW-Authenticate", "Allow", "Location"}

// serveBatch answers a $batch request into w. It returns the transport
// fault injected for one of the items (slow, reset, truncate, malformed),
// which befalls the whole response.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, version string, rec *Request) Fault {
	fail := func(msg string) { writeGraphError(w, badRequest(msg), s.opts.Clock()) }
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBatchBody+1))
	if err != nil || len(raw) > maxBatchBody {
		fail("Invalid batch payload format.")
		return FaultNone
	}
	var in struct {
		Requests []batchItem `json:"requests"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&in); err != nil || dec.More() || in.Requests == nil {
		fail("Invalid batch payload format.")
		return FaultNone
	}
	switch n := len(in.Requests); {
	case n == 0:
		fail("The batch request must contain at least one request.")
		return FaultNone
	case n > MaxBatch:
		fail(fmt.Sprintf("The number of requests in the batch (%d) exceeds the limit of %d.", n, MaxBatch))
		return FaultNone
	}
	index := map[string]int{}
	for i, it := range in.Requests {
		switch {
		case it.ID == "" || it.Method == "" || it.URL == "":
			fail("Each request of a batch must have an id, a method and a url.")
			return FaultNone
		case hasKey(index, it.ID):
			fail(fmt.Sprintf("The batch request id '%s' is used more than once; ids must be unique.", it.ID))
			return FaultNone
		case len(it.Body) > 0 && string(it.Body) != "null" && header(it.Headers, "Content-Type") == "":
			fail(fmt.Sprintf("Request '%s' of the batch has a body but no Content-Type header.", it.ID))
			return FaultNone
		}
		for _, d := range it.DependsOn {
			if j, ok := index[d]; !ok || j >= i {
				fail(fmt.Sprintf("Request '%s' of the batch depends on '%s', which is not an earlier request of the batch.", it.ID, d))
				return FaultNone
			}
		}
		index[it.ID] = i
	}

	results := make([]batchResult, len(in.Requests))
	rec.Batch = make([]Request, len(in.Requests))
	transport := FaultNone
	for i, it := range in.Requests {
		res := &results[i]
		irec := &rec.Batch[i]
		res.ID = it.ID
		failed := ""
		for _, d := range it.DependsOn {
			if st := results[index[d]].Status; st < 200 || st > 299 {
				failed = d
			}
		}
		if failed != "" {
			*irec = Request{Method: it.Method, Path: it.URL, Status: http.StatusFailedDependency}
			*res = itemError(it.ID, http.StatusFailedDependency, "FailedDependency",
				fmt.Sprintf("The request depends on request '%s', which failed.", failed))
			continue
		}
		*res = s.batchItem(r, version, it, irec)
		if transport == FaultNone && irec.Status >= 200 && irec.Status <= 299 {
			if u, err := url.Parse(it.URL); err == nil {
				if f := s.takeEnvelopeInjection("/" + version + "/" + strings.TrimPrefix(u.Path, "/")); f != FaultNone {
					transport, irec.Fault = f, f
				}
			}
		}
	}

	// Graph does not keep the order of the requests; neither does the
	// simulator, so that clients do not come to rely on it.
	s.mu.Lock()
	s.miscRNG.Shuffle(len(results), func(i, j int) { results[i], results[j] = results[j], results[i] })
	s.mu.Unlock()
	body := []byte(`{"responses":`)
	body = appendJSON(body, results)
	body = append(body, '}')
	w.Header().Set("Content-Type", graphContentType)
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return transport
}

// batchItem serves one item of a batch.
func (s *Server) batchItem(r *http.Request, version string, it batchItem, irec *Request) batchResult {
	method := strings.ToUpper(it.Method)
	u, err := url.Parse(it.URL)
	if err != nil || u.IsAbs() || u.Host != "" {
		*irec = Request{Method: method, Path: it.URL, Status: http.StatusBadRequest, Unexpected: true}
		return itemError(it.ID, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid request URL '%s': a batch request url must be relative.", it.URL))
	}
	path := "/" + version + "/" + strings.TrimPrefix(u.Path, "/")
	inner, err := http.NewRequestWithContext(r.Context(), method, "/", bytes.NewReader(it.Body))
	if err != nil {
		*irec = Request{Method: method, Path: path, Status: http.StatusBadRequest, Unexpected: true}
		return itemError(it.ID, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid method '%s'.", it.Method))
	}
	inner.URL = &url.URL{Path: path, RawQuery: u.RawQuery}
	inner.RequestURI = inner.URL.RequestURI()
	inner.Host, inner.TLS, inner.RemoteAddr = r.Host, r.TLS, r.RemoteAddr
	for k, v := range it.Headers {
		inner.Header.Set(k, v)
	}
	inner.Header.Set("Authorization", r.Header.Get("Authorization"))

	*irec = Request{Method: method, Path: path, RawQuery: u.RawQuery}
	w := newResponse()
	s.serveGraph(w, inner, splitPath(path), irec, true)
	irec.Status = w.code()
	irec.RequestID = w.header.Get("request-id")

	res := batchResult{ID: it.ID, Status: w.code(), Headers: map[string]string{}}
	for _, k := range batchHeaders {
		if v := w.header.Get(k); v != "" {
			res.Headers[k] = v
		}
	}
	if b := w.body.Bytes(); len(b) > 0 {
		if json.Valid(b) {
			res.Body = json.RawMessage(b)
		} else {
			res.Body = appendJSON(nil, string(b))
		}
	}
	return res
}

func itemError(id string, status int, code, msg string) batchResult {
	body := graphErrorBody{Error: graphErrorDetail{Code: code, Message: msg}}
	return batchResult{ID: id, Status: status, Headers: map[string]string{"Content-Type": graphContentType}, Body: appendJSON(nil, body)}
}

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

// header looks up a header in a batch item's headers, ignoring case.
func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
