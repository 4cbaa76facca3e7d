package googlesim

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Device is the Android Management API Device resource, with the fields
// the simulator fills. Field names and enum values are the API's.
type Device struct {
	Name                 string                `json:"name"`
	UserName             string                `json:"userName,omitempty"`
	ManagementMode       string                `json:"managementMode"`
	Ownership            string                `json:"ownership"`
	State                string                `json:"state"`
	AppliedState         string                `json:"appliedState"`
	PolicyCompliant      bool                  `json:"policyCompliant"`
	NonComplianceDetails []NonComplianceDetail `json:"nonComplianceDetails,omitempty"`
	EnrollmentTime       string                `json:"enrollmentTime"`
	LastStatusReportTime string                `json:"lastStatusReportTime"`
	LastPolicySyncTime   string                `json:"lastPolicySyncTime"`
	PolicyName           string                `json:"policyName"`
	AppliedPolicyName    string                `json:"appliedPolicyName"`
	AppliedPolicyVersion string                `json:"appliedPolicyVersion"` // int64 as a string
	APILevel             int                   `json:"apiLevel"`
	SecurityPosture      *SecurityPosture      `json:"securityPosture,omitempty"`
	SoftwareInfo         *SoftwareInfo         `json:"softwareInfo,omitempty"`
	HardwareInfo         HardwareInfo          `json:"hardwareInfo"`
	NetworkInfo          *NetworkInfo          `json:"networkInfo,omitempty"`
	MemoryInfo           *MemoryInfo           `json:"memoryInfo,omitempty"`
	DeviceSettings       *DeviceSettings       `json:"deviceSettings,omitempty"`
	ApplicationReports   []ApplicationReport   `json:"applicationReports,omitempty"`
	User                 *User                 `json:"user,omitempty"`
}

type NonComplianceDetail struct {
	SettingName         string `json:"settingName"`
	NonComplianceReason string `json:"nonComplianceReason"`
	PackageName         string `json:"packageName,omitempty"`
	CurrentValue        any    `json:"currentValue,omitempty"`
}

type SecurityPosture struct {
	DevicePosture  string          `json:"devicePosture"`
	PostureDetails []PostureDetail `json:"postureDetails,omitempty"`
}

type PostureDetail struct {
	SecurityRisk string              `json:"securityRisk"`
	Advice       []UserFacingMessage `json:"advice,omitempty"`
}

type UserFacingMessage struct {
	DefaultMessage string `json:"defaultMessage"`
}

type SoftwareInfo struct {
	AndroidVersion                 string            `json:"androidVersion"`
	AndroidBuildNumber             string            `json:"androidBuildNumber"`
	AndroidBuildTime               string            `json:"androidBuildTime"`
	SecurityPatchLevel             string            `json:"securityPatchLevel"`
	BootloaderVersion              string            `json:"bootloaderVersion"`
	DeviceKernelVersion            string            `json:"deviceKernelVersion"`
	DeviceBuildSignature           string            `json:"deviceBuildSignature"`
	AndroidDevicePolicyVersionCode int               `json:"androidDevicePolicyVersionCode"`
	AndroidDevicePolicyVersionName string            `json:"androidDevicePolicyVersionName"`
	PrimaryLanguageCode            string            `json:"primaryLanguageCode"`
	SystemUpdateInfo               *SystemUpdateInfo `json:"systemUpdateInfo,omitempty"`
}

type SystemUpdateInfo struct {
	UpdateStatus       string `json:"updateStatus"`
	UpdateReceivedTime string `json:"updateReceivedTime,omitempty"`
}

type HardwareInfo struct {
	Brand                 string `json:"brand"`
	Hardware              string `json:"hardware"`
	Manufacturer          string `json:"manufacturer"`
	Model                 string `json:"model"`
	SerialNumber          string `json:"serialNumber,omitempty"`
	DeviceBasebandVersion string `json:"deviceBasebandVersion,omitempty"`
	EnterpriseSpecificID  string `json:"enterpriseSpecificId,omitempty"`
}

type NetworkInfo struct {
	IMEI           string `json:"imei,omitempty"`
	WifiMacAddress string `json:"wifiMacAddress,omitempty"`
}

type MemoryInfo struct {
	TotalRAM             string `json:"totalRam"`             // int64 as a string
	TotalInternalStorage string `json:"totalInternalStorage"` // int64 as a string
}

