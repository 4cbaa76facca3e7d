package playbooks

import (
	"hash/maphash"
	"slices"
	"strings"

	"github.com/custos-ir/custos/collect"
)

// Fleet is the context a single record lacks: how common an app is across
// the devices whose inventory was collected. It holds counts, not the app
// records: an analysis counts every app record once (CountApp) before it
// evaluates any.
type Fleet struct {
	developer      []string       // device categories declared as developers' devices
	appDevices     map[string]int // app key -> devices carrying it
	withApps       map[string]bool
	pairs          map[uint64]struct{} // app key and device counted, hashed
	seed           maphash.Seed
	testDevices    int // playbook tests set the counts directly
	testAppDevices int
	v              *FleetView
}

// FleetView is the fleet as expressions see it.
type FleetView struct {
	// Developer reports whether the device is in a group the analysis
	// declared as the developers' devices (Fleet.Developer).
	Developer func(device any) bool
	// Devices is the number of devices whose app inventory was
	// collected.
	Devices func() int
	// DevicesWithApp is the number of devices carrying the app (any
	// version).
	DevicesWithApp func(app any) int
}

// view returns f's FleetView.
func (f *Fleet) view() *FleetView {
	if f.v == nil {
		f.v = &FleetView{
			Developer: func(d any) bool {
				switch d := d.(type) {
				case *collect.Device:
					return d != nil && f.Developer(*d)
				case collect.Device:
					return f.Developer(d)
				}
				return false
			},
			Devices: f.Devices,
			DevicesWithApp: func(a any) int {
				switch a := a.(type) {
				case *collect.App:
					return f.DevicesWithApp(a)
				case collect.App:
					return f.DevicesWithApp(&a)
				}
				return 0
			},
		}
	}
	return f.v
}

// NewFleet returns an empty fleet; CountApp fills it.
func NewFleet() *Fleet {
	return &Fleet{appDevices: map[string]int{}, withApps: map[string]bool{}, pairs: map[uint64]struct{}{}, seed: maphash.MakeSeed()}
}

// CountApp counts an app record: a device carrying an app twice (two
// versions, two sources' records) counts once. The pairs already counted
// are kept as 64-bit hashes under a seed drawn per analysis.
func (f *Fleet) CountApp(a collect.App) {
	f.count([]byte(AppKey(a)), []byte(a.DeviceKey))
}

// count counts the app of key on device.
func (f *Fleet) count(key, device []byte) {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.Write(key)
	h.WriteByte(0)
	h.Write(device)
	n := len(f.pairs)
	if f.pairs[h.Sum64()] = struct{}{}; len(f.pairs) == n {
		return // this device was counted for this app
	}
	if _, ok := f.appDevices[string(key)]; ok {
		f.appDevices[string(key)]++
	} else {
		f.appDevices[string(key)] = 1
	}
	if !f.withApps[string(device)] {
		f.withApps[string(device)] = true
	}
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
func (f *Fleet) Devices() int {
	if f.appDevices == nil {
		return f.testDevices
	}
	return len(f.withApps)
}

// DevicesWithApp is the number of devices carrying app (any version).
func (f *Fleet) DevicesWithApp(app *collect.App) int {
	if app == nil {
		return 0
	}
	if f.appDevices == nil {
		return f.testAppDevices
	}
	return f.appDevices[AppKey(*app)]
}

// Developer reports whether d is in a group the analysis declared as the
// developers' devices (Options.DeveloperGroups, matched against the
// device's category: Intune's device category, AMAPI's policy). On those,
// ADB and developer options are expected.
func (f *Fleet) Developer(d collect.Device) bool {
	return f != nil && d.Category != "" && slices.Contains(f.developer, d.Category)
}
