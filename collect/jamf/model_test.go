package jamf

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/httpx"
)

func TestInstallSource(t *testing.T) {
	for _, tc := range []struct {
		app  string
		want string
	}{
		// The iOS signals, strongest first.
		{`{"adHocCodeSigned":true,"appStoreVendable":false,"validationStatus":true}`, "sideloaded"},
		{`{"adHocCodeSigned":true,"appStoreVendable":true,"validationStatus":true,"distributorIdentifier":"com.apple.AppStore"}`, "sideloaded"},
		{`{"validationStatus":false,"appStoreVendable":false,"managementStatus":"Managed"}`, "sideloaded"},
		{`{"IsValidated":false}`, "sideloaded"}, // Apple's spelling
		{`{"betaApp":true,"distributorIdentifier":"com.apple.TestFlight","validationStatus":true}`, InstallBeta},
		{`{"distributorIdentifier":"com.marketplace.example","appStoreVendable":false,"validationStatus":true}`, InstallMarketplace},
		{`{"distributorIdentifier":"com.apple.AppStore"}`, "store"},
		{`{"appStoreVendable":true,"validationStatus":true,"managementStatus":"Managed"}`, "store"},
		{`{"appStoreVendable":false,"validationStatus":true,"managementStatus":"Managed"}`, "enterprise"},
		{`{"appStoreVendable":"false","validationStatus":"true"}`, "enterprise"}, // booleans as strings
		// What Jamf documents, without the signals: not known.
		{`{"identifier":"a","managementStatus":"Managed","validationStatus":true}`, "unknown"},
		{`{"adHocCodeSigned":null,"validationStatus":null}`, "unknown"},
		{`{"adHocCodeSigned":{},"validationStatus":[1]}`, "unknown"},
	} {
		var a app
		if err := json.Unmarshal([]byte(tc.app), &a); err != nil {
			t.Fatalf("%s: %v", tc.app, err)
		}
		if got := a.installSource(); got != tc.want {
			t.Errorf("%s: install source %q, want %q", tc.app, got, tc.want)
		}
	}
}

func TestJailbreak(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want collect.Compromised
	}{
		{`true`, collect.Compromised{Value: "true", Field: "ios.security.jailBreakDetected", RawValue: "true"}},
		{`false`, collect.Compromised{Value: "false", Field: "ios.security.jailBreakDetected", RawValue: "false"}},
		{`"Jailbroken"`, collect.Compromised{Value: "true", Field: "ios.security.jailBreakDetected", RawValue: "Jailbroken"}},
		{`"Normal"`, collect.Compromised{Value: "false", Field: "ios.security.jailBreakDetected", RawValue: "Normal"}},
		{`"Unknown"`, collect.Compromised{Value: "unknown", Field: "ios.security.jailBreakDetected", RawValue: "Unknown"}},
		{`null`, collect.Compromised{Value: "unknown"}},
		{``, collect.Compromised{Value: "unknown"}},
	} {
		if got := jailbreak("ios", json.RawMessage(tc.raw)); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.raw, got, tc.want)
		}
	}
}

