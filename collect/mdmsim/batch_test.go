package mdmsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type batchReply struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

func postBatch(t *testing.T, base, version, tok, body string) graphResp {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/"+version+"/$batch", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("batch reply is not JSON: %v", err)
	}
	return graphResp{status: resp.StatusCode, header: resp.Header, raw: raw}
}

func (g graphResp) batch(t *testing.T) map[string]batchReplyItem {
	t.Helper()
	var b batchReply
	if err := json.Unmarshal(g.raw, &b); err != nil {
		t.Fatalf("decoding %s: %v", g.raw, err)
	}
	out := map[string]batchReplyItem{}
	for _, r := range b.Responses {
		if _, dup := out[r.ID]; dup {
			t.Fatalf("response id %s twice", r.ID)
		}
		out[r.ID] = batchReplyItem{r.Status, r.Headers, r.Body}
	}
	return out
}

type batchReplyItem struct {
	status  int
	headers map[string]string
	body    json.RawMessage
}

func batchOf(urls ...string) string {
	var items []string
	for i, u := range urls {
		items = append(items, fmt.Sprintf(`{"id":"%d","method":"GET","url":%q}`, i+1, u))
	}
	return `{"requests":[` + strings.Join(items, ",") + `]}`
}

func TestBatch(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	f := s.Fleet()
	d0, d1 := f.Devices[0].ID, f.Devices[1].ID
	r := postBatch(t, ts.URL, "beta", tok, batchOf(
		"/deviceManagement/managedDevices/"+d0+"/detectedApps?$select=displayName,version&$top=999",
		"deviceManagement/managedDevices/"+d1+"?$select=id,deviceName",
		"/deviceManagement/managedDevices/00000000-1111-4222-8333-444444444444",
		"/deviceManagement/nope",
		"https://graph.microsoft.com/beta/deviceManagement/managedDevices",
	))
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("batch: %d %s", r.status, r.raw)
	}
	got := r.batch(t)
	if len(got) != 5 {
		t.Fatalf("%d responses: %s", len(got), r.raw)
	}
	var apps struct {
		Value []map[string]string `json:"value"`
	}
	json.Unmarshal(got["1"].body, &apps)
	if got["1"].status != 200 || len(apps.Value) != len(f.Devices[0].ReportedApps()) || len(apps.Value[0]) != 2 ||
		!strings.HasPrefix(got["1"].headers["Content-Type"], "application/json") {
		t.Errorf("item 1: %d %v %s", got["1"].status, got["1"].headers, got["1"].body)
	}
	var dev map[string]any
	json.Unmarshal(got["2"].body, &dev)
	if got["2"].status != 200 || dev["id"] != d1 || len(dev) != 3 {
		t.Errorf("item 2: %d %s", got["2"].status, got["2"].body)
	}
	for id, want := range map[string]struct {
		status int
		code   string
	}{"3": {404, "ResourceNotFound"}, "4": {400, "BadRequest"}, "5": {400, "BadRequest"}} {
		var e graphErr
		json.Unmarshal(got[id].body, &e)
		if got[id].status != want.status || e.Error.Code != want.code {
			t.Errorf("item %s: %d %s", id, got[id].status, got[id].body)
		}
	}

	// The log holds one request with its items; the unknown segment and
	// the absolute URL are unexpected.
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	if last.Path != "/beta/$batch" || last.Status != 200 || len(last.Batch) != 5 ||
		last.Batch[0].Path != "/beta/deviceManagement/managedDevices/"+d0+"/detectedApps" || last.Batch[0].RawQuery != "$select=displayName,version&$top=999" {
		t.Errorf("logged %+v", last)
	}
	if st := s.Stats(); st.BatchItems != 5 || st.Unexpected != 2 || len(s.Unexpected()) != 2 {
		t.Errorf("stats %+v, unexpected %+v", st, s.Unexpected())
	}
}

