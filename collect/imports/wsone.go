package imports

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Workspace ONE UEM device list, exported from the console (Devices › List
// View › Export) as CSV, or the REST API's mdm/devices/search response
// saved as JSON (reference §4.2). Neither carries apps: the import holds
// device state only.
var wsoneFields = []field{
	{name: "id", aliases: []string{"Device ID", "DeviceId", "Id"}},
	{name: "udid", aliases: []string{"UDID"}},
	{name: "serial", aliases: []string{"Serial Number", "SerialNumber"}},
	{name: "name", aliases: []string{"Friendly Name", "Device Friendly Name", "DeviceFriendlyName", "Device Name"}},
	{name: "platform", aliases: []string{"Platform"}},
	{name: "os", aliases: []string{"OS", "OS Version", "Operating System", "OperatingSystem"}},
	{name: "build", aliases: []string{"OS Build Version", "OSBuildVersion", "Build Version"}},
	{name: "model", aliases: []string{"Model"}},
	{name: "lastSeen", aliases: []string{"Last Seen", "LastSeen"}},
	{name: "enrolled", aliases: []string{"Enrolled On", "Last Enrolled On", "LastEnrolledOn", "Enrollment Date"}},
	{name: "compromised", aliases: []string{"Compromised Status", "CompromisedStatus", "Compromised"}},
	{name: "compliance", aliases: []string{"Compliance Status", "ComplianceStatus", "Compliance"}},
	{name: "owner", aliases: []string{"Ownership"}},
	{name: "user", aliases: []string{"Username", "User Name", "UserName", "User Email", "Email Address", "UserEmailAddress"}},
	{name: "imei", aliases: []string{"IMEI"}},
	{name: "group", aliases: []string{"Organization Group", "Location Group", "LocationGroupName"}},
	{name: "supervised", aliases: []string{"Supervised", "Is Supervised", "IsSupervised"}},
	{name: "patch", aliases: []string{"Security Patch Date", "Security Patch Level", "SecurityPatchDate"}},
	{name: "enrollStatus", aliases: []string{"Enrollment Status", "EnrollmentStatus"}},
}

// Workspace ONE's distinctive columns and keys, for Detect.
var (
	wsoneMarkers    = []string{"Friendly Name", "Device Friendly Name", "Compromised Status"}
	wsoneJSONMarker = []string{"DeviceFriendlyName", "CompromisedStatus", "LocationGroupName", "LocationGroupId", "EnrollmentStatus"}
)

type wsoneCSV struct {
	seen map[string]string
}

func (p *wsoneCSV) parse(im *Import, fi int, f *inputFile, opts Options) error {
	t, err := readCSV(f.name, f.data, opts.MaxRows)
	if err != nil {
		return err
	}
	f.ext, f.what = "csv", "Workspace ONE UEM device list export (CSV)"
	f.addNote("records point at /line/N, the line of the file their row starts on")
	if p.seen == nil {
		p.seen = map[string]string{}
	}
	c, err := findCols(t, wsoneFields)
	if err != nil {
		return err
	}
	if c["id"] < 0 && c["udid"] < 0 && c["serial"] < 0 {
		return errLine(f.name, t.headerLine, "no device identifier column (\"Device ID\", \"UDID\" or \"Serial Number\"): add one to the list view before exporting")
	}
	tr, err := newTimeReader(f.name, c.dateCells(t, "lastSeen", "enrolled"))
	if err != nil {
		return err
	}
	for _, r := range t.rows {
		sourceID := rowID(c, r)
		if sourceID == "" {
			return errLine(f.name, r.line, "a device without an id, UDID or serial number")
		}
		var d collect.Device
		if err := readTimes(tr, t, c, r, map[string]**time.Time{"lastSeen": &d.LastSeenAt, "enrolled": &d.EnrolledAt}); err != nil {
			return err
		}
		comp := c.get(r, "compromised")
		model := c.get(r, "model")
		d.Key, d.Source, d.SourceID = sourceWSOne+":"+sourceID, sourceWSOne, sourceID
		if prev, dup := p.seen[d.Key]; dup {
			return errLine(f.name, r.line, "device %q is already on %s", sourceID, prev)
		}
		p.seen[d.Key] = fmt.Sprintf("%s:%d", f.name, r.line)
		d.Name, d.Model = c.get(r, "name"), model
		d.Platform = platform(c.get(r, "platform"), model)
		if d.Platform == "unknown" {
			d.Platform = platform(firstWord(c.get(r, "os")), model)
		}
		d.OSVersion, d.Build = versionOnly(c.get(r, "os")), strings.TrimSpace(c.get(r, "build"))
		d.SecurityPatchLevel = strings.TrimSpace(c.get(r, "patch"))
		d.Serial, d.IMEI = strings.TrimSpace(c.get(r, "serial")), strings.TrimSpace(c.get(r, "imei"))
		d.User = strings.TrimSpace(c.get(r, "user"))
		d.Ownership = ownership(c.get(r, "owner"))
		d.ManagementMode = joinNonEmpty(c.get(r, "enrollStatus"))
		d.Category = c.get(r, "group")
		d.Compliance = compliance(c.get(r, "compliance"))
		d.Compromised = collect.Compromised{Value: tristate(comp), Field: c.headerName(t, "compromised"), RawValue: comp}
		d.Posture = collect.Posture{Supervised: yesNo(c.get(r, "supervised"))}
		d.Raw = collect.RawRef{Pointer: linePointer(r.line)}
		im.devices = append(im.devices, located[collect.Device]{fi, d})
	}
	f.notes = append(f.notes, tr.notes()...)
	return nil
}

func (p *wsoneCSV) finish(im *Import) error {
	im.claim(collect.TelemetryDeviceState)
	return nil
}

// ws1Device is a device of mdm/devices/search (version 1 or 2: PascalCase).
type ws1Device struct {
	ID                 json.RawMessage `json:"Id"` // {"Value": 5614}, or a bare number
	UUID               jstr            `json:"Uuid"`
	UDID               jstr            `json:"Udid"`
	SerialNumber       jstr            `json:"SerialNumber"`
	IMEI               jstr            `json:"Imei"`
	DeviceFriendlyName jstr            `json:"DeviceFriendlyName"`
	UserName           jstr            `json:"UserName"`
	UserEmailAddress   jstr            `json:"UserEmailAddress"`
	Ownership          jstr            `json:"Ownership"`
	Platform           jstr            `json:"Platform"`
	Model              jstr            `json:"Model"`
	OperatingSystem    jstr            `json:"OperatingSystem"`
	OSBuildVersion     jstr            `json:"OSBuildVersion"`
	LastSeen           jstr            `json:"LastSeen"`
	LastEnrolledOn     jstr            `json:"LastEnrolledOn"`
	EnrollmentStatus   jstr            `json:"EnrollmentStatus"`
	ComplianceStatus   jstr            `json:"ComplianceStatus"`
	CompromisedStatus  jstr            `json:"CompromisedStatus"`
	IsSupervised       jbool           `json:"IsSupervised"`
	LocationGroupName  jstr            `json:"LocationGroupName"`
	SecurityPatchDate  jstr            `json:"SecurityPatchDate"`
}

// id reads Id: {"Value": n} or n.
func (d ws1Device) id() (string, error) {
	raw := []byte(d.ID)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] == '{' {
		var v struct {
			Value jstr `json:"Value"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", fmt.Errorf("field Id: %v", err)
		}
		return strings.TrimSpace(string(v.Value)), nil
	}
	var s jstr
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field Id: %v", err)
	}
	return strings.TrimSpace(string(s)), nil
}

type wsoneJSON struct {
	seen map[string]string
}

func (p *wsoneJSON) parse(im *Import, fi int, f *inputFile, opts Options) error {
	f.ext, f.what = "json", "Workspace ONE UEM device search (JSON)"
	f.addNote("records point at the RFC 6901 pointer of their object in the file")
	if p.seen == nil {
		p.seen = map[string]string{}
	}
	doc, err := readJSONList(f.name, f.data, []string{"Devices"}, opts.MaxRows)
	if err != nil {
		return err
	}
	for k, v := range doc.top {
		if strings.EqualFold(k, "Total") {
			var total jint
			if json.Unmarshal(v, &total) == nil && total.ok && total.v > int64(len(doc.elems)) {
				f.addNote(fmt.Sprintf("one page of a search that matched %d devices: the others are not in this file", total.v))
			}
		}
	}
	devs := make([]ws1Device, len(doc.elems))
	var cells []dateCell
	for i, e := range doc.elems {
		if err := doc.decodeElem(e, &devs[i]); err != nil {
			return err
		}
		cells = append(cells, dateCell{e.line, string(devs[i].LastSeen)}, dateCell{e.line, string(devs[i].LastEnrolledOn)})
	}
	tr, err := newTimeReader(f.name, cells)
	if err != nil {
		return err
	}
	for i, e := range doc.elems {
		m := devs[i]
		id, err := m.id()
		if err != nil {
			return errLine(f.name, e.line, "%s: %v", ptrName(e.ptr), err)
		}
		sourceID := id
		for _, alt := range []struct{ prefix, v string }{{"uuid:", string(m.UUID)}, {"udid:", string(m.UDID)}, {"serial:", string(m.SerialNumber)}} {
			if sourceID == "" && strings.TrimSpace(alt.v) != "" {
				sourceID = alt.prefix + strings.TrimSpace(alt.v)
			}
		}
		if sourceID == "" {
			return errLine(f.name, e.line, "%s: not a Workspace ONE device (no Id, Uuid, Udid or SerialNumber)", ptrName(e.ptr))
		}
		key := sourceWSOne + ":" + sourceID
		if prev, dup := p.seen[key]; dup {
			return errLine(f.name, e.line, "device %q is already at %s", sourceID, prev)
		}
		p.seen[key] = fmt.Sprintf("%s:%d", f.name, e.line)
		user := string(m.UserName)
		if strings.TrimSpace(user) == "" {
			user = string(m.UserEmailAddress)
		}
		d := collect.Device{Key: key, Source: sourceWSOne, SourceID: sourceID, Name: string(m.DeviceFriendlyName),
			Platform: platform(string(m.Platform), string(m.Model)), OSVersion: versionOnly(string(m.OperatingSystem)),
			Build: string(m.OSBuildVersion), SecurityPatchLevel: string(m.SecurityPatchDate), Model: string(m.Model),
			Serial: string(m.SerialNumber), IMEI: string(m.IMEI), User: strings.TrimSpace(user),
			Ownership: ownership(string(m.Ownership)), ManagementMode: joinNonEmpty(string(m.EnrollmentStatus)),
			Category: string(m.LocationGroupName), Compliance: compliance(string(m.ComplianceStatus)),
			Compromised: collect.Compromised{Value: tristate(string(m.CompromisedStatus)), Field: "CompromisedStatus", RawValue: string(m.CompromisedStatus)},
			Posture:     collect.Posture{Supervised: m.IsSupervised.v},
			Raw:         collect.RawRef{Pointer: e.ptr}}
		if d.LastSeenAt, err = tr.parse("LastSeen", string(m.LastSeen)); err != nil {
			return errLine(f.name, e.line, "%s: LastSeen: %v", ptrName(e.ptr), err)
		}
		if d.EnrolledAt, err = tr.parse("LastEnrolledOn", string(m.LastEnrolledOn)); err != nil {
			return errLine(f.name, e.line, "%s: LastEnrolledOn: %v", ptrName(e.ptr), err)
		}
		im.devices = append(im.devices, located[collect.Device]{fi, d})
	}
	f.notes = append(f.notes, tr.notes()...)
	return nil
}

func (p *wsoneJSON) finish(im *Import) error {
	im.claim(collect.TelemetryDeviceState)
	return nil
}

// versionOnly drops the platform name a console puts before a version
// ("iOS 17.5.1", "Android 14"); a value without digits is kept.
func versionOnly(s string) string {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	if i <= 0 {
		return s
	}
	for _, r := range s[:i] {
		if r != ' ' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return s
		}
	}
	return strings.TrimSpace(s[i:])
}

// firstWord is the platform name before a version, if any.
func firstWord(s string) string {
	s = strings.TrimSpace(s)
	if v := versionOnly(s); v != s {
		return strings.TrimSpace(strings.TrimSuffix(s, v))
	}
	return ""
}
