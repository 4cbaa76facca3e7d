package jamf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/jamfvocab"
)

// listItem is one result of GET /api/v2/mobile-devices (MobileDeviceV2).
type listItem struct {
	ID              text `json:"id"`
	Name            text `json:"name"`
	SerialNumber    text `json:"serialNumber"`
	UDID            text `json:"udid"`
	Model           text `json:"model"`
	ModelIdentifier text `json:"modelIdentifier"`
	Username        text `json:"username"`
	Type            text `json:"type"`
}

// record is the device as the listing describes it: what is written when
// its detail cannot be read.
func (it listItem) record(raw collect.RawRef) collect.Device {
	return collect.Device{
		Key: Name + ":" + string(it.ID), Source: Name, SourceID: string(it.ID),
		Name:         string(it.Name),
		Platform:     platform(string(it.Type), string(it.Model)+" "+string(it.ModelIdentifier), ""),
		Model:        string(it.Model),
		Manufacturer: "Apple",
		Serial:       string(it.SerialNumber),
		User:         string(it.Username),
		Ownership:    "unknown",
		Compliance:   "unknown",
		Compromised:  collect.Compromised{Value: "unknown"},
		Raw:          raw,
	}
}

// listPage is a page of the listing, read by exact member names so that
// the records' pointers (/results/N) lead where they say in the stored
// bytes (encoding/json matches member names ignoring case).
type listPage struct {
	TotalCount *int
	Results    []json.RawMessage
}

func decodeList(data []byte) (listPage, error) {
	var p listPage
	m, err := members(data, "totalCount", "results")
	if err != nil {
		return p, err
	}
	if v := m["totalCount"]; v != nil {
		var n int
		if err := json.Unmarshal(v, &n); err != nil || n < 0 {
			return p, fmt.Errorf("totalCount %.40s is not a count", v)
		}
		p.TotalCount = &n
	}
	if v := m["results"]; v != nil {
		if err := json.Unmarshal(v, &p.Results); err != nil {
			return p, fmt.Errorf("results: %w", err)
		}
	}
	return p, nil
}

// members decodes a JSON object and returns the named members, matched
// exactly (the last of duplicates, as a JSON pointer resolves them); null
// members are left out.
func members(data []byte, names ...string) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	if all == nil {
		return nil, errors.New("null where an object was expected")
	}
	out := make(map[string]json.RawMessage, len(names))
	for _, n := range names {
		if v, ok := all[n]; ok && string(v) != "null" {
			out[n] = v
		}
	}
	return out, nil
}

// detail is GET /api/v2/mobile-devices/{id}/detail, the parts the records
// use. The raw response keeps everything else.
type detail struct {
	ID                           text `json:"id"`
	Name                         text `json:"name"`
	LastInventoryUpdateTimestamp text `json:"lastInventoryUpdateTimestamp"`
	OSVersion                    text `json:"osVersion"`
	OSBuild                      text `json:"osBuild"`
	SerialNumber                 text `json:"serialNumber"`
	UDID                         text `json:"udid"`
	Managed                      flag `json:"managed"`
	LastEnrollmentTimestamp      text `json:"lastEnrollmentTimestamp"`
	DeviceOwnershipLevel         text `json:"deviceOwnershipLevel"`
	EnrollmentMethod             text `json:"enrollmentMethod"`
	Type                         text `json:"type"`
	Site                         struct {
		Name text `json:"name"`
	} `json:"site"`
	Location struct {
		Username     text `json:"username"`
		EmailAddress text `json:"emailAddress"`
	} `json:"location"`

	// The object of the device's type ("ios", "tvos", …): its key, and
	// what it holds.
	platformKey string
	platform    platformDetail
	apps        []json.RawMessage // nil when the object has no applications
}

