package mdmsim

// Compliance policies and the per-device deviceCompliancePolicyState
// collection (GET /v1.0/deviceManagement/managedDevices/{id}/deviceCompliancePolicyStates).
// Field names follow Graph's deviceCompliancePolicyState and
// deviceCompliancePolicySettingState resources.

// DeviceCompliancePolicyState is Graph's deviceCompliancePolicyState: how
// one compliance policy evaluated on one device.
type DeviceCompliancePolicyState struct {
	ID            string                               `json:"id"`
	SettingStates []DeviceCompliancePolicySettingState `json:"settingStates"`
	DisplayName   string                               `json:"displayName"`
	Version       int32                                `json:"version"`
	PlatformType  string                               `json:"platformType"`
	State         string                               `json:"state"`
	SettingCount  int32                                `json:"settingCount"`
}

// DeviceCompliancePolicySettingState is Graph's
// deviceCompliancePolicySettingState: one setting of a policy on a device.
type DeviceCompliancePolicySettingState struct {
	Setting             string          `json:"setting"`
	SettingName         string          `json:"settingName"`
	InstanceDisplayName *string         `json:"instanceDisplayName"`
	State               string          `json:"state"`
	ErrorCode           int64           `json:"errorCode"`
	ErrorDescription    *string         `json:"errorDescription"`
	UserID              string          `json:"userId"`
	UserName            string          `json:"userName"`
	UserEmail           string          `json:"userEmail"`
	UserPrincipalName   string          `json:"userPrincipalName"`
	Sources             []SettingSource `json:"sources"`
	CurrentValue        *string         `json:"currentValue"`
}

// SettingSource is Graph's settingSource: the policy a setting came from.
type SettingSource struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// Compliance states (Graph's complianceStatus) used by the simulator.
const (
	ComplianceCompliant    = "compliant"
	ComplianceNonCompliant = "nonCompliant"
)

const (
	policyDefault = iota
	policyIOS
	policyFullyManaged
	policyWorkProfile
	numPolicies
)

type compliancePolicy struct {
	name     string
	version  int32
	platform string // policyPlatformType
	prefix   string // setting id prefix
	settings []string
}

// IOSPolicyName is the display name of the iOS compliance policy whose
// jailbreak setting the planted administrator turned off.
const IOSPolicyName = "iOS/iPadOS compliance baseline"

var policies = [numPolicies]compliancePolicy{
	policyDefault: {"Default Device Compliance Policy", 1, "all", "DefaultDeviceCompliancePolicy",
		[]string{"RequireRemainContact", "RequireUserExistence", "RequireDeviceCompliancePolicyAssigned"}},
	policyIOS: {IOSPolicyName, 4, "iOS", "IosCompliancePolicy",
		[]string{"osMinimumVersion", "passcodeRequired", "securityBlockJailbrokenDevices", "deviceThreatProtectionRequiredSecurityLevel"}},
	policyFullyManaged: {"Android Enterprise fully managed baseline", 2, "androidForWork", "AndroidDeviceOwnerCompliancePolicy",
		[]string{"osMinimumVersion", "minAndroidSecurityPatchLevel", "passwordRequired", "securityRequireSafetyNetAttestationBasicIntegrity", "deviceThreatProtectionRequiredSecurityLevel"}},
	policyWorkProfile: {"Android Enterprise work profile baseline", 3, "androidWorkProfile", "AndroidWorkProfileCompliancePolicy",
		[]string{"osMinimumVersion", "minAndroidSecurityPatchLevel", "passwordRequired", "securityBlockJailbrokenDevices", "securityPreventInstallAppsFromUnknownSources", "securityDisableUsbDebugging"}},
}

// CompliancePolicyStates returns the compliance policy states of the
// device with the given id, or nil if there is no such device. Every device
// has the default policy and its platform's baseline; a noncompliant
// device's baseline is nonCompliant on the settings that explain why (the
// jailbroken iPhone: securityBlockJailbrokenDevices and
// deviceThreatProtectionRequiredSecurityLevel; the rare-app Android:
// minAndroidSecurityPatchLevel), and a device in its grace period misses
// the password requirement.
func (f *Fleet) CompliancePolicyStates(id string) []DeviceCompliancePolicyState {
	d := f.Device(id)
	if d == nil {
		return nil
	}
	return f.complianceStates(d)
}

func (f *Fleet) complianceStates(d *Device) []DeviceCompliancePolicyState {
	baseline := policyIOS
	if d.OperatingSystem == "Android" {
		baseline = policyWorkProfile
		if d.DeviceEnrollmentType == "androidEnterpriseFullyManaged" {
			baseline = policyFullyManaged
		}
	}
	failing := map[string]bool{}
	switch {
	case d.JailBroken == "True":
		failing["securityBlockJailbrokenDevices"] = true
		failing["deviceThreatProtectionRequiredSecurityLevel"] = d.PartnerReportedThreatState == "highSeverity"
	case d.ComplianceState == "noncompliant":
		failing["minAndroidSecurityPatchLevel"] = true
	case d.ComplianceState == "inGracePeriod":
		failing["passcodeRequired"] = true
		failing["passwordRequired"] = true
	}
	out := make([]DeviceCompliancePolicyState, 0, 2)
	for _, pi := range []int{policyDefault, baseline} {
		p := &policies[pi]
		st := DeviceCompliancePolicyState{
			ID: f.tenant.policyIDs[pi], DisplayName: p.name, Version: p.version, PlatformType: p.platform,
			State: ComplianceCompliant, SettingCount: int32(len(p.settings)),
		}
		for _, s := range p.settings {
			ss := DeviceCompliancePolicySettingState{
				Setting: p.prefix + "." + s, SettingName: s, State: ComplianceCompliant,
				UserID: d.UserID, UserName: d.UserDisplayName, UserEmail: d.EmailAddress, UserPrincipalName: d.UserPrincipalName,
				Sources:      []SettingSource{{ID: st.ID, DisplayName: p.name}},
				CurrentValue: currentValue(d, s),
			}
			if failing[s] {
				ss.State = ComplianceNonCompliant
				st.State = ComplianceNonCompliant
			}
			st.SettingStates = append(st.SettingStates, ss)
		}
		out = append(out, st)
	}
	return out
}

func currentValue(d *Device, setting string) *string {
	var v string
	switch setting {
	case "osMinimumVersion":
		v = d.OSVersion
	case "minAndroidSecurityPatchLevel":
		v = d.AndroidSecurityPatchLevel
	case "securityBlockJailbrokenDevices":
		v = d.JailBroken
	case "deviceThreatProtectionRequiredSecurityLevel":
		v = d.PartnerReportedThreatState
	case "passcodeRequired", "passwordRequired":
		v = "True"
		if d.ComplianceState == "inGracePeriod" {
			v = "False"
		}
	default:
		return nil
	}
	return &v
}
