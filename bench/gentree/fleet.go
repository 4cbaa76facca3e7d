package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// devicesPerPage is the average number of devices in a managedDevices page;
// records point at the page a device would be on.
const devicesPerPage = 500

type platformSpec struct {
	os        string // Graph operatingSystem
	platform  string // custos platform
	weight    int
	mfr       string
	models    []string
	versions  []string
	enroll    []string
	phone     bool
	nameStyle string // user (Intune "user_type_date"), desktop, possessive
	typeName  string
}

var platforms = []platformSpec{
	{"iOS", "ios", 30, "Apple", []string{"iPhone 13", "iPhone 14", "iPhone 14 Pro", "iPhone 15", "iPhone 15 Pro Max", "iPhone SE (3rd generation)", "iPhone 16"},
		[]string{"16.7.10", "17.5.1", "17.6.1", "18.1.1", "18.2", "18.3.1"}, []string{"appleBulkWithUser", "appleUserEnrollment", "userEnrollment"}, true, "user", "iPhone"},
	{"iPadOS", "ipados", 5, "Apple", []string{"iPad (9th generation)", "iPad Air (5th generation)", "iPad Pro (11-inch) (4th generation)"},
		[]string{"17.6.1", "18.2", "18.3.1"}, []string{"appleBulkWithUser", "deviceEnrollmentManager"}, false, "user", "iPad"},
	{"Android", "android", 14, "samsung", []string{"SM-S911B", "SM-S921B", "SM-A546B", "SM-G991B", "SM-T220", "SM-X205"},
		[]string{"12", "13", "14", "15"}, []string{"androidEnterpriseFullyManaged", "androidEnterpriseWorkProfile", "androidEnterpriseDedicatedDevice"}, true, "user", "AndroidEnterprise"},
	{"Android", "android", 8, "Google", []string{"Pixel 6a", "Pixel 7", "Pixel 8", "Pixel 8 Pro", "Pixel 9"},
		[]string{"14", "15"}, []string{"androidEnterpriseFullyManaged", "androidEnterpriseWorkProfile"}, true, "user", "AndroidForWork"},
	{"Windows", "windows", 14, "Dell Inc.", []string{"Latitude 7440", "Latitude 5540", "Latitude 7450", "OptiPlex 7010", "Precision 3581"},
		[]string{"10.0.19045.5371", "10.0.22631.4751", "10.0.22631.4890", "10.0.26100.2894"}, []string{"windowsAzureADJoin", "windowsAutoEnrollment", "windowsCoManagement"}, false, "desktop", "Windows"},
	{"Windows", "windows", 10, "HP", []string{"HP EliteBook 840 G9", "HP EliteBook 840 G10", "HP ProBook 450 G10", "HP Elite Mini 800 G9"},
		[]string{"10.0.22631.4751", "10.0.22631.4890", "10.0.26100.2894"}, []string{"windowsAzureADJoin", "windowsAutoEnrollment"}, false, "desktop", "Windows"},
	{"Windows", "windows", 6, "Microsoft Corporation", []string{"Surface Laptop 5", "Surface Pro 9", "Surface Laptop 7"},
		[]string{"10.0.22631.4890", "10.0.26100.2894", "10.0.26100.3194"}, []string{"windowsAzureADJoin"}, false, "desktop", "Windows"},
	{"macOS", "macos", 8, "Apple", []string{"MacBookPro18,3", "MacBookAir10,1", "Mac14,2", "Mac15,3", "MacBookPro18,1"},
		[]string{"14.6.1", "14.7.2", "15.1.1", "15.2", "15.3.1"}, []string{"appleBulkWithUser", "appleBulkWithoutUser"}, false, "possessive", "MacBook Pro"},
}

var platformTotal = func() int {
	n := 0
	for _, p := range platforms {
		n += p.weight
	}
	return n
}()

