package amapi

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Event types this source writes.
const (
	// EventComplianceState is one non-compliance detail of a device, as of
	// its last status report.
	EventComplianceState = "compliance_state"
	// EventAppEvent is an application report event (INSTALLED, CHANGED,
	// REMOVED …; the API keeps the last 30 hours).
	EventAppEvent = "app_event"
)

// device is the part of the API's Device resource the records use.
// Unknown members are ignored; the raw response keeps everything.
type device struct {
	Name                 string                             `json:"name"`
	UserName             string                             `json:"userName"`
	User                 struct{ AccountIdentifier string } `json:"user"`
	ManagementMode       string                             `json:"managementMode"`
	Ownership            string                             `json:"ownership"`
	State                string                             `json:"state"`
	PolicyCompliant      *bool                              `json:"policyCompliant"`
	EnrollmentTime       string                             `json:"enrollmentTime"`
	LastStatusReportTime string                             `json:"lastStatusReportTime"`
	AppliedPolicyName    string                             `json:"appliedPolicyName"`
	AppliedPolicyVersion string                             `json:"appliedPolicyVersion"` // int64 as a string
	SecurityPosture      *struct {
		DevicePosture  string `json:"devicePosture"`
		PostureDetails []struct {
			SecurityRisk string `json:"securityRisk"`
		} `json:"postureDetails"`
	} `json:"securityPosture"`
	SoftwareInfo *struct {
		AndroidVersion     string `json:"androidVersion"`
		AndroidBuildNumber string `json:"androidBuildNumber"`
		SecurityPatchLevel string `json:"securityPatchLevel"`
	} `json:"softwareInfo"`
	HardwareInfo struct {
		Brand, Manufacturer, Model, SerialNumber string
	} `json:"hardwareInfo"`
	NetworkInfo struct {
		IMEI string `json:"imei"`
	} `json:"networkInfo"`
	DeviceSettings *struct {
		ADBEnabled                 *bool  `json:"adbEnabled"`
		DevelopmentSettingsEnabled *bool  `json:"developmentSettingsEnabled"`
		UnknownSourcesEnabled      *bool  `json:"unknownSourcesEnabled"`
		VerifyAppsEnabled          *bool  `json:"verifyAppsEnabled"`
		IsEncrypted                *bool  `json:"isEncrypted"`
		EncryptionStatus           string `json:"encryptionStatus"`
	} `json:"deviceSettings"`
}

// appReport is an ApplicationReport.
type appReport struct {
	PackageName                string   `json:"packageName"`
	DisplayName                string   `json:"displayName"`
	VersionName                string   `json:"versionName"`
	VersionCode                int64    `json:"versionCode"`
	ApplicationSource          string   `json:"applicationSource"`
	InstallerPackageName       string   `json:"installerPackageName"`
	PackageSha256Hash          string   `json:"packageSha256Hash"`
	SigningKeyCertFingerprints []string `json:"signingKeyCertFingerprints"`
	SigningKeyCerts            []struct {
		SHA256 string `json:"signingKeyCertFingerprintSha256"` // base64
	} `json:"signingKeyCerts"`
	State          string `json:"state"`
	UserFacingType string `json:"userFacingType"`
}

// policy is the part of a Policy that decides what devices report.
type policy struct {
	Name                    string `json:"name"`
	StatusReportingSettings struct {
		ApplicationReportsEnabled bool `json:"applicationReportsEnabled"`
		DeviceSettingsEnabled     bool `json:"deviceSettingsEnabled"`
		SoftwareInfoEnabled       bool `json:"softwareInfoEnabled"`
	} `json:"statusReportingSettings"`
}

// lastSegment is the id at the end of a resource name.
func lastSegment(name string) string {
	i := strings.LastIndexByte(name, '/')
	return name[i+1:]
}

func parseTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return nil
	}
	t = t.UTC()
	return &t
}

