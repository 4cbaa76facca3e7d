package wsone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/wsonesim"
	"github.com/custos-ir/custos/internal/httpx"
	"github.com/custos-ir/custos/internal/jsonptr"
)

// simNow dates the simulated fleet.
var simNow = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// newSim serves a simulated tenant.
func newSim(t *testing.T, opts wsonesim.Options) (*wsonesim.Server, string) {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = simNow
	}
	sim := wsonesim.New(opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

// oauthConfig and basicConfig point a source at base with the demo
// credentials, without pacing or real waits.
func oauthConfig(base string) Config {
	return Config{URL: base, ClientID: wsonesim.DemoClientID, ClientSecret: wsonesim.DemoClientSecret,
		TokenURL: base + wsonesim.TokenPath, PageSize: 5, RequestsPerSecond: -1, Sleep: noSleep}
}

func basicConfig(base string) Config {
	return Config{URL: base, Username: wsonesim.DemoUsername, Password: wsonesim.DemoPassword,
		TenantCode: wsonesim.DemoTenantCode, PageSize: 5, RequestsPerSecond: -1, Sleep: noSleep}
}

func noSleep(context.Context, time.Duration) error { return nil }

// result is what a collection left in its staging directory.
type result struct {
	dir     string
	err     error
	src     *Source
	devices []collect.Device
	apps    []collect.App
	gaps    []collect.Gap
	exs     []collect.Exchange
}

func collectWith(t *testing.T, cfg Config, req collect.Request) result {
	t.Helper()
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := result{dir: t.TempDir(), src: src}
	st, err := collect.NewStaging(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	r.err = collect.Run(context.Background(), src, req, st, &collect.Acquisition{ID: "test", CaseID: "T"}, time.Now)
	read := func(name string) string { return filepath.Join(r.dir, filepath.FromSlash(name)) }
	if _, err := os.Stat(read(collect.AcquisitionFile)); err == nil {
		r.devices = collecttest.ReadLines[collect.Device](t, read(collect.DevicesFile))
		r.apps = collecttest.ReadLines[collect.App](t, read(collect.AppsFile))
		r.gaps = collecttest.ReadLines[collect.Gap](t, read(collect.GapsFile))
	}
	if _, err := os.Stat(read("raw/wsone/requests.ndjson")); err == nil {
		r.exs = collecttest.ReadLines[collect.Exchange](t, read("raw/wsone/requests.ndjson"))
	}
	return r
}

func (r result) device(t *testing.T, id int) collect.Device {
	t.Helper()
	for _, d := range r.devices {
		if d.SourceID == strconv.Itoa(id) {
			return d
		}
	}
	t.Fatalf("device %d not collected", id)
	return collect.Device{}
}

func (r result) app(t *testing.T, id int, appID string) collect.App {
	t.Helper()
	for _, a := range r.apps {
		if a.DeviceKey == Name+":"+strconv.Itoa(id) && a.AppID == appID {
			return a
		}
	}
	t.Fatalf("app %s of device %d not collected", appID, id)
	return collect.App{}
}

func (r result) gap(key, telemetry, reason string) *collect.Gap {
	for _, g := range r.gaps {
		if g.DeviceKey == key && g.Telemetry == telemetry && g.Reason == reason {
			return &g
		}
	}
	return nil
}

// checkRaw resolves a record's citation in the stored bytes.
func checkRaw(t *testing.T, dir string, ref collect.RawRef) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref.Path)))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != ref.SHA256 {
		t.Fatalf("%s: sha256 differs from the citation", ref.Path)
	}
	v, err := jsonptr.Resolve(data, ref.Pointer)
	if err != nil {
		t.Fatalf("%s#%s: %v", ref.Path, ref.Pointer, err)
	}
	return v
}

