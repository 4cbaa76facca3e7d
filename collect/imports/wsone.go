package imports

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/wsonevocab"
)

// Workspace ONE UEM exports: the device list, exported from the console
// (Devices › List View › Export) as CSV, or the REST API's
// mdm/devices/search response saved as JSON (reference §4.2); and, as
// CSV, an app inventory by device: one row per app of each device, its
// columns the API's DeviceApps fields (reference §4.3) as a console
// spells them, beside a device identifier. Both map to records as the
// live source does (collect/wsone/model.go).
var (
	wsoneIDAliases     = []string{"Device ID", "DeviceId", "Id"}
	wsoneUDIDAliases   = []string{"UDID"}
	wsoneSerialAliases = []string{"Serial Number", "SerialNumber"}

	wsoneFields = []field{
		{name: "id", aliases: wsoneIDAliases},
		{name: "udid", aliases: wsoneUDIDAliases},
		{name: "serial", aliases: wsoneSerialAliases},
		{name: "name", aliases: []string{"Friendly Name", "Device Friendly Name", "DeviceFriendlyName", "Device Name"}},
		{name: "reported", aliases: []string{"Device Reported Name", "DeviceReportedName"}},
		{name: "platform", aliases: []string{"Platform"}},
		{name: "os", aliases: []string{"OS", "OS Version", "Operating System", "OperatingSystem"}},
		{name: "build", aliases: []string{"OS Build Version", "OSBuildVersion", "Build Version"}},
		{name: "model", aliases: []string{"Model"}},
		{name: "lastSeen", aliases: []string{"Last Seen", "LastSeen"}},
		{name: "enrolled", aliases: []string{"Enrolled On", "Last Enrolled On", "LastEnrolledOn", "Enrollment Date"}},
		{name: "compromised", aliases: []string{"Compromised Status", "CompromisedStatus", "Compromised"}},
		{name: "compliance", aliases: []string{"Compliance Status", "ComplianceStatus", "Compliance"}},
		{name: "owner", aliases: []string{"Ownership"}},
		{name: "email", aliases: []string{"User Email", "Email Address", "UserEmailAddress", "User Email Address"}},
		{name: "user", aliases: []string{"Username", "User Name", "UserName"}},
		{name: "imei", aliases: []string{"IMEI"}},
		{name: "group", aliases: []string{"Organization Group", "Location Group", "LocationGroupName"}},
		{name: "supervised", aliases: []string{"Supervised", "Is Supervised", "IsSupervised"}},
		{name: "encrypted", aliases: []string{"Data Encryption", "DataEncryptionYN", "Encrypted"}},
		{name: "patch", aliases: []string{"Security Patch Date", "Security Patch Level", "SecurityPatchDate"}},
		{name: "enrollStatus", aliases: []string{"Enrollment Status", "EnrollmentStatus"}},
	}

	// The app columns: a file with a device identifier and one of
	// wsoneAppNameAliases or wsoneAppIDAliases is an app inventory.
	wsoneAppNameAliases = []string{"Application Name", "ApplicationName", "App Name", "Application"}
	wsoneAppIDAliases   = []string{"Application Identifier", "ApplicationIdentifier", "Bundle ID", "Package ID", "App ID", "Identifier"}

	wsoneAppFields = []field{
		{name: "id", aliases: wsoneIDAliases},
		{name: "udid", aliases: wsoneUDIDAliases},
		{name: "serial", aliases: wsoneSerialAliases},
		{name: "app", aliases: wsoneAppNameAliases},
		{name: "version", aliases: []string{"Version", "Application Version", "Installed Version"}},
		{name: "build", aliases: []string{"Build Version", "BuildVersion"}},
		{name: "appid", aliases: wsoneAppIDAliases},
		{name: "status", aliases: []string{"Status", "Install Status", "Installed Status"}},
		{name: "type", aliases: []string{"Type", "App Type", "Application Type"}},
		{name: "managed", aliases: []string{"Managed", "Is Managed", "IsManaged"}},
		// Apple's InstalledApplicationList keys, when the export has them.
		{name: "adhoc", aliases: []string{"AdHocCodeSigned", "Ad Hoc Code Signed"}},
		{name: "validated", aliases: []string{"IsValidated", "Validated"}},
		{name: "beta", aliases: []string{"BetaApp", "Beta App"}},
		{name: "vendable", aliases: []string{"AppStoreVendable", "App Store Vendable"}},
		{name: "distributor", aliases: []string{"DistributorIdentifier", "Distributor Identifier"}},
	}
)

// Workspace ONE's distinctive columns and keys, for Detect.
var (
	wsoneMarkers    = []string{"Friendly Name", "Device Friendly Name", "Compromised Status"}
	wsoneJSONMarker = []string{"DeviceFriendlyName", "CompromisedStatus", "LocationGroupName", "LocationGroupId", "EnrollmentStatus"}
	// Columns of a Workspace ONE app inventory no Intune or Jamf export
	// has: beside an app column, they tell it from Intune's app export,
	// which shares "Device ID" and "Application Name", and from Jamf's.
	wsoneAppMarkers = []string{"Build Version", "BuildVersion", "Is Managed", "IsManaged", "Install Status",
		"AdHocCodeSigned", "Ad Hoc Code Signed", "IsValidated", "BetaApp", "Beta App", "AppStoreVendable", "App Store Vendable",
		"DistributorIdentifier", "Distributor Identifier"}
)

