package intune

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/mdmsim"
)

// appSet is every (device, app) pair of an acquisition, with the pair's
// evidence resolved, so that runs can be compared whatever their raw
// layout.
func appSet(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, a := range collecttest.ReadLines[collect.App](t, filepath.Join(dir, collect.AppsFile)) {
		checkRaw(t, dir, a.Raw, a.SourceAppID)
		out = append(out, a.DeviceKey+" "+a.SourceAppID+" "+a.Name+" "+a.Version)
	}
	slices.Sort(out)
	return out
}

func eventSet(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, e := range collecttest.ReadLines[collect.Event](t, filepath.Join(dir, collect.EventsFile)) {
		out = append(out, fmt.Sprint(e.DeviceKey, e.Type, e.Fields["policy_id"], e.Fields["state"], e.Fields["audit_id"]))
	}
	slices.Sort(out)
	return out
}

// $batch gives the same records as one request per call, for far fewer
// HTTP requests: with 45 devices, 3 batches of compliance states and 3 of
// apps instead of 90 GETs.
func TestBatchSavesRequests(t *testing.T) {
	run := func(batch int) (string, mdmsim.Stats) {
		sim := mdmsim.New(mdmsim.Options{Devices: 45, Seed: 3, AppsPerDevice: 12})
		srv := httptest.NewServer(sim.Handler())
		t.Cleanup(srv.Close)
		cfg := cfgFor(srv.URL)
		cfg.PageSize, cfg.Batch, cfg.RequestsPerSecond = 100, batch, -1
		dir, err := collectAll(t, cfg, collect.Request{All: true})
		if err != nil {
			t.Fatal(err)
		}
		if u := sim.Unexpected(); len(u) > 0 {
			t.Fatalf("unexpected requests: %+v", u)
		}
		return dir, sim.Stats()
	}
	batched, bs := run(0)
	single, ss := run(1)
	if a, b := appSet(t, batched), appSet(t, single); !slices.Equal(a, b) || len(a) == 0 {
		t.Errorf("batched run has %d app records, unbatched %d, or they differ", len(a), len(b))
	}
	if a, b := eventSet(t, batched), eventSet(t, single); !slices.Equal(a, b) || len(a) == 0 {
		t.Errorf("batched run has %d events, unbatched %d, or they differ", len(a), len(b))
	}
	// The token, the device list and the audit events cost the same in
	// both; the per-device work is 6 $batch requests instead of 90 GETs.
	if bs.BatchItems != 90 || ss.BatchItems != 0 || bs.Requests-6 != ss.Requests-90 {
		t.Errorf("batched: %d HTTP requests carrying %d items; unbatched: %d requests; want 84 fewer, 90 items batched",
			bs.Requests, bs.BatchItems, ss.Requests)
	}
}