func TestCollectAgainstSimulator(t *testing.T) {
	sim, base := newSim(t, wsonesim.Options{Seed: 3})
	r := collectWith(t, oauthConfig(base), collect.Request{All: true, StaleAfter: 14 * 24 * time.Hour, Now: simNow})
	if r.err != nil {
		t.Fatal(r.err)
	}
	f := sim.Fleet()
	if len(r.devices) != len(f.Devices) {
		t.Fatalf("collected %d devices, the fleet has %d", len(r.devices), len(f.Devices))
	}
	want := 0
	for _, apps := range f.Apps {
		want += len(apps)
	}
	if len(r.apps) != want {
		t.Errorf("collected %d apps, the fleet has %d", len(r.apps), want)
	}
	// Every record cites the object it came from.
	for _, d := range r.devices {
		if got := checkRaw(t, r.dir, d.Raw); !bytes.Contains(got, []byte(`"Id":{"Value":`+d.SourceID+`}`)) {
			t.Errorf("device %s cites %s#%s, another object", d.Key, d.Raw.Path, d.Raw.Pointer)
		}
	}
	for _, a := range r.apps {
		if got := checkRaw(t, r.dir, a.Raw); !bytes.Contains(got, []byte(`"ApplicationIdentifier":"`+a.AppID+`"`)) {
			t.Errorf("app %s cites another object", a.AppID)
		}
	}
	// Each device maps its fleet entry.
	for _, fd := range f.Devices {
		d := r.device(t, fd.ID.Value)
		if d.Serial != fd.SerialNumber || d.IMEI != fd.Imei || d.Model != fd.Model || d.OSVersion != fd.OperatingSystem ||
			d.User != fd.UserEmailAddress || d.Category != fd.LocationGroupName || d.Build != fd.OSBuildVersion {
			t.Errorf("device %d mapped as %+v from %+v", fd.ID.Value, d, fd)
		}
		if fd.LastSeen != wsonesim.Never {
			seen, err := time.Parse("2006-01-02T15:04:05.999", fd.LastSeen)
			if err != nil || d.LastSeenAt == nil || !d.LastSeenAt.Equal(seen) || d.LastSeenAt.Location() != time.UTC {
				t.Errorf("device %d: LastSeen %q read as %v", fd.ID.Value, fd.LastSeen, d.LastSeenAt)
			}
		}
		wantPlatform := map[string]string{"Apple": "ios", "Android": "android"}[fd.Platform]
		if strings.HasPrefix(fd.Model, "iPad") {
			wantPlatform = "ipados"
		}
		if d.Platform != wantPlatform {
			t.Errorf("device %d (%s %s) mapped to platform %q", fd.ID.Value, fd.Platform, fd.Model, d.Platform)
		}
		wantOwner := map[string]string{"C": "corporate", "S": "corporate", "E": "personal"}[fd.Ownership]
		if d.Ownership != wantOwner {
			t.Errorf("device %d: ownership %q mapped to %q", fd.ID.Value, fd.Ownership, d.Ownership)
		}
	}

	// The planted cases.
	p := f.Planted
	if d := r.device(t, p[wsonesim.ScenarioCompromised]); d.Compromised != (collect.Compromised{Value: "true", Field: "CompromisedStatus", RawValue: "true"}) ||
		d.Compliance != "noncompliant" || d.Platform != "ios" {
		t.Errorf("compromised iPhone mapped as %+v, %s, %s", d.Compromised, d.Compliance, d.Platform)
	}
	if d := r.device(t, p[wsonesim.ScenarioNoncompliant]); d.Compromised.Value != "false" || d.Compliance != "noncompliant" {
		t.Errorf("non-compliant look-alike mapped as %+v, %s", d.Compromised, d.Compliance)
	}
	adhoc := p[wsonesim.ScenarioAdHocApp]
	if d := r.device(t, adhoc); d.Posture.Supervised == nil || !*d.Posture.Supervised {
		t.Errorf("the ad-hoc app's iPhone is not supervised: %+v", d.Posture)
	}
	if a := r.app(t, adhoc, wsonesim.AdHocAppID); a.InstallSource != "sideloaded" || a.Managed == nil || *a.Managed {
		t.Errorf("ad-hoc-signed app mapped as %+v", a)
	}
	mkt := p[wsonesim.ScenarioMarketplaceApp]
	if a := r.app(t, mkt, wsonesim.MarketplaceAppID); a.InstallSource != "marketplace" || a.Installer != wsonesim.MarketplaceDistributor {
		t.Errorf("marketplace app mapped as %+v", a)
	}
	if a := r.app(t, mkt, "net.whatsapp.WhatsApp"); a.InstallSource != "store" || a.Installer != wsonesim.AppStoreDistributor {
		t.Errorf("App Store app with a distributor mapped as %+v", a)
	}
	ent := p[wsonesim.ScenarioEnterpriseApp]
	if a := r.app(t, ent, wsonesim.EnterpriseAppID); a.InstallSource != "enterprise" || a.Managed == nil || !*a.Managed {
		t.Errorf("in-house app mapped as %+v", a)
	}
	if a := r.app(t, ent, wsonesim.TestFlightAppID); a.InstallSource != "beta" || a.Installer != "com.apple.TestFlight" {
		t.Errorf("TestFlight beta mapped as %+v", a)
	}
	for _, a := range r.apps {
		if a.InstallSource == "sideloaded" && a.AppID != wsonesim.AdHocAppID || a.InstallSource == "marketplace" && a.AppID != wsonesim.MarketplaceAppID {
			t.Errorf("benign app judged %s: %+v", a.InstallSource, a)
		}
	}
	never := r.device(t, p[wsonesim.ScenarioNeverSeen])
	if never.LastSeenAt != nil {
		t.Errorf("never-seen device has last_seen_at %v", never.LastSeenAt)
	}
	if r.gap(never.Key, collect.TelemetryDeviceState, collect.ReasonStale) == nil {
		t.Errorf("no stale gap for the never-seen device; gaps %+v", r.gaps)
	}
	if r.gap(never.Key, collect.TelemetryAppInventory, collect.ReasonError) != nil {
		t.Errorf("the never-seen device's empty app listing became an error gap")
	}
	personal := r.device(t, p[wsonesim.ScenarioEmployeeOwned])
	if personal.Ownership != "personal" || r.gap(personal.Key, collect.TelemetryAppInventory, collect.ReasonPersonalScope) == nil {
		t.Errorf("employee-owned device: ownership %q, gaps %+v", personal.Ownership, r.gaps)
	}
	stale := r.device(t, p[wsonesim.ScenarioStale])
	if r.gap(stale.Key, collect.TelemetryDeviceState, collect.ReasonStale) == nil {
		t.Errorf("no stale gap for the device last seen 45 days ago")
	}
	// The telemetry the API cannot see is a source-wide gap.
	for _, kind := range []string{collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit} {
		if r.gap("", kind, collect.ReasonNotSupported) == nil {
			t.Errorf("no not_supported gap for %s", kind)
		}
	}
	// The listing is pinned to one order; every request names its version.
	for _, q := range sim.Requests() {
		switch {
		case strings.HasSuffix(q.Path, "/search"):
			if !strings.Contains(q.RawQuery, "orderby=deviceid") || q.Accept != "application/json;version=2" || q.Version != 2 {
				t.Errorf("search request %s?%s, Accept %q", q.Path, q.RawQuery, q.Accept)
			}
		case strings.HasSuffix(q.Path, "/apps"):
			if q.Accept != "application/json;version=1" || q.Version != 1 {
				t.Errorf("apps request with Accept %q", q.Accept)
			}
		}
	}
	if v := r.src.Versions(); v[EndpointSearch] != 2 || v[EndpointApps] != 1 {
		t.Errorf("versions used: %v", v)
	}
	for _, ex := range r.exs {
		if ex.Method == http.MethodGet && !strings.HasPrefix(ex.Note, "Accept: application/json;version=") {
			t.Errorf("request-log line %d does not note the version asked: %q", ex.Seq, ex.Note)
		}
	}
}

