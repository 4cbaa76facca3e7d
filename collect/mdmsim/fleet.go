package mdmsim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenario names, the keys of [Fleet.Planted].
const (
	// ScenarioJailbrokenIPhone is a company-owned iPhone reporting
	// jailBroken "True", noncompliant, carrying Sileo (a jailbreak package
	// manager) that no other device has.
	ScenarioJailbrokenIPhone = "jailbroken-iphone"
	// ScenarioRareAppAndroid is a company-owned, noncompliant Android phone
	// carrying an app found on no other device whose display name is an HTML
	// injection attempt ([RogueAppName]).
	ScenarioRareAppAndroid = "rare-app-noncompliant-android"
	// ScenarioDeveloperPhone is a compliant company-owned Android phone in
	// device category "Developers" carrying Termux, a benign look-alike that
	// only this device has.
	ScenarioDeveloperPhone = "developer-phone"
	// ScenarioPersonalDevice is a personally owned iPhone; Graph reports only
	// its managed apps.
	ScenarioPersonalDevice = "personal-device"
	// ScenarioStaleDevice is a company-owned Android phone whose
	// lastSyncDateTime is exactly 40 days before the fleet's Now.
	ScenarioStaleDevice = "stale-device"
)

// Scenarios lists every planted scenario in the order the generator assigns
// them. All of them are planted when the fleet has at least len(Scenarios)
// devices (so always for n >= 10); smaller fleets have none.
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

// Fleet is the simulated Intune tenant: its devices sorted by id (the order
// the server pages them in) and the planted scenarios. A Fleet is immutable
// once built; the server reads it concurrently, so callers must not modify it.
type Fleet struct {
	TenantID string    `json:"tenantId"`
	Seed     int64     `json:"seed"`
	Now      time.Time `json:"now"`
	Devices  []*Device `json:"devices"`
	// Planted maps a scenario name (see [Scenarios]) to a device id.
	Planted map[string]string `json:"planted"`

	byID    map[string]*Device   // lower-case id -> device
	apps    []DetectedApp        // tenant-wide reported apps, sorted by id
	appIdx  map[string]int       // app id -> index in apps
	holders map[string][]*Device // app id -> reporting devices, sorted by id
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
		if reports(d, a.Managed) {
			out = append(out, a)
		}
	}
	return out
}

func reports(d *Device, managed bool) bool { return managed || !d.Personal() }

// Device returns the device with the given id (case-insensitive), or nil.
func (f *Fleet) Device(id string) *Device { return f.byID[strings.ToLower(id)] }

// DetectedApps returns the tenant-wide detected apps (every app+version some
// device reports), sorted by id.
func (f *Fleet) DetectedApps() []DetectedApp { return slices.Clone(f.apps) }

// DevicesWithApp returns the devices reporting the detected app, sorted by
// id, or nil if no such app exists.
func (f *Fleet) DevicesWithApp(appID string) []*Device {
	return slices.Clone(f.holders[strings.ToLower(appID)])
}

func (f *Fleet) app(id string) (DetectedApp, bool) {
	i, ok := f.appIdx[strings.ToLower(id)]
	if !ok {
		return DetectedApp{}, false
	}
	return f.apps[i], true
}

// pcgStream is the second PCG seed word; fixed so a seed names one fleet.
const pcgStream = 0x6d646d73696d2121 // "mdmsim!!"

// Android enrollment modes.
const (
	modeIOS = iota
	modeFullyManaged
	modeCorporateWorkProfile
	modePersonalWorkProfile
)

type install struct {
	cat *catalogApp
	ver int
}

type genDevice struct {
	d        *Device
	mode     int
	platform string // detectedAppPlatformType
	cat      []catalogApp
	installs []install
}

type generator struct {
	rng   *rand.Rand
	base  time.Time // Now truncated to the second
	users map[string]bool
}

