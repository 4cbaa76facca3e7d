package collect

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
