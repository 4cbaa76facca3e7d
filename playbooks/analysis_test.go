package playbooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/jsonschema"
	"github.com/custos-ir/custos/iocs"
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
	a, err := Analyze(fleetInput(), pbs, Options{Now: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), Tool: "test"})
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
	// Intune reports no device logs: the ADB playbooks cannot see
	// T1623.001 there, so it is not observable even where the jailbreak
	// playbook saw nothing.
	if cov["intune:00/T1623.001"].State != StateFinding || cov["intune:05/T1623.001"].State != StateNotObservable ||
		!strings.Contains(cov["intune:05/T1623.001"].Why, "device_logs") {
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

// Event-scope playbooks: one finding per playbook and device, its events
// as observations with their evidence, severity from the worst event,
// indicators with their provenance; events of devices no archive
// describes are counted, not analysed.
func TestAnalyzeEvents(t *testing.T) {
	pbs, err := LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	ref := ArchiveRef{Name: "B.tar.zst", SHA256: strings.Repeat("b", 64), Verified: true}
	in := Input{Origin: map[string]ArchiveRef{}, Archives: []ArchiveRef{ref}}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, d := range []collect.Device{
		{Key: "amapi:victim", Source: "amapi", Name: "victim", Platform: "android", Compromised: collect.Compromised{Value: "false"}},
		{Key: "amapi:dev", Source: "amapi", Name: "dev", Platform: "android", Category: "developers", Compromised: collect.Compromised{Value: "false"}},
	} {
		in.Devices = append(in.Devices, d)
		in.Origin[d.Key] = ref
	}
	ev := func(dev, typ string, i int, fields map[string]any) collect.Event {
		return collect.Event{DeviceKey: dev, Type: typ, Time: at.Add(time.Duration(i) * time.Minute), Fields: fields,
			Raw: collect.RawRef{Path: "raw/amapi/000003.json", SHA256: strings.Repeat("e", 64), Pointer: fmt.Sprintf("/messages/0/data/usageLogEvents/%d", i)}}
	}
	in.Events = []collect.Event{
		ev("amapi:victim", "adb_shell_command", 0, map[string]any{"shell_cmd": "pm list packages"}),
		ev("amapi:victim", "adb_shell_command", 1, map[string]any{"shell_cmd": "pm install /data/local/tmp/a.apk"}),
		ev("amapi:victim", "app_process_start", 2, map[string]any{"process_name": "com.serv.services", "apk_sha256_hash": "AA", "package_names": []any{"com.serv.services"}}),
		ev("amapi:victim", "dns", 3, map[string]any{"hostname": "example.org"}),
		ev("amapi:dev", "adb_shell_command", 4, map[string]any{"shell_cmd": "logcat -d"}),
		ev("amapi:gone", "adb_shell_command", 5, map[string]any{"shell_cmd": "id"}),
	}
	set := &iocs.Set{}
	set.AddTerm("file:hashes.sha256", "aa", "TestSpy")
	a, err := Analyze(in, pbs, Options{IOCs: set, Now: at, Tool: "test", DeveloperGroups: []string{"developers"}})
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, a)
	got := map[string]Finding{}
	for _, f := range a.Findings {
		got[f.Playbook+"@"+f.Device] = f
	}
	adb := got["adb-shell-command@amapi:victim"]
	if adb.Severity != "high" || adb.ObservationCount != 2 || len(adb.Observations) != 2 || len(adb.Adjustments) != 1 {
		t.Fatalf("ADB finding on the victim: %+v", adb)
	}
	if o := adb.Observations[1]; o.Severity != "high" || o.Facts[0].Value != "pm install /data/local/tmp/a.apk" ||
		o.Evidence.Pointer != "/messages/0/data/usageLogEvents/1" || o.Evidence.ArchiveSHA256 != ref.SHA256 || o.Evidence.Path != "data/raw/amapi/000003.json" {
		t.Errorf("observation %+v", o)
	}
	if !adb.ObservedFrom.Equal(at) || !adb.ObservedTo.Equal(at.Add(time.Minute)) {
		t.Errorf("observed %v to %v", adb.ObservedFrom, adb.ObservedTo)
	}
	if dev := got["adb-shell-command@amapi:dev"]; dev.Severity != "low" {
		t.Errorf("developer's phone: %+v", dev)
	}
	ioc := got["ioc-process-start@amapi:victim"]
	if ioc.Severity != "critical" || ioc.Role != "execution" || len(ioc.Indicators) != 1 || ioc.Indicators[0].Malware != "TestSpy" {
		t.Errorf("IOC process start: %+v", ioc)
	}
	if !slices.Contains(ioc.CorroboratedBy, adb.ID) {
		t.Errorf("the process start is not corroborated by the ADB install: %v", ioc.CorroboratedBy)
	}
	if a.Fleet.PhonesWithExecution != 2 || a.Fleet.FindingsByTechnique["T1623.001"] != 2 || a.Fleet.FindingsByTechnique["none"] != 1 || a.Fleet.FindingsBySeverity["critical"] != 1 {
		t.Errorf("fleet summary %+v", a.Fleet)
	}
	if a.EventsRead != 5 || a.EventsUnattributed != 1 {
		t.Errorf("events read %d, unattributed %d; want 5 and 1 (the DNS event has no playbook)", a.EventsRead, a.EventsUnattributed)
	}
	for k := range got {
		if strings.HasSuffix(k, "@amapi:gone") {
			t.Errorf("finding on a device no archive describes: %s", k)
		}
	}
}

