package imports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custos-ir/custos/collect"
)

// A Jamf device export and a search export with app fields, imported as
// a folder: apps tied to their devices, the iOS validation signal read,
// a device only the app export lists recorded from its row, and gaps where
// the app rows are silent or the device is personal.
func TestJamfCSVWithApps(t *testing.T) {
	got := runImport(t, "testdata/jamf-apps", "", collect.Request{})
	got.checkKept(t, map[string]string{"jamf-apps/devices.csv": "testdata/jamf-apps/devices.csv", "jamf-apps/apps.csv": "testdata/jamf-apps/apps.csv"})
	got.wantSourceGaps(t, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit)
	if len(got.devices) != 5 {
		t.Fatalf("%d devices, want 5: %v", len(got.devices), got.devices)
	}
	fin := got.devices["jamf:41"]
	if fin.Name != "Finance iPhone 07" || fin.Manufacturer != "Apple" || fin.Platform != "ios" || fin.User != "a.chen@example.com" ||
		fin.Compliance != "compliant" || fin.Raw.Pointer != "/line/2" || !strings.HasSuffix(fin.Raw.Path, ".csv") {
		t.Errorf("finance iPhone %+v", fin)
	}
	// The device export's row is the device record, not the app rows.
	if ex := got.exchange("jamf-apps/devices.csv"); !strings.HasSuffix(fin.Raw.Path, ex.File) {
		t.Errorf("device record cites %s, want the device export %s", fin.Raw.Path, ex.File)
	}
	if ipad := got.devices["jamf:42"]; ipad.Platform != "ipados" || ipad.Compliance != "noncompliant" || ipad.User != "fieldops" {
		t.Errorf("field iPad %+v", ipad)
	}
	if lab := got.devices["jamf:45"]; lab.Name != "Lab iPhone" || lab.Serial != "H1KZK6QRST05" || lab.Raw.Pointer != "/line/7" {
		t.Errorf("device only the app export lists: %+v", lab)
	}
	apps := got.appsOf("jamf:41")
	if len(apps) != 3 {
		t.Fatalf("finance iPhone apps %+v", apps)
	}
	want := map[string]struct{ src, version, ptr string }{
		"com.microsoft.Office.Outlook": {"unknown", "4.2421.0", "/line/2"},
		"com.example.expensehelper":    {"sideloaded", "1.0.3", "/line/3"}, // App Validation Status: No
		"net.whatsapp.WhatsApp":        {"unknown", "24.11.79", "/line/5"},
	}
	for _, a := range apps {
		w, ok := want[a.AppID]
		if !ok || a.InstallSource != w.src || a.Version != w.version || a.Raw.Pointer != w.ptr {
			t.Errorf("app %+v, want %+v", a, w)
		}
	}
	if n := len(got.appsOf("jamf:45")); n != 0 {
		t.Errorf("lab iPhone has %d apps", n)
	}
	for key, reason := range map[string]string{"jamf:43": collect.ReasonPersonalScope, "jamf:44": collect.ReasonNotSupported, "jamf:45": collect.ReasonNotSupported} {
		if g := got.gap(key, collect.TelemetryAppInventory); len(g) != 1 || g[0].Reason != reason {
			t.Errorf("%s app inventory gaps %+v, want one %s", key, g, reason)
		}
	}
	for _, key := range []string{"jamf:41", "jamf:42"} {
		if g := got.gap(key, collect.TelemetryAppInventory); len(g) != 0 {
			t.Errorf("%s: gaps %+v", key, g)
		}
	}
	if note := got.exchange("jamf-apps/apps.csv").Note; !strings.Contains(note, "a row per app") {
		t.Errorf("note %q", note)
	}
}

