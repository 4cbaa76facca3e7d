package imports

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
)

const intuneHeader = "Device ID,Device name,Last check-in,Primary user UPN,OS\n"

// copyDir copies a fixture folder so that a test can break one file.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// Malformed input fails the whole import with the file and line; nothing
// is returned to import.
func TestMalformedInput(t *testing.T) {
	aqf := func(t *testing.T, file, content string) string {
		dir := copyDir(t, aqfDir)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, aqfHashes)) // the file no longer matches it
		return dir
	}
	file := func(name, content string) func(t *testing.T) string {
		return func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	packages, _ := os.ReadFile(filepath.Join(aqfDir, aqfPackages))
	graph, _ := os.ReadFile("testdata/intune-json/managedDevices.json")
	for _, c := range []struct {
		name   string
		format string
		input  func(t *testing.T) string
		want   string // part of the error: file:line and what
		opts   Options
	}{
		{"bad quoting", FormatIntuneCSV, file("d.csv", intuneHeader+"a,b,2024-06-10,u,iOS\nc,\"d\"x,2024-06-10,u,iOS\n"), `d.csv:3: column 5: extraneous or missing " in quoted-field`, Options{}},
		{"unterminated quote", FormatIntuneCSV, file("d.csv", intuneHeader+"a,\"b,2024-06-10,u,iOS\n"), `d.csv:2:`, Options{}},
		{"wrong column count", FormatIntuneCSV, file("d.csv", intuneHeader+"a,b,2024-06-10,u,iOS\nc,d,2024-06-10\n"), "d.csv:3: wrong number of fields: the header has 5", Options{}},
		{"missing required column", FormatIntuneCSV, file("d.csv", "Device ID,Last check-in,Primary user UPN\na,2024-06-10,u\n"), `d.csv:1: no "Device name" column`, Options{}},
		{"duplicate column", FormatIntuneCSV, file("d.csv", "Device ID,Device name,Jailbroken,Jailbroken\na,b,False,True\n"), `d.csv:1: the header has two "jailbroken" columns`, Options{}},
		{"bad date", FormatIntuneCSV, file("d.csv", intuneHeader+"a,b,2024-06-10 07:55:03,u,iOS\nc,d,2024-13-45 10:00,u,iOS\n"), `d.csv:3: column "Last check-in": "2024-13-45 10:00" is not a date`, Options{}},
		{"impossible day", FormatIntuneCSV, file("d.csv", intuneHeader+"a,b,2/30/2024 10:00 AM,u,iOS\n"), `d.csv:2: column "Last check-in": "2/30/2024 10:00 AM" is not a date`, Options{}},
		{"day/month orders disagree", FormatWSOneCSV, file("w.csv", "Friendly Name,UDID,Last Seen\na,1,13/6/2024\nb,2,6/13/2024\n"), "w.csv:3: dates disagree on the order of day and month", Options{}},
		{"empty device id", FormatIntuneCSV, file("d.csv", intuneHeader+"a,b,,u,iOS\n ,d,,u,iOS\n"), "d.csv:3: a device without a Device ID", Options{}},
		{"duplicate device", FormatJamfCSV, file("j.csv", "Mobile Device ID,Display Name\n17,a\n18,b\n17,c\n"), `j.csv:4: device "17" is already on j.csv:2`, Options{}},
		{"no identifier column", FormatJamfCSV, file("j.csv", "Display Name,Model\na,iPhone\n"), "j.csv:1: no device identifier column", Options{}},
		{"bad app count", FormatIntuneCSV, file("a.csv", "DeviceID,ApplicationName,Device count\nd1,Maps,many\n"), `a.csv:2: column "Device count": "many" is not a count`, Options{}},
		{"WS1 app without name or identifier", FormatWSOneCSV, file("a.csv", "Device ID,Application Name,Application Identifier,Version\n5614,Outlook,com.microsoft.Office.Outlook,4.2\n5614, ,,1.0\n"), `a.csv:3: an app with neither "Application Name" nor "Application Identifier"`, Options{}},
		{"WS1 app without name column or identifier", FormatWSOneCSV, file("a.csv", "DeviceId,ApplicationName,Version\n5614,,1.0\n"), `a.csv:2: an app with neither "ApplicationName" nor "Application Identifier"`, Options{}},
		{"WS1 app duplicate column", FormatWSOneCSV, file("a.csv", "Device ID,Application Name,Version,Version\n5614,Outlook,4.2,4.3\n"), `a.csv:1: the header has two "version" columns`, Options{}},
		{"WS1 apps without a device column", FormatWSOneCSV, file("a.csv", "Application Name,Version\nOutlook,4.2\n"), `a.csv:1: an app inventory without a device identifier column ("Device ID", "UDID" or "Serial Number")`, Options{}},
		{"WS1 app without a device", FormatWSOneCSV, file("a.csv", "Device ID,Serial Number,Application Name\n5614,,Outlook\n,,Notes\n"), "a.csv:3: an app without a device id, UDID or serial number", Options{}},
		{"WS1 app of an untold device", FormatWSOneCSV, func(t *testing.T) string {
			dir := filepath.Join(t.TempDir(), "w")
			os.Mkdir(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "devices.csv"), []byte("Friendly Name,Device ID\nA,5614\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "apps.csv"), []byte("Friendly Name,Serial Number,Application Name\nA,F2LXK0ABCD12,Outlook\n"), 0o644)
			return dir
		}, `w/apps.csv:2: cannot tell which device this app is on: its row names the device by Serial Number only, and device "5614" (w/devices.csv:2) has no Serial Number to compare`, Options{}},
		{"WS1 app rows over the limit", FormatWSOneCSV, func(t *testing.T) string { return "testdata/wsone-apps/apps.csv" }, "apps.csv:4: more than 2 rows (the import limit)", Options{MaxRows: 2}},
		{"UTF-16", FormatIntuneCSV, file("d.csv", "\xff\xfeD\x00"), "d.csv is UTF-16 text", Options{}},
		{"empty CSV", FormatJamfCSV, file("j.csv", ""), "j.csv is empty", Options{}},
		{"truncated JSON", FormatIntuneJSON, file("g.json", string(graph[:len(graph)/2])), "g.json:", Options{}},
		{"trailing garbage", FormatWSOneJSON, file("w.json", `{"Devices":[]} {"x":1}`), "w.json:1: invalid character '{' after top-level value", Options{}},
		{"wrong JSON type", FormatWSOneJSON, file("w.json", "{\"Devices\":[\n{\"Id\":{\"Value\":1},\n\"DeviceFriendlyName\":{\"x\":1}}]}"), "w.json:3: /Devices/0: DeviceFriendlyName: a JSON object where a string, number or boolean belongs", Options{}},
		{"list not an array", FormatIntuneJSON, file("g.json", `{"value":{"id":"a"}}`), `g.json:1: "value" is not an array`, Options{}},
		{"not a managedDevice", FormatIntuneJSON, file("g.json", "{\"value\":[\n{\"id\":\"3a18\",\"displayName\":\"WhatsApp\"}]}"), "g.json:2: /value/0: not a managedDevice", Options{}},
		{"list twice", FormatIntuneJSON, file("g.json", `{"value":[],"Value":[]}`), `the list "value" is there twice`, Options{}},
		{"aggregate apps", FormatIntuneCSV, file("apps.csv", "Application,Version,Device count\nMaps,1,3\n"), "apps.csv is a discovered-apps export", Options{}},
		{"bytes over the limit", FormatIntuneCSV, func(t *testing.T) string { return "testdata/intune/devices.csv" }, "devices.csv is larger than 100 bytes (the import limit)", Options{MaxBytes: 100}},
		{"rows over the limit", FormatIntuneCSV, func(t *testing.T) string { return "testdata/intune/devices.csv" }, "devices.csv:4: more than 2 rows (the import limit)", Options{MaxRows: 2}},
		{"nested Jamf apps over the limit", FormatJamfJSON, file("j.json", `{"mobileDeviceId":"1","applications":[{},{},{}]}`),
			"j.json:1: /applications: more than 3 devices and apps in the file (the import limit)", Options{MaxRows: 3}},
		{"nested Intune apps over the limit", FormatIntuneJSON, file("g.json", "{\"value\":[{\"id\":\"a\",\"deviceName\":\"x\",\"detectedApps\":[{}]},\n{\"id\":\"b\",\"deviceName\":\"y\",\"detectedApps\":[{}]}]}"),
			"g.json:2: /value/1/detectedApps: more than 3 devices and apps in the file (the import limit)", Options{MaxRows: 3}},
		{"items over the limit", FormatWSOneJSON, func(t *testing.T) string { return "testdata/wsone/devices.json" }, "devices.json:", Options{MaxRows: 1}},
		{"files over the limit", FormatIntuneCSV, func(t *testing.T) string { return "testdata/intune" }, "intune holds more than 1 files (the import limit)", Options{MaxFiles: 1}},
		{"getprop line", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, aqfGetprop, "[ro.product.model]: [Pixel 8]\n\nro.serialno=123\n")
		}, "getprop.txt:3: not a getprop line", Options{}},
		{"getprop unfinished value", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, aqfGetprop, "[ro.product.model]: [Pixel 8]\n[ro.x]: [a\nb\n")
		}, "getprop.txt:2: the value of [ro.x] has no closing ]", Options{}},
		{"getprop twice", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, aqfGetprop, "[ro.boot.verifiedbootstate]: [orange]\n[ro.boot.verifiedbootstate]: [green]\n")
		}, "getprop.txt:2: [ro.boot.verifiedbootstate] is already on line 1", Options{}},
		{"settings line", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, "settings_global.txt", "\nnot a setting\nadb_enabled=1\n")
		}, "settings_global.txt:2: not a setting (name=value)", Options{}},
		{"setting twice", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, "settings_global.txt", "adb_enabled=1\nx=2\nadb_enabled=0\n")
		}, "settings_global.txt:3: adb_enabled is already on line 1", Options{}},
		{"ps pid", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, "processes.txt", "USER PID PPID VSZ RSS WCHAN ADDR S NAME\nroot 1 0 1 1 0 0 S init\nroot x1 0 1 1 0 0 S evil\n")
		}, `processes.txt:3: PID "x1" is not a number`, Options{}},
		{"ps header", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, "processes.txt", "hello world\n")
		}, "processes.txt:1: not a ps header", Options{}},
		{"ps short row", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, "processes.txt", "USER PID PPID VSZ RSS WCHAN ADDR S NAME\nroot 1 0\n")
		}, "processes.txt:2: 3 fields where the header has 9", Options{}},
		{"packages sha256", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, aqfPackages, strings.Replace(string(packages), "744ed47f8176ec423840344c33e88bd2c96e8988cda0797f3415bb5229efc12b", "744ed47f", 1))
		}, `packages.json:2: /0: package "com.whatsapp": sha256: "744ed47f" is not 64 hex digits`, Options{}},
		{"packages truncated", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, aqfPackages, string(packages[:2000]))
		}, "packages.json:", Options{}},
		{"packages not an array", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, aqfPackages, `{"name":"a"}`)
		}, "packages.json:1: not a JSON array of packages", Options{}},
		{"package twice", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, aqfPackages, "[{\"name\":\"a\"},\n{\"name\":\"a\"}]")
		}, `packages.json:2: /1: package "a" is already on line 1`, Options{}},
		{"acquisition time", FormatAndroidQF, func(t *testing.T) string {
			return aqf(t, aqfAcquisition, `{"uuid":"u","started":"yesterday"}`)
		}, `acquisition.json:1: started: "yesterday" is not a date`, Options{}},
		{"file changed after hashing", FormatAndroidQF, func(t *testing.T) string {
			dir := copyDir(t, aqfDir)
			p := filepath.Join(dir, aqfGetprop)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(data), "[orange]", "[green]", 1)), 0o644)
			return dir
		}, "hashes.csv:2: 5f0c7e2a-1b9d-4c3e-8a7f-2d6b9e1c4a30/getprop.txt has sha256 ", Options{}},
		{"hashes.csv malformed", FormatAndroidQF, func(t *testing.T) string {
			dir := copyDir(t, aqfDir)
			os.WriteFile(filepath.Join(dir, aqfHashes), []byte("/a/getprop.txt,abc\n"), 0o644)
			return dir
		}, `hashes.csv:1: not a sha256: "abc"`, Options{}},
		{"no androidqf files", FormatAndroidQF, func(t *testing.T) string { return t.TempDir() }, "holds neither getprop.txt nor packages.json", Options{}},
		{"link in androidqf folder", FormatAndroidQF, func(t *testing.T) string {
			dir := copyDir(t, aqfDir)
			os.Remove(filepath.Join(dir, aqfGetprop))
			if err := os.Symlink("/etc/hostname", filepath.Join(dir, aqfGetprop)); err != nil {
				t.Skip(err)
			}
			return dir
		}, "getprop.txt is not a regular file", Options{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			im, err := Open(c.input(t), c.format, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, c.want)
			}
			if im != nil {
				t.Error("an import was returned with the error")
			}
			if !strings.HasPrefix(err.Error(), "import "+c.format+": ") {
				t.Errorf("err = %v: does not name the format", err)
			}
		})
	}
}

