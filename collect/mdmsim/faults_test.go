package mdmsim

import (
	"encoding/json"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	cases := []struct {
		spec string
		want Faults
	}{
		{"", Faults{}},
		{"  ", Faults{}},
		{"429=0.05,503=0.02,slow=0.01,truncate=0.005", Faults{Rates: map[Fault]float64{Fault429: 0.05, Fault503: 0.02, FaultSlow: 0.01, FaultTruncate: 0.005}}},
		{" 429 = 0.5 , reset=0.5 ", Faults{Rates: map[Fault]float64{Fault429: 0.5, FaultReset: 0.5}}},
		{"429-no-retry-after=1", Faults{Rates: map[Fault]float64{Fault429NoRetryAfter: 1}}},
		{"401=0.1,403=0.1,500=0.1,502=0.1,504=0.1,malformed=0.1,foreign-link=0.1", Faults{Rates: map[Fault]float64{
			Fault401: 0.1, Fault403: 0.1, Fault500: 0.1, Fault502: 0.1, Fault504: 0.1, FaultMalformed: 0.1, FaultForeignLink: 0.1}}},
		{"503=0,token=0.25", Faults{Token: 0.25}},
		{"slow=1e-3,slow-delay=1.5s,retry-after=7", Faults{Rates: map[Fault]float64{FaultSlow: 0.001}, SlowDelay: 1500 * time.Millisecond, RetryAfter: 7 * time.Second}},
		{"retry-after=2m", Faults{RetryAfter: 2 * time.Minute}},
	}
	for _, c := range cases {
		got, err := ParseFaults(c.spec)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseFaults(%q) = %+v, %v; want %+v", c.spec, got, err, c.want)
		}
	}

	bad := []struct{ spec, msg string }{
		{"429", `faults "429": "429" lacks =VALUE (e.g. 429=0.05)`},
		{"429=0.1,,503=0.1", `faults "429=0.1,,503=0.1": empty item`},
		{"429=0.1,429=0.2", `faults "429=0.1,429=0.2": 429 given twice`},
		{"418=0.1", `faults "418=0.1": unknown fault "418" (want one of 401, 403, 429, 429-no-retry-after, 500, 502, 503, 504, slow, truncate, malformed, reset, foreign-link, repeat-link); or token, slow-delay, retry-after`},
		{"429=1.5", `faults "429=1.5": 429: probability "1.5": want a number from 0 to 1`},
		{"429=-0.1", `faults "429=-0.1": 429: probability "-0.1": want a number from 0 to 1`},
		{"429=NaN", `faults "429=NaN": 429: probability "NaN": want a number from 0 to 1`},
		{"429=5%", `faults "429=5%": 429: probability "5%": want a number from 0 to 1`},
		{"429=0.6,503=0.5", `faults "429=0.6,503=0.5": probabilities add up to 1.1, more than 1`},
		{"token=2", `faults "token=2": token: probability "2": want a number from 0 to 1`},
		{"slow-delay=soon", `faults "slow-delay=soon": slow-delay: "soon": want a duration like 2s`},
		{"slow-delay=3", `faults "slow-delay=3": slow-delay: "3": want a duration like 2s`},
		{"slow-delay=-1s", `faults "slow-delay=-1s": slow-delay: "-1s": want a duration from 0 to 1h0m0s`},
		{"retry-after=1.5s", `faults "retry-after=1.5s": retry-after: "1.5s": want whole seconds`},
		{"retry-after=99999", `faults "retry-after=99999": retry-after: "99999": want a duration from 0 to 1h0m0s`},
	}
	for _, c := range bad {
		if _, err := ParseFaults(c.spec); err == nil || err.Error() != c.msg {
			t.Errorf("ParseFaults(%q): error %v\n want %s", c.spec, err, c.msg)
		}
	}
}

func TestFaultNames(t *testing.T) {
	for _, f := range AllFaults() {
		g, err := ParseFault(f.String())
		if err != nil || g != f || f.String() == "" {
			t.Errorf("%d: name %q parses as %v, %v", f, f.String(), g, err)
		}
	}
	if _, err := ParseFault("none"); err == nil {
		t.Error(`"none" is not a fault to inject`)
	}
	if Fault(99).String() != "fault(99)" {
		t.Error(Fault(99).String())
	}
}