var (
	firstNames = []string{"Adele", "Alex", "Allan", "Amara", "Ana", "Ben", "Bianca", "Carlos", "Chen", "Christie", "Daniel", "Diego",
		"Elena", "Emily", "Enrico", "Fatima", "Grady", "Hana", "Henrietta", "Isaiah", "Ivan", "Jamal", "Joni", "Karin", "Kenji",
		"Lee", "Lidia", "Lynne", "Mateo", "Megan", "Miriam", "Nestor", "Nora", "Olga", "Omar", "Patti", "Pradeep", "Priya",
		"Raul", "Rosa", "Sakura", "Samuel", "Sofia", "Tariq", "Tomas", "Uma", "Valentina", "Wei", "Yusuf", "Zoe"}
	lastNames = []string{"Adams", "Ahmed", "Alvarez", "Bauer", "Brown", "Castro", "Chowdhury", "Cohen", "Dubois", "Eriksson",
		"Fernandes", "Fischer", "Garcia", "Gupta", "Haddad", "Hansen", "Ito", "Jensen", "Johnson", "Kim", "Kowalski", "Larsen",
		"Lopez", "Martin", "Meyer", "Mokoena", "Moreau", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Patel", "Petrov",
		"Quinn", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Sorensen", "Tanaka", "Tremblay", "Vargas", "Wagner", "Wang",
		"Weber", "Williams", "Yilmaz", "Zhang"}
	categories = []string{"", "", "Sales", "Engineering", "Finance", "Field Service", "Executives", "Kiosk", "Warehouse", "HR", "Legal"}
	carriers   = []string{"", "Vodafone", "T-Mobile", "Verizon", "AT&T", "Orange", "Telefonica", "EE"}
	profiles   = []string{"", "", "Corporate iOS ADE", "Autopilot - Standard", "Autopilot - Kiosk", "Android Fully Managed", "Mac ADE (Setup Assistant)"}
)

// device is one member of the synthetic fleet; g.device(i) always returns
// the same values for the same seed and i.
type device struct {
	id, userID, aadID, name, osName, platform, osVersion, model, mfr  string
	serial, imei, meid, upn, userDisplay, phone, agent, enroll, owner string
	compliance, jailbroken, category, threat, patch, wifiMac, ethMac  string
	udid, iccid, carrier, profile, typeName                           string
	enrolled, lastSync                                                time.Time
	encrypted, supervised                                             bool
	storage, free, memory                                             int64
	page                                                              int // raw page seq the device is listed on
	appsPage                                                          int // raw page seq of its detectedApps
	appsPageSum                                                       string
}

func (g *gen) user(u int) (first, last, upn, id string) {
	nf, nl := len(firstNames), len(lastNames)
	first, last = firstNames[u%nf], lastNames[(u/nf)%nl]
	local := strings.ToLower(first + "." + last)
	if u >= nf*nl {
		local += strconv.Itoa(u / (nf * nl))
	}
	return first, last, local + "@contoso.com", guid(rng(g.seed, streamUser+uint64(u)))
}

