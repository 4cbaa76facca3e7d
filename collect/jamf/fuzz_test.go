package jamf

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/internal/jsonptr"
)

// FuzzParseError reads hostile error bodies: no panic, a message that
// names the status, and causes only from a Jamf body.
func FuzzParseError(f *testing.F) {
	f.Add(401, []byte(`{"httpStatus":401,"errors":[{"code":"INVALID_TOKEN","field":null,"description":"Unauthorized","id":"0"}]}`))
	f.Add(400, []byte(`{"httpStatus":400,"errors":[{"code":7,"field":["x"],"description":"\u001b[31mred\r\nline","id":{"a":1}},null,1]}`))
	f.Add(500, []byte(`<html><head><title>Status page</title></head></html>`))
	f.Add(403, []byte(`{"error":"unauthorized_client","error_description":"The API client is disabled"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseError(status, body)
		if !strings.HasPrefix(e.Error(), "HTTP ") || e.Status != status {
			t.Fatalf("error %q for status %d", e.Error(), status)
		}
		if len(e.Causes) > maxCauses {
			t.Fatalf("%d causes kept", len(e.Causes))
		}
		if len(e.Causes) > 0 && (e.Code != e.Causes[0].Code || e.Description != e.Causes[0].Description) {
			t.Fatalf("code %q / %q, first cause %+v", e.Code, e.Description, e.Causes[0])
		}
		decodeError(status, nil, body) // no panic
	})
}

// installSources is the vocabulary of App.InstallSource this source
// writes.
var installSources = []string{"store", "sideloaded", "enterprise", InstallMarketplace, InstallBeta, "unknown"}

// FuzzDetail decodes hostile device details the way a worker does and
// writes their records: no panic, values in their vocabularies, times a
// record can hold, and every app pointing at an object of the document.
func FuzzDetail(f *testing.F) {
	f.Add([]byte(`{"id":"17","name":"JD iPhone","osVersion":"17.5.1","type":"ios","lastInventoryUpdateTimestamp":"2024-06-10T07:00:00.000Z","deviceOwnershipLevel":"Personal",
 "ios":{"model":"iPad Air","supervised":true,"security":{"jailBreakDetected":true,"passcodeCompliant":false},
 "applications":[{"identifier":"com.example.sideloaded","name":"Tool","version":"7","shortVersion":"1.2","adHocCodeSigned":true},{"identifier":"x","distributorIdentifier":"com.marketplace.example"},null,1]}}`))
	f.Add([]byte(`{"type":"tvos","ios":{"applications":[{}]},"tvos":{"applications":[{"betaApp":"true"}]},"IOS":{"applications":[]}}`))
	f.Add([]byte(`{"ios":{"applications":{"a":1}}}`))
	f.Add([]byte(`{"ios":{"security":{"jailBreakDetected":"Jailbroken"},"applications":null},"lastEnrollmentTimestamp":"9999-12-31T23:59:59-23:59"}`))
	f.Add([]byte(`{"id":1,"managed":"false","ios":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := decodeDetail(body)
		if err != nil {
			return
		}
		rec := d.record("17", "u", collect.RawRef{Path: "raw/jamf/000002.json"})
		if rec.Key != "jamf:17" || !slices.Contains([]string{"true", "false", "unknown"}, rec.Compromised.Value) ||
			!slices.Contains([]string{"ios", "ipados", "tvos", "watchos", "visionos", "unknown"}, rec.Platform) ||
			!slices.Contains([]string{"corporate", "personal", "unknown"}, rec.Ownership) ||
			!slices.Contains([]string{"compliant", "noncompliant", "unknown"}, rec.Compliance) {
			t.Fatalf("record %+v", rec)
		}
		if _, err := json.Marshal(rec); err != nil {
			t.Fatalf("the record does not encode: %v", err)
		}
		sink := &collecttest.Recorder{}
		src := &Source{}
		if err := src.writeDetail(rec, d, rec.Raw, sink); err != nil {
			t.Fatal(err)
		}
		for _, a := range sink.Apps {
			if !slices.Contains(installSources, a.InstallSource) {
				t.Fatalf("install source %q", a.InstallSource)
			}
			got, err := jsonptr.Resolve(body, a.Raw.Pointer)
			if err != nil || len(got) == 0 || got[0] != '{' {
				t.Fatalf("app points at %q: %s (%v)", a.Raw.Pointer, got, err)
			}
		}
		if d.apps == nil && !slices.ContainsFunc(sink.Gaps, func(g collect.Gap) bool { return g.Telemetry == collect.TelemetryAppInventory }) {
			t.Fatal("no applications and no gap")
		}
	})
}

// FuzzHistory decodes hostile management histories: no panic, every
// event points at an object of the document, none is before since, and
// each encodes as a record.
func FuzzHistory(f *testing.F) {
	f.Add([]byte(`{"mobile_device_history":{"management_commands":{"completed":[{"name":"DeviceLock","username":"admin","completed_epoch":1718006405000}],
 "pending":[{"name":"X","status":"Pending","issued_epoch":"1718000000000","last_push_utc":"2024-06-10T08:00:05.000+0000"}],"failed":[{"name":"InstallApplication","status":"Failed","error":"...","issued_epoch":1718000000000,"failed_epoch":1718000060000}]},
 "audits":[{"event":"Lost Mode enabled","username":"admin","date_time_epoch":1718006300000}]}}`))
	f.Add([]byte(`{"mobile_device_history":{"audits":{"audit":{"event":"x","date_time_utc":"2024-06-10T08:00:05.000+0000"}},"management_commands":{"completed":{"command":[{"name":"a"},{"name":"b"}]}}}}`))
	f.Add([]byte(`{"mobile_device_history":{"audits":{"a/b~c":[{"event":1}]},"management_commands":{"pending":[null,{"issued_epoch":99999999999999999999}]}}}`))
	f.Add([]byte(`{"Mobile_Device_History":{},"mobile_device_history":null}`))
	since := time.UnixMilli(1718000030000).UTC()
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := parseHistory("jamf:1", since, body, collect.RawRef{Path: "raw/jamf/000003.json"})
		if err != nil {
			return
		}
		for _, e := range events {
			got, err := jsonptr.Resolve(body, e.Raw.Pointer)
			if err != nil || len(got) == 0 {
				t.Fatalf("event points at %q: %v", e.Raw.Pointer, err)
			}
			if !e.Time.IsZero() && e.Time.Before(since) {
				t.Fatalf("event of %v kept, before %v", e.Time, since)
			}
			if e.Type != EventMDMCommand && e.Type != EventAdminAction {
				t.Fatalf("type %q", e.Type)
			}
			if _, err := e.Record(); err != nil {
				t.Fatalf("the event does not encode: %v", err)
			}
		}
	})
}

// FuzzListPage decodes hostile listing pages: no panic, and every item
// decoded sits at /results/N of the page.
func FuzzListPage(f *testing.F) {
	f.Add([]byte(`{"totalCount":2,"results":[{"id":"17","name":"JD iPhone","serialNumber":"F2LXK0ABCD12","type":"ios"},{"id":18}]}`))
	f.Add([]byte(`{"TotalCount":5,"Results":[{"id":"1"}],"results":[]}`))
	f.Add([]byte(`{"totalCount":-1,"results":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeList(body)
		if err != nil {
			return
		}
		if p.TotalCount != nil && *p.TotalCount < 0 {
			t.Fatalf("negative totalCount %d", *p.TotalCount)
		}
		for i, raw := range p.Results {
			got, err := jsonptr.Resolve(body, "/results/"+strings.TrimSpace(itoa(i)))
			if err != nil || string(got) != string(raw) {
				t.Fatalf("result %d is %s; the pointer gives %s (%v)", i, raw, got, err)
			}
			var it listItem
			if json.Unmarshal(raw, &it) == nil {
				it.record(collect.RawRef{}) // no panic
			}
		}
	})
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
