package intune

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/mdmsim"
)

// Compliance policy states and admin audit events become events: one
// compliance_state per policy per device, admin_action events about
// collected devices (the planted wipe by the planted admin among them) and
// the tenant-level policy change without a device.
func TestComplianceAndAuditEvents(t *testing.T) {
	sim, cfg := newSim(t)
	dir, err := collectAll(t, cfg, collect.Request{All: true})
	if err != nil {
		t.Fatal(err)
	}
	events := collecttest.ReadLines[collect.Event](t, filepath.Join(dir, collect.EventsFile))
	compliance := map[string]int{}
	var wipe, policyChange bool
	for _, e := range events {
		switch e.Type {
		case EventComplianceState:
			compliance[e.DeviceKey]++
			if e.Fields["policy"] == "" || e.Fields["state"] == "" || e.Raw.Path == "" || e.Raw.Pointer == "" {
				t.Errorf("compliance event %+v", e)
			}
		case EventAdminAction:
			if e.Raw.Path == "" || e.Time.IsZero() || e.Fields["actor"] == "" {
				t.Errorf("admin event %+v", e)
			}
			if e.Fields["activity_type"] == mdmsim.AuditWipe && e.Fields["actor"] == mdmsim.PlantedAdminActor && e.DeviceKey != "" {
				wipe = true
			}
			if e.DeviceKey == "" && e.Fields["category"] == "Compliance" {
				policyChange = true
			}
		default:
			t.Errorf("unexpected event type %q", e.Type)
		}
	}
	if len(compliance) != len(sim.Fleet().Devices) {
		t.Errorf("compliance states for %d devices, fleet has %d", len(compliance), len(sim.Fleet().Devices))
	}
	if !wipe {
		t.Error("the planted wipe by the planted admin is not an admin_action event on its device")
	}
	if !policyChange {
		t.Error("the tenant-level compliance policy change is not an admin_action event without a device")
	}
}

// Events before --since are left out, even if $filter was ignored.
func TestAuditSinceFiltersLocally(t *testing.T) {
	_, cfg := newSim(t)
	since := time.Now().Add(-24 * time.Hour)
	dir, err := collectAll(t, cfg, collect.Request{All: true, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range collecttest.ReadLines[collect.Event](t, filepath.Join(dir, collect.EventsFile)) {
		if e.Type == EventAdminAction && e.Time.Before(since) {
			t.Errorf("admin event of %s before --since %s", e.Time, since)
		}
	}
}
