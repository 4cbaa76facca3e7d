package amapi_test

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/amapi"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/googlesim"
)

// TestConformance runs the shared source suite against the Google
// simulator. The API has no per-device endpoint (devices.list returns
// each device whole), so the per-device cases are skipped; paging is by
// token, so there is no link to point at a foreign host.
func TestConformance(t *testing.T) {
	collecttest.Run(t, googleHarness{})
}

var harnessKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type googleHarness struct{}

func (googleHarness) Start(t *testing.T, cfg collecttest.Config) collecttest.Sim {
	sim := googlesim.New(googlesim.Options{Devices: cfg.Devices, Seed: 13, Key: harnessKey(), SlowDelay: cfg.SlowDelay})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &googleSim{sim: sim, url: srv.URL, pageSize: cfg.PageSize}
}

type googleSim struct {
	sim      *googlesim.Server
	url      string
	pageSize int
}

func (g *googleSim) NewSource(t *testing.T, c collecttest.Client) collect.Source {
	src, err := amapi.New(amapi.Config{Key: g.sim.ServiceAccountKey(g.url), Enterprise: googlesim.DefaultEnterprise,
		APIURL: g.url, HTTP: c.HTTP, Sleep: c.Sleep, PageSize: g.pageSize, RequestsPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (g *googleSim) Devices() []string {
	var ids []string
	for _, d := range g.sim.Fleet().Devices {
		ids = append(ids, d.Name[strings.LastIndexByte(d.Name, '/')+1:])
	}
	return ids
}

var simFaults = map[collecttest.Fault]googlesim.Fault{
	collecttest.Throttle:             googlesim.Fault429,
	collecttest.ThrottleNoRetryAfter: googlesim.Fault429NoRetryAfter,
	collecttest.Unauthorized:         googlesim.Fault401,
	collecttest.Forbidden:            googlesim.Fault403,
	collecttest.Unavailable:          googlesim.Fault503,
	collecttest.Truncated:            googlesim.FaultTruncate,
	collecttest.Malformed:            googlesim.FaultMalformed,
	collecttest.RepeatedLink:         googlesim.FaultRepeatToken,
	collecttest.Slow:                 googlesim.FaultSlow,
}

func (g *googleSim) Inject(target collecttest.Target, f collecttest.Fault, n int) error {
	sf, ok := simFaults[f]
	switch {
	case !ok:
	case target.Kind == collecttest.TargetAuth && f != collecttest.RepeatedLink:
		g.sim.Inject("/token", sf, n)
		return nil
	case target.Kind == collecttest.TargetList:
		g.sim.Inject("/v1/enterprises/"+googlesim.DefaultEnterprise+"/devices", sf, n)
		return nil
	}
	return fmt.Errorf("%v on %v is not simulated", f, target)
}

func classify(path string) collecttest.Target {
	switch {
	case path == "/token":
		return collecttest.Auth
	case path == "/v1/enterprises/"+googlesim.DefaultEnterprise+"/devices":
		return collecttest.List
	}
	return collecttest.Target{}
}

func (g *googleSim) Requests() []collecttest.Request {
	var out []collecttest.Request
	for _, r := range g.sim.Requests() {
		out = append(out, collecttest.Request{Target: classify(r.Path), Method: r.Method, URL: r.Path + "?" + r.RawQuery,
			Status: r.Status, RetryAfter: r.RetryAfter, Fault: suiteFault(r.Fault), Started: r.Started, Finished: r.Finished})
	}
	return out
}

func suiteFault(f googlesim.Fault) collecttest.Fault {
	for k, v := range simFaults {
		if v == f && f != googlesim.FaultNone {
			return k
		}
	}
	return collecttest.None
}

func (g *googleSim) Unexpected() []string {
	var out []string
	for _, r := range g.sim.Unexpected() {
		out = append(out, fmt.Sprintf("%s %s?%s → %d", r.Method, r.Path, r.RawQuery, r.Status))
	}
	return out
}

func (g *googleSim) Secrets() []string { return g.sim.Secrets() }
