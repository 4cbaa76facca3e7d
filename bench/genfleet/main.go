// Command genfleet writes a case with one acquisition of a synthetic
// Android fleet of exact size (devices, apps and events per device), for
// the analysis benchmark (bench/analyze.sh). The fleet is what custos
// meets: every phone starts apps, resolves names, connects and locks; one
// in a hundred was driven over ADB and carries a sideloaded app; one in a
// hundred is non-compliant. Records point into raw files that hold what
// they point at. Output depends on the flags only.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/preserve"
)

var baseTime = time.Date(2026, time.November, 26, 6, 0, 0, 0, time.UTC)

func main() {
	caseDir := flag.String("case", "", "case directory to create")
	devices := flag.Int("devices", 100_000, "devices")
	apps := flag.Int("apps", 50, "app records per device")
	events := flag.Int("events", 50, "events per device")
	flag.Parse()
	if *caseDir == "" || *devices < 1 || *apps < 0 || *events < 0 {
		fmt.Fprintln(os.Stderr, "usage: genfleet -case DIR [-devices N] [-apps N] [-events N]")
		os.Exit(2)
	}
	if err := run(*caseDir, *devices, *apps, *events); err != nil {
		fmt.Fprintln(os.Stderr, "genfleet:", err)
		os.Exit(1)
	}
}

// page is how many devices one raw file describes.
const page = 1000

func run(dir string, nDevices, nApps, nEvents int) error {
	c, err := preserve.OpenOrCreateCase(dir, preserve.CaseInfo{ID: "bench-analyze", Title: "custos analysis benchmark (synthetic data from bench/genfleet)",
		CreatedAt: baseTime.Add(-time.Hour), Examiner: "bench@custos.invalid"})
	if err != nil {
		return err
	}
	id := "acq-bench-analyze"
	st, err := collect.NewStaging(c.Path(preserve.StagingDir, id))
	if err != nil {
		return err
	}
	defer st.Abort()
	for first := 0; first < nDevices; first += page {
		n := min(page, nDevices-first)
		devRef, err := capture(st, "devices", n, func(b *strings.Builder, k int) {
			i := first + k
			fmt.Fprintf(b, `{"name":"enterprises/E/devices/%08d","applicationReports":[`, i)
			for j := range nApps {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(b, `{"packageName":%q}`, appID(i, j))
			}
			b.WriteString("]}")
		})
		if err != nil {
			return err
		}
		evRef, err := capture(st, "messages", n, func(b *strings.Builder, k int) {
			b.WriteString(`{"data":{"usageLogEvents":[`)
			for j := range nEvents {
				if j > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(b, `{"eventId":"%d"}`, j)
			}
			b.WriteString("]}}")
		})
		if err != nil {
			return err
		}
		for k := range n {
			if err := writeDevice(st, first+k, k, nApps, nEvents, devRef, evRef); err != nil {
				return err
			}
		}
	}
	acq := &collect.Acquisition{Version: 1, ID: id, CaseID: c.Info.ID, Started: baseTime, Finished: baseTime.Add(time.Hour),
		Operator: "bench", Host: "bench", Tool: collect.Tool{Name: "genfleet", Version: "1"}, CommandLine: os.Args,
		Sources: []collect.Descriptor{{Name: "amapi"}}, Targets: []string{"all"}, Status: "complete"}
	return st.Finish(acq)
}

// capture stores one raw file of n elements under member, each written by
// elem.
func capture(st *collect.Staging, member string, n int, elem func(b *strings.Builder, k int)) (collect.RawRef, error) {
	var b strings.Builder
	b.WriteString(`{"` + member + `":[`)
	for k := range n {
		if k > 0 {
			b.WriteByte(',')
		}
		elem(&b, k)
	}
	b.WriteString("]}")
	return st.Capture("amapi", &collect.Exchange{Started: baseTime, Finished: baseTime, Note: "synthetic"}, []byte(b.String()), true)
}

func appID(i, j int) string {
	if i%100 == 1 && j == 0 {
		return "com.example.sideloaded" + strconv.Itoa(i)
	}
	return "com.example.app" + strconv.Itoa((i*7+j)%400)
}

var eventTypes = []string{"app_process_start", "dns", "connect", "keyguard_secured", "keyguard_dismissed"}

func writeDevice(st *collect.Staging, i, k, nApps, nEvents int, devRef, evRef collect.RawRef) error {
	seen := baseTime.Add(-time.Duration(i%600) * time.Minute)
	d := collect.Device{Key: fmt.Sprintf("amapi:%08d", i), Source: "amapi", SourceID: fmt.Sprintf("%08d", i),
		Name: "Google Pixel 8", Platform: "android", OSVersion: "15", SecurityPatchLevel: "2026-10-05", Model: "Pixel 8",
		Manufacturer: "Google", Serial: fmt.Sprintf("SN%08d", i), Ownership: "corporate", ManagementMode: "fully_managed",
		Category: "default", LastSeenAt: &seen, Compliance: "compliant", Compromised: collect.Compromised{Value: "false"},
		Raw: collect.RawRef{Path: devRef.Path, SHA256: devRef.SHA256, Pointer: "/devices/" + strconv.Itoa(k)}}
	if i%100 == 2 {
		d.Compliance = "noncompliant"
	}
	if err := st.Device(d); err != nil {
		return err
	}
	for j := range nApps {
		a := collect.App{DeviceKey: d.Key, AppID: appID(i, j), Name: "App " + strconv.Itoa(j), Version: "1.0",
			InstallSource: "store", APKSHA256: fmt.Sprintf("%064x", (i*7+j)%400),
			Raw: collect.RawRef{Path: devRef.Path, SHA256: devRef.SHA256, Pointer: fmt.Sprintf("/devices/%d/applicationReports/%d", k, j)}}
		if i%100 == 1 && j == 0 {
			a.InstallSource = "sideloaded"
		}
		if err := st.App(a); err != nil {
			return err
		}
	}
	for j := range nEvents {
		typ := eventTypes[j%len(eventTypes)]
		if i%100 == 1 && j%5 == 0 {
			typ = "adb_shell_command"
		}
		fields := map[string]any{"event_id": strconv.Itoa(j)}
		switch typ {
		case "app_process_start":
			fields["process_name"], fields["apk_sha256_hash"], fields["uid"], fields["pid"] = appID(i, j%nApps), fmt.Sprintf("%064x", j), 10123.0, float64(3000+j)
		case "dns":
			fields["hostname"], fields["resolved_ip_addresses"], fields["total_ip_addresses_returned"] = "example.org", []any{"93.184.215.14"}, 1.0
		case "connect":
			fields["destination_ip_address"], fields["destination_port"], fields["package_name"] = "93.184.215.14", 443.0, "com.android.chrome"
		case "adb_shell_command":
			fields["shell_cmd"] = "dumpsys battery"
		}
		e := collect.Event{DeviceKey: d.Key, Time: seen.Add(-time.Duration(nEvents-j) * time.Minute), Type: typ, Fields: fields,
			Raw: collect.RawRef{Path: evRef.Path, SHA256: evRef.SHA256, Pointer: fmt.Sprintf("/messages/%d/data/usageLogEvents/%d", k, j)}}
		if err := st.Event(e); err != nil {
			return err
		}
	}
	return st.UnitDone(d.Key)
}
