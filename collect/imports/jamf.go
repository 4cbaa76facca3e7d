package imports

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/jamfvocab"
)

// Jamf Pro advanced mobile device search, exported as CSV: one row per
// device, its columns the search's display fields (names as Jamf's
// inventory shows them; Jamf Pro 11 renamed "iOS Version" to "OS
// Version"). A search that displays app fields ("App Name", "App
// Identifier", …) lists a device once per app, its device columns
// repeated: an app inventory by device.
var jamfFields = []field{
	{name: "id", aliases: []string{"JSS Mobile Device ID", "Mobile Device ID", "Jamf Pro Mobile Device ID", "Jamf Pro ID", "ID"}},
	{name: "udid", aliases: []string{"UDID"}},
	{name: "serial", aliases: []string{"Serial Number", "SerialNumber"}},
	{name: "name", aliases: []string{"Display Name", "Mobile Device Name", "Device Name", "Name"}},
	{name: "model", aliases: []string{"Model"}},
	{name: "osver", aliases: []string{"OS Version", "iOS Version", "iPadOS Version", "Operating System Version"}},
	{name: "build", aliases: []string{"OS Build", "iOS Build", "Operating System Build"}},
	{name: "lastInventory", aliases: []string{"Last Inventory Update"}},
	{name: "enrolled", aliases: []string{"Last Enrollment", "Last Enrollment Date", "Enrollment Date"}},
	{name: "supervised", aliases: []string{"Supervised"}},
	{name: "jailbreak", aliases: []string{"Jailbreak Detected", "Jailbroken", "Jailbreak Status"}},
	{name: "email", aliases: []string{"Email Address", "Email"}},
	{name: "user", aliases: []string{"Username", "User Name"}},
	{name: "owner", aliases: []string{"Device Ownership Type", "Device Ownership Level", "Device Ownership", "Ownership"}},
	{name: "imei", aliases: []string{"IMEI"}},
	{name: "managed", aliases: []string{"Managed"}},
	{name: "enrollMethod", aliases: []string{"Enrollment Method"}},
	{name: "dataProtection", aliases: []string{"Data Protection"}},
	{name: "passcode", aliases: []string{"Passcode Compliance"}},
	{name: "passcodeProfile", aliases: []string{"Passcode Compliance with Profile(s)", "Passcode Compliance with Profile"}},
	{name: "site", aliases: []string{"Site"}},
}

// jamfAppFields are the app display fields of a mobile device search
// (Jamf's inventory names: App Name, App Identifier, App Version, App
// Short Version, App Validation Status).
var jamfAppFields = []field{
	{name: "appName", aliases: []string{"App Name", "Application Name"}},
	{name: "appID", aliases: []string{"App Identifier", "Application Identifier", "Bundle Identifier", "Bundle ID"}},
	{name: "appVersion", aliases: []string{"App Version", "Application Version"}},
	{name: "appShort", aliases: []string{"App Short Version", "Application Short Version"}},
	{name: "appValid", aliases: []string{"App Validation Status", "Validation Status"}},
	{name: "appManaged", aliases: []string{"App Management Status", "Management Status"}},
}

// Jamf's distinctive columns, for Detect: any of jamfMarkers or
// jamfAppMarkers; or, in a file without Intune's device id, one of
// jamfAppWeakMarkers (Intune's app export may spell them too).
var (
	jamfMarkers        = []string{"JSS Mobile Device ID", "Last Inventory Update", "Jailbreak Detected", "Mobile Device Name", "Mobile Device ID", "Jamf Pro Mobile Device ID"}
	jamfAppMarkers     = []string{"App Short Version", "App Validation Status", "App Management Status"}
	jamfAppWeakMarkers = []string{"App Identifier", "App Version"}
)

// jamfIDNames are the identifiers as Jamf's exports name them.
var jamfIDNames = [idKinds]string{"JSS Mobile Device ID", "UDID", "Serial Number"}

type jamfCSV struct {
	appCoverage
	seen map[string]string // device key → where its row is, in a device export
	devs []deviceIDs       // the identifiers of every device export's record, in order
	// Devices known from app exports, first row each, in order: tied to
	// the device export's record that shares an identifier, else recorded
	// from that row.
	appDevs  []jamfAppDevice
	appDevAt map[string]bool // the keys in appDevs
	apps     []int           // the app records, in im.apps, keyed by their app export's device key until finish
}

// jamfAppDevice is a device of an app export: its record and identifiers
// as its first row there gives them.
type jamfAppDevice struct {
	dev located[collect.Device]
	ids deviceIDs
}