func (g *gen) device(i int) device {
	r := rng(g.seed, streamDevice+uint64(i))
	pick := func(s []string) string { return s[r.IntN(len(s))] }
	p := platforms[len(platforms)-1]
	w := r.IntN(platformTotal)
	for _, c := range platforms {
		if w < c.weight {
			p = c
			break
		}
		w -= c.weight
	}
	first, last, upn, userID := g.user(r.IntN(max(g.fleet*3/4, 5)))
	d := device{
		id: guid(r), userID: userID, aadID: guid(r), osName: p.os, platform: p.platform, typeName: p.typeName,
		osVersion: pick(p.versions), model: pick(p.models), mfr: p.mfr, upn: upn, userDisplay: first + " " + last,
		agent: "mdm", enroll: pick(p.enroll), owner: "company", compliance: "compliant", jailbroken: "False",
		category: pick(categories), threat: "unknown", profile: pick(profiles),
		encrypted: r.IntN(20) != 0, supervised: p.mfr == "Apple" && r.IntN(4) != 0,
		page: 2 + i/devicesPerPage,
	}
	d.enrolled = g.base.Add(-time.Duration(30+r.IntN(1100))*24*time.Hour - time.Duration(r.IntN(86400))*time.Second)
	d.lastSync = g.base.Add(-time.Duration(r.Int64N(int64(72 * time.Hour))))
	if r.IntN(12) == 0 {
		d.lastSync = g.base.Add(-time.Duration(15+r.IntN(200))*24*time.Hour - time.Duration(r.IntN(86400))*time.Second)
	}
	if r.IntN(8) == 0 {
		d.owner = "personal"
	}
	switch x := r.IntN(100); {
	case x < 12:
		d.compliance = "noncompliant"
	case x < 15:
		d.compliance = "inGracePeriod"
	case x < 20:
		d.compliance = "unknown"
	}
	if r.IntN(4) == 0 {
		d.agent = "easMdm"
	}
	switch p.platform {
	case "windows", "macos":
		d.jailbroken = "Unknown"
	default:
		if r.IntN(500) == 0 {
			d.jailbroken = "True"
		}
	}
	switch p.mfr {
	case "Apple":
		d.serial = randString(r, upperNo, 12)
		d.udid = fmt.Sprintf("%08X-%016X", r.Uint32(), r.Uint64())
	case "Dell Inc.":
		d.serial = randString(r, upperNo, 7)
	case "samsung":
		d.serial = "R5C" + randString(r, upperNo, 8)
	default:
		d.serial = randString(r, upperNo, 10)
	}
	if p.phone {
		d.imei = "35" + randString(r, digits, 13)
		d.iccid = "8944" + randString(r, digits, 15)
		d.phone = "+44 7" + randString(r, digits, 9)
		d.carrier = pick(carriers)
		if p.mfr == "Apple" {
			d.meid = d.imei[:14]
		}
	}
	if p.platform == "android" {
		d.patch = fmt.Sprintf("2024-%02d-01", 1+r.IntN(12))
		if r.IntN(3) == 0 {
			d.patch = fmt.Sprintf("2025-%02d-01", 1+r.IntN(2))
		}
	}
	if r.IntN(10) == 0 {
		d.threat = "secured"
	}
	d.wifiMac = randString(r, "0123456789ABCDEF", 12)
	if p.platform == "windows" || p.platform == "macos" {
		d.ethMac = randString(r, "0123456789ABCDEF", 12)
	}
	switch p.nameStyle {
	case "desktop":
		if r.IntN(2) == 0 {
			d.name = "DESKTOP-" + randString(r, upperNo, 7)
		} else {
			d.name = "CONTOSO-LT" + randString(r, digits, 5)
		}
	case "possessive":
		d.name = first + "'s " + p.typeName
	default:
		d.name = strings.ToLower(first[:1]+last) + "_" + p.typeName + "_" + d.enrolled.Format("1/2/2006_3:04 PM")
	}
	gib := []int64{64, 128, 256, 512}[r.IntN(4)]
	d.storage = gib << 30
	d.free = r.Int64N(d.storage * 9 / 10)
	d.memory = []int64{4, 6, 8, 16, 32}[r.IntN(5)] << 30
	d.appsPage = 2 + g.fleet/devicesPerPage + 1 + i
	d.appsPageSum = randString(r, hexdig, 64)
	return d
}