func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{
		"429=0.05,503=0.02,slow=0.01,truncate=0.005", "", "429", "429=1,503=0", "token=0.5,slow-delay=250ms,retry-after=3",
		"reset=0.001,foreign-link=0.2,429-no-retry-after=0.3,repeat-link=0.1", "429=0.1,429=0.1", "=", ",", "slow=1e-300", "retry-after=9223372036854775807",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		fs, err := ParseFaults(spec)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "faults ") {
				t.Fatalf("error without context: %v", err)
			}
			return
		}
		sum := 0.0
		for k, p := range fs.Rates {
			if k <= FaultNone || k >= numFaults || !(p > 0 && p <= 1) {
				t.Fatalf("%q: rate %v=%v", spec, k, p)
			}
			sum += p
		}
		if sum > 1+1e-6 || fs.Token < 0 || fs.Token > 1 || math.IsNaN(fs.Token) ||
			fs.SlowDelay < 0 || fs.SlowDelay > maxSpecDuration || fs.RetryAfter < 0 || fs.RetryAfter > maxSpecDuration || fs.RetryAfter%time.Second != 0 {
			t.Fatalf("%q parsed to %+v", spec, fs)
		}
		canon := fs.String()
		again, err := ParseFaults(canon)
		if err != nil || !maps.Equal(again.Rates, fs.Rates) || again.Token != fs.Token || again.SlowDelay != fs.SlowDelay || again.RetryAfter != fs.RetryAfter {
			t.Fatalf("%q -> %q -> %+v, %v; want %+v", spec, canon, again, err, fs)
		}
		if again.String() != canon {
			t.Fatalf("canonical form not stable: %q then %q", canon, again.String())
		}
		// Every draw picks a configured fault or none.
		for _, u := range []float64{0, 0.25, 0.5, 0.999999} {
			if k := fs.pick(u); k != FaultNone && fs.Rates[k] == 0 {
				t.Fatalf("%q: draw %v picked %v", spec, u, k)
			}
		}
	})
}

func TestMatchPattern(t *testing.T) {
	const apps = "/beta/deviceManagement/managedDevices/6f1b7a52-0c1e-4c1a-9a55-0d3c2d7e1a11/detectedApps"
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"", apps, true},
		{"/beta/deviceManagement/managedDevices", apps, true},
		{"/BETA/devicemanagement/MANAGEDDEVICES", apps, true},
		{"/beta/deviceManagement/managed", apps, true},
		{"/beta/deviceManagement/managedDevices/*/detectedApps", apps, true},
		{"/beta/deviceManagement/managedDevices/*/deviceCompliancePolicyStates", apps, false},
		{"/v1.0/deviceManagement/managedDevices", apps, false},
		{"/beta/deviceManagement/managedDevices/", "/beta/deviceManagement/managedDevices", false},
		{"/beta/deviceManagement/managedDevices/", apps, true},
		{"/beta/deviceManagement/managedDevices/*/detectedApps/x", apps, false},
		{"/contoso.onmicrosoft.com/oauth2", "/contoso.onmicrosoft.com/oauth2/v2.0/token", true},
		{"/beta/deviceManagement/managedDevices$", apps, false},
		{"/beta/deviceManagement/managedDevices$", "/beta/deviceManagement/managedDevices", true},
		{"/beta/deviceManagement/managedDevices$", "/beta/deviceManagement/managedDevicesX", false},
		{"/beta/deviceManagement/managedDevices/*/detectedApps$", apps, true},
		{"/beta/deviceManagement/managedDevices/*$", apps, false},
		{"$", apps, false},
	}
	for _, c := range cases {
		if got := matchPattern(c.pattern, c.path); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}

