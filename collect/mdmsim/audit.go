package mdmsim

import (
	"slices"
	"time"
)

// Intune audit events (GET /v1.0/deviceManagement/auditEvents): who did what
// to which device or policy. The fleet has background administration spread
// over the AuditWindow before Now, plus four planted actions:
//
//   - PlantedAdminActor patches the iOS compliance policy (IOSPolicyName)
//     to stop blocking jailbroken devices, about 27 hours before Now;
//   - a helpdesk account remote-locks the jailbroken iPhone about 5 hours
//     before Now;
//   - PlantedAdminActor wipes the rare-app Android 38 minutes before Now;
//   - an administrator retires the stale device two days before Now.
//
// Wipe, retire and remote lock appear only in these planted events.

// AuditEvent is Graph's auditEvent.
type AuditEvent struct {
	ID                    string          `json:"id"`
	DisplayName           string          `json:"displayName"`
	ComponentName         string          `json:"componentName"`
	Actor                 AuditActor      `json:"actor"`
	Activity              string          `json:"activity"`
	ActivityDateTime      time.Time       `json:"activityDateTime"`
	ActivityType          string          `json:"activityType"`
	ActivityOperationType string          `json:"activityOperationType"`
	ActivityResult        string          `json:"activityResult"`
	CorrelationID         string          `json:"correlationId"`
	Resources             []AuditResource `json:"resources"`
	Category              string          `json:"category"`
}

// AuditActor is Graph's auditActor.
type AuditActor struct {
	Type                   string   `json:"type"`
	AuditActorType         string   `json:"auditActorType"`
	UserPermissions        []string `json:"userPermissions"`
	ApplicationID          string   `json:"applicationId"`
	ApplicationDisplayName string   `json:"applicationDisplayName"`
	UserPrincipalName      *string  `json:"userPrincipalName"`
	ServicePrincipalName   *string  `json:"servicePrincipalName"`
	IPAddress              string   `json:"ipAddress"`
	UserID                 *string  `json:"userId"`
}

// AuditResource is Graph's auditResource.
type AuditResource struct {
	DisplayName        string          `json:"displayName"`
	ModifiedProperties []AuditProperty `json:"modifiedProperties"`
	Type               string          `json:"type"`
	AuditResourceType  string          `json:"auditResourceType"`
	ResourceID         string          `json:"resourceId"`
}

// AuditProperty is Graph's auditProperty.
type AuditProperty struct {
	DisplayName string `json:"displayName"`
	OldValue    string `json:"oldValue"`
	NewValue    string `json:"newValue"`
}

// PlantedAdminActor is the administrator account behind the suspicious
// planted actions: the policy change and the wipe.
const PlantedAdminActor = "adm.jlauer@" + UserDomain

// AuditWindow is how far before Now the background audit events reach.
const AuditWindow = 30 * 24 * time.Hour

var adminUPNs = [...]string{"intune.admin@" + UserDomain, "helpdesk.tier1@" + UserDomain, "helpdesk.tier2@" + UserDomain, PlantedAdminActor}

const (
	adminIntune = iota
	adminHelpdesk1
	adminHelpdesk2
	adminPlanted
)

// Activity types of the planted events.
const (
	AuditWipe         = "Wipe ManagedDevice"
	AuditRetire       = "Retire ManagedDevice"
	AuditRemoteLock   = "RemoteLock ManagedDevice"
	AuditPolicyChange = "Patch DeviceCompliancePolicy"
)

type auditKind struct {
	activity, typ, op, category, component string
	weight                                 int
	device                                 bool // acts on a managed device
}