// NewFleet generates a fleet of n devices from seed, with now as the
// reference time (lastSyncDateTime values fall within the few days before
// it). It is deterministic: the same arguments give the same fleet, which
// marshals to byte-identical JSON. It draws from math/rand/v2's PCG and never
// depends on map iteration order.
func NewFleet(seed int64, n int, now time.Time) *Fleet {
	n = max(n, 0)
	now = now.UTC()
	g := &generator{
		rng:   rand.New(rand.NewPCG(uint64(seed), pcgStream)),
		base:  now.Truncate(time.Second),
		users: map[string]bool{},
	}
	f := &Fleet{TenantID: g.guid(), Seed: seed, Now: now, Planted: map[string]string{}}

	scenario := make([]string, n)
	if n >= len(Scenarios) {
		perm := g.rng.Perm(n)
		for k, name := range Scenarios {
			scenario[perm[k]] = name
		}
	}
	devs := make([]*genDevice, n)
	for i := range devs {
		devs[i] = g.device(scenario[i], now)
		g.assignApps(devs[i])
	}
	fixSingletons(devs)
	for i, gd := range devs {
		switch scenario[i] {
		case ScenarioJailbrokenIPhone:
			gd.installs = append(gd.installs, install{cat: &sileoApp})
		case ScenarioRareAppAndroid:
			gd.installs = append(gd.installs, install{cat: &rogueApp})
		case ScenarioDeveloperPhone:
			gd.installs = append(gd.installs, install{cat: &termux})
		}
		if scenario[i] != "" {
			f.Planted[scenario[i]] = gd.d.ID
		}
	}
	f.finish(devs)
	return f
}

// finish turns installs into DetectedApp lists, counts devices per app,
// sorts everything by id and builds the lookup indexes.
func (f *Fleet) finish(devs []*genDevice) {
	count := map[string]int32{}
	for _, gd := range devs {
		for _, in := range gd.installs {
			if reports(gd.d, in.cat.managed) {
				count[appID(gd.platform, in.cat.name, in.cat.versions[in.ver])]++
			}
		}
	}
	f.Devices = make([]*Device, 0, len(devs))
	for _, gd := range devs {
		apps := make([]DetectedApp, 0, len(gd.installs))
		for _, in := range gd.installs {
			a := makeApp(gd.platform, in)
			a.DeviceCount = count[a.ID]
			apps = append(apps, a)
		}
		slices.SortFunc(apps, func(a, b DetectedApp) int { return strings.Compare(a.ID, b.ID) })
		gd.d.Apps = apps
		f.Devices = append(f.Devices, gd.d)
	}
	slices.SortFunc(f.Devices, func(a, b *Device) int { return strings.Compare(a.ID, b.ID) })

	f.byID = make(map[string]*Device, len(f.Devices))
	f.appIdx = map[string]int{}
	f.holders = map[string][]*Device{}
	for _, d := range f.Devices {
		f.byID[d.ID] = d
		for _, a := range d.ReportedApps() {
			if _, ok := f.appIdx[a.ID]; !ok {
				f.appIdx[a.ID] = len(f.apps)
				f.apps = append(f.apps, a)
			}
			f.holders[a.ID] = append(f.holders[a.ID], d)
		}
	}
	slices.SortFunc(f.apps, func(a, b DetectedApp) int { return strings.Compare(a.ID, b.ID) })
	for i, a := range f.apps {
		f.appIdx[a.ID] = i
	}
}

func makeApp(platform string, in install) DetectedApp {
	ver := in.cat.versions[in.ver]
	id := appID(platform, in.cat.name, ver)
	// Size varies per version but is the same on every device, derived from
	// the id so it does not consume the random stream.
	jitter := int64(binary.BigEndian.Uint32(mustHex(id)[:4]) % 1_000_000)
	return DetectedApp{
		ID:          id,
		DisplayName: in.cat.name,
		Version:     ver,
		SizeInByte:  in.cat.sizeMB*1_000_000 + jitter,
		Publisher:   in.cat.publisher,
		Platform:    platform,
		Managed:     in.cat.managed,
	}
}

