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
// 10,000) with 50 apps and 50 events each, the events streamed through the
// Analyzer as LoadEvidence streams them, the apps held as LoadEvidence
// holds them. It reports devices/s and the process's peak RSS. Issue 6's
// target is 100,000 devices, 5,000,000 apps and 5,000,000 events in 30 s
// and 1 GiB; this measures where the engine stands at a tenth of that.
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
	types := []string{"adb_shell_command", "app_process_start", "dns", "connect", "keyguard_secured"}
	for range b.N {
		b.StopTimer()
		in := Input{Origin: map[string]ArchiveRef{}, Archives: []ArchiveRef{ref}}
		for i := range n {
			d := collect.Device{Key: fmt.Sprintf("amapi:%08d", i), Source: "amapi", Name: fmt.Sprintf("phone %d", i), Platform: "android",
				SecurityPatchLevel: "2026-09-05", Compliance: "compliant", Compromised: collect.Compromised{Value: "false"}, Raw: raw}
			in.Devices = append(in.Devices, d)
			in.Origin[d.Key] = ref
			for j := range 50 {
				in.Apps = append(in.Apps, collect.App{DeviceKey: d.Key, AppID: fmt.Sprintf("com.example.app%d", (i*7+j)%400), Name: "App",
					InstallSource: "store", APKSHA256: strings.Repeat("c", 64), Raw: raw})
			}
		}
		b.StartTimer()
		start := time.Now()
		an := NewAnalyzer(pbs, Options{IOCs: set, Now: now, Tool: "bench"})
		for i := range in.Devices {
			d := &in.Devices[i]
			for j := range 50 {
				e := collect.Event{DeviceKey: d.Key, Time: now.Add(-time.Duration(j) * time.Minute), Type: types[j%len(types)],
					Fields: map[string]any{"event_id": strconv.Itoa(j), "shell_cmd": "dumpsys battery", "process_name": "com.example.app1",
						"apk_sha256_hash": strings.Repeat("d", 64), "hostname": "example.org"}, Raw: raw}
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
		b.StopTimer()
		if len(a.Devices) != n {
			b.Fatalf("%d devices analysed", len(a.Devices))
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "devices/s")
		b.ReportMetric(procstat.PeakRSSMiB(), "peak-RSS-MiB")
	}
}