// graphDevice appends one managedDevice as Graph v1.0 returns it without
// $select: every property, in Graph's order, nulls included.
func (g *gen) graphDevice(w *jw, i int) {
	d := g.device(i)
	zero := "0001-01-01T00:00:00Z"
	w.begin("")
	w.str("id", d.id)
	w.str("userId", d.userID)
	w.str("deviceName", d.name)
	w.str("managedDeviceOwnerType", d.owner)
	w.tm("enrolledDateTime", d.enrolled, time.RFC3339)
	w.tm("lastSyncDateTime", d.lastSync, time.RFC3339)
	w.str("operatingSystem", d.osName)
	w.str("complianceState", d.compliance)
	w.str("jailBroken", d.jailbroken)
	w.str("managementAgent", d.agent)
	w.str("osVersion", d.osVersion)
	w.boolean("easActivated", d.agent == "easMdm")
	if d.agent == "easMdm" {
		w.str("easDeviceId", strings.ToUpper(d.id[:8]+d.id[9:13]+d.id[14:18]+d.id[19:23]))
		w.tm("easActivationDateTime", d.enrolled.Add(37*time.Minute), time.RFC3339)
	} else {
		w.str("easDeviceId", "")
		w.str("easActivationDateTime", zero)
	}
	w.boolean("azureADRegistered", true)
	w.str("deviceEnrollmentType", d.enroll)
	w.null("activationLockBypassCode")
	w.str("emailAddress", d.upn)
	w.str("azureADDeviceId", d.aadID)
	w.str("deviceRegistrationState", "registered")
	w.str("deviceCategoryDisplayName", d.category)
	w.boolean("isSupervised", d.supervised)
	if d.agent == "easMdm" {
		w.tm("exchangeLastSuccessfulSyncDateTime", d.lastSync.Add(-11*time.Minute), time.RFC3339)
		w.str("exchangeAccessState", "allowed")
		w.str("exchangeAccessStateReason", "compliant")
	} else {
		w.str("exchangeLastSuccessfulSyncDateTime", zero)
		w.str("exchangeAccessState", "none")
		w.str("exchangeAccessStateReason", "none")
	}
	w.null("remoteAssistanceSessionUrl")
	w.null("remoteAssistanceSessionErrorDetails")
	w.boolean("isEncrypted", d.encrypted)
	w.str("userPrincipalName", d.upn)
	w.str("model", d.model)
	w.str("manufacturer", d.mfr)
	w.str("imei", d.imei)
	if d.compliance == "inGracePeriod" {
		w.tm("complianceGracePeriodExpirationDateTime", g.base.Add(72*time.Hour), time.RFC3339)
	} else {
		w.str("complianceGracePeriodExpirationDateTime", "9999-12-31T23:59:59Z")
	}
	w.str("serialNumber", d.serial)
	w.str("phoneNumber", d.phone)
	w.str("androidSecurityPatchLevel", d.patch)
	w.str("userDisplayName", d.userDisplay)
	w.null("configurationManagerClientEnabledFeatures")
	w.str("wiFiMacAddress", d.wifiMac)
	w.null("deviceHealthAttestationState")
	w.str("subscriberCarrier", d.carrier)
	w.str("meid", d.meid)
	w.num("totalStorageSpaceInBytes", d.storage)
	w.num("freeStorageSpaceInBytes", d.free)
	w.str("managedDeviceName", d.upn[:strings.IndexByte(d.upn, '@')]+"_"+d.typeName+"_"+d.enrolled.Format("1/2/2006_3:04 PM"))
	w.str("partnerReportedThreatState", d.threat)
	w.boolean("requireUserEnrollmentApproval", false)
	w.tm("managementCertificateExpirationDate", d.enrolled.AddDate(1, 0, 0), time.RFC3339)
	w.str("iccid", d.iccid)
	w.str("udid", d.udid)
	w.null("notes")
	w.str("ethernetMacAddress", d.ethMac)
	w.num("physicalMemoryInBytes", d.memory)
	w.str("enrollmentProfileName", d.profile)
	w.beginArr("deviceActionResults")
	if d.lastSync.After(g.base.Add(-24 * time.Hour)) {
		w.begin("")
		w.str("actionName", "syncDevice")
		w.str("actionState", "done")
		w.tm("startDateTime", d.lastSync.Add(-90*time.Second), time.RFC3339Nano)
		w.tm("lastUpdatedDateTime", d.lastSync, time.RFC3339Nano)
		w.end()
	}
	w.endArr()
	w.end()
}

// deviceRecord appends one records/devices.ndjson line (collect.Device).
func (g *gen) deviceRecord(_ *rand.Rand, i int, b []byte) ([]byte, int) {
	d := g.device(i % g.fleet)
	w := &jw{b: b}
	w.begin("")
	w.str("key", "intune:"+d.id)
	w.str("source", "intune")
	w.str("source_id", d.id)
	w.str("name", d.name)
	w.str("platform", d.platform)
	w.str("os_version", d.osVersion)
	if d.patch != "" {
		w.str("security_patch_level", d.patch)
	}
	w.str("model", d.model)
	w.str("manufacturer", d.mfr)
	w.str("serial", d.serial)
	if d.imei != "" {
		w.str("imei", d.imei)
	}
	w.str("user", d.upn)
	if d.owner == "company" {
		w.str("ownership", "corporate")
	} else {
		w.str("ownership", d.owner)
	}
	w.str("management_mode", d.agent+"/"+d.enroll)
	if d.category != "" {
		w.str("category", d.category)
	}
	w.tm("enrolled_at", d.enrolled, time.RFC3339)
	w.tm("last_seen_at", d.lastSync, time.RFC3339)
	w.str("compliance", d.compliance)
	w.begin("compromised")
	w.str("value", strings.ToLower(d.jailbroken))
	w.str("field", "jailBroken")
	w.str("raw_value", d.jailbroken)
	w.end()
	w.begin("posture")
	w.boolean("encrypted", d.encrypted)
	w.boolean("supervised", d.supervised)
	w.str("threat_state", d.threat)
	w.end()
	rawRef(w, d.page, "", i%devicesPerPage, g.seed)
	w.end()
	w.nl()
	return w.b, 1
}

