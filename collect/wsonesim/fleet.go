package wsonesim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Value is Workspace ONE's {"Value": N} wrapper of numeric ids.
type Value struct {
	Value int `json:"Value"`
}

// Ref is a reference to another object: {"Id":{"Value":N},"Name":"…","Uuid":"…"}.
type Ref struct {
	ID   Value  `json:"Id"`
	Name string `json:"Name,omitempty"`
	UUID string `json:"Uuid,omitempty"`
}

// Device is one device as GET /API/mdm/devices/search returns it (the
// PascalCase shape of versions 1 and 2). Times are zone-less strings in
// UTC; "0001-01-01T00:00:00" means never.
type Device struct {
	ID                     Value  `json:"Id"`
	UUID                   string `json:"Uuid"`
	UDID                   string `json:"Udid"`
	SerialNumber           string `json:"SerialNumber"`
	MacAddress             string `json:"MacAddress"`
	Imei                   string `json:"Imei"`
	EasID                  string `json:"EasId"`
	AssetNumber            string `json:"AssetNumber"`
	DeviceFriendlyName     string `json:"DeviceFriendlyName"`
	DeviceReportedName     string `json:"DeviceReportedName"`
	LocationGroupID        Ref    `json:"LocationGroupId"`
	LocationGroupName      string `json:"LocationGroupName"`
	UserID                 Ref    `json:"UserId"`
	UserName               string `json:"UserName"`
	UserEmailAddress       string `json:"UserEmailAddress"`
	EnrollmentUserUUID     string `json:"EnrollmentUserUuid"`
	Ownership              string `json:"Ownership"` // C, E, S or Undefined
	PlatformID             Ref    `json:"PlatformId"`
	Platform               string `json:"Platform"` // Apple, Android, ...
	ModelID                Ref    `json:"ModelId"`
	Model                  string `json:"Model"`
	OperatingSystem        string `json:"OperatingSystem"`
	OSBuildVersion         string `json:"OSBuildVersion,omitempty"`
	PhoneNumber            string `json:"PhoneNumber"`
	LastSeen               string `json:"LastSeen"`
	EnrollmentStatus       string `json:"EnrollmentStatus"`
	ComplianceStatus       string `json:"ComplianceStatus"`
	CompromisedStatus      bool   `json:"CompromisedStatus"`
	LastEnrolledOn         string `json:"LastEnrolledOn"`
	LastComplianceCheckOn  string `json:"LastComplianceCheckOn"`
	LastCompromisedCheckOn string `json:"LastCompromisedCheckOn"`
	IsSupervised           bool   `json:"IsSupervised"`
	DataEncryptionYN       string `json:"DataEncryptionYN,omitempty"`
	SecurityPatchDate      string `json:"SecurityPatchDate,omitempty"`
	EnrolledViaDEP         bool   `json:"EnrolledViaDEP"`
	ManagedBy              int    `json:"ManagedBy"`
	IsDeviceDNDEnabled     bool   `json:"IsDeviceDNDEnabled"`
	IsDeviceLocatorEnabled bool   `json:"IsDeviceLocatorEnabled"`
	IsCloudBackupEnabled   bool   `json:"IsCloudBackupEnabled"`
	IsActivationLockEnable bool   `json:"IsActivationLockEnabled"`
	IsNetworkTethered      bool   `json:"IsNetworkTethered"`
	BatteryLevel           string `json:"BatteryLevel"`
	IsRoaming              bool   `json:"IsRoaming"`
	TimeZone               string `json:"TimeZone"`
}

// App is one item of GET /API/mdm/devices/{id}/apps (version 1).
//
// The last five fields are the keys of Apple's InstalledApplicationList
// (the MDM command every iOS MDM reads its inventory with) that tell
// where an app came from. Workspace ONE's documentation does not say
// whether or where its API surfaces them; the simulator puts them on each
// iOS app under Apple's names, and only there.
type App struct {
	ApplicationName       string `json:"ApplicationName"`
	Version               string `json:"Version"`
	BuildVersion          string `json:"BuildVersion"`
	Status                string `json:"Status"`
	Size                  string `json:"Size"` // bytes, as a string
	ApplicationIdentifier string `json:"ApplicationIdentifier"`
	Type                  string `json:"Type"` // Public, Internal, System
	IsManaged             bool   `json:"IsManaged"`

	AdHocCodeSigned       *bool  `json:"AdHocCodeSigned,omitempty"`
	AppStoreVendable      *bool  `json:"AppStoreVendable,omitempty"`
	BetaApp               *bool  `json:"BetaApp,omitempty"`
	IsValidated           *bool  `json:"IsValidated,omitempty"`
	DistributorIdentifier string `json:"DistributorIdentifier,omitempty"`
}

