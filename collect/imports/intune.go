package imports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Intune admin center exports. The device export ("Devices › All devices
// › Export") has one row per device with the columns below (names as the
// console writes them, matched in any case and order); the per-device app
// inventory export (the AppInvRawData / AppInvByDevice report, or any
// export with a device id and an application column) has one row per app
// of each device. Column names follow what public scripts read from these
// exports; the reference does not list them, so aliases are accepted.
var (
	intuneIDAliases  = []string{"Device ID", "DeviceId", "DeviceID", "Intune Device ID", "Managed Device ID"}
	intuneAppAliases = []string{"Application", "Application name", "ApplicationName", "App name", "App"}

	intuneDeviceFields = []field{
		{name: "id", aliases: intuneIDAliases, required: true},
		{name: "name", aliases: []string{"Device name", "DeviceName", "Managed device name"}, required: true},
		{name: "os", aliases: []string{"OS", "Operating system", "OperatingSystem", "Platform"}},
		{name: "osver", aliases: []string{"OS version", "OSVersion"}},
		{name: "owner", aliases: []string{"Ownership", "Ownership type", "OwnerType", "Owner type", "Managed device owner type"}},
		{name: "compliance", aliases: []string{"Compliance", "Compliance state", "ComplianceState", "CompliantState"}},
		{name: "managedBy", aliases: []string{"Managed by", "ManagedBy", "Management agent", "ManagementAgents", "Management agents"}},
		{name: "enrollType", aliases: []string{"Enrollment type", "EnrollmentType", "Device enrollment type"}},
		{name: "lastSeen", aliases: []string{"Last check-in", "Last checkin", "Last check in", "LastContact", "Last contact", "Last sync", "Last sync date time"}},
		{name: "enrolled", aliases: []string{"Enrollment date", "Enrolled date", "Enrolled date time", "EnrolledDateTime"}},
		{name: "serial", aliases: []string{"Serial number", "SerialNumber"}},
		{name: "imei", aliases: []string{"IMEI"}},
		{name: "user", aliases: []string{"Primary user UPN", "User principal name", "UserPrincipalName", "UPN", "Primary user email address", "Email address"}},
		{name: "jailbroken", aliases: []string{"Jailbroken", "Jail broken", "JailBroken"}},
		{name: "model", aliases: []string{"Model"}},
		{name: "manufacturer", aliases: []string{"Manufacturer"}},
		{name: "patch", aliases: []string{"Security patch level", "Android patch level", "AndroidPatchLevel", "Android security patch level"}},
		{name: "supervised", aliases: []string{"Supervised", "Is supervised"}},
		{name: "encrypted", aliases: []string{"Encrypted", "Is encrypted"}},
		{name: "category", aliases: []string{"Category", "Device category", "CategoryName"}},
		{name: "threat", aliases: []string{"Partner reported threat state", "PartnerReportedThreatState", "Threat state"}},
	}

	intuneAppFields = []field{
		{name: "device", aliases: intuneIDAliases, required: true},
		{name: "app", aliases: intuneAppAliases, required: true},
		{name: "version", aliases: []string{"Version", "Application version", "ApplicationVersion", "App version"}},
		{name: "short", aliases: []string{"ApplicationShortVersion", "Application short version", "Short version"}},
		{name: "publisher", aliases: []string{"Publisher", "Application publisher", "ApplicationPublisher"}},
		{name: "key", aliases: []string{"ApplicationKey", "Application key", "Application ID", "ApplicationId", "App ID"}},
		{name: "appid", aliases: []string{"Bundle ID", "Package name", "Application identifier", "App identifier", "Package"}},
		{name: "count", aliases: []string{"Device count", "DeviceCount"}},
	}
)

// intuneCSV reads Intune CSV exports.
type intuneCSV struct {
	appCoverage
	seen map[string]string // device key → where its row is
}

func (p *intuneCSV) parse(im *Import, fi int, f *inputFile, opts Options) error {
	t, err := readCSV(f.name, f.data, opts.MaxRows)
	if err != nil {
		return err
	}
	f.ext = "csv"
	f.addNote("records point at /line/N, the line of the file their row starts on")
	if p.seen == nil {
		p.seen, p.appsOf = map[string]string{}, map[string]int{}
	}
	switch app, dev := t.has(intuneAppAliases...), t.has(intuneIDAliases...); {
	case app && !dev && t.has("Device count", "DeviceCount"):
		return fmt.Errorf("%s is a discovered-apps export: it counts devices per app but names none, so its apps cannot be tied to devices; export the app inventory by device (Reports › Apps › App inventory, or the AppInvRawData report) instead", f.name)
	case app && !dev:
		return fmt.Errorf("%s lists apps without a device id column (%q): export the app inventory by device instead", f.name, intuneIDAliases[0])
	case app:
		return p.parseApps(im, fi, f, t)
	case dev:
		return p.parseDevices(im, fi, f, t)
	}
	return fmt.Errorf("%s is neither an Intune device export (no %q column) nor an app inventory export by device", f.name, intuneIDAliases[0])
}

func (p *intuneCSV) parseDevices(im *Import, fi int, f *inputFile, t *csvTable) error {
	f.what = "Intune device export (CSV)"
	c, err := findCols(t, intuneDeviceFields)
	if err != nil {
		return err
	}
	tr, err := newTimeReader(f.name, c.dateCells(t, "lastSeen", "enrolled"))
	if err != nil {
		return err
	}
	p.sawDevices = true
	for _, r := range t.rows {
		id := strings.TrimSpace(c.get(r, "id"))
		if id == "" {
			return errLine(f.name, r.line, "a device without a %s", c.headerName(t, "id"))
		}
		key := sourceIntune + ":" + id
		if prev, dup := p.seen[key]; dup {
			return errLine(f.name, r.line, "device %q is already on %s", id, prev)
		}
		p.seen[key] = fmt.Sprintf("%s:%d", f.name, r.line)
		var d collect.Device
		if err := readTimes(tr, t, c, r, map[string]**time.Time{"lastSeen": &d.LastSeenAt, "enrolled": &d.EnrolledAt}); err != nil {
			return err
		}
		jb := c.get(r, "jailbroken")
		model := c.get(r, "model")
		d.Key, d.Source, d.SourceID = key, sourceIntune, id
		d.Name = c.get(r, "name")
		d.Platform = platform(c.get(r, "os"), model)
		d.OSVersion = strings.TrimSpace(c.get(r, "osver"))
		d.SecurityPatchLevel = strings.TrimSpace(c.get(r, "patch"))
		d.Model, d.Manufacturer = model, c.get(r, "manufacturer")
		d.Serial, d.IMEI = strings.TrimSpace(c.get(r, "serial")), strings.TrimSpace(c.get(r, "imei"))
		d.User = strings.TrimSpace(c.get(r, "user"))
		d.Ownership = ownership(c.get(r, "owner"))
		d.ManagementMode = joinNonEmpty(c.get(r, "managedBy"), c.get(r, "enrollType"))
		d.Category = c.get(r, "category")
		d.Compliance = compliance(c.get(r, "compliance"))
		d.Compromised = collect.Compromised{Value: tristate(jb), Field: c.headerName(t, "jailbroken"), RawValue: jb}
		d.Posture = collect.Posture{Supervised: yesNo(c.get(r, "supervised")), Encrypted: yesNo(c.get(r, "encrypted")),
			ThreatState: strings.TrimSpace(c.get(r, "threat"))}
		d.Raw = collect.RawRef{Pointer: linePointer(r.line)}
		im.devices = append(im.devices, located[collect.Device]{fi, d})
	}
	f.notes = append(f.notes, tr.notes()...)
	return nil
}

func (p *intuneCSV) parseApps(im *Import, fi int, f *inputFile, t *csvTable) error {
	f.what = "Intune app inventory export by device (CSV)"
	c, err := findCols(t, intuneAppFields)
	if err != nil {
		return err
	}
	p.sawApps = true
	for _, r := range t.rows {
		id := strings.TrimSpace(c.get(r, "device"))
		if id == "" {
			return errLine(f.name, r.line, "an app without a %s", c.headerName(t, "device"))
		}
		name, key := c.get(r, "app"), strings.TrimSpace(c.get(r, "key"))
		if strings.TrimSpace(name) == "" && key == "" {
			return errLine(f.name, r.line, "an app without a %s", c.headerName(t, "app"))
		}
		a := collect.App{DeviceKey: sourceIntune + ":" + id, AppID: strings.TrimSpace(c.get(r, "appid")), SourceAppID: key,
			Name: name, Version: strings.TrimSpace(c.get(r, "version")), Publisher: c.get(r, "publisher"),
			InstallSource: "unknown", Raw: collect.RawRef{Pointer: linePointer(r.line)}}
		if a.Version == "" {
			a.Version = strings.TrimSpace(c.get(r, "short"))
		}
		if v := strings.TrimSpace(c.get(r, "count")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return errLine(f.name, r.line, "column %q: %q is not a count", c.headerName(t, "count"), v)
			}
			a.Prevalence = n
		}
		p.appsOf[a.DeviceKey]++
		im.apps = append(im.apps, located[collect.App]{fi, a})
	}
	return nil
}

