package imports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/jamfvocab"
)

// Jamf Pro JSON, as saved from its APIs (reference §3.2, §3.3). Three
// shapes, told apart per device object:
//
//   - inventory: GET /api/v2/mobile-devices/detail, {totalCount,
//     results[]}, each result {mobileDeviceId, deviceType, general,
//     hardware, userAndLocation, security, network, applications};
//   - detail: GET /api/v2/mobile-devices/{id}/detail, one device {id,
//     name, udid, …} with an "ios" (or tvos, watchos, visionos) object
//     holding model, security, network and applications, as the live
//     source reads it;
//   - classic: GET /JSSResource/mobiledevices/id/{id} with Accept:
//     application/json, {"mobile_device": {general, location, network,
//     security (or security_object), applications}}.
//
// A file holds one device, a results page or an array of devices; a
// folder may hold many (one per device, as a script saves them).

// jamfInventory is a result of GET /api/v2/mobile-devices/detail.
type jamfInventory struct {
	MobileDeviceID jstr `json:"mobileDeviceId"`
	DeviceType     jstr `json:"deviceType"`
	General        struct {
		UDID                    jstr  `json:"udid"`
		DisplayName             jstr  `json:"displayName"`
		OSVersion               jstr  `json:"osVersion"`
		OSBuild                 jstr  `json:"osBuild"`
		LastInventoryUpdateDate jstr  `json:"lastInventoryUpdateDate"`
		LastEnrolledDate        jstr  `json:"lastEnrolledDate"`
		DeviceOwnershipType     jstr  `json:"deviceOwnershipType"`
		Managed                 jbool `json:"managed"`
		Supervised              jbool `json:"supervised"`
	} `json:"general"`
	Hardware struct {
		SerialNumber    jstr `json:"serialNumber"`
		Model           jstr `json:"model"`
		ModelIdentifier jstr `json:"modelIdentifier"`
	} `json:"hardware"`
	UserAndLocation struct {
		Username     jstr `json:"username"`
		EmailAddress jstr `json:"emailAddress"`
	} `json:"userAndLocation"`
	Security jamfSecurity `json:"security"`
	Network  struct {
		IMEI jstr `json:"imei"`
	} `json:"network"`
}

// jamfSecurity is the security section in the Jamf Pro API's spelling.
type jamfSecurity struct {
	DataProtected                jbool `json:"dataProtected"`
	PasscodeCompliant            jbool `json:"passcodeCompliant"`
	PasscodeCompliantWithProfile jbool `json:"passcodeCompliantWithProfile"`
	JailBreakDetected            jstr  `json:"jailBreakDetected"`
}

// jamfDetail is GET /api/v2/mobile-devices/{id}/detail; the platform
// object is read apart (jamfPlatformDetail).
type jamfDetail struct {
	ID                           jstr  `json:"id"`
	Name                         jstr  `json:"name"`
	UDID                         jstr  `json:"udid"`
	SerialNumber                 jstr  `json:"serialNumber"`
	OSVersion                    jstr  `json:"osVersion"`
	OSBuild                      jstr  `json:"osBuild"`
	Type                         jstr  `json:"type"`
	Managed                      jbool `json:"managed"`
	LastInventoryUpdateTimestamp jstr  `json:"lastInventoryUpdateTimestamp"`
	LastEnrollmentTimestamp      jstr  `json:"lastEnrollmentTimestamp"`
	DeviceOwnershipLevel         jstr  `json:"deviceOwnershipLevel"`
	EnrollmentMethod             jstr  `json:"enrollmentMethod"`
	Site                         struct {
		Name jstr `json:"name"`
	} `json:"site"`
	Location struct {
		Username     jstr `json:"username"`
		EmailAddress jstr `json:"emailAddress"`
	} `json:"location"`
}

