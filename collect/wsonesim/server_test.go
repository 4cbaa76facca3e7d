package wsonesim

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func TestFleetDeterministic(t *testing.T) {
	a, b := NewFleet(7, 16, testNow), NewFleet(7, 16, testNow)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two fleets")
	}
	if reflect.DeepEqual(a, NewFleet(8, 16, testNow)) {
		t.Fatal("another seed gave the same fleet")
	}
	ids := a.IDs()
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("ids not unique: %v", ids)
		}
	}
	if reflect.DeepEqual(ids, idsOf(a.Devices)) {
		t.Error("the natural order is the id order: a client that forgets orderby would not notice")
	}
	platforms := map[string]int{}
	for _, d := range a.Devices {
		platforms[d.Platform]++
	}
	if platforms["Apple"] == 0 || platforms["Android"] == 0 {
		t.Errorf("not a mixed fleet: %v", platforms)
	}
	if len(NewFleet(1, 3, testNow).Planted) != 0 {
		t.Error("scenarios planted in a fleet too small to hold them")
	}
}

func idsOf(ds []Device) []int {
	var out []int
	for _, d := range ds {
		out = append(out, d.ID.Value)
	}
	return out
}

func TestPlanted(t *testing.T) {
	f := NewFleet(1, 16, testNow)
	if len(f.Planted) != len(Scenarios) {
		t.Fatalf("planted %v", f.Planted)
	}
	dev := func(s string) Device { d, _ := f.Device(f.Planted[s]); return d }
	app := func(s, id string) *App {
		for _, a := range f.Apps[f.Planted[s]] {
			if a.ApplicationIdentifier == id {
				return &a
			}
		}
		return nil
	}
	if d := dev(ScenarioCompromised); !d.CompromisedStatus || d.Platform != "Apple" || !strings.HasPrefix(d.Model, "iPhone") {
		t.Errorf("compromised: %+v", d)
	}
	n := 0
	for _, d := range f.Devices {
		if d.CompromisedStatus {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d compromised devices", n)
	}
	if d, a := dev(ScenarioAdHocApp), app(ScenarioAdHocApp, AdHocAppID); !d.IsSupervised || a == nil || a.AdHocCodeSigned == nil || !*a.AdHocCodeSigned {
		t.Errorf("ad hoc: %+v %+v", d, a)
	}
	if a := app(ScenarioMarketplaceApp, MarketplaceAppID); a == nil || a.DistributorIdentifier != MarketplaceDistributor {
		t.Errorf("marketplace: %+v", a)
	}
	if d := dev(ScenarioNeverSeen); d.LastSeen != Never || len(f.Apps[d.ID.Value]) != 0 {
		t.Errorf("never seen: %+v", d)
	}
	if a := app(ScenarioEnterpriseApp, EnterpriseAppID); a == nil || a.Type != "Internal" || *a.AdHocCodeSigned {
		t.Errorf("enterprise: %+v", a)
	}
	if a := app(ScenarioEnterpriseApp, TestFlightAppID); a == nil || !*a.BetaApp || a.DistributorIdentifier != "com.apple.TestFlight" {
		t.Errorf("TestFlight: %+v", a)
	}
	if d := dev(ScenarioNoncompliant); d.CompromisedStatus || d.ComplianceStatus != "NonCompliant" {
		t.Errorf("noncompliant: %+v", d)
	}
	for _, a := range f.Apps[f.Planted[ScenarioEmployeeOwned]] {
		if !a.IsManaged {
			t.Errorf("employee-owned device lists personal app %s", a.ApplicationIdentifier)
		}
	}
	if d := dev(ScenarioEmployeeOwned); d.Ownership != "E" || d.Platform != "Android" {
		t.Errorf("employee-owned: %+v", d)
	}
	if d := dev(ScenarioStale); d.LastSeen != "2026-10-12T06:00:00.000" {
		t.Errorf("stale: %s", d.LastSeen)
	}
	for _, d := range f.Devices {
		for _, a := range f.Apps[d.ID.Value] {
			if d.Platform == "Android" && (a.AdHocCodeSigned != nil || a.DistributorIdentifier != "") {
				t.Errorf("Apple keys on an Android app: %+v", a)
			}
		}
	}
}

// client talks to a simulator through httptest.
type client struct {
	t    *testing.T
	s    *Server
	base string
}

func newClient(t *testing.T, opts Options) *client {
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	s := New(opts)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &client{t: t, s: s, base: srv.URL}
}

func (c *client) do(method, path string, h http.Header, body string) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, data
}

