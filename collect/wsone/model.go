package wsone

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/wsonevocab"
)

// device holds the device-search fields the records use. Unknown members
// are ignored; the whole object stays in the raw response the record
// cites.
type device struct {
	ID                 idValue         `json:"Id"`
	UUID               string          `json:"Uuid"`
	UDID               string          `json:"Udid"`
	SerialNumber       string          `json:"SerialNumber"`
	Imei               string          `json:"Imei"`
	DeviceFriendlyName string          `json:"DeviceFriendlyName"`
	DeviceReportedName string          `json:"DeviceReportedName"`
	LocationGroupName  string          `json:"LocationGroupName"`
	UserName           string          `json:"UserName"`
	UserEmailAddress   string          `json:"UserEmailAddress"`
	Ownership          string          `json:"Ownership"`
	Platform           string          `json:"Platform"`
	Model              string          `json:"Model"`
	OperatingSystem    string          `json:"OperatingSystem"`
	OSBuildVersion     string          `json:"OSBuildVersion"`
	LastSeen           string          `json:"LastSeen"`
	EnrollmentStatus   string          `json:"EnrollmentStatus"`
	ComplianceStatus   string          `json:"ComplianceStatus"`
	CompromisedStatus  json.RawMessage `json:"CompromisedStatus"`
	LastEnrolledOn     string          `json:"LastEnrolledOn"`
	IsSupervised       flexBool        `json:"IsSupervised"`
	DataEncryptionYN   flexBool        `json:"DataEncryptionYN"`
	SecurityPatchDate  string          `json:"SecurityPatchDate"`
}

// idValue is Workspace ONE's {"Value": N}: a device's numeric id, which
// the per-device endpoints take.
type idValue struct {
	Value json.Number `json:"Value"`
}

// sourceID is the id as decimal digits, or "" when it is not a positive
// integer.
func (v idValue) sourceID() string {
	s := v.Value.String()
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
		return ""
	}
	return s
}

// flexBool reads a flag sent as a JSON boolean, as "true"/"false" or as
// "Y"/"N"; anything else (null, a number, an object) leaves it unset.
type flexBool struct{ p *bool }

func (b *flexBool) UnmarshalJSON(data []byte) error {
	b.p = nil
	var s string
	if json.Unmarshal(data, &s) != nil {
		s = string(bytes.TrimSpace(data))
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "y", "yes":
		v := true
		b.p = &v
	case "false", "n", "no":
		v := false
		b.p = &v
	}
	return nil
}

// ptr returns the flag, nil when not reported.
func (b flexBool) ptr() *bool {
	if b.p == nil {
		return nil
	}
	v := *b.p
	return &v
}

func (b flexBool) is(v bool) bool { return b.p != nil && *b.p == v }

// record maps d, found at raw, to a Device. never reports LastSeen's
// "never" sentinel. The record has an empty Key when d has no usable id.
func (d device) record(raw collect.RawRef) (rec collect.Device, never bool) {
	id := d.ID.sourceID()
	lastSeen, never := parseTime(d.LastSeen)
	enrolled, _ := parseTime(d.LastEnrolledOn)
	rec = collect.Device{
		Source:             Name,
		SourceID:           id,
		Name:               firstNonEmpty(d.DeviceFriendlyName, d.DeviceReportedName),
		Platform:           platform(d.Platform, d.Model),
		OSVersion:          d.OperatingSystem,
		SecurityPatchLevel: patchLevel(d.SecurityPatchDate),
		Build:              d.OSBuildVersion,
		Model:              d.Model,
		Serial:             d.SerialNumber,
		IMEI:               d.Imei,
		User:               firstNonEmpty(d.UserEmailAddress, d.UserName),
		Ownership:          ownership(d.Ownership),
		ManagementMode:     d.EnrollmentStatus,
		Category:           d.LocationGroupName,
		EnrolledAt:         enrolled,
		LastSeenAt:         lastSeen,
		Compliance:         compliance(d.ComplianceStatus),
		Compromised:        compromised(d.CompromisedStatus),
		Posture: collect.Posture{
			Supervised: d.IsSupervised.ptr(),
			Encrypted:  d.DataEncryptionYN.ptr(),
		},
		Raw: raw,
	}
	if id != "" {
		rec.Key = Name + ":" + id
	}
	return rec, never
}

// zoneless are the layouts of Workspace ONE's times, which carry no zone
// and are UTC; a fraction of a second is optional in each.
var zoneless = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"}

