package imports

import (
	"fmt"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Jamf Pro advanced mobile device search, exported as CSV: one row per
// device, its columns the search's display fields (names as Jamf's
// inventory shows them; Jamf Pro 11 renamed "iOS Version" to "OS
// Version"). The reference documents no app inventory export for Jamf:
// the import carries device state only.
var jamfFields = []field{
	{name: "id", aliases: []string{"Mobile Device ID", "Jamf Pro Mobile Device ID", "Jamf Pro ID", "ID"}},
	{name: "udid", aliases: []string{"UDID"}},
	{name: "serial", aliases: []string{"Serial Number", "SerialNumber"}},
	{name: "name", aliases: []string{"Mobile Device Name", "Display Name", "Device Name", "Name"}},
	{name: "model", aliases: []string{"Model"}},
	{name: "osver", aliases: []string{"OS Version", "iOS Version", "iPadOS Version", "Operating System Version"}},
	{name: "build", aliases: []string{"OS Build", "iOS Build", "Operating System Build"}},
	{name: "lastInventory", aliases: []string{"Last Inventory Update"}},
	{name: "enrolled", aliases: []string{"Last Enrollment", "Last Enrollment Date", "Enrollment Date"}},
	{name: "supervised", aliases: []string{"Supervised"}},
	{name: "jailbreak", aliases: []string{"Jailbreak Detected", "Jailbroken", "Jailbreak Status"}},
	{name: "user", aliases: []string{"Username", "User Name", "Email Address", "Email"}},
	{name: "owner", aliases: []string{"Device Ownership Level", "Device Ownership Type", "Device Ownership", "Ownership"}},
	{name: "imei", aliases: []string{"IMEI"}},
	{name: "managed", aliases: []string{"Managed"}},
	{name: "enrollMethod", aliases: []string{"Enrollment Method"}},
	{name: "dataProtection", aliases: []string{"Data Protection"}},
	{name: "site", aliases: []string{"Site"}},
}

// Jamf's distinctive columns, for Detect.
var jamfMarkers = []string{"Last Inventory Update", "Jailbreak Detected", "Mobile Device Name", "Mobile Device ID", "Jamf Pro Mobile Device ID"}

type jamfCSV struct {
	seen map[string]string
}

func (p *jamfCSV) parse(im *Import, fi int, f *inputFile, opts Options) error {
	t, err := readCSV(f.name, f.data, opts.MaxRows)
	if err != nil {
		return err
	}
	f.ext, f.what = "csv", "Jamf Pro mobile device search export (CSV)"
	f.addNote("records point at /line/N, the line of the file their row starts on")
	f.addNote("Jamf writes times in the time zone of the account that exported them")
	if p.seen == nil {
		p.seen = map[string]string{}
	}
	c, err := findCols(t, jamfFields)
	if err != nil {
		return err
	}
	// Each row's device id: Jamf's own when the search displays it, else the
	// UDID, else the serial number (named in the key, as they are other
	// identifiers than the live source's).
	if c["id"] < 0 && c["udid"] < 0 && c["serial"] < 0 {
		return errLine(f.name, t.headerLine, "no device identifier column: add \"Mobile Device ID\" (or \"UDID\", or \"Serial Number\") to the search's display fields")
	}
	tr, err := newTimeReader(f.name, c.dateCells(t, "lastInventory", "enrolled"))
	if err != nil {
		return err
	}
	osHeader := normHeader(c.headerName(t, "osver"))
	for _, r := range t.rows {
		sourceID := rowID(c, r)
		if sourceID == "" {
			return errLine(f.name, r.line, "a device without an id, UDID or serial number")
		}
		key := sourceJamf + ":" + sourceID
		if prev, dup := p.seen[key]; dup {
			return errLine(f.name, r.line, "device %q is already on %s", sourceID, prev)
		}
		p.seen[key] = fmt.Sprintf("%s:%d", f.name, r.line)
		var d collect.Device
		if err := readTimes(tr, t, c, r, map[string]**time.Time{"lastInventory": &d.LastSeenAt, "enrolled": &d.EnrolledAt}); err != nil {
			return err
		}
		model, jb := c.get(r, "model"), c.get(r, "jailbreak")
		managed := ""
		if m := yesNo(c.get(r, "managed")); m != nil {
			managed = map[bool]string{true: "managed", false: "unmanaged"}[*m]
		}
		d.Key, d.Source, d.SourceID = key, sourceJamf, sourceID
		d.Name, d.Model = c.get(r, "name"), model
		d.Platform = jamfPlatform(model, osHeader)
		d.OSVersion, d.Build = strings.TrimSpace(c.get(r, "osver")), strings.TrimSpace(c.get(r, "build"))
		d.Serial, d.IMEI = strings.TrimSpace(c.get(r, "serial")), strings.TrimSpace(c.get(r, "imei"))
		d.User = strings.TrimSpace(c.get(r, "user"))
		d.Ownership = ownership(c.get(r, "owner"))
		d.ManagementMode = joinNonEmpty(managed, c.get(r, "enrollMethod"))
		d.Category = c.get(r, "site")
		d.Compliance = "unknown" // Jamf Pro keeps no compliance state
		d.Compromised = collect.Compromised{Value: tristate(jb), Field: c.headerName(t, "jailbreak"), RawValue: jb}
		d.Posture = collect.Posture{Supervised: yesNo(c.get(r, "supervised")), Encrypted: yesNo(c.get(r, "dataProtection"))}
		d.Raw = collect.RawRef{Pointer: linePointer(r.line)}
		im.devices = append(im.devices, located[collect.Device]{fi, d})
	}
	f.notes = append(f.notes, tr.notes()...)
	return nil
}

// jamfPlatform tells iPadOS from iOS by the model; a Jamf mobile device
// search lists Apple mobile devices only, iPhones unless told otherwise
// by an "iOS Version" column.
func jamfPlatform(model, osHeader string) string {
	m := strings.ToLower(model)
	switch {
	case strings.Contains(m, "ipad"):
		return "ipados"
	case strings.Contains(m, "iphone") || strings.Contains(m, "ipod"):
		return "ios"
	case m == "" && osHeader == "ios version":
		return "ios"
	}
	return "unknown"
}

func (p *jamfCSV) finish(im *Import) error {
	im.claim(collect.TelemetryDeviceState)
	return nil
}
