package playbooks

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/procstat"
	"github.com/custos-ir/custos/iocs"
)

// BenchmarkAnalyze runs every built-in playbook and Amnesty's four bundles
// over a synthetic fleet of CUSTOS_BENCH_DEVICES Android devices (default
// 10,000) with 50 apps and 50 events each (one device in a hundred with
// ADB commands and a sideloaded app), streamed through the Analyzer
// as an analysis streams them: the apps counted, then evaluated, the
// events evaluated; none is held. It reports records/s and the process's
// peak RSS. Issue 6's target is 100,000 devices, 5,000,000 apps and
// 5,000,000 events in 30 s and 1 GiB (reading the archives included).
func BenchmarkAnalyze(b *testing.B) {
	n := 10_000
	if v, err := strconv.Atoi(os.Getenv("CUSTOS_BENCH_DEVICES")); err == nil && v > 0 {
		n = v
	}
	pbs, err := LoadBuiltin()
	if err != nil {
		b.Fatal(err)
	}
	set, err := iocs.Load("../third_party/iocs")
	if err != nil {
		b.Fatal(err)
	}
	ref := ArchiveRef{Name: "bench.tar.zst", SHA256: strings.Repeat("a", 64), Verified: true}
	raw := collect.RawRef{Path: "raw/amapi/000001.json", SHA256: strings.Repeat("b", 64), Pointer: "/devices/0"}
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	// A fleet as custos meets it: every phone starts apps, resolves
	// names, connects and locks; one in a hundred was driven over ADB
	// and carries a sideloaded app.
	types := []string{"app_process_start", "dns", "connect", "keyguard_secured", "keyguard_dismissed"}
	const perDevice = 50
	in := Input{Origin: map[string]ArchiveRef{}, Archives: []ArchiveRef{ref}}
	for i := range n {
		d := collect.Device{Key: fmt.Sprintf("amapi:%08d", i), Source: "amapi", Name: fmt.Sprintf("phone %d", i), Platform: "android",
			SecurityPatchLevel: "2026-09-05", Compliance: "compliant", Compromised: collect.Compromised{Value: "false"}, Raw: raw}
		if i%100 == 0 {
			d.Compliance = "noncompliant"
		}
		in.Devices = append(in.Devices, d)
		in.Origin[d.Key] = ref
	}
	app := func(d *collect.Device, i, j int) collect.App {
		a := collect.App{DeviceKey: d.Key, AppID: "com.example.app" + strconv.Itoa((i*7+j)%400), Name: "App",
			InstallSource: "store", APKSHA256: strings.Repeat("c", 64), Raw: raw}
		if i%100 == 1 && j == 0 {
			a.AppID, a.InstallSource = "com.example.sideloaded"+strconv.Itoa(i), "sideloaded"
		}
		return a
	}
	fields := map[string]any{"event_id": "1", "shell_cmd": "dumpsys battery", "process_name": "com.example.app1",
		"apk_sha256_hash": strings.Repeat("d", 64), "hostname": "example.org"}
	for range b.N {
		start := time.Now()
		an := NewAnalyzer(pbs, Options{IOCs: set, Now: now, Tool: "bench"})
		for i := range in.Devices {
			for j := range perDevice {
				an.CountApp(app(&in.Devices[i], i, j))
			}
		}
		for i := range in.Devices {
			d := &in.Devices[i]
			for j := range perDevice {
				a := app(d, i, j)
				if err := an.App(ref, d, &a); err != nil {
					b.Fatal(err)
				}
			}
			for j := range perDevice {
				typ := types[j%len(types)]
				if i%100 == 1 && j%5 == 0 {
					typ = "adb_shell_command"
				}
				e := collect.Event{DeviceKey: d.Key, Time: now.Add(-time.Duration(j) * time.Minute), Type: typ, Fields: fields, Raw: raw}
				if err := an.Event(ref, d, e); err != nil {
					b.Fatal(err)
				}
			}
		}
		a, err := an.Finish(in)
		if err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		if len(a.Devices) != n {
			b.Fatalf("%d devices analysed", len(a.Devices))
		}
		b.ReportMetric(float64(2*perDevice*n)/elapsed.Seconds(), "records/s")
		b.ReportMetric(elapsed.Seconds(), "s")
		b.ReportMetric(procstat.PeakRSSMiB(), "peak-RSS-MiB")
	}
}
