package mdmsim

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scenario names, the keys of [Fleet.Planted].
const (
	// ScenarioJailbrokenIPhone is a company-owned iPhone reporting
	// jailBroken "True", noncompliant (jailbreak and threat-level settings
	// of its compliance policy), carrying Sileo (a jailbreak package
	// manager) that no other device has. An administrator locked it
	// remotely a few hours before Now (deviceActionResults and auditEvents).
	ScenarioJailbrokenIPhone = "jailbroken-iphone"
	// ScenarioRareAppAndroid is a company-owned, noncompliant Android phone
	// (security patch level nine months old) carrying an app found on no
	// other device whose display name is an HTML injection attempt
	// ([RogueAppName]). A wipe was issued for it shortly before Now and is
	// still pending, by the same account that weakened the iOS compliance
	// policy ([PlantedPolicyChangeActor]).
	ScenarioRareAppAndroid = "rare-app-noncompliant-android"
	// ScenarioDeveloperPhone is a compliant company-owned Android phone in
	// device category "Developers" carrying Termux, a benign look-alike that
	// only this device has.
	ScenarioDeveloperPhone = "developer-phone"
	// ScenarioPersonalDevice is a personally owned iPhone; Graph reports only
	// its managed apps.
	ScenarioPersonalDevice = "personal-device"
	// ScenarioStaleDevice is a company-owned Android phone whose
	// lastSyncDateTime is exactly 40 days before the fleet's Now; a retire
	// issued two days before Now is still pending.
	ScenarioStaleDevice = "stale-device"
)

// Scenarios lists every planted scenario in generation order: scenario k is
// device k of the generator (see [Fleet.PlantedIndex] for where it lands in
// the served order). All of them are planted when the fleet has at least
// len(Scenarios) devices; smaller fleets have none.
var Scenarios = []string{
	ScenarioJailbrokenIPhone,
	ScenarioRareAppAndroid,
	ScenarioDeveloperPhone,
	ScenarioPersonalDevice,
	ScenarioStaleDevice,
}

// Display names of the planted apps, each present on exactly one device.
const (
	SileoAppName  = "Sileo"
	RogueAppName  = "System Update <img src=x onerror=alert(1)>"
	TermuxAppName = "Termux"
)

// StaleAge is how long before Now the stale device last synced.
const StaleAge = 40 * 24 * time.Hour

// UserDomain is the domain of every user principal name in the fleet.
const UserDomain = "contoso.com"

// detectedAppPlatformType values used by the fleet.
const (
	PlatformIOS                 = "ios"
	PlatformAndroidWorkProfile  = "androidWorkProfile"
	PlatformAndroidFullyManaged = "androidDedicatedAndFullyManaged"
)

// MaterializeLimit is the largest fleet whose devices are built up front
// into [Fleet.Devices]. Larger fleets are generated lazily: device i is
// rebuilt from (seed, i) each time it is asked for.
const MaterializeLimit = 1000

// MaxDevices is the largest fleet NewFleet builds; larger sizes are capped.
const MaxDevices = 1_000_000

// DefaultAppsPerDevice is about how many apps a device carries by default
// (about 70 on iOS, 90 on Android).
const DefaultAppsPerDevice = 80

// Fleet is the simulated Intune tenant: devices in the order the server
// pages them (ascending id) and the planted scenarios.
//
// A device is generated deterministically from the seed and its generation
// index alone, so a fleet of any size costs only compact indexes: sorted
// device ids, the small per-device corrections that keep every ordinary
// app on at least two devices, and for each detected app the positions of
// the devices reporting it. Use [Fleet.Len], [Fleet.DeviceAt] and
// [Fleet.All] for fleets of any size; Devices is filled only up to
// [MaterializeLimit] devices.
//
// A Fleet is immutable once built and safe for concurrent use. Devices it
// returns are shared (small fleets) or fresh (large fleets): callers must
// not modify them.
type Fleet struct {
	TenantID string    `json:"tenantId"`
	Seed     int64     `json:"seed"`
	Now      time.Time `json:"now"`
	// Devices are all devices in served order when the fleet has at most
	// MaterializeLimit of them, else nil.
	Devices []*Device `json:"devices"`
	// Planted maps a scenario name (see [Scenarios]) to a device id.
	Planted map[string]string `json:"planted"`

	n             int
	appsPerDevice int
	base          time.Time  // Now truncated to the second
	ids           [][16]byte // by position, ascending
	gen           []int32    // position -> generation index
	pos           []int32    // generation index -> position
	nameMul       int        // user-name bijection (see user)
	nameAdd       int
	override      map[int32][]uint16 // generation index -> corrected install keys
	holders       [][]int32          // app key -> positions of reporting devices, ascending
	apps          []DetectedApp      // tenant-wide reported apps, sorted by id
	appKey        map[string]uint16  // app id -> app key, for reported apps
	tenant        tenantData

	auditOnce sync.Once
	audit     []AuditEvent
}