type jamfPlatformDetail struct {
	Model           jstr         `json:"model"`
	ModelIdentifier jstr         `json:"modelIdentifier"`
	Supervised      jbool        `json:"supervised"`
	Security        jamfSecurity `json:"security"`
	Network         struct {
		IMEI jstr `json:"imei"`
	} `json:"network"`
}

// jamfClassic is the Classic API's mobile_device.
type jamfClassic struct {
	General struct {
		ID                     jstr  `json:"id"`
		DisplayName            jstr  `json:"display_name"`
		DeviceName             jstr  `json:"device_name"`
		Name                   jstr  `json:"name"`
		LastInventoryUpdateUTC jstr  `json:"last_inventory_update_utc"`
		LastEnrollmentUTC      jstr  `json:"last_enrollment_utc"`
		OSType                 jstr  `json:"os_type"`
		OSVersion              jstr  `json:"os_version"`
		OSBuild                jstr  `json:"os_build"`
		SerialNumber           jstr  `json:"serial_number"`
		UDID                   jstr  `json:"udid"`
		Model                  jstr  `json:"model"`
		ModelIdentifier        jstr  `json:"model_identifier"`
		DeviceOwnershipLevel   jstr  `json:"device_ownership_level"`
		Managed                jbool `json:"managed"`
		Supervised             jbool `json:"supervised"`
	} `json:"general"`
	Location struct {
		Username     jstr `json:"username"`
		EmailAddress jstr `json:"email_address"`
	} `json:"location"`
	Network struct {
		IMEI jstr `json:"imei"`
	} `json:"network"`
}

// jamfClassicSecurity is the Classic API's security subset.
type jamfClassicSecurity struct {
	DataProtection               jbool `json:"data_protection"`
	PasscodeCompliant            jbool `json:"passcode_compliant"`
	PasscodeCompliantWithProfile jbool `json:"passcode_compliant_with_profile"`
	JailbreakDetected            jstr  `json:"jailbreak_detected"`
}

// jamfApp is an application item in any of the three shapes, with the
// iOS InstalledApplicationList signals when a script kept them.
type jamfApp struct {
	Identifier              jstr  `json:"identifier"`
	Name                    jstr  `json:"name"`
	ApplicationName         jstr  `json:"application_name"`
	Version                 jstr  `json:"version"`
	ApplicationVersion      jstr  `json:"application_version"`
	ShortVersion            jstr  `json:"shortVersion"`
	ApplicationShortVersion jstr  `json:"application_short_version"`
	ManagementStatus        jstr  `json:"managementStatus"`
	ValidationStatus        jbool `json:"validationStatus"`
	IsValidated             jbool `json:"isValidated"`
	AdHocCodeSigned         jbool `json:"adHocCodeSigned"`
	AppStoreVendable        jbool `json:"appStoreVendable"`
	BetaApp                 jbool `json:"betaApp"`
	DistributorIdentifier   jstr  `json:"distributorIdentifier"`
}

func (a jamfApp) record(deviceKey, ptr string) collect.App {
	valid := a.ValidationStatus.v
	if valid == nil {
		valid = a.IsValidated.v
	}
	src := collect.AppleAppSignals{AdHocCodeSigned: a.AdHocCodeSigned.v, Validated: valid, Beta: a.BetaApp.v,
		AppStoreVendable: a.AppStoreVendable.v, Distributor: string(a.DistributorIdentifier)}.InstallSource()
	if src == "" {
		src = "unknown"
	}
	rec := collect.App{DeviceKey: deviceKey, AppID: strings.TrimSpace(string(a.Identifier)),
		Name:    firstNonBlank(string(a.Name), string(a.ApplicationName)),
		Version: firstNonBlank(string(a.ShortVersion), string(a.ApplicationShortVersion), string(a.Version), string(a.ApplicationVersion)),
		State:   string(a.ManagementStatus), Managed: managedApp(string(a.ManagementStatus)),
		InstallSource: src, Installer: string(a.DistributorIdentifier), Raw: collect.RawRef{Pointer: ptr}}
	return rec
}

