package intune

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/mdmsim"
	"github.com/custos-ir/custos/internal/jsonptr"
)

// newSim serves a simulated tenant and returns it with a source config
// pointing at it.
func newSim(t *testing.T) (*mdmsim.Server, Config) {
	t.Helper()
	sim := mdmsim.New(mdmsim.Options{Devices: 30, Seed: 7})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, cfgFor(srv.URL)
}

func cfgFor(base string) Config {
	return Config{
		Tenant: mdmsim.DefaultTenant, ClientID: mdmsim.DemoClientID, ClientSecret: mdmsim.DemoClientSecret,
		GraphURL: base, LoginURL: base, Scope: "https://graph.microsoft.com/.default", PageSize: 7,
		Sleep: func(context.Context, time.Duration) error { return nil },
	}
}

// fakeGraph serves a token and, for every other request, the collection
// page page(base) returns.
func fakeGraph(t *testing.T, page func(base string) string) Config {
	t.Helper()
	var base string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			io.WriteString(w, `{"token_type":"Bearer","expires_in":3599,"access_token":"tok"}`)
			return
		}
		io.WriteString(w, page(base))
	}))
	t.Cleanup(srv.Close)
	base = srv.URL
	return cfgFor(base)
}

func collectAll(t *testing.T, cfg Config, req collect.Request) (string, error) {
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
	acq := &collect.Acquisition{ID: "test", CaseID: "T"}
	return dir, collect.Run(context.Background(), src, req, st, acq, time.Now)
}

func TestCollectAllAgainstSimulator(t *testing.T) {
	sim, cfg := newSim(t)
	dir, err := collectAll(t, cfg, collect.Request{All: true, StaleAfter: 14 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	fleet := sim.Fleet()
	devs := collecttest.ReadLines[collect.Device](t, filepath.Join(dir, collect.DevicesFile))
	if len(devs) != len(fleet.Devices) {
		t.Fatalf("collected %d devices, fleet has %d", len(devs), len(fleet.Devices))
	}
	seen := map[string]bool{}
	for _, d := range devs {
		if seen[d.Key] {
			t.Errorf("device %s collected twice", d.Key)
		}
		seen[d.Key] = true
		checkRaw(t, dir, d.Raw, d.SourceID)
	}
	wantApps := 0
	for _, d := range fleet.Devices {
		wantApps += len(d.ReportedApps())
	}
	apps := collecttest.ReadLines[collect.App](t, filepath.Join(dir, collect.AppsFile))
	if len(apps) != wantApps {
		t.Errorf("collected %d apps, fleet reports %d", len(apps), wantApps)
	}
	for _, a := range apps[:5] {
		checkRaw(t, dir, a.Raw, a.SourceAppID)
	}
	jb := fleet.Planted[mdmsim.ScenarioJailbrokenIPhone]
	for _, d := range devs {
		if d.SourceID == jb && (d.Compromised.Value != "true" || d.Compromised.RawValue != "True" || d.Compliance != "noncompliant") {
			t.Errorf("jailbroken iPhone mapped as %+v / %s", d.Compromised, d.Compliance)
		}
	}
	gaps := collecttest.ReadLines[collect.Gap](t, filepath.Join(dir, collect.GapsFile))
	reasons := map[string]string{}
	for _, g := range gaps {
		reasons[g.DeviceKey+"/"+g.Reason] = g.Telemetry
	}
	if reasons["intune:"+fleet.Planted[mdmsim.ScenarioStaleDevice]+"/stale"] != collect.TelemetryDeviceState {
		t.Errorf("stale device has no stale gap: %v", reasons)
	}
	if reasons["intune:"+fleet.Planted[mdmsim.ScenarioPersonalDevice]+"/personal_device_scope"] != collect.TelemetryAppInventory {
		t.Errorf("personal device has no personal_device_scope gap: %v", reasons)
	}

	// The request log lists every response, the token request without a
	// stored body, and neither the secret nor the token appears anywhere.
	exs := collecttest.ReadLines[collect.Exchange](t, filepath.Join(dir, "raw", "intune", "requests.ndjson"))
	if exs[0].File != "" || !strings.Contains(exs[0].URL, "/oauth2/v2.0/token") {
		t.Errorf("first exchange should be the token request without a stored body: %+v", exs[0])
	}
	if served := len(sim.Requests()); len(exs) != served {
		t.Errorf("request log has %d lines, simulator served %d requests", len(exs), served)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		if strings.Contains(string(data), mdmsim.DemoClientSecret) || strings.Contains(string(data), "access_token") {
			t.Errorf("%s contains a secret", p)
		}
		return nil
	})
}

// checkRaw asserts the RawRef names a stored file with that sha256 whose
// pointer leads to an object with the given id.
func checkRaw(t *testing.T, dir string, ref collect.RawRef, id string) {
	t.Helper()
	doc, err := rawDoc(dir, ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := jsonptr.Lookup(doc, ref.Pointer)
	item, _ := got.(map[string]any)
	if err != nil || item["id"] != id {
		t.Errorf("%s#%s does not lead to %s (%v)", ref.Path, ref.Pointer, id, err)
	}
}

// rawDocs caches stored responses, decoded once their sha256 is checked
// (tests cite the same file thousands of times).
var rawDocs = struct {
	sync.Mutex
	m map[string]any
}{m: map[string]any{}}

func rawDoc(dir string, ref collect.RawRef) (any, error) {
	key := filepath.Join(dir, filepath.FromSlash(ref.Path)) + "@" + ref.SHA256
	rawDocs.Lock()
	defer rawDocs.Unlock()
	if doc, ok := rawDocs.m[key]; ok {
		return doc, nil
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref.Path)))
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != ref.SHA256 {
		return nil, fmt.Errorf("%s: sha256 mismatch", ref.Path)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	rawDocs.m[key] = doc
	return doc, nil
}

func TestSelectorsRefilterLocally(t *testing.T) {
	sim, cfg := newSim(t)
	target := sim.Fleet().Devices[3]
	dir, err := collectAll(t, cfg, collect.Request{Selectors: []collect.Selector{{Kind: "user", Value: strings.ToUpper(target.UserPrincipalName)}}})
	if err != nil {
		t.Fatal(err)
	}
	devs := collecttest.ReadLines[collect.Device](t, filepath.Join(dir, collect.DevicesFile))
	for _, d := range devs {
		if !strings.EqualFold(d.User, target.UserPrincipalName) {
			t.Errorf("collected %s (%s), not selected", d.Name, d.User)
		}
	}
	if len(devs) == 0 {
		t.Fatal("selected device not collected")
	}
}

func TestWrongSecretIsAnAuthError(t *testing.T) {
	_, cfg := newSim(t)
	cfg.ClientSecret = "wrong"
	_, err := collectAll(t, cfg, collect.Request{All: true})
	if !errors.Is(err, collect.ErrAuth) || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("err = %v, want an auth error naming AADSTS7000215", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Error("error message contains the secret")
	}
}

// A nextLink pointing at another host is refused and the token is never
// sent there.
func TestForeignNextLinkRefused(t *testing.T) {
	var foreignHits int
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { foreignHits++ }))
	defer foreign.Close()
	cfg := fakeGraph(t, func(string) string {
		return `{"value":[],"@odata.nextLink":"` + foreign.URL + `/v1.0/deviceManagement/managedDevices?$skiptoken=x"}`
	})
	_, err := collectAll(t, cfg, collect.Request{All: true})
	if err == nil || !strings.Contains(err.Error(), "foreign host") {
		t.Fatalf("err = %v, want a foreign-host refusal", err)
	}
	if foreignHits != 0 {
		t.Fatalf("foreign host was contacted %d times", foreignHits)
	}
}

