package mdmsim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func marshal(t *testing.T, f *Fleet) []byte {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFleetDeterministic(t *testing.T) {
	a := marshal(t, NewFleet(7, 50, fixedNow))
	b := marshal(t, NewFleet(7, 50, fixedNow))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different fleets")
	}
	if c := marshal(t, NewFleet(8, 50, fixedNow)); bytes.Equal(a, c) {
		t.Fatal("different seeds, same fleet")
	}
	// The servers built from the same options serve the same fleet.
	s1, s2 := New(Options{Seed: 3, Now: fixedNow}), New(Options{Seed: 3, Now: fixedNow})
	if !bytes.Equal(marshal(t, s1.Fleet()), marshal(t, s2.Fleet())) {
		t.Fatal("servers with the same options serve different fleets")
	}
}

// TestFleetInvariants checks, over many seeds and sizes, what the clients'
// tests rely on.
func TestFleetInvariants(t *testing.T) {
	rare := map[string]bool{SileoAppName: true, RogueAppName: true, TermuxAppName: true}
	for seed := int64(1); seed <= 25; seed++ {
		for _, n := range []int{1, 4, 5, 7, 10, 11, 17, 50, 203} {
			f := NewFleet(seed, n, fixedNow)
			if len(f.Devices) != n {
				t.Fatalf("seed %d n %d: %d devices", seed, n, len(f.Devices))
			}
			if n >= 5 && len(f.Planted) != len(Scenarios) {
				t.Fatalf("seed %d n %d: planted %v", seed, n, f.Planted)
			}
			ids := map[string]bool{}
			for i, d := range f.Devices {
				if i > 0 && f.Devices[i-1].ID >= d.ID {
					t.Fatalf("seed %d n %d: devices not sorted by id", seed, n)
				}
				if !guidRE.MatchString(d.ID) || !guidRE.MatchString(d.UserID) || !guidRE.MatchString(d.AzureADDeviceID) {
					t.Fatalf("bad ids on %+v", d)
				}
				ids[d.ID] = true
				if !strings.HasSuffix(d.UserPrincipalName, "@contoso.com") || d.EmailAddress != d.UserPrincipalName {
					t.Errorf("upn %q email %q", d.UserPrincipalName, d.EmailAddress)
				}
				if d.ActivationLockBypassCode != nil {
					t.Errorf("%s: activationLockBypassCode populated", d.ID)
				}
				switch d.OperatingSystem {
				case "iOS":
					if d.AndroidSecurityPatchLevel != "" || d.Manufacturer != "Apple" {
						t.Errorf("iOS device %+v", d)
					}
				case "Android":
					if _, err := time.Parse("2006-01-02", d.AndroidSecurityPatchLevel); err != nil {
						t.Errorf("patch level %q", d.AndroidSecurityPatchLevel)
					}
				default:
					t.Errorf("operatingSystem %q", d.OperatingSystem)
				}
				if d.LastSyncDateTime.Before(d.EnrolledDateTime) || d.LastSyncDateTime.After(fixedNow) {
					t.Errorf("%s: enrolled %v last sync %v", d.ID, d.EnrolledDateTime, d.LastSyncDateTime)
				}
				if d.FreeStorageSpaceInBytes <= 0 || d.FreeStorageSpaceInBytes >= d.TotalStorageSpaceInBytes {
					t.Errorf("%s: storage %d/%d", d.ID, d.FreeStorageSpaceInBytes, d.TotalStorageSpaceInBytes)
				}
				for _, a := range d.Apps {
					if !hex64RE.MatchString(a.ID) {
						t.Errorf("app id %q", a.ID)
					}
				}
			}
			for name, id := range f.Planted {
				if !ids[id] {
					t.Errorf("planted %s -> unknown device %s", name, id)
				}
			}
			// Every reported app+version is on at least two devices,
			// except the planted rare apps, which are on exactly one.
			for _, a := range f.DetectedApps() {
				holders := f.DevicesWithApp(a.ID)
				if int(a.DeviceCount) != len(holders) {
					t.Fatalf("seed %d n %d: %s deviceCount %d, holders %d", seed, n, a.DisplayName, a.DeviceCount, len(holders))
				}
				switch {
				case rare[a.DisplayName] && a.DeviceCount != 1:
					t.Errorf("seed %d n %d: planted %q on %d devices", seed, n, a.DisplayName, a.DeviceCount)
				case !rare[a.DisplayName] && a.DeviceCount < 2:
					t.Errorf("seed %d n %d: ordinary %q %s on %d device(s)", seed, n, a.DisplayName, a.Version, a.DeviceCount)
				}
			}
			for _, d := range f.Devices {
				seen := map[string]bool{}
				for _, a := range d.Apps {
					if seen[a.DisplayName] {
						t.Errorf("%s carries %q twice", d.ID, a.DisplayName)
					}
					seen[a.DisplayName] = true
					if d.Personal() && !a.Managed && containsApp(d.ReportedApps(), a.ID) {
						t.Errorf("personal %s reports unmanaged %q", d.ID, a.DisplayName)
					}
				}
			}
		}
	}
}

