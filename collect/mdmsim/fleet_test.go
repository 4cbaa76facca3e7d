package mdmsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
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
	type fleetCase struct {
		seed int64
		n    int
		apps int
	}
	var cases []fleetCase
	for seed := int64(1); seed <= 10; seed++ {
		for _, n := range []int{1, 4, 5, 7, 10, 11, 17, 50, 203} {
			cases = append(cases, fleetCase{seed, n, 0})
		}
		cases = append(cases, fleetCase{seed, 23, 12})
	}
	cases = append(cases, fleetCase{3, MaterializeLimit + 200, 0}, fleetCase{4, MaterializeLimit + 1, 20})
	for _, c := range cases {
		seed, n := c.seed, c.n
		t.Run(fmt.Sprintf("seed=%d/n=%d/apps=%d", seed, n, c.apps), func(t *testing.T) {
			t.Parallel()
			f := NewFleetApps(seed, n, fixedNow, c.apps)
			devices := slices.Collect(func(yield func(*Device) bool) {
				for _, d := range f.All() {
					if !yield(d) {
						return
					}
				}
			})
			if f.Len() != n || len(devices) != n || (n <= MaterializeLimit) != (len(f.Devices) == n) {
				t.Fatalf("seed %d n %d: Len %d, %d devices, %d materialised", seed, n, f.Len(), len(devices), len(f.Devices))
			}
			if n >= 5 && len(f.Planted) != len(Scenarios) {
				t.Fatalf("seed %d n %d: planted %v", seed, n, f.Planted)
			}
			ids := map[string]bool{}
			upns := map[string]bool{}
			for i, d := range devices {
				if f.Index(d.ID) != i || f.Index(strings.ToUpper(d.ID)) != i {
					t.Fatalf("seed %d n %d: Index(%s) = %d, want %d", seed, n, d.ID, f.Index(d.ID), i)
				}
				if upns[d.UserPrincipalName] {
					t.Fatalf("seed %d n %d: user %s has two devices", seed, n, d.UserPrincipalName)
				}
				upns[d.UserPrincipalName] = true
				if i > 0 && devices[i-1].ID >= d.ID {
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
			// except the planted rare apps, which are on exactly one; the
			// device counts are what the devices report.
			counts := map[string]int{}
			for _, d := range devices {
				for _, a := range d.ReportedApps() {
					counts[a.ID]++
				}
			}
			apps := f.DetectedApps()
			if len(apps) != len(counts) {
				t.Fatalf("seed %d n %d: %d tenant apps, devices report %d", seed, n, len(apps), len(counts))
			}
			for i, a := range apps {
				if i > 0 && apps[i-1].ID >= a.ID {
					t.Fatalf("seed %d n %d: tenant apps not sorted by id", seed, n)
				}
				if int(a.DeviceCount) != counts[a.ID] {
					t.Fatalf("seed %d n %d: %s deviceCount %d, reported by %d", seed, n, a.DisplayName, a.DeviceCount, counts[a.ID])
				}
				switch {
				case rare[a.DisplayName] && a.DeviceCount != 1:
					t.Errorf("seed %d n %d: planted %q on %d devices", seed, n, a.DisplayName, a.DeviceCount)
				case !rare[a.DisplayName] && a.DeviceCount < 2:
					t.Errorf("seed %d n %d: ordinary %q %s on %d device(s)", seed, n, a.DisplayName, a.Version, a.DeviceCount)
				}
			}
			if len(apps) > 0 {
				a := apps[len(apps)/2]
				holders := f.DevicesWithApp(a.ID)
				if len(holders) != int(a.DeviceCount) || !slices.IsSortedFunc(holders, func(x, y *Device) int { return strings.Compare(x.ID, y.ID) }) {
					t.Errorf("seed %d n %d: DevicesWithApp(%s) = %d devices, want %d in id order", seed, n, a.ID, len(holders), a.DeviceCount)
				}
				for _, d := range holders {
					if !containsApp(d.ReportedApps(), a.ID) {
						t.Errorf("seed %d n %d: %s listed for %s does not report it", seed, n, d.ID, a.ID)
					}
				}
			}
			reported := 0
			for _, d := range devices {
				rep := d.ReportedApps()
				reported += len(rep)
				seen := map[string]bool{}
				for _, a := range d.Apps {
					if seen[a.DisplayName] {
						t.Errorf("%s carries %q twice", d.ID, a.DisplayName)
					}
					seen[a.DisplayName] = true
					if d.Personal() && !a.Managed && containsApp(rep, a.ID) {
						t.Errorf("personal %s reports unmanaged %q", d.ID, a.DisplayName)
					}
				}
			}
			total := 0
			for _, a := range apps {
				total += int(a.DeviceCount)
			}
			if total != reported {
				t.Errorf("seed %d n %d: deviceCounts add up to %d, devices report %d apps", seed, n, total, reported)
			}
		})
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
