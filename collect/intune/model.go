package intune

import (
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
)

// managedDevice holds the v1.0 managedDevice properties in DeviceFields.
type managedDevice struct {
	ID                         string     `json:"id"`
	DeviceName                 string     `json:"deviceName"`
	OperatingSystem            string     `json:"operatingSystem"`
	OSVersion                  string     `json:"osVersion"`
	ComplianceState            string     `json:"complianceState"`
	JailBroken                 string     `json:"jailBroken"` // a string in Graph: "True", "False", "Unknown"
	ManagementAgent            string     `json:"managementAgent"`
	ManagedDeviceOwnerType     string     `json:"managedDeviceOwnerType"`
	DeviceEnrollmentType       string     `json:"deviceEnrollmentType"`
	EnrolledDateTime           *time.Time `json:"enrolledDateTime"`
	LastSyncDateTime           *time.Time `json:"lastSyncDateTime"`
	SerialNumber               string     `json:"serialNumber"`
	IMEI                       string     `json:"imei"`
	UserPrincipalName          string     `json:"userPrincipalName"`
	Model                      string     `json:"model"`
	Manufacturer               string     `json:"manufacturer"`
	IsSupervised               *bool      `json:"isSupervised"`
	IsEncrypted                *bool      `json:"isEncrypted"`
	PartnerReportedThreatState string     `json:"partnerReportedThreatState"`
	AndroidSecurityPatchLevel  string     `json:"androidSecurityPatchLevel"`
	DeviceCategoryDisplayName  string     `json:"deviceCategoryDisplayName"`
}

// validTime drops Graph's "0001-01-01T00:00:00Z" sentinel for a date never set.
func validTime(t *time.Time) *time.Time {
	if t == nil || t.Year() <= 1 {
		return nil
	}
	u := t.UTC()
	return &u
}

func (m managedDevice) record(raw collect.RawRef) collect.Device {
	d := collect.Device{
		Key:                Name + ":" + m.ID,
		Source:             Name,
		SourceID:           m.ID,
		Name:               m.DeviceName,
		Platform:           platform(m.OperatingSystem),
		OSVersion:          m.OSVersion,
		SecurityPatchLevel: m.AndroidSecurityPatchLevel,
		Model:              m.Model,
		Manufacturer:       m.Manufacturer,
		Serial:             m.SerialNumber,
		IMEI:               m.IMEI,
		User:               m.UserPrincipalName,
		Ownership:          ownership(m.ManagedDeviceOwnerType),
		ManagementMode:     joinNonEmpty(m.ManagementAgent, m.DeviceEnrollmentType),
		Category:           m.DeviceCategoryDisplayName,
		EnrolledAt:         validTime(m.EnrolledDateTime),
		LastSeenAt:         validTime(m.LastSyncDateTime),
		Compliance:         compliance(m.ComplianceState),
		Compromised:        collect.Compromised{Value: tristate(m.JailBroken), Field: "jailBroken", RawValue: m.JailBroken},
		Posture: collect.Posture{
			Encrypted:   m.IsEncrypted,
			Supervised:  m.IsSupervised,
			ThreatState: m.PartnerReportedThreatState,
		},
		Raw: raw,
	}
	return d
}

func platform(os string) string {
	switch strings.ToLower(os) {
	case "ios":
		return "ios"
	case "ipados":
		return "ipados"
	case "android", "androidforwork", "androidenterprise":
		return "android"
	case "windows":
		return "windows"
	case "macos", "mac os x":
		return "macos"
	}
	return "unknown"
}

func ownership(t string) string {
	switch t {
	case "company":
		return "corporate"
	case "personal":
		return "personal"
	}
	return "unknown"
}

func compliance(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func tristate(s string) string {
	switch strings.ToLower(s) {
	case "true":
		return "true"
	case "false":
		return "false"
	}
	return "unknown"
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" && p != "unknown" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// detectedApp is Graph's detectedApp. It has no bundle id, package name or
// hash: Intune reports display names only.
type detectedApp struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Version     string `json:"version"`
	Publisher   string `json:"publisher"`
	Platform    string `json:"platform"`
	DeviceCount int    `json:"deviceCount"`
}

func (a detectedApp) record(deviceKey string, raw collect.RawRef) collect.App {
	return collect.App{
		DeviceKey:     deviceKey,
		SourceAppID:   a.ID,
		Name:          a.DisplayName,
		Version:       a.Version,
		Publisher:     a.Publisher,
		InstallSource: "unknown",
		Prevalence:    max(a.DeviceCount, 0),
		Raw:           raw,
	}
}