func TestRepeatedNextLinkStops(t *testing.T) {
	cfg := fakeGraph(t, func(base string) string {
		return `{"value":[],"@odata.nextLink":"` + base + `/v1.0/deviceManagement/managedDevices?$skiptoken=same"}`
	})
	_, err := collectAll(t, cfg, collect.Request{All: true})
	if err == nil || !strings.Contains(err.Error(), "repeats") {
		t.Fatalf("err = %v, want a repeated-link error", err)
	}
}

func TestParseGraphErrorUnwrapsIntuneMessage(t *testing.T) {
	body := `{"error":{"code":"Forbidden","message":"{\r\n  \"_version\": 3,\r\n  \"Message\": \"Application is not authorized to perform this operation.\",\r\n  \"RetryAfter\": null\r\n}","innerError":{"date":"2024-06-10T08:00:00","request-id":"rid-1","client-request-id":"c"}}}`
	e := parseGraphError(403, http.Header{}, []byte(body))
	if e.Code != "Forbidden" || e.Message != "Application is not authorized to perform this operation." || e.RequestID != "rid-1" {
		t.Errorf("parsed %+v", e)
	}
	if !errors.Is(e, collect.ErrAuth) {
		t.Error("403 should be an auth error")
	}
	double := `{"error":{"code":"UnknownError","message":"{\"ErrorCode\":\"Forbidden\",\"Message\":\"{\\r\\n  \\\"_version\\\": 3,\\r\\n  \\\"Message\\\": \\\"denied\\\"\\r\\n}\"}"}}`
	if e := parseGraphError(400, http.Header{}, []byte(double)); e.Message != "Forbidden: denied" {
		t.Errorf("double-wrapped message = %q", e.Message)
	}
	if e := parseGraphError(502, http.Header{}, []byte("<html>")); !strings.Contains(e.Message, "not a Graph error body") {
		t.Errorf("non-JSON body: %q", e.Message)
	}
}