// The same phone seen through Intune and the Android Management API is
// joined by serial number or IMEI: the records name each other, and the
// findings of one source corroborate those of the other.
func TestSameDeviceAcrossSources(t *testing.T) {
	pbs, err := LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Origin: map[string]ArchiveRef{}}
	yes, no := true, false
	in.Devices = []collect.Device{
		{Key: "intune:1", Source: "intune", Name: "phone", Platform: "android", Serial: "r5ct12345678", Compromised: collect.Compromised{Value: "true", Field: "jailBroken", RawValue: "True"}},
		{Key: "amapi:a", Source: "amapi", Name: "phone", Platform: "android", Serial: "R5CT12345678", Posture: collect.Posture{ADBEnabled: &yes}, Compromised: collect.Compromised{Value: "false"}},
		{Key: "amapi:b", Source: "amapi", Name: "other", Platform: "android", IMEI: "35-209900-176148-1", Posture: collect.Posture{ADBEnabled: &no}},
		{Key: "jamf:b", Source: "jamf", Name: "other", Platform: "android", IMEI: "35209900176148", Serial: "unknown"},
		{Key: "intune:z", Source: "intune", Name: "zeros", Platform: "android", Serial: "000000000000"},
		{Key: "amapi:z", Source: "amapi", Name: "zeros too", Platform: "android", Serial: "000000000000"},
		{Key: "amapi:m1", Source: "amapi", Name: "cheap phone", Platform: "android", Serial: "0123456789ABCDEF"},
		{Key: "amapi:m2", Source: "amapi", Name: "another cheap phone", Platform: "android", Serial: "0123456789abcdef"},
	}
	a, err := Analyze(in, pbs, Options{Now: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, a)
	same := map[string][]string{}
	for _, d := range a.Devices {
		same[d.Key] = d.SameDeviceAs
	}
	if !slices.Equal(same["intune:1"], []string{"amapi:a"}) || !slices.Equal(same["amapi:a"], []string{"intune:1"}) ||
		!slices.Equal(same["amapi:b"], []string{"jamf:b"}) || len(same["intune:z"]) != 0 || len(same["amapi:m1"]) != 0 {
		t.Fatalf("same_device_as %v", same)
	}
	if a.Fleet.Devices != 8 || a.Fleet.Phones != 6 || a.Fleet.BySource["amapi"] != 5 || a.Fleet.ByPlatform["android"] != 8 {
		t.Errorf("fleet summary %+v", a.Fleet)
	}
	byPlaybook := map[string]Finding{}
	for _, f := range a.Findings {
		byPlaybook[f.Playbook] = f
	}
	root, adb := byPlaybook["device-jailbroken-or-rooted"], byPlaybook["install-and-debug-settings"]
	if root.Device != "intune:1" || adb.Device != "amapi:a" || !slices.Contains(root.CorroboratedBy, adb.ID) || !slices.Contains(adb.CorroboratedBy, root.ID) {
		t.Errorf("findings of the two sources do not corroborate each other: %+v %+v", root, adb)
	}
}

