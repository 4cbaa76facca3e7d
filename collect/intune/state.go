package intune

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
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

// complianceStates writes one compliance_state event per policy of d,
// dated at d's last check-in (when Intune last evaluated it).
func (s *Source) complianceStates(ctx context.Context, d collect.Device, sink collect.Sink) error {
	u := s.graph.Base.JoinPath("v1.0", "deviceManagement", "managedDevices", d.SourceID, "deviceCompliancePolicyStates")
	at := time.Time{}
	if d.LastSeenAt != nil {
		at = *d.LastSeenAt
	}
	return s.eachPage(ctx, u, sink, func(p page, ref collect.RawRef) error {
		for i, raw := range p.Value {
			var ps policyState
			if err := json.Unmarshal(raw, &ps); err != nil {
				return fmt.Errorf("decoding %s#/value/%d: %w", ref.Path, i, err)
			}
			var failing []string
			for _, st := range ps.SettingStates {
				if st.State != "" && !strings.EqualFold(st.State, "compliant") && !strings.EqualFold(st.State, "notApplicable") {
					failing = append(failing, strings.TrimSpace(st.SettingName+" "+st.State+" "+st.CurrentValue))
				}
			}
			r := ref
			r.Pointer = fmt.Sprintf("/value/%d", i)
			fields := map[string]any{"policy": ps.DisplayName, "policy_id": ps.ID, "version": ps.Version,
				"platform": ps.PlatformType, "state": ps.State, "setting_count": ps.SettingCount}
			if len(failing) > 0 {
				fields["failing_settings"] = failing
			}
			if err := sink.Event(collect.Event{DeviceKey: d.Key, Time: at, Type: EventComplianceState, Fields: fields, Raw: r}); err != nil {
				return err
			}
		}
		return nil
	})
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

// auditEvents writes the tenant's admin audit events since since as
// admin_action events: one per device resource among the collected
// devices, and one without a device for an event that names none (a
// policy change, say). Events about devices outside the selection are
// left out (they stay in the raw responses).
func (s *Source) auditEvents(ctx context.Context, since time.Time, devices []collect.Device, sink collect.Sink) error {
	keys := map[string]string{}
	for _, d := range devices {
		keys[d.SourceID] = d.Key
	}
	u := s.graph.Base.JoinPath("v1.0", "deviceManagement", "auditEvents")
	if !since.IsZero() {
		u.RawQuery = "$filter=" + url.QueryEscape("activityDateTime ge "+since.UTC().Format(time.RFC3339))
	}
	return s.eachPage(ctx, u, sink, func(p page, ref collect.RawRef) error {
		for i, raw := range p.Value {
			var ae auditEvent
			if err := json.Unmarshal(raw, &ae); err != nil {
				return fmt.Errorf("decoding %s#/value/%d: %w", ref.Path, i, err)
			}
			if ae.ActivityDateTime.Before(since) {
				continue // re-filtered locally, whatever $filter did
			}
			r := ref
			r.Pointer = fmt.Sprintf("/value/%d", i)
			actor := ae.Actor.UserPrincipalName
			if actor == "" {
				actor = firstNonEmpty(ae.Actor.ApplicationDisplayName, ae.Actor.ServicePrincipalName)
			}
			var resources []string
			var devs []string
			for _, res := range ae.Resources {
				resources = append(resources, strings.TrimSpace(res.Type+" "+res.DisplayName))
				if k, ok := keys[res.ResourceID]; ok {
					devs = append(devs, k)
				}
			}
			fields := map[string]any{"activity": ae.Activity, "activity_type": ae.ActivityType, "operation": ae.ActivityOperationType,
				"result": ae.ActivityResult, "category": ae.Category, "actor": actor, "actor_type": ae.Actor.Type,
				"actor_ip": ae.Actor.IPAddress, "resources": resources, "correlation_id": ae.CorrelationID, "audit_id": ae.ID}
			if len(devs) == 0 {
				named := false
				for _, res := range ae.Resources {
					named = named || strings.EqualFold(res.AuditResourceType, "ManagedDevice") || strings.EqualFold(res.Type, "ManagedDevice")
				}
				if named {
					continue // about a device outside the selection
				}
				devs = []string{""}
			}
			for _, k := range devs {
				if err := sink.Event(collect.Event{DeviceKey: k, Time: ae.ActivityDateTime.UTC(), Type: EventAdminAction, Fields: fields, Raw: r}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
