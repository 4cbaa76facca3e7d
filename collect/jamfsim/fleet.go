package jamfsim

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scenario names, the keys of [Fleet.Planted].
const (
	// ScenarioAdHocApp is a supervised, company-owned iPhone carrying an
	// ad-hoc-signed app ([AdHocAppID]) with the 7-day provisioning profile
	// of a free developer account; two days before Now an unfamiliar admin
	// account ([PlantedAdminActor]) cleared its passcode.
	ScenarioAdHocApp = "adhoc-app-supervised-iphone"
	// ScenarioJailbreak is a supervised iPhone whose detail reports
	// jailBreakDetected true and which carries the unc0ver jailbreak app,
	// enterprise-signed and no longer validated ([UnvalidatedAppID]). The
	// help desk put it in Lost Mode three hours before Now.
	ScenarioJailbreak = "jailbroken-iphone"
	// ScenarioMarketplaceApp is an iPhone in the EU site carrying an app
	// installed from an alternative marketplace ([MarketplaceAppID], whose
	// distributorIdentifier is [MarketplaceDistributor]).
	ScenarioMarketplaceApp = "marketplace-app"
	// ScenarioDeveloperBeta is a developer's iPhone carrying TestFlight and
	// a TestFlight beta of the company's own app ([BetaAppID]): a benign
	// look-alike of a sideloaded app.
	ScenarioDeveloperBeta = "developer-testflight"
	// ScenarioPersonalDevice is a personally owned iPhone enrolled through
	// Account Driven User Enrollment: no serial number, UDID or IMEI, no
	// jailbreak verdict, and only its managed apps are reported.
	ScenarioPersonalDevice = "personal-user-enrollment"
	// ScenarioStaleDevice is an iPad whose last inventory update is
	// [StaleAge] before Now, with MDM commands still pending.
	ScenarioStaleDevice = "stale-ipad"
)

// Scenarios lists the planted scenarios. All of them are planted when the
// fleet has at least len(Scenarios) devices; smaller fleets have none.
var Scenarios = []string{
	ScenarioAdHocApp, ScenarioJailbreak, ScenarioMarketplaceApp,
	ScenarioDeveloperBeta, ScenarioPersonalDevice, ScenarioStaleDevice,
}

// Bundle ids and names of the planted apps.
const (
	AdHocAppID             = "com.example.sideloaded"
	UnvalidatedAppID       = "science.xnu.undecimus"
	MarketplaceAppID       = "com.example.retroplay"
	MarketplaceDistributor = "com.marketplace.example"
	BetaAppID              = "com.contoso.fieldservice.beta"
	// InHouseAppID is the company's in-house app, managed and
	// enterprise-signed, on every company-owned device: a benign
	// look-alike of a sideloaded app.
	InHouseAppID = "com.contoso.fieldservice"
	// Distributors Apple names for its own stores.
	AppStoreDistributor   = "com.apple.AppStore"
	TestFlightDistributor = "com.apple.TestFlight"
)

// Accounts in the planted history.
const (
	PlantedAdminActor = "svc-legacy"     // cleared the passcode of the ad-hoc iPhone
	HelpdeskActor     = "helpdesk.tier2" // put the jailbroken iPhone in Lost Mode
	AdminActor        = "jamf.admin"     // routine administration
)

// StaleAge is how long before Now the stale iPad last updated its
// inventory.
const StaleAge = 45 * 24 * time.Hour

// UserDomain is the domain of every e-mail address in the fleet.
const UserDomain = "contoso.com"

// Fleet is a generated set of devices in ascending id order.
type Fleet struct {
	Now     time.Time
	Devices []*Device
	// Planted maps each scenario to the id of the device it was planted
	// on.
	Planted map[string]string

	seed int64
	made int // devices generated so far (the next device's index)
}

// Device is one device in all the shapes the server gives it.
type Device struct {
	Summary MobileDevice // an item of the listing
	Detail  Detail
	History History // whole; the server cuts subsets from it
}

// Device returns the device with id, or nil.
func (f *Fleet) Device(id string) *Device {
	for _, d := range f.Devices {
		if d.Summary.ID == id {
			return d
		}
	}
	return nil
}

