package mdmsim

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Random streams. Every device draws from its own streams, seeded from the
// fleet seed, the stream and the device's generation index, so any device
// can be rebuilt alone.
const (
	streamTenant = iota + 1
	streamKind   // id, enrollment mode, ownership, hardware model
	streamAttr   // every other managedDevice property
	streamApps   // installed apps
	streamAudit  // background audit events
)

// splitmix64 is a bijective 64-bit mixer (Steele, Lea and Flood).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func (f *Fleet) rng(g int, stream uint64) *rand.Rand {
	s := splitmix64(uint64(f.Seed) ^ stream<<56)
	return rand.New(rand.NewPCG(s, splitmix64(s^uint64(g))))
}

// Android enrollment modes.
const (
	modeIOS = iota
	modeFullyManaged
	modeCorporateWorkProfile
	modePersonalWorkProfile
)

// kind is what must be known about a device before anything else: its id
// (which fixes its position) and what decides its apps.
type kind struct {
	id       [16]byte
	mode     int
	personal bool
	hw       int
	scenario string
}

func (k kind) platform() int {
	switch k.mode {
	case modeIOS:
		return platIOS
	case modeFullyManaged:
		return platFullyManaged
	}
	return platWorkProfile
}

func (k kind) model() hwModel {
	if k.mode == modeIOS {
		return iosModels[k.hw]
	}
	return androidModels[k.hw]
}

func (f *Fleet) kind(g int) kind {
	r := f.rng(g, streamKind)
	k := kind{id: guidBytes(r)}
	if f.n >= len(Scenarios) && g < len(Scenarios) {
		k.scenario = Scenarios[g]
	}
	switch k.scenario {
	case ScenarioJailbrokenIPhone:
	case ScenarioPersonalDevice:
		k.personal = true
	case ScenarioRareAppAndroid, ScenarioDeveloperPhone:
		k.mode = modeFullyManaged
	case ScenarioStaleDevice:
		k.mode = modeCorporateWorkProfile
	default:
		if r.IntN(100) >= 55 {
			k.mode = modeFullyManaged
			if r.IntN(100) < 30 {
				k.mode = modeCorporateWorkProfile
			}
		}
		if r.IntN(100) < 12 {
			k.personal = true
			if k.mode != modeIOS {
				k.mode = modePersonalWorkProfile
			}
		}
	}
	if k.mode == modeIOS {
		k.hw = r.IntN(len(iosModels))
	} else {
		k.hw = r.IntN(len(androidModels))
	}
	return k
}

// tenantData is what the whole tenant shares: compliance policies, the
// administrators and the applications that appear in audit events.
type tenantData struct {
	policyIDs   [numPolicies]string
	intuneAppID string
	automation  string // application id of the tenant's own automation app
	adminIDs    [len(adminUPNs)]string
	adminIPs    [len(adminUPNs)]string
}

