package playbooks

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
)

var appSeeds = []string{
	`{"device_key":"amapi:d","app_id":"com.x","name":"X <b>","version":"1.2","install_source":"sideloaded","apk_sha256":"ab","managed":true,"prevalence":3,"raw":{"path":"raw/amapi/000002.json","sha256":"cd","pointer":"/devices/0/applicationReports/1"}}`,
	`{"device_key":"intune:d","name":"Teams","publisher":"Microsoft","install_source":"store","raw":{"path":"p","sha256":"s","pointer":""},"device_ref":{"path":"q","sha256":"t","pointer":"/value/3"}}`,
	`{"device_key":"x","DEVICE_KEY":"y"}`, `{"device_key":"x","device_key":"y"}`, `{"device_key":null}`, `{"prevalence":1.5}`,
	`{"prevalence":-0}`, `{"prevalence":99999999999999999999}`, `{"managed":null}`, `{"extra":1}`, `{"raw":{"path":"a","path":"b"}}`,
	`{"name":"caf\u00e9 \ud800 \"q\""} trailing`, `[]`, `{"name":"\xff"}`, `{"device_ref":null}`,
	`{"device_key":"amapi:d","app_id":"com.x","name":"X","version":"1.2","install_source":"store","apk_sha256":"ab","managed":false,"prevalence":-0,"raw":{"path":"p","sha256":"s","pointer":"/a/0"},"device_ref":{}}`,
	`{"raw":{"path":"a","sha256":"b","pointer":"c","x":{}}}`, `{"raw":{"path":{"a":{}}}}`, `{"raw":{}} `, `{"name":"x"}x`, `{"state":1}`,
}

// Records as custos writes them take the flat path: it is the one an
// analysis of millions of records relies on.
func TestAppRecordsAreFlat(t *testing.T) {
	managed := true
	for _, a := range []collect.App{
		{DeviceKey: "amapi:enterprises/e/devices/d", AppID: "com.example.app", Name: "Example App", Version: "1.2.3",
			InstallSource: "sideloaded", Installer: "com.android.shell", APKSHA256: strings.Repeat("ab", 32), Managed: &managed,
			Prevalence: 7, Raw: collect.RawRef{Path: "raw/amapi/000001.json", SHA256: strings.Repeat("cd", 32), Pointer: "/devices/0/applicationReports/3"}},
		{DeviceKey: "intune:1", Name: "Teams", Publisher: "Microsoft Corporation", State: "installed",
			DeviceRef: &collect.RawRef{Path: "raw/intune/000004.json", Pointer: "/value/0"}},
	} {
		line, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var got collect.App
		if !flatApp(append(line, '\n'), &got, newInterner()) || !reflect.DeepEqual(got, a) {
			t.Errorf("%s: not read flat (%+v)", line, got)
		}
	}
}

var eventSeeds = []string{
	`{"device_key":"amapi:d","time":"2026-11-26T09:00:00.123Z","type":"adb_shell_command","fields":{"event_id":"1","shell_cmd":"pm install <x>","n":[1,2.5,null,{"a":true}]},"raw":{"path":"raw/amapi/000003.json","sha256":"ab","pointer":"/messages/0/data/usageLogEvents/0"}}`,
	`{"device_key":"d","time":"2026-11-26T09:00:00+02:00","type":"x","raw":{"path":"","sha256":"","pointer":""}}`,
	`{"time":"0001-01-01T00:00:00Z","fields":{}}`, `{"fields":null}`, `{"fields":{"a":1},"fields":{"b":2}}`, `{"Type":"x"}`,
	`{"time":"2026-02-30T00:00:00Z"}`, `{"time":5}`, `{"fields":{"a":1e400}}`, `{"type":"a","type":"b"}`,
	`{"device_key":"d","time":"2026-11-26T09:00:00Z","type":"dns","fields":{"a":[1,"x",true,{"b":[]}],"a":2,"n":123456789012345678901234567890,"z":-0},"raw":{"path":"p","sha256":"s","pointer":"/0"}}`,
	`{"device_key":"d","time":"2026-11-26T09:00:00Z","type":"dns","fields":{"a":[[[[1]]]]},"raw":{}}`, `{"type":"x","fields":{},"raw":{},"x":1}`,
}

func FuzzDecodeApp(f *testing.F) {
	for _, s := range appSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		// Both fast paths: the flat one, and fastApp, which falls back.
		var flat, fast collect.App
		isFlat, isFast := flatApp(line, &flat, newInterner()), fastApp(line, &fast, newInterner())
		if isFlat && !isFast {
			t.Fatalf("%s: flat but not fast", line)
		}
		check := func(path string, got collect.App) {
			var want collect.App
			if err := decodeRecord(line, &want); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s:\n%s %+v\nencoding/json %+v (%v)", line, path, got, want, err)
			}
		}
		if isFlat {
			check("flat", flat)
		}
		if isFast {
			check("fast", fast)
		}
	})
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		// Both fast paths: the flat one, and fastEvent, which falls back.
		var flat, fast collect.Event
		isFlat, isFast := flatEvent(line, &flat, newInterner(), nil), fastEvent(line, &fast, newInterner(), nil)
		if isFlat && !isFast {
			t.Fatalf("%s: flat but not fast", line)
		}
		check := func(path string, got collect.Event) {
			var want collect.Event
			if err := decodeRecord(line, &want); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s:\n%s %+v\nencoding/json %+v (%v)", line, path, got, want, err)
			}
		}
		if isFlat {
			check("flat", flat)
		}
		if isFast {
			check("fast", fast)
		}
	})
}