type DeviceSettings struct {
	IsDeviceSecure             bool   `json:"isDeviceSecure"`
	UnknownSourcesEnabled      bool   `json:"unknownSourcesEnabled"`
	DevelopmentSettingsEnabled bool   `json:"developmentSettingsEnabled"`
	ADBEnabled                 bool   `json:"adbEnabled"`
	IsEncrypted                bool   `json:"isEncrypted"`
	EncryptionStatus           string `json:"encryptionStatus"`
	VerifyAppsEnabled          bool   `json:"verifyAppsEnabled"`
}

type User struct {
	AccountIdentifier string `json:"accountIdentifier"`
}

type ApplicationReport struct {
	PackageName                string             `json:"packageName"`
	VersionName                string             `json:"versionName"`
	VersionCode                int32              `json:"versionCode"`
	Events                     []ApplicationEvent `json:"events,omitempty"`
	DisplayName                string             `json:"displayName"`
	PackageSha256Hash          string             `json:"packageSha256Hash"`
	SigningKeyCertFingerprints []string           `json:"signingKeyCertFingerprints"`
	SigningKeyCerts            []SigningKeyCert   `json:"signingKeyCerts,omitempty"`
	InstallerPackageName       string             `json:"installerPackageName,omitempty"`
	ApplicationSource          string             `json:"applicationSource"`
	State                      string             `json:"state"`
	UserFacingType             string             `json:"userFacingType"`
}

// SigningKeyCert holds the SHA-256 of a signing certificate, base64
// (format "byte" in the discovery document).
type SigningKeyCert struct {
	SigningKeyCertFingerprintSha256 string `json:"signingKeyCertFingerprintSha256"`
}

// certOf returns the deprecated SHA-1 fingerprint (hex) and the SHA-256
// one (base64) of a made-up certificate named name.
func certOf(name string) ([]string, []SigningKeyCert) {
	return []string{hexOf(sum1, name)}, []SigningKeyCert{{base64.StdEncoding.EncodeToString(sum256([]byte(name)))}}
}

type ApplicationEvent struct {
	EventType  string `json:"eventType"`
	CreateTime string `json:"createTime"`
}

// Policy is the part of the Policy resource that decides what devices
// report.
type Policy struct {
	Name                    string                  `json:"name"`
	Version                 string                  `json:"version"` // int64 as a string
	StatusReportingSettings StatusReportingSettings `json:"statusReportingSettings"`
	UsageLog                *UsageLog               `json:"usageLog,omitempty"`
}

type StatusReportingSettings struct {
	ApplicationReportsEnabled bool `json:"applicationReportsEnabled"`
	DeviceSettingsEnabled     bool `json:"deviceSettingsEnabled"`
	SoftwareInfoEnabled       bool `json:"softwareInfoEnabled"`
	MemoryInfoEnabled         bool `json:"memoryInfoEnabled"`
	NetworkInfoEnabled        bool `json:"networkInfoEnabled"`
}

type UsageLog struct {
	EnabledLogTypes []string `json:"enabledLogTypes"`
}

// Planted scenarios: the device at each index of Scenarios (for a fleet of
// at least len(Scenarios) devices) is the named case.
const (
	ScenarioDeveloper      = "adb-developer"
	ScenarioCompromised    = "compromised-integrity"
	ScenarioIOCApp         = "ioc-sideloaded-app"
	ScenarioUnknownSources = "unknown-sources"
	ScenarioOutdatedPatch  = "outdated-patch"
	ScenarioWorkProfile    = "personal-work-profile"
	ScenarioMinimalPolicy  = "minimal-reporting-policy"
)

// Scenarios lists the planted cases in fleet order.
var Scenarios = []string{ScenarioDeveloper, ScenarioCompromised, ScenarioIOCApp, ScenarioUnknownSources,
	ScenarioOutdatedPatch, ScenarioWorkProfile, ScenarioMinimalPolicy}

// The indicators planted on the IOC device, from Amnesty International's
// NoviSpy bundle (2024-12-16_serbia_novispy.stix2): an app id and an APK
// sha256.
const (
	IOCPackage   = "com.serv.services"
	IOCAPKSHA256 = "d55e492d5fce87898e065572a5553d1ac1389cd12bf3d28cabc1218cb29780af"
	// IOCCertSHA256 is a signing certificate sha256 of the same bundle.
	IOCCertSHA256 = "3ac97735164824657b683e805133b1274b2dedabf9fdd6aa9aca31089d501e64"
)

// Policies the fleet uses.
const (
	PolicyDefault = "default"
	PolicyBYOD    = "byod"
	PolicyMinimal = "minimal"
	// PolicyDevelopers is the default policy under another name: the
	// developers' phones, a group an analysis can declare.
	PolicyDevelopers = "developers"
)

