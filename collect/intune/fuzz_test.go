package intune

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/custos-ir/custos/collect"
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