// An unstable server order (no orderby) would lose devices across pages;
// the pinned order keeps every one.
func TestPinnedOrder(t *testing.T) {
	sim, base := newSim(t, wsonesim.Options{Seed: 5, Devices: 23, UnstableOrder: true})
	r := collectWith(t, oauthConfig(base), collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.devices) != 23 {
		t.Errorf("collected %d of 23 devices", len(r.devices))
	}
	pages := 0
	for _, q := range sim.Requests() {
		if strings.HasSuffix(q.Path, "/search") {
			pages++
		}
	}
	if pages != 5 {
		t.Errorf("%d search requests for 23 devices in pages of 5; want 5", pages)
	}
}

func TestSelector(t *testing.T) {
	sim, base := newSim(t, wsonesim.Options{Seed: 3})
	target := sim.Fleet().Planted[wsonesim.ScenarioMarketplaceApp]
	fd, _ := sim.Fleet().Device(target)
	r := collectWith(t, oauthConfig(base), collect.Request{Selectors: []collect.Selector{{Kind: "serial", Value: fd.SerialNumber}}})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.devices) != 1 || r.devices[0].SourceID != strconv.Itoa(target) {
		t.Fatalf("selected %+v", r.devices)
	}
	for _, q := range sim.Requests() {
		if strings.HasSuffix(q.Path, "/apps") && q.Path != "/API/mdm/devices/"+strconv.Itoa(target)+"/apps" {
			t.Errorf("apps of an unselected device fetched: %s", q.Path)
		}
	}
	if len(r.apps) != len(sim.Fleet().Apps[target]) {
		t.Errorf("%d apps, want %d", len(r.apps), len(sim.Fleet().Apps[target]))
	}
}

func TestBasicAuth(t *testing.T) {
	sim, base := newSim(t, wsonesim.Options{Seed: 3})
	r := collectWith(t, basicConfig(base), collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.devices) != len(sim.Fleet().Devices) {
		t.Errorf("collected %d devices", len(r.devices))
	}
	for _, q := range sim.Requests() {
		if q.Path == wsonesim.TokenPath || q.Auth != "basic" {
			t.Fatalf("request %s authenticated as %q", q.Path, q.Auth)
		}
	}
	if d := r.src.Describe(); d.Principal != wsonesim.DemoUsername || len(d.Endpoints) != 2 {
		t.Errorf("descriptor %+v", d)
	}
}