func (c *client) token() string {
	c.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret}}
	resp, body := c.do("POST", TokenPath, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form.Encode())
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 {
		c.t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	return tok.AccessToken
}

func (c *client) bearer(version string) http.Header {
	h := http.Header{"Authorization": {"Bearer " + c.token()}}
	if version != "" {
		h.Set("Accept", "application/json;version="+version)
	}
	return h
}

type errBody struct {
	ErrorCode  int    `json:"errorCode"`
	Message    string `json:"message"`
	ActivityID string `json:"activityId"`
}

func wsError(t *testing.T, body []byte) errBody {
	t.Helper()
	var e errBody
	if err := json.Unmarshal(body, &e); err != nil || e.ErrorCode == 0 || e.Message == "" || len(e.ActivityID) != 36 {
		t.Fatalf("not a Workspace ONE error body: %s", body)
	}
	return e
}

func TestSearch(t *testing.T) {
	c := newClient(t, Options{Devices: 12, Seed: 2})
	h := c.bearer("2")
	var all []int
	for page := 0; ; page++ {
		resp, body := c.do("GET", "/API/mdm/devices/search?orderby=deviceid&page="+strconv.Itoa(page)+"&pagesize=5", h, "")
		if resp.StatusCode == http.StatusNoContent {
			if len(body) != 0 || page != 3 {
				t.Fatalf("page %d: 204 with %q", page, body)
			}
			break
		}
		var p searchPage
		if resp.StatusCode != 200 || json.Unmarshal(body, &p) != nil || p.Page != page || p.PageSize != 5 || p.Total != 12 {
			t.Fatalf("page %d: %d %.200s", page, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "version=2") {
			t.Errorf("Content-Type %q", ct)
		}
		all = append(all, idsOf(p.Devices)...)
	}
	if !reflect.DeepEqual(all, c.s.Fleet().IDs()) {
		t.Errorf("paged ids %v, want %v", all, c.s.Fleet().IDs())
	}
	// DESC, filters, the page size cap, no match.
	_, body := c.do("GET", "/API/mdm/devices/search?orderby=DeviceId&sortorder=DESC&pagesize=100000&platform=android", h, "")
	var p searchPage
	if json.Unmarshal(body, &p) != nil || p.PageSize != DefaultMaxPageSize || len(p.Devices) != p.Total || p.Total == 0 {
		t.Fatalf("filtered: %.300s", body)
	}
	for i, d := range p.Devices {
		if d.Platform != "Android" || i > 0 && d.ID.Value > p.Devices[i-1].ID.Value {
			t.Errorf("filtered page out of order or platform: %+v", d.ID)
		}
	}
	if resp, body := c.do("GET", "/API/mdm/devices/search?user=nobody", h, ""); resp.StatusCode != 204 || len(body) != 0 {
		t.Errorf("no match: %d %q", resp.StatusCode, body)
	}
	if resp, body := c.do("GET", "/API/mdm/devices/search?page=-1", h, ""); resp.StatusCode != 400 {
		t.Errorf("page -1: %d %s", resp.StatusCode, body)
	}
}

func TestVersions(t *testing.T) {
	c := newClient(t, Options{Devices: 2})
	tok := "Bearer " + c.token()
	for accept, want := range map[string]int{
		"": 200, "application/json": 200, "*/*": 200, "application/json;version=1": 200, "application/json; version=2": 200,
		"application/json;version=3": 406, "application/xml": 406, "application/json;version=x": 406,
	} {
		resp, body := c.do("GET", "/API/mdm/devices/search", http.Header{"Authorization": {tok}, "Accept": {accept}}, "")
		if resp.StatusCode != want {
			t.Errorf("Accept %q: %d, want %d", accept, resp.StatusCode, want)
		}
		if want == 406 {
			if e := wsError(t, body); !strings.Contains(e.Message, "supported versions: 1, 2") {
				t.Errorf("406 body %s", body)
			}
		}
	}
	id := c.s.Fleet().IDs()[0]
	if resp, _ := c.do("GET", "/API/mdm/devices/"+strconv.Itoa(id)+"/apps", http.Header{"Authorization": {tok}, "Accept": {"application/json;version=2"}}, ""); resp.StatusCode != 406 {
		t.Errorf("apps at version 2: %d", resp.StatusCode)
	}
	for _, r := range c.s.Requests() {
		if r.Unexpected {
			t.Errorf("a version refused counts as unexpected: %+v", r)
		}
	}
}

func TestApps(t *testing.T) {
	c := newClient(t, Options{Seed: 1})
	h := c.bearer("1")
	f := c.s.Fleet()
	id := f.Planted[ScenarioAdHocApp]
	_, body := c.do("GET", "/API/mdm/devices/"+strconv.Itoa(id)+"/apps?page=0&pagesize=3", h, "")
	var p appsPage
	if json.Unmarshal(body, &p) != nil || len(p.DeviceApps) != 3 || p.Total != len(f.Apps[id]) || p.PageSize != 3 {
		t.Fatalf("apps: %.300s", body)
	}
	if resp, body := c.do("GET", "/API/mdm/devices/"+strconv.Itoa(f.Planted[ScenarioNeverSeen])+"/apps", h, ""); resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("no apps: %d %q", resp.StatusCode, body)
	}
	resp, body := c.do("GET", "/API/mdm/devices/1/apps", h, "")
	if e := wsError(t, body); resp.StatusCode != 404 || e.ErrorCode != 5061 || e.Message != "Device not found for this request." {
		t.Errorf("unknown device: %d %s", resp.StatusCode, body)
	}
}