// jamfJSON reads Jamf Pro JSON files.
type jamfJSON struct {
	appCoverage
	seen map[string]string
}

// Keys that tell the shapes apart, for Detect and the reader.
var (
	jamfInventoryKeys = []string{"mobileDeviceId"}
	jamfDetailKeys    = []string{"lastInventoryUpdateTimestamp", "lastEnrollmentTimestamp", "deviceOwnershipLevel", "enrollmentMethod"}
	jamfClassicKey    = "mobile_device"
)

func (p *jamfJSON) parse(im *Import, fi int, f *inputFile, opts Options) error {
	f.ext, f.what = "json", "Jamf Pro API mobile device JSON"
	f.addNote("records point at the RFC 6901 pointer of their object in the file")
	if p.seen == nil {
		p.seen, p.appsOf = map[string]string{}, map[string]int{}
	}
	doc, err := readJSONList(f.name, f.data, []string{"results"}, opts.MaxRows)
	if err != nil {
		return err
	}
	for k, v := range doc.top {
		if strings.EqualFold(k, "totalCount") {
			var total jint
			if json.Unmarshal(v, &total) == nil && total.ok && total.v > int64(len(doc.elems)) {
				f.addNote(fmt.Sprintf("one page of a listing of %d devices: the others are not in this file", total.v))
			}
		}
	}
	type parsed struct {
		d       collect.Device
		seen    string // raw date texts, for the time reader
		enroll  string
		apps    json.RawMessage // nil: the object has no applications
		appsPtr string
		e       jsonElem
	}
	var devs []parsed
	var cells []dateCell
	for _, e := range doc.elems {
		var obj map[string]json.RawMessage
		if err := doc.decodeElem(e, &obj); err != nil {
			return err
		}
		var pd parsed
		pd.e = e
		switch {
		case hasKey(obj, jamfClassicKey):
			k, err := objectKey(e.raw, jamfClassicKey)
			if err != nil {
				return errLine(doc.file, e.line, "%s: %v", ptrName(e.ptr), err)
			}
			inner := jsonElem{ptr: e.ptr + "/" + escapePointer(k), raw: obj[k], line: e.line}
			if pd.d, pd.seen, pd.enroll, pd.apps, pd.appsPtr, err = jamfClassicRecord(doc, inner); err != nil {
				return err
			}
			f.what = "Jamf Pro Classic API mobile device (JSON)"
		case hasKey(obj, jamfInventoryKeys...):
			if pd.d, pd.seen, pd.enroll, pd.apps, pd.appsPtr, err = jamfInventoryRecord(doc, e, obj); err != nil {
				return err
			}
			f.what = "Jamf Pro API mobile device inventory (JSON)"
		case hasKey(obj, jamfDetailKeys...) || hasKey(obj, "id") && hasKey(obj, jamfPlatformKeys...):
			if pd.d, pd.seen, pd.enroll, pd.apps, pd.appsPtr, err = jamfDetailRecord(doc, e, obj); err != nil {
				return err
			}
			f.what = "Jamf Pro API mobile device detail (JSON)"
		default:
			return errLine(f.name, e.line, "%s: not a Jamf Pro mobile device (no mobileDeviceId, mobile_device, or detail keys such as lastInventoryUpdateTimestamp)", ptrName(e.ptr))
		}
		if pd.d.SourceID == "" {
			return errLine(f.name, e.line, "%s: a device without an id, UDID or serial number", ptrName(e.ptr))
		}
		cells = append(cells, dateCell{e.line, pd.seen}, dateCell{e.line, pd.enroll})
		devs = append(devs, pd)
	}
	tr, err := newTimeReader(f.name, cells)
	if err != nil {
		return err
	}
	p.sawDevices = true
	budget := opts.MaxRows - len(devs) // the apps the file may hold besides its devices
	for _, pd := range devs {
		d, e := pd.d, pd.e
		if prev, dup := p.seen[d.Key]; dup {
			return errLine(f.name, e.line, "device %q is already at %s", d.SourceID, prev)
		}
		p.seen[d.Key] = fmt.Sprintf("%s:%d", f.name, e.line)
		if d.LastSeenAt, err = tr.parse("last inventory update", pd.seen); err != nil {
			return errLine(f.name, e.line, "%s: last inventory update: %v", ptrName(e.ptr), err)
		}
		if d.EnrolledAt, err = tr.parse("last enrollment", pd.enroll); err != nil {
			return errLine(f.name, e.line, "%s: last enrollment: %v", ptrName(e.ptr), err)
		}
		im.devices = append(im.devices, located[collect.Device]{fi, d})
		if pd.apps == nil {
			continue
		}
		items, err := arrayItems(pd.apps, budget)
		switch {
		case errors.Is(err, errTooManyItems):
			return errLine(f.name, e.line, "%s: more than %d devices and apps in the file (the import limit)", pd.appsPtr, opts.MaxRows)
		case err != nil:
			return errLine(f.name, e.line, "%s: not an array of applications", pd.appsPtr)
		}
		budget -= len(items)
		p.sawApps = true
		for j, raw := range items {
			ptr := pd.appsPtr + "/" + strconv.Itoa(j)
			var a jamfApp
			if err := doc.decodeElem(jsonElem{ptr: ptr, raw: raw, line: e.line}, &a); err != nil {
				return err
			}
			p.appsOf[d.Key]++
			im.apps = append(im.apps, located[collect.App]{fi, a.record(d.Key, ptr)})
		}
	}
	f.notes = append(f.notes, tr.notes()...)
	return nil
}

