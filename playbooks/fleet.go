package playbooks

import (
	"bytes"
	"slices"

	"github.com/custos-ir/custos/collect"
)

// Fleet is the context a single record lacks: how common an app is across
// the devices whose inventory was collected. It holds counts, not the app
// records: an analysis counts every app record once (CountApp) before it
// evaluates any.
type Fleet struct {
	developer []string // device categories declared as developers' devices
	// Each app key gets a number; each device the sorted numbers of its
	// apps. The records of one device mostly come together: they are
	// gathered (run) and merged into the device's when another device's
	// come.
	ids     map[string]uint32
	counts  []int32 // devices carrying each app
	devApps map[string][]uint32
	run     string // the device whose records come now
	runApps []uint32
	key     []byte // scratch for an app's key

	testDevices    int // playbook tests set the counts directly
	testAppDevices int
	v              *FleetView
}

// NewFleet returns an empty fleet; CountApp fills it.
func NewFleet() *Fleet {
	return &Fleet{ids: map[string]uint32{}, devApps: map[string][]uint32{}}
}

// CountApp counts an app record: a device carrying an app twice (two
// versions, two sources' records) counts once.
func (f *Fleet) CountApp(a collect.App) {
	f.count(appendAppKey(nil, []byte(a.AppID), []byte(a.Name), []byte(a.Publisher)), []byte(a.DeviceKey))
}

// count counts the app of key on device.
func (f *Fleet) count(key, device []byte) {
	id, ok := f.ids[string(key)]
	if !ok {
		id = uint32(len(f.counts))
		f.ids[string(key)] = id
		f.counts = append(f.counts, 0)
	}
	if string(device) != f.run {
		f.settle()
		f.run = string(device)
	}
	f.runApps = append(f.runApps, id)
}

// settle merges the current run into its device's apps, counting the
// apps the device had not carried yet.
func (f *Fleet) settle() {
	if len(f.runApps) == 0 {
		return
	}
	slices.Sort(f.runApps)
	run := slices.Compact(f.runApps)
	had := f.devApps[f.run]
	merged := make([]uint32, 0, len(had)+len(run))
	i := 0
	for _, id := range run {
		for i < len(had) && had[i] < id {
			merged = append(merged, had[i])
			i++
		}
		if i < len(had) && had[i] == id {
			continue // counted with an earlier run
		}
		merged = append(merged, id)
		f.counts[id]++
	}
	merged = append(merged, had[i:]...)
	f.devApps[f.run] = merged
	f.run, f.runApps = "", f.runApps[:0]
}

// AppKey identifies an app across devices regardless of version: the
// bundle id or package name when the source reports one, otherwise the
// display name and publisher (Intune reports nothing better).
func AppKey(a collect.App) string {
	return string(appendAppKey(nil, []byte(a.AppID), []byte(a.Name), []byte(a.Publisher)))
}

// appendAppKey appends the AppKey of an app of this id, name and
// publisher.
func appendAppKey(b, id, name, publisher []byte) []byte {
	if len(id) > 0 {
		return append(append(b, "id:"...), id...)
	}
	b = append(append(b, "name:"...), bytes.ToLower(bytes.TrimSpace(name))...)
	return append(append(b, '|'), bytes.ToLower(bytes.TrimSpace(publisher))...)
}

// Devices is the number of devices whose app inventory was collected.
func (f *Fleet) Devices() int {
	if f.ids == nil {
		return f.testDevices
	}
	f.settle()
	return len(f.devApps)
}

// DevicesWithApp is the number of devices carrying app (any version).
func (f *Fleet) DevicesWithApp(app *collect.App) int {
	if app == nil {
		return 0
	}
	if f.ids == nil {
		return f.testAppDevices
	}
	f.settle()
	id, ok := f.ids[AppKey(*app)]
	if !ok {
		return 0
	}
	return int(f.counts[id])
}

// Developer reports whether d is in a group the analysis declared as the
// developers' devices (Options.DeveloperGroups, matched against the
// device's category: Intune's device category, AMAPI's policy). On those,
// ADB and developer options are expected.
func (f *Fleet) Developer(d collect.Device) bool {
	return f != nil && d.Category != "" && slices.Contains(f.developer, d.Category)
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