// Planted scenarios: in a fleet of at least len(Scenarios) devices, the
// device at each index of Scenarios is the named case. Fleet.Planted maps
// each to its device id.
const (
	// ScenarioCompromised is an iPhone whose CompromisedStatus is true
	// (Workspace ONE's jailbreak verdict), non-compliant as a result.
	ScenarioCompromised = "compromised-iphone"
	// ScenarioAdHocApp is a supervised iPhone carrying AdHocAppID, an
	// ad-hoc-signed app outside any store.
	ScenarioAdHocApp = "adhoc-app-supervised-iphone"
	// ScenarioMarketplaceApp is an iPhone carrying MarketplaceAppID,
	// installed from the alternative marketplace MarketplaceDistributor.
	ScenarioMarketplaceApp = "marketplace-app-iphone"
	// ScenarioNeverSeen is a device registered but never seen: LastSeen is
	// "0001-01-01T00:00:00", and its app listing is an empty body.
	ScenarioNeverSeen = "never-seen"
	// ScenarioEnterpriseApp is a supervised iPhone carrying
	// EnterpriseAppID, the organisation's own in-house app, and
	// TestFlightAppID, a TestFlight beta: benign look-alikes of
	// ScenarioAdHocApp and ScenarioMarketplaceApp.
	ScenarioEnterpriseApp = "enterprise-app-supervised-iphone"
	// ScenarioNoncompliant is an iPhone that is non-compliant (an old iOS)
	// but not compromised: a benign look-alike of ScenarioCompromised.
	ScenarioNoncompliant = "noncompliant-not-compromised-iphone"
	// ScenarioEmployeeOwned is an employee-owned Android phone whose app
	// listing holds managed apps only (Workspace ONE's default privacy
	// settings for employee-owned devices).
	ScenarioEmployeeOwned = "employee-owned-android"
	// ScenarioStale is an Android phone last seen 45 days ago.
	ScenarioStale = "stale-android"
)

// Scenarios lists the planted cases in fleet order.
var Scenarios = []string{ScenarioCompromised, ScenarioAdHocApp, ScenarioMarketplaceApp, ScenarioNeverSeen,
	ScenarioEnterpriseApp, ScenarioNoncompliant, ScenarioEmployeeOwned, ScenarioStale}

// Planted apps.
const (
	AdHocAppID             = "com.example.fieldkit"
	MarketplaceAppID       = "com.example.retrocam"
	MarketplaceDistributor = "eu.example.altmarket"
	EnterpriseAppID        = "com.contoso.inspections"
	TestFlightAppID        = "com.contoso.planner"
	// AppStoreDistributor is the DistributorIdentifier of App Store apps
	// on iOS 17.4 and later.
	AppStoreDistributor = "com.apple.AppStore"
)

// Never is how Workspace ONE writes a time that never happened.
const Never = "0001-01-01T00:00:00"

// Fleet is a generated organisation.
type Fleet struct {
	// Devices in the server's natural order (what a search without
	// orderby returns): not by id.
	Devices []Device
	// Apps by device id.
	Apps map[int][]App
	// Planted maps each scenario to its device id.
	Planted map[string]int
}

// Device returns the device with id.
func (f *Fleet) Device(id int) (Device, bool) {
	for _, d := range f.Devices {
		if d.ID.Value == id {
			return d, true
		}
	}
	return Device{}, false
}

// IDs returns every device id, ascending.
func (f *Fleet) IDs() []int {
	ids := make([]int, len(f.Devices))
	for i, d := range f.Devices {
		ids[i] = d.ID.Value
	}
	slices.Sort(ids)
	return ids
}

type catalogApp struct {
	id, name, typ string
	managed       bool
	bytes         int
}

var iosCatalog = []catalogApp{
	{"com.air-watch.agent", "Intelligent Hub", "Public", true, 180_551_680},
	{"com.microsoft.Office.Outlook", "Microsoft Outlook", "Public", true, 312_442_880},
	{"com.microsoft.skype.teams", "Microsoft Teams", "Public", true, 402_653_184},
	{"com.tinyspeck.chatlyio", "Slack", "Public", false, 289_406_976},
	{"net.whatsapp.WhatsApp", "WhatsApp", "Public", false, 251_822_080},
	{"org.whispersystems.signal", "Signal", "Public", false, 164_626_432},
	{"us.zoom.videomeetings", "Zoom", "Public", false, 230_686_720},
	{"com.contoso.expenses", "Contoso Expenses", "Internal", true, 48_234_496},
}