func (p *jamfJSON) finish(im *Import) error {
	p.appCoverage.finish(im, sourceJamf, "a personally owned (User Enrollment) device reports only the apps the organisation manages",
		"this device's object has no applications, or they were not saved with it (the inventory's APPLICATIONS section, or the Classic Applications subset)")
	return nil
}

// jamfDevice fills what every shape shares. id is Jamf's id, else the
// UDID, else the serial number, named in the key when not Jamf's.
func jamfDevice(id, udid, serial string) collect.Device {
	sourceID := ""
	for _, k := range []struct{ v, prefix string }{{id, ""}, {udid, "udid:"}, {serial, "serial:"}} {
		if v := strings.TrimSpace(k.v); v != "" && sourceID == "" {
			sourceID = k.prefix + v
		}
	}
	d := collect.Device{Source: sourceJamf, SourceID: sourceID, Manufacturer: "Apple", Serial: strings.TrimSpace(serial),
		Compliance: "unknown", Compromised: collect.Compromised{Value: "unknown"}} // until a security section says
	if sourceID != "" {
		d.Key = sourceJamf + ":" + sourceID
	}
	return d
}

func jamfInventoryRecord(doc *jsonDoc, e jsonElem, obj map[string]json.RawMessage) (d collect.Device, seen, enroll string, apps json.RawMessage, appsPtr string, err error) {
	var m jamfInventory
	if err = doc.decodeElem(e, &m); err != nil {
		return
	}
	g := m.General
	d = jamfDevice(string(m.MobileDeviceID), string(g.UDID), string(m.Hardware.SerialNumber))
	d.Name, d.Model = string(g.DisplayName), string(m.Hardware.Model)
	d.OSVersion, d.Build = string(g.OSVersion), string(g.OSBuild)
	d.Platform = jamfvocab.Platform(string(m.DeviceType), string(m.Hardware.Model)+" "+string(m.Hardware.ModelIdentifier), d.OSVersion)
	d.IMEI = string(m.Network.IMEI)
	d.User = firstNonBlank(string(m.UserAndLocation.EmailAddress), string(m.UserAndLocation.Username))
	d.Ownership = jamfvocab.Ownership(string(g.DeviceOwnershipType))
	d.ManagementMode = managedMode(g.Managed.v, "")
	d.Posture.Supervised = g.Supervised.v
	d.Raw = collect.RawRef{Pointer: e.ptr}
	jamfSecurityInto(&d, m.Security, "security.jailBreakDetected")
	apps, appsPtr, err = member(doc, e, obj, "applications")
	return d, string(g.LastInventoryUpdateDate), string(g.LastEnrolledDate), apps, appsPtr, err
}