func (p *jamfCSV) parse(im *Import, fi int, f *inputFile, opts Options) error {
	t, err := readCSV(f.name, f.data, opts.MaxRows)
	if err != nil {
		return err
	}
	f.ext = "csv"
	f.addNote("records point at /line/N, the line of the file their row starts on")
	f.addNote("Jamf writes times in the time zone of the account that exported them")
	if p.seen == nil {
		p.seen, p.appDevAt, p.appsOf = map[string]string{}, map[string]bool{}, map[string]int{}
	}
	c, err := findCols(t, append(slices.Clone(jamfFields), jamfAppFields...))
	if err != nil {
		return err
	}
	// Each row's device id: Jamf's own when the search displays it, else the
	// UDID, else the serial number (named in the key, as they are other
	// identifiers than the live source's).
	if c["id"] < 0 && c["udid"] < 0 && c["serial"] < 0 {
		return errLine(f.name, t.headerLine, "no device identifier column: add \"JSS Mobile Device ID\" (or \"UDID\", or \"Serial Number\") to the search's display fields")
	}
	tr, err := newTimeReader(f.name, c.dateCells(t, "lastInventory", "enrolled"))
	if err != nil {
		return err
	}
	apps := c["appName"] >= 0 || c["appID"] >= 0
	f.what = "Jamf Pro mobile device search export (CSV)"
	if apps {
		f.what = "Jamf Pro mobile device search export with app fields: a row per app of each device (CSV)"
		p.sawApps = true
	} else {
		p.sawDevices = true
	}
	osHeader := normHeader(c.headerName(t, "osver"))
	rowOf := map[string]int{} // in an app export: device key → its first row's index
	for i, r := range t.rows {
		d, err := jamfRow(t, c, tr, r, osHeader)
		if err != nil {
			return err
		}
		if !apps {
			if prev, dup := p.seen[d.Key]; dup {
				return errLine(f.name, r.line, "device %q is already on %s", d.SourceID, prev)
			}
			p.seen[d.Key] = fmt.Sprintf("%s:%d", f.name, r.line)
			im.devices = append(im.devices, located[collect.Device]{fi, d})
			p.devs = append(p.devs, deviceIDs{v: rowIDs(c, r), file: f.name, line: r.line, key: d.Key, sourceID: d.SourceID})
			continue
		}
		// The device columns of each of a device's rows must agree: rows
		// that differ are two devices under one identifier.
		if first, ok := rowOf[d.Key]; ok {
			prev := t.rows[first]
			for _, col := range []string{"id", "udid", "serial", "name", "model", "osver", "jailbreak"} {
				if c.get(prev, col) != c.get(r, col) {
					return errLine(f.name, r.line, "device %q: column %q is %q here but %q on line %d: two devices under one identifier?",
						d.SourceID, c.headerName(t, col), c.get(r, col), c.get(prev, col), prev.line)
				}
			}
		} else {
			rowOf[d.Key] = i
			if !p.appDevAt[d.Key] {
				p.appDevAt[d.Key] = true
				p.appDevs = append(p.appDevs, jamfAppDevice{located[collect.Device]{fi, d}, deviceIDs{v: rowIDs(c, r), file: f.name, line: r.line}})
			}
		}
		name, id := strings.TrimSpace(c.get(r, "appName")), strings.TrimSpace(c.get(r, "appID"))
		if name == "" && id == "" {
			continue // the device's row when it has no app
		}
		sig := collect.AppleAppSignals{Validated: validated(c.get(r, "appValid"))}.InstallSource()
		if sig == "" {
			sig = "unknown"
		}
		a := collect.App{DeviceKey: d.Key, AppID: id, Name: c.get(r, "appName"), InstallSource: sig,
			Version: strings.TrimSpace(c.get(r, "appShort")), State: strings.TrimSpace(c.get(r, "appManaged")),
			Raw: collect.RawRef{Pointer: linePointer(r.line)}}
		if a.Version == "" {
			a.Version = strings.TrimSpace(c.get(r, "appVersion"))
		}
		a.Managed = managedApp(a.State)
		p.apps = append(p.apps, len(im.apps))
		im.apps = append(im.apps, located[collect.App]{fi, a})
	}
	f.notes = append(f.notes, tr.notes()...)
	return nil
}