var backgroundAudit = []auditKind{
	{"SyncDevice", "SyncDevice ManagedDevice", "Action", "Device", "ManagedDevices", 30, true},
	{"RebootNow", "RebootNow ManagedDevice", "Action", "Device", "ManagedDevices", 5, true},
	{"LocateDevice", "LocateDevice ManagedDevice", "Action", "Device", "ManagedDevices", 3, true},
	{"ResetPasscode", "ResetPasscode ManagedDevice", "Action", "Device", "ManagedDevices", 4, true},
	{"Patch", "Patch ManagedDevice", "Patch", "Device", "ManagedDevices", 5, true},
	{"Patch", "Patch DeviceConfiguration", "Patch", "DeviceConfiguration", "DeviceConfiguration", 10, false},
	{"Create", "Create DeviceConfiguration", "Create", "DeviceConfiguration", "DeviceConfiguration", 2, false},
	{"Assign", "Assign MobileApp", "Action", "Application", "MobileApps", 5, false},
	{"Patch", "Patch MobileApp", "Patch", "Application", "MobileApps", 5, false},
}

var deviceConfigurations = []string{
	"iOS Wi-Fi - Contoso Corp", "iOS device restrictions", "Android Enterprise fully managed restrictions",
	"Android work profile restrictions", "Contoso VPN (per-app)", "Microsoft Defender onboarding",
}

var mobileApps = []string{"Contoso Directory", "Contoso Expenses", "Contoso Field Service", "Microsoft Outlook", "Microsoft Teams", "Microsoft Defender"}

// AuditEvents returns every audit event, oldest first. The server pages
// them in this order.
func (f *Fleet) AuditEvents() []AuditEvent { return slices.Clone(f.auditEvents()) }

func (f *Fleet) auditEvents() []AuditEvent {
	f.auditOnce.Do(f.buildAudit)
	return f.audit
}

func (f *Fleet) userActor(admin int) AuditActor {
	upn, id := adminUPNs[admin], f.tenant.adminIDs[admin]
	return AuditActor{
		Type: "ItPro", AuditActorType: "ItPro", UserPermissions: []string{"*"},
		ApplicationID: f.tenant.intuneAppID, ApplicationDisplayName: "Microsoft Intune portal extension",
		UserPrincipalName: &upn, IPAddress: f.tenant.adminIPs[admin], UserID: &id,
	}
}

func (f *Fleet) appActor() AuditActor {
	name := "Contoso Device Automation"
	return AuditActor{
		Type: "Application", AuditActorType: "Application", UserPermissions: []string{},
		ApplicationID: f.tenant.automation, ApplicationDisplayName: name, ServicePrincipalName: &name,
		IPAddress: "20.50.2.17",
	}
}

func deviceResource(d *Device, props ...AuditProperty) AuditResource {
	return AuditResource{DisplayName: d.DeviceName, ModifiedProperties: append([]AuditProperty{}, props...),
		Type: "ManagedDevice", AuditResourceType: "ManagedDevice", ResourceID: d.ID}
}