// IDs returns the ids of the fleet's devices, in order.
func (f *Fleet) IDs() []string {
	out := make([]string, len(f.Devices))
	for i, d := range f.Devices {
		out[i] = d.Summary.ID
	}
	return out
}

// NewFleet generates n devices from seed, timed relative to now. Device
// ids are 1 to n; the same arguments always give the same fleet.
func NewFleet(seed int64, n int, now time.Time) *Fleet {
	f := &Fleet{Now: now.UTC(), Planted: map[string]string{}, seed: seed}
	var at map[int]string
	if n >= len(Scenarios) {
		rng := mrand.New(mrand.NewPCG(uint64(seed), 0x706c616e74))
		at = map[int]string{}
		for i, p := range rng.Perm(n)[:len(Scenarios)] {
			at[p] = Scenarios[i]
		}
	}
	for i := range n {
		f.add(at[i])
	}
	return f
}

// add generates the next device, with scenario planted on it ("" for
// none), and returns it.
func (f *Fleet) add(scenario string) *Device {
	idx := f.made
	f.made++
	id := 1
	if len(f.Devices) > 0 {
		id, _ = strconv.Atoi(f.Devices[len(f.Devices)-1].Summary.ID)
		id++
	}
	g := &gen{rng: mrand.New(mrand.NewPCG(uint64(f.seed), uint64(idx)+0x6465766963)), now: f.Now, scenario: scenario}
	d := g.device(strconv.Itoa(id))
	f.Devices = append(f.Devices, d)
	if scenario != "" {
		f.Planted[scenario] = d.Summary.ID
	}
	return d
}

// remove drops the device with id; false if there is none.
func (f *Fleet) remove(id string) bool {
	i := slices.IndexFunc(f.Devices, func(d *Device) bool { return d.Summary.ID == id })
	if i < 0 {
		return false
	}
	f.Devices = slices.Delete(slices.Clone(f.Devices), i, i+1)
	return true
}

// ---- generation ----

type model struct {
	name, ident, number string
	ipad                bool
	capacityMb          int
}

var iphones = []model{
	{"iPhone 15 Pro", "iPhone16,1", "MTUV3LL/A", false, 256000},
	{"iPhone 15", "iPhone15,4", "MTLX3LL/A", false, 128000},
	{"iPhone 14", "iPhone14,7", "MPUF3LL/A", false, 128000},
	{"iPhone 13", "iPhone14,5", "MLMF3LL/A", false, 128000},
	{"iPhone SE (3rd generation)", "iPhone14,6", "MMXH3LL/A", false, 64000},
}

var ipads = []model{
	{"iPad Air (5th generation)", "iPad13,16", "MM9C3LL/A", true, 64000},
	{"iPad Pro 11-inch (4th generation)", "iPad14,3", "MNXD3LL/A", true, 256000},
	{"iPad (10th generation)", "iPad13,18", "MPQ03LL/A", true, 64000},
}

type release struct {
	version, build string
	distributor    bool // iOS 17.4 and later report DistributorIdentifier
}

var releases = []release{
	{"16.7.10", "20H350", false},
	{"17.5.1", "21F90", true},
	{"17.6.1", "21G93", true},
	{"18.1", "22B83", true},
	{"18.3.2", "22D82", true},
}

var firstNames = []string{"Alice", "Bilal", "Chen", "Dana", "Emeka", "Fatima", "Gustav", "Hana", "Ivan", "Julia", "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Yara"}
var lastNames = []string{"Nguyen", "Okafor", "Schmidt", "Rossi", "Kowalski", "Haddad", "Larsen", "Tanaka", "Moreau", "Silva", "Novak", "Khan", "Becker", "Ortiz", "Dubois", "Ito"}
var departments = []string{"Sales", "Finance", "Operations", "Legal", "Field Service", "Support"}

type catalogApp struct {
	id, name, short, build string
	size                   int64
	vpp                    bool // assigned by the company through Apps and Books
}

