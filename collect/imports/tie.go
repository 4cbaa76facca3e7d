package imports

import (
	"fmt"
	"strings"
)

// App exports of Jamf Pro and Workspace ONE name each app's device by
// whichever identifiers their search displays: the console's own id, the
// UDID, the serial number. A deviceIndex ties such a row to the device
// record, read from a device export, that shares an identifier with it, or
// says why it cannot: an app is never put on another device, nor beside
// its own device under another key.

// The kinds of identifier a row may name its device by, in the order the
// key prefers them (rowID).
const (
	idOwn = iota // the console's id
	idUDID
	idSerial
	idKinds
)

// deviceIDs are the identifiers of one device row or app row.
type deviceIDs struct {
	v        [idKinds]string // as written, trimmed; "" when the row has none
	file     string
	line     int
	key      string // a device row's record key
	sourceID string // a device row's source id
}

func rowIDs(c cols, r csvRow) (v [idKinds]string) {
	for k, f := range [idKinds]string{"id", "udid", "serial"} {
		v[k] = strings.TrimSpace(c.get(r, f))
	}
	return v
}

// mask is the set of kinds the row has.
func (w deviceIDs) mask() int {
	m := 0
	for k, v := range w.v {
		if v != "" {
			m |= 1 << k
		}
	}
	return m
}

// match is how a value compares: ids as written, UDIDs and serial numbers
// in any case.
func (w deviceIDs) match(k int) string {
	if k == idOwn {
		return w.v[k]
	}
	return strings.ToUpper(w.v[k])
}

func (w deviceIDs) at() string { return fmt.Sprintf("%s:%d", w.file, w.line) }

// idMatch is the devices that have one identifier: the first, and how
// many.
type idMatch struct{ first, n int }

// deviceIndex indexes the device records of a source's device exports.
type deviceIndex struct {
	source      string
	names       [idKinds]string // the kinds as the source's exports name them
	devs        []deviceIDs
	by          [idKinds]map[string]idMatch
	firstOfMask [1 << idKinds]int // the first device with exactly these kinds, else -1
}

func newDeviceIndex(source string, names [idKinds]string, devs []deviceIDs) *deviceIndex {
	x := &deviceIndex{source: source, names: names, devs: devs}
	for k := range x.by {
		x.by[k] = map[string]idMatch{}
	}
	for m := range x.firstOfMask {
		x.firstOfMask[m] = -1
	}
	for i, d := range devs {
		if x.firstOfMask[d.mask()] < 0 {
			x.firstOfMask[d.mask()] = i
		}
		for k := range idKinds {
			if d.v[k] != "" {
				m, seen := x.by[k][d.match(k)]
				if !seen {
					m.first = i
				}
				m.n++
				x.by[k][d.match(k)] = m
			}
		}
	}
	return x
}

// kindsOf names the kinds of mask m, joined with conj.
func (x *deviceIndex) kindsOf(m int, conj string) string {
	var out []string
	for k := range idKinds {
		if m&(1<<k) != 0 {
			out = append(out, x.names[k])
		}
	}
	if len(out) > 1 {
		return strings.Join(out[:len(out)-1], ", ") + " " + conj + " " + out[len(out)-1]
	}
	return strings.Join(out, "")
}

// deviceOf returns the key of the device the app row w names: the device
// record its row names (by its id, else its UDID, else its serial number),
// else the key a device export would give it (<source>:<id>,
// <source>:udid:…, <source>:serial:…), with found false. It fails rather
// than guess or leave the app beside its device under another key: when
// the row's identifiers disagree with the device it names, when only an
// identifier several devices share names it, or when it names no device
// record though a device export lists a device it cannot be compared with
// (one that has none of the row's kinds of identifier).
func (x *deviceIndex) deviceOf(w deviceIDs) (key string, found bool, err error) {
	dev, by, shared := -1, -1, -1
	for k := range idKinds {
		if w.v[k] == "" {
			continue
		}
		switch m, ok := x.by[k][w.match(k)]; {
		case !ok:
		case m.n > 1:
			if shared < 0 {
				shared = k
			}
		case dev < 0:
			dev, by = m.first, k
		}
	}
	if dev >= 0 {
		d := x.devs[dev]
		for k := range idKinds {
			if w.v[k] == "" || k == by {
				continue
			}
			if d.v[k] != "" {
				if w.match(k) != d.match(k) {
					return "", false, fmt.Errorf("this app's row names device %q (%s) by its %s, but gives %s %q where the device has %q",
						d.sourceID, d.at(), x.names[by], x.names[k], w.v[k], d.v[k])
				}
				continue
			}
			if m, ok := x.by[k][w.match(k)]; ok {
				return "", false, fmt.Errorf("this app's row names device %q (%s) by its %s, but its %s %q is another device's (%s)",
					d.sourceID, d.at(), x.names[by], x.names[k], w.v[k], x.devs[m.first].at())
			}
		}
		return d.key, true, nil
	}
	if shared >= 0 {
		m := x.by[shared][w.match(shared)]
		return "", false, fmt.Errorf("cannot tell which device this app is on: %d devices have its %s %q (the first on %s), and the row has no other identifier to tell them apart",
			m.n, x.names[shared], w.v[shared], x.devs[m.first].at())
	}
	best := -1 // the first device the row cannot be compared with
	for m, d := range x.firstOfMask {
		if d >= 0 && m&w.mask() == 0 && (best < 0 || d < best) {
			best = d
		}
	}
	if best >= 0 {
		d := x.devs[best]
		return "", false, fmt.Errorf("cannot tell which device this app is on: its row names the device by %s only, and device %q (%s) has no %s to compare; export the devices and the apps with a common %s column",
			x.kindsOf(w.mask(), "and"), d.sourceID, d.at(), x.kindsOf(w.mask(), "or"), x.kindsOf(1<<idKinds-1, "or"))
	}
	// A device no device export lists: keyed as a device export would.
	for k, prefix := range [idKinds]string{"", "udid:", "serial:"} {
		if w.v[k] != "" {
			return x.source + ":" + prefix + w.v[k], false, nil
		}
	}
	return "", false, fmt.Errorf("an app without a device id, UDID or serial number") // the parsers refuse such rows
}