// platformDetail is the "ios" (or "tvos", …) object of a detail.
type platformDetail struct {
	Model           text `json:"model"`
	ModelIdentifier text `json:"modelIdentifier"`
	Supervised      flag `json:"supervised"`
	Security        struct {
		DataProtected                flag            `json:"dataProtected"`
		PasscodePresent              flag            `json:"passcodePresent"`
		PasscodeCompliant            flag            `json:"passcodeCompliant"`
		PasscodeCompliantWithProfile flag            `json:"passcodeCompliantWithProfile"`
		ActivationLockEnabled        flag            `json:"activationLockEnabled"`
		JailBreakDetected            json.RawMessage `json:"jailBreakDetected"`
	} `json:"security"`
	Network struct {
		IMEI text `json:"imei"`
	} `json:"network"`
}

// platformKeys are the objects a detail may carry, one per device type.
var platformKeys = []string{"ios", "tvos", "watchos", "visionos"}

// decodeDetail reads a detail document. The platform object and its
// applications are found by exact member names, for the pointers.
func decodeDetail(data []byte) (*detail, error) {
	var d detail
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, err
	}
	m, err := members(data, platformKeys...)
	if err != nil {
		return nil, err
	}
	want := strings.ToLower(string(d.Type))
	for _, k := range platformKeys {
		if m[k] != nil && (d.platformKey == "" || k == want) {
			d.platformKey = k
		}
	}
	if d.platformKey == "" {
		return &d, nil
	}
	raw := m[d.platformKey]
	if err := json.Unmarshal(raw, &d.platform); err != nil {
		return nil, fmt.Errorf("%s: %w", d.platformKey, err)
	}
	pm, err := members(raw, "applications")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.platformKey, err)
	}
	if v := pm["applications"]; v != nil {
		if err := json.Unmarshal(v, &d.apps); err != nil {
			return nil, fmt.Errorf("%s.applications: %w", d.platformKey, err)
		}
		if d.apps == nil {
			d.apps = []json.RawMessage{}
		}
	}
	return &d, nil
}

// record maps the detail to a Device. user is the listing's username,
// used when the detail names nobody.
func (d *detail) record(id, user string, raw collect.RawRef) collect.Device {
	p := d.platform
	rec := collect.Device{
		Key: Name + ":" + id, Source: Name, SourceID: id,
		Name:           string(d.Name),
		Platform:       platform(string(d.Type), string(p.Model)+" "+string(p.ModelIdentifier), string(d.OSVersion)),
		OSVersion:      string(d.OSVersion),
		Build:          string(d.OSBuild),
		Model:          string(p.Model),
		Manufacturer:   "Apple",
		Serial:         string(d.SerialNumber),
		IMEI:           string(p.Network.IMEI),
		User:           firstNonEmpty(string(d.Location.EmailAddress), string(d.Location.Username), user),
		Ownership:      ownership(string(d.DeviceOwnershipLevel)),
		ManagementMode: managementMode(d.Managed, string(d.EnrollmentMethod)),
		Category:       string(d.Site.Name),
		EnrolledAt:     parseTime(string(d.LastEnrollmentTimestamp)),
		LastSeenAt:     parseTime(string(d.LastInventoryUpdateTimestamp)),
		Compliance:     "unknown",
		Compromised:    collect.Compromised{Value: "unknown"},
		Raw:            raw,
	}
	if d.platformKey == "" {
		return rec
	}
	sec := p.Security
	rec.Posture.Supervised = p.Supervised.ptr()
	rec.Posture.Encrypted = sec.DataProtected.ptr()
	// Jamf keeps no compliance verdict for mobile devices; the passcode's
	// compliance with its profile is the only one it reports.
	switch pc, pp := sec.PasscodeCompliant, sec.PasscodeCompliantWithProfile; {
	case pc.set && !pc.v || pp.set && !pp.v:
		rec.Compliance = "noncompliant"
	case pc.set && pp.set:
		rec.Compliance = "compliant"
	}
	rec.Compromised = jailbreak(d.platformKey, sec.JailBreakDetected)
	return rec
}

// jailbreak reads jailBreakDetected: a boolean in the Jamf Pro API, a
// string ("Normal", "Jailbroken", "Unknown") in older shapes.
func jailbreak(key string, raw json.RawMessage) collect.Compromised {
	c := collect.Compromised{Value: "unknown", Field: key + ".security.jailBreakDetected"}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		c.Field = "" // not reported
		return c
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
		if len(s) > 64 {
			s = s[:64]
		}
	}
	c.RawValue = s
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "jailbroken", "yes":
		c.Value = "true"
	case "false", "normal", "no":
		c.Value = "false"
	}
	return c
}

