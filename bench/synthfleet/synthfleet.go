// Package synthfleet describes the synthetic Android fleet of the
// analysis benchmarks (playbooks.BenchmarkAnalyze in memory,
// bench/genfleet as a case on disk): what custos meets in a fleet. Every
// phone starts apps, resolves names, connects and locks; one in a hundred
// was driven over ADB and carries a sideloaded app; one in a hundred is
// non-compliant. Device i's records depend on i and j only.
package synthfleet

import (
	"fmt"
	"strconv"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Base is the time the fleet was last seen at.
var Base = time.Date(2026, time.November, 26, 6, 0, 0, 0, time.UTC)

// Device is device i, raw its reference.
func Device(i int, raw collect.RawRef) collect.Device {
	seen := Base.Add(-time.Duration(i%600) * time.Minute)
	d := collect.Device{Key: fmt.Sprintf("amapi:%08d", i), Source: "amapi", SourceID: fmt.Sprintf("%08d", i),
		Name: "Google Pixel 8", Platform: "android", OSVersion: "15", SecurityPatchLevel: "2026-10-05", Model: "Pixel 8",
		Manufacturer: "Google", Serial: fmt.Sprintf("SN%08d", i), Ownership: "corporate", ManagementMode: "fully_managed",
		Category: "default", LastSeenAt: &seen, Compliance: "compliant", Compromised: collect.Compromised{Value: "false"}, Raw: raw}
	if i%100 == 2 {
		d.Compliance = "noncompliant"
	}
	return d
}

// AppID is the package of device i's app j: one of 400 common ones, or
// the sideloaded one.
func AppID(i, j int) string {
	if sideloaded(i, j) {
		return "com.example.sideloaded" + strconv.Itoa(i)
	}
	return "com.example.app" + strconv.Itoa((i*7+j)%400)
}

func sideloaded(i, j int) bool { return i%100 == 1 && j == 0 }

// App is app j of device d (device i), raw its reference.
func App(d *collect.Device, i, j int, raw collect.RawRef) collect.App {
	a := collect.App{DeviceKey: d.Key, AppID: AppID(i, j), Name: "App " + strconv.Itoa(j), Version: "1.0",
		InstallSource: "store", APKSHA256: fmt.Sprintf("%064x", (i*7+j)%400), Raw: raw}
	if sideloaded(i, j) {
		a.InstallSource = "sideloaded"
	}
	return a
}

var eventTypes = []string{"app_process_start", "dns", "connect", "keyguard_secured", "keyguard_dismissed"}

// Event is event j of the n events of device d (device i), raw its
// reference; apps is how many apps each device has.
func Event(d *collect.Device, i, j, n, apps int, raw collect.RawRef) collect.Event {
	typ := eventTypes[j%len(eventTypes)]
	if i%100 == 1 && j%5 == 0 {
		typ = "adb_shell_command"
	}
	fields := map[string]any{"event_id": strconv.Itoa(j)}
	switch typ {
	case "app_process_start":
		fields["process_name"], fields["apk_sha256_hash"], fields["uid"], fields["pid"] = AppID(i, j%max(apps, 1)), fmt.Sprintf("%064x", j), 10123.0, float64(3000+j)
	case "dns":
		fields["hostname"], fields["resolved_ip_addresses"], fields["total_ip_addresses_returned"] = "example.org", []any{"93.184.215.14"}, 1.0
	case "connect":
		fields["destination_ip_address"], fields["destination_port"], fields["package_name"] = "93.184.215.14", 443.0, "com.android.chrome"
	case "adb_shell_command":
		fields["shell_cmd"] = "dumpsys battery"
	}
	return collect.Event{DeviceKey: d.Key, Time: d.LastSeenAt.Add(-time.Duration(n-j) * time.Minute), Type: typ, Fields: fields, Raw: raw}
}