// checkSchema validates an analysis against docs/findings.schema.json.
func checkSchema(t *testing.T, a *Analysis) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "docs", "findings.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jsonschema.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range s.Validate(data) {
		t.Errorf("findings.json against its schema: %v", err)
	}
}

// Every analysis the tests make, and an empty one, follow the documented
// schema; a member the schema does not know is caught.
func TestFindingsSchema(t *testing.T) {
	pbs, err := LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	now := Options{Now: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), Tool: "test"}
	a, err := Analyze(fleetInput(), pbs, now)
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, a)
	empty, err := Analyze(Input{}, pbs, now)
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, empty)

	raw, _ := os.ReadFile(filepath.Join("..", "docs", "findings.schema.json"))
	s, _ := jsonschema.Parse(raw)
	data, _ := json.Marshal(a)
	data = []byte(strings.Replace(string(data), `"rationale":`, `"surprise":1,"rationale":`, 1))
	if errs := s.Validate(data); len(errs) == 0 {
		t.Error("an undocumented member passed the schema")
	}
}

// An event record too large to read is skipped and counted; the events
// around it are read.
func TestStreamEventsSkipsOversized(t *testing.T) {
	small := func(id string) string {
		return `{"device_key":"d","time":"2026-11-26T00:00:00Z","type":"adb_shell_command","fields":{"event_id":"` + id + `"},"raw":{"path":"raw/x","sha256":"","pointer":""}}` + "\n"
	}
	huge := `{"device_key":"d","time":"2026-11-26T00:00:00Z","type":"x","fields":{"blob":"` + strings.Repeat("a", maxRecordLine) + `"},"raw":{"path":"","sha256":"","pointer":""}}` + "\n"
	var ids []string
	skipped := 0
	err := streamEvents(strings.NewReader(small("1")+huge+small("2")+strings.TrimSuffix(small("3"), "\n")), ArchiveRef{}, []collect.Device{{Key: "d"}},
		LoadOptions{Events: func(_ ArchiveRef, d *collect.Device, e collect.Event) error {
			if d == nil {
				t.Error("device not found")
			}
			ids = append(ids, e.Fields["event_id"].(string))
			return nil
		}, EventTooLarge: func() { skipped++ }})
	if err != nil || !slices.Equal(ids, []string{"1", "2", "3"}) || skipped != 1 {
		t.Fatalf("ids %v, skipped %d, err %v", ids, skipped, err)
	}
}

// WriteJSON writes what json.Encoder with a two-space indent writes.
func TestWriteJSONMatchesEncoder(t *testing.T) {
	pbs, err := LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(fleetInput(), pbs, Options{Now: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), Tool: "test <&>"})
	if err != nil {
		t.Fatal(err)
	}
	for _, variant := range []*Analysis{a, {Version: 1}, {Version: 1, Devices: []DeviceSummary{}, Gaps: []collect.Gap{}, Findings: a.Findings[:1]}} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(variant); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := variant.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("WriteJSON:\n%.2000s\njson.Encoder:\n%.2000s", got.Bytes(), want.Bytes())
		}
	}
}