func (p *intuneCSV) finish(im *Import) error {
	p.appCoverage.finish(im, sourceIntune, intunePersonal, "no app of this device is in the app inventory export: the export left it out, or Intune reported none")
	return nil
}

// intunePersonal is why a personally owned device's app inventory is
// partial.
const intunePersonal = "Intune reports only managed apps for personally owned devices"

// managedDevice is Graph's managedDevice as exported: Graph Explorer's
// camelCase, or PowerShell's PascalCase (keys match in any case).
type managedDevice struct {
	ID                         jstr  `json:"id"`
	DeviceName                 *jstr `json:"deviceName"`
	OperatingSystem            jstr  `json:"operatingSystem"`
	OSVersion                  jstr  `json:"osVersion"`
	ComplianceState            jstr  `json:"complianceState"`
	JailBroken                 jstr  `json:"jailBroken"`
	ManagementAgent            jstr  `json:"managementAgent"`
	ManagedDeviceOwnerType     jstr  `json:"managedDeviceOwnerType"`
	DeviceEnrollmentType       jstr  `json:"deviceEnrollmentType"`
	EnrolledDateTime           jstr  `json:"enrolledDateTime"`
	LastSyncDateTime           jstr  `json:"lastSyncDateTime"`
	SerialNumber               jstr  `json:"serialNumber"`
	IMEI                       jstr  `json:"imei"`
	UserPrincipalName          jstr  `json:"userPrincipalName"`
	Model                      jstr  `json:"model"`
	Manufacturer               jstr  `json:"manufacturer"`
	IsSupervised               jbool `json:"isSupervised"`
	IsEncrypted                jbool `json:"isEncrypted"`
	PartnerReportedThreatState jstr  `json:"partnerReportedThreatState"`
	AndroidSecurityPatchLevel  jstr  `json:"androidSecurityPatchLevel"`
	DeviceCategoryDisplayName  jstr  `json:"deviceCategoryDisplayName"`
}