func TestBatchMalformed(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	id := s.Fleet().Devices[0].ID
	urls := make([]string, MaxBatch+1)
	for i := range urls {
		urls[i] = "/deviceManagement/managedDevices/" + id
	}
	cases := []struct {
		name, body, msg string
	}{
		{"21 requests", batchOf(urls...), "The number of requests in the batch (21) exceeds the limit of 20."},
		{"not JSON", `{"requests":[`, "Invalid batch payload format."},
		{"no requests key", `{}`, "Invalid batch payload format."},
		{"trailing data", `{"requests":[]} {}`, "Invalid batch payload format."},
		{"empty", `{"requests":[]}`, "The batch request must contain at least one request."},
		{"duplicate id", `{"requests":[{"id":"1","method":"GET","url":"/a"},{"id":"1","method":"GET","url":"/b"}]}`, "The batch request id '1' is used more than once; ids must be unique."},
		{"missing url", `{"requests":[{"id":"1","method":"GET"}]}`, "Each request of a batch must have an id, a method and a url."},
		{"body without content type", `{"requests":[{"id":"1","method":"POST","url":"/a","body":{"x":1}}]}`, "Request '1' of the batch has a body but no Content-Type header."},
		{"unknown dependency", `{"requests":[{"id":"1","method":"GET","url":"/a","dependsOn":["2"]},{"id":"2","method":"GET","url":"/b"}]}`, "Request '1' of the batch depends on '2', which is not an earlier request of the batch."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := postBatch(t, ts.URL, "v1.0", tok, c.body)
			e := r.err(t)
			if r.status != 400 || e.Error.Code != "BadRequest" || e.Error.Message != c.msg || e.Error.InnerError.RequestID == "" {
				t.Errorf("status %d, error %+v", r.status, e.Error)
			}
		})
	}
	// Exactly 20 is fine.
	if r := postBatch(t, ts.URL, "v1.0", tok, batchOf(urls[:MaxBatch]...)); r.status != 200 || len(r.batch(t)) != MaxBatch {
		t.Errorf("20 requests: %d", r.status)
	}
	// $batch takes POST only, and a token.
	if r := get(t, ts.URL+"/v1.0/$batch", tok); r.status != 405 || r.header.Get("Allow") != "POST" {
		t.Errorf("GET $batch: %d %v", r.status, r.header)
	}
	if r := postBatch(t, ts.URL, "v1.0", "bogus", batchOf(urls[0])); r.status != 401 {
		t.Errorf("bad token: %d", r.status)
	}
}

// Each request of a batch meets the rate limiter on its own: those that
// find the bucket empty get 429 with Retry-After in the item's headers
// while the others succeed.
func TestBatchPerItem429(t *testing.T) {
	clock := &testClock{t: fixedNow}
	s, ts := newTestServer(t, Options{Clock: clock.Now, RateLimit: 1, RateBurst: 3})
	tok := getToken(t, ts.URL)
	var urls []string
	for _, d := range s.Fleet().Devices[:5] {
		urls = append(urls, "/deviceManagement/managedDevices/"+d.ID+"?$select=id")
	}
	got := postBatch(t, ts.URL, "v1.0", tok, batchOf(urls...)).batch(t)
	var ok, throttledN int
	for id, it := range got {
		switch it.status {
		case 200:
			ok++
		case 429:
			throttledN++
			var e graphErr
			json.Unmarshal(it.body, &e)
			if it.headers["Retry-After"] != "1" || e.Error.Code != "TooManyRequests" {
				t.Errorf("item %s: headers %v body %s", id, it.headers, it.body)
			}
		default:
			t.Errorf("item %s: status %d", id, it.status)
		}
	}
	// The first three (in request order) were admitted.
	for _, id := range []string{"1", "2", "3"} {
		if got[id].status != 200 {
			t.Errorf("item %s: %d, want 200", id, got[id].status)
		}
	}
	if ok != 3 || throttledN != 2 {
		t.Errorf("%d admitted, %d throttled; want 3 and 2", ok, throttledN)
	}
	if st := s.Stats(); st.Throttled != 2 || st.Status429 != 2 || st.BatchItems != 5 {
		t.Errorf("stats %+v", st)
	}
	clock.Add(2 * time.Second)
	if got := postBatch(t, ts.URL, "v1.0", tok, batchOf(urls[:2]...)).batch(t); got["1"].status != 200 || got["2"].status != 200 {
		t.Errorf("after refill: %v", got)
	}

	// An injected 429 reaches only the items whose path matches.
	s.Inject("/v1.0/deviceManagement/managedDevices/"+s.Fleet().Devices[1].ID, Fault429NoRetryAfter, 1)
	clock.Add(10 * time.Second)
	got = postBatch(t, ts.URL, "v1.0", tok, batchOf(urls[:3]...)).batch(t)
	if got["1"].status != 200 || got["2"].status != 429 || got["2"].headers["Retry-After"] != "" || got["3"].status != 200 {
		t.Errorf("injected item 429: %v", got)
	}
}