type catalogApp struct {
	pkg, name, installer, source string
	system                       bool
}

var catalog = []catalogApp{
	{"com.android.chrome", "Chrome", "", "SYSTEM_APP_UPDATED_VERSION", true},
	{"com.google.android.gms", "Google Play services", "", "SYSTEM_APP_UPDATED_VERSION", true},
	{"com.android.vending", "Google Play Store", "", "SYSTEM_APP_UPDATED_VERSION", true},
	{"com.google.android.apps.work.clouddpc", "Android Device Policy", "com.android.vending", "INSTALLED_FROM_PLAY_STORE", false},
	{"com.android.settings", "Settings", "", "SYSTEM_APP_FACTORY_VERSION", true},
	{"com.google.android.dialer", "Phone", "", "SYSTEM_APP_FACTORY_VERSION", true},
	{"com.google.android.apps.messaging", "Messages", "", "SYSTEM_APP_UPDATED_VERSION", true},
	{"com.microsoft.teams", "Microsoft Teams", "com.android.vending", "INSTALLED_FROM_PLAY_STORE", false},
	{"com.microsoft.office.outlook", "Microsoft Outlook", "com.android.vending", "INSTALLED_FROM_PLAY_STORE", false},
	{"com.slack", "Slack", "com.android.vending", "INSTALLED_FROM_PLAY_STORE", false},
	{"com.whatsapp", "WhatsApp", "com.android.vending", "INSTALLED_FROM_PLAY_STORE", false},
	{"org.thoughtcrime.securesms", "Signal", "com.android.vending", "INSTALLED_FROM_PLAY_STORE", false},
	{"com.google.android.apps.maps", "Maps", "", "SYSTEM_APP_UPDATED_VERSION", true},
	{"com.salesforce.chatter", "Salesforce", "com.android.vending", "INSTALLED_FROM_PLAY_STORE", false},
	{"com.zoom.videomeetings", "Zoom", "com.android.vending", "INSTALLED_FROM_PLAY_STORE", false},
	{"com.adobe.reader", "Adobe Acrobat Reader", "com.android.vending", "INSTALLED_FROM_PLAY_STORE", false},
}

var models = []struct{ brand, manufacturer, model, hardware string }{
	{"google", "Google", "Pixel 8", "shiba"},
	{"google", "Google", "Pixel 7a", "lynx"},
	{"samsung", "samsung", "SM-S918B", "qcom"},
	{"samsung", "samsung", "SM-A546B", "s5e8835"},
	{"motorola", "motorola", "moto g84 5G", "qcom"},
}

// Fleet is a generated enterprise.
type Fleet struct {
	Enterprise string
	Devices    []Device
	Policies   map[string]Policy
	Planted    map[string]string // scenario → device name
}

// hexOf returns a deterministic hex digest naming thing.
func hexOf(h func([]byte) []byte, thing string) string {
	return hex.EncodeToString(h([]byte(thing)))
}

