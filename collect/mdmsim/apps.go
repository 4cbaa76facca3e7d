package mdmsim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
)

// An app key is a dense uint16 naming one detectedApp: a platform, an app
// and a version. Devices hold their apps as keys; the fleet keeps, per key,
// the positions of the devices reporting it. The table is the same for
// every fleet (it depends only on the catalogues) and is read-only.

// Platforms, in key-table order.
const (
	platIOS = iota
	platWorkProfile
	platFullyManaged
	numPlatforms
)

var platformNames = [numPlatforms]string{PlatformIOS, PlatformAndroidWorkProfile, PlatformAndroidFullyManaged}

func catalogOf(plat int) []catalogApp {
	if plat == platIOS {
		return iosCatalog
	}
	return androidCatalog
}

type appKeyInfo struct {
	plat int
	cat  *catalogApp
	ci   int // index of cat in its catalogue, or -1 for a planted app
	ver  int
	app  DetectedApp // without DeviceCount
	rank uint16      // position of the key when all keys are sorted by id
}

type appKeyTable struct {
	keys []appKeyInfo
	// byCat[plat][ci][ver] is the key of a catalogue app version. Entries
	// of different catalogue rows with the same (platform, name, version)
	// share a key, as they share an id.
	byCat   [numPlatforms][][]uint16
	planted map[string]uint16 // scenario -> key of its planted app
}

var appKeys = buildAppKeys()

func buildAppKeys() *appKeyTable {
	t := &appKeyTable{planted: map[string]uint16{}}
	byID := map[string]uint16{}
	add := func(plat int, cat *catalogApp, ci, ver int) uint16 {
		a := makeApp(platformNames[plat], cat, ver)
		if k, ok := byID[a.ID]; ok {
			return k
		}
		k := uint16(len(t.keys))
		byID[a.ID] = k
		t.keys = append(t.keys, appKeyInfo{plat: plat, cat: cat, ci: ci, ver: ver, app: a})
		return k
	}
	for plat := range numPlatforms {
		cat := catalogOf(plat)
		t.byCat[plat] = make([][]uint16, len(cat))
		for ci := range cat {
			for v := range cat[ci].versions {
				t.byCat[plat][ci] = append(t.byCat[plat][ci], add(plat, &cat[ci], ci, v))
			}
		}
	}
	t.planted[ScenarioJailbrokenIPhone] = add(platIOS, &sileoApp, -1, 0)
	t.planted[ScenarioRareAppAndroid] = add(platFullyManaged, &rogueApp, -1, 0)
	t.planted[ScenarioDeveloperPhone] = add(platFullyManaged, &termux, -1, 0)
	order := make([]int, len(t.keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(t.keys[a].app.ID, t.keys[b].app.ID) })
	for r, k := range order {
		t.keys[k].rank = uint16(r)
	}
	return t
}

// makeApp builds the detectedApp of a catalogue app version. Its id is
// the 64-hex SHA-256 of platform, name and version: stable per platform,
// app and version, the same on every device.
func makeApp(platform string, cat *catalogApp, ver int) DetectedApp {
	v := cat.versions[ver]
	sum := sha256.Sum256([]byte(platform + "\x00" + cat.name + "\x00" + v))
	// Size varies per version but is the same on every device, derived from
	// the id so it does not consume a random stream.
	jitter := int64(binary.BigEndian.Uint32(sum[:4]) % 1_000_000)
	return DetectedApp{
		ID:          hex.EncodeToString(sum[:]),
		DisplayName: cat.name,
		Version:     v,
		SizeInByte:  cat.sizeMB*1_000_000 + jitter,
		Publisher:   cat.publisher,
		Platform:    platform,
		Managed:     cat.managed,
	}
}

// detected returns the app of a key with this fleet's device count.
func (f *Fleet) detected(k uint16) DetectedApp {
	a := appKeys.keys[k].app
	a.DeviceCount = int32(len(f.holders[k]))
	return a
}

// baseInstalls draws the apps of device g from its own stream: each
// catalogue app of its platform (and maker) independently, then a version,
// the newest more often than not.
func (f *Fleet) baseInstalls(g int, k kind) []uint16 {
	r := f.rng(g, streamApps)
	plat := k.platform()
	cat := catalogOf(plat)
	maker := k.model().manufacturer
	out := make([]uint16, 0, len(cat))
	for ci := range cat {
		a := &cat[ci]
		if a.maker != "" && a.maker != maker {
			continue
		}
		// Optional apps are kept with probability percent/100 scaled by
		// appsPerDevice/DefaultAppsPerDevice.
		if a.percent < 100 && r.IntN(100*DefaultAppsPerDevice) >= a.percent*f.appsPerDevice {
			continue
		}
		ver := 0
		if len(a.versions) > 1 {
			if r.IntN(100) < 60 {
				ver = len(a.versions) - 1
			} else {
				ver = r.IntN(len(a.versions) - 1)
			}
		}
		out = append(out, appKeys.byCat[plat][ci][ver])
	}
	return out
}

