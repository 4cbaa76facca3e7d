package jamfsim

import "encoding/xml"

// MobileDevice is one result of GET /api/v2/mobile-devices (MobileDeviceV2).
type MobileDevice struct {
	ID                     string `json:"id"`
	Name                   string `json:"name"`
	SerialNumber           string `json:"serialNumber"`
	WifiMacAddress         string `json:"wifiMacAddress"`
	UDID                   string `json:"udid"`
	PhoneNumber            string `json:"phoneNumber"`
	Model                  string `json:"model"`
	ModelIdentifier        string `json:"modelIdentifier"`
	Username               string `json:"username"`
	Type                   string `json:"type"` // ios, tvos, watchos, visionos, unknown
	ManagementID           string `json:"managementId"`
	SoftwareUpdateDeviceID string `json:"softwareUpdateDeviceId"`
}

// Detail is GET /api/v2/mobile-devices/{id}/detail
// (MobileDeviceDetailsGetV2). Timestamps are RFC 3339 with milliseconds.
type Detail struct {
	ID                                 string               `json:"id"`
	Name                               string               `json:"name"`
	EnforceName                        bool                 `json:"enforceName"`
	AssetTag                           string               `json:"assetTag"`
	LastInventoryUpdateTimestamp       string               `json:"lastInventoryUpdateTimestamp"`
	OSVersion                          string               `json:"osVersion"`
	OSBuild                            string               `json:"osBuild"`
	OSSupplementalBuildVersion         *string              `json:"osSupplementalBuildVersion"`
	OSRapidSecurityResponse            *string              `json:"osRapidSecurityResponse"`
	SoftwareUpdateDeviceID             string               `json:"softwareUpdateDeviceId"`
	SerialNumber                       string               `json:"serialNumber"`
	UDID                               string               `json:"udid"`
	IPAddress                          string               `json:"ipAddress"`
	WifiMacAddress                     string               `json:"wifiMacAddress"`
	BluetoothMacAddress                string               `json:"bluetoothMacAddress"`
	Managed                            bool                 `json:"managed"`
	TimeZone                           string               `json:"timeZone"`
	InitialEntryTimestamp              string               `json:"initialEntryTimestamp"`
	LastEnrollmentTimestamp            string               `json:"lastEnrollmentTimestamp"`
	MDMProfileExpirationTimestamp      string               `json:"mdmProfileExpirationTimestamp"`
	DeviceOwnershipLevel               string               `json:"deviceOwnershipLevel"` // Institutional, Personal
	EnrollmentMethod                   string               `json:"enrollmentMethod"`
	EnrollmentSessionTokenValid        bool                 `json:"enrollmentSessionTokenValid"`
	DeclarativeDeviceManagementEnabled bool                 `json:"declarativeDeviceManagementEnabled"`
	Site                               Site                 `json:"site"`
	ExtensionAttributes                []ExtensionAttribute `json:"extensionAttributes"`
	Location                           Location             `json:"location"`
	Type                               string               `json:"type"`
	IOS                                *IOS                 `json:"ios"`
	ManagementID                       string               `json:"managementId"`
}

// Site is a Jamf Pro site.
type Site struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ExtensionAttribute is one inventory extension attribute.
type ExtensionAttribute struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Type  string   `json:"type"`
	Value []string `json:"value"`
}

// Location is the user and location section.
type Location struct {
	Username     string `json:"username"`
	RealName     string `json:"realName"`
	EmailAddress string `json:"emailAddress"`
	Position     string `json:"position"`
	PhoneNumber  string `json:"phoneNumber"`
	Department   string `json:"department"`
	Building     string `json:"building"`
	Room         string `json:"room"`
}

// IOS is the "ios" object of a device's detail.
type IOS struct {
	Model                       string                 `json:"model"`
	ModelIdentifier             string                 `json:"modelIdentifier"`
	ModelNumber                 string                 `json:"modelNumber"`
	Supervised                  bool                   `json:"supervised"`
	BatteryLevel                int                    `json:"batteryLevel"`
	LastBackupTimestamp         *string                `json:"lastBackupTimestamp"`
	CapacityMb                  int                    `json:"capacityMb"`
	AvailableMb                 int                    `json:"availableMb"`
	PercentageUsed              int                    `json:"percentageUsed"`
	Shared                      bool                   `json:"shared"`
	DeviceLocatorServiceEnabled bool                   `json:"deviceLocatorServiceEnabled"`
	DoNotDisturbEnabled         bool                   `json:"doNotDisturbEnabled"`
	CloudBackupEnabled          bool                   `json:"cloudBackupEnabled"`
	LastCloudBackupTimestamp    *string                `json:"lastCloudBackupTimestamp"`
	LocationServicesEnabled     bool                   `json:"locationServicesEnabled"`
	ITunesStoreAccountActive    bool                   `json:"iTunesStoreAccountActive"`
	BleCapable                  bool                   `json:"bleCapable"`
	Security                    Security               `json:"security"`
	Network                     Network                `json:"network"`
	Applications                []Application          `json:"applications"`
	Certificates                []Certificate          `json:"certificates"`
	ConfigurationProfiles       []ConfigurationProfile `json:"configurationProfiles"`
	ProvisioningProfiles        []ProvisioningProfile  `json:"provisioningProfiles"`
}