// parseTime reads a Workspace ONE time: zone-less (UTC), or RFC 3339 with
// a zone, which is then honoured. A year of 1 ("0001-01-01T00:00:00",
// with or without a fraction or a zone) is Workspace ONE's "never": nil
// with never set. Empty or unreadable text, or a time beyond year 9999 in
// UTC, is nil: not reported.
func parseTime(s string) (t *time.Time, never bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false
	}
	var v time.Time
	var err error
	for _, layout := range append([]string{time.RFC3339Nano}, zoneless...) {
		if v, err = time.Parse(layout, s); err == nil {
			break
		}
	}
	switch y := v.UTC().Year(); {
	case err != nil || y > 9999: // a record could not hold it
		return nil, false
	case y <= 1:
		return nil, true
	}
	u := v.UTC()
	return &u, false
}

// patchLevel is the date of a security patch as every Workspace ONE
// source reads it (wsonevocab.PatchDate); text that is no ISO 8601 date is
// kept as written, trimmed.
func patchLevel(s string) string {
	if d, iso := wsonevocab.PatchDate(s); iso {
		return d
	}
	return strings.TrimSpace(s)
}

// platform maps Workspace ONE's Platform ("Apple", "Android",
// "AppleOsX", "WinRT", …); an Apple device whose model is an iPad runs
// iPadOS.
func platform(p, model string) string {
	switch norm(p) {
	case "apple", "ios", "appleios":
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(model)), "ipad") {
			return "ipados"
		}
		return "ios"
	case "android":
		return "android"
	case "appleosx", "macos", "osx":
		return "macos"
	}
	if strings.HasPrefix(norm(p), "win") {
		return "windows"
	}
	return "unknown"
}

// ownership maps C (corporate-dedicated), S (corporate-shared) and E
// (employee-owned), or their spelled-out forms.
func ownership(o string) string {
	switch norm(o) {
	case "c", "s", "corporatededicated", "corporateshared", "corporate":
		return "corporate"
	case "e", "employeeowned", "personal":
		return "personal"
	}
	return "unknown"
}

// compliance maps ComplianceStatus as every Workspace ONE source does.
func compliance(c string) string { return wsonevocab.Compliance(c) }

// compromised maps CompromisedStatus, Workspace ONE's jailbreak / root
// verdict: a boolean (or its text). RawValue is the JSON as sent.
func compromised(raw json.RawMessage) collect.Compromised {
	c := collect.Compromised{Value: "unknown", Field: "CompromisedStatus"}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return c
	}
	c.RawValue = clip(string(raw), 64)
	var b flexBool
	_ = b.UnmarshalJSON(raw)
	switch {
	case b.is(true):
		c.Value = "true"
	case b.is(false):
		c.Value = "false"
	}
	if v := wsonevocab.Compromised(string(raw)); v != "" {
		c.Value = v
	}
	return c
}

// norm compares Workspace ONE's words in any spelling.
func norm(s string) string { return wsonevocab.Norm(s) }

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// app holds the fields of one item of a device's app listing the records
// use, plus the Apple InstalledApplicationList keys that tell how an iOS
// app was installed, read when present.
type app struct {
	ApplicationName       string   `json:"ApplicationName"`
	Version               string   `json:"Version"`
	Status                string   `json:"Status"`
	ApplicationIdentifier string   `json:"ApplicationIdentifier"`
	Type                  string   `json:"Type"`
	IsManaged             flexBool `json:"IsManaged"`

	AdHocCodeSigned       flexBool `json:"AdHocCodeSigned"`
	AppStoreVendable      flexBool `json:"AppStoreVendable"`
	BetaApp               flexBool `json:"BetaApp"`
	IsValidated           flexBool `json:"IsValidated"`
	DistributorIdentifier string   `json:"DistributorIdentifier"`
}

// record maps a to an App of the device with key deviceKey.
func (a app) record(deviceKey string, raw collect.RawRef) collect.App {
	return collect.App{
		DeviceKey:     deviceKey,
		AppID:         a.ApplicationIdentifier,
		Name:          a.ApplicationName,
		Version:       a.Version,
		InstallSource: a.installSource(),
		Installer:     a.DistributorIdentifier,
		Managed:       a.IsManaged.ptr(),
		State:         a.Status,
		Raw:           raw,
	}
}

// installSource judges the app as every Workspace ONE source does
// (wsonevocab.InstallSource).
func (a app) installSource() string {
	return wsonevocab.InstallSource(collect.AppleAppSignals{AdHocCodeSigned: a.AdHocCodeSigned.ptr(), Validated: a.IsValidated.ptr(), Beta: a.BetaApp.ptr(),
		AppStoreVendable: a.AppStoreVendable.ptr(), Distributor: a.DistributorIdentifier}, a.Type)
}