// A wrong tenant code is refused with 403 errorCode 1013, whose message
// repeats the code: the run fails as an auth failure, the typed error
// names the three parts of the body, and the code reaches neither the
// error nor the disk.
func TestWrongTenantCode(t *testing.T) {
	sim, base := newSim(t, wsonesim.Options{Seed: 3})
	cfg := basicConfig(base)
	cfg.TenantCode = "Wrong+Tenant/Code=0123456789"
	r := collectWith(t, cfg, collect.Request{All: true})
	if !errors.Is(r.err, collect.ErrAuth) || !errors.Is(r.err, httpx.ErrPermission) {
		t.Fatalf("error %v: want an auth failure", r.err)
	}
	var e *Error
	if !errors.As(r.err, &e) || e.Status != 403 || e.Code != 1013 || e.ActivityID == "" || !strings.Contains(e.Message, "does not identify an Organization Group") {
		t.Fatalf("typed error %+v", e)
	}
	for _, want := range []string{"errorCode 1013", "does not identify an Organization Group", "activityId " + e.ActivityID} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error %q does not say %q", r.err, want)
		}
	}
	if strings.Contains(r.err.Error(), cfg.TenantCode) || strings.Contains(e.Message, cfg.TenantCode) {
		t.Errorf("error holds the tenant code: %v", r.err)
	}
	assertNotOnDisk(t, r.dir, cfg.TenantCode, cfg.Password)
	if len(r.exs) != 1 || !strings.Contains(r.exs[0].Note, "body redacted (tenant code replaced by REDACTED): received ") {
		t.Fatalf("request log %+v", r.exs)
	}
	stored, err := os.ReadFile(filepath.Join(r.dir, "raw", "wsone", r.exs[0].File))
	if err != nil || !bytes.Contains(stored, []byte(`Tenant code REDACTED does not`)) {
		t.Errorf("stored body %s (%v)", stored, err)
	}
	if len(sim.Requests()) != 1 {
		t.Errorf("%d requests after the refusal", len(sim.Requests()))
	}
}

func assertNotOnDisk(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		for i, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds secret %d", p, i)
			}
		}
		return nil
	})
}

func TestWrongPasswordAndSecret(t *testing.T) {
	_, base := newSim(t, wsonesim.Options{Seed: 3})
	cfg := basicConfig(base)
	cfg.Password = "not-the-password"
	r := collectWith(t, cfg, collect.Request{All: true})
	var e *Error
	if !errors.Is(r.err, collect.ErrAuth) || errors.Is(r.err, httpx.ErrPermission) || !errors.As(r.err, &e) || e.Status != 401 {
		t.Errorf("wrong password: %v", r.err)
	}
	cfg = oauthConfig(base)
	cfg.ClientSecret = "not-the-secret"
	r = collectWith(t, cfg, collect.Request{All: true})
	if !errors.Is(r.err, collect.ErrAuth) || !strings.Contains(r.err.Error(), "invalid_client") || strings.Contains(r.err.Error(), cfg.ClientSecret) {
		t.Errorf("wrong secret: %v", r.err)
	}
	if len(r.exs) != 1 || r.exs[0].File != "" {
		t.Errorf("the refused token request is logged as %+v; its body must not be kept", r.exs)
	}
}