// Device is one managedDevice: every v1.0 property the simulator serves, in
// the order Graph documents them, followed by the ground truth of the apps on
// the device. Fields tagged graph:"-" are never served as properties.
//
// Nullable Graph properties are pointers or json.RawMessage and are null for
// every device (activationLockBypassCode is sensitive and never populated).
// Date-times Intune leaves unset are the zero time, which Graph renders as
// "0001-01-01T00:00:00Z".
type Device struct {
	ID                                        string               `json:"id"`
	UserID                                    string               `json:"userId"`
	DeviceName                                string               `json:"deviceName"`
	ManagedDeviceOwnerType                    string               `json:"managedDeviceOwnerType"`
	DeviceActionResults                       []DeviceActionResult `json:"deviceActionResults"`
	EnrolledDateTime                          time.Time            `json:"enrolledDateTime"`
	LastSyncDateTime                          time.Time            `json:"lastSyncDateTime"`
	OperatingSystem                           string               `json:"operatingSystem"`
	ComplianceState                           string               `json:"complianceState"`
	JailBroken                                string               `json:"jailBroken"`
	ManagementAgent                           string               `json:"managementAgent"`
	OSVersion                                 string               `json:"osVersion"`
	EASActivated                              bool                 `json:"easActivated"`
	EASDeviceID                               string               `json:"easDeviceId"`
	EASActivationDateTime                     time.Time            `json:"easActivationDateTime"`
	AzureADRegistered                         bool                 `json:"azureADRegistered"`
	DeviceEnrollmentType                      string               `json:"deviceEnrollmentType"`
	ActivationLockBypassCode                  *string              `json:"activationLockBypassCode"`
	EmailAddress                              string               `json:"emailAddress"`
	AzureADDeviceID                           string               `json:"azureADDeviceId"`
	DeviceRegistrationState                   string               `json:"deviceRegistrationState"`
	DeviceCategoryDisplayName                 string               `json:"deviceCategoryDisplayName"`
	IsSupervised                              bool                 `json:"isSupervised"`
	ExchangeLastSuccessfulSyncDateTime        time.Time            `json:"exchangeLastSuccessfulSyncDateTime"`
	ExchangeAccessState                       string               `json:"exchangeAccessState"`
	ExchangeAccessStateReason                 string               `json:"exchangeAccessStateReason"`
	RemoteAssistanceSessionURL                *string              `json:"remoteAssistanceSessionUrl"`
	RemoteAssistanceSessionErrorDetails       *string              `json:"remoteAssistanceSessionErrorDetails"`
	IsEncrypted                               bool                 `json:"isEncrypted"`
	UserPrincipalName                         string               `json:"userPrincipalName"`
	Model                                     string               `json:"model"`
	Manufacturer                              string               `json:"manufacturer"`
	IMEI                                      string               `json:"imei"`
	ComplianceGracePeriodExpirationDateTime   time.Time            `json:"complianceGracePeriodExpirationDateTime"`
	SerialNumber                              string               `json:"serialNumber"`
	PhoneNumber                               string               `json:"phoneNumber"`
	AndroidSecurityPatchLevel                 string               `json:"androidSecurityPatchLevel"`
	UserDisplayName                           string               `json:"userDisplayName"`
	ConfigurationManagerClientEnabledFeatures json.RawMessage      `json:"configurationManagerClientEnabledFeatures"`
	WiFiMacAddress                            string               `json:"wiFiMacAddress"`
	DeviceHealthAttestationState              json.RawMessage      `json:"deviceHealthAttestationState"`
	SubscriberCarrier                         string               `json:"subscriberCarrier"`
	MEID                                      string               `json:"meid"`
	TotalStorageSpaceInBytes                  int64                `json:"totalStorageSpaceInBytes"`
	FreeStorageSpaceInBytes                   int64                `json:"freeStorageSpaceInBytes"`
	ManagedDeviceName                         string               `json:"managedDeviceName"`
	PartnerReportedThreatState                string               `json:"partnerReportedThreatState"`
	RequireUserEnrollmentApproval             bool                 `json:"requireUserEnrollmentApproval"`
	ManagementCertificateExpirationDate       time.Time            `json:"managementCertificateExpirationDate"`
	ICCID                                     string               `json:"iccid"`
	UDID                                      string               `json:"udid"`
	Notes                                     *string              `json:"notes"`
	EthernetMacAddress                        *string              `json:"ethernetMacAddress"`
	PhysicalMemoryInBytes                     int64                `json:"physicalMemoryInBytes"`

	// Apps is the ground truth of what is installed, sorted by id. On a
	// personally owned device it includes unmanaged apps that Intune does
	// not report; use ReportedApps for what Graph serves.
	Apps []DetectedApp `json:"apps" graph:"-"`
}

