package amapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/internal/jsonptr"
)

// FuzzDevice decodes hostile Device objects the way a devices.list page
// is decoded and writes their records: no panic, every pointer leads to an
// object of the device, and the mapped values stay in their vocabularies.
func FuzzDevice(f *testing.F) {
	f.Add([]byte(`{"name":"enterprises/E/devices/1","ownership":"PERSONALLY_OWNED","managementMode":"PROFILE_OWNER","securityPosture":{"devicePosture":"POTENTIALLY_COMPROMISED"},"applicationReports":[{"packageName":"a","versionCode":3,"applicationSource":"APPLICATION_SOURCE_UNSPECIFIED","packageSha256Hash":"ZZ","signingKeyCerts":[{"signingKeyCertFingerprintSha256":"OsmXNRZIJGV7aD6AUTPLJ04tfanp/d1qmsoxCJ1Qnmg="}],"events":[{"eventType":"INSTALLED","createTime":"2026-11-25T10:00:00Z"}]}],"nonComplianceDetails":[{"settingName":"x"}]}`))
	f.Add([]byte(`{"name":"x","ApplicationReports":[{"packageName":"a"}],"applicationReports":null}`))
	f.Add([]byte(`{"name":"../../x","lastStatusReportTime":"0001-01-01T00:00:00Z","appliedPolicyVersion":"9223372036854775807"}`))
	pol := &policyInfo{name: "enterprises/E/policies/p", policy: &policy{}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d device
		if json.Unmarshal(data, &d) != nil {
			return
		}
		rec := d.record(collect.RawRef{})
		if rec.Platform != "android" || (rec.Compromised.Value != "true" && rec.Compromised.Value != "false" && rec.Compromised.Value != "unknown") {
			t.Fatalf("record %+v", rec)
		}
		sink := &collecttest.Recorder{}
		if err := d.write(rec, data, collect.RawRef{}, pol, sink); err != nil {
			return
		}
		check := func(ref collect.RawRef) {
			if _, err := jsonptr.Resolve(data, ref.Pointer); err != nil {
				t.Fatalf("pointer %q: %v", ref.Pointer, err)
			}
		}
		for _, a := range sink.Apps {
			check(a.Raw)
			if a.APKSHA256 != "" && len(a.APKSHA256) != 64 || a.SigningCertSHA256 != "" && len(a.SigningCertSHA256) != 64 {
				t.Fatalf("digest not 32 bytes of hex: %+v", a)
			}
		}
		for _, e := range sink.Events {
			check(e.Raw)
		}
	})
}

// FuzzUsageLogs decodes hostile pull responses and message data the way
// the drain does: no panic, every event points inside the data it came
// from, and its type is the lower-cased eventType.
func FuzzUsageLogs(f *testing.F) {
	f.Add([]byte(`{"receivedMessages":[{"ackId":"a","message":{"data":"e30=","messageId":"1","attributes":{"notificationType":"USAGE_LOGS"}}}]}`),
		[]byte(`{"device":"enterprises/E/devices/d","usageLogEvents":[{"eventId":"1","eventTime":"2026-11-26T00:00:00Z","eventType":"APP_PROCESS_START","appProcessStartEvent":{"processInfo":{"apkSha256Hash":"ab","packageNames":["x"]}}},{"eventType":"NEW_THING","eventTime":"2026-11-26T00:00:01Z","newThingEvent":{"a":{"b":1}}}]}`))
	f.Add([]byte(`{"ReceivedMessages":[]}`), []byte(`{"UsageLogEvents":[{}],"usageLogEvents":"x"}`))
	f.Fuzz(func(t *testing.T, pull, data []byte) {
		decodePull(pull) // no panic
		if !json.Valid(data) {
			return
		}
		s := &Source{}
		sink := &collecttest.Recorder{}
		st := &LogStats{Ignored: map[string]int{}}
		if err := s.usageLogs(data, collect.RawRef{}, sink, newSeen(), st); err != nil {
			t.Fatal(err)
		}
		for _, e := range sink.Events {
			raw, err := jsonptr.Resolve(data, e.Raw.Pointer)
			if err != nil {
				t.Fatalf("pointer %q: %v", e.Raw.Pointer, err)
			}
			var m map[string]any
			json.Unmarshal(raw, &m)
			if kind, _ := m["eventType"].(string); strings.ToLower(kind) != e.Type {
				t.Fatalf("event %q points at %s", e.Type, raw)
			}
		}
	})
}

// FuzzParseExported reads hostile export lines: no panic, and a line
// accepted has a message id, a notification type and base64 data.
func FuzzParseExported(f *testing.F) {
	f.Add([]byte(`{"message":{"data":"e30=","attributes":{"notificationType":"USAGE_LOGS"},"messageId":"1"},"subscription":"s"}`))
	f.Add([]byte(`{"data":"e30=","attributes":{"notificationType":"STATUS_REPORT"},"messageId":"2"}`))
	f.Add([]byte(`{"message":null,"data":"x"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := parseExported(line)
		if err != nil {
			return
		}
		if m.Message.MessageID == "" || m.Message.Attributes["notificationType"] == "" {
			t.Fatalf("accepted %q without id or type", line)
		}
	})
}
