package wsone_test

import (
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/wsone"
	"github.com/custos-ir/custos/collect/wsonesim"
)

// TestConformance runs the shared source suite against the Workspace ONE
// simulator, once with an OAuth client and once with basic credentials
// and a tenant code. Paging is by page number, so there is no link to
// point at a foreign host (ForeignLink is skipped); the suite's repeated
// link is an envelope whose Page points back at the page before.
func TestConformance(t *testing.T) {
	t.Run("OAuth", func(t *testing.T) { collecttest.Run(t, harness{basic: false}) })
	t.Run("Basic", func(t *testing.T) { collecttest.Run(t, harness{basic: true}) })
}

// Credentials of the simulated tenant, with characters that URL and JSON
// encodings change, so that the suite also looks for those forms.
const (
	conformanceSecret     = "ws1~Conformance+Secret/42=not-for-disk"
	conformancePassword   = "p@ss:word+Conformance/ws1"
	conformanceTenantCode = "TenantCode+Conformance/ws1=="
)

type harness struct{ basic bool }

func (h harness) Start(t *testing.T, cfg collecttest.Config) collecttest.Sim {
	sim := wsonesim.New(wsonesim.Options{Devices: cfg.Devices, Seed: 21, MaxPageSize: cfg.PageSize,
		ClientSecret: conformanceSecret, Password: conformancePassword, TenantCode: conformanceTenantCode,
		Faults: wsonesim.Faults{SlowDelay: cfg.SlowDelay}})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &simView{sim: sim, url: srv.URL, pageSize: cfg.PageSize, basic: h.basic}
}

type simView struct {
	sim      *wsonesim.Server
	url      string
	pageSize int
	basic    bool
}

func (v *simView) NewSource(t *testing.T, c collecttest.Client) collect.Source {
	cfg := wsone.Config{URL: v.url, HTTP: c.HTTP, Sleep: c.Sleep, PageSize: v.pageSize, RequestsPerSecond: -1}
	if v.basic {
		cfg.Username, cfg.Password, cfg.TenantCode = wsonesim.DemoUsername, conformancePassword, conformanceTenantCode
	} else {
		cfg.ClientID, cfg.ClientSecret, cfg.TokenURL = wsonesim.DemoClientID, conformanceSecret, v.url+wsonesim.TokenPath
	}
	src, err := wsone.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (v *simView) Devices() []string {
	var ids []string
	for _, id := range v.sim.Fleet().IDs() {
		ids = append(ids, strconv.Itoa(id))
	}
	return ids
}

var simFaults = map[collecttest.Fault]wsonesim.Fault{
	collecttest.Throttle:             wsonesim.Fault429,
	collecttest.ThrottleNoRetryAfter: wsonesim.Fault429NoRetryAfter,
	collecttest.Unauthorized:         wsonesim.Fault401,
	collecttest.Forbidden:            wsonesim.Fault403,
	collecttest.Unavailable:          wsonesim.Fault503,
	collecttest.Truncated:            wsonesim.FaultTruncate,
	collecttest.Malformed:            wsonesim.FaultMalformed,
	collecttest.RepeatedLink:         wsonesim.FaultRepeatPage,
	collecttest.Slow:                 wsonesim.FaultSlow,
}

// Injection patterns. With basic credentials there is no token endpoint:
// the authentication step is the first API call, whatever it is, so auth
// faults are injected on every API path under a pattern of their own,
// by which Requests recognises them.
const (
	listPattern      = "/API/mdm/devices/search$"
	basicAuthPattern = "/API"
)

func (v *simView) Inject(target collecttest.Target, f collecttest.Fault, n int) error {
	sf, ok := simFaults[f]
	switch {
	case !ok:
	case target.Kind == collecttest.TargetAuth && f != collecttest.RepeatedLink:
		if v.basic {
			v.sim.Inject(basicAuthPattern, sf, n)
		} else {
			v.sim.Inject(wsonesim.TokenPath, sf, n)
		}
		return nil
	case target.Kind == collecttest.TargetList:
		v.sim.Inject(listPattern, sf, n)
		return nil
	case target.Kind == collecttest.TargetDevice && target.DeviceID != "":
		v.sim.Inject("/API/mdm/devices/"+target.DeviceID, sf, n)
		return nil
	}
	return fmt.Errorf("%v on %v is not simulated", f, target)
}

// classify maps a request to the suite's target.
func (v *simView) classify(r wsonesim.Request) collecttest.Target {
	segs := strings.Split(strings.Trim(r.Path, "/"), "/")
	switch {
	case r.Path == wsonesim.TokenPath || (v.basic && r.Pattern == basicAuthPattern):
		return collecttest.Auth
	case len(segs) < 4 || segs[0] != "API" || segs[1] != "mdm" || segs[2] != "devices":
		return collecttest.Target{}
	case len(segs) == 4 && segs[3] == "search":
		return collecttest.List
	}
	return collecttest.Device(segs[3])
}

func (v *simView) Requests() []collecttest.Request {
	var out []collecttest.Request
	for _, r := range v.sim.Requests() {
		out = append(out, collecttest.Request{Target: v.classify(r), Method: r.Method, URL: r.Path + "?" + r.RawQuery,
			Status: r.Status, RetryAfter: r.RetryAfter, Fault: suiteFault(r.Fault), Started: r.Started, Finished: r.Finished})
	}
	return out
}

func suiteFault(f wsonesim.Fault) collecttest.Fault {
	for k, v := range simFaults {
		if v == f && f != wsonesim.FaultNone {
			return k
		}
	}
	return collecttest.None
}

func (v *simView) Unexpected() []string {
	var out []string
	for _, r := range v.sim.Unexpected() {
		out = append(out, fmt.Sprintf("%s %s?%s → %d", r.Method, r.Path, r.RawQuery, r.Status))
	}
	return out
}

func (v *simView) Secrets() []string { return v.sim.Secrets() }