// Security is the security section. A nil value is what Jamf reports as
// null: not known for this device (a User Enrollment hides most of it).
type Security struct {
	DataProtected                *bool `json:"dataProtected"`
	BlockLevelEncryptionCapable  *bool `json:"blockLevelEncryptionCapable"`
	FileLevelEncryptionCapable   *bool `json:"fileLevelEncryptionCapable"`
	PasscodePresent              *bool `json:"passcodePresent"`
	PasscodeCompliant            *bool `json:"passcodeCompliant"`
	PasscodeCompliantWithProfile *bool `json:"passcodeCompliantWithProfile"`
	HardwareEncryption           int   `json:"hardwareEncryption"`
	ActivationLockEnabled        *bool `json:"activationLockEnabled"`
	JailBreakDetected            *bool `json:"jailBreakDetected"`
}

// Network is the network section.
type Network struct {
	CellularTechnology    string `json:"cellularTechnology"`
	VoiceRoamingEnabled   bool   `json:"voiceRoamingEnabled"`
	IMEI                  string `json:"imei"`
	ICCID                 string `json:"iccid"`
	MEID                  string `json:"meid"`
	CurrentCarrierNetwork string `json:"currentCarrierNetwork"`
	HomeCarrierNetwork    string `json:"homeCarrierNetwork"`
	DataRoamingEnabled    bool   `json:"dataRoamingEnabled"`
	Roaming               bool   `json:"roaming"`
	PhoneNumber           string `json:"phoneNumber"`
}

// Application is one installed app in a device's detail. The fields after
// DynamicSize are the iOS InstalledApplicationList signals (see the
// package documentation).
type Application struct {
	Identifier       string `json:"identifier"`
	Name             string `json:"name"`
	Version          string `json:"version"`
	ShortVersion     string `json:"shortVersion"`
	ManagementStatus string `json:"managementStatus"` // Managed, Unmanaged
	ValidationStatus bool   `json:"validationStatus"`
	BundleSize       string `json:"bundleSize"`
	DynamicSize      string `json:"dynamicSize"`

	AdHocCodeSigned           bool    `json:"adHocCodeSigned"`
	AppStoreVendable          bool    `json:"appStoreVendable"`
	BetaApp                   bool    `json:"betaApp"`
	DeviceBasedVPP            bool    `json:"deviceBasedVpp"`
	DistributorIdentifier     *string `json:"distributorIdentifier"` // iOS 17.4 and later
	ExternalVersionIdentifier int64   `json:"externalVersionIdentifier"`
}

// Certificate is an installed certificate.
type Certificate struct {
	CommonName     string `json:"commonName"`
	Identity       bool   `json:"identity"`
	ExpirationDate string `json:"expirationDate"`
}

// ConfigurationProfile is an installed configuration profile.
type ConfigurationProfile struct {
	DisplayName string `json:"displayName"`
	Version     string `json:"version"`
	UUID        string `json:"uuid"`
	Identifier  string `json:"identifier"`
}

// ProvisioningProfile is an installed provisioning profile: what lets an
// ad-hoc or enterprise-signed app run.
type ProvisioningProfile struct {
	DisplayName    string `json:"displayName"`
	UUID           string `json:"uuid"`
	ExpirationDate string `json:"expirationDate"`
}

// History is the Classic API's mobile_device_history. Every list is
// grouped as the Classic API groups it; the XML form nests each item in an
// element of its own.
type History struct {
	XMLName            xml.Name            `json:"-" xml:"mobile_device_history"`
	General            *HistoryGeneral     `json:"general,omitempty" xml:"general,omitempty"`
	UserLocation       []UserLocation      `json:"user_location" xml:"user_location>location,omitempty"`
	Audits             []Audit             `json:"audits" xml:"audits>audit,omitempty"`
	ManagementCommands *ManagementCommands `json:"management_commands,omitempty" xml:"management_commands,omitempty"`
	Applications       *AppHistory         `json:"applications,omitempty" xml:"applications,omitempty"`
	Ebooks             *EbookHistory       `json:"ebooks,omitempty" xml:"ebooks,omitempty"`
}