// record maps the device to a Device record.
func (d device) record(raw collect.RawRef) collect.Device {
	id := lastSegment(d.Name)
	rec := collect.Device{
		Key: Name + ":" + id, Source: Name, SourceID: id,
		Name:         strings.TrimSpace(d.HardwareInfo.Manufacturer + " " + d.HardwareInfo.Model),
		Platform:     "android",
		Model:        d.HardwareInfo.Model,
		Manufacturer: d.HardwareInfo.Manufacturer,
		Serial:       d.HardwareInfo.SerialNumber,
		IMEI:         d.NetworkInfo.IMEI,
		User:         firstNonEmpty(d.User.AccountIdentifier, d.UserName),
		Ownership:    map[string]string{"COMPANY_OWNED": "corporate", "PERSONALLY_OWNED": "personal"}[d.Ownership],
		ManagementMode: map[string]string{"DEVICE_OWNER": "fully_managed",
			"PROFILE_OWNER": "work_profile"}[d.ManagementMode],
		Category:   lastSegment(d.AppliedPolicyName),
		EnrolledAt: parseTime(d.EnrollmentTime),
		LastSeenAt: parseTime(d.LastStatusReportTime),
		Compliance: "unknown",
		Raw:        raw,
	}
	if rec.Ownership == "" {
		rec.Ownership = "unknown"
	}
	if d.PolicyCompliant != nil {
		rec.Compliance = map[bool]string{true: "compliant", false: "noncompliant"}[*d.PolicyCompliant]
	}
	if si := d.SoftwareInfo; si != nil {
		rec.OSVersion, rec.Build, rec.SecurityPatchLevel = si.AndroidVersion, si.AndroidBuildNumber, si.SecurityPatchLevel
	}
	rec.Compromised = collect.Compromised{Value: "unknown"}
	if sp := d.SecurityPosture; sp != nil {
		var risks []string
		for _, p := range sp.PostureDetails {
			risks = append(risks, p.SecurityRisk)
		}
		rec.Compromised.Field, rec.Compromised.RawValue = "securityPosture", strings.TrimSpace(sp.DevicePosture+" "+strings.Join(risks, " "))
		switch {
		case sp.DevicePosture == "POTENTIALLY_COMPROMISED" || slices.Contains(risks, "COMPROMISED_OS"):
			rec.Compromised.Value = "true"
		case sp.DevicePosture == "SECURE" && len(risks) == 0:
			rec.Compromised.Value = "false"
		}
		// AT_RISK, UNKNOWN_OS and HARDWARE_BACKED_EVALUATION_FAILED say
		// integrity is unproven, not that it failed: unknown.
		rec.Posture.ThreatState = rec.Compromised.RawValue
	}
	if ds := d.DeviceSettings; ds != nil {
		rec.Posture.ADBEnabled, rec.Posture.DeveloperOptions = ds.ADBEnabled, ds.DevelopmentSettingsEnabled
		rec.Posture.UnknownSources, rec.Posture.VerifyApps, rec.Posture.Encrypted = ds.UnknownSourcesEnabled, ds.VerifyAppsEnabled, ds.IsEncrypted
	}
	return rec
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// installSource maps applicationSource to the record's vocabulary.
func installSource(s string) string {
	switch s {
	case "INSTALLED_FROM_PLAY_STORE":
		return "store"
	case "SYSTEM_APP_FACTORY_VERSION", "SYSTEM_APP_UPDATED_VERSION":
		return "system"
	case "APPLICATION_SOURCE_UNSPECIFIED":
		// The API's own words: "sideloaded from an unspecified source".
		return "sideloaded"
	case "CUSTOM":
		return "enterprise"
	}
	return "unknown"
}

// hexLower keeps a hex digest as lower-case hex, or "" if it is not one.
func hexLower(s string, n int) string {
	s = strings.ToLower(strings.ReplaceAll(s, ":", ""))
	if b, err := hex.DecodeString(s); err != nil || len(b) != n {
		return ""
	}
	return s
}

// b64ToHex turns a base64 ("byte" format) digest of n bytes into hex.
func b64ToHex(s string, n int) string {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == n {
			return hex.EncodeToString(b)
		}
	}
	return ""
}

func (a appReport) record(deviceKey string, raw collect.RawRef) collect.App {
	rec := collect.App{
		DeviceKey: deviceKey, AppID: a.PackageName, Name: a.DisplayName,
		Version:       strings.TrimSpace(a.VersionName + " (" + strconv.FormatInt(a.VersionCode, 10) + ")"),
		InstallSource: installSource(a.ApplicationSource), Installer: a.InstallerPackageName,
		APKSHA256: hexLower(a.PackageSha256Hash, 32), State: strings.ToLower(a.State), Raw: raw,
	}
	if a.VersionCode == 0 {
		rec.Version = a.VersionName
	}
	if len(a.SigningKeyCertFingerprints) > 0 {
		rec.SigningCertSHA1 = hexLower(a.SigningKeyCertFingerprints[0], 20)
	}
	if len(a.SigningKeyCerts) > 0 {
		rec.SigningCertSHA256 = b64ToHex(a.SigningKeyCerts[0].SHA256, 32)
	}
	return rec
}

// members decodes a JSON object's members by exact name.
func members(data []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("null where an object was expected")
	}
	return m, nil
}

