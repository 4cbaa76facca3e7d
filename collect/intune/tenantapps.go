package intune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
)

// App inventory modes (Config.AppInventory).
const (
	// AppsAuto reads the inventory of a whole-tenant collection (--all)
	// app by app when that costs fewer requests than device by device.
	AppsAuto = "auto"
	// AppsByDevice always reads each device's detectedApps (beta).
	AppsByDevice = "device"
	// AppsByTenant reads the tenant's detectedApps and, for each, the
	// devices it is on (v1.0), for --all.
	AppsByTenant = "tenant"
)

// Marker units: the inventory path a run chose, kept in the checkpoint so
// that a resumed run takes the same one (switching would lose or repeat
// the apps of devices finished before the resume).
const (
	unitAppsByTenant = Name + ":inventory:tenant"
	unitAppsByDevice = Name + ":inventory:device"
)

// appUnit is the unit of work of one tenant-wide app: the listing of the
// devices it is on.
func appUnit(id string) string { return Name + ":detectedApp:" + id }

// tenantApp is one entry of the tenant-wide detectedApps listing, with
// where it is stored.
type tenantApp struct {
	app detectedApp
	ref collect.RawRef
}

// errCostly stops the tenant-wide listing once it is clear it would cost
// more than the per-device path.
var errCostly = errors.New("the tenant-wide inventory costs more requests than the per-device one")

// tenantApps lists the tenant's detected apps. Unless force is set it
// stops, returning nil, as soon as the app-by-app path (this listing, then
// one request per page of each app's devices, estimated from its
// deviceCount) reaches budget requests: the cost of the per-device path.
// What was fetched stays in the raw responses either way.
func (s *Source) tenantApps(ctx context.Context, budget int, force bool, sink collect.Sink) ([]tenantApp, error) {
	u := s.graph.Base.JoinPath("v1.0", "deviceManagement", "detectedApps")
	u.RawQuery = odataQuery(AppFields, s.cfg.PageSize, "")
	var out []tenantApp
	cost := 0
	err := s.eachPage(ctx, u, sink, func(p page, ref collect.RawRef) error {
		cost++
		for i, raw := range p.Value {
			var da detectedApp
			if err := json.Unmarshal(raw, &da); err != nil {
				return fmt.Errorf("decoding %s: %w", where(at(ref, i)), err)
			}
			out = append(out, tenantApp{app: da, ref: at(ref, i)})
			cost += max(1, (da.DeviceCount+s.cfg.PageSize-1)/s.cfg.PageSize)
		}
		if !force && cost >= budget {
			return errCostly
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// chooseInventory decides, once per acquisition, how the app inventory of
// a whole-tenant collection is read, and records the choice as a unit.
// byTenant says the app-by-app path was chosen, with the tenant's apps;
// otherwise the inventory is read device by device. todo are the devices
// still to do: the per-device path costs a request for each.
func (s *Source) chooseInventory(ctx context.Context, req collect.Request, todo []collect.Device, sink collect.Sink) (apps []tenantApp, byTenant bool, err error) {
	if !req.All {
		return nil, false, nil
	}
	resuming := req.IsDone(unitAppsByTenant)
	mode := s.cfg.AppInventory
	switch {
	case resuming:
		mode = AppsByTenant
	case req.IsDone(unitAppsByDevice):
		mode = AppsByDevice
	}
	if mode != AppsByDevice {
		apps, err = s.tenantApps(ctx, len(todo), mode == AppsByTenant, sink)
		switch {
		case err == nil:
			byTenant = true
		case httpsource.Fatal(ctx, err) || httpsource.AuthFailed(err):
			return nil, false, fmt.Errorf("intune: tenant detectedApps: %w", err)
		case resuming:
			// The choice is made: the inventory cannot be had another way.
			return nil, false, fmt.Errorf("intune: tenant detectedApps, needed to resume: %w", err)
		}
		// Otherwise costlier, or unavailable: device by device.
	}
	marker := unitAppsByDevice
	if byTenant {
		marker = unitAppsByTenant
	}
	return apps, byTenant, sink.UnitDone(marker)
}

// appDevices reads, for a group of the tenant's apps (one $batch), the
// devices each is on, and writes an App record for each of those among
// the collected devices (keys: device id → record key), filed under the
// app's unit. An app whose devices cannot be listed gets a source-wide
// gap: which devices miss it is unknown.
func (s *Source) appDevices(ctx context.Context, group []tenantApp, keys map[string]string, sink collect.Sink) error {
	var urls []*url.URL
	var apps []tenantApp
	for _, ta := range group {
		if !httpsource.SegmentOK(ta.app.ID) {
			g := collect.Gap{Source: Name, Telemetry: collect.TelemetryAppInventory, Reason: collect.ReasonError,
				Detail: fmt.Sprintf("detected app %q (%s): its id cannot name a Graph resource", ta.app.DisplayName, where(ta.ref))}
			if err := sink.Within(appUnit(ta.app.ID)).Gap(g); err != nil {
				return err
			}
			continue
		}
		urls = append(urls, s.url(appDevicesCall(ta.app.ID, s.cfg.PageSize)))
		apps = append(apps, ta)
	}
	errs, err := s.collections(ctx, urls, sink, func(i int, p page, ref collect.RawRef) error {
		ta := apps[i]
		unit := sink.Within(appUnit(ta.app.ID))
		for j, raw := range p.Value {
			var md struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(raw, &md); err != nil {
				return fmt.Errorf("decoding %s: %w", where(at(ref, j)), err)
			}
			key, ok := keys[md.ID]
			if !ok {
				continue // not among the devices listed (enrolled since, say)
			}
			a := ta.app.record(key, ta.ref)
			link := at(ref, j)
			a.DeviceRef = &link
			if err := unit.App(a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("intune: devices of detected apps: %w", err)
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		ta := apps[i]
		g := collect.Gap{Source: Name, Telemetry: collect.TelemetryAppInventory,
			Detail: fmt.Sprintf("devices of detected app %q %s (reported on %d devices)", ta.app.DisplayName, ta.app.Version, ta.app.DeviceCount)}
		if err := httpsource.GapOrStop(ctx, err, sink.Within(appUnit(ta.app.ID)), g); err != nil {
			return fmt.Errorf("intune: devices of detected app %s: %w", ta.app.ID, err)
		}
	}
	return nil
}

// appDevicesCall lists the devices one detected app is on (v1.0).
func appDevicesCall(id string, top int) call {
	return call{version: "v1.0", segs: []string{"deviceManagement", "detectedApps", id, "managedDevices"},
		query: odataQuery([]string{"id"}, top, "")}
}

// undone returns the apps whose unit is not done yet.
func undone(req collect.Request, apps []tenantApp) []tenantApp {
	return slices.DeleteFunc(slices.Clone(apps), func(ta tenantApp) bool { return req.IsDone(appUnit(ta.app.ID)) })
}
