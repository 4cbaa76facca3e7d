package playbooks

import (
	"slices"
	"strings"

	"github.com/custos-ir/custos/collect"
)

// Fleet is the context a single record lacks: how common an app is across
// the devices whose inventory was collected.
type Fleet struct {
	developer      []string // device categories declared as developers' devices
	devices        int
	appDevices     map[string]map[string]bool // app key -> device keys
	testAppDevices int                        // playbook tests set prevalence directly
}

// NewFleet computes fleet context from all app records of an analysis.
func NewFleet(apps []collect.App) *Fleet {
	f := &Fleet{appDevices: map[string]map[string]bool{}}
	withApps := map[string]bool{}
	for _, a := range apps {
		k := AppKey(a)
		if f.appDevices[k] == nil {
			f.appDevices[k] = map[string]bool{}
		}
		f.appDevices[k][a.DeviceKey] = true
		withApps[a.DeviceKey] = true
	}
	f.devices = len(withApps)
	return f
}

// AppKey identifies an app across devices regardless of version: the
// bundle id or package name when the source reports one, otherwise the
// display name and publisher (Intune reports nothing better).
func AppKey(a collect.App) string {
	if a.AppID != "" {
		return "id:" + a.AppID
	}
	return "name:" + strings.ToLower(strings.TrimSpace(a.Name)) + "|" + strings.ToLower(strings.TrimSpace(a.Publisher))
}

// Devices is the number of devices whose app inventory was collected.
func (f *Fleet) Devices() int { return f.devices }

// DevicesWithApp is the number of devices carrying app (any version).
func (f *Fleet) DevicesWithApp(app *collect.App) int {
	if app == nil {
		return 0
	}
	if f.appDevices == nil {
		return f.testAppDevices
	}
	return len(f.appDevices[AppKey(*app)])
}

// Developer reports whether d is in a group the analysis declared as the
// developers' devices (Options.DeveloperGroups, matched against the
// device's category: Intune's device category, AMAPI's policy). On those,
// ADB and developer options are expected.
func (f *Fleet) Developer(d collect.Device) bool {
	return f != nil && d.Category != "" && slices.Contains(f.developer, d.Category)
}
