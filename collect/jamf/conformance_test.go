package jamf_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/jamf"
	"github.com/custos-ir/custos/collect/jamfsim"
)

// TestConformance runs the shared source suite against the Jamf
// simulator, authenticating as an API client (OAuth client credentials).
// Paging is by page number, so there is no link to point at a foreign
// host; a "repeated link" is a page that repeats the first one.
func TestConformance(t *testing.T) {
	collecttest.Run(t, jamfHarness{})
}

// TestConformanceUserToken runs the suite again with a user's bearer token
// (Basic login, keep-alive, invalidation at the end).
func TestConformanceUserToken(t *testing.T) {
	collecttest.Run(t, jamfHarness{user: true})
}

// Credentials of the simulated server. They hold characters that form and
// Basic encoding change, so that the suite also looks for their encoded
// forms.
const (
	conformanceSecret   = "jc~Conformance+Secret/42=not-for-disk"
	conformancePassword = "jp~Conformance Password&7=not-for-disk"
)

type jamfHarness struct{ user bool }

func (h jamfHarness) Start(t *testing.T, cfg collecttest.Config) collecttest.Sim {
	sim := jamfsim.New(jamfsim.Options{Devices: cfg.Devices, Seed: 17, ClientSecret: conformanceSecret,
		Password: conformancePassword, SlowDelay: cfg.SlowDelay})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &jamfSim{sim: sim, url: srv.URL, pageSize: cfg.PageSize, user: h.user}
}

type jamfSim struct {
	sim      *jamfsim.Server
	url      string
	pageSize int
	user     bool
}

func (j *jamfSim) NewSource(t *testing.T, c collecttest.Client) collect.Source {
	cfg := jamf.Config{URL: j.url, HTTP: c.HTTP, Sleep: c.Sleep, PageSize: j.pageSize}
	if j.user {
		cfg.Username, cfg.Password = jamfsim.DemoUsername, conformancePassword
	} else {
		cfg.ClientID, cfg.ClientSecret = jamfsim.DemoClientID, conformanceSecret
	}
	src, err := jamf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (j *jamfSim) Devices() []string { return j.sim.Fleet().IDs() }

var simFaults = map[collecttest.Fault]jamfsim.Fault{
	collecttest.Throttle:             jamfsim.Fault429,
	collecttest.ThrottleNoRetryAfter: jamfsim.Fault429NoRetryAfter,
	collecttest.Unauthorized:         jamfsim.Fault401,
	collecttest.Forbidden:            jamfsim.Fault403,
	collecttest.Unavailable:          jamfsim.Fault503,
	collecttest.Truncated:            jamfsim.FaultTruncate,
	collecttest.Malformed:            jamfsim.FaultMalformed,
	collecttest.RepeatedLink:         jamfsim.FaultRepeatPage,
	collecttest.Slow:                 jamfsim.FaultSlow,
}

// Inject maps a target to simulator path patterns: the token endpoint of
// the flow in use, the listing alone ("$"), or one device's detail and
// its management history (n counts per endpoint).
func (j *jamfSim) Inject(target collecttest.Target, f collecttest.Fault, n int) error {
	sf, ok := simFaults[f]
	switch {
	case !ok:
	case target.Kind == collecttest.TargetAuth && f != collecttest.RepeatedLink:
		if j.user {
			j.sim.Inject("/api/v1/auth/token$", sf, n)
		} else {
			j.sim.Inject("/api/oauth/token$", sf, n)
		}
		return nil
	case target.Kind == collecttest.TargetList:
		j.sim.Inject("/api/v2/mobile-devices$", sf, n)
		return nil
	case target.Kind == collecttest.TargetDevice && target.DeviceID != "" && f != collecttest.RepeatedLink:
		j.sim.Inject("/api/v2/mobile-devices/"+target.DeviceID+"/detail$", sf, n)
		j.sim.Inject("/JSSResource/mobiledevicehistory/id/"+target.DeviceID+"/", sf, n)
		return nil
	}
	return fmt.Errorf("%v on %v is not simulated", f, target)
}

// classify maps a request path to the suite's target.
func classify(path string) collecttest.Target {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case path == "/api/oauth/token", strings.HasPrefix(path, "/api/v1/auth/"):
		return collecttest.Auth
	case path == "/api/v2/mobile-devices":
		return collecttest.List
	case len(segs) == 5 && segs[0] == "api" && segs[2] == "mobile-devices" && segs[4] == "detail":
		return collecttest.Device(segs[3])
	case len(segs) >= 4 && segs[0] == "JSSResource" && segs[1] == "mobiledevicehistory" && segs[2] == "id":
		return collecttest.Device(segs[3])
	}
	return collecttest.Target{}
}

func (j *jamfSim) Requests() []collecttest.Request {
	var out []collecttest.Request
	for _, r := range j.sim.Requests() {
		out = append(out, collecttest.Request{Target: classify(r.Path), Method: r.Method, URL: r.Path + "?" + r.RawQuery,
			Status: r.Status, RetryAfter: r.RetryAfter, Fault: suiteFault(r.Fault), Started: r.Started, Finished: r.Finished})
	}
	return out
}

func suiteFault(f jamfsim.Fault) collecttest.Fault {
	for k, v := range simFaults {
		if v == f && f != jamfsim.FaultNone {
			return k
		}
	}
	return collecttest.None
}

func (j *jamfSim) Unexpected() []string {
	var out []string
	for _, r := range j.sim.Unexpected() {
		out = append(out, fmt.Sprintf("%s %s?%s → %d", r.Method, r.Path, r.RawQuery, r.Status))
	}
	return out
}

func (j *jamfSim) Secrets() []string { return j.sim.Secrets() }