// An older server serves device search at version 1 only: the first
// request asks for 2, is answered 406, and the source reads version 1
// from then on; both exchanges are in the request log.
func TestVersionNegotiation(t *testing.T) {
	sim, base := newSim(t, wsonesim.Options{Seed: 3, SearchVersions: []int{1}})
	r := collectWith(t, oauthConfig(base), collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.devices) != len(sim.Fleet().Devices) {
		t.Errorf("collected %d devices", len(r.devices))
	}
	var asked []string
	for _, q := range sim.Requests() {
		if strings.HasSuffix(q.Path, "/search") {
			asked = append(asked, q.Accept+" → "+strconv.Itoa(q.Status))
		}
	}
	want := []string{"application/json;version=2 → 406", "application/json;version=1 → 200", "application/json;version=1 → 200", "application/json;version=1 → 200", "application/json;version=1 → 200"}
	if !slices.Equal(asked, want) {
		t.Errorf("search requests %q, want %q", asked, want)
	}
	if v := r.src.Versions()[EndpointSearch]; v != 1 {
		t.Errorf("search read at version %d", v)
	}
	logged := 0
	for _, ex := range r.exs {
		if ex.Status == http.StatusNotAcceptable && ex.Note == "Accept: application/json;version=2" {
			logged++
		}
	}
	if logged != 1 {
		t.Errorf("%d logged 406 answers to version 2; want 1", logged)
	}

	// A server that serves none of the versions the source reads: every
	// device's apps are a gap saying so.
	sim, base = newSim(t, wsonesim.Options{Seed: 3, Devices: 9, AppsVersions: []int{3}})
	r = collectWith(t, oauthConfig(base), collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, fd := range sim.Fleet().Devices {
		g := r.gap(Name+":"+strconv.Itoa(fd.ID.Value), collect.TelemetryAppInventory, collect.ReasonError)
		if g == nil || !strings.Contains(g.Detail, "accepts none of the API versions custos reads for mdm/devices/{id}/apps (1)") {
			t.Errorf("device %d: gap %+v", fd.ID.Value, g)
		}
	}
	if _, ok := r.src.Versions()[EndpointApps]; ok {
		t.Errorf("an apps version recorded although none was accepted: %v", r.src.Versions())
	}
}

// fakeAPI serves a token and answers every API request with handle.
func fakeAPI(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) (Config, *[]*http.Request) {
	t.Helper()
	var mu sync.Mutex
	var reqs []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == wsonesim.TokenPath {
			io.WriteString(w, `{"access_token":"tok-0123456789","expires_in":3600,"token_type":"Bearer"}`)
			return
		}
		mu.Lock()
		reqs = append(reqs, r.Clone(context.Background()))
		mu.Unlock()
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return oauthConfig(srv.URL), &reqs
}

// devicesJSON is a search page of devices with the given ids.
func devicesJSON(page, size, total int, ids ...int) string {
	var items []string
	for _, id := range ids {
		items = append(items, `{"Id":{"Value":`+strconv.Itoa(id)+`},"Platform":"Android","LastSeen":"2026-11-25T10:00:00"}`)
	}
	return `{"Devices":[` + strings.Join(items, ",") + `],"Page":` + strconv.Itoa(page) + `,"PageSize":` + strconv.Itoa(size) + `,"Total":` + strconv.Itoa(total) + `}`
}

// The listing asks for pages 0, 1, 2 … with the page size and the pinned
// order, and stops after the page that reaches Total; a page asked is
// never asked again.
func TestPagingStopsAtTotal(t *testing.T) {
	cfg, reqs := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/apps") {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		ids := [][]int{{1, 2, 3}, {4, 5, 6}, {7}}[n]
		io.WriteString(w, devicesJSON(n, 3, 7, ids...))
	})
	cfg.PageSize = 3
	r := collectWith(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	var got []string
	for _, q := range *reqs {
		if strings.HasSuffix(q.URL.Path, "/search") {
			got = append(got, q.URL.RawQuery)
		}
		if q.Header.Get("Authorization") != "Bearer tok-0123456789" || q.Header.Get("Accept") == "" {
			t.Errorf("request %s: Authorization %q, Accept %q", q.URL, q.Header.Get("Authorization"), q.Header.Get("Accept"))
		}
	}
	want := []string{"orderby=deviceid&sortorder=ASC&page=0&pagesize=3", "orderby=deviceid&sortorder=ASC&page=1&pagesize=3", "orderby=deviceid&sortorder=ASC&page=2&pagesize=3"}
	if !slices.Equal(got, want) {
		t.Errorf("search queries %q, want %q", got, want)
	}
	if len(r.devices) != 7 {
		t.Errorf("collected %d devices", len(r.devices))
	}
	// 204 for apps is "no apps", not a failure.
	for _, g := range r.gaps {
		if g.Failure() {
			t.Errorf("failure gap %+v", g)
		}
	}
}

// Without Total, a page shorter than the page size ends the listing.
func TestPagingWithoutTotal(t *testing.T) {
	cfg, reqs := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/apps") {
			io.WriteString(w, `{"DeviceApps":[{"ApplicationName":"X","ApplicationIdentifier":"x","Type":"Public"}]}`)
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		body := `{"Devices":[{"Id":{"Value":` + strconv.Itoa(10+2*n) + `}},{"Id":{"Value":` + strconv.Itoa(11+2*n) + `}}]}`
		if n == 2 {
			body = `{"Devices":[{"Id":{"Value":99}}]}`
		}
		io.WriteString(w, body)
	})
	cfg.PageSize = 2
	r := collectWith(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.devices) != 5 || len(r.apps) != 5 || len(*reqs) != 3+5 {
		t.Errorf("%d devices, %d apps, %d requests", len(r.devices), len(r.apps), len(*reqs))
	}
}

// An empty answer is "no results": 204, or 200 with no body.
func TestEmptyBodyMeansNoResults(t *testing.T) {
	for _, status := range []int{http.StatusNoContent, http.StatusOK} {
		cfg, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
		r := collectWith(t, cfg, collect.Request{All: true})
		if r.err != nil {
			t.Fatalf("%d: %v", status, r.err)
		}
		if len(r.devices) != 0 || len(r.gaps) != 2 { // device_logs and admin_audit
			t.Errorf("%d: devices %v, gaps %+v", status, r.devices, r.gaps)
		}
	}
}