// failingSink fails the second file stored, as a full disk would.
type failingSink struct {
	collect.Sink
	captures int
}

func (s *failingSink) CaptureReader(source string, ex *collect.Exchange, r io.Reader, ext string, limit int64) (collect.RawRef, error) {
	s.captures++
	if s.captures == 2 {
		return collect.RawRef{}, errors.New("no space left on device")
	}
	return s.Sink.CaptureReader(source, ex, r, ext, limit)
}

// A failure while storing fails the run, and collect.Run leaves no
// finished acquisition and no record behind: the import is whole or not
// at all.
func TestNothingHalfImported(t *testing.T) {
	im, err := Open("testdata/intune", "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := collect.NewStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = im.Collect(context.Background(), collect.Request{All: true}, &failingSink{Sink: st})
	if err == nil || !strings.Contains(err.Error(), "storing intune/devices.csv: no space left on device") {
		t.Fatalf("err = %v", err)
	}
	st.Abort()
	for _, f := range []string{collect.DevicesFile, collect.AppsFile, collect.EventsFile, collect.GapsFile} {
		if data, err := os.ReadFile(filepath.Join(dir, f)); err != nil || len(data) != 0 {
			t.Errorf("%s holds %d bytes (%v)", f, len(data), err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, collect.AcquisitionFile)); err == nil {
		t.Error("a failed import was finished")
	}

	// Through collect.Run, a cancelled import is not finished either.
	dir = t.TempDir()
	st, _ = collect.NewStaging(dir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := collect.Run(ctx, im, collect.Request{All: true}, st, &collect.Acquisition{ID: "x"}, time.Now); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, collect.AcquisitionFile)); err == nil {
		t.Error("a cancelled import was finished")
	}
}

// Without acquisition.json the time of the process listing is unknown:
// no event is made up, and the listing's note says why.
func TestAndroidQFWithoutAcquisitionJSON(t *testing.T) {
	dir := copyDir(t, aqfDir)
	os.Remove(filepath.Join(dir, aqfAcquisition))
	got := runImport(t, dir, FormatAndroidQF, collect.Request{})
	if len(got.events) != 0 || len(got.apps) != 7 || len(got.devices) != 1 {
		t.Errorf("%d events, %d apps, %d devices", len(got.events), len(got.apps), len(got.devices))
	}
	if d := got.devices["androidqf:37091JEHN06852"]; d.LastSeenAt != nil {
		t.Errorf("last seen %v without acquisition.json", d.LastSeenAt)
	}
	if note := got.exchange(filepath.Base(dir) + "/processes.txt").Note; !strings.Contains(note, "no event was recorded") {
		t.Errorf("note %q", note)
	}
}

// Only packages.json: the device is keyed by the acquisition's uuid and
// cites packages.json; device state is not claimed.
func TestAndroidQFPackagesOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acq")
	os.Mkdir(dir, 0o755)
	for _, n := range []string{aqfPackages, aqfAcquisition} {
		data, _ := os.ReadFile(filepath.Join(aqfDir, n))
		os.WriteFile(filepath.Join(dir, n), data, 0o644)
	}
	got := runImport(t, dir, "", collect.Request{})
	d, ok := got.devices["androidqf:acquisition:5f0c7e2a-1b9d-4c3e-8a7f-2d6b9e1c4a30"]
	if !ok || d.Raw.Pointer != "" || !strings.HasSuffix(d.Raw.Path, ".json") || d.Posture.VerifiedBoot != "" {
		t.Errorf("device %+v", got.devices)
	}
	got.wantSourceGaps(t, collect.TelemetryDeviceState, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit)
}