// array decodes the array member name of an object by its exact name
// (encoding/json would match "ApplicationReports" too, and the pointer
// written in the record would lead nowhere). Absent or null is nil.
func array(m map[string]json.RawMessage, name string) ([]json.RawMessage, error) {
	v, ok := m[name]
	if !ok || string(v) == "null" {
		return nil, nil
	}
	var out []json.RawMessage
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// write writes the device's records (data is its JSON, at raw): the
// device, its non-compliance details, its apps with their events, and a
// gap for each kind of telemetry its policy leaves out.
func (d device) write(rec collect.Device, data []byte, raw collect.RawRef, pol *policyInfo, sink collect.Sink) error {
	if err := sink.Device(rec); err != nil {
		return err
	}
	gap := func(telemetry, reason, detail string) error {
		return sink.Gap(collect.Gap{DeviceKey: rec.Key, Source: Name, Telemetry: telemetry, Reason: reason, Detail: detail})
	}
	at := time.Time{}
	if rec.LastSeenAt != nil {
		at = *rec.LastSeenAt
	}
	m, err := members(data)
	if err != nil {
		return err
	}
	details, err := array(m, "nonComplianceDetails")
	if err != nil {
		return gap(collect.TelemetryDeviceState, collect.ReasonError, err.Error())
	}
	for i, dr := range details {
		var nc struct {
			SettingName                 string `json:"settingName"`
			NonComplianceReason         string `json:"nonComplianceReason"`
			PackageName                 string `json:"packageName"`
			FieldPath                   string `json:"fieldPath"`
			SpecificNonComplianceReason string `json:"specificNonComplianceReason"`
		}
		if json.Unmarshal(dr, &nc) != nil {
			continue // kept in the raw response
		}
		fields := map[string]any{"setting": nc.SettingName, "reason": nc.NonComplianceReason, "policy": d.AppliedPolicyName}
		for k, v := range map[string]string{"package": nc.PackageName, "field_path": nc.FieldPath, "specific_reason": nc.SpecificNonComplianceReason} {
			if v != "" {
				fields[k] = v
			}
		}
		if err := sink.Event(collect.Event{DeviceKey: rec.Key, Time: at, Type: EventComplianceState, Fields: fields, Raw: child(raw, "nonComplianceDetails", i)}); err != nil {
			return err
		}
	}

	reports, err := array(m, "applicationReports")
	if err != nil {
		return gap(collect.TelemetryAppInventory, collect.ReasonError, err.Error())
	}
	for i, rr := range reports {
		var a appReport
		if err := json.Unmarshal(rr, &a); err != nil || a.PackageName == "" {
			if err := gap(collect.TelemetryAppInventory, collect.ReasonError, fmt.Sprintf("application report %d is not readable", i)); err != nil {
				return err
			}
			continue
		}
		ref := child(raw, "applicationReports", i)
		if err := sink.App(a.record(rec.Key, ref)); err != nil {
			return err
		}
		am, _ := members(rr)
		events, _ := array(am, "events")
		for j, er := range events {
			var ev struct {
				EventType  string `json:"eventType"`
				CreateTime string `json:"createTime"`
			}
			if json.Unmarshal(er, &ev) != nil {
				continue
			}
			t := parseTime(ev.CreateTime)
			if t == nil {
				continue
			}
			fields := map[string]any{"package": a.PackageName, "event_type": ev.EventType, "version": a.VersionName,
				"install_source": installSource(a.ApplicationSource)}
			if err := sink.Event(collect.Event{DeviceKey: rec.Key, Time: *t, Type: EventAppEvent, Fields: fields, Raw: child(ref, "events", j)}); err != nil {
				return err
			}
		}
	}

	// What the policy leaves out is not observable; what it enables but
	// the device has not reported yet is not observable either, for
	// another reason.
	switch {
	case pol.policy == nil:
		detail := fmt.Sprintf("policy %s could not be read (%v): which reports it enables is unknown", clip(pol.name), pol.unreadErr)
		if len(reports) == 0 {
			if err := gap(collect.TelemetryAppInventory, collect.ReasonError, detail+"; the device reports no applications"); err != nil {
				return err
			}
		}
	default:
		srs := pol.policy.StatusReportingSettings
		for _, c := range []struct {
			enabled, reported bool
			telemetry, what   string
		}{
			{srs.ApplicationReportsEnabled, len(reports) > 0, collect.TelemetryAppInventory, "application reports (statusReportingSettings.applicationReportsEnabled)"},
			{srs.SoftwareInfoEnabled, d.SoftwareInfo != nil, collect.TelemetryDeviceState, "software info: patch level, build (statusReportingSettings.softwareInfoEnabled)"},
			{srs.DeviceSettingsEnabled, d.DeviceSettings != nil, collect.TelemetryDeviceState, "device settings: ADB, developer options, unknown sources, Play Protect, encryption (statusReportingSettings.deviceSettingsEnabled)"},
		} {
			var err error
			switch {
			case !c.enabled:
				err = gap(c.telemetry, collect.ReasonNotEnabled, "policy "+lastSegment(pol.name)+" does not enable "+c.what)
			case !c.reported:
				err = gap(c.telemetry, collect.ReasonError, "policy "+lastSegment(pol.name)+" enables "+c.what+", but the device has not reported them")
			}
			if err != nil {
				return err
			}
		}
	}
	if rec.ManagementMode == "work_profile" {
		return gap(collect.TelemetryAppInventory, collect.ReasonPersonalScope,
			"work profile on a personally owned device: apps of the personal profile are not reported")
	}
	return nil
}

// child is the RawRef of element i of the array member name of ref.
func child(ref collect.RawRef, name string, i int) collect.RawRef {
	ref.Pointer += "/" + name + "/" + strconv.Itoa(i)
	return ref
}