func containsApp(apps []DetectedApp, id string) bool {
	for _, a := range apps {
		if a.ID == id {
			return true
		}
	}
	return false
}

func TestPlantedDevices(t *testing.T) {
	for seed := int64(1); seed <= 40; seed++ {
		f := NewFleet(seed, 10+int(seed%7), fixedNow)
		get := func(name string) *Device {
			d := f.Device(f.Planted[name])
			if d == nil {
				t.Fatalf("seed %d: %s not planted", seed, name)
			}
			return d
		}
		hasApp := func(d *Device, name, publisher string) bool {
			for _, a := range d.ReportedApps() {
				if a.DisplayName == name && a.Publisher == publisher && a.DeviceCount == 1 {
					return true
				}
			}
			return false
		}
		j := get(ScenarioJailbrokenIPhone)
		if j.OperatingSystem != "iOS" || j.Personal() || j.JailBroken != "True" || j.ComplianceState != "noncompliant" || !hasApp(j, SileoAppName, "") {
			t.Errorf("seed %d: jailbroken iphone %+v", seed, j)
		}
		r := get(ScenarioRareAppAndroid)
		if r.OperatingSystem != "Android" || r.Personal() || r.JailBroken != "False" || r.ComplianceState != "noncompliant" || !hasApp(r, RogueAppName, "") {
			t.Errorf("seed %d: rare-app android %+v", seed, r)
		}
		dp := get(ScenarioDeveloperPhone)
		if dp.OperatingSystem != "Android" || dp.ComplianceState != "compliant" || dp.DeviceCategoryDisplayName != "Developers" || !hasApp(dp, TermuxAppName, "Fredrik Fornwall") {
			t.Errorf("seed %d: developer phone %+v", seed, dp)
		}
		p := get(ScenarioPersonalDevice)
		if !p.Personal() {
			t.Errorf("seed %d: personal device %+v", seed, p)
		}
		for _, a := range p.ReportedApps() {
			if !a.Managed {
				t.Errorf("seed %d: personal device reports %q", seed, a.DisplayName)
			}
		}
		s := get(ScenarioStaleDevice)
		if !s.LastSyncDateTime.Equal(fixedNow.Add(-StaleAge)) {
			t.Errorf("seed %d: stale device last sync %v", seed, s.LastSyncDateTime)
		}
		for _, d := range f.Devices {
			if d.DeviceCategoryDisplayName == "Developers" && d != dp {
				t.Errorf("seed %d: another device in Developers", seed)
			}
		}
	}
}

func TestFleetNowWithFraction(t *testing.T) {
	now := fixedNow.Add(123456789 * time.Nanosecond)
	f := NewFleet(1, 10, now)
	if !f.Device(f.Planted[ScenarioStaleDevice]).LastSyncDateTime.Equal(now.Add(-StaleAge)) {
		t.Error("stale device is not exactly StaleAge before Now")
	}
}