// A 429 on one item of a batch is retried in a batch of its own after the
// item's Retry-After; the other items are not sent again.
func TestBatchItemThrottled(t *testing.T) {
	sim := mdmsim.New(mdmsim.Options{Devices: 10, Seed: 5, AppsPerDevice: 5, Faults: mdmsim.Faults{RetryAfter: 7 * time.Second}})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	victim := sim.Fleet().DeviceAt(4).ID
	sim.Inject("/beta/deviceManagement/managedDevices/"+victim+"/detectedApps", mdmsim.Fault429, 2)
	cfg := cfgFor(srv.URL)
	cfg.RequestsPerSecond, cfg.PageSize = -1, 100 // one page each
	var mu sync.Mutex
	var slept []time.Duration
	cfg.Sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		return nil
	}
	dir, err := collectAll(t, cfg, collect.Request{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, r := range sim.Requests() {
		if strings.HasSuffix(r.Path, "/beta/$batch") {
			sizes = append(sizes, len(r.Batch))
		}
	}
	if !slices.Equal(sizes, []int{10, 1, 1}) {
		t.Errorf("beta batches of %v items; want [10 1 1] (the throttled item alone, twice)", sizes)
	}
	if !slices.Equal(slept, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Errorf("waits %v; want the item's Retry-After twice", slept)
	}
	n := 0
	for _, a := range collecttest.ReadLines[collect.App](t, filepath.Join(dir, collect.AppsFile)) {
		if a.DeviceKey == Name+":"+victim {
			n++
		}
	}
	if want := len(sim.Fleet().DeviceAt(4).ReportedApps()); n != want || n == 0 {
		t.Errorf("throttled device has %d apps, want %d", n, want)
	}
	for _, g := range collecttest.ReadLines[collect.Gap](t, filepath.Join(dir, collect.GapsFile)) {
		if g.Reason == collect.ReasonError {
			t.Errorf("error gap after a retried item: %+v", g)
		}
	}
}

// A $batch response broken as a whole (truncated on every try) costs no
// device: its calls are sent again one by one, and only the device whose
// own response stays broken gets a gap.
func TestBrokenBatchFallsBackToSingleCalls(t *testing.T) {
	sim := mdmsim.New(mdmsim.Options{Devices: 8, Seed: 9, AppsPerDevice: 4})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	victim := sim.Fleet().DeviceAt(2).ID
	sim.Inject("/beta/deviceManagement/managedDevices/"+victim+"/detectedApps", mdmsim.FaultTruncate, -1)
	cfg := cfgFor(srv.URL)
	cfg.RequestsPerSecond = -1
	dir, err := collectAll(t, cfg, collect.Request{All: true})
	if err != nil {
		t.Fatal(err)
	}
	broken, alone := 0, map[string]bool{}
	for _, r := range sim.Requests() {
		if strings.HasSuffix(r.Path, "/beta/$batch") && r.Fault == mdmsim.FaultTruncate {
			broken++
		}
		if strings.Contains(r.Path, "/managedDevices/") && strings.HasSuffix(r.Path, "/detectedApps") && r.RawQuery == (call{query: odataQuery(AppFields, cfg.PageSize, "")}).query {
			alone[r.Path] = true
		}
	}
	// The body is whole on the wire (its Content-Length is kept), so it
	// is not resent: its calls go out one by one at once.
	if broken != 1 {
		t.Errorf("%d truncated $batch responses; want 1", broken)
	}
	if len(alone) != 8 {
		t.Errorf("%d devices' apps asked on their own; want all 8 of the broken batch", len(alone))
	}
	var failed []string
	for _, g := range collecttest.ReadLines[collect.Gap](t, filepath.Join(dir, collect.GapsFile)) {
		if g.Reason == collect.ReasonError {
			failed = append(failed, g.DeviceKey)
		}
	}
	if !slices.Equal(failed, []string{Name + ":" + victim}) {
		t.Errorf("error gaps on %v; want only the victim", failed)
	}
	want := 0
	for i := range 8 {
		if d := sim.Fleet().DeviceAt(i); d.ID != victim {
			want += len(d.ReportedApps())
		}
	}
	if n := len(appSet(t, dir)); n != want {
		t.Errorf("%d apps; want the %d of the 7 healthy devices", n, want)
	}
}

// The later pages of a group's listings go out together too: a round of
// @odata.nextLink per $batch; only a round of one page goes on its own.
func TestBatchFollowsPagesTogether(t *testing.T) {
	sim := mdmsim.New(mdmsim.Options{Devices: 20, Seed: 3, AppsPerDevice: 12})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg := cfgFor(srv.URL)
	cfg.PageSize, cfg.RequestsPerSecond, cfg.AppInventory = 5, -1, AppsByDevice
	dir, err := collectAll(t, cfg, collect.Request{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var rounds []int
	alone := 0
	for _, r := range sim.Requests() {
		switch {
		case strings.HasSuffix(r.Path, "/beta/$batch"):
			rounds = append(rounds, len(r.Batch))
		case strings.HasSuffix(r.Path, "/detectedApps"):
			alone++
		}
	}
	if alone > 1 {
		t.Errorf("%d detectedApps pages fetched on their own; want at most the last round's", alone)
	}
	if len(rounds) < 3 || rounds[0] != 20 {
		t.Errorf("beta $batch sizes %v; want 20 first pages, then rounds of later pages", rounds)
	}
	want := 0
	for i := range 20 {
		want += len(sim.Fleet().DeviceAt(i).ReportedApps())
	}
	if n := len(appSet(t, dir)); n != want {
		t.Errorf("%d apps, want %d", n, want)
	}
}
