package amapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/jsonscan"
)

// The reference for parseUsageLogs: encoding/json's streaming decoder and
// maps. It gives up (ok false) where the mapping of an event is ambiguous
// for it (two members flattened to one field name), which it would settle
// in map order.
func referenceUsageLogs(data []byte) (evs []collect.Event, ignored map[string]int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	unreadable := map[string]int{"USAGE_LOGS (unreadable)": 1}
	if !json.Valid(data) {
		return nil, unreadable, true
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, unreadable, true
	}
	var device string
	var events []json.RawMessage
	for dec.More() {
		t, _ := dec.Token()
		name, _ := t.(string)
		switch name {
		case "device":
			device = ""
			if err := dec.Decode(&device); err != nil {
				return nil, unreadable, true
			}
		case "usageLogEvents":
			events = nil
			if err := dec.Decode(&events); err != nil {
				return nil, unreadable, true
			}
		default:
			var skip json.RawMessage
			dec.Decode(&skip)
		}
	}
	for j, raw := range events {
		ev, err := referenceEvent(raw)
		if errors.Is(err, errAmbiguous) {
			return nil, nil, false
		}
		if err != nil {
			if ignored == nil {
				ignored = map[string]int{}
			}
			ignored["usage log event (unreadable)"]++
			continue
		}
		ev.DeviceKey = Name + ":" + lastSegment(device)
		ev.Raw = child(collect.RawRef{}, "usageLogEvents", j)
		evs = append(evs, ev)
	}
	return evs, ignored, true
}

var errAmbiguous = errors.New("two members map to one field")

func referenceEvent(raw json.RawMessage) (collect.Event, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && strings.HasPrefix(te.Value, "number") {
			// A number float64 cannot hold: parseUsageLogs drops the
			// event only if the number is in its payload.
			return collect.Event{}, errAmbiguous
		}
		return collect.Event{}, err
	}
	kind, _ := m["eventType"].(string)
	when, _ := m["eventTime"].(string)
	id, _ := m["eventId"].(string)
	t := parseTime(when)
	if kind == "" || t == nil {
		return collect.Event{}, errors.New("no eventType or eventTime")
	}
	obj, ok := m[payloadKey(kind)].(map[string]any)
	if !ok {
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if o, isObj := m[k].(map[string]any); isObj && strings.HasSuffix(k, "Event") {
				obj = o
				break
			}
		}
	}
	if pi, ok := obj["processInfo"].(map[string]any); ok && len(obj) == 1 {
		obj = pi
	}
	fields := map[string]any{}
	if !referenceFlatten(fields, "", obj) {
		return collect.Event{}, errAmbiguous
	}
	if _, taken := fields["event_id"]; taken {
		return collect.Event{}, errAmbiguous
	}
	fields["event_id"] = id
	return collect.Event{Time: *t, Type: strings.ToLower(kind), Fields: fields}, nil
}

func referenceFlatten(fields map[string]any, prefix string, obj map[string]any) bool {
	for k, v := range obj {
		name := prefix + snake(k)
		if sub, ok := v.(map[string]any); ok {
			if !referenceFlatten(fields, name+"_", sub) {
				return false
			}
			continue
		}
		if _, taken := fields[name]; taken {
			return false
		}
		fields[name] = v
	}
	return true
}

// checkUsageLogs compares parseUsageLogs with the reference.
func checkUsageLogs(t *testing.T, data []byte) {
	t.Helper()
	want, wantIgnored, ok := referenceUsageLogs(data)
	if !ok {
		return
	}
	got, ignored := parseUsageLogs(data, collect.RawRef{})
	if !reflect.DeepEqual(ignored, wantIgnored) || len(got) != len(want) {
		t.Fatalf("%s:\n%d events, ignored %v\nwant %d, ignored %v", data, len(got), ignored, len(want), wantIgnored)
	}
	for i := range got {
		// The fields, encoded as they were read, decode to the
		// reference's, and the record a Staging writes is json.Marshal's.
		dec, err := got[i].Decoded()
		if err != nil {
			t.Fatalf("%s:\nevent %d: %v", data, i, err)
		}
		if dec.DeviceKey != want[i].DeviceKey || !dec.Time.Equal(want[i].Time) || dec.Type != want[i].Type ||
			dec.Raw != want[i].Raw || !reflect.DeepEqual(dec.Fields, want[i].Fields) || got[i].id != want[i].Fields["event_id"] {
			t.Fatalf("%s:\nevent %d = %+v (id %q)\nwant %+v", data, i, dec, got[i].id, want[i])
		}
		line, err := got[i].Record()
		wantLine, _ := json.Marshal(want[i])
		if err != nil || !bytes.Equal(line, wantLine) {
			t.Fatalf("%s:\nevent %d record %s (%v)\nwant %s", data, i, line, err, wantLine)
		}
	}
}

