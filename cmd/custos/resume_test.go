package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/mdmsim"
	"github.com/custos-ir/custos/preserve"
)

// runAsCustosEnv makes the test binary behave as the custos command.
const runAsCustosEnv = "CUSTOS_TEST_RUN_AS_CUSTOS"

// custosCmd prepares the test binary as a custos process.
func custosCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runAsCustosEnv+"=1", "CUSTOS_INTUNE_CLIENT_SECRET="+mdmsim.DemoClientSecret,
		checkpointIntervalEnv+"=10ms")
	return cmd
}

// A collection killed with SIGKILL at any moment and run again completes,
// with every device exactly once, the same records as an uninterrupted
// run, and every raw reference intact.
func TestCollectResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and reruns a collection many times")
	}
	// Device by device, each device a unit; and app by app, where the apps
	// are units of their own beside the devices' compliance states.
	for _, apps := range []string{"device", "tenant"} {
		t.Run(apps, func(t *testing.T) { testResumesAfterKill(t, apps) })
	}
}

func testResumesAfterKill(t *testing.T, apps string) {
	sim := mdmsim.New(mdmsim.Options{Devices: 40, Seed: 7})
	// A little latency per request so that kills land mid-run.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(15 * time.Millisecond)
		sim.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	collectArgs := func(dir string) []string {
		return []string{"custos", "collect", "--quiet", "--case", dir, "--case-id", "IR-K", "--source", "intune", "--all",
			"--tenant", mdmsim.DefaultTenant, "--client-id", mdmsim.DemoClientID, "--graph-url", srv.URL, "--login-url", srv.URL,
			"--scope", "https://graph.microsoft.com/.default", "--graph-batch", "3", "--graph-apps", apps}
	}
	finish := func(dir string) {
		t.Helper()
		cmd := custosCmd(t, collectArgs(dir)[1:]...)
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 0 && code != 3 {
			t.Fatalf("collect exited %d: %v\n%s", code, err, out)
		}
	}

	// The reference: one uninterrupted run.
	clean := t.TempDir()
	start := time.Now()
	finish(clean)
	full := time.Since(start)
	want := readStaging(t, clean)

	// Kill at points spread over the run's length, each time resuming the
	// same staging, then let it finish.
	killed := t.TempDir()
	kills, maxDone, completed := 0, 0, false
	for i := 1; i <= 8; i++ {
		cmd := custosCmd(t, collectArgs(killed)[1:]...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(full * time.Duration(i) / 10)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			completed = true // it finished before the kill: nothing left to resume
			break
		}
		kills++
		// How far the checkpoint had got when the process died.
		if m, _ := filepath.Glob(filepath.Join(killed, preserve.StagingDir, "*.checkpoint.json")); len(m) == 1 {
			if c, err := collect.ReadCheckpoint(strings.TrimSuffix(m[0], ".checkpoint.json")); err == nil {
				maxDone = max(maxDone, len(c.Units))
			}
		}
	}
	if !completed {
		finish(killed)
	}
	got := readStaging(t, killed)
	if kills == 0 || maxDone == 0 {
		t.Fatalf("%d runs killed, at most %d units checkpointed: the test did not exercise resuming", kills, maxDone)
	}
	t.Logf("%d kills; up to %d units (of %d devices, and apps) were checkpointed when killed; resumed %d times", kills, maxDone, len(want.devices), got.resumed)
	if got.resumed == 0 {
		t.Error("the final acquisition does not record a resume")
	}
	if !slices.Equal(got.devices, want.devices) {
		t.Errorf("devices after %d kills: %d, want %d\n got %v\nwant %v", kills, len(got.devices), len(want.devices), got.devices, want.devices)
	}
	if !slices.Equal(got.apps, want.apps) {
		t.Errorf("apps after %d kills: %d, want %d", kills, len(got.apps), len(want.apps))
	}
	if !slices.Equal(got.gaps, want.gaps) {
		t.Errorf("gaps after %d kills:\n got %v\nwant %v", kills, got.gaps, want.gaps)
	}
}

type stagingSummary struct {
	devices, apps, gaps []string
	resumed             int
}

// readStaging checks the case's single, finished staging directory and
// summarises its records without times and raw references.
func readStaging(t *testing.T, caseDir string) stagingSummary {
	t.Helper()
	root := filepath.Join(caseDir, preserve.StagingDir)
	des, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	des = slices.DeleteFunc(des, func(de os.DirEntry) bool { return !de.IsDir() })
	if len(des) != 1 {
		var names []string
		for _, de := range des {
			names = append(names, de.Name())
		}
		t.Fatalf("staging holds %v, want one finished directory", names)
	}
	dir := filepath.Join(root, des[0].Name())
	var s stagingSummary
	var acq collect.Acquisition
	if b, err := os.ReadFile(filepath.Join(dir, collect.AcquisitionFile)); err != nil {
		t.Fatalf("not finished: %v", err)
	} else if err := json.Unmarshal(b, &acq); err != nil {
		t.Fatal(err)
	}
	s.resumed = len(acq.Resumed)
	seen := map[string]bool{}
	each := func(name string, fn func(line []byte)) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			fn(sc.Bytes())
		}
	}
	checkRef := func(ref collect.RawRef) {
		if ref.Path == "" {
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, ref.Path))
		sum := sha256.Sum256(b)
		if err != nil || hex.EncodeToString(sum[:]) != ref.SHA256 {
			t.Errorf("raw reference %s: %v", ref.Path, err)
		}
	}
	each(collect.DevicesFile, func(line []byte) {
		var d collect.Device
		if err := json.Unmarshal(line, &d); err != nil {
			t.Fatal(err)
		}
		if seen[d.Key] {
			t.Errorf("device %s written twice", d.Key)
		}
		seen[d.Key] = true
		checkRef(d.Raw)
		s.devices = append(s.devices, d.Key)
	})
	each(collect.AppsFile, func(line []byte) {
		var a collect.App
		if err := json.Unmarshal(line, &a); err != nil {
			t.Fatal(err)
		}
		checkRef(a.Raw)
		s.apps = append(s.apps, a.DeviceKey+" "+a.AppID+" "+a.Version)
	})
	each(collect.GapsFile, func(line []byte) {
		var g collect.Gap
		if err := json.Unmarshal(line, &g); err != nil {
			t.Fatal(err)
		}
		s.gaps = append(s.gaps, fmt.Sprintf("%s %s %s", g.DeviceKey, g.Telemetry, g.Reason))
	})
	// The request log: whole lines, numbers unique and rising.
	last := 0
	each(filepath.Join("raw", "intune", "requests.ndjson"), func(line []byte) {
		var ex collect.Exchange
		if err := json.Unmarshal(line, &ex); err != nil {
			t.Errorf("request log line %q: %v", line, err)
		}
		if ex.Seq <= last {
			t.Errorf("request log seq %d after %d", ex.Seq, last)
		}
		last = ex.Seq
	})
	if _, err := os.Stat(collect.CheckpointPath(dir)); !os.IsNotExist(err) {
		t.Errorf("checkpoint left behind: %v", err)
	}
	for _, l := range [][]string{s.devices, s.apps, s.gaps} {
		slices.Sort(l)
	}
	return s
}