// Why an app inventory does not cover a device.
const (
	wsonePersonal = "employee-owned device: Workspace ONE's privacy settings for such devices collect managed apps only by default, so personal apps may be missing"
	wsoneNoApps   = "no app of this device is in the app inventory export: the export left it out, or Workspace ONE reported none"
)

// wsoneCSV reads Workspace ONE CSV exports: device lists and app
// inventories by device, in any number and order. An app row names its
// device by id, UDID or serial number, whichever its export has: finish
// ties it to the device record that shares one (tie).
type wsoneCSV struct {
	appCoverage
	seen map[string]string // device key → where its row is
	devs []deviceIDs       // the identifiers of every device record, in order
	apps []wsoneApp        // every app, as read
}

// wsoneApp is an app whose device key tie sets.
type wsoneApp struct {
	rec int // index in im.apps
	ids deviceIDs
}

func (p *wsoneCSV) parse(im *Import, fi int, f *inputFile, opts Options) error {
	t, err := readCSV(f.name, f.data, opts.MaxRows)
	if err != nil {
		return err
	}
	f.ext = "csv"
	f.addNote("records point at /line/N, the line of the file their row starts on")
	if p.seen == nil {
		p.seen, p.appsOf = map[string]string{}, map[string]int{}
	}
	device := t.has(wsoneIDAliases...) || t.has(wsoneUDIDAliases...) || t.has(wsoneSerialAliases...)
	if t.has(wsoneAppNameAliases...) || t.has(wsoneAppIDAliases...) {
		if !device {
			return errLine(f.name, t.headerLine, "an app inventory without a device identifier column (\"Device ID\", \"UDID\" or \"Serial Number\"): its apps cannot be tied to devices; export the app inventory by device")
		}
		return p.parseApps(im, fi, f, t)
	}
	return p.parseDevices(im, fi, f, t)
}

func (p *wsoneCSV) parseDevices(im *Import, fi int, f *inputFile, t *csvTable) error {
	f.what = "Workspace ONE UEM device list export (CSV)"
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
	p.sawDevices = true
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
		if strings.TrimSpace(d.Name) == "" {
			d.Name = c.get(r, "reported") // as the live source: the name the device reports
		}
		d.Platform = platform(c.get(r, "platform"), model)
		if d.Platform == "unknown" {
			d.Platform = platform(firstWord(c.get(r, "os")), model)
		}
		d.OSVersion, d.Build = versionOnly(c.get(r, "os")), strings.TrimSpace(c.get(r, "build"))
		d.SecurityPatchLevel = patchDate(tr, c.get(r, "patch"))
		d.Serial, d.IMEI = strings.TrimSpace(c.get(r, "serial")), strings.TrimSpace(c.get(r, "imei"))
		d.User = firstNonBlank(c.get(r, "email"), c.get(r, "user")) // as the live source: the email address first
		d.Ownership = ownership(c.get(r, "owner"))
		d.ManagementMode = joinNonEmpty(c.get(r, "enrollStatus"))
		d.Category = c.get(r, "group")
		d.Compliance = wsonevocab.Compliance(c.get(r, "compliance"))
		d.Compromised = collect.Compromised{Value: wsoneCompromised(comp), Field: c.headerName(t, "compromised"), RawValue: comp}
		d.Posture = collect.Posture{Supervised: yesNo(c.get(r, "supervised")), Encrypted: yesNo(c.get(r, "encrypted"))}
		d.Raw = collect.RawRef{Pointer: linePointer(r.line)}
		im.devices = append(im.devices, located[collect.Device]{fi, d})
		p.devs = append(p.devs, deviceIDs{v: rowIDs(c, r), file: f.name, line: r.line, key: d.Key, sourceID: sourceID})
	}
	f.notes = append(f.notes, tr.notes()...)
	return nil
}