// appID is the 64-hex detectedApp id, stable per platform, app and version.
func appID(platform, name, version string) string {
	sum := sha256.Sum256([]byte(platform + "\x00" + name + "\x00" + version))
	return hex.EncodeToString(sum[:])
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// fixSingletons makes every reported app+version present on at least two
// devices, so that the planted apps are the only ones with a device count of
// one. Only reported installs with a count of exactly one are touched, and
// each fix either raises a count from one to two or more, or lowers it from
// one to zero, so one pass in device order suffices.
func fixSingletons(devs []*genDevice) {
	key := func(gd *genDevice, cat *catalogApp, ver int) string {
		return gd.platform + "\x00" + cat.name + "\x00" + cat.versions[ver]
	}
	count := map[string]int{}
	for _, gd := range devs {
		for _, in := range gd.installs {
			if reports(gd.d, in.cat.managed) {
				count[key(gd, in.cat, in.ver)]++
			}
		}
	}
	has := func(gd *genDevice, cat *catalogApp) bool {
		return slices.ContainsFunc(gd.installs, func(in install) bool { return in.cat == cat })
	}
	for i, gd := range devs {
		for k := 0; k < len(gd.installs); k++ {
			in := gd.installs[k]
			if !reports(gd.d, in.cat.managed) || count[key(gd, in.cat, in.ver)] != 1 {
				continue
			}
			// (a) switch to the most common other version already present.
			best, bestN := -1, 0
			for v := range in.cat.versions {
				if c := count[key(gd, in.cat, v)]; v != in.ver && c > bestN {
					best, bestN = v, c
				}
			}
			if best >= 0 {
				count[key(gd, in.cat, in.ver)]--
				gd.installs[k].ver = best
				count[key(gd, in.cat, best)]++
				continue
			}
			// (b) install the same version on another device of the same
			// platform that would report it.
			added := false
			for j, other := range devs {
				if j == i || other.platform != gd.platform || !reports(other.d, in.cat.managed) || has(other, in.cat) {
					continue
				}
				other.installs = append(other.installs, in)
				count[key(gd, in.cat, in.ver)]++
				added = true
				break
			}
			if added {
				continue
			}
			// (c) nowhere to put a second copy: drop it.
			count[key(gd, in.cat, in.ver)]--
			gd.installs = slices.Delete(gd.installs, k, k+1)
			k--
		}
	}
}

func (g *generator) assignApps(gd *genDevice) {
	for c := range gd.cat {
		cat := &gd.cat[c]
		if cat.percent < 100 && g.rng.IntN(100) >= cat.percent {
			continue
		}
		ver := 0
		if len(cat.versions) > 1 {
			if g.rng.IntN(100) < 60 {
				ver = len(cat.versions) - 1
			} else {
				ver = g.rng.IntN(len(cat.versions) - 1)
			}
		}
		gd.installs = append(gd.installs, install{cat: cat, ver: ver})
	}
}

// device draws one device. The planted scenarios fix the properties their
// name promises; everything else is drawn from the random stream.
func (g *generator) device(scenario string, now time.Time) *genDevice {
	r := g.rng
	mode := modeIOS
	personal := false
	switch scenario {
	case ScenarioJailbrokenIPhone:
	case ScenarioPersonalDevice:
		personal = true
	case ScenarioRareAppAndroid, ScenarioDeveloperPhone:
		mode = modeFullyManaged
	case ScenarioStaleDevice:
		mode = modeCorporateWorkProfile
	default:
		if r.IntN(100) >= 55 {
			mode = modeFullyManaged
			if r.IntN(100) < 30 {
				mode = modeCorporateWorkProfile
			}
		}
		if r.IntN(100) < 12 {
			personal = true
			if mode != modeIOS {
				mode = modePersonalWorkProfile
			}
		}
	}

	first, last, alias := g.user()
	upn := alias + "@" + UserDomain
	base := g.base
	enrolled := base.Add(-time.Duration(60+r.IntN(700))*24*time.Hour - time.Duration(r.IntN(86400))*time.Second)
	lastSync := base.Add(-time.Duration(r.IntN(3*86400)) * time.Second)

	d := &Device{
		ID:                                 g.guid(),
		UserID:                             g.guid(),
		ManagedDeviceOwnerType:             "company",
		DeviceActionResults:                []DeviceActionResult{},
		EnrolledDateTime:                   enrolled,
		LastSyncDateTime:                   lastSync,
		ComplianceState:                    "compliant",
		JailBroken:                         "False",
		ManagementAgent:                    "mdm",
		AzureADRegistered:                  true,
		EmailAddress:                       upn,
		AzureADDeviceID:                    g.guid(),
		DeviceRegistrationState:            "registered",
		DeviceCategoryDisplayName:          categories[r.IntN(len(categories))],
		ExchangeLastSuccessfulSyncDateTime: time.Time{},
		ExchangeAccessState:                "none",
		ExchangeAccessStateReason:          "none",
		IsEncrypted:                        true,
		UserPrincipalName:                  upn,
		UserDisplayName:                    first + " " + last,
		PartnerReportedThreatState:         "unknown",
	}
	if personal {
		d.ManagedDeviceOwnerType = "personal"
	}
	if r.IntN(100) < 35 {
		d.PartnerReportedThreatState = "secured"
	}
	if r.IntN(100) < 15 {
		d.ComplianceState = "inGracePeriod"
	}

	gd := &genDevice{d: d, mode: mode}
	var hw hwModel
	if mode == modeIOS {
		gd.platform, gd.cat = PlatformIOS, iosCatalog
		hw = iosModels[r.IntN(len(iosModels))]
		d.OperatingSystem = "iOS"
		d.OSVersion = g.osVersion(iosVersions, hw.minMajor)
		d.DeviceName = first + "’s iPhone"
		d.ManagedDeviceName = alias + "_iPhone_" + enrolled.Format("1/2/2006_3:04 PM")
		d.IMEI = g.imei(true)
		d.SerialNumber = g.serial("", hw.serialLen)
		d.UDID = fmt.Sprintf("0000%04X-%016X", []int{0x8110, 0x8120, 0x8130, 0x8140, 0x8150}[r.IntN(5)], r.Uint64())
		d.WiFiMacAddress = g.mac()
		if personal {
			d.DeviceEnrollmentType = "userEnrollment"
		} else {
			d.DeviceEnrollmentType = "appleBulkWithUser"
			d.IsSupervised = true
			d.PhoneNumber = g.phone()
			d.SubscriberCarrier = carriers[r.IntN(len(carriers))]
			d.ICCID = g.digits("8901", 20)
		}
	} else {
		gd.platform, gd.cat = PlatformAndroidWorkProfile, androidCatalog
		hw = androidModels[r.IntN(len(androidModels))]
		d.OperatingSystem = "Android"
		d.OSVersion = g.osVersion(androidVersions, hw.minMajor)
		months := r.IntN(4)
		d.AndroidSecurityPatchLevel = firstOfMonth(base, months).Format("2006-01-02")
		if r.IntN(100) < 15 {
			d.JailBroken = "Unknown"
		}
		kind := "AndroidForWork"
		switch mode {
		case modeFullyManaged:
			gd.platform = PlatformAndroidFullyManaged
			kind = "AndroidEnterprise"
			d.DeviceEnrollmentType = "androidEnterpriseFullyManaged"
		case modeCorporateWorkProfile:
			d.DeviceEnrollmentType = "androidEnterpriseCorporateWorkProfile"
		default:
			d.DeviceEnrollmentType = "userEnrollment"
		}
		d.ManagedDeviceName = alias + "_" + kind + "_" + enrolled.Format("1/2/2006_3:04 PM")
		d.DeviceName = d.ManagedDeviceName
		if mode != modePersonalWorkProfile {
			// A personally owned work profile hides the hardware
			// identifiers from the MDM (Android 10+).
			d.IMEI = g.imei(false)
			d.SerialNumber = g.serial(hw.serialPrefix, hw.serialLen)
			d.WiFiMacAddress = g.mac()
			d.PhoneNumber = g.phone()
			d.SubscriberCarrier = carriers[r.IntN(len(carriers))]
		}
	}
	d.Model, d.Manufacturer = hw.model, hw.manufacturer
	gb := hw.storageGB[r.IntN(len(hw.storageGB))]
	d.TotalStorageSpaceInBytes = (gb*1_000_000_000 - int64(10+r.IntN(50))*1_000_000) &^ 4095
	d.FreeStorageSpaceInBytes = (d.TotalStorageSpaceInBytes * int64(10+r.IntN(65)) / 100) &^ 4095
	cert := enrolled.Add(365 * 24 * time.Hour)
	for !cert.After(base) {
		cert = cert.Add(365 * 24 * time.Hour)
	}
	d.ManagementCertificateExpirationDate = cert

	switch scenario {
	case ScenarioJailbrokenIPhone:
		d.JailBroken = "True"
		d.ComplianceState = "noncompliant"
		d.PartnerReportedThreatState = "highSeverity"
	case ScenarioRareAppAndroid:
		d.JailBroken = "False"
		d.ComplianceState = "noncompliant"
		d.AndroidSecurityPatchLevel = firstOfMonth(base, 9).Format("2006-01-02")
	case ScenarioDeveloperPhone:
		d.JailBroken = "False"
		d.ComplianceState = "compliant"
		d.DeviceCategoryDisplayName = "Developers"
	case ScenarioPersonalDevice:
		d.ComplianceState = "compliant"
	case ScenarioStaleDevice:
		d.ComplianceState = "compliant"
		d.LastSyncDateTime = now.Add(-StaleAge)
	}
	switch d.ComplianceState {
	case "compliant":
		d.ComplianceGracePeriodExpirationDateTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	case "inGracePeriod":
		d.ComplianceGracePeriodExpirationDateTime = base.Add(time.Duration(1+r.IntN(3)) * 24 * time.Hour)
	default:
		d.ComplianceGracePeriodExpirationDateTime = base.Add(-time.Duration(2+r.IntN(8)) * 24 * time.Hour)
	}
	return gd
}

// osVersion draws a version the model can run: none older than the one it
// shipped with.
func (g *generator) osVersion(versions []string, minMajor int) string {
	var ok []string
	for _, v := range versions {
		major, _, _ := strings.Cut(v, ".")
		if n, err := strconv.Atoi(major); err == nil && n >= minMajor {
			ok = append(ok, v)
		}
	}
	return ok[g.rng.IntN(len(ok))]
}

func firstOfMonth(t time.Time, monthsBack int) time.Time {
	return time.Date(t.Year(), t.Month()-time.Month(monthsBack), 1, 0, 0, 0, 0, time.UTC)
}

// guid draws a version-4 GUID in Graph's lower-case form.
func (g *generator) guid() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], g.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], g.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// user draws a user with a fleet-unique user principal name.
func (g *generator) user() (first, last, alias string) {
	for i := 0; ; i++ {
		first = firstNames[g.rng.IntN(len(firstNames))]
		last = lastNames[g.rng.IntN(len(lastNames))]
		alias = strings.ToLower(first + "." + last)
		if i >= 20 {
			alias += fmt.Sprint(i)
		}
		if !g.users[alias] {
			g.users[alias] = true
			return first, last, alias
		}
	}
}

