package jamf

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/jamfsim"
	"github.com/custos-ir/custos/internal/jsonptr"
)

// fleetNow is the reference time of the simulated fleets.
var fleetNow = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// serve serves sim, through wrap when given, and returns its URL.
func serve(t *testing.T, sim *jamfsim.Server, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	h := sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func noSleep(context.Context, time.Duration) error { return nil }

// clientConfig is a source config for the simulator at base, as an API
// client.
func clientConfig(base string) Config {
	return Config{URL: base, ClientID: jamfsim.DemoClientID, ClientSecret: jamfsim.DemoClientSecret, Sleep: noSleep}
}

// userConfig is a source config for the simulator at base, as a user.
func userConfig(base string) Config {
	return Config{URL: base, Username: jamfsim.DemoUsername, Password: jamfsim.DemoPassword, Sleep: noSleep}
}

// result is what a collection left in its staging directory.
type result struct {
	dir     string
	err     error
	devices []collect.Device
	apps    []collect.App
	events  []collect.Event
	gaps    []collect.Gap
}

func run(t *testing.T, cfg Config, req collect.Request) result {
	t.Helper()
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := collect.NewStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	if req.Now.IsZero() {
		req.Now = fleetNow
	}
	r := result{dir: dir}
	r.err = collect.Run(context.Background(), src, req, st, &collect.Acquisition{ID: "test", CaseID: "T"}, time.Now)
	if r.err != nil {
		return r
	}
	r.devices = collecttest.ReadLines[collect.Device](t, filepath.Join(dir, collect.DevicesFile))
	r.apps = collecttest.ReadLines[collect.App](t, filepath.Join(dir, collect.AppsFile))
	r.events = collecttest.ReadLines[collect.Event](t, filepath.Join(dir, collect.EventsFile))
	r.gaps = collecttest.ReadLines[collect.Gap](t, filepath.Join(dir, collect.GapsFile))
	return r
}

func (r result) device(id string) *collect.Device {
	for i := range r.devices {
		if r.devices[i].SourceID == id {
			return &r.devices[i]
		}
	}
	return nil
}

func (r result) appsOf(id string) map[string]collect.App {
	out := map[string]collect.App{}
	for _, a := range r.apps {
		if a.DeviceKey == Name+":"+id {
			out[a.AppID] = a
		}
	}
	return out
}

func (r result) eventsOf(id string) []collect.Event {
	var out []collect.Event
	for _, e := range r.events {
		if e.DeviceKey == Name+":"+id {
			out = append(out, e)
		}
	}
	return out
}

func (r result) failureGaps() []collect.Gap {
	var out []collect.Gap
	for _, g := range r.gaps {
		if g.Reason == collect.ReasonError || g.Reason == collect.ReasonPermissionDenied {
			out = append(out, g)
		}
	}
	return out
}

// checkRaw checks that ref names a stored file with its digest and a
// pointer that resolves in it.
func checkRaw(t *testing.T, dir string, ref collect.RawRef) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref.Path)))
	if err != nil {
		t.Fatalf("%s: %v", ref.Path, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != ref.SHA256 {
		t.Errorf("%s: sha256 differs from the citation", ref.Path)
	}
	if _, err := jsonptr.Resolve(data, ref.Pointer); err != nil {
		t.Errorf("%s#%s: %v", ref.Path, ref.Pointer, err)
	}
}

// TestPlantedCases collects the whole simulated fleet and checks that each
// planted case lands in the right fields, and that the look-alikes do not
// look sideloaded.
func TestPlantedCases(t *testing.T) {
	sim := jamfsim.New(jamfsim.Options{Devices: 20, Seed: 3, Now: fleetNow})
	r := run(t, clientConfig(serve(t, sim, nil)), collect.Request{All: true, StaleAfter: 14 * 24 * time.Hour})
	if r.err != nil {
		t.Fatal(r.err)
	}
	fleet := sim.Fleet()
	if len(r.devices) != len(fleet.Devices) {
		t.Fatalf("collected %d devices, the fleet has %d", len(r.devices), len(fleet.Devices))
	}
	for _, d := range r.devices {
		checkRaw(t, r.dir, d.Raw)
	}
	for _, a := range r.apps {
		checkRaw(t, r.dir, a.Raw)
	}
	for _, e := range r.events {
		checkRaw(t, r.dir, e.Raw)
	}
	if g := r.failureGaps(); len(g) > 0 {
		t.Errorf("failure gaps in a clean run: %+v", g)
	}
	planted := fleet.Planted

	// The ad-hoc-signed app on a supervised iPhone.
	adhoc := r.device(planted[jamfsim.ScenarioAdHocApp])
	if adhoc.Platform != "ios" || adhoc.Posture.Supervised == nil || !*adhoc.Posture.Supervised || adhoc.Ownership != "corporate" {
		t.Errorf("ad-hoc iPhone mapped as %+v", adhoc)
	}
	if adhoc.Compliance != "noncompliant" {
		t.Errorf("ad-hoc iPhone without a passcode: compliance %q", adhoc.Compliance)
	}
	if a := r.appsOf(adhoc.SourceID)[jamfsim.AdHocAppID]; a.InstallSource != "sideloaded" || a.Name != "Tool" || a.Version != "1.2" || a.Managed == nil || *a.Managed {
		t.Errorf("ad-hoc app mapped as %+v", a)
	}

	// The jailbreak flag, with the field and value it came from.
	jb := r.device(planted[jamfsim.ScenarioJailbreak])
	if jb.Compromised != (collect.Compromised{Value: "true", Field: "ios.security.jailBreakDetected", RawValue: "true"}) {
		t.Errorf("jailbroken iPhone: compromised %+v", jb.Compromised)
	}
	if a := r.appsOf(jb.SourceID)[jamfsim.UnvalidatedAppID]; a.InstallSource != "sideloaded" {
		t.Errorf("unvalidated app mapped as %+v", a)
	}

	// The alternative marketplace.
	mk := r.device(planted[jamfsim.ScenarioMarketplaceApp])
	if a := r.appsOf(mk.SourceID)[jamfsim.MarketplaceAppID]; a.InstallSource != InstallMarketplace || a.Installer != jamfsim.MarketplaceDistributor {
		t.Errorf("marketplace app mapped as %+v", a)
	}

	// The developer's TestFlight beta: a beta, not a sideload.
	dev := r.device(planted[jamfsim.ScenarioDeveloperBeta])
	devApps := r.appsOf(dev.SourceID)
	if a := devApps[jamfsim.BetaAppID]; a.InstallSource != InstallBeta || a.Installer != jamfsim.TestFlightDistributor {
		t.Errorf("TestFlight beta mapped as %+v", a)
	}
	if a := devApps["com.apple.TestFlight"]; a.InstallSource != "store" {
		t.Errorf("TestFlight itself mapped as %+v", a)
	}

	// Only the two planted apps look sideloaded; the in-house app is
	// enterprise wherever it is.
	inHouse := 0
	for _, a := range r.apps {
		if a.InstallSource == "sideloaded" && a.AppID != jamfsim.AdHocAppID && a.AppID != jamfsim.UnvalidatedAppID {
			t.Errorf("%s on %s looks sideloaded", a.AppID, a.DeviceKey)
		}
		if a.AppID == jamfsim.InHouseAppID {
			inHouse++
			if a.InstallSource != "enterprise" || a.Managed == nil || !*a.Managed {
				t.Errorf("in-house app mapped as %+v", a)
			}
		}
		if a.InstallSource == "unknown" {
			t.Errorf("%s on %s: the simulator gives every signal, yet the install source is unknown", a.AppID, a.DeviceKey)
		}
	}
	if inHouse < 2 {
		t.Errorf("the in-house app is on %d devices", inHouse)
	}

	// The personal device: no serial, no jailbreak verdict, managed apps
	// only, and a gap saying so.
	pd := r.device(planted[jamfsim.ScenarioPersonalDevice])
	if pd.Ownership != "personal" || pd.Serial != "" || pd.Compromised.Value != "unknown" || pd.Compromised.Field != "" {
		t.Errorf("personal device mapped as %+v", pd)
	}
	for _, a := range r.appsOf(pd.SourceID) {
		if a.Managed == nil || !*a.Managed {
			t.Errorf("personal device reports unmanaged app %+v", a)
		}
	}
	// The stale iPad.
	stale := r.device(planted[jamfsim.ScenarioStaleDevice])
	if stale.Platform != "ipados" || stale.LastSeenAt == nil || !stale.LastSeenAt.Equal(fleetNow.Add(-jamfsim.StaleAge)) {
		t.Errorf("stale iPad mapped as %+v", stale)
	}
	gaps := map[string]bool{}
	for _, g := range r.gaps {
		gaps[g.DeviceKey+" "+g.Telemetry+" "+g.Reason] = true
	}
	for _, want := range []string{
		pd.Key + " app_inventory personal_device_scope",
		stale.Key + " device_state stale",
		" device_logs not_supported_by_source",
	} {
		if !gaps[want] {
			t.Errorf("no gap %q in %v", want, gaps)
		}
	}

	// The management history: the planted admin actions and commands.
	has := func(id, typ string, fields map[string]any) bool {
		return slices.ContainsFunc(r.eventsOf(id), func(e collect.Event) bool {
			if e.Type != typ || e.Time.IsZero() {
				return false
			}
			for k, v := range fields {
				if e.Fields[k] != v {
					return false
				}
			}
			return true
		})
	}
	if !has(jb.SourceID, EventAdminAction, map[string]any{"action": "Lost Mode enabled", "username": jamfsim.HelpdeskActor}) ||
		!has(jb.SourceID, EventMDMCommand, map[string]any{"command": "EnableLostMode", "status": "completed", "username": jamfsim.HelpdeskActor}) {
		t.Errorf("the jailbroken iPhone's Lost Mode is not in its events: %+v", r.eventsOf(jb.SourceID))
	}
	if !has(adhoc.SourceID, EventMDMCommand, map[string]any{"command": "ClearPasscode", "username": jamfsim.PlantedAdminActor}) ||
		!has(adhoc.SourceID, EventAdminAction, map[string]any{"action": "Passcode cleared", "username": jamfsim.PlantedAdminActor}) {
		t.Errorf("the passcode cleared on the ad-hoc iPhone is not in its events: %+v", r.eventsOf(adhoc.SourceID))
	}
	if !has(stale.SourceID, EventMDMCommand, map[string]any{"command": "InstalledApplicationList", "status": "pending"}) {
		t.Errorf("the stale iPad's pending commands are not in its events: %+v", r.eventsOf(stale.SourceID))
	}
}

// TestSince leaves out history entries before Request.Since.
func TestSince(t *testing.T) {
	sim := jamfsim.New(jamfsim.Options{Devices: 8, Seed: 3, Now: fleetNow})
	since := fleetNow.Add(-24 * time.Hour)
	r := run(t, clientConfig(serve(t, sim, nil)), collect.Request{All: true, Since: since})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.events) == 0 {
		t.Fatal("no event within the last day")
	}
	for _, e := range r.events {
		if e.Time.Before(since) {
			t.Errorf("event of %v kept with --since %v", e.Time, since)
		}
	}
}