// detectedApp is Graph's detectedApp, as $expand=detectedApps nests it.
type detectedApp struct {
	ID          jstr `json:"id"`
	DisplayName jstr `json:"displayName"`
	Version     jstr `json:"version"`
	Publisher   jstr `json:"publisher"`
	DeviceCount jint `json:"deviceCount"`
}

// intuneJSON reads managedDevices JSON.
type intuneJSON struct {
	appCoverage
	seen     map[string]string
	withApps map[string]bool
}

func (p *intuneJSON) parse(im *Import, fi int, f *inputFile, opts Options) error {
	f.ext, f.what = "json", "Microsoft Graph managedDevices (JSON)"
	f.addNote("records point at the RFC 6901 pointer of their object in the file")
	if p.seen == nil {
		p.seen, p.withApps, p.appsOf = map[string]string{}, map[string]bool{}, map[string]int{}
	}
	doc, err := readJSONList(f.name, f.data, []string{"value"}, opts.MaxRows)
	if err != nil {
		return err
	}
	for k := range doc.top {
		if strings.EqualFold(k, "@odata.nextLink") {
			f.addNote("one page of a paged listing (@odata.nextLink is set): devices on later pages are not in this file")
		}
	}
	devs := make([]managedDevice, len(doc.elems))
	var cells []dateCell
	for i, e := range doc.elems {
		if err := doc.decodeElem(e, &devs[i]); err != nil {
			return err
		}
		cells = append(cells, dateCell{e.line, string(devs[i].LastSyncDateTime)}, dateCell{e.line, string(devs[i].EnrolledDateTime)})
	}
	tr, err := newTimeReader(f.name, cells)
	if err != nil {
		return err
	}
	p.sawDevices = true
	budget := opts.MaxRows - len(doc.elems) // the apps the file may hold besides its devices
	for i, e := range doc.elems {
		m := devs[i]
		id := strings.TrimSpace(string(m.ID))
		if id == "" || m.DeviceName == nil {
			return errLine(f.name, e.line, "%s: not a managedDevice (no id or no deviceName)", ptrName(e.ptr))
		}
		key := sourceIntune + ":" + id
		if prev, dup := p.seen[key]; dup {
			return errLine(f.name, e.line, "device %q is already at %s", id, prev)
		}
		p.seen[key] = fmt.Sprintf("%s:%d", f.name, e.line)
		d := collect.Device{Key: key, Source: sourceIntune, SourceID: id, Name: string(*m.DeviceName),
			Platform: platform(string(m.OperatingSystem), string(m.Model)), OSVersion: string(m.OSVersion),
			SecurityPatchLevel: string(m.AndroidSecurityPatchLevel), Model: string(m.Model), Manufacturer: string(m.Manufacturer),
			Serial: string(m.SerialNumber), IMEI: string(m.IMEI), User: string(m.UserPrincipalName),
			Ownership: ownership(string(m.ManagedDeviceOwnerType)), ManagementMode: joinNonEmpty(string(m.ManagementAgent), string(m.DeviceEnrollmentType)),
			Category: string(m.DeviceCategoryDisplayName), Compliance: compliance(string(m.ComplianceState)),
			Compromised: collect.Compromised{Value: tristate(string(m.JailBroken)), Field: "jailBroken", RawValue: string(m.JailBroken)},
			Posture:     collect.Posture{Supervised: m.IsSupervised.v, Encrypted: m.IsEncrypted.v, ThreatState: string(m.PartnerReportedThreatState)},
			Raw:         collect.RawRef{Pointer: e.ptr}}
		if d.LastSeenAt, err = tr.parse("lastSyncDateTime", string(m.LastSyncDateTime)); err != nil {
			return errLine(f.name, e.line, "%s: lastSyncDateTime: %v", ptrName(e.ptr), err)
		}
		if d.EnrolledAt, err = tr.parse("enrolledDateTime", string(m.EnrolledDateTime)); err != nil {
			return errLine(f.name, e.line, "%s: enrolledDateTime: %v", ptrName(e.ptr), err)
		}
		im.devices = append(im.devices, located[collect.Device]{fi, d})
		if err := p.detectedApps(im, fi, f, e, key, &budget, opts.MaxRows); err != nil {
			return err
		}
	}
	f.notes = append(f.notes, tr.notes()...)
	return nil
}