// DeviceActionResult is Graph's deviceActionResult.
type DeviceActionResult struct {
	ActionName          string    `json:"actionName"`
	ActionState         string    `json:"actionState"`
	StartDateTime       time.Time `json:"startDateTime"`
	LastUpdatedDateTime time.Time `json:"lastUpdatedDateTime"`
}

// DetectedApp is Graph's detectedApp plus whether Intune manages the app on
// the device carrying it (Managed is not a Graph property and is never
// served). The same app and version on the same platform has the same ID on
// every device. DeviceCount is the number of fleet devices reporting this
// app+version; on an unreported entry (an unmanaged app of a personal device)
// it still counts only the devices that report it.
type DetectedApp struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Version     string `json:"version"`
	SizeInByte  int64  `json:"sizeInByte"`
	DeviceCount int32  `json:"deviceCount"`
	Publisher   string `json:"publisher"`
	Platform    string `json:"platform"`
	Managed     bool   `json:"managed" graph:"-"`
}

// Personal reports whether the device is personally owned.
func (d *Device) Personal() bool { return d.ManagedDeviceOwnerType == "personal" }

// ReportedApps returns the apps Graph reports for the device: all of them on
// a company-owned device, only the managed ones on a personal device
// ("unmanaged apps will only appear for devices marked as corporate owned").
func (d *Device) ReportedApps() []DetectedApp {
	out := make([]DetectedApp, 0, len(d.Apps))
	for _, a := range d.Apps {
		if reports(d.Personal(), a.Managed) {
			out = append(out, a)
		}
	}
	return out
}

func reports(personal, managed bool) bool { return managed || !personal }

// NewFleet generates a fleet of n devices (at most [MaxDevices]) from seed,
// with now as the reference time (lastSyncDateTime values fall within the
// few days before it), each carrying about [DefaultAppsPerDevice] apps. It
// is deterministic: the same arguments give the same fleet, which marshals
// to byte-identical JSON. Device k of the generator has the same properties
// whatever the fleet size, and the same apps but for their deviceCount and
// the rare corrections that keep every ordinary app on two devices or
// more. It draws from math/rand/v2's PCG and never depends on map
// iteration order.
//
// Building costs one pass over every device's app draws (about 0.2 s for
// 20,000 devices); memory is a few bytes per device and four bytes per
// (device, reported app) pair.
func NewFleet(seed int64, n int, now time.Time) *Fleet {
	return NewFleetApps(seed, n, now, DefaultAppsPerDevice)
}

