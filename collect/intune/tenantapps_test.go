package intune

import (
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/mdmsim"
)

// inventoryRun collects a simulated fleet with one app inventory mode and
// returns the staging directory and the simulator.
func inventoryRun(t *testing.T, devices int, mode string) (string, *mdmsim.Server) {
	t.Helper()
	sim := mdmsim.New(mdmsim.Options{Devices: devices, Seed: 21, AppsPerDevice: 12})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg := cfgFor(srv.URL)
	cfg.PageSize, cfg.RequestsPerSecond, cfg.AppInventory = 50, -1, mode
	dir, err := collectAll(t, cfg, collect.Request{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if u := sim.Unexpected(); len(u) > 0 {
		t.Fatalf("unexpected requests: %+v", u)
	}
	return dir, sim
}

// inventoryRequests counts the requests of each inventory path.
func inventoryRequests(sim *mdmsim.Server) (perDevice, perApp int) {
	count := func(r mdmsim.Request) {
		switch {
		case strings.Contains(r.Path, "/managedDevices/") && strings.HasSuffix(r.Path, "/detectedApps"):
			perDevice++
		case strings.Contains(r.Path, "/detectedApps/") && strings.HasSuffix(r.Path, "/managedDevices"):
			perApp++
		}
	}
	for _, r := range sim.Requests() {
		count(r)
		for _, it := range r.Batch {
			count(it)
		}
	}
	return perDevice, perApp
}

// The tenant-wide inventory (each app, then its devices) gives the same
// apps on the same devices as the per-device one, with the app's
// prevalence, and each record cites both the app and the device listing.
func TestTenantInventoryMatchesPerDevice(t *testing.T) {
	byTenant, sim := inventoryRun(t, 120, AppsByTenant)
	byDevice, _ := inventoryRun(t, 120, AppsByDevice)
	if a, b := appSet(t, byTenant), appSet(t, byDevice); !slices.Equal(a, b) || len(a) == 0 {
		t.Fatalf("tenant-wide inventory has %d app records, per-device %d, or they differ", len(a), len(b))
	}
	prevalence := map[string]int{}
	for _, a := range collecttest.ReadLines[collect.App](t, filepath.Join(byDevice, collect.AppsFile)) {
		prevalence[a.SourceAppID] = a.Prevalence
	}
	for _, a := range collecttest.ReadLines[collect.App](t, filepath.Join(byTenant, collect.AppsFile)) {
		if a.DeviceRef == nil {
			t.Fatalf("%s on %s has no device_ref", a.SourceAppID, a.DeviceKey)
		}
		checkRaw(t, byTenant, *a.DeviceRef, strings.TrimPrefix(a.DeviceKey, Name+":"))
		if a.Prevalence == 0 || a.Prevalence != prevalence[a.SourceAppID] {
			t.Fatalf("%s: prevalence %d by tenant, %d by device", a.SourceAppID, a.Prevalence, prevalence[a.SourceAppID])
		}
	}
	if perDevice, perApp := inventoryRequests(sim); perDevice != 0 || perApp == 0 {
		t.Errorf("tenant-wide run made %d per-device and %d per-app requests", perDevice, perApp)
	}
	// The planted rare app is on one device of the fleet.
	rare := sim.Fleet().Planted[mdmsim.ScenarioRareAppAndroid]
	found := false
	for _, a := range collecttest.ReadLines[collect.App](t, filepath.Join(byTenant, collect.AppsFile)) {
		found = found || a.DeviceKey == Name+":"+rare && a.Prevalence == 1
	}
	if !found {
		t.Error("no app with prevalence 1 on the rare-app device")
	}
}

// Auto picks the path with fewer requests: app by app for a large fleet
// sharing a catalogue, device by device for a small one.
func TestInventoryAutoPicksCheaperPath(t *testing.T) {
	_, big := inventoryRun(t, 1500, AppsAuto)
	if perDevice, perApp := inventoryRequests(big); perDevice != 0 || perApp == 0 {
		t.Errorf("1500 devices: %d per-device, %d per-app requests; want the app-by-app path", perDevice, perApp)
	}
	_, small := inventoryRun(t, 25, AppsAuto)
	if perDevice, perApp := inventoryRequests(small); perDevice < 25 || perApp != 0 {
		t.Errorf("25 devices: %d per-device, %d per-app requests; want the per-device path", perDevice, perApp)
	}
}

// An app whose devices cannot be listed leaves a source-wide gap naming
// it (which devices miss it is unknown), and the other apps are complete.
func TestTenantInventoryAppFailure(t *testing.T) {
	sim := mdmsim.New(mdmsim.Options{Devices: 60, Seed: 21, AppsPerDevice: 12})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	victim := sim.Fleet().DetectedApps()[0]
	sim.Inject("/v1.0/deviceManagement/detectedApps/"+victim.ID+"/managedDevices", mdmsim.Fault403, -1)
	cfg := cfgFor(srv.URL)
	cfg.RequestsPerSecond, cfg.AppInventory = -1, AppsByTenant
	dir, err := collectAll(t, cfg, collect.Request{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var gaps []collect.Gap
	for _, g := range collecttest.ReadLines[collect.Gap](t, filepath.Join(dir, collect.GapsFile)) {
		if g.Reason == collect.ReasonPermissionDenied {
			gaps = append(gaps, g)
		}
	}
	if len(gaps) != 1 || gaps[0].DeviceKey != "" || gaps[0].Telemetry != collect.TelemetryAppInventory ||
		!strings.Contains(gaps[0].Detail, victim.DisplayName) {
		t.Fatalf("gaps %+v; want one source-wide permission_denied gap naming %q", gaps, victim.DisplayName)
	}
	if !gaps[0].Failure() {
		t.Error("a source-wide permission gap is not a failure")
	}
	for _, a := range collecttest.ReadLines[collect.App](t, filepath.Join(dir, collect.AppsFile)) {
		if a.SourceAppID == victim.ID {
			t.Fatalf("record for the app whose devices were refused: %+v", a)
		}
	}
}