// detectedApps reads the detectedApps a managedDevice holds when it was
// exported with $expand=detectedApps.
// budget is how many more apps the file may hold (its row limit, less its
// devices and the apps read so far).
func (p *intuneJSON) detectedApps(im *Import, fi int, f *inputFile, e jsonElem, deviceKey string, budget *int, maxRows int) error {
	k, err := objectKey(e.raw, "detectedApps")
	if err != nil {
		return errLine(f.name, e.line, "%s: %v", ptrName(e.ptr), err)
	}
	if k == "" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.raw, &obj); err != nil {
		return errLine(f.name, e.line, "%s: %v", ptrName(e.ptr), err)
	}
	if obj[k] == nil || string(bytes.TrimSpace(obj[k])) == "null" {
		return nil // not expanded
	}
	items, err := arrayItems(obj[k], *budget)
	switch {
	case errors.Is(err, errTooManyItems):
		return errLine(f.name, e.line, "%s/%s: more than %d devices and apps in the file (the import limit)", ptrName(e.ptr), escapePointer(k), maxRows)
	case err != nil:
		return errLine(f.name, e.line, "%s/%s: not an array of detectedApps", ptrName(e.ptr), escapePointer(k))
	}
	*budget -= len(items)
	p.sawApps, p.withApps[deviceKey] = true, true
	for j, raw := range items {
		ptr := e.ptr + "/" + escapePointer(k) + "/" + strconv.Itoa(j)
		var a detectedApp
		if err := (&jsonDoc{file: f.name}).decodeElem(jsonElem{ptr: ptr, raw: raw, line: e.line}, &a); err != nil {
			return err
		}
		p.appsOf[deviceKey]++
		im.apps = append(im.apps, located[collect.App]{fi, collect.App{DeviceKey: deviceKey, SourceAppID: string(a.ID),
			Name: string(a.DisplayName), Version: string(a.Version), Publisher: string(a.Publisher), InstallSource: "unknown",
			Prevalence: int(max(a.DeviceCount.v, 0)), Raw: collect.RawRef{Pointer: ptr}}})
	}
	return nil
}

func (p *intuneJSON) finish(im *Import) error {
	p.appCoverage.finish(im, sourceIntune, intunePersonal, "this device's object in the export has no detectedApps: it was exported without $expand=detectedApps")
	return nil
}