// noReuse is a client that opens a connection per request, so that a reset
// reaches the caller instead of being retried by the transport.
var noReuse = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func TestInjectedFaults(t *testing.T) {
	s, ts := newTestServer(t, Options{Faults: Faults{SlowDelay: 5 * time.Millisecond}})
	tok := getToken(t, ts.URL)
	list := "/v1.0/deviceManagement/managedDevices"
	normal := get(t, ts.URL+list+"?$top=3", tok)
	if normal.status != 200 {
		t.Fatal(normal.status)
	}
	port := strings.TrimPrefix(ts.URL, "http://127.0.0.1")

	cases := []struct {
		fault  Fault
		status int
		check  func(t *testing.T, r graphResp)
	}{
		{Fault401, 401, func(t *testing.T, r graphResp) {
			if r.err(t).Error.Code != "InvalidAuthenticationToken" || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("%v %s", r.header, r.raw)
			}
		}},
		{Fault403, 403, func(t *testing.T, r graphResp) {
			e := r.err(t)
			var inner struct{ Message string }
			if e.Error.Code != "Forbidden" || json.Unmarshal([]byte(e.Error.Message), &inner) != nil ||
				!strings.Contains(inner.Message, "Application must have one of the following scopes: DeviceManagementManagedDevices.Read.All") {
				t.Errorf("%s", r.raw)
			}
		}},
		{Fault429, 429, func(t *testing.T, r graphResp) {
			if r.header.Get("Retry-After") != "1" || r.err(t).Error.Code != "TooManyRequests" {
				t.Errorf("%v %s", r.header, r.raw)
			}
		}},
		{Fault429NoRetryAfter, 429, func(t *testing.T, r graphResp) {
			if _, ok := r.header["Retry-After"]; ok || r.err(t).Error.Code != "TooManyRequests" {
				t.Errorf("%v %s", r.header, r.raw)
			}
		}},
		{Fault500, 500, nil},
		{Fault502, 502, nil},
		{Fault503, 503, func(t *testing.T, r graphResp) {
			if r.header.Get("Retry-After") != "1" || r.err(t).Error.Code != "serviceNotAvailable" {
				t.Errorf("%v %s", r.header, r.raw)
			}
		}},
		{Fault504, 504, nil},
		{FaultSlow, 200, func(t *testing.T, r graphResp) {
			if string(r.raw) != string(normal.raw) {
				t.Errorf("slow response differs: %s", r.raw)
			}
		}},
		{FaultTruncate, 200, func(t *testing.T, r graphResp) {
			if json.Valid(r.raw) || len(r.raw) == 0 || !strings.HasPrefix(string(normal.raw), string(r.raw)) ||
				len(r.raw) < len(normal.raw)/4 || r.header.Get("Content-Length") != itoa(len(r.raw)) {
				t.Errorf("truncated body (%d of %d bytes, Content-Length %s): %s", len(r.raw), len(normal.raw), r.header.Get("Content-Length"), r.raw)
			}
		}},
		{FaultMalformed, 200, func(t *testing.T, r graphResp) {
			if json.Valid(r.raw) || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.raw), "<html>") {
				t.Errorf("%v %s", r.header, r.raw)
			}
		}},
		{FaultForeignLink, 200, func(t *testing.T, r graphResp) {
			next := r.str(t, "@odata.nextLink")
			u, err := url.Parse(next)
			if err != nil || u.Host != "127.0.0.2"+port || u.Path != list {
				t.Errorf("nextLink %s", next)
			}
		}},
		{FaultRepeatLink, 200, func(t *testing.T, r graphResp) {
			if next := r.str(t, "@odata.nextLink"); next != ts.URL+list+"?$top=3" {
				t.Errorf("nextLink %s, want the page itself", next)
			}
			if len(r.items(t)) != 3 {
				t.Errorf("page %s", r.raw)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.fault.String(), func(t *testing.T) {
			s.Inject(list, c.fault, 1)
			r := get(t, ts.URL+list+"?$top=3", tok)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
			}
			if c.check != nil {
				c.check(t, r)
			}
			if c.status >= 400 && r.err(t).Error.InnerError.RequestID != r.header.Get("request-id") {
				t.Errorf("error body without the request id")
			}
			reqs := s.Requests()
			if last := reqs[len(reqs)-1]; last.Fault != c.fault || last.Status != c.status {
				t.Errorf("logged %+v", last)
			}
			if r := get(t, ts.URL+list+"?$top=3", tok); r.status != 200 {
				t.Errorf("the fault outlived its injection: %d", r.status)
			}
		})
	}

	t.Run("reset", func(t *testing.T) {
		s.Inject(list, FaultReset, 1)
		req, _ := http.NewRequest("GET", ts.URL+list, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := noReuse.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("reset: got status %d", resp.StatusCode)
		}
		reqs := s.Requests()
		if last := reqs[len(reqs)-1]; last.Fault != FaultReset || last.Status != 0 {
			t.Errorf("logged %+v", last)
		}
	})

	st := s.Stats()
	for _, c := range cases {
		if st.Faults[c.fault] != 1 {
			t.Errorf("stats count %d %v faults", st.Faults[c.fault], c.fault)
		}
	}
	if st.Faults[FaultReset] != 1 || st.Status429 != 2 || st.Throttled != 0 {
		t.Errorf("stats %+v", st)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestInjectCountsAndPatterns(t *testing.T) {
	s, ts := newTestServer(t, Options{ForeignURL: "http://127.0.0.1:9/"})
	tok := getToken(t, ts.URL)
	d := s.Fleet().Devices
	apps := func(i int) int {
		return get(t, ts.URL+"/beta/deviceManagement/managedDevices/"+d[i].ID+"/detectedApps", tok).status
	}
	s.Inject("/beta/deviceManagement/managedDevices/*/detectedApps", Fault503, 2)
	s.Inject("/beta/deviceManagement/managedDevices/"+d[3].ID, Fault403, -1)
	if got := []int{apps(0), apps(1), apps(2), apps(3), apps(3), apps(4)}; !reflect.DeepEqual(got, []int{503, 503, 200, 403, 403, 200}) {
		t.Errorf("statuses %v", got)
	}
	// Other paths are untouched; injections apply only once authenticated.
	if r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices/"+d[3].ID, tok); r.status != 200 {
		t.Errorf("device: %d", r.status)
	}
	if r := get(t, ts.URL+"/beta/deviceManagement/managedDevices/"+d[3].ID+"/detectedApps", "bogus"); r.status != 401 {
		t.Errorf("unauthenticated: %d", r.status)
	}
	s.ClearInjections()
	if apps(3) != 200 {
		t.Error("ClearInjections left the permanent 403")
	}
	s.Inject("/v1.0/deviceManagement/managedDevices", FaultForeignLink, 1)
	r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$top=2", tok)
	if next := r.str(t, "@odata.nextLink"); !strings.HasPrefix(next, "http://127.0.0.1:9/v1.0/deviceManagement/managedDevices?") {
		t.Errorf("nextLink %s", next)
	}
	s.Inject("/v1.0/deviceManagement/managedDevices", Fault500, 0) // no-op
	if r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices?$top=2", tok); r.status != 200 {
		t.Errorf("n=0 injected a fault: %d", r.status)
	}
}

