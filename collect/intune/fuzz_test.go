package intune

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/internal/jsonptr"
)

func FuzzParseErrors(f *testing.F) {
	f.Add([]byte(`{"error":{"code":"Forbidden","message":"{\r\n  \"_version\": 3,\r\n  \"Message\": \"denied\"\r\n}","innerError":{"request-id":"r"}}}`))
	f.Add([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Trace ID: x\r\nCorrelation ID: y","error_codes":[7000215]}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if e := parseGraphError(400, http.Header{}, body); e.Error() == "" {
			t.Fatal("empty error text")
		}
		if e := parseTokenError(400, http.Header{}, body); !e.Token {
			t.Fatal("token error not marked")
		}
	})
}

// FuzzDeviceRecord decodes hostile managedDevice objects the way a page is
// decoded and maps them to records.
func FuzzDeviceRecord(f *testing.F) {
	f.Add([]byte(`{"id":"6f1b","deviceName":"<b>x</b>","operatingSystem":"iOS","jailBroken":"True","lastSyncDateTime":"0001-01-01T00:00:00Z","isSupervised":true,"managedDeviceOwnerType":"personal"}`))
	f.Add([]byte(`{"id":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var md managedDevice
		if json.Unmarshal(data, &md) != nil {
			return
		}
		d := md.record(collect.RawRef{})
		if d.Key != Name+":"+md.ID || d.Compromised.Value == "" || d.Ownership == "" || d.Platform == "" {
			t.Fatalf("incomplete record %+v", d)
		}
		if d.LastSeenAt != nil && d.LastSeenAt.Year() <= 1 {
			t.Fatal("Graph's zero date kept as a time")
		}
	})
}

// FuzzStateRecords decodes hostile pages of compliance policy states,
// audit events and detected apps the way Graph pages are decoded: no
// panic, and every record points at an object of the page it came from.
func FuzzStateRecords(f *testing.F) {
	f.Add([]byte(`{"value":[{"id":"p1","displayName":"<b>iOS</b>","state":"nonCompliant","settingStates":[{"settingName":"passcode","state":"nonCompliant","currentValue":"0"}]}]}`))
	f.Add([]byte(`{"value":[{"id":"a1","activity":"Wipe","activityDateTime":"2026-11-20T10:00:00Z","actor":{"userPrincipalName":"eve@contoso.com"},"resources":[{"resourceId":"d1","type":"ManagedDevice"},{"resourceId":"d1"}]}]}`))
	f.Add([]byte(`{"value":[{"id":"x","displayName":"\u202eevil","deviceCount":-5}],"@odata.nextLink":"https://evil.example/"}`))
	f.Add([]byte(`{"value":[null,1,"s",[],{"activityDateTime":"0001-01-01T00:00:00Z"}]}`))
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	keys := map[string]string{"d1": "intune:d1"}
	dev := collect.Device{Key: "intune:d1", SourceID: "d1"}
	f.Fuzz(func(t *testing.T, body []byte) {
		var p page
		if json.Unmarshal(body, &p) != nil {
			return
		}
		ref := collect.RawRef{Path: "raw/intune/000001.json"}
		sink := &collecttest.Recorder{}
		for _, fn := range []func() error{
			func() error { return complianceRecords(dev, p, ref, sink) },
			func() error { return auditRecords(since, keys, p, ref, sink) },
			func() error { return appRecords(dev, p, ref, sink) },
		} {
			fn() // a decoding error is fine; a panic is not
		}
		check := func(r collect.RawRef) {
			if _, err := jsonptr.Resolve(body, r.Pointer); err != nil {
				t.Fatalf("record points at %q: %v", r.Pointer, err)
			}
		}
		seen := map[string]bool{}
		for _, e := range sink.Events {
			check(e.Raw)
			if e.Type == EventAdminAction {
				if e.Time.Before(since) {
					t.Fatalf("audit event before --since kept: %v", e.Time)
				}
				k := e.DeviceKey + e.Raw.Pointer
				if seen[k] {
					t.Fatalf("audit event %s written twice for %q", e.Raw.Pointer, e.DeviceKey)
				}
				seen[k] = true
			}
		}
		for _, a := range sink.Apps {
			check(a.Raw)
			if a.Prevalence < 0 {
				t.Fatalf("negative prevalence %d", a.Prevalence)
			}
		}
	})
}

// FuzzBatchEnvelope decodes hostile $batch responses: every item body the
// source would cite is where /responses/K/body says in the stored bytes.
func FuzzBatchEnvelope(f *testing.F) {
	f.Add([]byte(`{"responses":[{"id":"2","status":429,"headers":{"Retry-After":"10"},"body":{"error":{"code":"TooManyRequests"}}},{"id":"1","status":200,"body":{"value":[{"id":"a"}]}}]}`))
	f.Add([]byte(`{"Responses":[{"ID":"1","Status":200,"Body":{}}],"responses":[]}`))
	f.Add([]byte(`{"responses":[{"id":"1","body":null},{"id":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var env batchEnvelope
		if json.Unmarshal(data, &env) != nil {
			return
		}
		for k, it := range env.Responses {
			if it.Body == nil {
				continue
			}
			got, err := jsonptr.Resolve(data, fmt.Sprintf("/responses/%d/body", k))
			if err != nil || !bytes.Equal(got, it.Body) {
				t.Fatalf("item %d: body %s, pointer gives %s (%v)", k, it.Body, got, err)
			}
		}
	})
}
