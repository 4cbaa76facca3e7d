package collect

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSelectors(t *testing.T) {
	d := Device{Key: "intune:abc", SourceID: "abc", Serial: "F2LX", IMEI: "35 123456 789012 3", User: "JDoe@contoso.com", Name: "jdoe-iPhone"}
	for sel, want := range map[string]bool{
		"id:abc": true, "id:intune:abc": true, "serial:F2LX": true, "serial:f2lx": false,
		"imei:351234567890123": true, "user:jdoe@CONTOSO.com": true, "name:JDOE-iphone": true, "name:other": false,
	} {
		s, err := ParseSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		if s.Match(d) != want {
			t.Errorf("%s matched %v", sel, !want)
		}
	}
	for _, bad := range []string{"abc", "id:", "mac:00:11"} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if (Request{}).Wanted(d) {
		t.Error("an empty request selects devices")
	}
}

type fakeSource struct {
	t    *testing.T
	fail error
}

func (f fakeSource) Name() string { return "fake" }
func (f fakeSource) Describe() Descriptor {
	return Descriptor{Name: "fake", API: "Fake API", Telemetry: []string{TelemetryDeviceState}}
}
func (f fakeSource) Collect(ctx context.Context, req Request, sink Sink) error {
	if f.fail != nil {
		return f.fail
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ref, err := sink.Capture("fake", &Exchange{Method: "GET", URL: "http://x/" + string(rune('a'+i)), Status: 200}, []byte(`{"i":1}`), true)
			if err != nil {
				f.t.Error(err)
			}
			seen := req.Now.Add(-time.Hour)
			if i == 0 {
				seen = req.Now.Add(-40 * 24 * time.Hour)
			}
			sink.Device(Device{Key: "fake:" + string(rune('a'+i)), Source: "fake", LastSeenAt: &seen, Raw: ref})
		})
	}
	wg.Wait()
	return nil
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	st, err := NewStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	acq := &Acquisition{ID: "acq", CaseID: "C"}
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	req := Request{All: true, Now: now, StaleAfter: 14 * 24 * time.Hour}
	if err := Run(context.Background(), fakeSource{t: t}, req, st, acq, time.Now); err != nil {
		t.Fatal(err)
	}
	if acq.Counts.Devices != 20 || acq.Counts.Responses != 20 || acq.Status != "completed_with_gaps" {
		t.Errorf("acquisition %+v", acq)
	}
	// Unsupported telemetry became source-wide gaps, and only the device
	// last seen 40 days ago is stale.
	n := 0
	var stale []string
	for _, g := range acq.Gaps {
		if g.DeviceKey == "" && g.Reason == ReasonNotSupported {
			n++
		}
		if g.Reason == ReasonStale {
			stale = append(stale, g.DeviceKey+" "+g.Detail)
		}
	}
	if len(stale) != 1 || !strings.HasPrefix(stale[0], "fake:a last check-in 2026-10-17T00:00:00Z, 40 days") {
		t.Errorf("stale gaps %q", stale)
	}
	if n != 3 {
		t.Errorf("%d source-wide gaps, want 3 (apps, logs, audit)", n)
	}
	seqs := map[int]bool{}
	data, _ := os.ReadFile(filepath.Join(dir, "raw", "fake", "requests.ndjson"))
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ex Exchange
		if err := json.Unmarshal([]byte(line), &ex); err != nil {
			t.Fatal(err)
		}
		if seqs[ex.Seq] || ex.File == "" {
			t.Errorf("bad exchange %+v", ex)
		}
		seqs[ex.Seq] = true
	}
	if len(seqs) != 20 {
		t.Errorf("%d exchanges logged", len(seqs))
	}
	if _, err := os.Stat(filepath.Join(dir, AcquisitionFile)); err != nil {
		t.Error("no acquisition.json")
	}
	if _, err := NewStaging(dir); err == nil {
		t.Error("a finished staging was reopened")
	}
}

func TestRunFailureLeavesStagingUnfinished(t *testing.T) {
	dir := t.TempDir()
	st, _ := NewStaging(dir)
	boom := errors.New("boom")
	if err := Run(context.Background(), fakeSource{t: t, fail: boom}, Request{All: true}, st, &Acquisition{}, time.Now); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, AcquisitionFile)); err == nil {
		t.Error("a failed run wrote acquisition.json")
	}
	if _, err := st.Capture("fake", &Exchange{}, nil, true); err == nil {
		t.Error("capture after abort succeeded")
	}
}

func TestCaptureRejectsBadSourceName(t *testing.T) {
	st, _ := NewStaging(t.TempDir())
	defer st.Abort()
	if _, err := st.Capture("../x", &Exchange{}, nil, true); err == nil {
		t.Error("path-like source name accepted")
	}
}
