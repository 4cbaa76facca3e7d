package collect

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unitSource collects n devices, each a unit with two apps, and stops with
// errStop after stopAfter units (a crash stand-in) when stopAfter > 0.
type unitSource struct {
	n, stopAfter int
	fetched      *[]string
}

var errStop = errors.New("stopped")

func (u unitSource) Name() string { return "fake" }
func (u unitSource) Describe() Descriptor {
	return Descriptor{Name: "fake", API: "Fake API", Telemetry: []string{TelemetryDeviceState, TelemetryAppInventory}}
}
func (u unitSource) Collect(ctx context.Context, req Request, sink Sink) error {
	if err := sink.Gap(Gap{Source: "fake", Telemetry: TelemetryAppInventory, Reason: ReasonPersonalScope, Detail: "source-wide"}); err != nil {
		return err
	}
	done := 0
	for i := range u.n {
		key := fmt.Sprintf("fake:%02d", i)
		if req.IsDone(key) {
			continue
		}
		*u.fetched = append(*u.fetched, key)
		ref, err := sink.Capture("fake", &Exchange{Method: "GET", URL: "http://x/" + key, Status: 200}, []byte(`{"k":"`+key+`"}`), true)
		if err != nil {
			return err
		}
		sink.Device(Device{Key: key, Source: "fake", Raw: ref})
		sink.App(App{DeviceKey: key, AppID: "a", Raw: ref})
		sink.App(App{DeviceKey: key, AppID: "b", Raw: ref})
		if u.stopAfter > 0 && done == u.stopAfter {
			// Half a device written, then the crash: its records must
			// not survive.
			return errStop
		}
		if err := sink.UnitDone(key); err != nil {
			return err
		}
		done++
	}
	return nil
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestResumeStaging(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acq")
	st, err := NewResumableStaging(dir, "fp1", time.Unix(1790000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := ReadCheckpoint(dir); err != nil || len(c.Resumed) != 0 {
		t.Fatalf("a new staging's checkpoint records a resume: %+v %v", c, err)
	}
	st.SetCheckpointInterval(0) // checkpoint at every unit
	var fetched []string
	acq := &Acquisition{ID: "acq"}
	err = Run(context.Background(), unitSource{n: 6, stopAfter: 3, fetched: &fetched}, Request{All: true}, st, acq, time.Now)
	if !errors.Is(err, errStop) {
		t.Fatalf("first run: %v", err)
	}
	// A kill also leaves a request-log line cut short.
	logPath := filepath.Join(dir, "raw", "fake", "requests.ndjson")
	f, _ := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":99,"meth`)
	f.Close()
	if _, err := NewStaging(dir); err == nil || !strings.Contains(err.Error(), "has a checkpoint") {
		t.Errorf("NewStaging over a checkpointed dir: %v", err)
	}
	if got, _ := FindResumable(filepath.Dir(dir), "fp1"); got != dir {
		t.Fatalf("FindResumable = %q", got)
	}
	if got, _ := FindResumable(filepath.Dir(dir), "other"); got != "" {
		t.Fatalf("FindResumable(other) = %q", got)
	}

	st, err = ResumeStaging(dir, time.Unix(1790000100, 0))
	if err != nil {
		t.Fatal(err)
	}
	fetched = nil
	acq = &Acquisition{ID: "acq"}
	if err := Run(context.Background(), unitSource{n: 6, fetched: &fetched}, Request{All: true}, st, acq, time.Now); err != nil {
		t.Fatal(err)
	}
	if strings.Join(fetched, ",") != "fake:03,fake:04,fake:05" {
		t.Errorf("resumed run fetched %v, want only the unfinished devices", fetched)
	}
	devs := lines(t, filepath.Join(dir, DevicesFile))
	apps := lines(t, filepath.Join(dir, AppsFile))
	gaps := lines(t, filepath.Join(dir, GapsFile))
	if len(devs) != 6 || len(apps) != 12 {
		t.Errorf("%d devices, %d apps after resume, want 6 and 12:\n%s", len(devs), len(apps), strings.Join(devs, "\n"))
	}
	// The source-wide gap is written once, at the end; the not-supported
	// gaps of Run are there once too.
	if n := strings.Count(strings.Join(gaps, "\n"), "source-wide"); n != 1 {
		t.Errorf("source-wide gap written %d times", n)
	}
	if acq.Counts.Devices != 6 || acq.Counts.Apps != 12 || !acq.Started.Equal(time.Unix(1790000000, 0)) || len(acq.Resumed) != 1 {
		t.Errorf("acquisition %+v", acq)
	}
	// Raw numbering continued; the cut request-log line is gone; every
	// line parses.
	log := lines(t, logPath)
	for i, l := range log {
		if !strings.HasPrefix(l, fmt.Sprintf(`{"seq":%d,`, i+1)) {
			t.Errorf("request log line %d: %s", i+1, l)
		}
	}
	if len(log) != 7 { // 4 in the first run (the 4th device was cut), 3 after
		t.Errorf("request log has %d lines, want 7", len(log))
	}
	if _, err := os.Stat(CheckpointPath(dir)); !os.IsNotExist(err) {
		t.Errorf("checkpoint kept after finishing: %v", err)
	}
	if _, err := ResumeStaging(dir, time.Now()); err == nil {
		t.Error("resumed a finished staging")
	}
}

// A kill before the directory exists leaves a checkpoint that resumes.
func TestResumeBeforeDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acq")
	st, err := NewResumableStaging(dir, "fp", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.Abort()
	os.RemoveAll(dir)
	st, err = ResumeStaging(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var fetched []string
	if err := Run(context.Background(), unitSource{n: 2, fetched: &fetched}, Request{All: true}, st, &Acquisition{ID: "acq"}, time.Now); err != nil {
		t.Fatal(err)
	}
	if n := len(lines(t, filepath.Join(dir, DevicesFile))); n != 2 {
		t.Errorf("%d devices", n)
	}
}

// Records filed Within a unit wait for that unit, not for the devices they
// name, and are dropped when a resumed run sends them again.
func TestWithinUnit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acq")
	st, err := NewResumableStaging(dir, "fp", time.Unix(1790000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	st.SetCheckpointInterval(0)
	for _, k := range []string{"fake:1", "fake:2"} {
		st.Device(Device{Key: k, Source: "fake"})
		if err := st.UnitDone(k); err != nil {
			t.Fatal(err)
		}
	}
	appX, appY := st.Within("fake-app:x"), st.Within("fake-app:y")
	appX.App(App{DeviceKey: "fake:1", AppID: "x"})
	appX.App(App{DeviceKey: "fake:2", AppID: "x"})
	appY.App(App{DeviceKey: "fake:1", AppID: "y"})
	if err := appX.UnitDone("fake-app:x"); err != nil {
		t.Fatal(err)
	}
	// Killed here: app y's record is not in the checkpoint.
	st.Abort()

	st, err = ResumeStaging(dir, time.Unix(1790000100, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Done("fake-app:x") || st.Done("fake-app:y") || !st.Done("fake:2") {
		t.Fatal("units done not restored")
	}
	// The resumed source skips x (Done) but sends it anyway here: dropped.
	st.Within("fake-app:x").App(App{DeviceKey: "fake:1", AppID: "x"})
	appY = st.Within("fake-app:y")
	appY.App(App{DeviceKey: "fake:1", AppID: "y"})
	appY.UnitDone("fake-app:y")
	if err := st.Finish(&Acquisition{ID: "acq"}); err != nil {
		t.Fatal(err)
	}
	apps := strings.Join(lines(t, filepath.Join(dir, AppsFile)), "\n")
	for _, want := range []string{`"device_key":"fake:1","app_id":"x"`, `"device_key":"fake:2","app_id":"x"`, `"device_key":"fake:1","app_id":"y"`} {
		if strings.Count(apps, want) != 1 {
			t.Errorf("%s appears %d times in\n%s", want, strings.Count(apps, want), apps)
		}
	}
	if n := len(lines(t, filepath.Join(dir, AppsFile))); n != 3 {
		t.Errorf("%d app records, want 3", n)
	}
}

// A unit too large to hold in memory waits in a spill file outside the
// staging directory; its records come out whole and in order when it is
// done, the file goes, and a run that dies leaves nothing a resume keeps.
func TestLargeUnitSpills(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acq")
	st, err := NewResumableStaging(dir, "fp", time.Unix(1790000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	st.SetCheckpointInterval(0)
	st.holdBudget = 64 << 10
	big := st.Within("fake-app:big")
	const n = 3000 // about 200 KiB of records
	for i := range n {
		if err := big.App(App{DeviceKey: fmt.Sprintf("fake:%04d", i), AppID: "big", Name: strings.Repeat("x", 20)}); err != nil {
			t.Fatal(err)
		}
	}
	big.Gap(Gap{Source: "fake", Telemetry: TelemetryAppInventory, Reason: ReasonError, Detail: "in the spilled unit"})
	spilled, _ := os.ReadDir(SpillDir(dir))
	if len(spilled) != 1 {
		t.Fatalf("spill dir holds %d files, want 1", len(spilled))
	}
	if g := st.Gaps(); len(g) != 1 || g[0].Detail != "in the spilled unit" {
		t.Errorf("Gaps() = %+v; want the spilled unit's gap", g)
	}
	// A second large unit is dropped by a crash (no UnitDone).
	lost := st.Within("fake-app:lost")
	for i := range n {
		lost.App(App{DeviceKey: fmt.Sprintf("fake:%04d", i), AppID: "lost"})
	}
	if err := big.UnitDone("fake-app:big"); err != nil {
		t.Fatal(err)
	}
	if spilled, _ := os.ReadDir(SpillDir(dir)); len(spilled) != 1 {
		t.Errorf("spill dir holds %d files after one unit is done, want the other's only", len(spilled))
	}
	// Killed here (the staging is simply abandoned), then resumed.
	st, err = ResumeStaging(dir, time.Unix(1790000100, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(SpillDir(dir)); !os.IsNotExist(err) {
		t.Errorf("spill dir kept by a resume: %v", err)
	}
	if err := st.Finish(&Acquisition{ID: "acq"}); err != nil {
		t.Fatal(err)
	}
	apps := lines(t, filepath.Join(dir, AppsFile))
	if len(apps) != n {
		t.Fatalf("%d app records, want the %d of the finished unit", len(apps), n)
	}
	for i, l := range apps {
		if !strings.Contains(l, fmt.Sprintf(`"device_key":"fake:%04d","app_id":"big"`, i)) {
			t.Fatalf("record %d out of order or damaged: %s", i, l)
		}
	}
	if g := lines(t, filepath.Join(dir, GapsFile)); len(g) != 1 {
		t.Errorf("%d gaps written, want 1", len(g))
	}
}

// Events a source encoded (their head held, their raw reference put after
// it when written) come out as json.Marshal writes them, whether their
// unit was held in memory or spilled.
func TestEncodedEventsHeldAndSpilled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acq")
	st, err := NewResumableStaging(dir, "fp", time.Unix(1790000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	st.holdBudget = 16 << 10
	var want []string
	for u, n := range []int{5, 400, 7} { // the second unit spills
		unit := st.Within(fmt.Sprintf("unit-%d", u))
		for i := range n {
			e := Event{DeviceKey: "amapi:d<>", Time: time.Unix(1790000000+int64(i), 0).UTC(), Type: "dns",
				Raw: RawRef{Path: fmt.Sprintf("raw/amapi/%06d.json", 1+u*1000+i/2), SHA256: "ab", Pointer: fmt.Sprintf("/messages/%d/data/usageLogEvents/%d", u, i)}}
			if i%2 == 0 {
				e = e.WithEncodedFields([]byte(`{"event_id":"` + strconv.Itoa(i) + `","hostname":"\u003cx\u003e"}`))
			} else {
				e.Fields = map[string]any{"event_id": strconv.Itoa(i)}
				e = e.Encoded()
			}
			if err := unit.Event(e); err != nil {
				t.Fatal(err)
			}
			dec, _ := e.Decoded()
			line, _ := json.Marshal(dec)
			want = append(want, string(line))
		}
		if err := unit.UnitDone(fmt.Sprintf("unit-%d", u)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Finish(&Acquisition{ID: "acq"}); err != nil {
		t.Fatal(err)
	}
	got := lines(t, filepath.Join(dir, EventsFile))
	if len(got) != len(want) {
		t.Fatalf("%d event records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("record %d:\n%s\nwant\n%s", i, got[i], want[i])
		}
	}
}
