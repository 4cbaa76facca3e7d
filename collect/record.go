package collect

import (
	"encoding/json"
	"fmt"
	"time"
)

// Telemetry kinds name what a source can observe on a device. Gaps and
// playbook requirements use the same names.
const (
	TelemetryDeviceState  = "device_state"
	TelemetryAppInventory = "app_inventory"
	TelemetryDeviceLogs   = "device_logs"
	TelemetryAdminAudit   = "admin_audit"
)

// Gap reasons (DESIGN §5.1).
const (
	ReasonNotSupported     = "not_supported_by_source"
	ReasonNotEnabled       = "not_enabled_by_policy"
	ReasonPermissionDenied = "permission_denied"
	ReasonError            = "error"
	ReasonStale            = "stale"
	ReasonPersonalScope    = "personal_device_scope"
)

// RawRef points at the verbatim response (or imported file) a record was
// derived from: a path relative to the acquisition root
// (raw/<source>/<seq>.<ext>), the sha256 of the stored bytes and where
// inside them: an RFC 6901 JSON pointer for JSON, /line/N (the 1-based line
// the row starts on) for CSV and text, or empty for the whole file.
type RawRef struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Pointer string `json:"pointer"`
}

// Device is one managed device as a source reported it. Empty strings mean
// the source did not report the value; they never mean "false" or "none".
type Device struct {
	Key                string      `json:"key"` // "<source>:<source id>"
	Source             string      `json:"source"`
	SourceID           string      `json:"source_id"`
	Name               string      `json:"name,omitempty"`
	Platform           string      `json:"platform"` // ios, ipados, android, windows, macos, unknown
	OSVersion          string      `json:"os_version,omitempty"`
	SecurityPatchLevel string      `json:"security_patch_level,omitempty"`
	Build              string      `json:"build,omitempty"`
	Model              string      `json:"model,omitempty"`
	Manufacturer       string      `json:"manufacturer,omitempty"`
	Serial             string      `json:"serial,omitempty"`
	IMEI               string      `json:"imei,omitempty"`
	User               string      `json:"user,omitempty"`
	Ownership          string      `json:"ownership"` // corporate, personal, unknown
	ManagementMode     string      `json:"management_mode,omitempty"`
	Category           string      `json:"category,omitempty"` // device category or group as the console names it
	EnrolledAt         *time.Time  `json:"enrolled_at,omitempty"`
	LastSeenAt         *time.Time  `json:"last_seen_at,omitempty"`
	Compliance         string      `json:"compliance"` // compliant, noncompliant, unknown, ...
	Compromised        Compromised `json:"compromised"`
	Posture            Posture     `json:"posture"`
	Raw                RawRef      `json:"raw"`
}

// Compromised is a source's own root / jailbreak / threat verdict together
// with the vendor field and value it came from, so a reader can judge it.
type Compromised struct {
	Value    string `json:"value"` // true, false, unknown
	Field    string `json:"field,omitempty"`
	RawValue string `json:"raw_value,omitempty"`
}

// Posture holds device security settings. A nil pointer means not reported.
type Posture struct {
	ADBEnabled       *bool  `json:"adb_enabled,omitempty"`
	DeveloperOptions *bool  `json:"developer_options,omitempty"`
	UnknownSources   *bool  `json:"unknown_sources,omitempty"`
	VerifyApps       *bool  `json:"verify_apps,omitempty"`
	Encrypted        *bool  `json:"encrypted,omitempty"`
	Supervised       *bool  `json:"supervised,omitempty"`
	VerifiedBoot     string `json:"verified_boot,omitempty"`
	ThreatState      string `json:"threat_state,omitempty"`
}

// App is one application seen on one device.
type App struct {
	DeviceKey         string `json:"device_key"`
	AppID             string `json:"app_id,omitempty"` // bundle id / package name, when the source reports one
	SourceAppID       string `json:"source_app_id,omitempty"`
	Name              string `json:"name,omitempty"`
	Version           string `json:"version,omitempty"`
	Publisher         string `json:"publisher,omitempty"`
	InstallSource     string `json:"install_source"` // store, system, sideloaded, enterprise, marketplace (an alternative store), beta (TestFlight), unknown
	Installer         string `json:"installer,omitempty"`
	APKSHA256         string `json:"apk_sha256,omitempty"`
	SigningCertSHA1   string `json:"signing_cert_sha1,omitempty"`
	SigningCertSHA256 string `json:"signing_cert_sha256,omitempty"`
	Managed           *bool  `json:"managed,omitempty"`
	State             string `json:"state,omitempty"`
	// Prevalence is the number of devices of the whole tenant the source
	// counts this app (and version) on, when it reports one: how rare the
	// app is beyond the devices collected.
	Prevalence int    `json:"prevalence,omitempty"`
	Raw        RawRef `json:"raw"`
	// DeviceRef is where the source ties this app to this device, when
	// that is not Raw: a tenant-wide inventory describes each app once
	// (Raw) and lists its devices apart.
	DeviceRef *RawRef `json:"device_ref,omitempty"`
}