// jamfPlatformKeys are the objects a detail may carry, one per device type.
var jamfPlatformKeys = []string{"ios", "tvos", "watchos", "visionos"}

func jamfDetailRecord(doc *jsonDoc, e jsonElem, obj map[string]json.RawMessage) (d collect.Device, seen, enroll string, apps json.RawMessage, appsPtr string, err error) {
	var m jamfDetail
	if err = doc.decodeElem(e, &m); err != nil {
		return
	}
	d = jamfDevice(string(m.ID), string(m.UDID), string(m.SerialNumber))
	d.Name, d.OSVersion, d.Build = string(m.Name), string(m.OSVersion), string(m.OSBuild)
	d.User = firstNonBlank(string(m.Location.EmailAddress), string(m.Location.Username))
	d.Ownership = jamfvocab.Ownership(string(m.DeviceOwnershipLevel))
	d.ManagementMode = managedMode(m.Managed.v, string(m.EnrollmentMethod))
	d.Category = string(m.Site.Name)
	d.Raw = collect.RawRef{Pointer: e.ptr}
	d.Platform = jamfvocab.Platform(string(m.Type), "", d.OSVersion)
	// The platform object: the one the type names, else the first; a
	// null one is none. One twice (in two cases) is refused, as the live
	// source would read only the one spelt as it expects.
	found, kerr := objectKeys(e.raw, jamfPlatformKeys...)
	if kerr != nil {
		return d, "", "", nil, "", errLine(doc.file, e.line, "%s: %v", ptrName(e.ptr), kerr)
	}
	key := ""
	for i, k := range jamfPlatformKeys {
		if ok := found[i]; ok != "" && string(bytes.TrimSpace(obj[ok])) != "null" && (key == "" || strings.EqualFold(k, string(m.Type))) {
			key = ok
		}
	}
	if key == "" {
		return d, string(m.LastInventoryUpdateTimestamp), string(m.LastEnrollmentTimestamp), nil, "", nil
	}
	pe := jsonElem{ptr: e.ptr + "/" + escapePointer(key), raw: obj[key], line: e.line}
	var pl jamfPlatformDetail
	if err = doc.decodeElem(pe, &pl); err != nil {
		return
	}
	var pobj map[string]json.RawMessage
	if err = doc.decodeElem(pe, &pobj); err != nil {
		return
	}
	d.Model, d.IMEI = string(pl.Model), string(pl.Network.IMEI)
	d.Platform = jamfvocab.Platform(firstNonBlank(string(m.Type), key), string(pl.Model)+" "+string(pl.ModelIdentifier), d.OSVersion)
	d.Posture.Supervised = pl.Supervised.v
	jamfSecurityInto(&d, pl.Security, key+".security.jailBreakDetected")
	apps, appsPtr, err = member(doc, pe, pobj, "applications")
	return d, string(m.LastInventoryUpdateTimestamp), string(m.LastEnrollmentTimestamp), apps, appsPtr, err
}