func sum256(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
func sum1(b []byte) []byte   { s := sha1.Sum(b); return s[:] }

// newFleet generates n devices of enterprise e from seed; now dates them.
func newFleet(e string, n int, seed uint64, now time.Time) *Fleet {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f := &Fleet{Enterprise: e, Planted: map[string]string{}, Policies: map[string]Policy{}}
	all := StatusReportingSettings{ApplicationReportsEnabled: true, DeviceSettingsEnabled: true, SoftwareInfoEnabled: true,
		MemoryInfoEnabled: true, NetworkInfoEnabled: true}
	for _, p := range []Policy{
		{Name: PolicyDefault, Version: "42", StatusReportingSettings: all, UsageLog: &UsageLog{EnabledLogTypes: []string{"SECURITY_LOGS", "NETWORK_ACTIVITY_LOGS"}}},
		{Name: PolicyDevelopers, Version: "12", StatusReportingSettings: all, UsageLog: &UsageLog{EnabledLogTypes: []string{"SECURITY_LOGS", "NETWORK_ACTIVITY_LOGS"}}},
		{Name: PolicyBYOD, Version: "7", StatusReportingSettings: all, UsageLog: &UsageLog{EnabledLogTypes: []string{"SECURITY_LOGS"}}},
		{Name: PolicyMinimal, Version: "3", StatusReportingSettings: StatusReportingSettings{}},
	} {
		p.Name = "enterprises/" + e + "/policies/" + p.Name
		f.Policies[p.Name] = p
	}
	stamp := func(d time.Duration) string { return now.Add(-d).UTC().Format(time.RFC3339Nano) }
	for i := range n {
		id := fmt.Sprintf("%016x", r.Uint64())
		m := models[r.IntN(len(models))]
		scenario := ""
		if n >= len(Scenarios) && i < len(Scenarios) {
			scenario = Scenarios[i]
			f.Planted[scenario] = "enterprises/" + e + "/devices/" + id
		}
		policy := PolicyDefault
		d := Device{
			Name:                 "enterprises/" + e + "/devices/" + id,
			UserName:             fmt.Sprintf("enterprises/%s/users/%d", e, 100000+r.IntN(900000)),
			ManagementMode:       "DEVICE_OWNER",
			Ownership:            "COMPANY_OWNED",
			State:                "ACTIVE",
			AppliedState:         "ACTIVE",
			PolicyCompliant:      true,
			EnrollmentTime:       stamp(time.Duration(30+r.IntN(600)) * 24 * time.Hour),
			LastStatusReportTime: stamp(time.Duration(r.IntN(36*60)) * time.Minute),
			LastPolicySyncTime:   stamp(time.Duration(r.IntN(48*60)) * time.Minute),
			APILevel:             33 + r.IntN(3),
			SecurityPosture:      &SecurityPosture{DevicePosture: "SECURE"},
			HardwareInfo: HardwareInfo{Brand: m.brand, Hardware: m.hardware, Manufacturer: m.manufacturer, Model: m.model,
				SerialNumber: fmt.Sprintf("R5CT%08d", r.IntN(1e8)), DeviceBasebandVersion: "g5300g-230323-B-9876543"},
			NetworkInfo: &NetworkInfo{IMEI: imei(r), WifiMacAddress: fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256))},
			MemoryInfo:  &MemoryInfo{TotalRAM: strconv.FormatInt(int64(6+2*r.IntN(3))<<30, 10), TotalInternalStorage: strconv.FormatInt(int64(128<<r.IntN(2))<<30, 10)},
			DeviceSettings: &DeviceSettings{IsDeviceSecure: true, IsEncrypted: true, EncryptionStatus: "ACTIVE_PER_USER",
				VerifyAppsEnabled: true},
			User: &User{AccountIdentifier: fmt.Sprintf("user%04d@contoso.example", i)},
		}
		patch := now.AddDate(0, -r.IntN(3), 0)
		d.SoftwareInfo = &SoftwareInfo{AndroidVersion: strconv.Itoa(d.APILevel - 19), AndroidBuildNumber: "UP1A.231005.007",
			AndroidBuildTime: stamp(90 * 24 * time.Hour), SecurityPatchLevel: patch.Format("2006-01") + "-05",
			BootloaderVersion: "slider-1.3-10780582", DeviceKernelVersion: "5.10.157-android13-4-00001",
			DeviceBuildSignature: hexOf(sum256, m.model+"build"), AndroidDevicePolicyVersionCode: 20231020,
			AndroidDevicePolicyVersionName: "125.09.1", PrimaryLanguageCode: "en-GB",
			SystemUpdateInfo: &SystemUpdateInfo{UpdateStatus: "UP_TO_DATE"}}
		for _, c := range catalog {
			if !c.system && r.IntN(3) == 0 {
				continue
			}
			d.ApplicationReports = append(d.ApplicationReports, report(c, r, now))
		}
		switch scenario {
		case ScenarioDeveloper:
			policy = PolicyDevelopers
			d.DeviceSettings.ADBEnabled, d.DeviceSettings.DevelopmentSettingsEnabled = true, true
		case ScenarioCompromised:
			d.DeviceSettings.ADBEnabled, d.DeviceSettings.DevelopmentSettingsEnabled = true, true
			d.SecurityPosture = &SecurityPosture{DevicePosture: "POTENTIALLY_COMPROMISED", PostureDetails: []PostureDetail{
				{SecurityRisk: "COMPROMISED_OS", Advice: []UserFacingMessage{{DefaultMessage: "The device's operating system has been modified."}}}}}
			d.PolicyCompliant = false
			d.NonComplianceDetails = []NonComplianceDetail{{SettingName: "debuggingFeaturesAllowed", NonComplianceReason: "USER_ACTION"}}
		case ScenarioIOCApp:
			d.DeviceSettings.UnknownSourcesEnabled = true
			d.ApplicationReports = append(d.ApplicationReports, ApplicationReport{
				PackageName: IOCPackage, DisplayName: "Services", VersionName: "2.1", VersionCode: 21,
				PackageSha256Hash: IOCAPKSHA256, SigningKeyCertFingerprints: []string{hexOf(sum1, "novispy-cert")},
				SigningKeyCerts:      []SigningKeyCert{{base64.StdEncoding.EncodeToString(mustHex(IOCCertSHA256))}},
				InstallerPackageName: "com.google.android.packageinstaller", ApplicationSource: "APPLICATION_SOURCE_UNSPECIFIED",
				State: "INSTALLED", UserFacingType: "NOT_USER_FACING",
				Events: []ApplicationEvent{{EventType: "INSTALLED", CreateTime: stamp(20 * time.Hour)}}})
		case ScenarioUnknownSources:
			d.DeviceSettings.UnknownSourcesEnabled = true
			d.ApplicationReports = append(d.ApplicationReports, ApplicationReport{
				PackageName: "net.example.flashlight", DisplayName: "Flashlight <b>Pro</b>", VersionName: "1.0", VersionCode: 1,
				PackageSha256Hash: hexOf(sum256, "flashlight.apk"), SigningKeyCertFingerprints: []string{hexOf(sum1, "flashlight-cert")},
				InstallerPackageName: "com.android.documentsui", ApplicationSource: "APPLICATION_SOURCE_UNSPECIFIED",
				State: "INSTALLED", UserFacingType: "USER_FACING",
				Events: []ApplicationEvent{{EventType: "INSTALLED", CreateTime: stamp(6 * time.Hour)}}})
		case ScenarioOutdatedPatch:
			d.SoftwareInfo.SecurityPatchLevel = "2021-08-05"
			d.SoftwareInfo.SystemUpdateInfo = &SystemUpdateInfo{UpdateStatus: "SECURITY_UPDATE_AVAILABLE", UpdateReceivedTime: stamp(400 * 24 * time.Hour)}
			d.SecurityPosture = &SecurityPosture{DevicePosture: "AT_RISK", PostureDetails: []PostureDetail{{SecurityRisk: "HARDWARE_BACKED_EVALUATION_FAILED"}}}
		case ScenarioWorkProfile:
			policy = PolicyBYOD
			d.ManagementMode, d.Ownership = "PROFILE_OWNER", "PERSONALLY_OWNED"
			d.HardwareInfo.SerialNumber = ""
			d.HardwareInfo.EnterpriseSpecificID = hexOf(sum256, id)[:32]
			d.NetworkInfo = nil
		case ScenarioMinimalPolicy:
			policy = PolicyMinimal
		}
		p := f.Policies["enterprises/"+e+"/policies/"+policy]
		d.PolicyName, d.AppliedPolicyName, d.AppliedPolicyVersion = p.Name, p.Name, p.Version
		rep := p.StatusReportingSettings
		if !rep.ApplicationReportsEnabled {
			d.ApplicationReports = nil
		}
		if !rep.SoftwareInfoEnabled {
			d.SoftwareInfo = nil
		}
		if !rep.DeviceSettingsEnabled {
			d.DeviceSettings = nil
		}
		if !rep.MemoryInfoEnabled {
			d.MemoryInfo = nil
		}
		if !rep.NetworkInfoEnabled {
			d.NetworkInfo = nil
		}
		f.Devices = append(f.Devices, d)
	}
	return f
}