// TestSelectors narrows the collection from the listing where it can, and
// from the detail for user: and imei:.
func TestSelectors(t *testing.T) {
	sim := jamfsim.New(jamfsim.Options{Devices: 12, Seed: 3, Now: fleetNow})
	base := serve(t, sim, nil)
	target := sim.Fleet().Devices[4]
	for _, sel := range []collect.Selector{
		{Kind: "serial", Value: target.Summary.SerialNumber},
		{Kind: "id", Value: target.Summary.ID},
		{Kind: "user", Value: strings.ToUpper(target.Detail.Location.EmailAddress)},
		{Kind: "imei", Value: target.Detail.IOS.Network.IMEI},
	} {
		if sel.Value == "" {
			continue // an iPad has no IMEI
		}
		t.Run(sel.Kind, func(t *testing.T) {
			r := run(t, clientConfig(base), collect.Request{Selectors: []collect.Selector{sel}})
			if r.err != nil {
				t.Fatal(r.err)
			}
			if len(r.devices) != 1 || r.devices[0].SourceID != target.Summary.ID {
				t.Fatalf("%v collected %v", sel, r.devices)
			}
			for _, e := range r.events {
				if e.DeviceKey != r.devices[0].Key {
					t.Errorf("event of an unselected device: %+v", e)
				}
			}
		})
	}
	// From the listing, only the selected device's detail is read.
	n := 0
	for _, q := range sim.Requests() {
		if strings.HasSuffix(q.Path, "/detail") {
			n++
		}
	}
	if want := 2 + 2*12; n != want {
		t.Errorf("%d detail requests; want %d (one each for serial: and id:, every device for user: and imei:)", n, want)
	}
}