// jamfRow reads the device columns of row r.
func jamfRow(t *csvTable, c cols, tr *timeReader, r csvRow, osHeader string) (collect.Device, error) {
	var d collect.Device
	sourceID := rowID(c, r)
	if sourceID == "" {
		return d, errLine(t.file, r.line, "a device without an id, UDID or serial number")
	}
	if err := readTimes(tr, t, c, r, map[string]**time.Time{"lastInventory": &d.LastSeenAt, "enrolled": &d.EnrolledAt}); err != nil {
		return d, err
	}
	model, jb := c.get(r, "model"), c.get(r, "jailbreak")
	managed := ""
	if m := yesNo(c.get(r, "managed")); m != nil {
		managed = map[bool]string{true: "managed", false: "unmanaged"}[*m]
	}
	d.Key, d.Source, d.SourceID = sourceJamf+":"+sourceID, sourceJamf, sourceID
	d.Name, d.Model, d.Manufacturer = c.get(r, "name"), model, "Apple"
	d.OSVersion, d.Build = strings.TrimSpace(c.get(r, "osver")), strings.TrimSpace(c.get(r, "build"))
	d.Platform = jamfPlatform(model, d.OSVersion, osHeader)
	d.Serial, d.IMEI = strings.TrimSpace(c.get(r, "serial")), strings.TrimSpace(c.get(r, "imei"))
	d.User = firstNonBlank(c.get(r, "email"), c.get(r, "user")) // as the live source: the email address first
	d.Ownership = jamfvocab.Ownership(c.get(r, "owner"))
	d.ManagementMode = joinNonEmpty(managed, c.get(r, "enrollMethod"))
	d.Category = c.get(r, "site")
	d.Compliance = passcodeCompliance(passcodeState(c.get(r, "passcode")), passcodeState(c.get(r, "passcodeProfile")))
	d.Compromised = collect.Compromised{Value: tristate(jb), Field: c.headerName(t, "jailbreak"), RawValue: jb}
	d.Posture = collect.Posture{Supervised: yesNo(c.get(r, "supervised")), Encrypted: yesNo(c.get(r, "dataProtection"))}
	d.Raw = collect.RawRef{Pointer: linePointer(r.line)}
	return d, nil
}

// passcodeCompliance is the only compliance verdict Jamf Pro keeps for a
// mobile device, as the live source reads it: noncompliant when the
// passcode is not compliant (or not with its profile), compliant when
// both are reported compliant, else unknown.
func passcodeCompliance(pc, pp *bool) string {
	switch {
	case pc != nil && !*pc, pp != nil && !*pp:
		return "noncompliant"
	case pc != nil && pp != nil:
		return "compliant"
	}
	return "unknown"
}

// passcodeState reads a passcode compliance cell: a yes/no, or
// "Compliant" / "Not Compliant".
func passcodeState(s string) *bool {
	switch word(s) {
	case "compliant":
		return yesNo("yes")
	case "not compliant", "noncompliant", "non-compliant":
		return yesNo("no")
	}
	return yesNo(s)
}

// validated reads an app validation status: a yes/no, or "Validated" /
// "Not Validated".
func validated(s string) *bool {
	switch word(s) {
	case "validated", "valid":
		return yesNo("yes")
	case "not validated", "invalid", "not valid", "unvalidated":
		return yesNo("no")
	}
	return yesNo(s)
}

// managedApp reads an app's management status: "Managed", "Unmanaged".
func managedApp(s string) *bool {
	switch word(s) {
	case "managed":
		return yesNo("yes")
	case "unmanaged", "not managed":
		return yesNo("no")
	}
	return nil
}

// jamfPlatform names the OS as every Jamf source does (jamfvocab); a
// Jamf mobile device search lists Apple mobile devices only, so a row
// without a model under an "iOS Version" column is an iPhone's.
func jamfPlatform(model, osVersion, osHeader string) string {
	if p := jamfvocab.Platform("", model, osVersion); p != "unknown" || model != "" || osHeader != "ios version" {
		return p
	}
	return "ios"
}

func (p *jamfCSV) finish(im *Import) error {
	// Each device of the app exports is the device export's record that
	// shares an identifier with it (deviceIndex.deviceOf, which refuses to
	// guess); one the device exports do not list is recorded from its
	// first app row.
	x := newDeviceIndex(sourceJamf, jamfIDNames, p.devs)
	keyOf := make(map[string]string, len(p.appDevs))
	for _, ad := range p.appDevs {
		k, ids := ad.dev.rec.Key, ad.ids
		key, found, err := x.deviceOf(ids)
		if err != nil {
			return errLine(ids.file, ids.line, "%v", err)
		}
		keyOf[k] = key
		if !found {
			im.devices = append(im.devices, ad.dev)
		}
	}
	for _, i := range p.apps {
		a := &im.apps[i].rec
		a.DeviceKey = keyOf[a.DeviceKey]
		p.appsOf[a.DeviceKey]++
	}
	if len(p.appDevs) > 0 {
		p.sawDevices = true
	}
	p.appCoverage.finish(im, sourceJamf, "a personally owned (User Enrollment) device reports only the apps the organisation manages",
		"no app of this device is in the export's app rows: the search left it out, or Jamf reported none")
	return nil
}

// firstNonBlank returns the first value that is not blank, trimmed.
func firstNonBlank(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