// Jamf Pro JSON in its three shapes, one folder: the API inventory page,
// a per-device detail (as the live source reads it) and a Classic API
// mobile_device.
func TestJamfJSON(t *testing.T) {
	got := runImport(t, "testdata/jamf-json", "", collect.Request{})
	got.checkKept(t, map[string]string{"jamf-json/inventory.json": "testdata/jamf-json/inventory.json",
		"jamf-json/detail-19.json": "testdata/jamf-json/detail-19.json", "jamf-json/classic-20.json": "testdata/jamf-json/classic-20.json"})
	got.wantSourceGaps(t, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit)
	if len(got.devices) != 4 {
		t.Fatalf("%d devices", len(got.devices))
	}
	jd := got.devices["jamf:17"]
	if jd.Name != "JD iPhone" || jd.Platform != "ios" || jd.Model != "iPhone 14" || jd.Serial != "F2LXK0ABCD12" || jd.User != "jdoe@example.com" ||
		jd.Ownership != "corporate" || jd.Compliance != "compliant" || jd.ManagementMode != "managed" || jd.Manufacturer != "Apple" ||
		jd.Compromised != (collect.Compromised{Value: "false", Field: "security.jailBreakDetected", RawValue: "false"}) ||
		!sameTime(jd.LastSeenAt, ts("2024-06-10T07:00:00Z")) || !sameTime(jd.EnrolledAt, ts("2024-02-01T09:12:44Z")) ||
		jd.Raw.Pointer != "/results/0" || jd.Posture.Supervised == nil || !*jd.Posture.Supervised {
		t.Errorf("JD iPhone %+v", jd)
	}
	kiosk := got.devices["jamf:18"]
	if kiosk.Platform != "ipados" || kiosk.Compromised.Value != "true" || kiosk.Compliance != "noncompliant" || kiosk.EnrolledAt != nil || kiosk.User != "" {
		t.Errorf("kiosk iPad %+v", kiosk)
	}
	sales := got.devices["jamf:19"]
	if sales.Name != "Sales iPhone 2" || sales.Platform != "ios" || sales.Model != "iPhone 13 Pro" || sales.IMEI != "356789012345678" ||
		sales.ManagementMode != "Automated Device Enrollment" || sales.Category != "Sales" || sales.User != "s.smith@example.com" ||
		sales.Compromised.Field != "ios.security.jailBreakDetected" || sales.Raw.Pointer != "" {
		t.Errorf("sales iPhone (detail) %+v", sales)
	}
	exec := got.devices["jamf:20"]
	if exec.Name != "Exec iPhone" || exec.Platform != "ios" || exec.User != "exec1@example.com" ||
		exec.Compromised != (collect.Compromised{Value: "true", Field: "security.jailbreak_detected", RawValue: "Jailbroken"}) ||
		!sameTime(exec.LastSeenAt, ts("2024-06-10T08:15:00Z")) || exec.Raw.Pointer != "/mobile_device" {
		t.Errorf("exec iPhone (classic) %+v", exec)
	}
	wantApps := map[string]struct{ device, src, version, ptr string }{
		"net.whatsapp.WhatsApp":    {"jamf:17", "unknown", "24.11.79", "/results/0/applications/0"},
		"com.example.qrscan":       {"jamf:17", "sideloaded", "2.3", "/results/0/applications/1"},
		"com.example.crm":          {"jamf:19", "sideloaded", "8.1.2", "/ios/applications/0"},
		"eu.altstore.example.emu":  {"jamf:19", collect.InstallMarketplace, "1.3", "/ios/applications/1"},
		"com.example.fieldservice": {"jamf:19", collect.InstallBeta, "5.0", "/ios/applications/2"},
		"org.coolstar.SileoStore":  {"jamf:20", "unknown", "2.5", "/mobile_device/applications/0"},
		"com.tinyspeck.chatlyio":   {"jamf:20", "unknown", "24.05.10", "/mobile_device/applications/1"},
	}
	if len(got.apps) != len(wantApps) {
		t.Errorf("%d apps, want %d", len(got.apps), len(wantApps))
	}
	for _, a := range got.apps {
		w, ok := wantApps[a.AppID]
		if !ok || a.DeviceKey != w.device || a.InstallSource != w.src || a.Version != w.version || a.Raw.Pointer != w.ptr {
			t.Errorf("app %+v, want %+v", a, w)
		}
	}
	// The kiosk's inventory lists no app: a gap, not a clean device.
	if g := got.gap("jamf:18", collect.TelemetryAppInventory); len(g) != 1 || g[0].Reason != collect.ReasonNotSupported {
		t.Errorf("kiosk gaps %+v", g)
	}
	if note := got.exchange("jamf-json/inventory.json").Note; !strings.Contains(note, "listing of 3 devices") || !strings.Contains(note, "inventory") {
		t.Errorf("note %q", note)
	}
}

