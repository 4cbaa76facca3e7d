package playbooks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
)

func fleetInput() Input {
	in := Input{Origin: map[string]ArchiveRef{}}
	ref := ArchiveRef{Name: "A.tar.zst", SHA256: strings.Repeat("a", 64), Verified: true}
	in.Archives = []ArchiveRef{ref}
	raw := func(i int) collect.RawRef {
		return collect.RawRef{Path: "raw/intune/000001.json", SHA256: strings.Repeat("f", 64), Pointer: fmt.Sprintf("/value/%d", i)}
	}
	for i := range 12 {
		d := collect.Device{Key: fmt.Sprintf("intune:%02d", i), Source: "intune", Name: fmt.Sprintf("phone-%02d", i),
			Platform: "android", Ownership: "corporate", Compliance: "compliant",
			Compromised: collect.Compromised{Value: "false"}, Raw: raw(i)}
		switch i {
		case 0: // jailbroken and noncompliant with a singleton app
			d.Platform, d.Compliance = "ios", "noncompliant"
			d.Compromised = collect.Compromised{Value: "true", Field: "jailBroken", RawValue: "True"}
		case 1: // noncompliant with a singleton app
			d.Compliance = "noncompliant"
		case 2: // compliant with a singleton app (developer)
		case 3:
			d.Ownership = "personal"
			in.Gaps = append(in.Gaps, collect.Gap{DeviceKey: d.Key, Source: "intune", Telemetry: collect.TelemetryAppInventory, Reason: collect.ReasonPersonalScope})
		}
		in.Devices = append(in.Devices, d)
		in.Origin[d.Key] = ref
		in.Apps = append(in.Apps, collect.App{DeviceKey: d.Key, Name: "Outlook", Publisher: "Microsoft", Raw: raw(100 + i)})
		if i < 3 {
			in.Apps = append(in.Apps, collect.App{DeviceKey: d.Key, Name: fmt.Sprintf("Only-%d", i), Raw: raw(200 + i)})
		}
	}
	in.Gaps = append(in.Gaps, collect.Gap{Source: "intune", Telemetry: collect.TelemetryDeviceLogs, Reason: collect.ReasonNotSupported})
	return in
}

func TestAnalyze(t *testing.T) {
	pbs, err := LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(fleetInput(), pbs, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), "test")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Finding{}
	for _, f := range a.Findings {
		key := f.Playbook + "@" + f.Device
		if f.App != nil {
			key += "/" + f.App.Name
		}
		got[key] = f
	}
	jb, ok := got["device-jailbroken-or-rooted@intune:00"]
	if !ok || len(got) != 3 {
		t.Fatalf("findings %v", keys(got))
	}
	rare0 := got["app-rare-on-noncompliant-device@intune:00/Only-0"]
	rare1 := got["app-rare-on-noncompliant-device@intune:01/Only-1"]
	if rare1.ID == "" || rare0.ID == "" {
		t.Fatalf("rare-app findings missing: %v", keys(got))
	}
	// Corroboration: the two findings on device 00 back each other.
	if jb.Confidence != "high" || jb.BaseConfidence != "medium" || len(jb.CorroboratedBy) != 1 || jb.CorroboratedBy[0] != rare0.ID {
		t.Errorf("jailbreak finding not corroborated: %+v", jb)
	}
	if rare1.Confidence != "low" || len(rare1.CorroboratedBy) != 0 {
		t.Errorf("a lone rare app must stay low confidence: %+v", rare1)
	}
	// Evidence points into the archive.
	e := rare1.Evidence[1]
	if e.ArchiveSHA256 != strings.Repeat("a", 64) || e.Path != "data/raw/intune/000001.json" || e.Pointer != "/value/201" {
		t.Errorf("evidence %+v", e)
	}
	if !strings.Contains(rare1.Facts[1].Value, "on 1 of 12 devices") {
		t.Errorf("prevalence fact %q", rare1.Facts[1].Value)
	}
	states := map[string]string{}
	for _, d := range a.Devices {
		states[d.Key] = d.State
	}
	if states["intune:01"] != StateFinding {
		t.Errorf("a device whose only finding is tactic-level context is still a device with a finding: %v", states["intune:01"])
	}
	if states["intune:00"] != StateFinding || states["intune:03"] != StateNotObservable || states["intune:05"] != StateObservedClear || states["intune:02"] != StateObservedClear {
		t.Errorf("device states %v", states)
	}
	cov := map[string]Coverage{}
	for _, c := range a.Coverage {
		cov[c.Device+"/"+c.Technique] = c
	}
	if cov["intune:00/T1623.001"].State != StateFinding || cov["intune:05/T1623.001"].State != StateObservedClear {
		t.Errorf("coverage of T1623.001: %+v %+v", cov["intune:00/T1623.001"], cov["intune:05/T1623.001"])
	}
	if c := cov["intune:05/T1575"]; c.State != StateNotObservable || c.Why == "" {
		t.Errorf("a technique no playbook observes must be not_observable with a reason: %+v", c)
	}
	// findings.json round-trips.
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back Analysis
	if err := json.Unmarshal(data, &back); err != nil || len(back.Findings) != 3 {
		t.Fatalf("round trip: %v", err)
	}
}

func keys(m map[string]Finding) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestUserPlaybookOverridesBuiltin(t *testing.T) {
	dir := t.TempDir()
	src, err := builtin.ReadFile("defs/device-jailbroken-or-rooted.yaml")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(src), "severity: high", "severity: critical", 1)
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte(changed), 0o644)
	pbs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pbs {
		if p.ID == "device-jailbroken-or-rooted" {
			n++
			if p.Severity != "critical" || !strings.HasSuffix(p.File, "mine.yaml") {
				t.Errorf("override not applied: %s %s", p.Severity, p.File)
			}
		}
	}
	if n != 1 {
		t.Errorf("playbook present %d times", n)
	}
}

func FuzzParsePlaybook(f *testing.F) {
	for _, name := range []string{"defs/device-jailbroken-or-rooted.yaml", "defs/app-rare-on-noncompliant-device.yaml"} {
		b, err := builtin.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("id: x\nmatch: [[[\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		// A playbook that loads must run its own tests without panicking.
		p.RunTests()
	})
}