// platform and ownership read Jamf's words as every Jamf source does.
func platform(typ, model, osVersion string) string { return jamfvocab.Platform(typ, model, osVersion) }

func ownership(s string) string { return jamfvocab.Ownership(s) }

func managementMode(managed flag, method string) string {
	switch {
	case managed.set && !managed.v:
		return "unmanaged"
	case method != "":
		return method
	case managed.set:
		return "managed"
	}
	return ""
}

// parseTime reads Jamf's timestamps (RFC 3339, with or without a colon in
// the offset); nil when absent or unreadable.
func parseTime(s string) *time.Time {
	if s == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() > 1 && t.UTC().Year() <= 9999 {
			t = t.UTC()
			return &t
		}
	}
	return nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// app is one item of a detail's applications. Besides Jamf's documented
// fields it reads the iOS InstalledApplicationList signals, whichever way
// they are spelt (adHocCodeSigned or AdHocCodeSigned: encoding/json
// ignores case); validationStatus is Jamf's name for IsValidated.
type app struct {
	Identifier            text `json:"identifier"`
	Name                  text `json:"name"`
	Version               text `json:"version"`
	ShortVersion          text `json:"shortVersion"`
	ManagementStatus      text `json:"managementStatus"`
	ValidationStatus      flag `json:"validationStatus"`
	IsValidated           flag `json:"isValidated"`
	AdHocCodeSigned       flag `json:"adHocCodeSigned"`
	AppStoreVendable      flag `json:"appStoreVendable"`
	BetaApp               flag `json:"betaApp"`
	DistributorIdentifier text `json:"distributorIdentifier"`
}

// Install sources beyond the record model's store, sideloaded, enterprise
// and unknown (collect.InstallMarketplace, collect.InstallBeta).
const (
	InstallMarketplace = collect.InstallMarketplace
	InstallBeta        = collect.InstallBeta
)

// installSource judges the iOS signals as every iOS source does
// (collect.AppleAppSignals). Without them (Jamf does not document them)
// the source is unknown.
func (a app) installSource() string {
	validated := a.ValidationStatus
	if !validated.set {
		validated = a.IsValidated
	}
	s := collect.AppleAppSignals{AdHocCodeSigned: a.AdHocCodeSigned.ptr(), Validated: validated.ptr(), Beta: a.BetaApp.ptr(),
		AppStoreVendable: a.AppStoreVendable.ptr(), Distributor: string(a.DistributorIdentifier)}.InstallSource()
	if s == "" {
		return "unknown"
	}
	return s
}

func (a app) record(deviceKey string, raw collect.RawRef) collect.App {
	rec := collect.App{
		DeviceKey:     deviceKey,
		AppID:         string(a.Identifier),
		Name:          string(a.Name),
		Version:       firstNonEmpty(string(a.ShortVersion), string(a.Version)),
		InstallSource: a.installSource(),
		Installer:     string(a.DistributorIdentifier),
		State:         string(a.ManagementStatus),
		Raw:           raw,
	}
	switch strings.ToLower(string(a.ManagementStatus)) {
	case "managed":
		rec.Managed = ptr(true)
	case "unmanaged":
		rec.Managed = ptr(false)
	}
	return rec
}

func ptr[T any](v T) *T { return &v }

// flag is a JSON boolean that may be absent or null (set is false), or
// given as a string ("true", "false"). Anything else leaves it unset
// rather than failing the whole object.
type flag struct{ set, v bool }

func (f *flag) UnmarshalJSON(b []byte) error {
	*f = flag{}
	var v bool
	if b = bytes.TrimSpace(b); string(b) == "null" {
		return nil // json.Unmarshal leaves a bool alone on null
	}
	if json.Unmarshal(b, &v) == nil {
		*f = flag{true, v}
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			*f = flag{true, true}
		case "false":
			*f = flag{true, false}
		}
	}
	return nil
}

func (f flag) ptr() *bool {
	if !f.set {
		return nil
	}
	return ptr(f.v)
}