// rawRef appends a "raw" RawRef. The digest of a page is drawn from the
// page number so that every record of a page repeats it, as in real data.
func rawRef(w *jw, page int, sum string, index int, seed uint64) {
	if sum == "" {
		sum = randString(rng(seed, 3<<32+uint64(page)), hexdig, 64)
	}
	w.begin("raw")
	w.str("path", fmt.Sprintf("raw/intune/%06d.json", page))
	w.str("sha256", sum)
	w.str("pointer", "/value/"+strconv.Itoa(index))
	w.end()
}

// catalogEntry is one app with the versions seen in the fleet; a device
// carries at most one of them.
type catalogEntry struct {
	name, publisher string
	percent         int // chance that a device carries the app
	versions        []appVersion
}

type appVersion struct{ version, id string }

var baseApps = []struct {
	name, publisher string
	percent         int
}{
	{"Company Portal", "Microsoft Corporation", 100}, {"Microsoft Outlook", "Microsoft Corporation", 90},
	{"Microsoft Teams", "Microsoft Corporation", 85}, {"Microsoft Authenticator", "Microsoft Corporation", 80},
	{"Microsoft Edge", "Microsoft Corporation", 50}, {"Microsoft OneDrive", "Microsoft Corporation", 55},
	{"Microsoft Word", "Microsoft Corporation", 35}, {"Microsoft Excel", "Microsoft Corporation", 35},
	{"Microsoft PowerPoint", "Microsoft Corporation", 25}, {"Microsoft To Do", "Microsoft Corporation", 15},
	{"Google Chrome", "Google LLC", 60}, {"Gmail", "Google LLC", 40}, {"Google Maps", "Google LLC", 50},
	{"YouTube", "Google LLC", 45}, {"Android System WebView", "Google LLC", 25}, {"WhatsApp Messenger", "WhatsApp Inc.", 65},
	{"Slack", "Slack Technologies, Inc.", 40}, {"Zoom Workplace", "Zoom Video Communications, Inc.", 40},
	{"Spotify", "Spotify AB", 35}, {"Signal", "Signal Messenger, LLC", 15}, {"Telegram", "Telegram FZ-LLC", 12},
	{"LinkedIn", "LinkedIn Corporation", 30}, {"Adobe Acrobat Reader", "Adobe Inc.", 30}, {"Cisco Secure Client", "Cisco Systems, Inc.", 25},
	{"Webex", "Cisco Systems, Inc.", 15}, {"Salesforce", "Salesforce, Inc.", 15}, {"Uber", "Uber Technologies, Inc.", 25},
	{"Instagram", "Instagram, Inc.", 30}, {"1Password", "AgileBits Inc.", 15}, {"Notepad++", "Notepad++ Team", 10},
	{"7-Zip", "Igor Pavlov", 20}, {"Mozilla Firefox", "Mozilla", 15}, {"Visual Studio Code", "Microsoft Corporation", 10},
	{"Git", "The Git Development Community", 8}, {"Python 3.12.7 (64-bit)", "Python Software Foundation", 6},
	{"Microsoft Visual C++ 2015-2022 Redistributable (x64)", "Microsoft Corporation", 45},
	{"Microsoft Edge WebView2 Runtime", "Microsoft Corporation", 40}, {"Intel(R) Graphics Driver", "Intel Corporation", 20},
	{"Realtek Audio Driver", "Realtek Semiconductor Corp.", 18}, {"Dell Command | Update", "Dell Inc.", 12},
	{"HP Support Assistant", "HP Inc.", 10}, {"Citrix Workspace", "Citrix Systems, Inc.", 12}, {"Docusign", "DocuSign, Inc.", 8},
	{"Duo Mobile", "Duo Security LLC", 10}, {"Concur", "SAP Concur", 12}, {"Workday", "Workday, Inc.", 14},
}

var (
	tailWords1 = []string{"Contoso", "Fabrikam", "Northwind", "Tailspin", "Wingtip", "Adatum", "Litware", "Proseware", "Woodgrove", "Alpine"}
	tailWords2 = []string{"Expenses", "Field", "Scanner", "Inventory", "Timesheet", "Travel", "Notes", "Inspect", "Survey", "Delivery", "Badge", "Learning"}
	tailWords3 = []string{"", "", " Pro", " Lite", " 2", " Mobile", " Enterprise", " for Intune"}
)

