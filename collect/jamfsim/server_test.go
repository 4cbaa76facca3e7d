package jamfsim

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// env is a simulator behind httptest, with a client for it.
type env struct {
	t   *testing.T
	sim *Server
	url string
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	sim := New(opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, sim: sim, url: srv.URL}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; hdr holds header pairs.
func (e *env) do(ctx context.Context, method, path string, body io.Reader, hdr ...string) reply {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	// A connection per request: net/http would resend a GET whose reused
	// connection was reset, hiding FaultReset.
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return reply{}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, data}
}

func (e *env) get(path, token string, hdr ...string) reply {
	e.t.Helper()
	return e.do(context.Background(), http.MethodGet, path, nil, append([]string{"Authorization", "Bearer " + token}, hdr...)...)
}

func (e *env) oauth(id, secret string) reply {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	return e.do(context.Background(), http.MethodPost, "/api/oauth/token", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
}

// token returns an OAuth token with the demo credentials.
func (e *env) token() string {
	e.t.Helper()
	r := e.oauth(DemoClientID, DemoClientSecret)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &tok) != nil || tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 299 {
		e.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return tok.AccessToken
}

// jamfErr decodes a Jamf Pro API error body.
func jamfErr(t *testing.T, r reply) ErrorBody {
	t.Helper()
	var b ErrorBody
	if err := json.Unmarshal(r.body, &b); err != nil || b.HTTPStatus != r.status {
		t.Fatalf("%d %s is not a Jamf error body", r.status, r.body)
	}
	return b
}

func TestFleetIsDeterministic(t *testing.T) {
	enc := func(f *Fleet) string { b, _ := json.Marshal(f.Devices); return string(b) }
	a, b := NewFleet(5, 20, testNow), NewFleet(5, 20, testNow)
	if enc(a) != enc(b) || !maps.Equal(a.Planted, b.Planted) {
		t.Error("the same seed gave two fleets")
	}
	if enc(a) == enc(NewFleet(6, 20, testNow)) {
		t.Error("two seeds gave one fleet")
	}
	if len(a.Planted) != len(Scenarios) {
		t.Errorf("planted %v", a.Planted)
	}
	ids := slices.Collect(maps.Values(a.Planted))
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(Scenarios) {
		t.Errorf("two scenarios on one device: %v", a.Planted)
	}
	if small := NewFleet(5, len(Scenarios)-1, testNow); len(small.Planted) != 0 {
		t.Errorf("a fleet too small for every scenario planted %v", small.Planted)
	}
	if got := a.IDs(); got[0] != "1" || got[19] != "20" {
		t.Errorf("ids %v", got)
	}
}

func TestPlantedScenarios(t *testing.T) {
	f := NewFleet(9, 20, testNow)
	dev := func(sc string) *Device { return f.Device(f.Planted[sc]) }
	app := func(d *Device, id string) *Application {
		for i, a := range d.Detail.IOS.Applications {
			if a.Identifier == id {
				return &d.Detail.IOS.Applications[i]
			}
		}
		return nil
	}
	adhoc := dev(ScenarioAdHocApp)
	if a := app(adhoc, AdHocAppID); a == nil || !a.AdHocCodeSigned || a.AppStoreVendable || !adhoc.Detail.IOS.Supervised || adhoc.Detail.DeviceOwnershipLevel != "Institutional" {
		t.Errorf("ad-hoc scenario: %+v", a)
	}
	jb := dev(ScenarioJailbreak)
	if s := jb.Detail.IOS.Security; s.JailBreakDetected == nil || !*s.JailBreakDetected {
		t.Error("jailbreak scenario without the flag")
	}
	if a := app(jb, UnvalidatedAppID); a == nil || a.ValidationStatus {
		t.Errorf("jailbreak scenario: unc0ver %+v", a)
	}
	if a := app(dev(ScenarioMarketplaceApp), MarketplaceAppID); a == nil || a.DistributorIdentifier == nil || *a.DistributorIdentifier != MarketplaceDistributor || a.AppStoreVendable {
		t.Errorf("marketplace scenario: %+v", a)
	}
	if a := app(dev(ScenarioDeveloperBeta), BetaAppID); a == nil || !a.BetaApp || a.AdHocCodeSigned || !a.ValidationStatus {
		t.Errorf("developer scenario: %+v", a)
	}
	pd := dev(ScenarioPersonalDevice)
	if pd.Detail.SerialNumber != "" || pd.Detail.UDID != "" || pd.Detail.IOS.Security.JailBreakDetected != nil || pd.Detail.DeviceOwnershipLevel != "Personal" {
		t.Errorf("personal scenario: %+v", pd.Detail)
	}
	for _, a := range pd.Detail.IOS.Applications {
		if a.ManagementStatus != "Managed" {
			t.Errorf("personal device reports unmanaged %s", a.Identifier)
		}
	}
	stale := dev(ScenarioStaleDevice)
	if stale.Detail.LastInventoryUpdateTimestamp != proTime(testNow.Add(-StaleAge)) || !strings.Contains(stale.Summary.Model, "iPad") {
		t.Errorf("stale scenario: %s %s", stale.Summary.Model, stale.Detail.LastInventoryUpdateTimestamp)
	}
	// Only the planted apps are ad-hoc, unvalidated or from a marketplace;
	// the in-house app is on every company device and no other.
	for _, d := range f.Devices {
		in := app(d, InHouseAppID) != nil
		if in != (d.Detail.DeviceOwnershipLevel == "Institutional") {
			t.Errorf("device %s (%s): in-house app %v", d.Summary.ID, d.Detail.DeviceOwnershipLevel, in)
		}
		for _, a := range d.Detail.IOS.Applications {
			odd := a.AdHocCodeSigned || !a.ValidationStatus || a.DistributorIdentifier != nil && *a.DistributorIdentifier == MarketplaceDistributor
			if odd && a.Identifier != AdHocAppID && a.Identifier != UnvalidatedAppID && a.Identifier != MarketplaceAppID {
				t.Errorf("device %s: %s carries a sideload signal", d.Summary.ID, a.Identifier)
			}
		}
	}
}

func TestListing(t *testing.T) {
	e := newEnv(t, Options{Devices: 12})
	tok := e.token()
	type page struct {
		TotalCount int            `json:"totalCount"`
		Results    []MobileDevice `json:"results"`
	}
	list := func(q string) (reply, page) {
		r := e.get("/api/v2/mobile-devices?"+q, tok)
		var p page
		if r.status == 200 {
			if err := json.Unmarshal(r.body, &p); err != nil {
				t.Fatal(err)
			}
		}
		return r, p
	}
	idsOf := func(p page) (out []string) {
		for _, d := range p.Results {
			out = append(out, d.ID)
		}
		return out
	}
	if _, p := list("page=1&page-size=5&sort=id:asc"); p.TotalCount != 12 || !slices.Equal(idsOf(p), []string{"6", "7", "8", "9", "10"}) {
		t.Errorf("page 1: %d %v", p.TotalCount, idsOf(p))
	}
	if _, p := list("page=0&page-size=3&sort=id:desc"); !slices.Equal(idsOf(p), []string{"12", "11", "10"}) {
		t.Errorf("descending: %v", idsOf(p))
	}
	if _, p := list(""); len(p.Results) != 12 {
		t.Errorf("defaults: %d results", len(p.Results))
	}
	if r, p := list("page=9&page-size=5"); r.status != 200 || len(p.Results) != 0 || p.TotalCount != 12 || !bytes.Contains(r.body, []byte(`"results":[]`)) {
		t.Errorf("beyond the end: %d %s", r.status, r.body)
	}
	for _, q := range []string{"page-size=0", "page-size=2001", "page=-1", "page=x", "sort=secret:asc", "sort=id:sideways"} {
		r, _ := list(q)
		if b := jamfErr(t, r); r.status != 400 || len(b.Errors) != 1 || b.Errors[0].Field == nil {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
	// A detail, and Jamf's 404.
	r := e.get("/api/v2/mobile-devices/3/detail", tok)
	var d Detail
	if r.status != 200 || json.Unmarshal(r.body, &d) != nil || d.ID != "3" || d.IOS == nil {
		t.Errorf("detail: %d %.200s", r.status, r.body)
	}
	r = e.get("/api/v2/mobile-devices/99/detail", tok)
	if b := jamfErr(t, r); r.status != 404 || b.Errors[0].Code != "INVALID_ID" {
		t.Errorf("unknown device: %d %s", r.status, r.body)
	}
}

func TestTokens(t *testing.T) {
	now := testNow
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEnv(t, Options{Devices: 3, Clock: clock})

	if r := e.oauth(DemoClientID, "wrong"); r.status != 401 || string(r.body) != `{"error":"invalid_client"}` {
		t.Errorf("wrong secret: %d %s", r.status, r.body)
	}
	form := url.Values{"grant_type": {"password"}}.Encode()
	if r := e.do(context.Background(), "POST", "/api/oauth/token", strings.NewReader(form), "Content-Type", "application/x-www-form-urlencoded"); r.status != 400 {
		t.Errorf("wrong grant: %d", r.status)
	}
	basic := func(user, pass string) reply {
		req, _ := http.NewRequest("POST", e.url+"/api/v1/auth/token", nil)
		req.SetBasicAuth(user, pass)
		return e.do(context.Background(), "POST", "/api/v1/auth/token", nil, "Authorization", req.Header.Get("Authorization"))
	}
	if r := basic(DemoUsername, "wrong"); r.status != 401 || string(r.body) != `{"httpStatus":401,"errors":[]}` {
		t.Errorf("wrong password: %d %s", r.status, r.body)
	}
	r := basic(DemoUsername, DemoPassword)
	var ut struct{ Token, Expires string }
	if r.status != 200 || json.Unmarshal(r.body, &ut) != nil || ut.Expires != proTime(testNow.Add(DefaultUserTokenTTL)) {
		t.Fatalf("user token: %d %s", r.status, r.body)
	}
	if r := e.get("/api/v2/mobile-devices", ""); r.status != 401 || jamfErr(t, r).Errors[0].Code != "INVALID_TOKEN" {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
	if r := e.get("/api/v1/auth", ut.Token); r.status != 200 || !bytes.Contains(r.body, []byte(DemoUsername)) {
		t.Errorf("token details: %d %s", r.status, r.body)
	}

	// Keep-alive replaces the token; the old one stops working.
	advance(10 * time.Minute)
	r = e.do(context.Background(), "POST", "/api/v1/auth/keep-alive", nil, "Authorization", "Bearer "+ut.Token)
	var kt struct{ Token, Expires string }
	if r.status != 200 || json.Unmarshal(r.body, &kt) != nil || kt.Token == ut.Token || kt.Expires != proTime(testNow.Add(10*time.Minute+DefaultUserTokenTTL)) {
		t.Fatalf("keep-alive: %d %s", r.status, r.body)
	}
	if r := e.get("/api/v2/mobile-devices", ut.Token); r.status != 401 {
		t.Errorf("replaced token still works: %d", r.status)
	}
	if r := e.get("/api/v2/mobile-devices", kt.Token); r.status != 200 {
		t.Errorf("new token refused: %d", r.status)
	}
	// Invalidation.
	if r := e.do(context.Background(), "POST", "/api/v1/auth/invalidate-token", nil, "Authorization", "Bearer "+kt.Token); r.status != 204 || len(r.body) != 0 {
		t.Errorf("invalidate: %d %s", r.status, r.body)
	}
	if r := e.get("/api/v2/mobile-devices", kt.Token); r.status != 401 {
		t.Errorf("invalidated token still works: %d", r.status)
	}
	// Expiry of an OAuth token.
	tok := e.token()
	advance(DefaultTokenTTL)
	if r := e.get("/api/v2/mobile-devices", tok); r.status != 401 {
		t.Errorf("expired token: %d", r.status)
	}
	st := e.sim.Auth()
	want := AuthStats{OAuthTokens: 1, UserTokens: 1, KeepAlives: 1, Invalidated: 1, Refused: 2, Expired: 1, Live: 0}
	if st != want {
		t.Errorf("auth %+v, want %+v", st, want)
	}
	secrets := e.sim.Secrets()
	for _, s := range []string{DemoClientSecret, DemoPassword, ut.Token, kt.Token, tok} {
		if !slices.Contains(secrets, s) {
			t.Errorf("Secrets lacks %.12s…", s)
		}
	}
}

func TestHistory(t *testing.T) {
	e := newEnv(t, Options{Devices: 12, Seed: 4})
	tok := e.token()
	jb := e.sim.Fleet().Planted[ScenarioJailbreak]

	r := e.get("/JSSResource/mobiledevicehistory/id/"+jb+"/subset/ManagementCommands&Audits", tok, "Accept", "application/json")
	var doc map[string]map[string]json.RawMessage
	if r.status != 200 || json.Unmarshal(r.body, &doc) != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if keys := slices.Sorted(maps.Keys(doc["mobile_device_history"])); !slices.Equal(keys, []string{"audits", "management_commands"}) {
		t.Errorf("subset keys %v", keys)
	}
	var audits []Audit
	json.Unmarshal(doc["mobile_device_history"]["audits"], &audits)
	if !slices.ContainsFunc(audits, func(a Audit) bool {
		return a.Event == "Lost Mode enabled" && a.Username == HelpdeskActor && a.DateTimeEpoch > 0
	}) {
		t.Errorf("audits %+v", audits)
	}

	r = e.get("/JSSResource/mobiledevicehistory/id/"+jb, tok)
	var h History
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/xml") || xml.Unmarshal(r.body, &h) != nil {
		t.Fatalf("XML: %d %.300s", r.status, r.body)
	}
	if h.General == nil || h.ManagementCommands == nil || len(h.ManagementCommands.Completed) == 0 || h.Applications == nil || len(h.Audits) == 0 {
		t.Errorf("whole history in XML: %+v", h)
	}

	if r := e.get("/JSSResource/mobiledevicehistory/id/99", tok, "Accept", "application/json"); r.status != 404 || !bytes.Contains(r.body, []byte("<html>")) {
		t.Errorf("unknown device: %d %s", r.status, r.body)
	}
	if r := e.get("/JSSResource/mobiledevicehistory/id/1", "nope"); r.status != 401 || !bytes.Contains(r.body, []byte("Unauthorized")) {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t, Options{Devices: 12, RetryAfter: 3 * time.Second})
	tok := e.token()
	list := "/api/v2/mobile-devices?page=0&page-size=5"
	cases := []struct {
		fault Fault
		path  string
		check func(r reply) bool
	}{
		{Fault429, list, func(r reply) bool {
			return r.status == 429 && r.header.Get("Retry-After") == "3" && jamfErr(t, r).Errors[0].Code == "TOO_MANY_REQUESTS"
		}},
		{Fault429NoRetryAfter, list, func(r reply) bool { return r.status == 429 && r.header.Get("Retry-After") == "" }},
		{Fault503, list, func(r reply) bool { return r.status == 503 && r.header.Get("Retry-After") == "3" }},
		{Fault500, "/JSSResource/mobiledevicehistory/id/1", func(r reply) bool { return r.status == 500 && bytes.Contains(r.body, []byte("<html>")) }},
		{Fault403, "/api/v2/mobile-devices/1/detail", func(r reply) bool { return r.status == 403 && jamfErr(t, r).Errors[0].Code == "INVALID_PRIVILEGE" }},
		{FaultTruncate, list, func(r reply) bool { return r.status == 200 && !json.Valid(r.body) && len(r.body) > 10 }},
		{FaultMalformed, list, func(r reply) bool { return r.status == 200 && bytes.HasPrefix(r.body, []byte("<!DOCTYPE html>")) }},
		{FaultEmptyPage, list, func(r reply) bool {
			return r.status == 200 && bytes.Equal(r.body, []byte(`{"totalCount":12,"results":[]}`))
		}},
		{FaultReset, list, func(r reply) bool { return r.status == 0 }},
	}
	for _, c := range cases {
		e.sim.Inject(strings.SplitN(c.path, "?", 2)[0]+"$", c.fault, 1)
		if r := e.get(c.path, tok); !c.check(r) {
			t.Errorf("%v: %d %v %.200s", c.fault, r.status, r.header, r.body)
		}
		if r := e.get(c.path, tok); r.status != 200 {
			t.Errorf("%v injected once, hit twice: %d", c.fault, r.status)
		}
	}
	// A token endpoint refuses with its own format.
	e.sim.Inject("/api/oauth/token", Fault403, 1)
	if r := e.oauth(DemoClientID, DemoClientSecret); r.status != 403 || !bytes.Contains(r.body, []byte("unauthorized_client")) {
		t.Errorf("OAuth 403: %d %s", r.status, r.body)
	}
	// repeat-page: page 0 does not take it, page 1 does.
	e.sim.Inject("/api/v2/mobile-devices$", FaultRepeatPage, 1)
	first := e.get("/api/v2/mobile-devices?page=0&page-size=5", tok)
	second := e.get("/api/v2/mobile-devices?page=1&page-size=5", tok)
	if !bytes.Equal(first.body, second.body) || e.get("/api/v2/mobile-devices?page=1&page-size=5", tok).status != 200 {
		t.Errorf("repeat-page: page 1 is not page 0")
	}
	var faults []Fault
	for _, r := range e.sim.Requests() {
		if r.Fault != FaultNone {
			faults = append(faults, r.Fault)
		}
	}
	if want := []Fault{Fault429, Fault429NoRetryAfter, Fault503, Fault500, Fault403, FaultTruncate, FaultMalformed, FaultEmptyPage, FaultReset, Fault403, FaultRepeatPage}; !slices.Equal(faults, want) {
		t.Errorf("faults logged %v, want %v", faults, want)
	}
	// Every injection is used up.
	e.sim.Inject("/api/v2/mobile-devices/*/detail", Fault401, -1)
	if e.get("/api/v2/mobile-devices/4/detail", tok).status != 401 || e.get("/api/v2/mobile-devices/5/detail", tok).status != 401 {
		t.Error("a pattern with * missed")
	}
	e.sim.ClearInjections()
	if r := e.get("/api/v2/mobile-devices/4/detail", tok); r.status != 200 {
		t.Errorf("after ClearInjections: %d", r.status)
	}
}

func TestRandomFaults(t *testing.T) {
	fs, err := ParseFaults("429=0.2, 503=0.1,slow=0")
	if err != nil {
		t.Fatal(err)
	}
	if fs.String() != "429=0.2,503=0.1" {
		t.Errorf("canonical %q", fs.String())
	}
	again, _ := ParseFaults(fs.String())
	if !maps.Equal(again.Rates, fs.Rates) {
		t.Errorf("round trip %v → %v", fs.Rates, again.Rates)
	}
	for _, bad := range []string{"429", "429=2", "teapot=0.1", "429=0.6,503=0.6", "429=0.1,429=0.1", "429=NaN"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	seq := func() []int {
		e := newEnv(t, Options{Devices: 3, Seed: 7, Faults: Faults{Rates: map[Fault]float64{Fault429NoRetryAfter: 0.5}}})
		tok := e.token() // never a random fault on authentication
		var out []int
		for range 20 {
			out = append(out, e.get("/api/v2/mobile-devices/1/detail", tok).status)
		}
		return out
	}
	a, b := seq(), seq()
	if !slices.Equal(a, b) || !slices.Contains(a, 429) || !slices.Contains(a, 200) {
		t.Errorf("random faults %v and %v", a, b)
	}
}

func TestUnexpected(t *testing.T) {
	e := newEnv(t, Options{Devices: 3})
	tok := e.token()
	e.get("/api/v1/mobile-devices", tok)
	e.do(context.Background(), "DELETE", "/api/v2/mobile-devices/1", nil, "Authorization", "Bearer "+tok)
	e.get("/JSSResource/mobiledevices/id/1", tok)
	e.get("/api/v2/mobile-devices/1/detail", tok) // served
	var got []string
	for _, r := range e.sim.Unexpected() {
		got = append(got, r.Method+" "+r.Path)
	}
	want := []string{"GET /api/v1/mobile-devices", "DELETE /api/v2/mobile-devices/1", "GET /JSSResource/mobiledevices/id/1"}
	if !slices.Equal(got, want) {
		t.Errorf("unexpected %v, want %v", got, want)
	}
}

// TestMaxInFlight counts the requests being handled at once: three held
// by a slow fault.
func TestMaxInFlight(t *testing.T) {
	e := newEnv(t, Options{Devices: 3, SlowDelay: time.Minute})
	tok := e.token()
	if e.sim.MaxInFlight() != 1 {
		t.Fatalf("one request at a time: %d", e.sim.MaxInFlight())
	}
	e.sim.Inject("/api/v2/mobile-devices", FaultSlow, 3)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			e.do(ctx, "GET", "/api/v2/mobile-devices/"+string(rune('1'+i)), nil, "Authorization", "Bearer "+tok)
		})
	}
	for end := time.Now().Add(10 * time.Second); e.sim.MaxInFlight() < 3 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if got := e.sim.MaxInFlight(); got != 3 {
		t.Errorf("max in flight %d, want 3", got)
	}
}

func TestStartAndFleetChanges(t *testing.T) {
	s, err := Start(Options{Devices: 4, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %s", s.URL())
	}
	resp, err := http.PostForm(s.URL()+"/api/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {DemoClientID}, "client_secret": {DemoClientSecret}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %v %v", err, resp)
	}
	resp.Body.Close()
	if id := s.Enroll(); id != "5" || s.Fleet().Device("5") == nil {
		t.Errorf("enrolled %s", id)
	}
	if !s.Remove("2") || s.Remove("2") || s.Fleet().Device("2") != nil {
		t.Error("Remove")
	}
	if id := s.Enroll(); id != "6" {
		t.Errorf("enrolled %s after 5", id)
	}
}
