package mdmsim

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestCompliancePolicyStates(t *testing.T) {
	s, ts := newTestServer(t, Options{Devices: 40})
	tok := getToken(t, ts.URL)
	f := s.Fleet()

	// Served shape: Graph's envelope and every deviceCompliancePolicyState
	// property, settingStates included.
	jb := f.Planted[ScenarioJailbrokenIPhone]
	for _, version := range []string{"v1.0", "beta"} {
		r := get(t, ts.URL+"/"+version+"/deviceManagement/managedDevices/"+jb+"/deviceCompliancePolicyStates", tok)
		if r.status != 200 {
			t.Fatalf("%s: status %d %s", version, r.status, r.raw)
		}
		if ctx := r.str(t, "@odata.context"); ctx != ts.URL+"/"+version+"/$metadata#deviceManagement/managedDevices('"+jb+"')/deviceCompliancePolicyStates" {
			t.Errorf("@odata.context = %s", ctx)
		}
		items := r.items(t)
		if len(items) != 2 {
			t.Fatalf("%d policy states, want the default policy and the iOS baseline", len(items))
		}
		for _, it := range items {
			for _, k := range []string{"id", "settingStates", "displayName", "version", "platformType", "state", "settingCount"} {
				if _, ok := it[k]; !ok {
					t.Errorf("policy state lacks %s: %v", k, it)
				}
			}
		}
	}

	states := f.CompliancePolicyStates(jb)
	ios := states[1]
	if ios.DisplayName != IOSPolicyName || ios.PlatformType != "iOS" || ios.State != ComplianceNonCompliant || int(ios.SettingCount) != len(ios.SettingStates) {
		t.Errorf("jailbroken iPhone's iOS policy state %+v", ios)
	}
	failing := map[string]string{}
	for _, ss := range ios.SettingStates {
		if ss.State == ComplianceNonCompliant {
			failing[ss.SettingName] = *ss.CurrentValue
		}
		if ss.Setting != "IosCompliancePolicy."+ss.SettingName || ss.UserPrincipalName == "" || len(ss.Sources) != 1 || ss.Sources[0].ID != ios.ID {
			t.Errorf("setting state %+v", ss)
		}
	}
	if len(failing) != 2 || failing["securityBlockJailbrokenDevices"] != "True" || failing["deviceThreatProtectionRequiredSecurityLevel"] != "highSeverity" {
		t.Errorf("jailbroken iPhone fails %v", failing)
	}

	rare := f.CompliancePolicyStates(f.Planted[ScenarioRareAppAndroid])
	patch := f.Device(f.Planted[ScenarioRareAppAndroid]).AndroidSecurityPatchLevel
	if rare[1].PlatformType != "androidForWork" || rare[1].State != ComplianceNonCompliant {
		t.Errorf("rare-app Android baseline %+v", rare[1])
	}
	for _, ss := range rare[1].SettingStates {
		if (ss.State == ComplianceNonCompliant) != (ss.SettingName == "minAndroidSecurityPatchLevel") {
			t.Errorf("rare-app Android setting %s is %s", ss.SettingName, ss.State)
		}
		if ss.SettingName == "minAndroidSecurityPatchLevel" && *ss.CurrentValue != patch {
			t.Errorf("patch level reported %s, device has %s", *ss.CurrentValue, patch)
		}
	}

	// Every device: the default policy is compliant; the baseline is
	// nonCompliant exactly when the device is not compliant.
	for _, d := range f.Devices {
		st := f.CompliancePolicyStates(d.ID)
		if len(st) != 2 || st[0].State != ComplianceCompliant || st[0].PlatformType != "all" {
			t.Fatalf("%s: states %+v", d.ID, st)
		}
		if (st[1].State == ComplianceNonCompliant) != (d.ComplianceState != "compliant") {
			t.Errorf("%s is %s but its baseline is %s", d.ID, d.ComplianceState, st[1].State)
		}
		if want := map[string]string{"iOS": "iOS", "Android": "android"}[d.OperatingSystem]; !strings.HasPrefix(strings.ToLower(st[1].PlatformType), strings.ToLower(want)) {
			t.Errorf("%s device has a %s baseline", d.OperatingSystem, st[1].PlatformType)
		}
	}

	// $select and $filter apply; an unknown device is Intune's 404.
	r := get(t, ts.URL+"/v1.0/deviceManagement/managedDevices/"+jb+"/deviceCompliancePolicyStates?$select=displayName,state&$filter=state%20eq%20'nonCompliant'", tok)
	items := r.items(t)
	if len(items) != 1 || len(items[0]) != 2 || str(t, items[0]["displayName"]) != IOSPolicyName {
		t.Errorf("selected and filtered: %s", r.raw)
	}
	r = get(t, ts.URL+"/v1.0/deviceManagement/managedDevices/00000000-1111-4222-8333-444444444444/deviceCompliancePolicyStates", tok)
	if r.status != 404 || r.err(t).Error.Code != "ResourceNotFound" {
		t.Errorf("unknown device: %d %s", r.status, r.raw)
	}
	if f.CompliancePolicyStates("nope") != nil {
		t.Error("states for an unknown device")
	}
	var raw []json.RawMessage
	json.Unmarshal(get(t, ts.URL+"/v1.0/deviceManagement/managedDevices/"+jb+"/deviceCompliancePolicyStates", tok).obj(t)["value"], &raw)
	if !slices.ContainsFunc(raw, func(m json.RawMessage) bool {
		return strings.Contains(string(m), `"settingStates":[{"setting":"IosCompliancePolicy.osMinimumVersion"`)
	}) {
		t.Errorf("settingStates not served in Graph's shape: %s", raw)
	}
}
