package intune

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
)

// Event types this source writes.
const (
	// EventComplianceState is one compliance policy's state on a device,
	// as of the device's last check-in.
	EventComplianceState = "compliance_state"
	// EventAdminAction is an Intune admin audit event (wipe, retire, lock,
	// policy change …) naming a device, or the tenant when DeviceKey is "".
	EventAdminAction = "admin_action"
)

// policyState is a v1.0 deviceCompliancePolicyState.
type policyState struct {
	ID            string `json:"id"`
	DisplayName   string `json:"displayName"`
	Version       int    `json:"version"`
	PlatformType  string `json:"platformType"`
	State         string `json:"state"`
	SettingCount  int    `json:"settingCount"`
	SettingStates []struct {
		Setting      string `json:"setting"`
		SettingName  string `json:"settingName"`
		State        string `json:"state"`
		CurrentValue string `json:"currentValue"`
	} `json:"settingStates"`
}

// complianceCall is the per-device deviceCompliancePolicyStates request.
func complianceCall(id string) call {
	return call{version: "v1.0", segs: []string{"deviceManagement", "managedDevices", id, "deviceCompliancePolicyStates"}}
}

// complianceRecords writes one compliance_state event per policy of d on
// one page of its deviceCompliancePolicyStates, dated at d's last check-in
// (when Intune last evaluated it).
func complianceRecords(d collect.Device, p page, ref collect.RawRef, sink collect.Sink) error {
	when := time.Time{}
	if d.LastSeenAt != nil {
		when = *d.LastSeenAt
	}
	for i, raw := range p.Value {
		var ps policyState
		if err := json.Unmarshal(raw, &ps); err != nil {
			return fmt.Errorf("decoding %s: %w", where(at(ref, i)), err)
		}
		var failing []string
		for _, st := range ps.SettingStates {
			if st.State != "" && !strings.EqualFold(st.State, "compliant") && !strings.EqualFold(st.State, "notApplicable") {
				failing = append(failing, strings.TrimSpace(st.SettingName+" "+st.State+" "+st.CurrentValue))
			}
		}
		fields := map[string]any{"policy": ps.DisplayName, "policy_id": ps.ID, "version": ps.Version,
			"platform": ps.PlatformType, "state": ps.State, "setting_count": ps.SettingCount}
		if len(failing) > 0 {
			fields["failing_settings"] = failing
		}
		if err := sink.Event(collect.Event{DeviceKey: d.Key, Time: when, Type: EventComplianceState, Fields: fields, Raw: at(ref, i)}); err != nil {
			return err
		}
	}
	return nil
}

// auditEvent is a v1.0 auditEvent.
type auditEvent struct {
	ID                    string    `json:"id"`
	DisplayName           string    `json:"displayName"`
	ComponentName         string    `json:"componentName"`
	Activity              string    `json:"activity"`
	ActivityDateTime      time.Time `json:"activityDateTime"`
	ActivityType          string    `json:"activityType"`
	ActivityOperationType string    `json:"activityOperationType"`
	ActivityResult        string    `json:"activityResult"`
	CorrelationID         string    `json:"correlationId"`
	Category              string    `json:"category"`
	Actor                 struct {
		Type                   string `json:"type"`
		UserPrincipalName      string `json:"userPrincipalName"`
		ApplicationDisplayName string `json:"applicationDisplayName"`
		ServicePrincipalName   string `json:"servicePrincipalName"`
		IPAddress              string `json:"ipAddress"`
	} `json:"actor"`
	Resources []struct {
		DisplayName       string `json:"displayName"`
		Type              string `json:"type"`
		AuditResourceType string `json:"auditResourceType"`
		ResourceID        string `json:"resourceId"`
	} `json:"resources"`
}

// unitAudit is the unit of the admin audit events: they are read once, and
// not again after a resume that finds them done.
const unitAudit = Name + ":auditEvents"

// auditEvents writes the tenant's admin audit events since req.Since as
// admin_action events, filed under their own unit: one per device resource
// among the collected devices, and one without a device for an event that
// names none (a policy change, say). Events about devices outside the
// selection are left out (they stay in the raw responses). A listing that
// fails becomes a gap, unless the run must stop.
func (s *Source) auditEvents(ctx context.Context, req collect.Request, devices []collect.Device, sink collect.Sink) error {
	if req.IsDone(unitAudit) {
		return nil
	}
	keys := map[string]string{}
	for _, d := range devices {
		keys[d.SourceID] = d.Key
	}
	unit := sink.Within(unitAudit)
	u := s.graph.Base.JoinPath("v1.0", "deviceManagement", "auditEvents")
	if !req.Since.IsZero() {
		u.RawQuery = "$filter=" + url.QueryEscape("activityDateTime ge "+req.Since.UTC().Format(time.RFC3339))
	}
	err := s.eachPage(ctx, u, sink, func(p page, ref collect.RawRef) error {
		return auditRecords(req.Since, keys, p, ref, unit)
	})
	if err != nil {
		if err := httpsource.GapOrStop(ctx, err, unit, collect.Gap{Source: Name, Telemetry: collect.TelemetryAdminAudit, Detail: "auditEvents"}); err != nil {
			return err
		}
	}
	return sink.UnitDone(unitAudit)
}

// auditRecords writes the admin_action events of one page of auditEvents:
// one per collected device it names (keys: device id → record key, each
// device once), or one without a device when it names none.
func auditRecords(since time.Time, keys map[string]string, p page, ref collect.RawRef, sink collect.Sink) error {
	for i, raw := range p.Value {
		var ae auditEvent
		if err := json.Unmarshal(raw, &ae); err != nil {
			return fmt.Errorf("decoding %s: %w", where(at(ref, i)), err)
		}
		if ae.ActivityDateTime.Before(since) {
			continue // re-filtered locally, whatever $filter did
		}
		actor := ae.Actor.UserPrincipalName
		if actor == "" {
			actor = firstNonEmpty(ae.Actor.ApplicationDisplayName, ae.Actor.ServicePrincipalName)
		}
		var resources, devs []string
		named := false
		for _, res := range ae.Resources {
			resources = append(resources, strings.TrimSpace(res.Type+" "+res.DisplayName))
			if k, ok := keys[res.ResourceID]; ok && !slices.Contains(devs, k) {
				devs = append(devs, k)
			}
			named = named || strings.EqualFold(res.AuditResourceType, "ManagedDevice") || strings.EqualFold(res.Type, "ManagedDevice")
		}
		fields := map[string]any{"activity": ae.Activity, "activity_type": ae.ActivityType, "operation": ae.ActivityOperationType,
			"result": ae.ActivityResult, "category": ae.Category, "actor": actor, "actor_type": ae.Actor.Type,
			"actor_ip": ae.Actor.IPAddress, "resources": resources, "correlation_id": ae.CorrelationID, "audit_id": ae.ID}
		if len(devs) == 0 {
			if named {
				continue // about a device outside the selection
			}
			devs = []string{""}
		}
		for _, k := range devs {
			if err := sink.Event(collect.Event{DeviceKey: k, Time: ae.ActivityDateTime.UTC(), Type: EventAdminAction, Fields: fields, Raw: at(ref, i)}); err != nil {
				return err
			}
		}
	}
	return nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