// buildAudit generates the audit log once, on first use: about one event
// per ten devices (at least 20, at most 2,000) evenly spread over the
// window, plus the planted events.
func (f *Fleet) buildAudit() {
	r := f.rng(0, streamAudit)
	m := min(20+f.n/10, 2000)
	planted := map[int]bool{}
	for _, name := range Scenarios {
		if p := f.PlantedIndex(name); p >= 0 {
			planted[p] = true
		}
	}
	ordinary := f.n - len(planted)
	total := 0
	for _, k := range backgroundAudit {
		if k.device && ordinary == 0 {
			continue
		}
		total += k.weight
	}
	step := AuditWindow / time.Duration(m)
	start := f.base.Add(-AuditWindow)
	events := make([]AuditEvent, 0, m+4)
	for j := range m {
		at := start.Add(time.Duration(j)*step + time.Duration(r.Int64N(int64(step)))).Truncate(time.Millisecond)
		w := r.IntN(total)
		var k auditKind
		for _, k = range backgroundAudit {
			if k.device && ordinary == 0 {
				continue
			}
			if w < k.weight {
				break
			}
			w -= k.weight
		}
		e := AuditEvent{
			ID: guidString(guidBytes(r)), DisplayName: k.typ, ComponentName: k.component,
			Activity: k.activity, ActivityDateTime: at, ActivityType: k.typ, ActivityOperationType: k.op,
			ActivityResult: "Success", CorrelationID: guidString(guidBytes(r)), Category: k.category,
		}
		if r.IntN(100) < 2 {
			e.ActivityResult = "Failure"
		}
		switch {
		case k.device:
			p := r.IntN(f.n)
			for planted[p] {
				p = (p + 1) % f.n
			}
			d := f.DeviceAt(p)
			if k.activity == "SyncDevice" && r.IntN(3) == 0 {
				e.Actor = f.appActor()
			} else {
				e.Actor = f.userActor([]int{adminIntune, adminHelpdesk1, adminHelpdesk2}[r.IntN(3)])
			}
			var props []AuditProperty
			if k.op == "Patch" {
				props = append(props, AuditProperty{DisplayName: "DeviceCategory", OldValue: "Unknown category", NewValue: d.DeviceCategoryDisplayName})
			}
			e.Resources = []AuditResource{deviceResource(d, props...)}
		case k.category == "DeviceConfiguration":
			e.Actor = f.userActor(adminIntune)
			e.Resources = []AuditResource{{DisplayName: deviceConfigurations[r.IntN(len(deviceConfigurations))], ModifiedProperties: []AuditProperty{},
				Type: "DeviceConfiguration", AuditResourceType: "DeviceConfiguration", ResourceID: guidString(guidBytes(r))}}
		default:
			e.Actor = f.userActor(adminIntune)
			e.Resources = []AuditResource{{DisplayName: mobileApps[r.IntN(len(mobileApps))], ModifiedProperties: []AuditProperty{},
				Type: "MobileApp", AuditResourceType: "MobileApp", ResourceID: guidString(guidBytes(r))}}
		}
		events = append(events, e)
	}

	plantedEvent := func(age time.Duration, typ, activity, op, category, component string, actor AuditActor, res AuditResource) {
		events = append(events, AuditEvent{
			ID: guidString(guidBytes(r)), DisplayName: typ, ComponentName: component, Actor: actor,
			Activity: activity, ActivityDateTime: f.base.Add(-age), ActivityType: typ, ActivityOperationType: op,
			ActivityResult: "Success", CorrelationID: guidString(guidBytes(r)), Resources: []AuditResource{res}, Category: category,
		})
	}
	if f.n >= len(Scenarios) {
		plantedEvent(plantedPolicyAge, AuditPolicyChange, "Patch", "Patch", "Compliance", "DeviceCompliance", f.userActor(adminPlanted),
			AuditResource{DisplayName: IOSPolicyName, Type: "DeviceCompliancePolicy", AuditResourceType: "DeviceCompliancePolicy",
				ResourceID: f.tenant.policyIDs[policyIOS], ModifiedProperties: []AuditProperty{
					{DisplayName: "SecurityBlockJailbrokenDevices", OldValue: "True", NewValue: "False"},
					{DisplayName: "Version", OldValue: "3", NewValue: "4"},
				}})
		plantedEvent(plantedLockAge, AuditRemoteLock, "RemoteLock", "Action", "Device", "ManagedDevices", f.userActor(adminHelpdesk2),
			deviceResource(f.DeviceAt(f.PlantedIndex(ScenarioJailbrokenIPhone))))
		plantedEvent(plantedWipeAge, AuditWipe, "Wipe", "Action", "Device", "ManagedDevices", f.userActor(adminPlanted),
			deviceResource(f.DeviceAt(f.PlantedIndex(ScenarioRareAppAndroid)),
				AuditProperty{DisplayName: "KeepEnrollmentData", NewValue: "False"},
				AuditProperty{DisplayName: "KeepUserData", NewValue: "False"}))
		plantedEvent(plantedRetireAge, AuditRetire, "Retire", "Action", "Device", "ManagedDevices", f.userActor(adminIntune),
			deviceResource(f.DeviceAt(f.PlantedIndex(ScenarioStaleDevice))))
	}
	slices.SortStableFunc(events, func(a, b AuditEvent) int { return a.ActivityDateTime.Compare(b.ActivityDateTime) })
	f.audit = events
}