// NewFleetApps is NewFleet with about apps apps per device instead of
// DefaultAppsPerDevice (apps <= 0 selects the default). Lighter fleets make
// faster tests: every optional catalogue app becomes proportionally rarer,
// while the apps every device carries (Company Portal, the maker's system
// apps) and the planted apps stay, so the mean does not go much below 10.
func NewFleetApps(seed int64, n int, now time.Time, apps int) *Fleet {
	if apps <= 0 {
		apps = DefaultAppsPerDevice
	}
	n = min(max(n, 0), MaxDevices)
	now = now.UTC()
	f := &Fleet{Seed: seed, Now: now, n: n, appsPerDevice: apps, base: now.Truncate(time.Second), Planted: map[string]string{}}
	f.initTenant()

	kinds := make([]kind, n)
	for g := range kinds {
		kinds[g] = f.kind(g)
	}
	f.gen = make([]int32, n)
	for g := range f.gen {
		f.gen[g] = int32(g)
	}
	slices.SortFunc(f.gen, func(a, b int32) int { return bytes.Compare(kinds[a].id[:], kinds[b].id[:]) })
	f.ids = make([][16]byte, n)
	f.pos = make([]int32, n)
	for p, g := range f.gen {
		f.ids[p] = kinds[g].id
		f.pos[g] = int32(p)
		if p > 0 && f.ids[p] == f.ids[p-1] {
			// 122 random bits per id: never happens in practice.
			panic(fmt.Sprintf("mdmsim: seed %d: duplicate device id %x", seed, f.ids[p]))
		}
	}
	f.buildApps(kinds)
	for g, name := range Scenarios {
		if g < n && n >= len(Scenarios) {
			f.Planted[name] = guidString(kinds[g].id)
		}
	}
	if n <= MaterializeLimit {
		f.Devices = make([]*Device, n)
		for p := range f.Devices {
			f.Devices[p] = f.build(p)
		}
	}
	return f
}

// Len is the number of devices.
func (f *Fleet) Len() int { return f.n }

// DeviceAt returns the device at position i (0 <= i < Len) of the served
// order (ascending id).
func (f *Fleet) DeviceAt(i int) *Device {
	if f.Devices != nil {
		return f.Devices[i]
	}
	return f.build(i)
}

// All yields every device in served order, building each on demand.
func (f *Fleet) All() iter.Seq2[int, *Device] {
	return func(yield func(int, *Device) bool) {
		for i := range f.n {
			if !yield(i, f.DeviceAt(i)) {
				return
			}
		}
	}
}

// Index returns the position of the device with the given id
// (case-insensitive), or -1.
func (f *Fleet) Index(id string) int {
	key, ok := parseGUID(id)
	if !ok {
		return -1
	}
	i, found := slices.BinarySearchFunc(f.ids, key, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	if !found {
		return -1
	}
	return i
}

// Device returns the device with the given id (case-insensitive), or nil.
func (f *Fleet) Device(id string) *Device {
	i := f.Index(id)
	if i < 0 {
		return nil
	}
	return f.DeviceAt(i)
}

// PlantedIndex returns the position of a planted scenario's device, or -1
// when the fleet is too small to plant it or the name is unknown.
func (f *Fleet) PlantedIndex(scenario string) int {
	id, ok := f.Planted[scenario]
	if !ok {
		return -1
	}
	return f.Index(id)
}

// DetectedApps returns the tenant-wide detected apps (every app+version some
// device reports), sorted by id.
func (f *Fleet) DetectedApps() []DetectedApp { return slices.Clone(f.apps) }

// DevicesWithApp returns the devices reporting the detected app, in served
// order, or nil if no such app exists.
func (f *Fleet) DevicesWithApp(appID string) []*Device {
	k, ok := f.appKey[strings.ToLower(appID)]
	if !ok {
		return nil
	}
	out := make([]*Device, len(f.holders[k]))
	for i, p := range f.holders[k] {
		out[i] = f.DeviceAt(int(p))
	}
	return out
}

// app returns a reported app by id.
func (f *Fleet) app(id string) (DetectedApp, bool) {
	k, ok := f.appKey[strings.ToLower(id)]
	if !ok {
		return DetectedApp{}, false
	}
	return f.detected(k), true
}

// reportedApps returns what Graph reports for the device at position p
// without building the device's other properties.
func (f *Fleet) reportedApps(p int) []DetectedApp {
	g := int(f.gen[p])
	k := f.kind(g)
	var out []DetectedApp
	for _, key := range f.installs(g, k) {
		if reports(k.personal, appKeys.keys[key].cat.managed) {
			out = append(out, f.detected(key))
		}
	}
	return out
}

// parseGUID reads a GUID in its 8-4-4-4-12 form, any case.
func parseGUID(s string) ([16]byte, bool) {
	var out [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return out, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(out[:], []byte(h)); err != nil {
		return out, false
	}
	return out, true
}

func guidString(b [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// deviceProps returns the device at position p for serving its
// properties: on a lazily generated fleet its Apps are left nil, which
// saves drawing them.
func (f *Fleet) deviceProps(p int) *Device {
	if f.Devices != nil {
		return f.Devices[p]
	}
	g := int(f.gen[p])
	return f.attributes(g, f.kind(g))
}