func report(c catalogApp, r *rand.Rand, now time.Time) ApplicationReport {
	major := 1 + r.IntN(9)
	a := ApplicationReport{PackageName: c.pkg, DisplayName: c.name, VersionName: fmt.Sprintf("%d.%d.%d", major, r.IntN(20), r.IntN(100)),
		VersionCode:          int32(major*100000 + r.IntN(99999)),
		InstallerPackageName: c.installer, ApplicationSource: c.source, State: "INSTALLED", UserFacingType: "USER_FACING"}
	a.SigningKeyCertFingerprints, a.SigningKeyCerts = certOf(c.pkg + "-cert")
	a.PackageSha256Hash = hexOf(sum256, c.pkg+a.VersionName)
	if r.IntN(10) == 0 {
		a.Events = []ApplicationEvent{{EventType: "CHANGED", CreateTime: now.Add(-time.Duration(r.IntN(29*60)) * time.Minute).UTC().Format(time.RFC3339Nano)}}
	}
	return a
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// imei returns a 15-digit IMEI with a valid Luhn check digit.
func imei(r *rand.Rand) string {
	d := []byte(fmt.Sprintf("35%012d", r.Int64N(1e12)))
	sum := 0
	for i, c := range d {
		v := int(c - '0')
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return string(d) + strconv.Itoa((10-sum%10)%10)
}
