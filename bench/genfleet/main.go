// Command genfleet writes a case with one acquisition of the synthetic
// Android fleet of bench/synthfleet, of exact size (devices, apps and
// events per device), for the analysis benchmark (bench/analyze.sh).
// Records point into raw files that hold what they point at. Output
// depends on the flags only.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/bench/synthfleet"
	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/preserve"
)

var baseTime = synthfleet.Base

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
				fmt.Fprintf(b, `{"packageName":%q}`, synthfleet.AppID(i, j))
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

func writeDevice(st *collect.Staging, i, k, nApps, nEvents int, devRef, evRef collect.RawRef) error {
	ref := func(from collect.RawRef, pointer string) collect.RawRef {
		return collect.RawRef{Path: from.Path, SHA256: from.SHA256, Pointer: pointer}
	}
	d := synthfleet.Device(i, ref(devRef, "/devices/"+strconv.Itoa(k)))
	if err := st.Device(d); err != nil {
		return err
	}
	for j := range nApps {
		if err := st.App(synthfleet.App(&d, i, j, ref(devRef, fmt.Sprintf("/devices/%d/applicationReports/%d", k, j)))); err != nil {
			return err
		}
	}
	for j := range nEvents {
		e := synthfleet.Event(&d, i, j, nEvents, nApps, ref(evRef, fmt.Sprintf("/messages/%d/data/usageLogEvents/%d", k, j)))
		if err := st.Event(e); err != nil {
			return err
		}
	}
	return st.UnitDone(d.Key)
}