// An empty answer in the middle of a listing is not its end: what was
// listed stands, the rest is a gap. (An empty first page is "no
// results": nothing announced more.)
func TestEmptyPageBeforeTotal(t *testing.T) {
	sim, base := newSim(t, wsonesim.Options{Seed: 3, Devices: 12})
	src, err := New(oauthConfig(base))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	err = src.listDevices(context.Background(), &collecttest.Recorder{}, func(collect.Device, bool) error {
		if calls++; calls == 5 { // the second page answers "no results"
			sim.Inject("/API/mdm/devices/search$", wsonesim.FaultEmpty, 1)
		}
		return nil
	})
	var short *shortError
	if !errors.As(err, &short) || short.page != 1 || short.listed != 5 || short.total != 12 {
		t.Fatalf("listing error %v", err)
	}

	// Through a whole run: the devices of the first page are kept, the
	// rest is a source-wide gap; a device's apps likewise.
	cfg, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		switch {
		case n > 0:
			w.WriteHeader(http.StatusNoContent)
		case strings.HasSuffix(r.URL.Path, "/apps"):
			io.WriteString(w, `{"DeviceApps":[{"ApplicationIdentifier":"a"},{"ApplicationIdentifier":"b"}],"Page":0,"PageSize":2,"Total":4}`)
		default:
			io.WriteString(w, devicesJSON(0, 2, 3, 1, 2))
		}
	})
	cfg.PageSize = 2
	r := collectWith(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.devices) != 2 || len(r.apps) != 4 {
		t.Errorf("%d devices, %d apps; want 2 and 4", len(r.devices), len(r.apps))
	}
	if g := r.gap("", collect.TelemetryDeviceState, collect.ReasonError); g == nil || !strings.Contains(g.Detail, "page 1 came back empty after 2 of the 3 items") {
		t.Errorf("listing gap %+v", g)
	}
	for _, id := range []string{"1", "2"} {
		if g := r.gap(Name+":"+id, collect.TelemetryAppInventory, collect.ReasonError); g == nil || !strings.Contains(g.Detail, "came back empty after 2 of the 4") {
			t.Errorf("device %s: apps gap %+v", id, g)
		}
	}
}

// Hostile paging stops the listing: an envelope naming another page
// than the one asked, or a server ignoring the page asked.
func TestHostilePaging(t *testing.T) {
	for _, f := range []wsonesim.Fault{wsonesim.FaultRepeatPage, wsonesim.FaultIgnorePage} {
		sim, base := newSim(t, wsonesim.Options{Seed: 3, Devices: 12})
		src, err := New(oauthConfig(base))
		if err != nil {
			t.Fatal(err)
		}
		sink := &collecttest.Recorder{}
		calls := 0
		err = src.listDevices(context.Background(), sink, func(collect.Device, bool) error {
			if calls++; calls == 5 {
				sim.Inject("/API/mdm/devices/search$", f, 1)
			}
			return nil
		})
		if !errors.Is(err, errPaging) {
			t.Errorf("%v: listing error %v", f, err)
		}
		if calls != 5 {
			t.Errorf("%v: %d devices passed on; want the 5 of the first page", f, calls)
		}
		seen := map[string]int{}
		for _, q := range sim.Requests() {
			if seen[q.RawQuery]++; seen[q.RawQuery] > 1 && strings.HasSuffix(q.Path, "/search") {
				t.Errorf("%v: page asked twice: %s", f, q.RawQuery)
			}
		}
	}
}

// A per-device error body becomes a gap naming errorCode, message and
// activityId; the typed error matches the kind of failure.
func TestErrorBody(t *testing.T) {
	body := `{"errorCode":5061,"message":"Device not found for this request.","activityId":"d7a5de76-1b2c-4d3e-9f40-5a6b7c8d9e0f"}`
	cfg, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/apps") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, body)
			return
		}
		io.WriteString(w, devicesJSON(0, 5, 1, 42))
	})
	r := collectWith(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	g := r.gap(Name+":42", collect.TelemetryAppInventory, collect.ReasonError)
	if g == nil || !strings.Contains(g.Detail, "not found: HTTP 404 errorCode 5061: Device not found for this request. (activityId d7a5de76-1b2c-4d3e-9f40-5a6b7c8d9e0f)") {
		t.Fatalf("gap %+v", g)
	}

	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := src.api.Base.JoinPath("API", "mdm", "devices", "42", "apps")
	_, _, err = src.get(context.Background(), src.apps, u, &collecttest.Recorder{})
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != 5061 || e.Message != "Device not found for this request." ||
		e.ActivityID != "d7a5de76-1b2c-4d3e-9f40-5a6b7c8d9e0f" || !errors.Is(err, httpx.ErrNotFound) || errors.Is(err, collect.ErrAuth) {
		t.Errorf("error %#v", err)
	}
}

func TestParseError(t *testing.T) {
	for _, c := range []struct {
		body string
		want errorBody
		ok   bool
	}{
		{`{"errorCode":1013,"message":"Tenant code X does not identify an Organization Group.","activityId":"a-1"}`,
			errorBody{Code: 1013, HasCode: true, Message: "Tenant code X does not identify an Organization Group.", ActivityID: "a-1"}, true},
		{`{"errorCode":"400","message":"bad\r\nrequest\u202e","activityId":7}`, errorBody{Code: 400, HasCode: true, Message: "bad request", ActivityID: "7"}, true},
		{`{"message":"only a message"}`, errorBody{Message: "only a message"}, true},
		{`{"error":"invalid_client"}`, errorBody{}, false},
		{`<html>`, errorBody{}, false},
		{``, errorBody{}, false},
		{`null`, errorBody{}, false},
	} {
		got, ok := parseError([]byte(c.body))
		if got != c.want || ok != c.ok {
			t.Errorf("parseError(%s) = %+v, %v; want %+v, %v", c.body, got, ok, c.want, c.ok)
		}
	}
	e := &Error{Status: 403, Code: 1013, Message: "m", ActivityID: "a"}
	if e.Error() != "HTTP 403 errorCode 1013: m (activityId a)" {
		t.Errorf("Error() = %q", e.Error())
	}
}