func jamfClassicRecord(doc *jsonDoc, e jsonElem) (d collect.Device, seen, enroll string, apps json.RawMessage, appsPtr string, err error) {
	var m jamfClassic
	if err = doc.decodeElem(e, &m); err != nil {
		return
	}
	var obj map[string]json.RawMessage
	if err = doc.decodeElem(e, &obj); err != nil {
		return
	}
	g := m.General
	d = jamfDevice(string(g.ID), string(g.UDID), string(g.SerialNumber))
	d.Name = firstNonBlank(string(g.DisplayName), string(g.DeviceName), string(g.Name))
	d.Model, d.OSVersion, d.Build = string(g.Model), string(g.OSVersion), string(g.OSBuild)
	d.Platform = jamfvocab.Platform(string(g.OSType), string(g.Model)+" "+string(g.ModelIdentifier), d.OSVersion)
	d.IMEI = string(m.Network.IMEI)
	d.User = firstNonBlank(string(m.Location.EmailAddress), string(m.Location.Username))
	d.Ownership = jamfvocab.Ownership(string(g.DeviceOwnershipLevel))
	d.ManagementMode = managedMode(g.Managed.v, "")
	d.Posture.Supervised = g.Supervised.v
	d.Raw = collect.RawRef{Pointer: e.ptr}
	// The security subset is "security" in the Classic API's JSON, and
	// "security_object" in some SDKs' renderings of it.
	found, kerr := objectKeys(e.raw, "security", "security_object")
	if kerr != nil {
		return d, "", "", nil, "", errLine(doc.file, e.line, "%s: %v", ptrName(e.ptr), kerr)
	}
	for _, k := range found {
		if k == "" {
			continue
		}
		var s jamfClassicSecurity
		if err = doc.decodeElem(jsonElem{ptr: e.ptr + "/" + escapePointer(k), raw: obj[k], line: e.line}, &s); err != nil {
			return
		}
		jamfSecurityInto(&d, jamfSecurity{DataProtected: s.DataProtection, PasscodeCompliant: s.PasscodeCompliant,
			PasscodeCompliantWithProfile: s.PasscodeCompliantWithProfile, JailBreakDetected: s.JailbreakDetected}, k+".jailbreak_detected")
		break
	}
	apps, appsPtr, err = member(doc, e, obj, "applications")
	return d, string(g.LastInventoryUpdateUTC), string(g.LastEnrollmentUTC), apps, appsPtr, err
}

// jamfSecurityInto maps a security section: encryption, passcode
// compliance (the only compliance Jamf keeps) and the jailbreak verdict,
// field naming where it was read.
func jamfSecurityInto(d *collect.Device, s jamfSecurity, field string) {
	d.Posture.Encrypted = s.DataProtected.v
	d.Compliance = passcodeCompliance(s.PasscodeCompliant.v, s.PasscodeCompliantWithProfile.v)
	jb := string(s.JailBreakDetected)
	d.Compromised = collect.Compromised{Value: tristate(jb), Field: field, RawValue: jb}
	if jb == "" {
		d.Compromised = collect.Compromised{Value: "unknown"}
	}
}

// managedMode is "managed" or "unmanaged" and the enrollment method, as
// the live source reports them.
func managedMode(managed *bool, method string) string {
	switch {
	case managed != nil && !*managed:
		return "unmanaged"
	case method != "":
		return method
	case managed != nil:
		return "managed"
	}
	return ""
}

// member returns the member of object raw (decoded as obj) named name in
// any case, and its pointer under ptr; nil when absent or null. Two
// members of that name in different cases are an error.
func member(doc *jsonDoc, e jsonElem, obj map[string]json.RawMessage, name string) (json.RawMessage, string, error) {
	k, err := objectKey(e.raw, name)
	if err != nil {
		return nil, "", errLine(doc.file, e.line, "%s: %v", ptrName(e.ptr), err)
	}
	if k == "" || string(obj[k]) == "null" {
		return nil, "", nil
	}
	return obj[k], e.ptr + "/" + escapePointer(k), nil
}

// hasKey reports whether obj has any of names, in any case.
func hasKey(obj map[string]json.RawMessage, names ...string) bool {
	for k := range obj {
		for _, n := range names {
			if strings.EqualFold(k, n) {
				return true
			}
		}
	}
	return false
}