// HistoryGeneral names the device a history is about.
type HistoryGeneral struct {
	ID           int    `json:"id" xml:"id"`
	Name         string `json:"name" xml:"name"`
	UDID         string `json:"udid" xml:"udid"`
	SerialNumber string `json:"serial_number" xml:"serial_number"`
	MacAddress   string `json:"mac_address" xml:"mac_address"`
}

// UserLocation is one change of a device's user and location.
type UserLocation struct {
	DateTime      string `json:"date_time" xml:"date_time"`
	DateTimeEpoch int64  `json:"date_time_epoch" xml:"date_time_epoch"`
	DateTimeUTC   string `json:"date_time_utc" xml:"date_time_utc"`
	Username      string `json:"username" xml:"username"`
	FullName      string `json:"full_name" xml:"full_name"`
	EmailAddress  string `json:"email_address" xml:"email_address"`
	Department    string `json:"department" xml:"department"`
	Building      string `json:"building" xml:"building"`
	Position      string `json:"position" xml:"position"`
}

// Audit is one audit entry (an administrator's action on the device).
type Audit struct {
	Event         string `json:"event" xml:"event"`
	Username      string `json:"username" xml:"username"`
	DateTime      string `json:"date_time" xml:"date_time"`
	DateTimeEpoch int64  `json:"date_time_epoch" xml:"date_time_epoch"`
	DateTimeUTC   string `json:"date_time_utc" xml:"date_time_utc"`
}

// ManagementCommands groups the MDM commands sent to the device.
type ManagementCommands struct {
	Completed []Command `json:"completed" xml:"completed>command"`
	Pending   []Command `json:"pending" xml:"pending>command"`
	Failed    []Command `json:"failed" xml:"failed>command"`
}

// Command is one MDM command. Completed commands carry the completed_*
// times, pending ones issued_* and last_push_*, failed ones issued_* and
// failed_* with the device's error in status. Epochs are milliseconds.
type Command struct {
	Name           string `json:"name" xml:"name"`
	Status         string `json:"status,omitempty" xml:"status,omitempty"`
	Error          string `json:"error,omitempty" xml:"error,omitempty"`
	Issued         string `json:"issued,omitempty" xml:"issued,omitempty"`
	IssuedEpoch    int64  `json:"issued_epoch,omitempty" xml:"issued_epoch,omitempty"`
	IssuedUTC      string `json:"issued_utc,omitempty" xml:"issued_utc,omitempty"`
	LastPush       string `json:"last_push,omitempty" xml:"last_push,omitempty"`
	LastPushEpoch  int64  `json:"last_push_epoch,omitempty" xml:"last_push_epoch,omitempty"`
	LastPushUTC    string `json:"last_push_utc,omitempty" xml:"last_push_utc,omitempty"`
	Completed      string `json:"completed,omitempty" xml:"completed,omitempty"`
	CompletedEpoch int64  `json:"completed_epoch,omitempty" xml:"completed_epoch,omitempty"`
	CompletedUTC   string `json:"completed_utc,omitempty" xml:"completed_utc,omitempty"`
	Failed         string `json:"failed,omitempty" xml:"failed,omitempty"`
	FailedEpoch    int64  `json:"failed_epoch,omitempty" xml:"failed_epoch,omitempty"`
	FailedUTC      string `json:"failed_utc,omitempty" xml:"failed_utc,omitempty"`
	Username       string `json:"username" xml:"username"`
}

// AppHistory groups the app installs Jamf Pro knows of.
type AppHistory struct {
	Installed []AppHistoryItem `json:"installed" xml:"installed>app"`
	Pending   []AppHistoryItem `json:"pending" xml:"pending>app"`
	Failed    []AppHistoryItem `json:"failed" xml:"failed>app"`
}

// AppHistoryItem is one app of the app history; Source is "In-House",
// "App Store" or "Other".
type AppHistoryItem struct {
	Name             string `json:"name" xml:"name"`
	Version          string `json:"version" xml:"version"`
	ShortVersion     string `json:"short_version" xml:"short_version"`
	ManagementStatus string `json:"management_status" xml:"management_status"`
	Source           string `json:"source" xml:"source"`
	BundleSize       string `json:"bundle_size" xml:"bundle_size"`
	DynamicSize      string `json:"dynamic_size" xml:"dynamic_size"`
}

// EbookHistory groups book installs (always empty in the simulator).
type EbookHistory struct {
	Installed []struct{} `json:"installed" xml:"installed>ebook"`
	Pending   []struct{} `json:"pending" xml:"pending>ebook"`
	Failed    []struct{} `json:"failed" xml:"failed>ebook"`
}
