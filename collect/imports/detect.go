package imports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// detectHead is how much of a file Detect reads.
const detectHead = 1 << 20

// Markers of the JSON formats: keys of a device object.
var intuneJSONMarkers = []string{"deviceName", "managedDeviceOwnerType", "complianceState", "jailBroken", "managementAgent",
	"azureADDeviceId", "deviceEnrollmentType", "lastSyncDateTime"}

// Markers of an Intune device export: one of these next to a device id.
var intuneCSVMarkers = []string{"Primary user UPN", "Managed by", "Last check-in", "Azure AD Device ID", "Entra Device ID",
	"Jailbroken", "Intune registered", "Enrollment date", "Compliance", "Ownership"}

// Detect tells the format of path from its content (never its name):
//
//   - a folder holding packages.json or getprop.txt is an androidqf
//     acquisition; any other folder is the format all its files share;
//   - a JSON file is intune-json when its device objects have Graph
//     managedDevice keys (deviceName, complianceState, jailBroken, …), and
//     wsone-json when they have Workspace ONE's (DeviceFriendlyName,
//     CompromisedStatus, LocationGroupName, …) or the object lists
//     "Devices";
//   - a JSON file is jamf-json when its device objects have
//     mobileDeviceId (the Jamf Pro API inventory) or detail keys
//     (lastInventoryUpdateTimestamp, …) or an id beside a platform object
//     ("ios", "tvos", …), or the object is a Classic
//     "mobile_device";
//   - a CSV file is read by its header: wsone-csv with "Friendly Name" or
//     "Compromised Status"; jamf-csv with "Last Inventory Update",
//     "Jailbreak Detected", "Mobile Device Name", "Mobile Device ID" or
//     an app field only Jamf has ("App Short Version", "App Validation
//     Status", "App Management Status"); wsone-csv with an app column
//     beside one only Workspace ONE's app inventory has ("Build Version",
//     "IsManaged", Apple's AdHocCodeSigned, …); jamf-csv with "App
//     Identifier" or "App Version" and no Intune device id column;
//     intune-csv with a device id column ("Device ID", "DeviceId") and
//     "Primary user UPN", "Managed by", "Last check-in", … or an
//     application column.
//
// Content it does not know is an error wrapping ErrUnknownFormat (AMAPI
// usage-log NDJSON, for one, is not this package's).
func Detect(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return detectFile(path, filepath.Base(path))
	}
	for _, n := range []string{aqfPackages, aqfGetprop} {
		if st, err := os.Lstat(filepath.Join(path, n)); err == nil && st.Mode().IsRegular() {
			return FormatAndroidQF, nil
		}
	}
	paths, names, err := inputPaths(path, Options{}.withDefaults())
	if err != nil {
		return "", err
	}
	format, first := "", ""
	for i, p := range paths {
		f, err := detectFile(p, names[i])
		if err != nil {
			return "", err
		}
		if format != "" && f != format {
			return "", fmt.Errorf("%s mixes formats: %s is %s, %s is %s; import them in separate runs", filepath.Base(path), first, format, names[i], f)
		}
		format, first = f, names[i]
	}
	return format, nil
}

func detectFile(path, name string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head, err := io.ReadAll(io.LimitReader(f, detectHead))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "", fmt.Errorf("%s is a zip archive: unzip it and import the folder or the files inside", name)
	case bytes.HasPrefix(head, []byte("age-encryption.org/")):
		return "", fmt.Errorf("%s is encrypted with age: decrypt it (age -d -i KEY) and unzip it first", name)
	}
	b := bytes.TrimLeft(bytes.TrimPrefix(head, bomUTF8), " \t\r\n")
	if len(b) == 0 {
		return "", fmt.Errorf("%s is empty", name)
	}
	if b[0] == '{' || b[0] == '[' {
		return detectJSON(name, head)
	}
	return detectCSV(name, head)
}

func detectJSON(name string, head []byte) (string, error) {
	top, item := firstKeys(head)
	keys := item
	if keys == nil {
		keys = top
	}
	has := func(keys []string, names ...string) bool {
		for _, k := range keys {
			for _, n := range names {
				if strings.EqualFold(k, n) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has(keys, intuneJSONMarkers...):
		return FormatIntuneJSON, nil
	case has(keys, jamfInventoryKeys...) || has(top, jamfInventoryKeys...) || has(top, jamfClassicKey) ||
		has(top, jamfDetailKeys...) || has(keys, jamfDetailKeys...) || has(keys, "id") && has(keys, jamfPlatformKeys...):
		return FormatJamfJSON, nil
	case has(keys, wsoneJSONMarker...) || has(top, "Devices"):
		return FormatWSOneJSON, nil
	case has(top, "DeviceApps", "app_items"):
		return "", fmt.Errorf("%s is a Workspace ONE app list of one device (mdm/devices/{id}/apps), which names no device: "+
			"collect the apps through the wsone source, or export the app inventory by device as CSV", name)
	case has(keys, "files") && has(keys, "installer"):
		return "", fmt.Errorf("%s is an androidqf packages.json: import the whole acquisition folder", name)
	}
	return "", fmt.Errorf("cannot tell the format of %s from its keys: %w", name, ErrUnknownFormat)
}

func detectCSV(name string, head []byte) (string, error) {
	if bytes.HasPrefix(head, bomUTF16LE) || bytes.HasPrefix(head, bomUTF16BE) {
		return "", fmt.Errorf("%s is UTF-16 text: save the export as UTF-8 CSV", name)
	}
	head = bytes.TrimPrefix(head, bomUTF8)
	r := csv.NewReader(bytes.NewReader(head))
	r.Comma = sniffSeparator(head)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return "", fmt.Errorf("cannot tell the format of %s: its first line is not a CSV header (%v): %w", name, err, ErrUnknownFormat)
	}
	t := &csvTable{cols: map[string]int{}}
	for i, h := range header {
		t.cols[normHeader(h)] = i
	}
	switch {
	case t.has(wsoneMarkers...):
		return FormatWSOneCSV, nil
	case t.has(jamfMarkers...), t.has(jamfAppMarkers...):
		return FormatJamfCSV, nil
	case t.has(wsoneAppMarkers...) && (t.has(wsoneAppNameAliases...) || t.has(wsoneAppIDAliases...)):
		return FormatWSOneCSV, nil
	case t.has(jamfAppWeakMarkers...) && !t.has(intuneIDAliases...):
		return FormatJamfCSV, nil
	case t.has(intuneIDAliases...) && t.has(intuneCSVMarkers...):
		return FormatIntuneCSV, nil
	case t.has(intuneAppAliases...) && (t.has(intuneIDAliases...) || t.has("Device count", "DeviceCount")):
		return FormatIntuneCSV, nil
	}
	return "", fmt.Errorf("cannot tell the format of %s from its header: %w", name, ErrUnknownFormat)
}
