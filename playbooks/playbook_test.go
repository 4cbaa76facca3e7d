package playbooks

import (
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"

	"github.com/custos-ir/custos/collect"
)

func TestBuiltinPlaybooksPassTheirTests(t *testing.T) {
	pbs, err := LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	if len(pbs) < 2 {
		t.Fatalf("loaded %d built-in playbooks", len(pbs))
	}
	for _, p := range pbs {
		for _, err := range p.RunTests() {
			t.Error(err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good := `id: test-playbook
title: t
tactic: TA0041
techniques: [T1623.001]
role: context
severity: low
confidence: low
scope: device
match: device.Compromised.Value == "true"
rationale: r
tests:
  - {name: a, expect: match, device: {compromised: {value: "true"}}}
  - {name: b, expect: no_match, device: {compromised: {value: "false"}}}
`
	if _, err := Parse("good.yaml", []byte(good)); err != nil {
		t.Fatalf("good playbook rejected: %v", err)
	}
	for name, tc := range map[string]struct{ old, new, want string }{
		"type error":      {`match: device.Compromised.Value == "true"`, `match: device.Compromised.Value == 1`, "good.yaml:9: match:"},
		"unknown field":   {`match: device.Compromised.Value == "true"`, `match: device.Compromised.Value == "true"` + "\nmatches: x", "field matches not found"},
		"unknown var":     {`match: device.Compromised.Value == "true"`, `match: phone.Rooted`, "unknown name phone"},
		"not bool":        {`match: device.Compromised.Value == "true"`, `match: device.Name`, "expected bool"},
		"bad technique":   {`[T1623.001]`, `[T1059]`, `"T1059" is not an active TA0041 technique`},
		"bad severity":    {`severity: low`, `severity: urgent`, "good.yaml:6: severity"},
		"one-sided tests": {`expect: no_match`, `expect: match`, "need at least one match and one no_match"},
		"bad telemetry":   {`scope: device`, "scope: device\nrequires: [sms]", `"sms"`},
		"event, no types": {`scope: device`, "scope: event", "event_types: an event-scope playbook names"},
		"types on device": {`scope: device`, "scope: device\nevent_types: [dns]", "only an event-scope playbook reads events"},
		"earlier on app":  {`scope: device`, "scope: app\nearlier: [file_pushed.file_path]", "only an event-scope playbook reads earlier"},
		"bad earlier":     {`scope: device`, "scope: event\nevent_types: [dns]\nearlier: [file_pushed]", "want EVENT_TYPE.FIELD"},
		"adjust no why":   {`scope: device`, "scope: device\nadjust: [{when: 'true', severity: high}]", "adjust: 1: say why"},
		"adjust bad sev":  {`scope: device`, "scope: device\nadjust: [{when: 'true', severity: dire, why: x}]", `severity "dire"`},
		"adjust not bool": {`scope: device`, "scope: device\nadjust: [{when: 'device.Name', severity: high, why: x}]", "expected bool"},
		"revoked tech ok": {`[T1623.001]`, `[T1605]`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			src := strings.Replace(good, tc.old, tc.new, 1)
			p, err := Parse("good.yaml", []byte(src))
			if tc.want == "" {
				if err != nil || p.Techniques[0] != "T1623.001" {
					t.Errorf("revoked T1605: %v, techniques %v; want it replaced by T1623.001", err, p.Techniques)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestFailingInlineTestIsReported(t *testing.T) {
	src := `id: wrong-expectations
title: t
tactic: TA0041
techniques: [T1623.001]
role: context
severity: low
confidence: low
scope: device
match: device.Compromised.Value == "true"
rationale: r
tests:
  - {name: claims match, expect: match, device: {compromised: {value: "false"}}}
  - {name: b, expect: no_match, device: {compromised: {value: "false"}}}
`
	p, err := Parse("x.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	errs := p.RunTests()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "claims match") {
		t.Errorf("RunTests = %v, want one failure for 'claims match'", errs)
	}
}

// A precondition that reads the device only is evaluated once per device.
func TestReadsDeviceOnly(t *testing.T) {
	for src, want := range map[string]bool{
		`device.Compliance == "noncompliant"`:         true,
		`DaysSince(device.SecurityPatchLevel) > 180`:  true,
		`app.AppID != "" && device.Platform == "ios"`: false,
		`fleet.Developer(device)`:                     false,
		`IOC("app:id", device.Name)`:                  false,
		`event.Str("x") != ""`:                        false,
	} {
		prog, err := expr.Compile(src, expr.Env(Env{}))
		if err != nil {
			t.Fatal(err)
		}
		if got := readsDeviceOnly(prog.Node()); got != want {
			t.Errorf("%s: device only %v, want %v", src, got, want)
		}
	}
}

// A device counts once for an app, however its records come: together,
// apart, repeated.
func TestFleetCounts(t *testing.T) {
	f := NewFleet()
	add := func(dev, app string) { f.CountApp(collect.App{DeviceKey: dev, AppID: app}) }
	add("d1", "a")
	add("d1", "b")
	add("d1", "a")
	add("d2", "a")
	add("d1", "a") // d1 again, after d2
	add("d1", "c")
	add("d3", "b")
	f.CountApp(collect.App{DeviceKey: "d3", Name: " Teams ", Publisher: "Microsoft"})
	f.CountApp(collect.App{DeviceKey: "d2", Name: "teams", Publisher: "MICROSOFT"})
	for app, want := range map[string]int{"a": 2, "b": 2, "c": 1, "z": 0} {
		if got := f.DevicesWithApp(&collect.App{AppID: app}); got != want {
			t.Errorf("app %s on %d devices, want %d", app, got, want)
		}
	}
	if got := f.DevicesWithApp(&collect.App{Name: "TEAMS", Publisher: "microsoft "}); got != 2 {
		t.Errorf("Teams by name on %d devices, want 2", got)
	}
	if f.Devices() != 3 {
		t.Errorf("%d devices, want 3", f.Devices())
	}
}

// IOC and IOCs take any value: one that is not a string (a missing field)
// matches nothing rather than failing the analysis.
func TestIOCOfNonString(t *testing.T) {
	prog, err := expr.Compile(`IOC("domain-name:value", event.Fields.host) || IOCs("app:id", event.Fields.n) != ""`, expr.Env(Env{}), expr.AsBool())
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvaluation(nil, time.Now(), NewFleet(), nil).record(&collect.Device{Key: "d"}, nil, &collect.Event{Fields: map[string]any{"n": 1.0}})
	if got, err := expr.Run(prog, ev.boxed); err != nil || got != false {
		t.Fatalf("IOC of a missing field: %v, %v", got, err)
	}
}

// Events are read while apps are counted: their playbooks see no
// partial prevalence; app and device playbooks see the whole fleet.
func TestEventsSeeNoPartialFleet(t *testing.T) {
	an := NewAnalyzer(nil, Options{DeveloperGroups: []string{"dev"}})
	an.CountApp(collect.App{DeviceKey: "d1", AppID: "a"})
	if n := an.eventEval.env.Fleet.Devices(); n != 0 {
		t.Errorf("events see %d devices with apps, want 0", n)
	}
	if !an.eventEval.env.Fleet.Developer(&collect.Device{Category: "dev"}) {
		t.Error("events do not see the declared developer groups")
	}
	if n := an.eval.env.Fleet.Devices(); n != 1 {
		t.Errorf("apps see %d devices with apps, want 1", n)
	}
}