// Event is one timestamped observation on a device (a log line, an MDM
// command, an admin action).
type Event struct {
	DeviceKey string         `json:"device_key"`
	Time      time.Time      `json:"time"`
	Type      string         `json:"type"`
	Fields    map[string]any `json:"fields,omitempty"`
	Raw       RawRef         `json:"raw"`

	head   []byte // the record's JSON up to its raw reference, made by Encoded or WithEncodedFields
	fields []byte // the fields, when WithEncodedFields gave them encoded: the end of head
}

// WithEncodedFields returns e with its record encoded now, all but its raw
// reference (as Encoded), and its fields given already encoded instead of
// in Fields, which must be nil: fields is the JSON object json.Marshal
// writes for the map[string]any of the fields (keys sorted, strings
// escaped as it escapes them, numbers as it writes float64s). A source
// reading millions of events builds no map for each; its tests hold its
// encoding to json.Marshal's. A sink other than a Staging reads the fields
// through Decoded.
func (e Event) WithEncodedFields(fields []byte) Event {
	head, ok := appendEventHead(make([]byte, 0, 128+len(e.DeviceKey)+len(e.Type)+len(fields)), e)
	if !ok || e.Fields != nil {
		// Not for the hand encoder: a Staging decodes the fields and
		// lets json.Marshal write the record.
		e.head, e.fields = nil, append([]byte(nil), fields...)
		return e
	}
	if f := string(fields); f == "{}" || f == "null" {
		e.head = head // json.Marshal leaves out no fields
		return e
	}
	n := len(head)
	e.head = append(append(head, `,"fields":`...), fields...)
	e.fields = e.head[n+len(`,"fields":`):]
	return e
}

// Record returns the JSON record of e a Staging writes: what json.Marshal
// writes for it, without reflection where it can.
func (e Event) Record() ([]byte, error) {
	if e.head == nil && e.fields != nil {
		var err error
		if e, err = e.Decoded(); err != nil {
			return nil, err
		}
	}
	if e.head != nil {
		r := e.Raw
		line := make([]byte, 0, len(e.head)+len(r.Path)+len(r.SHA256)+len(r.Pointer)+48)
		return appendEventRaw(append(line, e.head...), r), nil
	}
	if line, ok := appendEvent(make([]byte, 0, 512), e); ok {
		return line, nil
	}
	type plain Event // json.Marshal, by reflection
	return json.Marshal(plain(e))
}

// Decoded returns e with Fields decoded from the encoding WithEncodedFields
// gave it (as encoding/json decodes into a map[string]any), or e itself.
func (e Event) Decoded() (Event, error) {
	if e.fields == nil {
		return e, nil
	}
	var m map[string]any
	if err := json.Unmarshal(e.fields, &m); err != nil {
		return e, fmt.Errorf("event fields: %w", err)
	}
	if len(m) == 0 {
		m = nil // as json.Marshal leaves an empty map out
	}
	e.Fields, e.fields = m, nil
	return e, nil
}

// Encoded returns e with its record encoded now, all but its raw
// reference, so that a source decoding events on several cores encodes
// them there too, before it knows where it stores what it decoded; a
// Staging then writes that encoding with the raw reference after it.
// Nothing in the returned event but Raw may change.
func (e Event) Encoded() Event {
	if e.head != nil || e.fields != nil {
		return e // encoded already
	}
	if head, ok := appendEventHead(make([]byte, 0, 384), e); ok {
		e.head = head
	}
	return e
}

// Gap records telemetry that could not be observed. DeviceKey is empty when
// the gap covers the whole source.
type Gap struct {
	DeviceKey string `json:"device_key,omitempty"`
	Source    string `json:"source"`
	Telemetry string `json:"telemetry"`
	Reason    string `json:"reason"`
	Detail    string `json:"detail,omitempty"`
}

// Failure reports whether the gap means something went wrong or the device
// was out of reach, as opposed to a structural limit of the source: any
// device gap but "not supported", and a source-wide gap of reason error or
// permission denied. Failures make a collection "completed with gaps".
func (g Gap) Failure() bool {
	if g.DeviceKey == "" {
		return g.Reason == ReasonError || g.Reason == ReasonPermissionDenied
	}
	return g.Reason != ReasonNotSupported
}