func TestBatchDependsOn(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	id := s.Fleet().Devices[0].ID
	body := `{"requests":[
		{"id":"a","method":"GET","url":"/deviceManagement/managedDevices/` + id + `"},
		{"id":"b","method":"GET","url":"/deviceManagement/managedDevices/00000000-1111-4222-8333-444444444444"},
		{"id":"c","method":"GET","url":"/deviceManagement/detectedApps?$top=1","dependsOn":["a"]},
		{"id":"d","method":"GET","url":"/deviceManagement/detectedApps?$top=1","dependsOn":["a","b"]},
		{"id":"e","method":"POST","url":"/deviceManagement/managedDevices","headers":{"content-type":"application/json"},"body":{}}]}`
	got := postBatch(t, ts.URL, "v1.0", tok, body).batch(t)
	want := map[string]int{"a": 200, "b": 404, "c": 200, "d": 424, "e": 405}
	for id, st := range want {
		if got[id].status != st {
			t.Errorf("%s: status %d, want %d (%s)", id, got[id].status, st, got[id].body)
		}
	}
	var e graphErr
	json.Unmarshal(got["d"].body, &e)
	if e.Error.Code != "FailedDependency" {
		t.Errorf("424 body %s", got["d"].body)
	}
}

// Graph does not promise to answer in request order, and the simulator
// does not: over a few batches some answer comes out of order.
func TestBatchOrderNotGuaranteed(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	var urls []string
	for _, d := range s.Fleet().Devices[:8] {
		urls = append(urls, "/deviceManagement/managedDevices/"+d.ID+"?$select=id")
	}
	shuffled := false
	for range 5 {
		var b batchReply
		json.Unmarshal(postBatch(t, ts.URL, "v1.0", tok, batchOf(urls...)).raw, &b)
		for i, r := range b.Responses {
			if r.ID != fmt.Sprint(i+1) {
				shuffled = true
			}
		}
	}
	if !shuffled {
		t.Error("five batches of eight all answered in request order")
	}
}

// FuzzBatch posts arbitrary bodies to $batch: the simulator answers 200
// with one response per request, or Graph's 400, and never fails.
func FuzzBatch(f *testing.F) {
	for _, s := range []string{
		batchOf("/deviceManagement/detectedApps?$top=1", "/deviceManagement/nope"),
		`{"requests":[{"id":"a","method":"GET","url":"/deviceManagement/managedDevices?$top=1"},{"id":"b","method":"GET","url":"/deviceManagement/auditEvents","dependsOn":["a"]}]}`,
		`{"requests":[{"id":"1","method":"PO ST","url":"/x"}]}`,
		`{"requests":[{"id":"1","method":"GET","url":"%zz"}]}`,
		`{"requests":[{"id":"1","method":"GET","url":"/$batch"}]}`,
		`{"requests":null}`, `[]`, `{"requests":[{}]}`, "",
	} {
		f.Add(s)
	}
	s := New(Options{Devices: 8, Now: fixedNow})
	tok := s.mintToken(s.opts.Clock())
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/v1.0/$batch", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200:
			var b batchReply
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || len(b.Responses) == 0 || len(b.Responses) > MaxBatch {
				t.Fatalf("200 with %s", w.Body)
			}
			for _, it := range b.Responses {
				if it.Status < 200 || it.Status > 599 || (len(it.Body) > 0 && !json.Valid(it.Body)) {
					t.Fatalf("item %+v", it)
				}
			}
		case 400:
			var e graphErr
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != "BadRequest" {
				t.Fatalf("400 with %s", w.Body)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
