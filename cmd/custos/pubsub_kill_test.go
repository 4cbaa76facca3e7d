package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/googlesim"
	"github.com/custos-ir/custos/preserve"
)

// Draining usage logs killed with SIGKILL at points spread over the run
// (during pulls, while writing, between the durable write and the
// acknowledgement) and run again loses no event and writes none twice.
func TestDrainResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and reruns a collection many times")
	}
	newSim := func() (*httptest.Server, *googlesim.Server) {
		sim := googlesim.New(googlesim.Options{Devices: 10, Seed: 3, AckDeadline: 300 * time.Millisecond})
		sim.Publish(sim.UsageLogs()...)
		sim.Publish(sim.BulkUsageLogs(60, 40)...)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(10 * time.Millisecond) // so that kills land mid-run
			sim.Handler().ServeHTTP(w, r)
		}))
		return srv, sim
	}
	args := func(srv *httptest.Server, dir string) []string {
		return []string{"collect", "--quiet", "--case", dir, "--case-id", "IR-P", "--source", "amapi", "--all",
			"--enterprise", googlesim.DefaultEnterprise, "--key-file", filepath.Join(dir, "..", "sa.json"),
			"--amapi-url", srv.URL, "--pubsub-url", srv.URL, "--subscription", googlesim.DefaultSubscription, "--pull-batch", "5"}
	}
	// run runs a collection to the end (after < 0), or kills it after
	// more ms once a pull of this run has been answered: always during
	// the drain, at a different point of a batch each time (in a pull,
	// while writing, between the durable write and the ack). It reports
	// whether the run finished.
	run := func(t *testing.T, srv *httptest.Server, sim *googlesim.Server, dir string, after time.Duration) bool {
		t.Helper()
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "..", "sa.json"), sim.ServiceAccountKey(srv.URL), 0o600)
		cmd := custosCmd(t, args(srv, dir)...)
		if after < 0 {
			out, err := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != 0 && code != 3 {
				t.Fatalf("collect exited %d: %v\n%s", code, err, out)
			}
			return true
		}
		before := sim.PubSubStats().Delivered
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		for sim.PubSubStats().Delivered == before {
			select {
			case <-exited:
				return true // finished before pulling anything
			case <-time.After(time.Millisecond):
			}
		}
		time.Sleep(after)
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		return !ok || !ws.Signaled()
	}

	srv, sim := newSim()
	defer srv.Close()
	clean := filepath.Join(t.TempDir(), "case")
	run(t, srv, sim, clean, -1)
	want := drainedEvents(t, clean)

	srv2, sim2 := newSim()
	defer srv2.Close()
	killed := filepath.Join(t.TempDir(), "case")
	kills, done := 0, false
	for i := range 8 {
		if done = run(t, srv2, sim2, killed, time.Duration(i*7)*time.Millisecond); done {
			break
		}
		kills++
		time.Sleep(350 * time.Millisecond) // leases of the killed run lapse
	}
	if !done {
		run(t, srv2, sim2, killed, -1)
	}
	got := drainedEvents(t, killed)
	ps := sim2.PubSubStats()
	t.Logf("%d kills; %d messages, %d deliveries, %d redelivered, %d events", kills, ps.Published, ps.Delivered, ps.Redelivered, len(got))
	if kills == 0 || ps.Redelivered == 0 {
		t.Fatalf("%d kills, %d redeliveries: the test did not exercise a crash", kills, ps.Redelivered)
	}
	if ps.Acked != ps.Published {
		t.Errorf("%d of %d messages acknowledged", ps.Acked, ps.Published)
	}
	if !slices.Equal(got, want) {
		t.Errorf("after %d kills: %d events, %d in an uninterrupted run", kills, len(got), len(want))
	}
}

// drainedEvents returns the usage-log events of the case's one finished
// acquisition as "device type event_id" lines, sorted, failing on any
// line written twice.
func drainedEvents(t *testing.T, caseDir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(caseDir, preserve.StagingDir, "*", collect.EventsFile))
	if len(m) != 1 {
		t.Fatalf("%d finished acquisitions in %s", len(m), caseDir)
	}
	data, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if i := strings.Index(l, `"event_id":"`); i >= 0 {
			id := l[i+12:]
			id = id[:strings.IndexByte(id, '"')]
			dev := l[strings.Index(l, `"device_key":"`)+14:]
			dev = dev[:strings.IndexByte(dev, '"')]
			typ := l[strings.Index(l, `"type":"`)+8:]
			typ = typ[:strings.IndexByte(typ, '"')]
			out = append(out, dev+" "+typ+" "+id)
		}
	}
	slices.Sort(out)
	if len(slices.Compact(slices.Clone(out))) != len(out) {
		t.Errorf("%s holds an event twice", m[0])
	}
	return out
}
