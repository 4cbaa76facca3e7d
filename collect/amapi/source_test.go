package amapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/googlesim"
	"github.com/custos-ir/custos/internal/jsonptr"
)

// testKey is one RSA key for the whole package's tests (generating one
// takes a while).
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newSim(t *testing.T, devices int) (*googlesim.Server, Config) {
	t.Helper()
	sim := googlesim.New(googlesim.Options{Devices: devices, Seed: 5, Key: testKey()})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, Config{Key: sim.ServiceAccountKey(srv.URL), Enterprise: googlesim.DefaultEnterprise, APIURL: srv.URL,
		PageSize: 7, RequestsPerSecond: -1, Sleep: func(context.Context, time.Duration) error { return nil }}
}

func collectAll(t *testing.T, cfg Config) (string, error) {
	t.Helper()
	src, err := New(cfg)
	if err != nil {
		return "", err
	}
	dir := t.TempDir()
	st, err := collect.NewStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	acq := &collect.Acquisition{ID: "test", CaseID: "T"}
	return dir, collect.Run(context.Background(), src, collect.Request{All: true}, st, acq, time.Now)
}

// resolve returns the object a RawRef names.
func resolve(t *testing.T, dir string, ref collect.RawRef) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref.Path)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jsonptr.Resolve(data, ref.Pointer)
	if err != nil {
		t.Fatalf("%s#%s: %v", ref.Path, ref.Pointer, err)
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

func TestCollectAgainstSimulator(t *testing.T) {
	sim, cfg := newSim(t, 20)
	dir, err := collectAll(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fleet := sim.Fleet()
	devs := collecttest.ReadLines[collect.Device](t, filepath.Join(dir, collect.DevicesFile))
	if len(devs) != len(fleet.Devices) {
		t.Fatalf("%d devices collected, fleet has %d", len(devs), len(fleet.Devices))
	}
	byName := map[string]collect.Device{}
	for _, d := range devs {
		name := resolve(t, dir, d.Raw)["name"].(string)
		if lastSegment(name) != d.SourceID {
			t.Errorf("%s cites %s", d.Key, name)
		}
		byName[name] = d
	}
	planted := func(s string) collect.Device { return byName[fleet.Planted[s]] }
	if d := planted(googlesim.ScenarioCompromised); d.Compromised.Value != "true" || d.Compliance != "noncompliant" || d.Posture.ADBEnabled == nil || !*d.Posture.ADBEnabled {
		t.Errorf("compromised device mapped as %+v", d)
	}
	if d := planted(googlesim.ScenarioOutdatedPatch); d.SecurityPatchLevel != "2021-08-05" || d.Compromised.Value != "unknown" {
		t.Errorf("outdated device: patch %q, compromised %+v", d.SecurityPatchLevel, d.Compromised)
	}
	if d := planted(googlesim.ScenarioWorkProfile); d.Ownership != "personal" || d.ManagementMode != "work_profile" {
		t.Errorf("work profile device mapped as %s / %s", d.Ownership, d.ManagementMode)
	}
	if d := planted(googlesim.ScenarioDeveloper); d.Posture.DeveloperOptions == nil || !*d.Posture.DeveloperOptions || d.Compromised.Value != "false" {
		t.Errorf("developer device mapped as %+v", d.Posture)
	}

	apps := collecttest.ReadLines[collect.App](t, filepath.Join(dir, collect.AppsFile))
	want := 0
	for _, d := range fleet.Devices {
		want += len(d.ApplicationReports)
	}
	if len(apps) != want {
		t.Errorf("%d apps collected, fleet reports %d", len(apps), want)
	}
	ioc := planted(googlesim.ScenarioIOCApp).Key
	found := false
	for _, a := range apps {
		if resolve(t, dir, a.Raw)["packageName"] != a.AppID {
			t.Fatalf("%s/%s cites another object", a.DeviceKey, a.AppID)
		}
		if a.DeviceKey == ioc && a.AppID == googlesim.IOCPackage {
			found = true
			if a.APKSHA256 != googlesim.IOCAPKSHA256 || a.InstallSource != "sideloaded" || a.SigningCertSHA256 != googlesim.IOCCertSHA256 ||
				a.Installer != "com.google.android.packageinstaller" || len(a.SigningCertSHA1) != 40 {
				t.Errorf("IOC app mapped as %+v", a)
			}
		}
	}
	if !found {
		t.Error("the planted IOC app was not collected")
	}
	events := collecttest.ReadLines[collect.Event](t, filepath.Join(dir, collect.EventsFile))
	installed := false
	for _, e := range events {
		if e.Type == EventAppEvent && e.DeviceKey == ioc && e.Fields["package"] == googlesim.IOCPackage && e.Fields["event_type"] == "INSTALLED" {
			installed = resolve(t, dir, e.Raw)["eventType"] == "INSTALLED"
		}
	}
	if !installed {
		t.Error("no INSTALLED app_event for the IOC app citing its report event")
	}

	gaps := collecttest.ReadLines[collect.Gap](t, filepath.Join(dir, collect.GapsFile))
	minimal := planted(googlesim.ScenarioMinimalPolicy).Key
	var notEnabled []string
	for _, g := range gaps {
		if g.DeviceKey == minimal && g.Reason == collect.ReasonNotEnabled {
			notEnabled = append(notEnabled, g.Telemetry)
		}
		if g.Reason == collect.ReasonError {
			t.Errorf("error gap: %+v", g)
		}
	}
	if strings.Join(notEnabled, ",") != "app_inventory,device_state,device_state" {
		t.Errorf("minimal-policy device gaps %v; want app inventory, software info and settings not enabled", notEnabled)
	}
	// No secret anywhere: not the key, not the assertion, not the token.
	key := string(cfg.Key)
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		for _, bad := range []string{"PRIVATE KEY", "ya29.", "eyJhbGciOi", key[len(key)/2 : len(key)/2+40]} {
			if strings.Contains(string(data), bad) {
				t.Errorf("%s contains %q", p, bad)
			}
		}
		return nil
	})
}