// The records custos writes take the fast path; the others are decoded
// (or refused) as encoding/json decides.
func TestDecodeRecords(t *testing.T) {
	var a collect.App
	if !fastApp([]byte(appSeeds[0]), &a, nil) || !fastApp([]byte(appSeeds[1]), &a, newInterner()) {
		t.Error("an app record as custos writes it missed the fast path")
	}
	var e collect.Event
	if !fastEvent([]byte(eventSeeds[0]), &e, newInterner(), nil) {
		t.Error("an event record as custos writes it missed the fast path")
	}
	if err := decodeApp([]byte(`{"extra":1}`), &a, nil); err == nil {
		t.Error("an unknown member was accepted")
	}
	if err := decodeApp([]byte(`{"DEVICE_KEY":"y"}`), &a, nil); err != nil || a.DeviceKey != "y" {
		t.Errorf("a member in another case: %+v, %v (encoding/json takes it)", a, err)
	}
	if err := decodeEvent([]byte(eventSeeds[1]), &e, nil, nil); err != nil || e.Time.IsZero() {
		t.Errorf("a time with an offset: %+v, %v", e, err)
	}
}

// countApp counts as CountApp counts the decoded record.
func FuzzCountAppLine(f *testing.F) {
	for _, s := range appSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"device_key":"d","name":"  Teams\t","publisher":"MicroSoft "}`))
	f.Add([]byte(`{"device_key":"d","app_id":"a","name":"x\":\"app_id\":","APP_ID":"b"}`))
	f.Add([]byte(`{"device_key":"d","app_id":"a","device_\u212aey":"e"}`))
	f.Add([]byte(`{"device_key":"a","app_id":"x","device_key" :"b"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var a collect.App
		if decodeApp(line, &a, nil) != nil {
			return
		}
		fast, slow := NewFleet(), NewFleet()
		recs, err := countApp(line, nil, newInterner())
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s: %v", line, err)
		}
		recs[0].add(fast)
		slow.CountApp(a)
		if fast.Devices() != slow.Devices() || fast.DevicesWithApp(&a) != slow.DevicesWithApp(&a) ||
			!reflect.DeepEqual(fast.ids, slow.ids) || !reflect.DeepEqual(fast.devApps, slow.devApps) {
			t.Fatalf("%s:\ncounted %v %v\nCountApp %v %v", line, fast.ids, fast.devApps, slow.ids, slow.devApps)
		}
	})
}

// The fields of an event of a type nothing reads are left out, the rest
// of the record read.
func TestDecodeEventSkipsUnreadFields(t *testing.T) {
	reads := func(typ string) bool { return typ == "adb_shell_command" }
	var e collect.Event
	if err := decodeEvent([]byte(eventSeeds[0]), &e, nil, reads); err != nil || e.Fields["shell_cmd"] != "pm install <x>" {
		t.Fatalf("read type: %+v, %v", e, err)
	}
	other := strings.Replace(eventSeeds[0], `"adb_shell_command"`, `"dns"`, 1)
	if err := decodeEvent([]byte(other), &e, nil, reads); err != nil || e.Fields != nil || e.Type != "dns" || e.DeviceKey == "" || e.Time.IsZero() {
		t.Fatalf("unread type: %+v, %v", e, err)
	}
	if err := decodeEvent([]byte(`{"type":"dns","fields":[1]}`), &e, nil, reads); err == nil {
		t.Error("fields that are not an object were accepted")
	}
}

// Event records as custos writes them take the flat path, fields and all.
func TestEventRecordsAreFlat(t *testing.T) {
	raw := collect.RawRef{Path: "raw/amapi/000002.json", SHA256: strings.Repeat("ef", 32), Pointer: "/messages/0/data/usageLogEvents/3"}
	for _, e := range []collect.Event{
		{DeviceKey: "amapi:d", Time: time.Date(2026, 11, 26, 5, 46, 0, 0, time.UTC), Type: "dns", Raw: raw,
			Fields: map[string]any{"event_id": "36", "hostname": "example.org", "resolved_ip_addresses": []any{"93.184.215.14", "2606:2800::1"}, "total_ip_addresses_returned": 2.0}},
		{DeviceKey: "amapi:d", Time: time.Date(2026, 11, 26, 5, 46, 0, 123000000, time.UTC), Type: "app_process_start", Raw: raw,
			Fields: map[string]any{"pid": -3045.0, "uid": 10123.0, "seinfo": map[string]any{"a": true, "b": []any{}}}},
		{DeviceKey: "amapi:d", Time: time.Date(2026, 11, 26, 5, 46, 0, 0, time.UTC), Type: "keyguard_secured", Raw: raw},
	} {
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var got collect.Event
		if !flatEvent(append(line, '\n'), &got, newInterner(), nil) || !reflect.DeepEqual(got, e) {
			t.Errorf("%s: not read flat (%+v)", line, got)
		}
	}
}