// The hand-written elements of findings.json are what json.MarshalIndent
// writes, whatever the strings hold and whichever members are empty.
func FuzzAppendElements(f *testing.F) {
	f.Add("amapi:1", "T1623.001", "not_observable", "no <source> & none", "", "SN\u2028", 2)
	f.Add("", "", "", "", "\xff", "", 0)
	f.Fuzz(func(t *testing.T, a, b, c, d, e, g string, same int) {
		cov := Coverage{Device: a, Technique: b, State: c, Why: d}
		dev := DeviceSummary{Key: a, Name: b, Platform: c, OSVersion: d, Ownership: e, Compliance: g, Source: a,
			User: e, Serial: g, LastSeenAt: d, Archive: b, State: c}
		for i := range same % 4 {
			dev.SameDeviceAs = append(dev.SameDeviceAs, fmt.Sprint(a, i))
		}
		for _, x := range []struct {
			got []byte
			v   any
		}{{appendCoverage(nil, &cov), &cov}, {appendDevice(nil, &dev), &dev}} {
			want, err := json.MarshalIndent(x.v, "    ", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(x.got, want) {
				t.Fatalf("got\n%s\nwant\n%s", x.got, want)
			}
		}
	})
}

// Apps evaluated on every core (evalApps) give the findings App gives
// one record at a time, in the same order.
func TestEvalAppsMatchesApp(t *testing.T) {
	pbs, err := LoadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	set, err := iocs.Load("../third_party/iocs")
	if err != nil {
		t.Fatal(err)
	}
	var devices []collect.Device
	var lines bytes.Buffer
	var apps []collect.App
	for i := range 400 {
		d := collect.Device{Key: fmt.Sprintf("amapi:%04d", i), Name: fmt.Sprint("phone ", i), Platform: "android", Compliance: "compliant"}
		if i%7 == 0 {
			d.Compliance = "noncompliant"
		}
		devices = append(devices, d)
		for j := range 40 {
			a := collect.App{DeviceKey: d.Key, AppID: fmt.Sprintf("com.example.app%d", j), Name: fmt.Sprint("App ", j), InstallSource: "store",
				Raw: collect.RawRef{Path: "raw/amapi/000001.json", SHA256: strings.Repeat("a", 64), Pointer: fmt.Sprintf("/devices/%d/applicationReports/%d", i, j)}}
			switch {
			case j == 39 && i%5 == 0:
				a.AppID, a.InstallSource = fmt.Sprintf("com.rare.%d", i), "sideloaded"
			case j == 38 && i%11 == 0:
				a.AppID = "com.serv.services" // an indicator
			case j == 37 && i%13 == 0:
				a.Name, a.AppID = "Magisk", ""
			}
			apps = append(apps, a)
			line, _ := json.Marshal(a)
			lines.Write(append(line, '\n'))
		}
	}
	lines.WriteString(`{"device_key":"amapi:none","app_id":"com.serv.services"}` + "\n") // no device: counted only
	origin := ArchiveRef{Name: "A.tar.zst", SHA256: strings.Repeat("b", 64), Verified: true}
	byKey := map[string]*collect.Device{}
	for i := range devices {
		byKey[devices[i].Key] = &devices[i]
	}
	opts := Options{Now: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), IOCs: set}
	serial, parallel := NewAnalyzer(pbs, opts), NewAnalyzer(pbs, opts)
	for _, an := range []*Analyzer{serial, parallel} {
		for _, a := range apps {
			an.CountApp(a)
		}
	}
	for i := range apps {
		if err := serial.App(origin, byKey[apps[i].DeviceKey], &apps[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := parallel.evalApps(bytes.NewReader(lines.Bytes()), origin, byKey); err != nil {
		t.Fatal(err)
	}
	if len(serial.listed) < 100 || !reflect.DeepEqual(serial.listed, parallel.listed) {
		t.Fatalf("%d findings one by one, %d on every core; differ: %v", len(serial.listed), len(parallel.listed), !reflect.DeepEqual(serial.listed, parallel.listed))
	}
}