// A key that cannot be used is an authentication error (exit 4), with
// nothing collected and nothing of the key in the message.
func TestBadKeys(t *testing.T) {
	sim, cfg := newSim(t, 3)
	_ = sim
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	wrong := googlesim.New(googlesim.Options{Devices: 1, Key: other}).ServiceAccountKey(strings.TrimSuffix(cfg.APIURL, "/"))
	for name, key := range map[string][]byte{
		"not JSON":      []byte("-----BEGIN PRIVATE KEY-----\nMIIE"),
		"wrong type":    []byte(`{"type":"authorized_user","client_email":"a@b"}`),
		"no PEM":        []byte(`{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key":"c2VjcmV0"}`),
		"another key":   wrong,
		"short RSA key": shortKey(t),
	} {
		t.Run(name, func(t *testing.T) {
			c := cfg
			c.Key = key
			dir, err := collectAll(t, c)
			if !errors.Is(err, collect.ErrAuth) {
				t.Fatalf("err = %v; want collect.ErrAuth", err)
			}
			if strings.Contains(err.Error(), "PRIVATE") || strings.Contains(err.Error(), "c2VjcmV0") {
				t.Errorf("key material in %q", err)
			}
			if dir != "" {
				if n := len(collecttest.ReadLines[collect.Device](t, filepath.Join(dir, collect.DevicesFile))); n != 0 {
					t.Errorf("%d devices written", n)
				}
			}
		})
	}
}

func shortKey(t *testing.T) []byte {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	return googlesim.New(googlesim.Options{Devices: 1, Key: k}).ServiceAccountKey("http://127.0.0.1:1")
}

// A policy that cannot be read leaves the device collected, with a gap
// saying which reports are unknown only where it matters.
func TestPolicyUnreadable(t *testing.T) {
	sim, cfg := newSim(t, 10)
	sim.Inject("/v1/enterprises/"+googlesim.DefaultEnterprise+"/policies/"+googlesim.PolicyMinimal, googlesim.Fault403, -1)
	dir, err := collectAll(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	minimal := lastSegment(sim.Fleet().Planted[googlesim.ScenarioMinimalPolicy])
	var got []collect.Gap
	for _, g := range collecttest.ReadLines[collect.Gap](t, filepath.Join(dir, collect.GapsFile)) {
		if g.DeviceKey == Name+":"+minimal {
			got = append(got, g)
		}
	}
	if len(got) != 1 || got[0].Reason != collect.ReasonError || got[0].Telemetry != collect.TelemetryAppInventory ||
		!strings.Contains(got[0].Detail, "could not be read") {
		t.Errorf("gaps %+v; want one app inventory error gap naming the unreadable policy", got)
	}
}