func TestParseTime(t *testing.T) {
	utc := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return &v
	}
	for _, c := range []struct {
		in    string
		want  *time.Time
		never bool
	}{
		{"2024-06-10T07:55:03.150", utc("2024-06-10T07:55:03.15Z"), false}, // zone-less: UTC
		{"2024-06-10T07:55:03", utc("2024-06-10T07:55:03Z"), false},
		{"2024-06-10 07:55:03.1234567", utc("2024-06-10T07:55:03.1234567Z"), false},
		{"2024-06-10T07:55:03Z", utc("2024-06-10T07:55:03Z"), false},
		{"2024-06-10T09:55:03+02:00", utc("2024-06-10T07:55:03Z"), false}, // a zone is honoured
		{" 2024-06-10T07:55:03 ", utc("2024-06-10T07:55:03Z"), false},
		{"0001-01-01T00:00:00", nil, true},
		{"0001-01-01T00:00:00.000", nil, true},
		{"0001-01-01T00:00:00Z", nil, true},
		{"", nil, false},
		{"yesterday", nil, false},
		{"2024-13-40T00:00:00", nil, false},
	} {
		got, never := parseTime(c.in)
		if never != c.never || (got == nil) != (c.want == nil) || got != nil && (!got.Equal(*c.want) || got.Location() != time.UTC) {
			t.Errorf("parseTime(%q) = %v, %v; want %v, %v", c.in, got, never, c.want, c.never)
		}
	}
}