// buildCatalog expands baseApps into 1-3 versions each, plus a long tail of
// line-of-business apps.
func buildCatalog(r *rand.Rand) []catalogEntry {
	var out []catalogEntry
	versions := func(n int) []appVersion {
		var vs []appVersion
		for range n {
			vs = append(vs, appVersion{fmt.Sprintf("%d.%d.%d", 1+r.IntN(30), r.IntN(60), r.IntN(9000)), randString(r, hexdig, 64)})
		}
		return vs
	}
	for _, a := range baseApps {
		out = append(out, catalogEntry{a.name, a.publisher, a.percent, versions(1 + r.IntN(3))})
	}
	for range 400 {
		name := tailWords1[r.IntN(len(tailWords1))] + " " + tailWords2[r.IntN(len(tailWords2))] + tailWords3[r.IntN(len(tailWords3))]
		out = append(out, catalogEntry{name, tailWords1[r.IntN(len(tailWords1))] + " Ltd", 1, versions(1)})
	}
	return out
}

// appRecords returns a generator of records/apps.ndjson lines
// (collect.App): all detected apps of one device per call.
func (g *gen) appRecords() func(r *rand.Rand, i int, b []byte) ([]byte, int) {
	return func(r *rand.Rand, i int, b []byte) ([]byte, int) {
		d := g.device(i % g.fleet)
		w := &jw{b: b}
		n := 0
		for _, a := range g.catalog {
			if r.IntN(100) >= a.percent {
				continue
			}
			w.begin("")
			w.str("device_key", "intune:"+d.id)
			v := a.versions[r.IntN(len(a.versions))]
			w.str("source_app_id", v.id)
			w.str("name", a.name)
			w.str("version", v.version)
			w.str("publisher", a.publisher)
			w.str("install_source", "unknown")
			rawRef(w, d.appsPage, d.appsPageSum, n, g.seed)
			w.end()
			w.nl()
			n++
		}
		return w.b, n
	}
}

var (
	profileNames = []string{"wifi-corp", "vpn-always-on", "email-exchange", "restrictions", "passcode", "certificates-root", "defender-atp", "edge-policy", "onedrive-kfm"}
	commands     = []string{"InstallProfile", "DeviceInformation", "InstalledApplicationList", "SecurityInfo", "ProfileList", "InstallApplication", "RemoveApplication", "CertificateList", "DeviceLock"}
	cmdStatus    = []string{"Acknowledged", "Acknowledged", "Acknowledged", "Acknowledged", "NotNow", "Error"}
	areas        = []string{"DeviceLock", "Update", "Defender", "Browser", "Experience", "WiFi", "Connectivity", "BitLocker", "Firewall"}
	policies     = []string{"MinDevicePasswordLength", "AllowManualMDMUnenrollment", "DeferQualityUpdatesPeriodInDays", "AllowRealtimeMonitoring", "RequireDeviceEncryption", "AllowCortana", "EnableNetworkProtection", "PreventSmartScreenPromptOverride"}
	packages     = []string{"com.microsoft.office.outlook", "com.microsoft.teams", "com.azure.authenticator", "com.android.chrome", "com.whatsapp", "com.contoso.expenses", "com.fabrikam.field", "com.microsoft.windowsintune.companyportal"}
	hosts        = []string{"i.manage.microsoft.com", "fef.msub06.manage.microsoft.com", "enterpriseregistration.windows.net", "login.microsoftonline.com", "mdm.contoso.com", "gateway.icloud.com"}
	activities   = []string{"Sync device", "Update device category", "Retire device", "Wipe device", "Reset passcode", "Assign policy", "Delete device"}
)