// decodedUsageLogs is parseUsageLogs with the fields decoded.
func decodedUsageLogs(t *testing.T, data []byte) []collect.Event {
	t.Helper()
	recs, _ := parseUsageLogs(data, collect.RawRef{})
	var evs []collect.Event
	for _, r := range recs {
		e, err := r.Decoded()
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	return evs
}

var usageLogSeeds = []string{
	`{"device":"enterprises/E/devices/d","usageLogEvents":[{"eventId":"1","eventTime":"2026-11-26T00:00:00Z","eventType":"APP_PROCESS_START","appProcessStartEvent":{"processInfo":{"apkSha256Hash":"ab","uid":10123,"packageNames":["x"]}}},{"eventType":"NEW_THING","eventTime":"2026-11-26T00:00:01Z","newThingEvent":{"a":{"b":1}}}]}`,
	`{"device":null,"usageLogEvents":[null,5,{"eventType":"DNS","eventTime":"2026-11-26T00:00:00.5Z","dnsEvent":{"hostname":"\u00e9.example","resolvedIpAddresses":["10.0.0.1"],"totalIpAddressesReturned":1}}]}`,
	`{"usageLogEvents":[{"eventType":"ADB_SHELL_COMMAND","eventTime":"2026-11-26T00:00:00Z","adbShellCommandEvent":{"shellCmd":"pm install /data/local/tmp/x.apk"},"adbShellCommandEvent":{"shellCmd":"id"}}],"device":"x"}`,
	`{"usageLogEvents":[{"eventType":"X","eventTime":"2026-11-26T00:00:00Z","bEvent":{"v":1},"aEvent":{"v":2},"xEvent":7}]}`,
	`{"usageLogEvents":[{"eventType":"X","eventTime":"2026-11-26T00:00:00Z","xEvent":{"n":1e400}}]}`,
	`{"UsageLogEvents":[{}],"usageLogEvents":"x"}`, `{"device":5}`, `[]`, `{}`, `{"usageLogEvents":null}`,
	// Values the field encoder writes as they are, and those it decodes
	// and encodes again.
	`{"usageLogEvents":[{"eventTime":"2026-11-26T00:00:00Z","xEvent":{"a":1}},{"eventType":"","eventTime":"2026-11-26T00:00:00Z","xEvent":{"a":1}}]}`,
	`{"usageLogEvents":[{"eventType":"X","eventTime":"2026-11-26T00:00:00Z","xEvent":{"a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}]}`,
	`{"device":"d<&>","usageLogEvents":[{"eventId":"7\u0041","eventTime":"2026-11-26T00:00:00.123456789+02:00","eventType":"CONNECT","connectEvent":{"url":"https://x/?a=1&b=<2>","s":"caf\u00e9 \"q\" \u2028","raw":"Jérôme ☃","ctl":"\u0001","n":[1.0,-0,1e2,12345678901234567,0.1,-7,1E-7,{"b":1,"a":[true,null]}],"i":-0,"j":123456789012345,"k":1234567890123456,"f":2.50,"e":1e21,"t":true,"z":null,"o":{"p":{"q":"deep"}},"empty":{},"arr":[]}}]}`,
}

func TestUsageLogsAgainstReference(t *testing.T) {
	for _, s := range usageLogSeeds {
		checkUsageLogs(t, []byte(s))
	}
	evs := decodedUsageLogs(t, []byte(usageLogSeeds[2]))
	if len(evs) != 1 || evs[0].Fields["shell_cmd"] != "id" {
		t.Errorf("repeated payload member: %+v, want the last one's shell_cmd", evs)
	}
	recs, ignored := parseUsageLogs([]byte(usageLogSeeds[4]), collect.RawRef{})
	if len(recs) != 0 || ignored["usage log event (unreadable)"] != 1 {
		t.Errorf("a payload number beyond float64: %+v, %v; want the event counted unreadable", recs, ignored)
	}
	evs = decodedUsageLogs(t, []byte(`{"usageLogEvents":[{"eventType":"DNS","eventTime":"2026-11-26T00:00:00Z","other":1e999,"dnsEvent":{"hostname":"a"}}]}`))
	if len(evs) != 1 || evs[0].Fields["hostname"] != "a" {
		t.Errorf("a number beyond float64 outside the payload: %+v; want the event kept", evs)
	}
	evs = decodedUsageLogs(t, []byte(usageLogSeeds[3]))
	if len(evs) != 1 || evs[0].Fields["v"] != 2.0 {
		t.Errorf("unknown type: %+v, want aEvent's payload (first by name)", evs)
	}
}

// Members that map to one field name: the later one counts, and event_id
// is the event's own eventId whatever the payload says.
func TestUsageLogFieldCollisions(t *testing.T) {
	data := `{"usageLogEvents":[{"eventId":"42","eventType":"X","eventTime":"2026-11-26T00:00:00Z","xEvent":{"eventId":"spoofed","a_b":1,"a":{"b":2},"aB":3}}]}`
	evs := decodedUsageLogs(t, []byte(data))
	if len(evs) != 1 || evs[0].Fields["event_id"] != "42" || evs[0].Fields["a_b"] != 3.0 {
		t.Fatalf("%+v", evs)
	}
	if !evs[0].Time.Equal(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("time %v", evs[0].Time)
	}
}

// FuzzUsageLogsAgainstReference checks the usage-log decoder against
// encoding/json on hostile message data.
func FuzzUsageLogsAgainstReference(f *testing.F) {
	for _, s := range usageLogSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkUsageLogs(t, data)
	})
}

