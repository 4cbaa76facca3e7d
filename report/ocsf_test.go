package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
)

// -update rewrites the golden files. Another test file of the package may
// declare the flag too; it is defined here only if it is not already.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// ocsfHostile is untrusted text as a device or an MDM could report it:
// markup, JSON and line separators, quotes and backslashes.
const ocsfHostile = "Update</script><img src=x onerror=alert(1)> \"q\" \\ \n\u2028 {\"x\":1} & ${x}"

// ocsfTestModel is an analysis with a finding of every scope: a device
// verdict corroborated by an app finding, an app finding with hostile
// names and an indicator, an event finding with observations from an
// unverified archive, and an informational finding on a device of
// unknown platform.
func ocsfTestModel() *Model {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	seen := time.Date(2026, 11, 25, 6, 55, 8, 0, time.UTC)
	from := time.Date(2026, 11, 26, 8, 5, 3, 818916558, time.UTC)
	to := time.Date(2026, 11, 26, 8, 5, 24, 818916558, time.UTC)
	sha := func(c string) string { return strings.Repeat(c, 64) }
	intune := playbooks.ArchiveRef{Name: "IR-7-intune.tar.zst", SHA256: sha("a"), AcquisitionID: "acq-1", Verified: true}
	amapi := playbooks.ArchiveRef{Name: "IR-7-amapi.tar.zst", SHA256: sha("d"), AcquisitionID: "acq-2", Verified: false}
	a := &playbooks.Analysis{
		Version: 1, GeneratedAt: at, Tool: "custos 0.1.0-test", AttackRelease: "Mobile ATT&CK 18.1",
		Tactic: playbooks.TacticRef{ID: "TA0041", Name: "Execution"}, Unverified: true,
		Archives: []playbooks.ArchiveRef{amapi, intune},
		Devices: []playbooks.DeviceSummary{
			{Key: "amapi:ca4455bf", Name: "samsung SM-S918B", Platform: "android", OSVersion: "15", Ownership: "corporate", Compliance: "compliant", Source: "amapi", Archive: amapi.SHA256, State: playbooks.StateFinding},
			{Key: "intune:e1f4b5f8", Name: ocsfHostile, Platform: "ios", OSVersion: "18.7.2", Ownership: "personal", Compliance: "noncompliant", Source: "intune", User: "nadia.gupta@contoso.com", Serial: "4BVDT87YJM", LastSeenAt: seen.Format(time.RFC3339), Archive: intune.SHA256, State: playbooks.StateFinding},
			{Key: "intune:0000", Name: "", Platform: "unknown", Ownership: "unknown", Compliance: "unknown", Source: "intune", Archive: intune.SHA256, State: playbooks.StateFinding},
		},
		Findings: []playbooks.Finding{
			{
				ID: "F-39cc8daf7c20", Playbook: "adb-shell-command", Title: "Shell command run over ADB", Tactic: "TA0041",
				Techniques: []string{"T1623.001"}, Role: "execution", Device: "amapi:ca4455bf", DeviceName: "samsung SM-S918B",
				Severity: "critical", Confidence: "high", BaseConfidence: "high", CorroboratedBy: []string{},
				ObservedFrom: &from, ObservedTo: &to, ObservationCount: 7,
				Facts:     []playbooks.Fact{{Label: "Device", Value: "samsung SM-S918B (android 15, SM-S918B)"}},
				Rationale: "A shell command was run over ADB.",
				Evidence:  []playbooks.EvidenceRef{{Archive: amapi.Name, ArchiveSHA256: amapi.SHA256, Path: "data/raw/amapi/000001.json", FileSHA256: sha("1"), Pointer: "/devices/0"}},
				Observations: []playbooks.Observation{
					{Time: from, Type: "adb_shell_command", Severity: "high", Facts: []playbooks.Fact{{Label: "Command", Value: "id"}},
						Evidence: playbooks.EvidenceRef{Archive: amapi.Name, ArchiveSHA256: amapi.SHA256, Path: "data/raw/amapi/events/000003.json", FileSHA256: sha("2"), Pointer: "/receivedMessages/4", Excerpt: `{"command":"id"}`}},
					{Time: to, Type: "adb_shell_command", Severity: "critical", Facts: []playbooks.Fact{{Label: "Command", Value: "su -c " + ocsfHostile}},
						Evidence: playbooks.EvidenceRef{Archive: amapi.Name, ArchiveSHA256: amapi.SHA256, Path: "data/raw/amapi/events/000003.json", FileSHA256: sha("2"), Pointer: "/receivedMessages/9"}},
				},
				Response: playbooks.Response{Isolate: []string{"Remove the device from the network"}},
			},
			{
				ID: "F-2a6bf79c7ced", Playbook: "device-jailbroken-or-rooted", Title: "Device reports a jailbreak or root", Tactic: "TA0041",
				Techniques: []string{"T1623.001", "T1658"}, Role: "context", Device: "intune:e1f4b5f8", DeviceName: ocsfHostile,
				Severity: "high", Confidence: "high", BaseConfidence: "medium", CorroboratedBy: []string{"F-64a366397264"},
				ObservedFrom: &seen, ObservedTo: &seen,
				Facts:       []playbooks.Fact{{Label: "Source verdict", Value: "intune reports jailBroken = True"}},
				Adjustments: []string{"raised: the device is noncompliant"},
				Rationale:   "The management source reports that the device is jailbroken or rooted.",
				Evidence:    []playbooks.EvidenceRef{{Archive: intune.Name, ArchiveSHA256: intune.SHA256, Path: "data/raw/intune/000002.json", FileSHA256: sha("3"), Pointer: "/value/43", Excerpt: ocsfJSON(map[string]string{"deviceName": ocsfHostile})}},
				Response:    playbooks.Response{Triage: []string{"Confirm the verdict with the user"}, Preserve: []string{"Keep the device powered"}},
			},
			{
				ID: "F-64a366397264", Playbook: "app-indicator-match", Title: "App matches an indicator of compromise", Tactic: "TA0041",
				Role: "context", Device: "intune:e1f4b5f8", DeviceName: ocsfHostile,
				App:      &playbooks.AppRef{Name: ocsfHostile, Version: "1.0 <b>", Publisher: "Evil & Co", AppID: "com.example.update"},
				Severity: "medium", Confidence: "medium", BaseConfidence: "low", CorroboratedBy: []string{"F-2a6bf79c7ced"},
				Facts:      []playbooks.Fact{{Label: "App", Value: ocsfHostile}},
				Indicators: []playbooks.IOCRef{{ID: "indicator--0b7c", Malware: "NoviSpy", Bundle: "novispy.json", Key: "app_id", Value: "com.example.update"}},
				Rationale:  "The app matches a published indicator.",
				Evidence: []playbooks.EvidenceRef{
					{Archive: intune.Name, ArchiveSHA256: intune.SHA256, Path: "data/raw/intune/000002.json", FileSHA256: sha("3"), Pointer: "/value/43"},
					{Archive: intune.Name, ArchiveSHA256: intune.SHA256, Path: "data/raw/intune/apps/000009.json", FileSHA256: sha("4"), Pointer: "/value/0", Excerpt: `{"displayName":"x"}`},
				},
			},
			{
				ID: "F-0000aaaa0000", Playbook: "device-unknown-platform", Title: "Device of unknown platform", Tactic: "TA0041",
				Role: "context", Device: "intune:0000", Severity: "info", Confidence: "low", BaseConfidence: "low",
				Rationale: "Context only.",
				Evidence:  []playbooks.EvidenceRef{{Archive: "missing.tar.zst", Path: "data/raw/intune/000002.json", Pointer: "/value/7"}},
			},
		},
	}
	return Build(Input{Case: preserve.CaseInfo{ID: "IR-7", Title: "OCSF"}, Analysis: a, Tool: "custos 0.1.0-test", Generated: at})
}

func ocsfJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func ocsfOutput(t *testing.T, m *Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := OCSF(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ocsfEvents decodes OCSF output, numbers as json.Number so that integers
// and floats can be told apart.
func ocsfEvents(t *testing.T, out []byte) []any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	events, ok := v.([]any)
	if !ok {
		t.Fatalf("output is a %T, want a JSON array", v)
	}
	return events
}

func TestOCSFValidatesAgainstSchema(t *testing.T) {
	s := loadOCSFSchema(t)
	models := map[string]*Model{"ocsfTestModel": ocsfTestModel(), "testModel": testModel()}
	for _, name := range slices.Sorted(maps.Keys(models)) {
		m := models[name]
		events := ocsfEvents(t, ocsfOutput(t, m))
		if len(events) != len(m.Analysis.Findings) {
			t.Fatalf("%s: %d events for %d findings", name, len(events), len(m.Analysis.Findings))
		}
		uids := map[any]bool{}
		for _, e := range events {
			uids[e.(map[string]any)["metadata"].(map[string]any)["uid"]] = true
		}
		if len(uids) != len(events) {
			t.Errorf("%s: %d distinct metadata.uid for %d events", name, len(uids), len(events))
		}
		for i, e := range events {
			// A related finding is named by its event's metadata.uid.
			related, _ := e.(map[string]any)["finding_info"].(map[string]any)["related_events"].([]any)
			for _, r := range related {
				if uid := r.(map[string]any)["uid"]; !uids[uid] {
					t.Errorf("%s: event %d: related event %v is no event's metadata.uid", name, i, uid)
				}
			}
			for _, err := range s.validateEvent(e) {
				t.Errorf("%s: event %d: %s", name, i, err)
			}
			ev := e.(map[string]any)
			if got, want := ev["finding_info"].(map[string]any)["uid"], m.Analysis.Findings[i].ID; got != want {
				t.Errorf("%s: event %d is finding %v, want %s (the analysis's order)", name, i, got, want)
			}
		}
	}
	// Every vendored schema file is one the validation read: the subset
	// is what the test needs, no more.
	err := fs.WalkDir(s.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "LICENSE" || p == "NOTICE" {
			return err
		}
		if !s.read[p] {
			t.Errorf("testdata/ocsf/schema/%s is vendored but not used", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOCSFValidatorRejects shows the validation can fail: each mutation of
// a valid event must be reported.
func TestOCSFValidatorRejects(t *testing.T) {
	s := loadOCSFSchema(t)
	out := ocsfOutput(t, ocsfTestModel())
	obj := func(v any, keys ...string) map[string]any {
		for _, k := range keys {
			if i, err := strconv.Atoi(k); err == nil {
				v = v.([]any)[i]
			} else {
				v = v.(map[string]any)[k]
			}
		}
		return v.(map[string]any)
	}
	for _, c := range []struct {
		name   string
		mutate func(e map[string]any)
		want   string // in some error; "" for a mutation that is valid
	}{
		{"misspelled attribute", func(e map[string]any) { fi := obj(e, "finding_info"); fi["titel"] = fi["title"]; delete(fi, "title") }, "finding_info.titel: not an attribute of finding_info"},
		{"class attribute", func(e map[string]any) { e["severity_level"] = json.Number("3") }, "severity_level: not an attribute of detection_finding"},
		{"required attribute missing", func(e map[string]any) { delete(obj(e, "finding_info"), "uid") }, "finding_info.uid: required"},
		{"required event attribute missing", func(e map[string]any) { delete(e, "metadata") }, "metadata: required"},
		{"required object attribute missing", func(e map[string]any) { delete(obj(e, "device", "os"), "type_id") }, "device.os.type_id: required"},
		{"enum value", func(e map[string]any) { e["severity_id"] = json.Number("7") }, "severity_id: 7 is not in the enum"},
		{"nested enum value", func(e map[string]any) {
			obj(e, "evidences", "0", "file", "hashes", "0")["algorithm_id"] = json.Number("21")
		}, "evidences[0].file.hashes[0].algorithm_id: 21 is not in the enum"},
		{"caption", func(e map[string]any) { e["severity"] = "Severe" }, `severity: "Severe", want "Critical"`},
		{"type_uid", func(e map[string]any) { e["type_uid"] = json.Number("200402") }, "type_uid: 200402, want 2004*100+1"},
		{"class_uid", func(e map[string]any) { e["class_uid"] = json.Number("2005") }, "class_uid: 2005 is not in the enum"},
		{"timestamp type", func(e map[string]any) { e["time"] = "2026-11-26T08:05:24Z" }, "time: a string, want timestamp_t"},
		{"float for an integer", func(e map[string]any) { e["count"] = json.Number("7.5") }, "count: 7.5 is not an integer"},
		{"string type", func(e map[string]any) { obj(e, "device")["name"] = json.Number("1") }, "device.name: a json.Number, want string_t"},
		{"boolean type", func(e map[string]any) { e["is_alert"] = "true" }, "is_alert: a string, want boolean_t"},
		{"array expected", func(e map[string]any) { e["evidences"] = obj(e, "evidences", "0") }, "evidences: a map[string]interface {}, want an array"},
		{"object expected", func(e map[string]any) { e["device"] = "phone" }, "device: a string, want a device object"},
		{"null", func(e map[string]any) { e["message"] = nil }, "message: null"},
		{"profile not applied", func(e map[string]any) { e["attacks"] = obj(e, "finding_info")["attacks"] }, "attacks: of profile security_control, not applied"},
		{"profile applied", func(e map[string]any) {
			e["attacks"] = obj(e, "finding_info")["attacks"]
			obj(e, "metadata")["profiles"] = []any{"security_control"}
		}, ""},
		{"deprecated", func(e map[string]any) { obj(e, "device")["imei"] = "353918050000000" }, "device.imei: deprecated"},
		{"at_least_one", func(e map[string]any) { obj(e, "finding_info")["attacks"] = []any{map[string]any{"version": "18.1"}} }, "finding_info.attacks[0]: at least one of tactic, technique, sub_technique"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := ocsfEvents(t, out)[0].(map[string]any)
			c.mutate(e)
			errs := s.validateEvent(e)
			if c.want == "" {
				if len(errs) > 0 {
					t.Errorf("rejected: %q", errs)
				}
				return
			}
			if !slices.ContainsFunc(errs, func(err string) bool { return strings.Contains(err, c.want) }) {
				t.Errorf("errors %q lack %q", errs, c.want)
			}
		})
	}
}

func TestOCSFGolden(t *testing.T) {
	got := ocsfOutput(t, ocsfTestModel())
	if !bytes.Equal(got, ocsfOutput(t, ocsfTestModel())) {
		t.Fatal("two runs over the same model differ")
	}
	golden := "testdata/ocsf/golden.json"
	if updateGolden() {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("OCSF output differs from %s (go test ./report -run OCSF -update rewrites it):\n%s", golden, got)
	}
}

func TestOCSFEmpty(t *testing.T) {
	m := ocsfTestModel()
	m.Analysis.Findings = nil
	if got := string(ocsfOutput(t, m)); got != "[]\n" {
		t.Errorf("no findings: %q, want an empty array", got)
	}
}

// TestOCSFHostileStringsAreData checks that names from devices and MDMs
// come back byte for byte as JSON string values and never as markup.
func TestOCSFHostileStringsAreData(t *testing.T) {
	out := ocsfOutput(t, ocsfTestModel())
	var events []struct {
		Message string `json:"message"`
		Device  struct {
			Name string `json:"name"`
		} `json:"device"`
		Resources []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Data    struct {
				Publisher string `json:"publisher"`
			} `json:"data"`
		} `json:"resources"`
		Evidences []struct {
			Data struct {
				Excerpt     string `json:"excerpt"`
				Observation struct {
					Facts []playbooks.Fact `json:"facts"`
				} `json:"observation"`
			} `json:"data"`
		} `json:"evidences"`
		Unmapped struct {
			Facts []playbooks.Fact `json:"facts"`
		} `json:"unmapped"`
	}
	if err := json.Unmarshal(out, &events); err != nil {
		t.Fatal(err)
	}
	app := events[2]
	if app.Device.Name != ocsfHostile || len(app.Resources) != 1 || app.Resources[0].Name != ocsfHostile ||
		app.Resources[0].Version != "1.0 <b>" || app.Resources[0].Data.Publisher != "Evil & Co" || app.Unmapped.Facts[0].Value != ocsfHostile {
		t.Errorf("hostile app and device names did not round-trip: %+v", app)
	}
	if got := events[0].Evidences[2].Data.Observation.Facts[0].Value; got != "su -c "+ocsfHostile {
		t.Errorf("observation fact %q", got)
	}
	var excerpt map[string]string
	if err := json.Unmarshal([]byte(events[1].Evidences[0].Data.Excerpt), &excerpt); err != nil || excerpt["deviceName"] != ocsfHostile {
		t.Errorf("excerpt did not round-trip: %v %q", err, excerpt)
	}
	// encoding/json's escaping: no markup, no raw line separators.
	for _, bad := range []string{"<", ">", "&", "\u2028"} {
		if bytes.Contains(out, []byte(bad)) {
			t.Errorf("output contains a raw %q", bad)
		}
	}
}

// The validator: the OCSF 1.8.0 schema sources, compiled the way the OCSF
// server compiles them. A class or object inherits the attributes of the
// one it extends (deep merge, its own definitions winning) and those of
// the files it $includes (profile attributes marked with the profile's
// name, its own definitions winning, so "profile": null makes an included
// attribute the class's own); each attribute definition is merged over
// the dictionary's (type, is_array, enum, sibling, @deprecated).
// Constraints are the class's own or else inherited. class_uid,
// category_uid and type_uid get the enums the server derives.

type ocsfSchema struct {
	fsys    fs.FS
	read    map[string]bool // files read
	dict    map[string]any  // dictionary attributes
	types   map[string]any  // dictionary types
	version string
	objects map[string]*ocsfDef
	class   *ocsfDef
}

type ocsfDef struct {
	name, caption string
	attrs         map[string]map[string]any
	constraints   map[string]any
}

func loadOCSFSchema(t *testing.T) *ocsfSchema {
	t.Helper()
	s, err := readOCSFSchema(os.DirFS("testdata/ocsf/schema"))
	if err != nil {
		t.Fatalf("%v (vendor the file from the OCSF 1.8.0 schema)", err)
	}
	return s
}

func readOCSFSchema(fsys fs.FS) (*ocsfSchema, error) {
	s := &ocsfSchema{fsys: fsys, read: map[string]bool{}, objects: map[string]*ocsfDef{}}
	dict, err := s.file("dictionary.json")
	if err != nil {
		return nil, err
	}
	s.dict = dict["attributes"].(map[string]any)
	s.types = dict["types"].(map[string]any)["attributes"].(map[string]any)
	version, err := s.file("version.json")
	if err != nil {
		return nil, err
	}
	if s.version = version["version"].(string); s.version != ocsfVersion {
		return nil, fmt.Errorf("vendored schema is %s, the output claims %s", s.version, ocsfVersion)
	}
	raw, err := s.compile("events/findings/detection_finding.json")
	if err != nil {
		return nil, err
	}
	categories, err := s.file("categories.json")
	if err != nil {
		return nil, err
	}
	cat := categories["attributes"].(map[string]any)[raw["category"].(string)].(map[string]any)
	catUID := ocsfInt(cat["uid"])
	classUID := catUID*1000 + ocsfInt(raw["uid"])
	if classUID != ocsfClassUID {
		return nil, fmt.Errorf("the schema's detection_finding is class %d, ocsf.go says %d", classUID, ocsfClassUID)
	}
	c, err := s.finish(raw)
	if err != nil {
		return nil, err
	}
	caption := func(c any) map[string]any { return map[string]any{"caption": c} }
	c.attrs["category_uid"]["enum"] = map[string]any{strconv.Itoa(catUID): caption(cat["caption"])}
	c.attrs["class_uid"]["enum"] = map[string]any{strconv.Itoa(classUID): caption(c.caption)}
	types := map[string]any{}
	for id, v := range c.attrs["activity_id"]["enum"].(map[string]any) {
		types[strconv.Itoa(classUID*100+ocsfInt(id))] = caption(c.caption + ": " + v.(map[string]any)["caption"].(string))
	}
	c.attrs["type_uid"]["enum"] = types
	s.class = c
	return s, nil
}

func ocsfInt(v any) int {
	switch v := v.(type) {
	case float64:
		return int(v)
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	panic(fmt.Sprintf("not a number: %v", v))
}

func (s *ocsfSchema) file(p string) (map[string]any, error) {
	b, err := fs.ReadFile(s.fsys, p)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	s.read[p] = true
	return v, nil
}

// compile reads a class or object file with what it includes and
// extends, and returns it with its attributes not yet merged with the
// dictionary.
func (s *ocsfSchema) compile(p string) (map[string]any, error) {
	def, err := s.file(p)
	if err != nil {
		return nil, err
	}
	attrs, _ := def["attributes"].(map[string]any)
	own := map[string]any{}
	for k, v := range attrs {
		if k != "$include" {
			own[k] = v
		}
	}
	merged := map[string]any{}
	if inc, ok := attrs["$include"]; ok {
		for _, ip := range inc.([]any) {
			in, err := s.file(ip.(string))
			if err != nil {
				return nil, fmt.Errorf("%s: $include: %w", p, err)
			}
			ia, _ := in["attributes"].(map[string]any)
			for k, v := range ia {
				a := maps.Clone(v.(map[string]any))
				if in["meta"] == "profile" {
					a["profile"] = in["name"]
				}
				merged = ocsfMerge(merged, map[string]any{k: a})
			}
		}
	}
	def["attributes"] = ocsfMerge(merged, own)
	base, ok := def["extends"].(string)
	if !ok {
		return def, nil
	}
	dir := path.Dir(p)
	if strings.HasPrefix(p, "events/") {
		// An event class extends a class in its directory or above it.
		for ; dir != "events"; dir = path.Dir(dir) {
			if _, err := fs.Stat(s.fsys, path.Join(dir, base+".json")); err == nil {
				break
			}
		}
	}
	parent, err := s.compile(path.Join(dir, base+".json"))
	if err != nil {
		return nil, fmt.Errorf("%s: extends: %w", p, err)
	}
	out := ocsfMerge(parent, def)
	if c, ok := def["constraints"]; ok {
		out["constraints"] = c
	}
	if _, ok := def["uid"]; !ok {
		delete(out, "uid") // a class's uid is its own
	}
	return out, nil
}

// finish merges each attribute over its dictionary definition.
func (s *ocsfSchema) finish(raw map[string]any) (*ocsfDef, error) {
	d := &ocsfDef{name: raw["name"].(string), attrs: map[string]map[string]any{}}
	d.caption, _ = raw["caption"].(string)
	d.constraints, _ = raw["constraints"].(map[string]any)
	for k, v := range raw["attributes"].(map[string]any) {
		base, ok := s.dict[k].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s.%s is not in the dictionary", d.name, k)
		}
		d.attrs[k] = ocsfMerge(base, v.(map[string]any))
	}
	return d, nil
}

func (s *ocsfSchema) object(name string) (*ocsfDef, error) {
	if d, ok := s.objects[name]; ok {
		return d, nil
	}
	raw, err := s.compile("objects/" + name + ".json")
	if err != nil {
		return nil, err
	}
	d, err := s.finish(raw)
	if err != nil {
		return nil, err
	}
	s.objects[name] = d
	return d, nil
}

// ocsfMerge deep-merges over onto base: maps merge, other values replace
// (an explicit null too).
func ocsfMerge(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = ocsfMerge(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

// validateEvent returns every way e departs from the class.
func (s *ocsfSchema) validateEvent(e any) []string {
	v := &ocsfValidation{s: s, profiles: map[string]bool{}}
	ev, ok := e.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("an event is a %T", e)}
	}
	if md, ok := ev["metadata"].(map[string]any); ok {
		if ps, ok := md["profiles"].([]any); ok {
			for _, p := range ps {
				v.profiles[fmt.Sprint(p)] = true
			}
		}
		if md["version"] != s.version {
			v.errorf("metadata.version: %v, want %s", md["version"], s.version)
		}
	}
	v.object("", ev, s.class)
	cls, act, typ := ev["class_uid"], ev["activity_id"], ev["type_uid"]
	if c, a, ty := fmt.Sprint(cls), fmt.Sprint(act), fmt.Sprint(typ); c != "" {
		if ci, err := strconv.Atoi(c); err == nil {
			if ai, err := strconv.Atoi(a); err == nil && ty != strconv.Itoa(ci*100+ai) {
				v.errorf("type_uid: %s, want %d*100+%d", ty, ci, ai)
			}
		}
	}
	return v.errs
}

type ocsfValidation struct {
	s        *ocsfSchema
	profiles map[string]bool
	errs     []string
}

func (v *ocsfValidation) errorf(format string, args ...any) {
	v.errs = append(v.errs, fmt.Sprintf(format, args...))
}

func ocsfJoin(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

func (v *ocsfValidation) object(at string, o map[string]any, d *ocsfDef) {
	for _, k := range slices.Sorted(maps.Keys(o)) {
		where := ocsfJoin(at, k)
		a, ok := d.attrs[k]
		if !ok {
			v.errorf("%s: not an attribute of %s", where, d.name)
			continue
		}
		if p, ok := a["profile"].(string); ok && !v.profiles[p] {
			v.errorf("%s: of profile %s, not applied (metadata.profiles)", where, p)
		}
		if _, ok := a["@deprecated"]; ok {
			v.errorf("%s: deprecated", where)
		}
		v.value(where, o[k], a)
		// A sibling string is the caption of its _id's value, unless Other.
		if sib, ok := a["sibling"].(string); ok {
			if s, ok := o[sib]; ok {
				id := fmt.Sprint(o[k])
				enum, _ := a["enum"].(map[string]any)
				if e, ok := enum[id].(map[string]any); ok && id != "99" && s != e["caption"] {
					v.errorf("%s: %q, want %q (the caption of %s %s)", ocsfJoin(at, sib), s, e["caption"], k, id)
				}
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(d.attrs)) {
		a := d.attrs[k]
		p, _ := a["profile"].(string)
		if _, ok := o[k]; !ok && a["requirement"] == "required" && (p == "" || v.profiles[p]) {
			v.errorf("%s: required", ocsfJoin(at, k))
		}
	}
	name := at
	if name == "" {
		name = d.name
	}
	if list, ok := d.constraints["at_least_one"].([]any); ok && ocsfPresent(o, list) == 0 {
		v.errorf("%s: at least one of %s", name, ocsfList(list))
	}
	if list, ok := d.constraints["just_one"].([]any); ok && ocsfPresent(o, list) != 1 {
		v.errorf("%s: exactly one of %s", name, ocsfList(list))
	}
}

func ocsfPresent(o map[string]any, list []any) int {
	n := 0
	for _, k := range list {
		if _, ok := o[k.(string)]; ok {
			n++
		}
	}
	return n
}

func ocsfList(list []any) string {
	var s []string
	for _, k := range list {
		s = append(s, k.(string))
	}
	return strings.Join(s, ", ")
}

func (v *ocsfValidation) value(at string, x any, a map[string]any) {
	if x == nil {
		v.errorf("%s: null (omit an attribute without a value)", at)
		return
	}
	if a["is_array"] == true {
		xs, ok := x.([]any)
		if !ok {
			v.errorf("%s: a %T, want an array", at, x)
			return
		}
		for i, e := range xs {
			v.scalar(fmt.Sprintf("%s[%d]", at, i), e, a)
		}
		return
	}
	if _, ok := x.([]any); ok {
		v.errorf("%s: an array, want one value", at)
		return
	}
	v.scalar(at, x, a)
}

func (v *ocsfValidation) scalar(at string, x any, a map[string]any) {
	typ, _ := a["type"].(string)
	if _, ok := v.s.types[typ]; !ok {
		o, ok := x.(map[string]any)
		switch {
		case typ == "object": // free-form, e.g. unmapped
			if !ok {
				v.errorf("%s: a %T, want an object", at, x)
			}
		case !ok:
			v.errorf("%s: a %s, want a %s object", at, ocsfKind(x), typ)
		default:
			d, err := v.s.object(typ)
			if err != nil {
				v.errorf("%s: %v", at, err)
				return
			}
			v.object(at, o, d)
		}
		return
	}
	// Walk the type to its base, gathering its constraints.
	var regexes []string
	maxLen, rng := 0, []any(nil)
	base := typ
	for {
		tt := v.s.types[base].(map[string]any)
		if r, ok := tt["regex"].(string); ok {
			regexes = append(regexes, r)
		}
		if n, ok := tt["max_len"].(float64); ok && maxLen == 0 {
			maxLen = int(n)
		}
		if r, ok := tt["range"].([]any); ok && rng == nil {
			rng = r
		}
		next, ok := tt["type"].(string)
		if !ok {
			break
		}
		base = next
	}
	switch base {
	case "json_t":
		return
	case "string_t":
		s, ok := x.(string)
		if !ok {
			v.errorf("%s: a %s, want %s", at, ocsfKind(x), typ)
			return
		}
		for _, r := range regexes {
			re, err := regexp.Compile(r)
			if err != nil {
				v.errorf("%s: the regex of %s: %v", at, typ, err)
			} else if !re.MatchString(s) {
				v.errorf("%s: %q does not match %s", at, s, typ)
			}
		}
		if maxLen > 0 && len(s) > maxLen {
			v.errorf("%s: longer than %d", at, maxLen)
		}
	case "boolean_t":
		if _, ok := x.(bool); !ok {
			v.errorf("%s: a %s, want %s", at, ocsfKind(x), typ)
			return
		}
	case "integer_t", "long_t", "float_t":
		n, ok := x.(json.Number)
		if !ok {
			v.errorf("%s: a %s, want %s", at, ocsfKind(x), typ)
			return
		}
		f, err := n.Float64()
		if err != nil {
			v.errorf("%s: %s is not a number", at, n)
			return
		}
		if base != "float_t" {
			i, err := n.Int64()
			if err != nil {
				v.errorf("%s: %s is not an integer", at, n)
				return
			}
			if base == "integer_t" && (i < math.MinInt32 || i > math.MaxInt32) {
				v.errorf("%s: %d is out of the 32-bit range of integer_t", at, i)
			}
		}
		if rng != nil && (f < rng[0].(float64) || f > rng[1].(float64)) {
			v.errorf("%s: %s is out of range %v", at, n, rng)
		}
	default:
		v.errorf("%s: type %s has an unknown base %s", at, typ, base)
		return
	}
	if e, ok := a["enum"].(map[string]any); ok {
		if _, ok := e[fmt.Sprint(x)]; !ok {
			v.errorf("%s: %v is not in the enum", at, x)
		}
	}
}

// ocsfKind names a decoded JSON value's kind for messages.
func ocsfKind(x any) string {
	switch x.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "json.Number"
	case map[string]any:
		return "map[string]interface {}"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", x)
}