// storeApps are App Store apps. The VPP ones are on every company device,
// managed; the others are installed by users here and there.
var storeApps = []catalogApp{
	{"com.microsoft.Office.Outlook", "Microsoft Outlook", "4.2423.0", "4.2423.0", 402653184, true},
	{"com.microsoft.skype.teams", "Microsoft Teams", "6.12.1", "6.12.1.100", 318767104, true},
	{"com.microsoft.azureauthenticator", "Authenticator", "6.8.12", "6.8.12", 142606336, true},
	{"com.jamfsoftware.selfservice", "Self Service", "11.10.1", "11.10.1", 41943040, true},
	{"net.whatsapp.WhatsApp", "WhatsApp", "24.11.79", "24.11.79", 251822080, false},
	{"com.tinyspeck.chatlyio", "Slack", "24.06.10", "24.06.10.0", 230686720, false},
	{"us.zoom.videomeetings", "Zoom Workplace", "6.1.0", "6.1.0.23490", 203423744, false},
	{"com.google.Maps", "Google Maps", "6.120.1", "6.120.1", 268435456, false},
	{"org.whispersystems.signal", "Signal", "7.12", "7.12.0.12", 188743680, false},
	{"com.google.chrome.ios", "Google Chrome", "126.0.6478.54", "126.0.6478.54", 268435456, false},
	{"com.spotify.client", "Spotify", "8.9.44", "8.9.44.585", 167772160, false},
	{"com.linkedin.LinkedIn", "LinkedIn", "9.29.8450", "9.29.8450", 329252864, false},
	{"com.duosecurity.duomobile", "Duo Mobile", "4.62.0", "4.62.0.1", 96468992, false},
	{"com.1password.1password", "1Password 8", "8.10.32", "8.10.32", 109051904, false},
	{"com.apple.Pages", "Pages", "14.1", "7623", 603979776, false},
	{"com.apple.Keynote", "Keynote", "14.1", "7623", 729808896, false},
}

var testFlightApp = catalogApp{"com.apple.TestFlight", "TestFlight", "3.5.2", "3.5.2", 30408704, false}

// gen builds one device from its own PRNG.
type gen struct {
	rng      *mrand.Rand
	now      time.Time
	scenario string
}

func (g *gen) pick(n int) int { return g.rng.IntN(n) }

func (g *gen) hex(n int) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *gen) serial() string {
	const chars = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := make([]byte, 12)
	for i := range b {
		b[i] = chars[g.rng.IntN(len(chars))]
	}
	return string(b)
}

func (g *gen) uuid() string {
	h := strings.ToLower(g.hex(32))
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

func (g *gen) mac() string {
	h := g.hex(12)
	return strings.Join([]string{h[0:2], h[2:4], h[4:6], h[6:8], h[8:10], h[10:12]}, ":")
}

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b)
}

// ago is a time d before now, truncated to the millisecond.
func (g *gen) ago(d time.Duration) time.Time { return g.now.Add(-d).Truncate(time.Millisecond) }

func (g *gen) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)))
}

