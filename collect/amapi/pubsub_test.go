package amapi

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/googlesim"
)

// logSim is a simulator whose subscription holds the fleet's usage logs.
func logSim(t *testing.T, ackDeadline time.Duration) (*googlesim.Server, Config) {
	t.Helper()
	sim := googlesim.New(googlesim.Options{Devices: 12, Seed: 5, Key: testKey(), AckDeadline: ackDeadline})
	sim.Publish(sim.UsageLogs()...)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, Config{Key: sim.ServiceAccountKey(srv.URL), Enterprise: googlesim.DefaultEnterprise, APIURL: srv.URL,
		PubSubURL: srv.URL, Subscription: googlesim.DefaultSubscription, RequestsPerSecond: -1,
		// Real, short waits: redelivery depends on the ack deadline.
		Sleep: func(ctx context.Context, d time.Duration) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(min(d, 50*time.Millisecond)):
				return nil
			}
		}}
}

// usageEvents returns the usage-log events of an acquisition as
// "device type event_id" lines, sorted.
func usageEvents(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, e := range collecttest.ReadLines[collect.Event](t, filepath.Join(dir, collect.EventsFile)) {
		if id, ok := e.Fields["event_id"].(string); ok {
			out = append(out, e.DeviceKey+" "+e.Type+" "+id)
		}
	}
	slices.Sort(out)
	return out
}

func TestDrainUsageLogs(t *testing.T) {
	sim, cfg := logSim(t, 10*time.Second)
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, _ := collect.NewStaging(dir)
	acq := &collect.Acquisition{ID: "test"}
	if err := collect.Run(context.Background(), src, collect.Request{All: true}, st, acq, time.Now); err != nil {
		t.Fatal(err)
	}
	if ps := sim.PubSubStats(); ps.Acked != ps.Published {
		t.Errorf("%d of %d messages acknowledged", ps.Acked, ps.Published)
	}
	if src.Logs.Ignored["COMMAND"] != 1 {
		t.Errorf("ignored %v; want the COMMAND notification counted", src.Logs.Ignored)
	}
	types := map[string]int{}
	events := collecttest.ReadLines[collect.Event](t, filepath.Join(dir, collect.EventsFile))
	for _, e := range events {
		types[e.Type]++
	}
	for _, kind := range googlesim.EventTypes {
		if types[strings.ToLower(kind)] == 0 {
			t.Errorf("no %s event written", kind)
		}
	}
	if types[EventStatusReport] != 2 {
		t.Errorf("%d status_report events; want the ENROLLMENT and the STATUS_REPORT", types[EventStatusReport])
	}
	ioc := Name + ":" + lastSegment(sim.Fleet().Planted[googlesim.ScenarioIOCApp])
	compromised := Name + ":" + lastSegment(sim.Fleet().Planted[googlesim.ScenarioCompromised])
	var iocStart, install bool
	for _, e := range events {
		switch {
		case e.Type == "app_process_start" && e.DeviceKey == ioc:
			iocStart = e.Fields["apk_sha256_hash"] == googlesim.IOCAPKSHA256 && e.Fields["process_name"] == googlesim.IOCPackage
			if got := resolve(t, dir, e.Raw); got["eventType"] != "APP_PROCESS_START" {
				t.Errorf("the IOC process start cites %v", got)
			}
		case e.Type == "adb_shell_command" && e.DeviceKey == compromised && strings.Contains(fmt.Sprint(e.Fields["shell_cmd"]), "pm install"):
			install = true
		}
	}
	if !iocStart || !install {
		t.Errorf("IOC process start found: %v; pm install over ADB found: %v", iocStart, install)
	}
	for _, g := range collecttest.ReadLines[collect.Gap](t, filepath.Join(dir, collect.GapsFile)) {
		if g.Telemetry == collect.TelemetryDeviceLogs && g.DeviceKey == "" {
			t.Errorf("device logs gap although the subscription was drained: %+v", g)
		}
	}
}