func TestAuth(t *testing.T) {
	c := newClient(t, Options{Devices: 2})
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for name, tc := range map[string]struct {
		h      http.Header
		status int
		code   int
	}{
		"basic":          {http.Header{"Authorization": {basic(DemoUsername, DemoPassword)}, "Aw-Tenant-Code": {DemoTenantCode}}, 200, 0},
		"bad password":   {http.Header{"Authorization": {basic(DemoUsername, "x")}, "Aw-Tenant-Code": {DemoTenantCode}}, 401, 401},
		"no tenant code": {http.Header{"Authorization": {basic(DemoUsername, DemoPassword)}}, 403, 1013},
		"bad tenant":     {http.Header{"Authorization": {basic(DemoUsername, DemoPassword)}, "Aw-Tenant-Code": {"WrongCode"}}, 403, 1013},
		"unknown token":  {http.Header{"Authorization": {"Bearer nope"}}, 401, 401},
		"nothing":        {http.Header{}, 401, 401},
	} {
		resp, body := c.do("GET", "/API/mdm/devices/search", tc.h, "")
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
			continue
		}
		if tc.code != 0 && wsError(t, body).ErrorCode != tc.code {
			t.Errorf("%s: %s", name, body)
		}
		if name == "bad tenant" && !strings.Contains(string(body), "Tenant code WrongCode does not identify an Organization Group.") {
			t.Errorf("the 1013 message does not repeat the code: %s", body)
		}
	}
	// Tokens expire.
	now := testNow
	var mu sync.Mutex
	c = newClient(t, Options{Devices: 2, Clock: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	h := c.bearer("")
	if resp, _ := c.do("GET", "/API/mdm/devices/search", h, ""); resp.StatusCode != 200 {
		t.Fatalf("fresh token: %d", resp.StatusCode)
	}
	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	if resp, _ := c.do("GET", "/API/mdm/devices/search", h, ""); resp.StatusCode != 401 {
		t.Errorf("expired token: %d", resp.StatusCode)
	}
	// The token endpoint.
	for name, form := range map[string]url.Values{
		"bad secret": {"grant_type": {"client_credentials"}, "client_id": {DemoClientID}, "client_secret": {"x"}},
		"bad grant":  {"grant_type": {"password"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret}},
	} {
		resp, body := c.do("POST", TokenPath, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form.Encode())
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"error":"`) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	secrets := c.s.Secrets()
	for _, want := range []string{DemoClientSecret, DemoPassword, DemoTenantCode, h.Get("Authorization")[len("Bearer "):]} {
		found := false
		for _, s := range secrets {
			found = found || s == want
		}
		if !found {
			t.Errorf("Secrets lacks %q", want)
		}
	}
}

func TestInjectedFaults(t *testing.T) {
	c := newClient(t, Options{Devices: 12, Seed: 4})
	h := c.bearer("2")
	list := "/API/mdm/devices/search?orderby=deviceid&page=1&pagesize=5"
	get := func(f Fault) (*http.Response, []byte) {
		c.s.Inject("/API/mdm/devices/search$", f, 1)
		return c.do("GET", list, h, "")
	}
	if resp, body := get(Fault429); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || resp.Header.Get("X-RateLimit-Reset") == "" || wsError(t, body).ErrorCode != 429 {
		t.Errorf("429: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := get(Fault429NoRetryAfter); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Reset") != "" {
		t.Errorf("429 without Retry-After: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := get(Fault503); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("503: %d", resp.StatusCode)
	}
	if resp, body := get(FaultTruncate); resp.StatusCode != 200 || len(body) == 0 || json.Valid(body) {
		t.Errorf("truncate: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(FaultMalformed); resp.StatusCode != 200 || !strings.HasPrefix(string(body), "<!DOCTYPE html>") {
		t.Errorf("malformed: %d %q", resp.StatusCode, body)
	}
	var p searchPage
	if _, body := get(FaultRepeatPage); json.Unmarshal(body, &p) != nil || p.Page != 0 {
		t.Errorf("repeat-page: %.100s", body)
	}
	_, first := c.do("GET", "/API/mdm/devices/search?orderby=deviceid&page=0&pagesize=5", h, "")
	var p0 searchPage
	json.Unmarshal(first, &p0)
	if _, body := get(FaultIgnorePage); json.Unmarshal(body, &p) != nil || p.Page != 1 || !reflect.DeepEqual(idsOf(p.Devices), idsOf(p0.Devices)) {
		t.Errorf("ignore-page: %.100s", body)
	}
	if resp, body := get(FaultEmpty); resp.StatusCode != 204 || len(body) != 0 {
		t.Errorf("empty: %d %q", resp.StatusCode, body)
	}
	c.s.Inject("/API/mdm/devices/search$", FaultReset, 1)
	req, _ := http.NewRequest("GET", c.base+list, nil)
	req.Header = h
	once := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // no retry on a fresh connection
	if resp, err := once.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("reset: answered %d", resp.StatusCode)
	}
	// A pattern under one device does not touch another; the token
	// endpoint takes its own.
	ids := c.s.Fleet().IDs()
	h.Set("Accept", "application/json;version=1")
	c.s.Inject("/API/mdm/devices/"+strconv.Itoa(ids[0]), Fault403, -1)
	if resp, _ := c.do("GET", "/API/mdm/devices/"+strconv.Itoa(ids[1])+"/apps", h, ""); resp.StatusCode != 200 {
		t.Errorf("another device: %d", resp.StatusCode)
	}
	if resp, body := c.do("GET", "/API/mdm/devices/"+strconv.Itoa(ids[0])+"/apps", h, ""); resp.StatusCode != 403 || wsError(t, body).ErrorCode != 403 {
		t.Errorf("injected 403: %d %s", resp.StatusCode, body)
	}
	c.s.Inject(TokenPath, Fault401, 1)
	if resp, body := c.do("POST", TokenPath, nil, ""); resp.StatusCode != 401 || !strings.Contains(string(body), "invalid_client") {
		t.Errorf("token 401: %d %s", resp.StatusCode, body)
	}
	reqs := c.s.Requests()
	faults := map[Fault]string{}
	for _, r := range reqs {
		if r.Fault != FaultNone {
			faults[r.Fault] = r.Pattern
		}
		if r.Finished.IsZero() || r.Started.IsZero() {
			t.Errorf("request %s %s not finished in the log", r.Method, r.Path)
		}
	}
	if len(faults) != 11 || faults[Fault401] != TokenPath || faults[Fault403] != "/API/mdm/devices/"+strconv.Itoa(ids[0]) {
		t.Errorf("logged faults %v", faults)
	}
}

func TestRateLimit(t *testing.T) {
	now := testNow
	var mu sync.Mutex
	c := newClient(t, Options{Devices: 2, RateLimit: 1, RateBurst: 2, Clock: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	h := c.bearer("")
	var statuses []int
	for range 3 {
		resp, _ := c.do("GET", "/API/mdm/devices/search", h, "")
		statuses = append(statuses, resp.StatusCode)
		if resp.Header.Get("X-RateLimit-Limit") != "2" || resp.Header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("rate-limit headers %v", resp.Header)
		}
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	if !reflect.DeepEqual(statuses, []int{200, 200, 429}) {
		t.Errorf("statuses %v", statuses)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if resp, _ := c.do("GET", "/API/mdm/devices/search", h, ""); resp.StatusCode != 200 {
		t.Errorf("after a refill: %d", resp.StatusCode)
	}
}

func TestUnexpected(t *testing.T) {
	c := newClient(t, Options{Devices: 2})
	h := c.bearer("")
	id := strconv.Itoa(c.s.Fleet().IDs()[0])
	for _, path := range []string{"/API/mdm/devices/" + id, "/API/mdm/devices/" + id + "/commands", "/api/help", "/API/system/info"} {
		if resp, _ := c.do("GET", path, h, ""); resp.StatusCode != 404 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := c.do("POST", "/API/mdm/devices/search", h, ""); resp.StatusCode != 405 {
		t.Errorf("POST search: %d", resp.StatusCode)
	}
	if n := len(c.s.Unexpected()); n != 5 {
		t.Errorf("%d unexpected requests, want 5", n)
	}
}

func TestRandomFaults(t *testing.T) {
	fs, err := ParseFaults("429=0.2,503=0.1,slow=0.05,slow-delay=10ms,retry-after=2")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := ParseFaults(fs.String()); err != nil || !reflect.DeepEqual(again, fs) {
		t.Errorf("round trip %q: %+v %v", fs.String(), again, err)
	}
	for _, bad := range []string{"429", "429=2", "nope=0.1", "429=0.6,503=0.6", "slow-delay=2h", "retry-after=1.5s", "429=0.1,429=0.2"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	run := func() []int {
		c := newClient(t, Options{Devices: 2, Seed: 9, Faults: fs})
		h := c.bearer("")
		var out []int
		for range 30 {
			resp, _ := c.do("GET", "/API/mdm/devices/search", h, "")
			out = append(out, resp.StatusCode)
		}
		return out
	}
	a := run()
	if !reflect.DeepEqual(a, run()) {
		t.Error("the same seed gave other faults")
	}
	n := 0
	for _, s := range a {
		if s != 200 {
			n++
		}
	}
	if n == 0 || n == len(a) {
		t.Errorf("faults %v", a)
	}
}

func TestStart(t *testing.T) {
	s, err := Start(Options{Devices: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || s.TokenURL() != s.URL()+TokenPath {
		t.Errorf("URL %q, token URL %q", s.URL(), s.TokenURL())
	}
	resp, err := http.Get(s.URL() + "/API/mdm/devices/search")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("unauthenticated search: %d", resp.StatusCode)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(s.URL() + "/API/mdm/devices/search"); err == nil {
		t.Error("still serving after Close")
	}
	if New(Options{}).Close() != nil {
		t.Error("Close of an unstarted server failed")
	}
}