func TestMapping(t *testing.T) {
	for _, c := range []struct{ platform, model, want string }{
		{"Apple", "iPhone 15", "ios"}, {"Apple", "iPad Air (5th generation)", "ipados"}, {"Android", "Pixel 8", "android"},
		{"AppleOsX", "MacBook Pro", "macos"}, {"WinRT", "", "windows"}, {"WindowsPc", "", "windows"}, {"Symbian", "", "unknown"}, {"", "", "unknown"},
	} {
		if got := platform(c.platform, c.model); got != c.want {
			t.Errorf("platform(%q, %q) = %q, want %q", c.platform, c.model, got, c.want)
		}
	}
	for in, want := range map[string]string{"C": "corporate", "S": "corporate", "E": "personal", "Undefined": "unknown", "": "unknown",
		"CORPORATE_DEDICATED": "corporate", "Employee Owned": "personal", "c": "corporate"} {
		if got := ownership(in); got != want {
			t.Errorf("ownership(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"Compliant": "compliant", "NonCompliant": "noncompliant", "Non-Compliant": "noncompliant",
		"NotAvailable": "unknown", "": "unknown", "PendingComplianceCheck": "pendingcompliancecheck"} {
		if got := compliance(in); got != want {
			t.Errorf("compliance(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]collect.Compromised{
		`true`:            {Value: "true", Field: "CompromisedStatus", RawValue: "true"},
		`false`:           {Value: "false", Field: "CompromisedStatus", RawValue: "false"},
		`"Compromised"`:   {Value: "true", Field: "CompromisedStatus", RawValue: `"Compromised"`},
		`"True"`:          {Value: "true", Field: "CompromisedStatus", RawValue: `"True"`},
		`null`:            {Value: "unknown", Field: "CompromisedStatus", RawValue: "null"},
		``:                {Value: "unknown", Field: "CompromisedStatus"},
		`{"nested":true}`: {Value: "unknown", Field: "CompromisedStatus", RawValue: `{"nested":true}`},
	} {
		if got := compromised([]byte(in)); got != want {
			t.Errorf("compromised(%s) = %+v, want %+v", in, got, want)
		}
	}
}

func TestInstallSource(t *testing.T) {
	yes, no := flexBool{p: new(bool)}, flexBool{p: new(bool)}
	*yes.p = true
	for _, c := range []struct {
		a    app
		want string
	}{
		{app{Type: "Public", AdHocCodeSigned: yes, DistributorIdentifier: collect.AppleAppStore}, "sideloaded"}, // ad hoc wins
		{app{Type: "Internal", AdHocCodeSigned: yes}, "sideloaded"},
		{app{Type: "Public", AdHocCodeSigned: no, DistributorIdentifier: "eu.example.altmarket"}, "marketplace"},
		{app{Type: "Public", DistributorIdentifier: collect.AppleAppStore}, "store"},
		{app{DistributorIdentifier: "com.apple.TestFlight"}, "beta"},
		{app{Type: "Public", BetaApp: yes, AppStoreVendable: yes}, "beta"},
		{app{DistributorIdentifier: "com.apple.Other"}, "unknown"},
		{app{Type: "Internal", IsManaged: yes}, "enterprise"},
		{app{Type: "System"}, "system"},
		{app{Type: "Public"}, "store"},
		{app{AppStoreVendable: yes}, "store"},
		{app{}, "unknown"},
	} {
		if got := c.a.installSource(); got != c.want {
			t.Errorf("installSource(%+v) = %q, want %q", c.a, got, c.want)
		}
	}
}

func TestConfig(t *testing.T) {
	ok := Config{URL: "https://as1234.awmdm.com/API/", ClientID: "id", ClientSecret: "s", Region: "emea"}
	src, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	d := src.Describe()
	if d.Endpoints[0] != "https://emea.uemauth.workspaceone.com/connect/token" || d.Endpoints[1] != "https://as1234.awmdm.com/API/mdm/devices/search" ||
		d.Tenant != "as1234.awmdm.com" || d.Principal != "id" {
		t.Errorf("descriptor %+v", d)
	}
	for name, c := range map[string]Config{
		"no url":          {ClientID: "id", ClientSecret: "s", Region: "na"},
		"no credentials":  {URL: "https://h"},
		"both":            {URL: "https://h", ClientID: "id", ClientSecret: "s", Region: "na", Username: "u", Password: "p", TenantCode: "t"},
		"no secret":       {URL: "https://h", ClientID: "id", Region: "na"},
		"no token url":    {URL: "https://h", ClientID: "id", ClientSecret: "s"},
		"url and region":  {URL: "https://h", ClientID: "id", ClientSecret: "s", Region: "na", TokenURL: "https://t/connect/token"},
		"bad region":      {URL: "https://h", ClientID: "id", ClientSecret: "s", Region: "evil.example/x"},
		"bad token url":   {URL: "https://h", ClientID: "id", ClientSecret: "s", TokenURL: "ftp://t"},
		"no tenant code":  {URL: "https://h", Username: "u", Password: "p"},
		"no password":     {URL: "https://h", Username: "u", TenantCode: "t"},
		"colon in user":   {URL: "https://h", Username: "a:b", Password: "p", TenantCode: "t"},
		"bad url":         {URL: "as1234.awmdm.com", Username: "u", Password: "p", TenantCode: "t"},
		"newline in code": {URL: "https://h", Username: "u", Password: "p", TenantCode: "t\r\nX-Evil: 1"},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		} else if c.ClientSecret != "" && strings.Contains(err.Error(), c.ClientSecret+"x") {
			t.Errorf("%s: error shows the secret", name)
		}
	}
}

func TestScrub(t *testing.T) {
	secrets := []secret{{"tenant code", "Code<&>1234"}, {"password", "pw"}, {"client secret", "s3cr3t/+="}}
	body := []byte(`{"message":"Tenant code Code\u003c\u0026\u003e1234 and Code<&>1234; pw; s3cr3t/+="}`)
	got, what := scrub(body, secrets)
	if string(got) != `{"message":"Tenant code REDACTED and REDACTED; pw; REDACTED"}` || !slices.Equal(what, []string{"tenant code", "client secret"}) {
		t.Errorf("scrub = %s, %q", got, what)
	}
	if !bytes.Contains(body, []byte("Code<&>1234")) {
		t.Error("scrub changed the bytes received")
	}
	if got, what := scrub([]byte(`{"ok":true}`), secrets); string(got) != `{"ok":true}` || what != nil {
		t.Errorf("clean body: %s %q", got, what)
	}
}

// An app whose code signature iOS did not validate is sideloaded, as an
// ad-hoc signed one is; an absent IsValidated says nothing.
func TestInstallSourceIsValidated(t *testing.T) {
	for _, c := range []struct {
		json, want string
	}{
		{`{"IsValidated": false, "DistributorIdentifier": "com.apple.AppStore"}`, "sideloaded"},
		{`{"IsValidated": true, "DistributorIdentifier": "com.apple.AppStore"}`, "store"},
		{`{"DistributorIdentifier": "com.apple.AppStore"}`, "store"},
		{`{"AdHocCodeSigned": true, "IsValidated": true}`, "sideloaded"},
	} {
		var a app
		if err := json.Unmarshal([]byte(c.json), &a); err != nil {
			t.Fatal(err)
		}
		if got := a.installSource(); got != c.want {
			t.Errorf("%s: %s, want %s", c.json, got, c.want)
		}
	}
}

// A security patch date is the calendar date as written, whatever the
// zone; "never" is not reported; other text is kept.
func TestPatchLevel(t *testing.T) {
	for in, want := range map[string]string{
		"2024-05-01T00:00:00": "2024-05-01", "2024-05-01T23:30:00-05:00": "2024-05-01", "2024-05-01": "2024-05-01",
		"2024-05-01 10:00:00": "2024-05-01", "0001-01-01T00:00:00": "", "": "", " June 2024 ": "June 2024",
	} {
		if got := patchLevel(in); got != want {
			t.Errorf("patchLevel(%q) = %q, want %q", in, got, want)
		}
	}
}
