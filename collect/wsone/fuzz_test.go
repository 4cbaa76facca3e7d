package wsone

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/jsonptr"
)

// FuzzParseError reads hostile error bodies: no panic, and what is kept
// is short, valid UTF-8 and free of control characters.
func FuzzParseError(f *testing.F) {
	f.Add([]byte(`{"errorCode":1013,"message":"Tenant code XYZ does not identify an Organization Group.","activityId":"d7a5de76-0000"}`))
	f.Add([]byte(`{"errorCode":"5061","message":"Device not found for this request.\r\n\u001b[31m","activityId":null}`))
	f.Add([]byte(`{"errorCode":1e400,"message":{"a":1},"activityId":["x"]}`))
	f.Add([]byte(`<!DOCTYPE html><html></html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, ok := parseError(body)
		if !ok && e != (errorBody{}) {
			t.Fatalf("not an error body, yet %+v", e)
		}
		for _, s := range []string{e.Message, e.ActivityID} {
			if len(s) > 500+len("…") || !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n\x1b\x00") {
				t.Fatalf("unsafe text %q", s)
			}
		}
		if got := (&Error{Status: 400, Code: e.Code, Message: e.Message, ActivityID: e.ActivityID}).Error(); !strings.HasPrefix(got, "HTTP 400") {
			t.Fatalf("Error() = %q", got)
		}
	})
}

// FuzzDevicePage decodes hostile device-search pages the way the listing
// does and maps each device: no panic, every record points at its object
// in the bytes, and mapped values stay in their vocabularies.
func FuzzDevicePage(f *testing.F) {
	f.Add([]byte(`{"Devices":[{"Id":{"Value":5614},"Uuid":"0b1c","Platform":"Apple","Model":"iPad Pro","LastSeen":"2024-06-10T07:55:03.150","Ownership":"E","ComplianceStatus":"NonCompliant","CompromisedStatus":true,"IsSupervised":"Y"}],"Page":0,"PageSize":500,"Total":1}`))
	f.Add([]byte(`{"Devices":[{"Id":{"Value":"12"},"LastSeen":"0001-01-01T00:00:00","CompromisedStatus":"Compromised"},null,7,{"Id":{"Value":-1}},{"Id":{"Value":1.5}}],"devices":[],"Page":"0"}`))
	f.Add([]byte(`{"Devices":[{"Id":{"Value":1},"Id":{"Value":2},"LastSeen":"2024-06-10T09:55:03+02:00","SecurityPatchDate":"0001-01-01T00:00:00.000"}],"Total":-5}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodePage(data, "Devices")
		if err != nil {
			return
		}
		ref := collect.RawRef{Path: "raw/wsone/000002.json"}
		for i, raw := range p.Items {
			r := at(ref, "Devices", i)
			if _, err := jsonptr.Resolve(data, r.Pointer); err != nil {
				t.Fatalf("item %d: pointer %q: %v", i, r.Pointer, err)
			}
			var d device
			if decodeItem(raw, &d) != nil {
				continue
			}
			rec, never := d.record(r)
			if rec.Key != "" && (rec.Key != Name+":"+rec.SourceID || strings.ContainsAny(rec.SourceID, "/.?#") || rec.SourceID == "0") {
				t.Fatalf("key %q from id %q", rec.Key, rec.SourceID)
			}
			if !in(rec.Platform, "ios", "ipados", "android", "macos", "windows", "unknown") || !in(rec.Ownership, "corporate", "personal", "unknown") ||
				!in(rec.Compromised.Value, "true", "false", "unknown") || rec.Compliance == "" || rec.Compromised.Field != "CompromisedStatus" {
				t.Fatalf("record out of its vocabularies: %+v", rec)
			}
			if never && rec.LastSeenAt != nil {
				t.Fatal("never seen, yet a last-seen time")
			}
			if rec.LastSeenAt != nil && (rec.LastSeenAt.Year() <= 1 || rec.LastSeenAt.Location().String() != "UTC") {
				t.Fatalf("last seen %v", rec.LastSeenAt)
			}
		}
	})
}

// FuzzAppPage decodes hostile app pages: no panic, pointers resolve, the
// install source stays in its vocabulary.
func FuzzAppPage(f *testing.F) {
	f.Add([]byte(`{"DeviceApps":[{"ApplicationName":"WhatsApp","Version":"24.11.79","Status":"Installed","ApplicationIdentifier":"net.whatsapp.WhatsApp","Type":"Public","IsManaged":false,"DistributorIdentifier":"com.apple.AppStore"}],"Page":0,"PageSize":500,"Total":1}`))
	f.Add([]byte(`{"DeviceApps":[{"ApplicationIdentifier":"x","AdHocCodeSigned":"true","Type":7},{"DistributorIdentifier":"eu.example.altmarket","IsManaged":"N"}],"DeviceApps":null}`))
	f.Add([]byte(`{"DeviceApps":{"0":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodePage(data, "DeviceApps")
		if err != nil {
			return
		}
		for i, raw := range p.Items {
			r := at(collect.RawRef{}, "DeviceApps", i)
			if _, err := jsonptr.Resolve(data, r.Pointer); err != nil {
				t.Fatalf("item %d: pointer %q: %v", i, r.Pointer, err)
			}
			var a app
			if decodeItem(raw, &a) != nil {
				continue
			}
			rec := a.record("wsone:1", r)
			if !in(rec.InstallSource, "store", "system", "sideloaded", "enterprise", "marketplace", "beta", "unknown") {
				t.Fatalf("install source %q", rec.InstallSource)
			}
		}
	})
}

// FuzzParseTime reads hostile times: a time is UTC and never Workspace
// ONE's "never", which is reported as such.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-06-10T07:55:03.150", "0001-01-01T00:00:00", "0001-01-01T00:00:00.000", "2024-06-10T09:55:03+14:00", "0000-12-31T23:00:00-01:00", "9999-12-31T23:59:59.9999999", "9999-12-31T23:30:00-01:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, never := parseTime(s)
		if never && v != nil || v != nil && (v.Location() != nil && v.Location().String() != "UTC" || v.Year() <= 1) {
			t.Fatalf("parseTime(%q) = %v, %v", s, v, never)
		}
		if v != nil {
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("time %v does not encode in a record: %v", v, err)
			}
		}
	})
}

func in(v string, set ...string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}