// TestDetailRecord maps the detail of the reference's example (mdm-apis.md
// A.11).
func TestDetailRecord(t *testing.T) {
	body := []byte(`{"id":"17","name":"JD iPhone","managementId":"0f9c2d7a-...","osVersion":"17.5.1","osBuild":"21F90","serialNumber":"F2LXK0ABCD12","udid":"00008110-000A1C2E3F",
 "managed":true,"lastInventoryUpdateTimestamp":"2024-06-10T07:00:00.000Z","lastEnrollmentTimestamp":"2024-02-01T09:12:44.000Z","deviceOwnershipLevel":"Institutional","enrollmentMethod":"Automated Device Enrollment","type":"ios",
 "location":{"username":"jdoe","emailAddress":"jdoe@contoso.com"},
 "ios":{"model":"iPhone 14","modelIdentifier":"iPhone14,7","supervised":true,
   "security":{"dataProtected":true,"passcodePresent":true,"passcodeCompliant":true,"passcodeCompliantWithProfile":true,"hardwareEncryption":3,"activationLockEnabled":true,"jailBreakDetected":false},
   "network":{"imei":"351234567890123"},
   "applications":[{"identifier":"net.whatsapp.WhatsApp","name":"WhatsApp","version":"24.11.79","shortVersion":"24.11.79"}]}}`)
	d, err := decodeDetail(body)
	if err != nil {
		t.Fatal(err)
	}
	rec := d.record("17", "jdoe", collect.RawRef{Path: "raw/jamf/000003.json"})
	if rec.Key != "jamf:17" || rec.Platform != "ios" || rec.OSVersion != "17.5.1" || rec.Build != "21F90" || rec.Model != "iPhone 14" ||
		rec.Serial != "F2LXK0ABCD12" || rec.IMEI != "351234567890123" || rec.User != "jdoe@contoso.com" || rec.Ownership != "corporate" ||
		rec.ManagementMode != "Automated Device Enrollment" || rec.Compliance != "compliant" || rec.Compromised.Value != "false" ||
		rec.Posture.Supervised == nil || !*rec.Posture.Supervised || rec.Posture.Encrypted == nil || !*rec.Posture.Encrypted ||
		rec.LastSeenAt == nil || rec.LastSeenAt.Format("2006-01-02T15:04:05Z") != "2024-06-10T07:00:00Z" || rec.EnrolledAt == nil {
		t.Errorf("record %+v", rec)
	}
	if len(d.apps) != 1 || d.platformKey != "ios" {
		t.Fatalf("apps %s under %q", d.apps, d.platformKey)
	}
	var a app
	json.Unmarshal(d.apps[0], &a)
	if got := a.record(rec.Key, collect.RawRef{}); got.AppID != "net.whatsapp.WhatsApp" || got.Version != "24.11.79" || got.InstallSource != "unknown" || got.Managed != nil {
		t.Errorf("app %+v", got)
	}
}

// TestParseError reads Jamf's error bodies.
func TestParseError(t *testing.T) {
	e := parseError(403, []byte(`{"httpStatus":403,"errors":[{"code":"INVALID_PRIVILEGE","field":null,"description":"Forbidden","id":"0"}]}`))
	if e.Code != "INVALID_PRIVILEGE" || e.Description != "Forbidden" || len(e.Causes) != 1 || e.Causes[0].ID != "0" || e.Causes[0].Field != "" {
		t.Errorf("%+v", e)
	}
	if e.Error() != "HTTP 403 INVALID_PRIVILEGE: Forbidden" || !errors.Is(e, collect.ErrAuth) {
		t.Errorf("%q, auth %v", e.Error(), errors.Is(e, collect.ErrAuth))
	}
	e = parseError(400, []byte(`{"httpStatus":400,"errors":[{"code":"INVALID_FIELD","field":"page-size","description":"page-size must be between 1 and 2000","id":7},{"code":"INVALID_FIELD","field":"page","description":"page must be positive"}]}`))
	if e.Error() != "HTTP 400 INVALID_FIELD: page-size must be between 1 and 2000 (field page-size); page must be positive (field page)" ||
		e.Causes[0].ID != "7" || errors.Is(e, collect.ErrAuth) {
		t.Errorf("%q %+v", e.Error(), e.Causes)
	}
	for _, body := range []string{`<html><p>Unauthorized</p></html>`, `{"httpStatus":401,"errors":[]}`, `{"error":"invalid_client"}`, `{"errors":"x"}`, ``} {
		if e := parseError(401, []byte(body)); e.Code != "" || len(e.Causes) != 0 || !errors.Is(e, collect.ErrAuth) || e.Error() != "HTTP 401" {
			t.Errorf("%s: %+v %q", body, e, e.Error())
		}
	}
	// Through a request's failure: the httpx sentinel of its kind too.
	api := &httpx.APIError{Kind: httpx.KindPermission, Method: "GET", URL: "https://x/api", Status: 403, Code: "INVALID_PRIVILEGE"}
	err := asError(api, &httpx.Response{Status: 403, Body: []byte(`{"httpStatus":403,"errors":[{"code":"INVALID_PRIVILEGE","description":"Forbidden"}]}`)})
	var je *Error
	if !errors.As(err, &je) || je.Code != "INVALID_PRIVILEGE" || !errors.Is(err, httpx.ErrPermission) || !errors.Is(err, collect.ErrAuth) {
		t.Errorf("%#v", err)
	}
	transport := &httpx.APIError{Kind: httpx.KindTransport, Method: "GET", URL: "https://x/api"}
	if got := asError(transport, &httpx.Response{}); got != error(transport) {
		t.Errorf("a transport failure became %#v", got)
	}
}