func BenchmarkParseUsageLogs(b *testing.B) {
	ev := `{"eventId":"1000123","eventTime":"2026-11-26T09:00:00.123Z","eventType":"APP_PROCESS_START","appProcessStartEvent":{"processInfo":{"processType":"START_PROCESS","startTime":"2026-11-26T09:00:00Z","uid":10234,"pid":4242,"seinfo":"default:targetSdkVersion=34","apkSha256Hash":"d55e492d0e2b4b3b8c8e0e5d8a6c7b9e1f2a3b4c5d6e7f8091a2b3c4d5e6f708","packageName":"com.example.app"}}}`
	data := []byte(`{"device":"enterprises/E/devices/d","usageLogEvents":[` + strings.TrimSuffix(strings.Repeat(ev+",", 200), ",") + `]}`)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		evs, _ := parseUsageLogs(data, collect.RawRef{})
		if len(evs) != 200 {
			b.Fatal(len(evs))
		}
	}
}

// A payload with many members, some repeated, keeps the last value of
// each (the large-object path), as the reference decoder does.
func TestUsageLogLargeObject(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"usageLogEvents":[{"eventId":"1","eventType":"DNS","eventTime":"2026-11-26T00:00:00Z","dnsEvent":{`)
	for i := range 40 {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	b.WriteString(`"k3":"last","k39":null}}]}`)
	checkUsageLogs(t, []byte(b.String()))
	evs := decodedUsageLogs(t, []byte(b.String()))
	if len(evs) != 1 || evs[0].Fields["k3"] != "last" || evs[0].Fields["k39"] != nil || evs[0].Fields["k38"] != 38.0 || len(evs[0].Fields) != 41 {
		t.Fatalf("%v", evs)
	}
}

// FuzzEventTime holds the eventTime fast path to parseTime.
func FuzzEventTime(f *testing.F) {
	for _, s := range []string{"2026-11-26T09:00:00Z", "2026-11-26T09:00:00.123456789Z", "2026-11-26T09:00:00.1Z", "2024-02-29T23:59:59Z",
		"2023-02-29T00:00:00Z", "0001-01-01T00:00:00Z", "0002-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T09:60:00Z",
		"2026-11-26T09:00:60Z", "2026-11-26T09:00:00.Z", "2026-11-26T09:00:00.1234567891Z", "2026-11-26T09:00:00+02:00", "2026-11-26t09:00:00z",
		"2026-11-26T09:00:00.-1Z", "+026-11-26T09:00:00Z", "2026-11-26T09:00:00,5Z", "2026-00-10T09:00:00Z", "2026-04-31T09:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc, _ := json.Marshal(s)
		v, err := jsonscan.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := eventTime(v)
		want := parseTime(s)
		if ok != (want != nil) || ok && got != *want {
			t.Fatalf("eventTime(%q) = %v, %v; parseTime: %v", s, got, ok, want)
		}
	})
}