var androidCatalog = []catalogApp{
	{"com.airwatch.androidagent", "Intelligent Hub", "Public", true, 95_420_416},
	{"com.microsoft.office.outlook", "Microsoft Outlook", "Public", true, 210_763_776},
	{"com.microsoft.teams", "Microsoft Teams", "Public", true, 330_301_440},
	{"com.slack", "Slack", "Public", false, 120_586_240},
	{"com.whatsapp", "WhatsApp", "Public", false, 140_509_184},
	{"org.thoughtcrime.securesms", "Signal", "Public", false, 98_566_144},
	{"com.android.chrome", "Chrome", "System", false, 250_609_664},
	{"com.google.android.gms", "Google Play services", "System", false, 400_556_032},
	{"com.contoso.expenses", "Contoso Expenses", "Internal", true, 22_020_096},
}

type model struct {
	platform, name, os, build string
	platformID, modelID       int
}

var (
	iphones = []model{
		{"Apple", "iPhone 15", "17.5.1", "21F90", 2, 119},
		{"Apple", "iPhone 14", "17.4.1", "21E237", 2, 115},
		{"Apple", "iPhone 13", "18.1", "22B83", 2, 111},
		{"Apple", "iPhone SE (3rd generation)", "17.6.1", "21G93", 2, 113},
	}
	ipads    = []model{{"Apple", "iPad Air (5th generation)", "17.5.1", "21F90", 2, 214}}
	androids = []model{
		{"Android", "Pixel 8", "14", "AP2A.240605.024", 5, 5012},
		{"Android", "SM-S918B", "14", "UP1A.231005.007", 5, 5044},
		{"Android", "SM-A546B", "13", "TP1A.220624.014", 5, 5051},
	}
)

// groups are the organisation groups devices belong to.
var groups = []Ref{
	{ID: Value{1111}, Name: "EMEA", UUID: "7d1f2c3a-1111-4e5f-8a9b-0c1d2e3f4a5b"},
	{ID: Value{1112}, Name: "Americas", UUID: "7d1f2c3a-1112-4e5f-8a9b-0c1d2e3f4a5b"},
	{ID: Value{1113}, Name: "Field Engineering", UUID: "7d1f2c3a-1113-4e5f-8a9b-0c1d2e3f4a5b"},
}