// Time formats of the two APIs.
func proTime(t time.Time) string     { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
func classicDate(t time.Time) string { return t.UTC().Format("2006/01/02 at 3:04 PM") }
func classicUTC(t time.Time) string  { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }
func epochMS(t time.Time) int64      { return t.UnixMilli() }

func ptr[T any](v T) *T { return &v }

func (g *gen) device(id string) *Device {
	sc := g.scenario
	m := iphones[g.pick(len(iphones))]
	if sc == ScenarioStaleDevice || (sc == "" && g.pick(4) == 0) {
		m = ipads[g.pick(len(ipads))]
	}
	switch sc {
	case ScenarioAdHocApp, ScenarioDeveloperBeta:
		m = iphones[0]
	case ScenarioJailbreak:
		m = iphones[3]
	case ScenarioMarketplaceApp:
		m = iphones[1]
	case ScenarioPersonalDevice:
		m = iphones[2]
	}
	rel := releases[g.pick(len(releases))]
	switch sc {
	case ScenarioJailbreak:
		rel = releases[0] // an old iOS, as jailbreaks need
	case ScenarioMarketplaceApp, ScenarioAdHocApp, ScenarioDeveloperBeta:
		rel = releases[3]
	}
	first, last := firstNames[g.pick(len(firstNames))], lastNames[g.pick(len(lastNames))]
	username := strings.ToLower(first[:1] + last)
	dept := departments[g.pick(len(departments))]
	if sc == ScenarioDeveloperBeta {
		dept = "Engineering"
	}
	personal := sc == ScenarioPersonalDevice
	supervised := !personal && sc != ScenarioMarketplaceApp
	site := Site{ID: "1", Name: "Headquarters"}
	tz := "America/New_York"
	if sc == ScenarioMarketplaceApp || g.pick(5) == 0 {
		site, tz = Site{ID: "2", Name: "Berlin"}, "Europe/Berlin"
	}
	kind := "iPhone"
	if m.ipad {
		kind = "iPad"
	}
	name := fmt.Sprintf("%s %s's %s", first, last[:1], kind)

	lastInv := g.ago(g.between(time.Hour, 30*time.Hour))
	if sc == ScenarioStaleDevice {
		lastInv = g.ago(StaleAge)
	}
	enrolled := lastInv.Add(-g.between(30*24*time.Hour, 400*24*time.Hour))
	initial := enrolled.Add(-g.between(0, 200*24*time.Hour))

	serial, udid, imei, phone := g.serial(), "00008"+g.hex(3)+"-"+g.hex(16), "", ""
	if !m.ipad {
		imei = "35" + g.digits(13)
		phone = "+1555" + g.digits(7)
	}
	ownership, method := "Institutional", "PreStage enrollment: Corporate iPhones"
	if m.ipad {
		method = "PreStage enrollment: Corporate iPads"
	}
	if sc == ScenarioMarketplaceApp {
		method = "User-initiated - via URL"
	}
	if personal {
		serial, udid, imei = "", "", ""
		ownership, method = "Personal", "User-initiated - via Account Driven User Enrollment"
	}

	sec := Security{
		DataProtected: ptr(true), BlockLevelEncryptionCapable: ptr(true), FileLevelEncryptionCapable: ptr(true),
		PasscodePresent: ptr(true), PasscodeCompliant: ptr(true), PasscodeCompliantWithProfile: ptr(true),
		HardwareEncryption: 3, ActivationLockEnabled: ptr(g.pick(3) != 0), JailBreakDetected: ptr(false),
	}
	if sc == "" && g.pick(8) == 0 {
		sec.PasscodePresent, sec.PasscodeCompliant, sec.PasscodeCompliantWithProfile, sec.DataProtected = ptr(false), ptr(false), ptr(false), ptr(false)
		sec.HardwareEncryption = 1
	}
	switch sc {
	case ScenarioJailbreak:
		sec.JailBreakDetected = ptr(true)
	case ScenarioAdHocApp:
		sec.PasscodePresent, sec.PasscodeCompliant, sec.PasscodeCompliantWithProfile = ptr(false), ptr(false), ptr(false)
	case ScenarioPersonalDevice:
		sec.BlockLevelEncryptionCapable, sec.FileLevelEncryptionCapable = nil, nil
		sec.ActivationLockEnabled, sec.JailBreakDetected = nil, nil
		sec.HardwareEncryption = 0
	}

	apps, provisioning := g.apps(rel, personal)
	free := m.capacityMb / (2 + g.pick(6))

	summary := MobileDevice{
		ID: id, Name: name, SerialNumber: serial, WifiMacAddress: g.mac(), UDID: udid, PhoneNumber: phone,
		Model: m.name, ModelIdentifier: m.ident, Username: username, Type: "ios",
		ManagementID: g.uuid(), SoftwareUpdateDeviceID: "D" + g.digits(2) + "AP",
	}
	if personal {
		summary.Username = first + "." + last + "@" + UserDomain
	}
	detail := Detail{
		ID: id, Name: name, AssetTag: "", LastInventoryUpdateTimestamp: proTime(lastInv),
		OSVersion: rel.version, OSBuild: rel.build, SoftwareUpdateDeviceID: summary.SoftwareUpdateDeviceID,
		SerialNumber: serial, UDID: udid, IPAddress: fmt.Sprintf("10.%d.%d.%d", g.pick(250), g.pick(250), 2+g.pick(250)),
		WifiMacAddress: summary.WifiMacAddress, BluetoothMacAddress: g.mac(), Managed: true, TimeZone: tz,
		InitialEntryTimestamp: proTime(initial), LastEnrollmentTimestamp: proTime(enrolled),
		MDMProfileExpirationTimestamp: proTime(enrolled.Add(2 * 365 * 24 * time.Hour)),
		DeviceOwnershipLevel:          ownership, EnrollmentMethod: method, EnrollmentSessionTokenValid: !personal,
		DeclarativeDeviceManagementEnabled: rel.distributor, Site: site,
		ExtensionAttributes: []ExtensionAttribute{{ID: "1", Name: "Cost Center", Type: "STRING", Value: []string{strconv.Itoa(4000 + g.pick(900))}}},
		Location: Location{Username: summary.Username, RealName: first + " " + last, EmailAddress: strings.ToLower(first+"."+last) + "@" + UserDomain,
			Position: dept + " staff", Department: dept, Building: site.Name},
		Type: "ios", ManagementID: summary.ManagementID,
		IOS: &IOS{
			Model: m.name, ModelIdentifier: m.ident, ModelNumber: m.number, Supervised: supervised,
			BatteryLevel: 20 + g.pick(80), CapacityMb: m.capacityMb, AvailableMb: free, PercentageUsed: 100 - 100*free/m.capacityMb,
			DeviceLocatorServiceEnabled: true, CloudBackupEnabled: g.pick(2) == 0, LocationServicesEnabled: true,
			ITunesStoreAccountActive: true, BleCapable: true, Security: sec,
			Network:               Network{IMEI: imei, PhoneNumber: phone},
			Applications:          apps,
			Certificates:          []Certificate{{CommonName: "Contoso Root CA", ExpirationDate: proTime(g.now.Add(3 * 365 * 24 * time.Hour).Truncate(time.Hour))}},
			ConfigurationProfiles: []ConfigurationProfile{{DisplayName: "Contoso Wi-Fi", Version: "1", UUID: strings.ToUpper(g.uuid()), Identifier: "com.contoso.wifi"}},
			ProvisioningProfiles:  provisioning,
		},
	}
	if !m.ipad {
		detail.IOS.Network.CellularTechnology, detail.IOS.Network.ICCID = "GSM", "8901"+g.digits(15)
		detail.IOS.Network.CurrentCarrierNetwork, detail.IOS.Network.HomeCarrierNetwork = "Carrier", "Carrier"
	}
	if rel.distributor {
		detail.OSSupplementalBuildVersion, detail.OSRapidSecurityResponse = ptr(rel.build), ptr("")
	}
	if detail.IOS.CloudBackupEnabled {
		detail.IOS.LastCloudBackupTimestamp = ptr(proTime(lastInv.Add(-6 * time.Hour)))
	}
	return &Device{Summary: summary, Detail: detail, History: g.history(id, detail, enrolled, lastInv)}
}

// apps returns the apps of the device, sorted by name, and the
// provisioning profiles they need.
func (g *gen) apps(rel release, personal bool) ([]Application, []ProvisioningProfile) {
	dist := func(s string) *string {
		if !rel.distributor {
			return nil
		}
		return ptr(s)
	}
	store := func(c catalogApp, managed bool) Application {
		a := Application{Identifier: c.id, Name: c.name, Version: c.build, ShortVersion: c.short, ManagementStatus: "Unmanaged",
			ValidationStatus: true, BundleSize: strconv.FormatInt(c.size, 10), DynamicSize: strconv.FormatInt(c.size/3+int64(g.pick(1<<24)), 10),
			AppStoreVendable: true, DistributorIdentifier: dist(AppStoreDistributor), ExternalVersionIdentifier: 860000000 + int64(g.pick(9999999))}
		if managed {
			a.ManagementStatus, a.DeviceBasedVPP = "Managed", true
		}
		return a
	}
	var out []Application
	var profiles []ProvisioningProfile
	for _, c := range storeApps {
		switch {
		case c.vpp:
			out = append(out, store(c, true))
		case !personal && g.pick(3) == 0:
			out = append(out, store(c, false))
		}
	}
	if personal {
		// User Enrollment: only the managed apps are reported.
		return sortApps(out), nil
	}
	inHouse := Application{Identifier: InHouseAppID, Name: "Contoso Field Service", Version: "4.8.2", ShortVersion: "4.8.2",
		ManagementStatus: "Managed", ValidationStatus: true, BundleSize: "48234496", DynamicSize: "2097152"}
	out = append(out, inHouse)
	profiles = append(profiles, ProvisioningProfile{DisplayName: "Contoso Enterprise Distribution", UUID: g.uuid(),
		ExpirationDate: proTime(g.now.Add(200 * 24 * time.Hour).Truncate(time.Hour))})
	switch g.scenario {
	case ScenarioAdHocApp:
		out = append(out, Application{Identifier: AdHocAppID, Name: "Tool", Version: "7", ShortVersion: "1.2",
			ManagementStatus: "Unmanaged", ValidationStatus: true, BundleSize: "8123456", DynamicSize: "1048576", AdHocCodeSigned: true})
		profiles = append(profiles, ProvisioningProfile{DisplayName: "iOS Team Provisioning Profile: " + AdHocAppID, UUID: g.uuid(),
			ExpirationDate: proTime(g.now.Add(5 * 24 * time.Hour).Truncate(time.Hour))})
	case ScenarioJailbreak:
		out = append(out, Application{Identifier: UnvalidatedAppID, Name: "unc0ver", Version: "8.0.2", ShortVersion: "8.0.2",
			ManagementStatus: "Unmanaged", ValidationStatus: false, BundleSize: "31457280", DynamicSize: "65536"})
	case ScenarioMarketplaceApp:
		out = append(out, Application{Identifier: MarketplaceAppID, Name: "RetroPlay", Version: "240", ShortVersion: "2.4.0",
			ManagementStatus: "Unmanaged", ValidationStatus: true, BundleSize: "73400320", DynamicSize: "4194304",
			DistributorIdentifier: ptr(MarketplaceDistributor)})
	case ScenarioDeveloperBeta:
		out = append(out, store(testFlightApp, false), Application{Identifier: BetaAppID, Name: "Field Service (Beta)", Version: "5000012",
			ShortVersion: "5.0.0", ManagementStatus: "Unmanaged", ValidationStatus: true, BundleSize: "51380224", DynamicSize: "2097152",
			BetaApp: true, DistributorIdentifier: dist(TestFlightDistributor), ExternalVersionIdentifier: 0})
	}
	return sortApps(out), profiles
}

func sortApps(apps []Application) []Application {
	slices.SortFunc(apps, func(a, b Application) int { return strings.Compare(a.Name, b.Name) })
	return apps
}

// history builds the Classic management history of a device.
func (g *gen) history(id string, d Detail, enrolled, lastInv time.Time) History {
	n, _ := strconv.Atoi(id)
	h := History{
		General: &HistoryGeneral{ID: n, Name: d.Name, UDID: d.UDID, SerialNumber: d.SerialNumber, MacAddress: d.WifiMacAddress},
		UserLocation: []UserLocation{{DateTime: classicDate(enrolled), DateTimeEpoch: epochMS(enrolled), DateTimeUTC: classicUTC(enrolled),
			Username: d.Location.Username, FullName: d.Location.RealName, EmailAddress: d.Location.EmailAddress,
			Department: d.Location.Department, Building: d.Location.Building, Position: d.Location.Position}},
		Audits:             []Audit{},
		ManagementCommands: &ManagementCommands{Completed: []Command{}, Pending: []Command{}, Failed: []Command{}},
		Applications:       &AppHistory{Installed: []AppHistoryItem{}, Pending: []AppHistoryItem{}, Failed: []AppHistoryItem{}},
		Ebooks:             &EbookHistory{Installed: []struct{}{}, Pending: []struct{}{}, Failed: []struct{}{}},
	}
	mc := h.ManagementCommands
	completed := func(name, user string, at time.Time) {
		mc.Completed = append(mc.Completed, Command{Name: name, Completed: classicDate(at), CompletedEpoch: epochMS(at), CompletedUTC: classicUTC(at), Username: user})
	}
	pending := func(name, user string, issued, push time.Time) {
		mc.Pending = append(mc.Pending, Command{Name: name, Status: "Pending", Issued: classicDate(issued), IssuedEpoch: epochMS(issued),
			IssuedUTC: classicUTC(issued), LastPush: classicDate(push), LastPushEpoch: epochMS(push), LastPushUTC: classicUTC(push), Username: user})
	}
	audit := func(event, user string, at time.Time) {
		h.Audits = append(h.Audits, Audit{Event: event, Username: user, DateTime: classicDate(at), DateTimeEpoch: epochMS(at), DateTimeUTC: classicUTC(at)})
	}
	completed("EnrollmentComplete", "", enrolled)
	for i, name := range []string{"DeviceInformation", "InstalledApplicationList", "ProfileList", "CertificateList", "SecurityInfo"} {
		completed(name, "", lastInv.Add(-time.Duration(5-i)*time.Minute))
	}
	if g.pick(3) == 0 {
		completed("Settings", AdminActor, lastInv.Add(-g.between(time.Hour, 20*24*time.Hour)))
		audit("Mobile device name changed", AdminActor, lastInv.Add(-g.between(time.Hour, 20*24*time.Hour)))
	}
	if g.scenario == "" && g.pick(4) == 0 {
		at := g.ago(g.between(10*time.Minute, 6*time.Hour))
		pending("DeviceInformation", "", at, at.Add(5*time.Minute))
	}
	if g.scenario == "" && g.pick(7) == 0 {
		at := lastInv.Add(-g.between(time.Hour, 10*24*time.Hour))
		f := at.Add(2 * time.Minute)
		mc.Failed = append(mc.Failed, Command{Name: "InstallProfile", Status: "Failed",
			Error:  "The profile \u201cContoso VPN\u201d could not be installed: the payload is not signed.",
			Issued: classicDate(at), IssuedEpoch: epochMS(at), IssuedUTC: classicUTC(at),
			Failed: classicDate(f), FailedEpoch: epochMS(f), FailedUTC: classicUTC(f), Username: AdminActor})
	}
	switch g.scenario {
	case ScenarioAdHocApp:
		at := g.ago(50 * time.Hour)
		completed("ClearPasscode", PlantedAdminActor, at.Add(40*time.Second))
		audit("Passcode cleared", PlantedAdminActor, at)
	case ScenarioJailbreak:
		at := g.ago(3 * time.Hour)
		completed("EnableLostMode", HelpdeskActor, at.Add(30*time.Second))
		audit("Lost Mode enabled", HelpdeskActor, at)
	case ScenarioStaleDevice:
		issued := g.ago(StaleAge - 6*time.Hour)
		pending("DeviceInformation", "", issued, g.ago(2*time.Hour))
		pending("InstalledApplicationList", "", issued.Add(time.Second), g.ago(2*time.Hour))
	}
	slices.SortStableFunc(mc.Completed, func(a, b Command) int { return int64Cmp(b.CompletedEpoch, a.CompletedEpoch) })
	slices.SortStableFunc(h.Audits, func(a, b Audit) int { return int64Cmp(b.DateTimeEpoch, a.DateTimeEpoch) })
	for _, a := range d.IOS.Applications {
		src := "Other"
		switch {
		case a.AppStoreVendable:
			src = "App Store"
		case a.Identifier == InHouseAppID:
			src = "In-House"
		}
		h.Applications.Installed = append(h.Applications.Installed, AppHistoryItem{Name: a.Name, Version: a.Version, ShortVersion: a.ShortVersion,
			ManagementStatus: a.ManagementStatus, Source: src, BundleSize: a.BundleSize, DynamicSize: a.DynamicSize})
	}
	return h
}

func int64Cmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