// installs returns the ground-truth app keys of device g: its draws as
// corrected by fixSingletons, plus its scenario's planted app.
func (f *Fleet) installs(g int, k kind) []uint16 {
	keys, ok := f.override[int32(g)]
	if ok {
		keys = slices.Clone(keys)
	} else {
		keys = f.baseInstalls(g, k)
	}
	if pk, ok := appKeys.planted[k.scenario]; ok {
		keys = append(keys, pk)
	}
	slices.SortFunc(keys, func(a, b uint16) int { return int(appKeys.keys[a].rank) - int(appKeys.keys[b].rank) })
	return keys
}

// buildApps draws every device's apps once, corrects them so that every
// ordinary app+version a device reports is reported by at least one other
// device, keeps the corrections, and indexes app -> reporting devices. The
// per-device draws are dropped afterwards: they are cheap to redraw.
func (f *Fleet) buildApps(kinds []kind) {
	n := f.n
	inst := make([][]uint16, n) // by position
	for p := range inst {
		g := int(f.gen[p])
		inst[p] = f.baseInstalls(g, kinds[g])
	}
	byPos := func(p int) kind { return kinds[f.gen[p]] }
	changed := fixSingletons(inst, byPos)
	f.override = map[int32][]uint16{}
	for p, c := range changed {
		if c {
			f.override[f.gen[p]] = slices.Clip(inst[p])
		}
	}

	count := make([]int32, len(appKeys.keys))
	for p, keys := range inst {
		k := byPos(p)
		for _, key := range keys {
			if reports(k.personal, appKeys.keys[key].cat.managed) {
				count[key]++
			}
		}
	}
	for g, name := range Scenarios {
		if g < n && n >= len(Scenarios) {
			count[appKeys.planted[name]]++
		}
	}
	f.holders = make([][]int32, len(appKeys.keys))
	for key, c := range count {
		if c > 0 {
			f.holders[key] = make([]int32, 0, c)
		}
	}
	for p, keys := range inst {
		k := byPos(p)
		if pk, ok := appKeys.planted[k.scenario]; ok && n >= len(Scenarios) {
			keys = append(keys, pk)
		}
		for _, key := range keys {
			if reports(k.personal, appKeys.keys[key].cat.managed) {
				f.holders[key] = append(f.holders[key], int32(p))
			}
		}
		inst[p] = nil
	}

	order := make([]uint16, 0, len(appKeys.keys))
	for key := range appKeys.keys {
		if len(f.holders[key]) > 0 {
			order = append(order, uint16(key))
		}
	}
	slices.SortFunc(order, func(a, b uint16) int { return int(appKeys.keys[a].rank) - int(appKeys.keys[b].rank) })
	f.apps = make([]DetectedApp, len(order))
	f.appKey = make(map[string]uint16, len(order))
	for i, key := range order {
		f.apps[i] = f.detected(key)
		f.appKey[f.apps[i].ID] = key
	}
}

// fixSingletons makes every reported app+version present on at least two
// devices, so that the planted apps are the only ones with a device count
// of one. Only reported installs with a count of exactly one are touched,
// and each fix either raises a count from one to two or more, or lowers it
// from one to zero, so one pass in position order suffices. It reports
// which positions it changed.
func fixSingletons(inst [][]uint16, kindAt func(p int) kind) []bool {
	changed := make([]bool, len(inst))
	count := make([]int, len(appKeys.keys))
	for p, keys := range inst {
		k := kindAt(p)
		for _, key := range keys {
			if reports(k.personal, appKeys.keys[key].cat.managed) {
				count[key]++
			}
		}
	}
	hasApp := func(p int, ci int) bool {
		return slices.ContainsFunc(inst[p], func(key uint16) bool { return appKeys.keys[key].ci == ci })
	}
	for p := range inst {
		k := kindAt(p)
		for i := 0; i < len(inst[p]); i++ {
			key := inst[p][i]
			info := &appKeys.keys[key]
			if !reports(k.personal, info.cat.managed) || count[key] != 1 {
				continue
			}
			// (a) switch to the most common other version already present.
			versions := appKeys.byCat[info.plat][info.ci]
			best, bestN := -1, 0
			for v, vk := range versions {
				if c := count[vk]; v != info.ver && c > bestN {
					best, bestN = v, c
				}
			}
			if best >= 0 {
				count[key]--
				inst[p][i] = versions[best]
				count[versions[best]]++
				changed[p] = true
				continue
			}
			// (b) install the same version on another device of the same
			// platform (and maker) that would report it.
			added := false
			for q := range inst {
				o := kindAt(q)
				if q == p || o.platform() != info.plat || !reports(o.personal, info.cat.managed) ||
					(info.cat.maker != "" && o.model().manufacturer != info.cat.maker) || hasApp(q, info.ci) {
					continue
				}
				inst[q] = append(inst[q], key)
				count[key]++
				changed[q] = true
				added = true
				break
			}
			if added {
				continue
			}
			// (c) nowhere to put a second copy: drop it.
			count[key]--
			inst[p] = slices.Delete(inst[p], i, i+1)
			changed[p] = true
			i--
		}
	}
	return changed
}