func (f *Fleet) initTenant() {
	r := f.rng(0, streamTenant)
	f.TenantID = guidString(guidBytes(r))
	// User names: position q of the first x last name grid is an affine
	// bijection of the generation index, so names are unique without
	// remembering which were used; every len(grid) devices a numeric
	// suffix starts a new round.
	grid := len(firstNames) * len(lastNames)
	for {
		f.nameMul = 1 + r.IntN(grid-1)
		if gcd(f.nameMul, grid) == 1 {
			break
		}
	}
	f.nameAdd = r.IntN(grid)
	for i := range f.tenant.policyIDs {
		f.tenant.policyIDs[i] = guidString(guidBytes(r))
	}
	f.tenant.intuneAppID = guidString(guidBytes(r))
	f.tenant.automation = guidString(guidBytes(r))
	for i := range adminUPNs {
		f.tenant.adminIDs[i] = guidString(guidBytes(r))
		f.tenant.adminIPs[i] = fmt.Sprintf("198.51.100.%d", 10+r.IntN(200))
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// user returns the fleet-unique user of generation index g.
func (f *Fleet) user(g int) (first, last, alias string) {
	grid := len(firstNames) * len(lastNames)
	q := (f.nameMul*(g%grid) + f.nameAdd) % grid
	first, last = firstNames[q%len(firstNames)], lastNames[q/len(firstNames)]
	alias = strings.ToLower(first + "." + last)
	if round := g / grid; round > 0 {
		alias += strconv.Itoa(round + 1)
	}
	return first, last, alias
}

// Times of the planted administrator actions, before the fleet's Now.
const (
	plantedLockAge   = 5*time.Hour + 12*time.Minute
	plantedWipeAge   = 38 * time.Minute
	plantedRetireAge = 2*24*time.Hour + 3*time.Hour
	plantedPolicyAge = 26*time.Hour + 41*time.Minute
)

// build makes the device at position p.
func (f *Fleet) build(p int) *Device {
	g := int(f.gen[p])
	k := f.kind(g)
	d := f.attributes(g, k)
	keys := f.installs(g, k)
	d.Apps = make([]DetectedApp, len(keys))
	for i, key := range keys {
		d.Apps[i] = f.detected(key)
	}
	return d
}

// attributes draws every managedDevice property of device g. The planted
// scenarios fix the properties their name promises.
func (f *Fleet) attributes(g int, k kind) *Device {
	r := f.rng(g, streamAttr)
	base := f.base
	first, last, alias := f.user(g)
	upn := alias + "@" + UserDomain
	enrolled := base.Add(-time.Duration(60+r.IntN(700))*24*time.Hour - time.Duration(r.IntN(86400))*time.Second)
	lastSync := base.Add(-time.Duration(r.IntN(3*86400)) * time.Second)

	d := &Device{
		ID:                                 guidString(k.id),
		UserID:                             guidString(guidBytes(r)),
		ManagedDeviceOwnerType:             "company",
		DeviceActionResults:                []DeviceActionResult{},
		EnrolledDateTime:                   enrolled,
		LastSyncDateTime:                   lastSync,
		ComplianceState:                    "compliant",
		JailBroken:                         "False",
		ManagementAgent:                    "mdm",
		AzureADRegistered:                  true,
		EmailAddress:                       upn,
		AzureADDeviceID:                    guidString(guidBytes(r)),
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
	if k.personal {
		d.ManagedDeviceOwnerType = "personal"
	}
	if r.IntN(100) < 35 {
		d.PartnerReportedThreatState = "secured"
	}
	if r.IntN(100) < 15 {
		d.ComplianceState = "inGracePeriod"
	}

	hw := k.model()
	if k.mode == modeIOS {
		d.OperatingSystem = "iOS"
		d.OSVersion = osVersion(r, iosVersions, hw.minMajor)
		d.DeviceName = first + "’s iPhone"
		d.ManagedDeviceName = alias + "_iPhone_" + enrolled.Format("1/2/2006_3:04 PM")
		d.IMEI = imei(r, true)
		d.SerialNumber = serial(r, "", hw.serialLen)
		d.UDID = fmt.Sprintf("0000%04X-%016X", []int{0x8110, 0x8120, 0x8130, 0x8140, 0x8150}[r.IntN(5)], r.Uint64())
		d.WiFiMacAddress = mac(r)
		if k.personal {
			d.DeviceEnrollmentType = "userEnrollment"
		} else {
			d.DeviceEnrollmentType = "appleBulkWithUser"
			d.IsSupervised = true
			d.PhoneNumber = phone(r)
			d.SubscriberCarrier = carriers[r.IntN(len(carriers))]
			d.ICCID = digits(r, "8901", 20)
		}
	} else {
		d.OperatingSystem = "Android"
		d.OSVersion = osVersion(r, androidVersions, hw.minMajor)
		d.AndroidSecurityPatchLevel = firstOfMonth(base, r.IntN(4)).Format("2006-01-02")
		if r.IntN(100) < 15 {
			d.JailBroken = "Unknown"
		}
		kindName := "AndroidForWork"
		switch k.mode {
		case modeFullyManaged:
			kindName = "AndroidEnterprise"
			d.DeviceEnrollmentType = "androidEnterpriseFullyManaged"
		case modeCorporateWorkProfile:
			d.DeviceEnrollmentType = "androidEnterpriseCorporateWorkProfile"
		default:
			d.DeviceEnrollmentType = "userEnrollment"
		}
		d.ManagedDeviceName = alias + "_" + kindName + "_" + enrolled.Format("1/2/2006_3:04 PM")
		d.DeviceName = d.ManagedDeviceName
		if k.mode != modePersonalWorkProfile {
			// A personally owned work profile hides the hardware
			// identifiers from the MDM (Android 10+).
			d.IMEI = imei(r, false)
			d.SerialNumber = serial(r, hw.serialPrefix, hw.serialLen)
			d.WiFiMacAddress = mac(r)
			d.PhoneNumber = phone(r)
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

	action := func(name, state string, age, took time.Duration) {
		start := base.Add(-age)
		d.DeviceActionResults = []DeviceActionResult{{ActionName: name, ActionState: state, StartDateTime: start, LastUpdatedDateTime: start.Add(took)}}
	}
	switch k.scenario {
	case ScenarioJailbrokenIPhone:
		d.JailBroken = "True"
		d.ComplianceState = "noncompliant"
		d.PartnerReportedThreatState = "highSeverity"
		action("remoteLock", "done", plantedLockAge, 94*time.Second)
	case ScenarioRareAppAndroid:
		d.JailBroken = "False"
		d.ComplianceState = "noncompliant"
		d.AndroidSecurityPatchLevel = firstOfMonth(base, 9).Format("2006-01-02")
		action("wipe", "pending", plantedWipeAge, 0)
	case ScenarioDeveloperPhone:
		d.JailBroken = "False"
		d.ComplianceState = "compliant"
		d.DeviceCategoryDisplayName = "Developers"
	case ScenarioPersonalDevice:
		d.ComplianceState = "compliant"
	case ScenarioStaleDevice:
		d.ComplianceState = "compliant"
		d.LastSyncDateTime = f.Now.Add(-StaleAge)
		action("retire", "pending", plantedRetireAge, 0)
	}
	switch d.ComplianceState {
	case "compliant":
		d.ComplianceGracePeriodExpirationDateTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	case "inGracePeriod":
		d.ComplianceGracePeriodExpirationDateTime = base.Add(time.Duration(1+r.IntN(3)) * 24 * time.Hour)
	default:
		d.ComplianceGracePeriodExpirationDateTime = base.Add(-time.Duration(2+r.IntN(8)) * 24 * time.Hour)
	}
	return d
}

// osVersion draws a version the model can run: none older than the one it
// shipped with.
func osVersion(r *rand.Rand, versions []string, minMajor int) string {
	var ok []string
	for _, v := range versions {
		major, _, _ := strings.Cut(v, ".")
		if n, err := strconv.Atoi(major); err == nil && n >= minMajor {
			ok = append(ok, v)
		}
	}
	return ok[r.IntN(len(ok))]
}

func firstOfMonth(t time.Time, monthsBack int) time.Time {
	return time.Date(t.Year(), t.Month()-time.Month(monthsBack), 1, 0, 0, 0, 0, time.UTC)
}

// guidBytes draws a version-4 GUID.
func guidBytes(r *rand.Rand) [16]byte {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

func digits(r *rand.Rand, prefix string, n int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for b.Len() < n {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

// imei draws a Luhn-valid IMEI; Intune shows iOS IMEIs grouped with spaces.
func imei(r *rand.Rand, spaced bool) string {
	s := digits(r, "35", 14)
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

func serial(r *rand.Rand, prefix string, n int) string {
	const alphabet = "BCDFGHJKLMNPQRTVWXYZ0123456789"
	var b strings.Builder
	b.WriteString(prefix)
	for b.Len() < n {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func mac(r *rand.Rand) string {
	v := r.Uint64()
	b := []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24), byte(v >> 32), byte(v >> 40)}
	b[0] &^= 3 // universally administered unicast
	return hex.EncodeToString(b)
}

// phone draws a number in the 555-0100..0199 range reserved for fiction.
func phone(r *rand.Rand) string {
	areas := []string{"206", "425", "312", "617", "415", "212"}
	return fmt.Sprintf("+1%s55501%02d", areas[r.IntN(len(areas))], r.IntN(100))
}