// An app export names its devices by whichever identifiers its search
// displays: each app goes to the device export's record that shares one,
// never to another device nor beside it under another key.
func TestJamfCSVAppsTiedToDevices(t *testing.T) {
	devices, err := os.ReadFile("testdata/jamf-apps/devices.csv")
	if err != nil {
		t.Fatal(err)
	}
	folder := func(t *testing.T, apps string) string {
		dir := filepath.Join(t.TempDir(), "j")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{"devices.csv": devices, "apps.csv": []byte(apps)} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	// By serial number (in another case) and by UDID, not by Jamf's id.
	got := runImport(t, folder(t, `"Mobile Device Name","Serial Number","App Name","App Identifier","App Version"
"Finance iPhone 07","g6txk2abcd01","Expense Helper","com.example.expensehelper","1.0.3"
"Field iPad 3","DMPYK3EFGH02","Field Service","com.example.fieldservice","5.0"
`), "", collect.Request{})
	if len(got.devices) != 4 {
		t.Errorf("%d devices, want the device export's 4", len(got.devices))
	}
	if a := got.appsOf("jamf:41"); len(a) != 1 || a[0].AppID != "com.example.expensehelper" {
		t.Errorf("apps of jamf:41: %+v", a)
	}
	if a := got.appsOf("jamf:42"); len(a) != 1 {
		t.Errorf("apps of jamf:42: %+v", a)
	}
	if g := got.gap("jamf:41", collect.TelemetryAppInventory); len(g) != 0 {
		t.Errorf("jamf:41 has its apps, yet gaps %+v", g)
	}
	got = runImport(t, folder(t, `"Display Name","UDID","App Name","App Identifier","App Version"
"M. Okafor iPhone","00008110-0011AA22BB33CC44","Signal","org.whispersystems.signal","7.1"
`), "", collect.Request{})
	if a := got.appsOf("jamf:43"); len(got.devices) != 4 || len(a) != 1 {
		t.Errorf("%d devices; apps of jamf:43: %+v", len(got.devices), a)
	}

	for _, c := range []struct{ name, apps, want string }{
		{"identifiers of two devices", `"JSS Mobile Device ID","Display Name","Serial Number","App Name"
"41","Field iPad 3","DMPYK3EFGH02","Field Service"
`, `j/apps.csv:2: this app's row names device "41" (j/devices.csv:2) by its JSS Mobile Device ID, but gives Serial Number "DMPYK3EFGH02" where the device has "G6TXK2ABCD01"`},
		{"a new id beside a known serial number", `"JSS Mobile Device ID","Display Name","Serial Number","App Name"
"46","Finance iPhone 07","G6TXK2ABCD01","Outlook"
`, `j/apps.csv:2: this app's row names device "41" (j/devices.csv:2) by its Serial Number, but gives JSS Mobile Device ID "46" where the device has "41"`},
	} {
		_, err := Open(folder(t, c.apps), "", Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// An object without a security section (a detail without its platform
// object, an inventory without the SECURITY section) says nothing of
// jailbreak or compliance: unknown, never "" or clean.
func TestJamfJSONWithoutSecurity(t *testing.T) {
	for name, data := range map[string]string{
		"detail.json":    `{"id": "7", "name": "a", "enrollmentMethod": ""}`,
		"inventory.json": `{"totalCount": 1, "results": [{"mobileDeviceId": "8", "general": {"displayName": "b"}}]}`,
		"classic.json":   `{"mobile_device": {"general": {"id": 9, "display_name": "c"}}}`,
	} {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		got := runImport(t, p, FormatJamfJSON, collect.Request{})
		if len(got.devices) != 1 {
			t.Fatalf("%s: %d devices", name, len(got.devices))
		}
		for _, d := range got.devices {
			if d.Compromised.Value != "unknown" || d.Compliance != "unknown" {
				t.Errorf("%s: compromised %+v, compliance %q", name, d.Compromised, d.Compliance)
			}
		}
	}
}

// The import reads Jamf's words as the live source does (jamfvocab): an
// iPad before iPadOS runs iOS; Account Driven Device Enrollment is the
// organisation's.
func TestJamfJSONAsLive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.json")
	if err := os.WriteFile(p, []byte(`{"id": "7", "type": "ios", "osVersion": "12.5.7", "deviceOwnershipLevel": "AccountDrivenDeviceEnrollment",
"ios": {"model": "iPad Air 2", "modelIdentifier": "iPad5,3"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runImport(t, p, FormatJamfJSON, collect.Request{})
	if d := got.devices["jamf:7"]; d.Platform != "ios" || d.Ownership != "corporate" {
		t.Errorf("platform %q, ownership %q; want ios, corporate", d.Platform, d.Ownership)
	}
}

// A null platform object is none: the detail is read from the other.
func TestJamfJSONNullPlatform(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.json")
	if err := os.WriteFile(p, []byte(`{"id": "7", "ios": null, "tvos": {"model": "Apple TV 4K", "security": {"jailBreakDetected": "Jailbroken"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got := runImport(t, p, FormatJamfJSON, collect.Request{})
	if d := got.devices["jamf:7"]; d.Platform != "tvos" || d.Model != "Apple TV 4K" || d.Compromised.Value != "true" {
		t.Errorf("%+v", d)
	}
}

// Each shape is detected from its content, also alone.
func TestDetectJamfJSON(t *testing.T) {
	for _, name := range []string{"inventory.json", "detail-19.json", "classic-20.json"} {
		if f, err := Detect(filepath.Join("testdata/jamf-json", name)); err != nil || f != FormatJamfJSON {
			t.Errorf("%s: %q, %v", name, f, err)
		}
	}
	for _, name := range []string{"devices.csv", "apps.csv"} {
		if f, err := Detect(filepath.Join("testdata/jamf-apps", name)); err != nil || f != FormatJamfCSV {
			t.Errorf("%s: %q, %v", name, f, err)
		}
	}
}

// Malformed Jamf input fails the whole import, naming file and line.
func TestJamfMalformed(t *testing.T) {
	for _, c := range []struct {
		name, file, format, data, want string
	}{
		{"app rows disagree", "a.csv", "", "\"JSS Mobile Device ID\",\"Display Name\",\"App Name\"\n1,A,X\n1,B,Y\n",
			`a.csv:3: device "1": column "Display Name" is "B" here but "A" on line 2`},
		{"device twice in a device export", "d.csv", "", "\"JSS Mobile Device ID\",\"Display Name\"\n1,A\n1,A\n", `d.csv:3: device "1" is already on d.csv:2`},
		{"no identifier", "n.csv", FormatJamfCSV, "\"Display Name\",\"App Name\"\nA,X\n", `n.csv:1: no device identifier column`},
		{"not a device", "x.json", FormatJamfJSON, `{"results":[{"foo":1}]}`, `x.json:1: /results/0: not a Jamf Pro mobile device`},
		{"no id", "y.json", "", `{"results":[{"mobileDeviceId":"","general":{}}]}`, `y.json:1: /results/0: a device without an id, UDID or serial number`},
		{"applications not an array", "z.json", "", "{\"results\":[\n{\"mobileDeviceId\":\"3\",\"applications\":{}}]}", `z.json:2: /results/0/applications: not an array of applications`},
		{"app not an object", "w.json", "", `{"mobileDeviceId":"3","applications":[1]}`, `w.json:1: /applications/0: not a JSON object`},
		{"bad date", "v.json", "", `{"mobileDeviceId":"3","general":{"lastInventoryUpdateDate":"yesterday"}}`, `v.json:1: the object: last inventory update:`},
		{"two platform-less duplicates", "u.json", "", `[{"id":"5","lastInventoryUpdateTimestamp":""},{"id":"5","lastInventoryUpdateTimestamp":""}]`, `u.json:1: device "5" is already at u.json:1`},
		{"security as text", "s.json", "", `{"mobile_device":{"general":{"id":1},"security":"x"}}`, `s.json:1: /mobile_device/security: not a JSON object`},
		{"platform object twice", "p.json", FormatJamfJSON, `{"id":"5","type":"ios","ios":{"security":{"jailBreakDetected":true}},"IOS":{"model":"iPhone 15"}}`, `p.json:1: the object: "ios" is there twice (as "ios" and "IOS")`},
		{"Classic object twice", "c.json", FormatJamfJSON, `{"mobile_device":{"general":{"id":1}},"Mobile_Device":{"general":{"id":2}}}`, `c.json:1: the object: "mobile_device" is there twice`},
		{"truncated", "t.json", FormatJamfJSON, `{"results":[{"mobileDeviceId":"1"}`, `t.json`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, c.file)
			if err := os.WriteFile(p, []byte(c.data), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(p, c.format, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// FuzzJamfCSVFolder imports a device export and an app export together,
// in either order: it fails naming a file, or every app is on the device
// export's record that shares an identifier with its row, or under a key
// of its own that no device export record shares an identifier with; and
// no device is recorded twice.
func FuzzJamfCSVFolder(f *testing.F) {
	devices, _ := os.ReadFile("testdata/jamf-apps/devices.csv")
	apps, _ := os.ReadFile("testdata/jamf-apps/apps.csv")
	f.Add(devices, apps, false)
	f.Add(devices, apps, true)
	f.Add(devices, []byte("\"Mobile Device Name\",\"Serial Number\",\"App Name\"\na,g6txk2abcd01,x\nb,NEW1,y\n"), false)
	f.Add([]byte("JSS Mobile Device ID,Serial Number,UDID\n1,S,\n2,S,u\n3,,U2\n"), []byte("Serial Number,UDID,App Name\ns,,a\n,u2,b\nS,U,c\n"), false)
	f.Fuzz(func(t *testing.T, devData, appData []byte, appsFirst bool) {
		p := &jamfCSV{}
		im, ok := importPair(t, p, devData, appData, appsFirst)
		if !ok {
			return
		}
		recorded := map[string]bool{}
		for _, d := range im.devices {
			if recorded[d.rec.Key] {
				t.Fatalf("device %q recorded twice", d.rec.Key)
			}
			recorded[d.rec.Key] = true
		}
		byKey := map[string]deviceIDs{}
		for _, d := range p.devs {
			byKey[d.key] = d
		}
		for _, i := range p.apps {
			if k := im.apps[i].rec.DeviceKey; !recorded[k] {
				t.Fatalf("app of %q, which has no record", k)
			}
		}
		for _, ad := range p.appDevs {
			k := ad.dev.rec.Key
			if _, isDev := byKey[k]; isDev || !recorded[k] {
				continue // the device export's record, or tied to one
			}
			for _, d := range p.devs {
				if d.shares(ad.ids) {
					t.Fatalf("device %+v of the app export recorded as %q beside %q, which shares an identifier with it", ad.ids, k, d.key)
				}
			}
		}
	})
}