// TestConcurrencyCap: at most five requests are in flight at once, and
// the source does use them.
func TestConcurrencyCap(t *testing.T) {
	for _, c := range []int{0, 2} {
		sim := jamfsim.New(jamfsim.Options{Devices: 30, Seed: 5, Now: fleetNow, Latency: 15 * time.Millisecond})
		cfg := clientConfig(serve(t, sim, nil))
		cfg.Concurrency = c
		if r := run(t, cfg, collect.Request{All: true}); r.err != nil {
			t.Fatal(r.err)
		}
		want := c
		if c == 0 {
			want = MaxConcurrency
		}
		if got := sim.MaxInFlight(); got > want || got < 2 {
			t.Errorf("concurrency %d: at most %d requests in flight at once; want 2 to %d", c, got, want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{ClientID: "c", ClientSecret: "s"}, "--url is required"},
		{Config{URL: "ftp://x", ClientID: "c", ClientSecret: "s"}, "want scheme://host"},
		{Config{URL: "https://x"}, "no credentials"},
		{Config{URL: "https://x", ClientID: "c"}, "CUSTOS_JAMF_CLIENT_SECRET"},
		{Config{URL: "https://x", Username: "u"}, "CUSTOS_JAMF_PASSWORD"},
		{Config{URL: "https://x", ClientID: "c", ClientSecret: "s", Username: "u", Password: "p"}, "not both"},
		{Config{URL: "https://x", ClientID: "c", ClientSecret: "s", Concurrency: 6}, "at most 5"},
		{Config{URL: "https://x", ClientID: "c", ClientSecret: "s", PageSize: 2001}, "at most 2000"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", tc.cfg, err, tc.want)
		}
	}
	src, err := New(Config{URL: "https://example.jamfcloud.com/", ClientID: "c", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	d := src.Describe()
	if d.Tenant != "example.jamfcloud.com" || d.Principal != "c" || slices.Contains(d.Telemetry, collect.TelemetryDeviceLogs) ||
		d.Endpoints[0] != "https://example.jamfcloud.com/api/oauth/token" {
		t.Errorf("descriptor %+v", d)
	}
}

// TestRetryAfterHonoured: a 429 on a device's detail is retried after the
// wait the server asked for.
func TestRetryAfterHonoured(t *testing.T) {
	sim := jamfsim.New(jamfsim.Options{Devices: 4, Seed: 3, Now: fleetNow, RetryAfter: 7 * time.Second})
	sim.Inject("/api/v2/mobile-devices/2/detail", jamfsim.Fault429, 1)
	sim.Inject("/JSSResource/mobiledevicehistory/id/3", jamfsim.Fault503, 1)
	cfg := clientConfig(serve(t, sim, nil))
	var mu sync.Mutex
	var waits []time.Duration
	cfg.Sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return nil
	}
	r := run(t, cfg, collect.Request{All: true})
	if r.err != nil || len(r.failureGaps()) > 0 {
		t.Fatalf("error %v, gaps %+v", r.err, r.failureGaps())
	}
	if !slices.Equal(waits, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Errorf("waits %v; want the 7 s the server asked, twice", waits)
	}
}

// TestErrorBody: a Jamf Pro API error is an *Error naming the code and
// description; 401 and 403 match collect.ErrAuth; the Classic API's HTML
// error carries the status alone.
func TestErrorBody(t *testing.T) {
	sim := jamfsim.New(jamfsim.Options{Devices: 3, Seed: 3, Now: fleetNow})
	base := serve(t, sim, nil)
	src, err := New(clientConfig(base))
	if err != nil {
		t.Fatal(err)
	}
	sink := &collecttest.Recorder{}
	ctx := context.Background()
	get := func(path string) error {
		u := src.api.Base.JoinPath(strings.Split(path, "/")...)
		_, _, err := src.get(ctx, u, sink)
		return err
	}
	var je *Error
	err = get("api/v2/mobile-devices/99/detail")
	if !errors.As(err, &je) || je.Status != 404 || je.Code != "INVALID_ID" || je.Causes[0].Field != "id" || errors.Is(err, collect.ErrAuth) {
		t.Errorf("unknown device: %#v (%v)", je, err)
	}
	if !strings.Contains(err.Error(), "INVALID_ID") || !strings.Contains(err.Error(), "not found") {
		t.Errorf("message %q names neither the code nor the description", err)
	}
	sim.Inject("/api/v2/mobile-devices/1/detail", jamfsim.Fault403, 1)
	err = get("api/v2/mobile-devices/1/detail")
	if !errors.As(err, &je) || je.Code != "INVALID_PRIVILEGE" || !errors.Is(err, collect.ErrAuth) {
		t.Errorf("403: %#v (%v)", je, err)
	}
	sim.Inject("/JSSResource/mobiledevicehistory/id/1", jamfsim.Fault401, 2) // the retry with a new token too
	err = get("JSSResource/mobiledevicehistory/id/1")
	if !errors.As(err, &je) || je.Status != 401 || je.Code != "" || !errors.Is(err, collect.ErrAuth) {
		t.Errorf("Classic 401: %#v (%v)", je, err)
	}
}

// readExchanges reads the request log of the run in dir.
func readExchanges(t *testing.T, dir string) []collect.Exchange {
	t.Helper()
	return collecttest.ReadLines[collect.Exchange](t, filepath.Join(dir, "raw", Name, "requests.ndjson"))
}
