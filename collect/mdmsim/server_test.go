package mdmsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	guidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	hex64RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

var fixedNow = time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)

// testClock is a settable clock for token expiry.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = fixedNow
	}
	s := New(opts)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func tokenForm(clientID, secret, scope, grant string) url.Values {
	return url.Values{"client_id": {clientID}, "client_secret": {secret}, "scope": {scope}, "grant_type": {grant}}
}

func postToken(t *testing.T, base, tenant string, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(base+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding token response: %v", err)
	}
	return resp, body
}

func getToken(t *testing.T, base string) string {
	t.Helper()
	resp, body := postToken(t, base, DefaultTenant, tokenForm(DemoClientID, DemoClientSecret, GraphScope, "client_credentials"))
	if resp.StatusCode != 200 {
		t.Fatalf("token: status %d: %v", resp.StatusCode, body)
	}
	return body["access_token"].(string)
}

type graphResp struct {
	status int
	header http.Header
	raw    []byte
}

func (g graphResp) obj(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(g.raw, &m); err != nil {
		t.Fatalf("decoding %s: %v", g.raw, err)
	}
	return m
}

func (g graphResp) str(t *testing.T, key string) string {
	t.Helper()
	var s string
	raw, ok := g.obj(t)[key]
	if !ok {
		return ""
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return s
}

func (g graphResp) items(t *testing.T) []map[string]json.RawMessage {
	t.Helper()
	var v []map[string]json.RawMessage
	if err := json.Unmarshal(g.obj(t)["value"], &v); err != nil {
		t.Fatalf("decoding value of %s: %v", g.raw, err)
	}
	return v
}

type graphErr struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			Date            string `json:"date"`
			RequestID       string `json:"request-id"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

func (g graphResp) err(t *testing.T) graphErr {
	t.Helper()
	var e graphErr
	if err := json.Unmarshal(g.raw, &e); err != nil {
		t.Fatalf("decoding error %s: %v", g.raw, err)
	}
	return e
}

func doGraph(t *testing.T, method, u, token string, hdr map[string]string) graphResp {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return graphResp{status: resp.StatusCode, header: resp.Header, raw: raw}
}

func get(t *testing.T, u, token string) graphResp { return doGraph(t, "GET", u, token, nil) }

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("not a string: %s", raw)
	}
	return s
}

func TestTokenSuccess(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	for _, tenant := range []string{DefaultTenant, "CONTOSO.onmicrosoft.com", s.Fleet().TenantID} {
		resp, body := postToken(t, ts.URL, tenant, tokenForm(DemoClientID, DemoClientSecret, GraphScope, "client_credentials"))
		if resp.StatusCode != 200 {
			t.Fatalf("tenant %s: status %d %v", tenant, resp.StatusCode, body)
		}
		if got := resp.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", got)
		}
		if body["token_type"] != "Bearer" || body["expires_in"] != 3599.0 || body["ext_expires_in"] != 3599.0 {
			t.Errorf("body = %v", body)
		}
		if tok, _ := body["access_token"].(string); strings.Count(tok, ".") != 2 {
			t.Errorf("access_token %q is not JWT-shaped", tok)
		}
	}
}

func TestTokenBasicAuth(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	form := url.Values{"scope": {GraphScope}, "grant_type": {"client_credentials"}}
	req, _ := http.NewRequest("POST", ts.URL+"/"+DefaultTenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(DemoClientID), url.QueryEscape(DemoClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestTokenErrors(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	ok := tokenForm(DemoClientID, DemoClientSecret, GraphScope, "client_credentials")
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range ok {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	cases := []struct {
		name   string
		tenant string
		form   url.Values
		status int
		err    string
		code   int
		prefix string
	}{
		{"wrong secret", DefaultTenant, with("client_secret", "nope"), 401, "invalid_client", 7000215, "AADSTS7000215: Invalid client secret provided."},
		{"missing secret", DefaultTenant, with("client_secret", ""), 401, "invalid_client", 7000218, "AADSTS7000218: "},
		{"unknown client", DefaultTenant, with("client_id", "11111111-2222-4333-8444-555555555555"), 400, "unauthorized_client", 700016, "AADSTS700016: Application with identifier '11111111-2222-4333-8444-555555555555' was not found"},
		{"unknown tenant", "fabrikam.onmicrosoft.com", ok, 400, "invalid_request", 90002, "AADSTS90002: Tenant 'fabrikam.onmicrosoft.com' not found."},
		{"bad grant", DefaultTenant, with("grant_type", "password"), 400, "unsupported_grant_type", 70003, "AADSTS70003: The app requested an unsupported grant type 'password'."},
		{"bad scope", DefaultTenant, with("scope", "https://graph.microsoft.com/User.Read"), 400, "invalid_scope", 70011, "AADSTS70011: "},
		{"missing grant", DefaultTenant, with("grant_type", ""), 400, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'grant_type'."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := postToken(t, ts.URL, c.tenant, c.form)
			if resp.StatusCode != c.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, c.status)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if body["error"] != c.err {
				t.Errorf("error = %v, want %s", body["error"], c.err)
			}
			if codes, _ := body["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(c.code) {
				t.Errorf("error_codes = %v, want [%d]", body["error_codes"], c.code)
			}
			desc, _ := body["error_description"].(string)
			if !strings.HasPrefix(desc, c.prefix) {
				t.Errorf("error_description = %q, want prefix %q", desc, c.prefix)
			}
			trace, _ := body["trace_id"].(string)
			corr, _ := body["correlation_id"].(string)
			stamp, _ := body["timestamp"].(string)
			if !guidRE.MatchString(trace) || !guidRE.MatchString(corr) {
				t.Errorf("trace_id %q / correlation_id %q are not GUIDs", trace, corr)
			}
			if _, err := time.Parse("2006-01-02 15:04:05Z", stamp); err != nil {
				t.Errorf("timestamp %q: %v", stamp, err)
			}
			for _, part := range []string{"Trace ID: " + trace, "Correlation ID: " + corr, "Timestamp: " + stamp} {
				if !strings.Contains(desc, part) {
					t.Errorf("error_description %q lacks %q", desc, part)
				}
			}
			if want := fmt.Sprintf("%s/error?code=%d", ts.URL, c.code); body["error_uri"] != want {
				t.Errorf("error_uri = %v, want %s", body["error_uri"], want)
			}
		})
	}
}

func TestTokenEndpointRejectsGet(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	resp, err := http.Get(ts.URL + "/" + DefaultTenant + "/oauth2/v2.0/token")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 400 || body["error"] != "invalid_request" || !strings.HasPrefix(body["error_description"].(string), "AADSTS900561: ") {
		t.Errorf("status %d body %v", resp.StatusCode, body)
	}
}

func TestCorrelationIDEchoed(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	req, _ := http.NewRequest("POST", ts.URL+"/"+DefaultTenant+"/oauth2/v2.0/token",
		strings.NewReader(tokenForm(DemoClientID, "bad", GraphScope, "client_credentials").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("client-request-id", "0b0e0e0e-1111-4222-8333-444444444444")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if body["correlation_id"] != "0b0e0e0e-1111-4222-8333-444444444444" {
		t.Errorf("correlation_id = %v", body["correlation_id"])
	}
}

func TestGraphAuthFailures(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)}
	_, ts := newTestServer(t, Options{Clock: clock.Now, TokenTTL: time.Hour})
	list := ts.URL + "/v1.0/deviceManagement/managedDevices?$top=1"

	check := func(t *testing.T, r graphResp, msgPrefix string) {
		t.Helper()
		if r.status != 401 {
			t.Fatalf("status = %d, want 401: %s", r.status, r.raw)
		}
		e := r.err(t)
		if e.Error.Code != "InvalidAuthenticationToken" || !strings.HasPrefix(e.Error.Message, msgPrefix) {
			t.Errorf("error = %+v, want InvalidAuthenticationToken %q", e.Error, msgPrefix)
		}
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
		}
		if r.header.Get("request-id") == "" || e.Error.InnerError.RequestID != r.header.Get("request-id") {
			t.Errorf("innerError request-id %q vs header %q", e.Error.InnerError.RequestID, r.header.Get("request-id"))
		}
	}

	t.Run("no token", func(t *testing.T) { check(t, get(t, list, ""), "Access token is empty.") })
	t.Run("unknown token", func(t *testing.T) { check(t, get(t, list, "eyJ0eXAi.eyJhdWQi.c2ln"), "Invalid JWT token. ") })
	t.Run("garbage token", func(t *testing.T) { check(t, get(t, list, "not-a-jwt"), "Invalid JWT token. ") })

	tok := getToken(t, ts.URL)
	if r := get(t, list, tok); r.status != 200 {
		t.Fatalf("fresh token: status %d %s", r.status, r.raw)
	}
	clock.Add(time.Hour - time.Second)
	if r := get(t, list, tok); r.status != 200 {
		t.Fatalf("token one second before expiry: status %d %s", r.status, r.raw)
	}
	clock.Add(time.Second)
	t.Run("expired token", func(t *testing.T) {
		check(t, get(t, list, tok), "Lifetime validation failed, the token is expired.")
	})
}

func TestGraphHeaders(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$top=2", tok)
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if got := r.header.Get("Content-Type"); got != graphContentType {
		t.Errorf("Content-Type = %q", got)
	}
	if r.header.Get("OData-Version") != "4.0" {
		t.Errorf("OData-Version = %q", r.header.Get("OData-Version"))
	}
	rid := r.header.Get("request-id")
	if !guidRE.MatchString(rid) || r.header.Get("client-request-id") != rid {
		t.Errorf("request-id %q, client-request-id %q", rid, r.header.Get("client-request-id"))
	}

	const crid = "c11e0000-aaaa-4bbb-8ccc-dddddddddddd"
	r = doGraph(t, "GET", ts.URL+"/v1.0/deviceManagement/nope", tok, map[string]string{"client-request-id": crid})
	if r.status != 400 {
		t.Fatalf("status %d", r.status)
	}
	e := r.err(t)
	if e.Error.Code != "BadRequest" || e.Error.Message != "Resource not found for the segment 'nope'." {
		t.Errorf("error = %+v", e.Error)
	}
	if r.header.Get("client-request-id") != crid || e.Error.InnerError.ClientRequestID != crid {
		t.Errorf("client-request-id not echoed: header %q body %q", r.header.Get("client-request-id"), e.Error.InnerError.ClientRequestID)
	}
	if e.Error.InnerError.RequestID != r.header.Get("request-id") {
		t.Errorf("innerError request-id mismatch")
	}
	if _, err := time.Parse("2006-01-02T15:04:05", e.Error.InnerError.Date); err != nil {
		t.Errorf("innerError date %q: %v", e.Error.InnerError.Date, err)
	}
	if got := r.header.Get("Content-Type"); got != graphContentType {
		t.Errorf("error Content-Type = %q", got)
	}
}

func TestRouting(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	id := s.Fleet().Devices[0].ID
	cases := []struct {
		method, path string
		status       int
		code, msg    string
	}{
		{"GET", "/v1.0/deviceManagement/managedDevices/" + id + "/detectedApps", 400, "BadRequest", "Resource not found for the segment 'detectedApps'."},
		{"GET", "/v1.0/users", 400, "BadRequest", "Resource not found for the segment 'users'."},
		{"GET", "/v2.0/deviceManagement/managedDevices", 400, "BadRequest", "Invalid version: v2.0"},
		{"POST", "/v1.0/deviceManagement/managedDevices", 405, "No method match route template", ""},
		{"DELETE", "/v1.0/deviceManagement/managedDevices/" + id, 405, "No method match route template", ""},
		{"GET", "/v1.0/deviceManagement/managedDevices('" + id + "')", 200, "", ""},
		{"GET", "/v1.0/devicemanagement/manageddevices/" + strings.ToUpper(id), 200, "", ""},
	}
	for _, c := range cases {
		r := doGraph(t, c.method, ts.URL+c.path, tok, nil)
		if r.status != c.status {
			t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, r.status, c.status, r.raw)
			continue
		}
		if c.code == "" {
			continue
		}
		e := r.err(t)
		if e.Error.Code != c.code || (c.msg != "" && e.Error.Message != c.msg) {
			t.Errorf("%s %s: error %+v", c.method, c.path, e.Error)
		}
	}
}

// pageAll follows nextLinks from first and returns every item and every link.
func pageAll(t *testing.T, first, tok string) (items []map[string]json.RawMessage, links []string) {
	t.Helper()
	u := first
	for u != "" {
		r := get(t, u, tok)
		if r.status != 200 {
			t.Fatalf("GET %s: status %d: %s", u, r.status, r.raw)
		}
		items = append(items, r.items(t)...)
		u = r.str(t, "@odata.nextLink")
		if u != "" {
			links = append(links, u)
		}
		if len(links) > 1000 {
			t.Fatal("paging does not terminate")
		}
	}
	return items, links
}

func TestPagingCollectsEveryDeviceOnce(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	before := len(s.Requests())
	items, links := pageAll(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$select=id,deviceName&$top=7", tok)

	fleet := s.Fleet()
	if len(items) != len(fleet.Devices) {
		t.Fatalf("got %d devices, want %d", len(items), len(fleet.Devices))
	}
	for i, it := range items {
		if got := str(t, it["id"]); got != fleet.Devices[i].ID {
			t.Fatalf("item %d id %s, want %s (stable order by id)", i, got, fleet.Devices[i].ID)
		}
	}
	wantPages := (len(fleet.Devices) + 6) / 7
	if len(links) != wantPages-1 {
		t.Errorf("%d nextLinks, want %d", len(links), wantPages-1)
	}
	base, _ := url.Parse(ts.URL)
	for _, l := range links {
		u, err := url.Parse(l)
		if err != nil {
			t.Fatal(err)
		}
		if u.Scheme != base.Scheme || u.Host != base.Host || u.Path != "/v1.0/deviceManagement/managedDevices" {
			t.Errorf("nextLink %s leaves %s", l, ts.URL)
		}
		q := u.Query()
		if q.Get("$select") != "id,deviceName" || q.Get("$top") != "7" {
			t.Errorf("nextLink %s lost $select/$top", l)
		}
		tokn := q.Get("$skiptoken")
		if tokn == "" || regexp.MustCompile(`^\d+$`).MatchString(tokn) {
			t.Errorf("skiptoken %q is not opaque", tokn)
		}
	}
	if got := len(s.Requests()) - before; got != wantPages {
		t.Errorf("server logged %d requests, want %d", got, wantPages)
	}
}

func TestPageSizeCap(t *testing.T) {
	_, ts := newTestServer(t, Options{Devices: 45, MaxPageSize: 20})
	tok := getToken(t, ts.URL)
	for _, q := range []string{"", "?$top=500"} {
		r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices"+q, tok)
		if n := len(r.items(t)); n != 20 {
			t.Errorf("%q: page of %d, want 20", q, n)
		}
		items, _ := pageAll(t, ts.URL+"/v1.0/deviceManagement/managedDevices"+q, tok)
		if len(items) != 45 {
			t.Errorf("%q: %d devices, want 45", q, len(items))
		}
	}
	for _, top := range []string{"0", "1000", "abc", "-1"} {
		r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$top="+top, tok)
		if r.status != 400 || r.err(t).Error.Code != "BadRequest" {
			t.Errorf("$top=%s: status %d %s", top, r.status, r.raw)
		}
	}
}

func TestSelectProjects(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$select=id,deviceName,jailBroken,androidSecurityPatchLevel", tok)
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.raw)
	}
	want := []string{"androidSecurityPatchLevel", "deviceName", "id", "jailBroken"}
	for _, it := range r.items(t) {
		var keys []string
		for k := range it {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("keys %v, want %v", keys, want)
		}
	}
	ctx := r.str(t, "@odata.context")
	if ctx != ts.URL+"/v1.0/$metadata#deviceManagement/managedDevices(id,deviceName,jailBroken,androidSecurityPatchLevel)" {
		t.Errorf("@odata.context = %s", ctx)
	}

	// Without $select every modelled property is present, nulls included.
	r = get(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$top=3", tok)
	if ctx := r.str(t, "@odata.context"); ctx != ts.URL+"/v1.0/$metadata#deviceManagement/managedDevices" {
		t.Errorf("@odata.context = %s", ctx)
	}
	for _, it := range r.items(t) {
		if len(it) != len(s.props[reflect.TypeFor[Device]()].names) {
			t.Errorf("%d properties, want %d", len(it), len(s.props[reflect.TypeFor[Device]()].names))
		}
		for _, k := range []string{"activationLockBypassCode", "notes", "deviceHealthAttestationState", "remoteAssistanceSessionUrl"} {
			if string(it[k]) != "null" {
				t.Errorf("%s = %s, want null", k, it[k])
			}
		}
		if _, ok := it["apps"]; ok {
			t.Error("ground-truth apps leaked as a property")
		}
		if s := str(t, it["jailBroken"]); s != "True" && s != "False" && s != "Unknown" {
			t.Errorf("jailBroken = %q", s)
		}
	}
}

func TestSelectUnknownProperty(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	for _, u := range []string{
		"/v1.0/deviceManagement/managedDevices?$select=id,bogus",
		"/v1.0/deviceManagement/managedDevices/" + s.Fleet().Devices[0].ID + "?$select=bogus",
	} {
		r := get(t, ts.URL+u, tok)
		e := r.err(t)
		if r.status != 400 || e.Error.Code != "BadRequest" ||
			e.Error.Message != "Could not find a property named 'bogus' on type 'microsoft.graph.managedDevice'." {
			t.Errorf("%s: status %d error %+v", u, r.status, e.Error)
		}
	}
	r := get(t, ts.URL+"/beta/deviceManagement/managedDevices/"+s.Fleet().Devices[0].ID+"/detectedApps?$select=packageId", tok)
	if e := r.err(t); r.status != 400 || e.Error.Message != "Could not find a property named 'packageId' on type 'microsoft.graph.detectedApp'." {
		t.Errorf("detectedApps: status %d error %+v", r.status, e.Error)
	}
}

func TestSkiptokenTampered(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$top=5&$select=id", tok)
	next, _ := url.Parse(r.str(t, "@odata.nextLink"))
	skip := next.Query().Get("$skiptoken")
	if get(t, next.String(), tok).status != 200 {
		t.Fatal("untampered nextLink failed")
	}
	flip := []byte(skip)
	if flip[3] == 'A' {
		flip[3] = 'B'
	} else {
		flip[3] = 'A'
	}
	other := New(Options{Now: fixedNow}) // same fleet, different key
	otherTok := other.skip.mint("/v1.0/devicemanagement/manageddevices\x00", 5)
	for _, bad := range []string{string(flip), "5", "", "!!!", otherTok, skip + "AA"} {
		u := ts.URL + "/v1.0/deviceManagement/managedDevices?$top=5&$select=id&$skiptoken=" + url.QueryEscape(bad)
		r := get(t, u, tok)
		if r.status != 400 || r.err(t).Error.Code != "BadRequest" {
			t.Errorf("skiptoken %q: status %d %s", bad, r.status, r.raw)
		}
	}
	// A token is bound to its collection and filter.
	r = get(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$filter="+url.QueryEscape("operatingSystem eq 'iOS'")+"&$skiptoken="+skip, tok)
	if r.status != 400 {
		t.Errorf("token reused with another filter: status %d", r.status)
	}
	r = get(t, ts.URL+"/v1.0/deviceManagement/detectedApps?$skiptoken="+skip, tok)
	if r.status != 400 {
		t.Errorf("token reused on another collection: status %d", r.status)
	}
}

func TestFilter(t *testing.T) {
	s, ts := newTestServer(t, Options{Devices: 60})
	tok := getToken(t, ts.URL)
	fleet := s.Fleet()
	list := func(filter string) []map[string]json.RawMessage {
		items, _ := pageAll(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$select=id,deviceName,serialNumber,operatingSystem&$top=9&$filter="+url.QueryEscape(filter), tok)
		return items
	}
	for _, ignored := range []string{
		"userId eq '" + fleet.Devices[0].UserID + "'",
		"deviceEnrollmentType eq 'appleBulkWithoutUser'",
		"operatingSystem ne 'iOS'",
		"startswith(deviceName,'A')",
		"this is not OData",
	} {
		if got := list(ignored); len(got) != len(fleet.Devices) {
			t.Errorf("unsupported filter %q: %d devices, want all %d", ignored, len(got), len(fleet.Devices))
		}
	}

	var ios int
	for _, d := range fleet.Devices {
		if d.OperatingSystem == "iOS" {
			ios++
		}
	}
	if got := list("operatingSystem eq 'iOS'"); len(got) != ios {
		t.Errorf("operatingSystem eq 'iOS': %d devices, want %d", len(got), ios)
	} else {
		for _, it := range got {
			if str(t, it["operatingSystem"]) != "iOS" {
				t.Errorf("filtered result has %s", it["operatingSystem"])
			}
		}
	}

	target := fleet.Device(fleet.Planted[ScenarioJailbrokenIPhone])
	got := list("serialNumber eq '" + target.SerialNumber + "'")
	if len(got) != 1 || str(t, got[0]["id"]) != target.ID {
		t.Errorf("serialNumber filter: %v", got)
	}
	// iOS device names contain a typographic apostrophe and may repeat.
	var sameName []string
	for _, d := range fleet.Devices {
		if d.DeviceName == target.DeviceName {
			sameName = append(sameName, d.ID)
		}
	}
	got = list("deviceName eq '" + strings.ReplaceAll(target.DeviceName, "'", "''") + "'")
	var gotIDs []string
	for _, it := range got {
		gotIDs = append(gotIDs, str(t, it["id"]))
	}
	if !slices.Equal(gotIDs, sameName) {
		t.Errorf("deviceName filter: got %v, want %v", gotIDs, sameName)
	}
	// A supported term joined to an unsupported one: the supported term applies.
	if got := list("operatingSystem eq 'iOS' and userId eq 'x'"); len(got) != ios {
		t.Errorf("and with unsupported term: %d, want %d", len(got), ios)
	}

	// The nextLink keeps the filter.
	r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$top=2&$filter="+url.QueryEscape("operatingSystem eq 'Android'"), tok)
	next, _ := url.Parse(r.str(t, "@odata.nextLink"))
	if next.Query().Get("$filter") != "operatingSystem eq 'Android'" {
		t.Errorf("nextLink %s lost the filter", next)
	}
	if strings.Contains(next.RawQuery, "+") {
		t.Errorf("nextLink %s encodes spaces as '+', Graph uses %%20", next)
	}
}

func TestParseFilter(t *testing.T) {
	spec := filterSpec{strings: []string{"deviceName", "serialNumber"}, times: []string{"lastSyncDateTime"}}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	eq := func(prop, v string) filterTerm { return filterTerm{prop: prop, op: "eq", value: v} }
	cases := []struct {
		in   string
		want []filterTerm
	}{
		{"deviceName eq 'a'", []filterTerm{eq("deviceName", "a")}},
		{"DEVICENAME EQ 'O''Brien'", []filterTerm{eq("deviceName", "O'Brien")}},
		{"deviceName eq 'x and y'", []filterTerm{eq("deviceName", "x and y")}},
		{"serialNumber eq 'S1' and deviceName eq 'D'", []filterTerm{eq("serialNumber", "S1"), eq("deviceName", "D")}},
		{"userId eq 'u' and deviceName eq 'D'", []filterTerm{eq("deviceName", "D")}},
		{"deviceName ne 'a'", nil},
		{"deviceName eq 'a' or deviceName eq 'b'", nil},
		{"deviceName eq 'unterminated", nil},
		{"deviceName eq a", nil},
		{"", nil},
		{"lastSyncDateTime ge 2026-11-01T00:00:00Z", []filterTerm{{prop: "lastSyncDateTime", op: "ge", value: "2026-11-01T00:00:00Z", isTime: true, at: at}}},
		{"lastSyncDateTime LT '2026-11-01T00:00:00Z'", []filterTerm{{prop: "lastSyncDateTime", op: "lt", value: "2026-11-01T00:00:00Z", isTime: true, at: at}}},
		{"lastSyncDateTime ne 2026-11-01T00:00:00Z", nil},
		{"lastSyncDateTime eq 'x' or 1", nil},
	}
	for _, c := range cases {
		got, err := parseFilter(c.in, spec)
		if err != nil || !slices.EqualFunc(got, c.want, func(a, b filterTerm) bool {
			return a.prop == b.prop && a.op == b.op && a.value == b.value && a.isTime == b.isTime && a.at.Equal(b.at)
		}) {
			t.Errorf("parseFilter(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"lastSyncDateTime ge yesterday", "lastSyncDateTime ge '2026-11-01'", "deviceName eq 'a' and lastSyncDateTime gt 2026-13-01T00:00:00Z"} {
		if _, err := parseFilter(bad, spec); err == nil || err.status != 400 || !strings.HasPrefix(err.message, "The DateTimeOffset text '") {
			t.Errorf("parseFilter(%q): err %v, want a 400 about the DateTimeOffset", bad, err)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"deviceName eq 'a'", "a eq 'b''c' and x eq 'y'", "'", "and and", "deviceName eq ''''",
		"activityDateTime ge 2026-11-01T00:00:00Z and activityDateTime le 2026-11-02T00:00:00.5+01:00", "category eq 'Device'"} {
		f.Add(s)
	}
	spec := filterSpec{strings: []string{"deviceName", "serialNumber", "operatingSystem", "category"}, times: []string{"activityDateTime"}}
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := parseFilter(s, spec)
		if err != nil {
			if err.status != 400 || terms != nil {
				t.Fatalf("%q: error %+v with terms %v", s, err, terms)
			}
			return
		}
		for _, term := range terms {
			switch {
			case term.prop == "":
				t.Fatalf("empty property from %q", s)
			case !term.isTime && term.op != "eq":
				t.Fatalf("string term with operator %q from %q", term.op, s)
			case term.isTime && !slices.Contains([]string{"eq", "gt", "ge", "lt", "le"}, term.op):
				t.Fatalf("date-time term with operator %q from %q", term.op, s)
			}
		}
	})
}

func TestGetDevice(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	d := s.Fleet().Devices[3]
	r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices/"+d.ID+"?$select=id,serialNumber,lastSyncDateTime", tok)
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.raw)
	}
	m := r.obj(t)
	if len(m) != 4 || str(t, m["id"]) != d.ID || str(t, m["serialNumber"]) != d.SerialNumber {
		t.Errorf("body %s", r.raw)
	}
	if ctx := str(t, m["@odata.context"]); ctx != ts.URL+"/v1.0/$metadata#deviceManagement/managedDevices(id,serialNumber,lastSyncDateTime)/$entity" {
		t.Errorf("@odata.context = %s", ctx)
	}
	if got := str(t, m["lastSyncDateTime"]); got != d.LastSyncDateTime.Format(time.RFC3339) {
		t.Errorf("lastSyncDateTime = %s", got)
	}

	r = get(t, ts.URL+"/v1.0/deviceManagement/managedDevices/00000000-1111-4222-8333-444444444444", tok)
	if r.status != 404 {
		t.Fatalf("unknown id: status %d", r.status)
	}
	e := r.err(t)
	if e.Error.Code != "ResourceNotFound" || !strings.HasPrefix(e.Error.Message, "{\r\n  \"_version\": 3,\r\n  \"Message\": \"An error has occurred - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: ") {
		t.Fatalf("error %+v", e.Error)
	}
	var inner struct {
		Version              int     `json:"_version"`
		Message              string  `json:"Message"`
		CustomAPIErrorPhrase *string `json:"CustomApiErrorPhrase"`
		RetryAfter           *int    `json:"RetryAfter"`
		HTTPHeaders          string  `json:"HttpHeaders"`
	}
	if err := json.Unmarshal([]byte(e.Error.Message), &inner); err != nil {
		t.Fatalf("nested message is not JSON: %v", err)
	}
	if inner.Version != 3 || inner.RetryAfter != nil || inner.HTTPHeaders != "{}" || inner.CustomAPIErrorPhrase == nil ||
		!strings.Contains(inner.Message, "Activity ID: "+r.header.Get("request-id")+" - Url: https://fef.msub05.manage.microsoft.com/") {
		t.Errorf("nested message %+v", inner)
	}
}

func TestDetectedAppsPerDevice(t *testing.T) {
	s, ts := newTestServer(t, Options{MaxPageSize: 4})
	tok := getToken(t, ts.URL)
	fleet := s.Fleet()
	counts := map[string]int{}
	for _, d := range fleet.Devices {
		for _, a := range d.ReportedApps() {
			counts[a.ID]++
		}
	}
	for _, d := range fleet.Devices[:8] {
		items, links := pageAll(t, ts.URL+"/beta/deviceManagement/managedDevices/"+d.ID+"/detectedApps", tok)
		want := d.ReportedApps()
		if len(items) != len(want) {
			t.Fatalf("device %s: %d apps, want %d", d.ID, len(items), len(want))
		}
		if len(want) > 4 && len(links) == 0 {
			t.Errorf("device %s: no paging with %d apps and page size 4", d.ID, len(want))
		}
		for i, it := range items {
			if len(it) != 7 {
				t.Errorf("app has %d properties: %v", len(it), it)
			}
			id := str(t, it["id"])
			if !hex64RE.MatchString(id) || id != want[i].ID {
				t.Errorf("app id %s, want %s", id, want[i].ID)
			}
			var n int
			json.Unmarshal(it["deviceCount"], &n)
			if n != counts[id] {
				t.Errorf("%s deviceCount %d, want %d", str(t, it["displayName"]), n, counts[id])
			}
			platform := str(t, it["platform"])
			if d.OperatingSystem == "iOS" && platform != "ios" || d.OperatingSystem == "Android" && !strings.HasPrefix(platform, "android") {
				t.Errorf("%s device reports platform %s", d.OperatingSystem, platform)
			}
		}
	}
	r := get(t, ts.URL+"/beta/deviceManagement/managedDevices/"+fleet.Devices[0].ID+"/detectedApps?$select=displayName,version", tok)
	for _, it := range r.items(t) {
		if len(it) != 2 {
			t.Errorf("projected app %v", it)
		}
	}
	want := ts.URL + "/beta/$metadata#deviceManagement/managedDevices('" + fleet.Devices[0].ID + "')/detectedApps(displayName,version)"
	if ctx := r.str(t, "@odata.context"); ctx != want {
		t.Errorf("@odata.context = %s, want %s", ctx, want)
	}
	if r := get(t, ts.URL+"/beta/deviceManagement/managedDevices/00000000-1111-4222-8333-444444444444/detectedApps", tok); r.status != 404 {
		t.Errorf("unknown device: status %d", r.status)
	}
}

func TestTenantDetectedApps(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	fleet := s.Fleet()
	items, _ := pageAll(t, ts.URL+"/v1.0/deviceManagement/detectedApps?$top=13", tok)
	apps := fleet.DetectedApps()
	if len(items) != len(apps) {
		t.Fatalf("%d apps, want %d", len(items), len(apps))
	}
	seen := map[string]bool{}
	for i, it := range items {
		id := str(t, it["id"])
		if id != apps[i].ID || seen[id] {
			t.Fatalf("app %d: %s (duplicate %v)", i, id, seen[id])
		}
		seen[id] = true
		var n int
		json.Unmarshal(it["deviceCount"], &n)
		devs, _ := pageAll(t, ts.URL+"/v1.0/deviceManagement/detectedApps/"+id+"/managedDevices?$select=id,deviceName&$top=5", tok)
		if len(devs) != n {
			t.Errorf("%s: deviceCount %d but %d devices", str(t, it["displayName"]), n, len(devs))
		}
		for _, d := range devs {
			if len(d) != 2 || !slices.ContainsFunc(fleet.Device(str(t, d["id"])).ReportedApps(), func(a DetectedApp) bool { return a.ID == id }) {
				t.Errorf("device %s listed for app %s does not report it", d["id"], id)
			}
		}
	}
	r := get(t, ts.URL+"/v1.0/deviceManagement/detectedApps/"+apps[0].ID, tok)
	if r.status != 200 || r.str(t, "displayName") != apps[0].DisplayName ||
		r.str(t, "@odata.context") != ts.URL+"/v1.0/$metadata#deviceManagement/detectedApps/$entity" {
		t.Errorf("single app: %d %s", r.status, r.raw)
	}
	if r := get(t, ts.URL+"/v1.0/deviceManagement/detectedApps/"+strings.Repeat("0", 64), tok); r.status != 404 || r.err(t).Error.Code != "ResourceNotFound" {
		t.Errorf("unknown app: %d %s", r.status, r.raw)
	}
}

func TestPersonalDeviceReportsOnlyManagedApps(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	fleet := s.Fleet()
	for _, d := range fleet.Devices {
		if !d.Personal() {
			continue
		}
		items, _ := pageAll(t, ts.URL+"/beta/deviceManagement/managedDevices/"+d.ID+"/detectedApps", tok)
		if len(items) == 0 {
			t.Errorf("personal device %s reports no apps", d.ID)
		}
		managed := map[string]bool{}
		for _, a := range d.Apps {
			managed[a.ID] = a.Managed
		}
		for _, it := range items {
			if !managed[str(t, it["id"])] {
				t.Errorf("personal device %s reports unmanaged app %s", d.ID, it["displayName"])
			}
		}
	}
	p := fleet.Device(fleet.Planted[ScenarioPersonalDevice])
	if len(p.ReportedApps()) == len(p.Apps) {
		t.Errorf("planted personal device has no unmanaged apps to hide: %v", p.Apps)
	}
}

func TestPlantedScenarios(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	fleet := s.Fleet()
	if len(fleet.Planted) != len(Scenarios) {
		t.Fatalf("planted %v", fleet.Planted)
	}
	dev := func(name string) map[string]json.RawMessage {
		id := fleet.Planted[name]
		r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices/"+id, tok)
		if r.status != 200 {
			t.Fatalf("%s (%s): status %d", name, id, r.status)
		}
		return r.obj(t)
	}
	expect := func(name string, m map[string]json.RawMessage, want map[string]string) {
		t.Helper()
		for k, v := range want {
			if got := str(t, m[k]); got != v {
				t.Errorf("%s: %s = %q, want %q", name, k, got, v)
			}
		}
	}
	expect(ScenarioJailbrokenIPhone, dev(ScenarioJailbrokenIPhone), map[string]string{
		"operatingSystem": "iOS", "managedDeviceOwnerType": "company", "jailBroken": "True", "complianceState": "noncompliant", "androidSecurityPatchLevel": ""})
	expect(ScenarioRareAppAndroid, dev(ScenarioRareAppAndroid), map[string]string{
		"operatingSystem": "Android", "managedDeviceOwnerType": "company", "jailBroken": "False", "complianceState": "noncompliant"})
	expect(ScenarioDeveloperPhone, dev(ScenarioDeveloperPhone), map[string]string{
		"operatingSystem": "Android", "complianceState": "compliant", "deviceCategoryDisplayName": "Developers"})
	expect(ScenarioPersonalDevice, dev(ScenarioPersonalDevice), map[string]string{"managedDeviceOwnerType": "personal"})
	stale := dev(ScenarioStaleDevice)
	expect(ScenarioStaleDevice, stale, map[string]string{"lastSyncDateTime": fixedNow.Add(-40 * 24 * time.Hour).Format(time.RFC3339)})

	// Every other device synced within the last few days and is healthy.
	for _, d := range fleet.Devices {
		if slices.Contains(slices.Collect(mapValues(fleet.Planted)), d.ID) {
			continue
		}
		if age := fixedNow.Sub(d.LastSyncDateTime); age < 0 || age > 4*24*time.Hour {
			t.Errorf("%s last synced %v ago", d.ID, age)
		}
		if d.ComplianceState != "compliant" && d.ComplianceState != "inGracePeriod" {
			t.Errorf("%s complianceState %s", d.ID, d.ComplianceState)
		}
		if d.JailBroken == "True" {
			t.Errorf("%s jailbroken", d.ID)
		}
	}

	// Rare apps: exactly the three planted ones have deviceCount 1, each
	// on the right device; the server lists exactly that one device.
	wantRare := map[string]string{
		SileoAppName:  ScenarioJailbrokenIPhone,
		RogueAppName:  ScenarioRareAppAndroid,
		TermuxAppName: ScenarioDeveloperPhone,
	}
	items, _ := pageAll(t, ts.URL+"/v1.0/deviceManagement/detectedApps?$select=id,displayName,deviceCount,publisher", tok)
	rare := 0
	for _, it := range items {
		var n int
		json.Unmarshal(it["deviceCount"], &n)
		name := str(t, it["displayName"])
		scenario, planted := wantRare[name]
		if n == 1 != planted {
			t.Errorf("%q: deviceCount %d", name, n)
		}
		if !planted {
			continue
		}
		rare++
		devs, _ := pageAll(t, ts.URL+"/v1.0/deviceManagement/detectedApps/"+str(t, it["id"])+"/managedDevices?$select=id", tok)
		if len(devs) != 1 || str(t, devs[0]["id"]) != fleet.Planted[scenario] {
			t.Errorf("%q found on %v, want only %s", name, devs, fleet.Planted[scenario])
		}
	}
	if rare != 3 {
		t.Errorf("found %d planted rare apps, want 3", rare)
	}
	// The HTML in the rogue app's name reaches the wire unescaped.
	r := get(t, ts.URL+"/beta/deviceManagement/managedDevices/"+fleet.Planted[ScenarioRareAppAndroid]+"/detectedApps", tok)
	if !strings.Contains(string(r.raw), `"displayName":"System Update <img src=x onerror=alert(1)>"`) {
		t.Errorf("rogue app name not served verbatim: %s", r.raw)
	}
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func TestConcurrentPaging(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			u := fmt.Sprintf("%s/v1.0/deviceManagement/managedDevices?$select=id&$top=%d", ts.URL, 3+i)
			n := 0
			for u != "" {
				resp, err := func() (*http.Response, error) {
					req, _ := http.NewRequest("GET", u, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					return http.DefaultClient.Do(req)
				}()
				if err != nil {
					errs <- err
					return
				}
				var page struct {
					Next  string            `json:"@odata.nextLink"`
					Value []json.RawMessage `json:"value"`
				}
				err = json.NewDecoder(resp.Body).Decode(&page)
				resp.Body.Close()
				if err != nil {
					errs <- err
					return
				}
				n += len(page.Value)
				u = page.Next
			}
			if n != len(s.Fleet().Devices) {
				errs <- fmt.Errorf("worker %d saw %d devices", i, n)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestStartServesOnLoopback(t *testing.T) {
	s, err := Start(Options{Devices: 12, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL = %s", s.URL())
	}
	tok := getToken(t, s.URL())
	items, _ := pageAll(t, s.URL()+"/v1.0/deviceManagement/managedDevices?$top=5", tok)
	if len(items) != 12 {
		t.Errorf("%d devices, want 12", len(items))
	}
	reqs := s.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests logged, want 4: %+v", len(reqs), reqs)
	}
	if reqs[0].Method != "POST" || reqs[0].Path != "/"+DefaultTenant+"/oauth2/v2.0/token" || reqs[0].Status != 200 {
		t.Errorf("first request %+v", reqs[0])
	}
	if reqs[1].Path != "/v1.0/deviceManagement/managedDevices" || reqs[1].RawQuery != "$top=5" || reqs[1].Status != 200 {
		t.Errorf("second request %+v", reqs[1])
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Error("server still serving after Close")
	}
}