// parseApps reads an app inventory by device. Each app's device key is
// set by finish, once every device export is read.
func (p *wsoneCSV) parseApps(im *Import, fi int, f *inputFile, t *csvTable) error {
	f.what = "Workspace ONE UEM app inventory export by device (CSV)"
	c, err := findCols(t, wsoneAppFields)
	if err != nil {
		return err
	}
	p.sawApps = true
	named := func(field, alias string) string {
		if h := c.headerName(t, field); h != "" {
			return strconv.Quote(h)
		}
		return strconv.Quote(alias)
	}
	for _, r := range t.rows {
		ids := rowIDs(c, r)
		if ids == [idKinds]string{} {
			return errLine(f.name, r.line, "an app without a device id, UDID or serial number")
		}
		name, appID := c.get(r, "app"), strings.TrimSpace(c.get(r, "appid"))
		if strings.TrimSpace(name) == "" && appID == "" {
			return errLine(f.name, r.line, "an app with neither %s nor %s", named("app", wsoneAppNameAliases[0]), named("appid", wsoneAppIDAliases[0]))
		}
		a := collect.App{AppID: appID, Name: name, Version: firstNonBlank(c.get(r, "version"), c.get(r, "build")),
			Installer: strings.TrimSpace(c.get(r, "distributor")), Managed: yesNo(c.get(r, "managed")),
			State: strings.TrimSpace(c.get(r, "status")), Raw: collect.RawRef{Pointer: linePointer(r.line)}}
		a.InstallSource = wsonevocab.InstallSource(collect.AppleAppSignals{AdHocCodeSigned: yesNo(c.get(r, "adhoc")),
			Validated: yesNo(c.get(r, "validated")), Beta: yesNo(c.get(r, "beta")), AppStoreVendable: yesNo(c.get(r, "vendable")),
			Distributor: a.Installer}, c.get(r, "type"))
		p.apps = append(p.apps, wsoneApp{rec: len(im.apps), ids: deviceIDs{v: ids, file: f.name, line: r.line}})
		im.apps = append(im.apps, located[collect.App]{fi, a})
	}
	return nil
}

// wsoneCompromised reads CompromisedStatus as the live source does: a
// boolean, yes/no, or Workspace ONE's "Compromised" / "Not Compromised"
// in any spelling.
func wsoneCompromised(s string) string {
	if v := wsonevocab.Compromised(s); v != "" {
		return v
	}
	return tristate(s)
}

func (p *wsoneCSV) finish(im *Import) error {
	if p.sawApps {
		if err := p.tie(im); err != nil {
			return err
		}
	}
	p.appCoverage.finish(im, sourceWSOne, wsonePersonal, wsoneNoApps)
	return nil
}

// wsoneIDNames are the identifiers as Workspace ONE's exports name them.
var wsoneIDNames = [idKinds]string{"Device ID", "UDID", "Serial Number"}

// tie sets the device key of every app (deviceIndex.deviceOf).
func (p *wsoneCSV) tie(im *Import) error {
	x := newDeviceIndex(sourceWSOne, wsoneIDNames, p.devs)
	for _, a := range p.apps {
		key, _, err := x.deviceOf(a.ids)
		if err != nil {
			return errLine(a.ids.file, a.ids.line, "%v", err)
		}
		im.apps[a.rec].rec.DeviceKey = key
		p.appsOf[key]++
	}
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
	DeviceReportedName jstr            `json:"DeviceReportedName"`
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
	DataEncryptionYN   jbool           `json:"DataEncryptionYN"`
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
		name := string(m.DeviceFriendlyName)
		if strings.TrimSpace(name) == "" {
			name = string(m.DeviceReportedName)
		}
		d := collect.Device{Key: key, Source: sourceWSOne, SourceID: sourceID, Name: name,
			Platform: platform(string(m.Platform), string(m.Model)), OSVersion: versionOnly(string(m.OperatingSystem)),
			Build: string(m.OSBuildVersion), SecurityPatchLevel: patchDate(tr, string(m.SecurityPatchDate)), Model: string(m.Model),
			Serial: string(m.SerialNumber), IMEI: string(m.IMEI), User: firstNonBlank(string(m.UserEmailAddress), string(m.UserName)),
			Ownership: ownership(string(m.Ownership)), ManagementMode: joinNonEmpty(string(m.EnrollmentStatus)),
			Category: string(m.LocationGroupName), Compliance: wsonevocab.Compliance(string(m.ComplianceStatus)),
			Compromised: collect.Compromised{Value: wsoneCompromised(string(m.CompromisedStatus)), Field: "CompromisedStatus", RawValue: string(m.CompromisedStatus)},
			Posture:     collect.Posture{Supervised: m.IsSupervised.v, Encrypted: m.DataEncryptionYN.v},
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

// patchDate is a security patch date as the live source records it:
// YYYY-MM-DD. An ISO 8601 value is read as every Workspace ONE source
// reads it (wsonevocab.PatchDate: the date as written); another date the
// import reads is read as the file's other dates are (a slash date whose
// order neither the file nor the date itself shows is kept as written).
// Empty, "never"-like and year-1 values are not reported; any other value
// is kept as written, trimmed: a patch level is not a time the import
// needs to read, so an unreadable one is not an error.
func patchDate(tr *timeReader, v string) string {
	s := strings.TrimSpace(v)
	if s == "" {
		return ""
	}
	if d, iso := wsonevocab.PatchDate(s); iso {
		return d
	}
	r := *tr // a copy: the patch date does not change the file's notes
	if r.guessed && dmy.MatchString(s) {
		own, err := newTimeReader("", []dateCell{{line: 1, value: s}})
		if err != nil || own.guessed {
			return s
		}
		r = *own
	}
	r.fields = nil
	t, err := r.parse("", s)
	switch {
	case err != nil:
		return s
	case t == nil:
		return ""
	}
	return t.Format(time.DateOnly)
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
