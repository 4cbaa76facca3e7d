package playbooks

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/bench/synthfleet"
	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/procstat"
	"github.com/custos-ir/custos/iocs"
)

// BenchmarkAnalyze runs every built-in playbook and Amnesty's four bundles
// over the synthetic fleet of bench/synthfleet, CUSTOS_BENCH_DEVICES
// Android devices (default 10,000) with 50 apps and 50 events each,
// streamed through the Analyzer
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
	now := synthfleet.Base
	const perDevice = 50
	in := Input{Origin: map[string]ArchiveRef{}, Archives: []ArchiveRef{ref}}
	for i := range n {
		d := synthfleet.Device(i, raw)
		in.Devices = append(in.Devices, d)
		in.Origin[d.Key] = ref
	}
	for range b.N {
		start := time.Now()
		an := NewAnalyzer(pbs, Options{IOCs: set, Now: now, Tool: "bench"})
		for i := range in.Devices {
			for j := range perDevice {
				an.CountApp(synthfleet.App(&in.Devices[i], i, j, raw))
			}
		}
		for i := range in.Devices {
			d := &in.Devices[i]
			for j := range perDevice {
				a := synthfleet.App(d, i, j, raw)
				if err := an.App(ref, d, &a); err != nil {
					b.Fatal(err)
				}
			}
			for j := range perDevice {
				if err := an.Event(ref, d, synthfleet.Event(d, i, j, perDevice, perDevice, raw)); err != nil {
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