// zoneless writes t as Workspace ONE does: UTC, no zone, milliseconds.
func zoneless(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000") }

// NewFleet generates n devices from seed; now dates them. The same (seed,
// n, now) gives the same fleet.
func NewFleet(seed uint64, n int, now time.Time) *Fleet {
	r := rand.New(rand.NewPCG(seed, seed^0x7773316f6e65)) // "ws1one"
	f := &Fleet{Apps: map[int][]App{}, Planted: map[string]int{}}
	id := 5000
	ago := func(d time.Duration) string { return zoneless(now.Add(-d)) }
	for i := range n {
		id += 1 + r.IntN(40)
		scenario := ""
		if n >= len(Scenarios) && i < len(Scenarios) {
			scenario = Scenarios[i]
			f.Planted[scenario] = id
		}
		var m model
		switch {
		case scenario == ScenarioEmployeeOwned || scenario == ScenarioStale:
			m = androids[r.IntN(len(androids))]
		case scenario != "" && scenario != ScenarioNeverSeen:
			m = iphones[r.IntN(len(iphones))]
		case r.IntN(8) == 0:
			m = ipads[0]
		case r.IntN(2) == 0:
			m = iphones[r.IntN(len(iphones))]
		default:
			m = androids[r.IntN(len(androids))]
		}
		user := fmt.Sprintf("user%03d", i)
		apple := m.platform == "Apple"
		d := Device{
			ID:                     Value{id},
			UUID:                   uuid(r),
			SerialNumber:           serial(r, apple),
			MacAddress:             fmt.Sprintf("%012X", r.Uint64()&0xffffffffffff),
			EasID:                  strings.ToUpper(fmt.Sprintf("%016x", r.Uint64())),
			AssetNumber:            fmt.Sprintf("A-%05d", id),
			LocationGroupID:        groups[r.IntN(len(groups))],
			UserID:                 Ref{ID: Value{20000 + i}, Name: user, UUID: uuid(r)},
			UserName:               user,
			UserEmailAddress:       user + "@contoso.example",
			EnrollmentUserUUID:     uuid(r),
			Ownership:              "C",
			PlatformID:             Ref{ID: Value{m.platformID}, Name: m.platform},
			Platform:               m.platform,
			ModelID:                Ref{ID: Value{m.modelID}, Name: m.name},
			Model:                  m.name,
			OperatingSystem:        m.os,
			OSBuildVersion:         m.build,
			LastSeen:               ago(time.Duration(r.IntN(36*60)) * time.Minute),
			EnrollmentStatus:       "Enrolled",
			ComplianceStatus:       "Compliant",
			LastEnrolledOn:         ago(time.Duration(30+r.IntN(600)) * 24 * time.Hour),
			ManagedBy:              1,
			BatteryLevel:           strconv.Itoa(20+r.IntN(80)) + "%",
			TimeZone:               "Coordinated Universal Time",
			IsDeviceLocatorEnabled: true,
		}
		d.LocationGroupName = d.LocationGroupID.Name
		d.LastComplianceCheckOn = ago(time.Duration(r.IntN(24*60)) * time.Minute)
		d.LastCompromisedCheckOn = d.LastComplianceCheckOn
		if r.IntN(5) == 0 {
			// Some timestamps come without milliseconds.
			d.LastSeen = d.LastSeen[:len("2006-01-02T15:04:05")]
		}
		if apple {
			d.UDID = fmt.Sprintf("00008%03d-%016X", 100+r.IntN(20), r.Uint64())
			d.Imei = imei(r)
			d.IsSupervised = r.IntN(3) != 0
			d.EnrolledViaDEP = d.IsSupervised
			d.IsActivationLockEnable = true
			d.IsCloudBackupEnabled = r.IntN(2) == 0
			d.DataEncryptionYN = "Y"
			d.DeviceReportedName = user + "'s " + strings.Fields(m.name)[0]
			d.DeviceFriendlyName = fmt.Sprintf("%s %s iOS %s %s", user, strings.Fields(m.name)[0], m.os, d.SerialNumber[len(d.SerialNumber)-4:])
			if strings.HasPrefix(m.name, "iPad") {
				d.Imei = ""
			}
		} else {
			d.UDID = fmt.Sprintf("%032x", r.Uint64())
			d.Imei = imei(r)
			d.DataEncryptionYN = "Y"
			d.SecurityPatchDate = zoneless(time.Date(now.Year(), now.Month()-time.Month(r.IntN(3)), 5, 0, 0, 0, 0, time.UTC))
			d.DeviceReportedName = m.name
			d.DeviceFriendlyName = fmt.Sprintf("%s Android %s %s", user, m.os, d.SerialNumber[len(d.SerialNumber)-4:])
		}
		d.PhoneNumber = fmt.Sprintf("+4477009%05d", r.IntN(100000))

		apps := catalogApps(r, d, now)
		switch scenario {
		case ScenarioCompromised:
			d.CompromisedStatus = true
			d.ComplianceStatus = "NonCompliant"
			d.LastCompromisedCheckOn = ago(3 * time.Hour)
		case ScenarioAdHocApp:
			d.IsSupervised, d.EnrolledViaDEP = true, true
			apps = append(apps, App{ApplicationName: "FieldKit", Version: "2.3", BuildVersion: "230", Status: "Installed",
				Size: "8123456", ApplicationIdentifier: AdHocAppID, Type: "Public",
				AdHocCodeSigned: ptr(true), AppStoreVendable: ptr(false), BetaApp: ptr(false), IsValidated: ptr(true)})
		case ScenarioMarketplaceApp:
			d.OperatingSystem, d.OSBuildVersion = "17.5.1", "21F90"
			apps = append(apps, App{ApplicationName: "RetroCam <b>Pro</b>", Version: "4.1.0", BuildVersion: "4100", Status: "Installed",
				Size: "61234567", ApplicationIdentifier: MarketplaceAppID, Type: "Public",
				AdHocCodeSigned: ptr(false), AppStoreVendable: ptr(false), BetaApp: ptr(false), IsValidated: ptr(true),
				DistributorIdentifier: MarketplaceDistributor})
		case ScenarioNeverSeen:
			d.LastSeen = Never
			d.LastComplianceCheckOn, d.LastCompromisedCheckOn = Never+".000", Never+".000"
			d.EnrollmentStatus, d.ComplianceStatus = "EnrollmentInProgress", "NotAvailable"
			d.IsSupervised, d.EnrolledViaDEP = false, false
			apps = nil
		case ScenarioEnterpriseApp:
			d.IsSupervised, d.EnrolledViaDEP = true, true
			d.OperatingSystem, d.OSBuildVersion = "17.5.1", "21F90"
			apps = append(apps, App{ApplicationName: "Contoso Inspections", Version: "5.0.2", BuildVersion: "502", Status: "Installed",
				Size: "30511104", ApplicationIdentifier: EnterpriseAppID, Type: "Internal", IsManaged: true,
				AdHocCodeSigned: ptr(false), AppStoreVendable: ptr(false), BetaApp: ptr(false), IsValidated: ptr(true)},
				App{ApplicationName: "Contoso Planner", Version: "3.0", BuildVersion: "3017", Status: "Installed",
					Size: "12582912", ApplicationIdentifier: TestFlightAppID, Type: "Public",
					AdHocCodeSigned: ptr(false), AppStoreVendable: ptr(false), BetaApp: ptr(true), IsValidated: ptr(true),
					DistributorIdentifier: "com.apple.TestFlight"})
		case ScenarioNoncompliant:
			d.OperatingSystem, d.OSBuildVersion = "15.8.2", "19H384"
			d.ComplianceStatus = "NonCompliant"
			for i := range apps {
				apps[i].DistributorIdentifier = "" // before iOS 17.4
			}
		case ScenarioEmployeeOwned:
			d.Ownership = "E"
			d.SerialNumber = "" // not collected on employee-owned devices
			d.Imei, d.PhoneNumber = "", ""
			apps = slices.DeleteFunc(apps, func(a App) bool { return !a.IsManaged })
		case ScenarioStale:
			d.LastSeen = ago(45*24*time.Hour + 3*time.Hour)
		}
		if scenario == "" && r.IntN(10) == 0 {
			d.Ownership = "S" // a shared corporate device
		}
		f.Devices = append(f.Devices, d)
		if len(apps) > 0 {
			f.Apps[id] = apps
		}
	}
	// The natural order (no orderby) is not the id order.
	r.Shuffle(len(f.Devices), func(i, j int) { f.Devices[i], f.Devices[j] = f.Devices[j], f.Devices[i] })
	return f
}

// catalogApps picks the apps of d: every managed app, and each unmanaged
// one with probability 2/3.
func catalogApps(r *rand.Rand, d Device, now time.Time) []App {
	cat := androidCatalog
	apple := d.Platform == "Apple"
	if apple {
		cat = iosCatalog
	}
	var out []App
	for _, c := range cat {
		if !c.managed && c.typ != "System" && r.IntN(3) == 0 {
			continue
		}
		major := 1 + r.IntN(30)
		a := App{ApplicationName: c.name, Version: fmt.Sprintf("%d.%d.%d", major, r.IntN(20), r.IntN(100)),
			Status: "Installed", Size: strconv.Itoa(c.bytes + r.IntN(1<<20)), ApplicationIdentifier: c.id, Type: c.typ, IsManaged: c.managed}
		a.BuildVersion = a.Version
		if apple {
			store := c.typ == "Public"
			a.AdHocCodeSigned, a.AppStoreVendable, a.BetaApp, a.IsValidated = ptr(false), ptr(store), ptr(false), ptr(true)
			if store && !versionBefore(d.OperatingSystem, 17, 4) {
				a.DistributorIdentifier = AppStoreDistributor
			}
		}
		out = append(out, a)
	}
	return out
}

// versionBefore reports whether an iOS version is before major.minor.
func versionBefore(v string, major, minor int) bool {
	parts := strings.Split(v, ".")
	ma, _ := strconv.Atoi(parts[0])
	mi := 0
	if len(parts) > 1 {
		mi, _ = strconv.Atoi(parts[1])
	}
	return ma < major || (ma == major && mi < minor)
}

func ptr[T any](v T) *T { return &v }

func uuid(r *rand.Rand) string {
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>48&0x3fff|0x8000, b&0xffffffffffff)
}

func serial(r *rand.Rand, apple bool) string {
	const alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	n, prefix := 8, "R5CT"
	if apple {
		n, prefix = 8, "F2L"
	}
	b := []byte(prefix)
	for range n {
		b = append(b, alnum[r.IntN(len(alnum))])
	}
	return string(b)
}

// imei returns a 15-digit IMEI with a valid Luhn check digit.
func imei(r *rand.Rand) string {
	d := []byte(fmt.Sprintf("35%012d", r.Int64N(1e12)))
	sum := 0
	for i, c := range d {
		v := int(c - '0')
		if i%2 == 1 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return string(d) + strconv.Itoa((10-sum%10)%10)
}