// Messages whose acknowledgement is lost come back after the ack
// deadline; they are acknowledged again and not written twice.
func TestRedeliveredMessagesWrittenOnce(t *testing.T) {
	sim, cfg := logSim(t, 150*time.Millisecond)
	// The first acknowledge fails on every retry.
	sim.Inject("/v1/"+googlesim.DefaultSubscription+":acknowledge", googlesim.Fault503, 5)
	dir, err := collectAll(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ps := sim.PubSubStats()
	if ps.Redelivered == 0 || ps.Acked != ps.Published {
		t.Fatalf("stats %+v: want redeliveries, then everything acknowledged", ps)
	}
	got := usageEvents(t, dir)
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("an event written twice after redelivery")
	}
	_, cleanCfg := logSim(t, 10*time.Second)
	cleanDir, err := collectAll(t, cleanCfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := usageEvents(t, cleanDir); !slices.Equal(got, want) {
		t.Errorf("%d events after redeliveries, %d without", len(got), len(want))
	}
}

// failingSink fails writing an event after n events: a crash while the
// messages of a pull are being written.
type failingSink struct {
	*collect.Staging
	n int
}

var errCrash = errors.New("crash")

func (f *failingSink) Within(unit string) collect.Sink {
	return &failingUnit{f.Staging.Within(unit), f}
}

type failingUnit struct {
	collect.Sink
	f *failingSink
}

func (u *failingUnit) Event(e collect.Event) error {
	if u.f.n--; u.f.n < 0 {
		return errCrash
	}
	return u.Sink.Event(e)
}

// A crash while writing (nothing acknowledged) and a crash after the
// records are durable but before the acknowledgement both resume to the
// same events as an uninterrupted run, each once.
func TestCrashesLoseAndDuplicateNothing(t *testing.T) {
	_, cleanCfg := logSim(t, 10*time.Second)
	cleanDir, err := collectAll(t, cleanCfg)
	if err != nil {
		t.Fatal(err)
	}
	want := usageEvents(t, cleanDir)

	resumeRun := func(t *testing.T, cfg Config, dir string) {
		t.Helper()
		src, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		st, err := collect.ResumeStaging(dir, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := collect.Run(context.Background(), src, collect.Request{All: true}, st, &collect.Acquisition{ID: "a"}, time.Now); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("during write", func(t *testing.T) {
		_, cfg := logSim(t, 200*time.Millisecond)
		dir := filepath.Join(t.TempDir(), "acq")
		st, err := collect.NewResumableStaging(dir, "fp", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		src, _ := New(cfg)
		err = runWith(src, &failingSink{Staging: st, n: 20})
		if !errors.Is(err, errCrash) {
			t.Fatalf("first run: %v", err)
		}
		st.Abort()
		time.Sleep(250 * time.Millisecond) // the leases lapse
		resumeRun(t, cfg, dir)
		if got := usageEvents(t, dir); !slices.Equal(got, want) {
			t.Errorf("after a crash while writing: %d events, want %d", len(got), len(want))
		}
	})
	t.Run("after sync, before ack", func(t *testing.T) {
		sim, cfg := logSim(t, 200*time.Millisecond)
		// Every acknowledge of the first run is lost.
		sim.Inject("/v1/"+googlesim.DefaultSubscription+":acknowledge", googlesim.Fault503, -1)
		dir := filepath.Join(t.TempDir(), "acq")
		st, err := collect.NewResumableStaging(dir, "fp", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.MaxMessages = 4 // stop after one pull, its messages durable, none acknowledged
		src, _ := New(c)
		if err := runWith(src, st); err != nil {
			t.Fatal(err)
		}
		st.Abort() // killed before finishing
		sim.ClearInjections()
		time.Sleep(250 * time.Millisecond)
		resumeRun(t, cfg, dir)
		if got := usageEvents(t, dir); !slices.Equal(got, want) {
			t.Errorf("after a crash before the ack: %d events, want %d", len(got), len(want))
		}
		if ps := sim.PubSubStats(); ps.Acked != ps.Published || ps.Redelivered == 0 {
			t.Errorf("stats %+v", ps)
		}
	})
}

// runWith collects through sink without finishing the staging.
func runWith(src *Source, sink collect.Sink) error {
	return src.Collect(context.Background(), collect.Request{All: true, Done: doneOf(sink)}, sink)
}

func doneOf(sink collect.Sink) func(string) bool {
	switch s := sink.(type) {
	case *collect.Staging:
		return s.Done
	case *failingSink:
		return s.Staging.Done
	}
	return nil
}

// With a device selected, only its usage logs are written; the others
// stay in the raw data.
func TestDrainKeepsSelectedDevices(t *testing.T) {
	sim, cfg := logSim(t, 10*time.Second)
	target := lastSegment(sim.Fleet().Planted[googlesim.ScenarioCompromised])
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, _ := collect.NewStaging(dir)
	sel, _ := collect.ParseSelector("id:" + target)
	if err := collect.Run(context.Background(), src, collect.Request{Selectors: []collect.Selector{sel}}, st, &collect.Acquisition{ID: "x"}, time.Now); err != nil {
		t.Fatal(err)
	}
	events := usageEvents(t, dir)
	if len(events) == 0 || src.Logs.Unselected == 0 {
		t.Fatalf("%d events kept, %d left out", len(events), src.Logs.Unselected)
	}
	for _, e := range events {
		if !strings.HasPrefix(e, Name+":"+target+" ") {
			t.Errorf("event of an unselected device: %s", e)
		}
	}
}

// slowSink takes its time over every event, as a slow disk would.
type slowSink struct {
	*collect.Staging
	delay time.Duration
}

func (s *slowSink) Within(unit string) collect.Sink {
	return &slowUnit{s.Staging.Within(unit), s.delay}
}

type slowUnit struct {
	collect.Sink
	delay time.Duration
}

func (u *slowUnit) Event(e collect.Event) error {
	time.Sleep(u.delay)
	return u.Sink.Event(e)
}

// A batch that takes longer to write than the subscription's ack deadline
// keeps its leases (modifyAckDeadline): nothing is redelivered meanwhile.
func TestSlowWritesKeepTheirLeases(t *testing.T) {
	sim, cfg := logSim(t, time.Second) // the subscription's lease: 1 s
	cfg.AckExtension = 1500 * time.Millisecond
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "acq")
	st, err := collect.NewResumableStaging(dir, "fp", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// About 80 events at 40 ms: the one batch takes over 3 s.
	if err := runWith(src, &slowSink{Staging: st, delay: 40 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	extended := 0
	for _, r := range sim.Requests() {
		if strings.HasSuffix(r.Path, ":modifyAckDeadline") && r.Status == 200 {
			extended++
		}
	}
	ps := sim.PubSubStats()
	if extended < 2 || ps.Redelivered != 0 || ps.Acked != ps.Published {
		t.Errorf("%d lease extensions, stats %+v; want extensions, no redelivery, everything acknowledged", extended, ps)
	}
}

// An event already written before a resume, published again in a message
// of its own after the resume (a publisher repeating itself, not a
// redelivery), is recognised by its device and eventId and not written
// again.
func TestEventRepeatedAcrossResumeWrittenOnce(t *testing.T) {
	sim, cfg := logSim(t, 10*time.Second)
	dir := filepath.Join(t.TempDir(), "acq")
	st, err := collect.NewResumableStaging(dir, "fp", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	src, _ := New(cfg)
	if err := runWith(src, st); err != nil {
		t.Fatal(err)
	}
	st.Abort() // killed after the drain, before finishing
	before := usageEvents(t, dir)
	var again googlesim.Message
	for _, m := range sim.UsageLogs() {
		if m.Attributes["notificationType"] == "USAGE_LOGS" {
			again = m
			break
		}
	}
	again.ID = "9999999999999999"
	sim.Publish(again)

	st, err = collect.ResumeStaging(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	src, _ = New(cfg)
	if err := collect.Run(context.Background(), src, collect.Request{All: true}, st, &collect.Acquisition{ID: "a"}, time.Now); err != nil {
		t.Fatal(err)
	}
	if got := usageEvents(t, dir); !slices.Equal(got, before) {
		t.Errorf("after the resume: %d events, want the %d written before", len(got), len(before))
	}
	if src.Logs.Messages != 1 || src.Logs.DuplicateEvents == 0 || src.Logs.Events != 0 {
		t.Errorf("resumed run's stats %+v: want one message whose events were all written before", src.Logs)
	}
	if ps := sim.PubSubStats(); ps.Acked != ps.Published {
		t.Errorf("%d of %d messages acknowledged", ps.Acked, ps.Published)
	}
}

// cancellingSink cancels the run when the first pull response is stored.
type cancellingSink struct {
	*collect.Staging
	cancel context.CancelFunc
}

func (c *cancellingSink) Capture(source string, ex *collect.Exchange, body []byte, keep bool) (collect.RawRef, error) {
	ref, err := c.Staging.Capture(source, ex, body, keep)
	if strings.Contains(string(body), "receivedMessages") {
		c.cancel()
	}
	return ref, err
}

// An interrupted drain (Ctrl-C) is an error, never a complete collection:
// what it pulled and did not write comes back on the next run.
func TestInterruptedDrainIsNotComplete(t *testing.T) {
	for range 10 {
		_, cfg := logSim(t, 10*time.Second)
		src, _ := New(cfg)
		st, err := collect.NewStaging(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		err = src.Collect(ctx, collect.Request{All: true}, &cancellingSink{Staging: st, cancel: cancel})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted drain returned %v, want context.Canceled", err)
		}
		st.Abort()
	}
}