func TestTokenEndpointFaults(t *testing.T) {
	// Random Graph faults never reach the token endpoint by default.
	_, ts := newTestServer(t, Options{Faults: Faults{Rates: map[Fault]float64{Fault503: 1}}})
	for range 10 {
		getToken(t, ts.URL)
	}

	s, ts := newTestServer(t, Options{Faults: Faults{Token: 1}})
	resp, body := postToken(t, ts.URL, DefaultTenant, tokenForm(DemoClientID, DemoClientSecret, GraphScope, "client_credentials"))
	if resp.StatusCode != 503 || body["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") != "1" ||
		!strings.HasPrefix(body["error_description"].(string), "AADSTS90033: ") {
		t.Errorf("token fault: %d %v %v", resp.StatusCode, resp.Header, body)
	}

	s2, ts2 := newTestServer(t, Options{})
	s2.Inject("/"+DefaultTenant+"/oauth2/v2.0/token", Fault401, 1)
	resp, body = postToken(t, ts2.URL, DefaultTenant, tokenForm(DemoClientID, DemoClientSecret, GraphScope, "client_credentials"))
	if resp.StatusCode != 401 || body["error"] != "invalid_client" {
		t.Errorf("injected 401: %d %v", resp.StatusCode, body)
	}
	getToken(t, ts2.URL)
	s2.Inject("/"+DefaultTenant+"/oauth2", FaultTruncate, 1)
	r, err := http.PostForm(ts2.URL+"/"+DefaultTenant+"/oauth2/v2.0/token", tokenForm(DemoClientID, DemoClientSecret, GraphScope, "client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || json.Valid(raw) {
		t.Errorf("truncated token response: %d %s", r.StatusCode, raw)
	}
	if st := s.Stats(); st.Faults[Fault503] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Random faults are drawn from a PRNG seeded with Options.Seed: the same
// requests in the same order meet the same faults.
func TestRandomFaultsDeterministic(t *testing.T) {
	fs, err := ParseFaults("429=0.2,503=0.1,truncate=0.1,429-no-retry-after=0.05")
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed int64) ([]int, Stats) {
		s, ts := newTestServer(t, Options{Seed: seed, Faults: fs, RetryAfterOmit: 0.5})
		tok := getToken(t, ts.URL)
		var out []int
		for range 120 {
			r := doGraph(t, "GET", ts.URL+"/v1.0/deviceManagement/detectedApps?$top=2", tok, nil)
			code := r.status
			if r.status == 200 && !json.Valid(r.raw) {
				code = -1 // truncated
			}
			if r.header.Get("Retry-After") != "" {
				code += 1000
			}
			out = append(out, code)
		}
		return out, s.Stats()
	}
	a, sa := run(9)
	b, _ := run(9)
	c, _ := run(10)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds, same faults")
	}
	count := map[int]int{}
	for _, code := range a {
		count[code]++
	}
	// With these rates every outcome shows up over 120 requests, and the
	// counters agree with what the client saw.
	for _, code := range []int{200, -1, 429, 1429, 503, 1503} {
		if count[code] == 0 {
			t.Errorf("no %d among %v", code, count)
		}
	}
	if sa.Faults[FaultTruncate] != count[-1] || sa.Status429 != count[429]+count[1429] || sa.Faults[Fault503] != count[503]+count[1503] {
		t.Errorf("stats %+v, client saw %v", sa, count)
	}
}