// eventRecord returns a generator of records/events.ndjson lines
// (collect.Event): a burst of 1-24 events of one device per call, with
// times that move forward through the 30 days before collection.
func (g *gen) eventRecord() func(r *rand.Rand, i int, b []byte) ([]byte, int) {
	t := g.base.Add(-30 * 24 * time.Hour)
	return func(r *rand.Rand, _ int, b []byte) ([]byte, int) {
		di := r.IntN(g.fleet)
		d := g.device(di)
		w := &jw{b: b}
		n := 1 + r.IntN(24)
		page := g.fleet/devicesPerPage + 2*g.fleet + 3 + r.IntN(g.fleet)
		sum := randString(r, hexdig, 64)
		for k := range n {
			t = t.Add(time.Duration(r.ExpFloat64() * float64(2*time.Second)))
			w.begin("")
			w.str("device_key", "intune:"+d.id)
			w.tm("time", t, time.RFC3339Nano)
			kind := r.IntN(10)
			switch {
			case kind < 7:
				w.str("type", "device_log")
				w.begin("fields")
				w.str("level", []string{"info", "info", "info", "notice", "debug", "error"}[r.IntN(6)])
				w.str("message", logMessage(r, d))
				w.num("pid", int64(100+r.IntN(30000)))
				w.str("process", map[string]string{"ios": "mdmclient", "ipados": "mdmclient", "macos": "mdmclient", "android": "CloudDPC", "windows": "omadmclient.exe"}[d.platform])
				w.end()
			case kind < 9:
				w.str("type", "mdm_command")
				w.begin("fields")
				w.str("command", commands[r.IntN(len(commands))])
				w.str("command_uuid", strings.ToUpper(guid(r)))
				w.str("status", cmdStatus[r.IntN(len(cmdStatus))])
				w.end()
			default:
				w.str("type", "admin_audit")
				w.begin("fields")
				w.str("activity", activities[r.IntN(len(activities))])
				_, _, actor, _ := g.user(r.IntN(40))
				w.str("actor", actor)
				w.str("correlation_id", guid(r))
				w.str("result", []string{"success", "success", "success", "failure"}[r.IntN(4)])
				w.end()
			}
			rawRef(w, page, sum, k, g.seed)
			w.end()
			w.nl()
		}
		return w.b, n
	}
}

func logMessage(r *rand.Rand, d device) string {
	switch d.platform {
	case "windows":
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("MDM PolicyManager: Set policy int, Policy: (%s), Area: (%s), EnrollmentID requested: (%s), Current User: (Device), Int: (0x%x), Enrollment Type: (0x6), Scope: (0x0).",
				policies[r.IntN(len(policies))], areas[r.IntN(len(areas))], strings.ToUpper(guid(r)), r.IntN(64))
		case 1:
			return fmt.Sprintf("MDM Session: OMA-DM message completed with status code: (%d).", []int{200, 200, 200, 404, 500}[r.IntN(5)])
		case 2:
			return fmt.Sprintf("MDM ConfigurationManager: Command failure status. Configuration Source ID: (%s), Enrollment Name: (MDMDeviceWithAAD), Provider Name: (Policy), Command Type: (Add: from Replace or Add), CSP URI: (./Device/Vendor/MSFT/Policy/Config/%s/%s), Result: (The system cannot find the file specified.).",
				strings.ToUpper(guid(r)), areas[r.IntN(len(areas))], policies[r.IntN(len(policies))])
		default:
			return fmt.Sprintf("Win32 app %s (%s) detection rule evaluated: %s in %d ms", guid(r), tailWords1[r.IntN(len(tailWords1))]+" "+tailWords2[r.IntN(len(tailWords2))], []string{"installed", "not installed"}[r.IntN(2)], r.IntN(5000))
		}
	case "android":
		switch r.IntN(3) {
		case 0:
			return fmt.Sprintf("PolicyManager: applied policy %s version %d (%d settings, %d non-compliant)", guid(r), 1+r.IntN(90), 5+r.IntN(60), r.IntN(3))
		case 1:
			return fmt.Sprintf("AppInstall: package %s versionCode %d state %s", packages[r.IntN(len(packages))], 100000+r.IntN(9000000), []string{"INSTALLED", "PENDING", "DOWNLOADING", "FAILED"}[r.IntN(4)])
		default:
			return fmt.Sprintf("Connectivity: request to https://%s/ took %d ms (http %d)", hosts[r.IntN(len(hosts))], 20+r.IntN(4000), []int{200, 200, 204, 401, 503}[r.IntN(5)])
		}
	default:
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("Processed %s command %s for profile com.contoso.%s", commands[r.IntN(len(commands))], strings.ToUpper(guid(r)), profileNames[r.IntN(len(profileNames))])
		case 1:
			return fmt.Sprintf("Installed configuration profile: %s (com.contoso.%s.%s)", profileNames[r.IntN(len(profileNames))], profileNames[r.IntN(len(profileNames))], randString(r, hexdig, 8))
		case 2:
			return fmt.Sprintf("Connection to %s:443 failed: The request timed out. (code -1001) after %d ms", hosts[r.IntN(len(hosts))], 1000+r.IntN(60000))
		default:
			return fmt.Sprintf("Checked in with server https://%s/DeviceGatewayProxy/ioshandler.ashx?Platform=iOS in %d ms, %d commands queued", hosts[r.IntN(len(hosts))], 50+r.IntN(3000), r.IntN(6))
		}
	}
}