// The collector's JSON process listing (saved as processes.txt by newer
// androidqf) gives events with uids and command lines.
func TestAndroidQFCollectorProcesses(t *testing.T) {
	dir := copyDir(t, aqfDir)
	os.Remove(filepath.Join(dir, aqfHashes))
	os.WriteFile(filepath.Join(dir, "processes.txt"), []byte(`[{"pid":1,"uid":0,"ppid":0,"filename":"(init)","state":"S","command_line":["/system/bin/init","second_stage"],"context":"u:r:init:s0"},
{"pid":4242,"uid":10290,"ppid":812,"filename":"(le.flashlight)","command_line":[],"context":"u:r:untrusted_app:s0:c34,c257,c512,c768"}]`), 0o644)
	got := runImport(t, dir, FormatAndroidQF, collect.Request{})
	if len(got.events) != 2 {
		t.Fatalf("%d events", len(got.events))
	}
	e := got.events[0]
	if e.Fields["process_name"] != "/system/bin/init" || e.Fields["uid"] != 0.0 || e.Fields["selinux_context"] != "u:r:init:s0" || e.Raw.Pointer != "/0" {
		t.Errorf("init %+v", e)
	}
	if got.events[1].Fields["process_name"] != "le.flashlight" {
		t.Errorf("a process without a command line is named by its stat name: %+v", got.events[1])
	}
	if !strings.HasSuffix(e.Raw.Path, ".json") {
		t.Errorf("a JSON listing is stored as %s", e.Raw.Path)
	}
}