func (g *generator) digits(prefix string, n int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for b.Len() < n {
		b.WriteByte(byte('0' + g.rng.IntN(10)))
	}
	return b.String()
}

// imei draws a Luhn-valid IMEI; Intune shows iOS IMEIs grouped with spaces.
func (g *generator) imei(spaced bool) string {
	s := g.digits("35", 14)
	sum := 0
	for i := 0; i < 14; i++ {
		v := int(s[i] - '0')
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	s += string(rune('0' + (10-sum%10)%10))
	if spaced {
		return s[0:2] + " " + s[2:8] + " " + s[8:14] + " " + s[14:]
	}
	return s
}

func (g *generator) serial(prefix string, n int) string {
	const alphabet = "BCDFGHJKLMNPQRTVWXYZ0123456789"
	var b strings.Builder
	b.WriteString(prefix)
	for b.Len() < n {
		b.WriteByte(alphabet[g.rng.IntN(len(alphabet))])
	}
	return b.String()
}

func (g *generator) mac() string {
	v := g.rng.Uint64()
	b := []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24), byte(v >> 32), byte(v >> 40)}
	b[0] &^= 3 // universally administered unicast
	return hex.EncodeToString(b)
}

// phone draws a number in the 555-0100..0199 range reserved for fiction.
func (g *generator) phone() string {
	areas := []string{"206", "425", "312", "617", "415", "212"}
	return fmt.Sprintf("+1%s55501%02d", areas[g.rng.IntN(len(areas))], g.rng.IntN(100))
}
