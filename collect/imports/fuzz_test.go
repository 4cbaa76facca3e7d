package imports

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/jsonptr"
)

func seed(f *testing.F, paths ...string) {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0))
		f.Add(data, uint8(1))
		f.Add(data, uint8(2))
	}
}

// checkRecords checks what a parser read from data: pointers inside the
// file, keys of the source, values in their vocabularies.
func checkRecords(t *testing.T, im *Import, data []byte, source string) {
	lines := bytes.Count(data, []byte{'\n'}) + 1
	doc := bytes.TrimPrefix(data, bomUTF8)
	check := func(ref collect.RawRef) {
		if n, ok := strings.CutPrefix(ref.Pointer, "/line/"); ok {
			if l, err := strconv.Atoi(n); err != nil || l < 1 || l > lines {
				t.Fatalf("pointer %q outside the %d lines", ref.Pointer, lines)
			}
			return
		}
		raw, err := jsonptr.Resolve(doc, ref.Pointer)
		if err != nil || len(raw) == 0 || raw[0] != '{' {
			t.Fatalf("pointer %q: %v (%.40s)", ref.Pointer, err, raw)
		}
	}
	for _, l := range im.devices {
		d := l.rec
		check(d.Raw)
		if !strings.HasPrefix(d.Key, source+":") || d.Key != source+":"+d.SourceID || d.SourceID == "" {
			t.Fatalf("key %q, source id %q", d.Key, d.SourceID)
		}
		if !oneOf(d.Compromised.Value, "true", "false", "unknown") || !oneOf(d.Ownership, "corporate", "personal", "unknown") ||
			!oneOf(d.Platform, "ios", "ipados", "android", "windows", "macos", "tvos", "watchos", "visionos", "unknown") {
			t.Fatalf("device %+v", d)
		}
		for _, tm := range []*time.Time{d.LastSeenAt, d.EnrolledAt} {
			if tm != nil && (tm.Location() != time.UTC || tm.Year() <= 1) {
				t.Fatalf("time %v", tm)
			}
		}
	}
	for _, l := range im.apps {
		check(l.rec.Raw)
		if !strings.HasPrefix(l.rec.DeviceKey, source+":") {
			t.Fatalf("app of %q", l.rec.DeviceKey)
		}
	}
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// FuzzCSVExport reads hostile CSV as the Intune, Jamf and Workspace ONE
// readers do: no panic, an error names the file, and every record read
// points at a line of it.
func FuzzCSVExport(f *testing.F) {
	seed(f, "testdata/intune/devices.csv", "testdata/intune/apps.csv", "testdata/jamf/mobile-devices.csv", "testdata/wsone/devices.csv",
		"testdata/jamf-apps/devices.csv", "testdata/jamf-apps/apps.csv", "testdata/wsone-apps/devices.csv", "testdata/wsone-apps/apps.csv")
	f.Add([]byte("JSS Mobile Device ID,Display Name,App Name,App Validation Status\n1,a,x,No\n1,a,,\n2,b,y,Validated\n"), uint8(1))
	f.Add([]byte("Device ID;Device name;Last check-in\nx;\"a\nb\";13/1/2024\n"), uint8(0))
	f.Add([]byte("\xef\xbb\xbfMobile Device ID,UDID\n,\n1,2\n1,3\n"), uint8(1))
	f.Add([]byte("Friendly Name\tUDID\tLast Seen\n\"\"\"\"\tu\t1/2/2024 1:00 PM\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		im := &Import{}
		var p exportParser
		var source string
		switch which % 3 {
		case 0:
			p, source = &intuneCSV{}, sourceIntune
		case 1:
			p, source = &jamfCSV{}, sourceJamf
		default:
			p, source = &wsoneCSV{}, sourceWSOne
		}
		in := &inputFile{name: "f.csv", data: data}
		im.files = append(im.files, in)
		err := p.parse(im, 0, in, Options{}.withDefaults())
		if err == nil {
			err = p.finish(im)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "f.csv") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		checkRecords(t, im, data, source)
	})
}

// FuzzJSONExport reads hostile JSON as the Graph, Jamf, Workspace ONE and
// androidqf readers do: no panic, and every record points at an object of
// the file.
func FuzzJSONExport(f *testing.F) {
	seed(f, "testdata/intune-json/managedDevices.json", "testdata/intune-json/powershell.json", "testdata/wsone/devices.json",
		filepath.Join(aqfDir, aqfPackages), "testdata/jamf-json/inventory.json", "testdata/jamf-json/detail-19.json", "testdata/jamf-json/classic-20.json")
	for _, s := range []string{`[{"mobile_device":{"general":{"udid":"u"},"security_object":{"jailbreak_detected":true},"applications":[{}]}}]`,
		`{"id":"1","type":"TVOS","ios":{},"tvos":{"applications":null},"lastInventoryUpdateTimestamp":"2024-01-01T00:00:00+0100"}`,
		`{"totalCount":"x","results":[{"mobileDeviceId":7,"applications":[{"validationStatus":"false","distributorIdentifier":"a.b"}]}]}`} {
		f.Add([]byte(s), uint8(4))
	}
	f.Add([]byte(`{"value":[{"id":"a","deviceName":"b","detectedApps":[{"id":1}],"DetectedApps":null}]}`), uint8(0))
	f.Add([]byte(`{"Devices":[{"Id":5,"CompromisedStatus":"true"},{"Id":{"Value":null},"Udid":"u"}],"Total":"9"}`), uint8(1))
	f.Add([]byte(`[{"name":"a","files":[{"path":"/x/base.apk","sha256":"AB","certificate":{"Sha1":""}}],"system":"yes"}]`), uint8(2))
	f.Add([]byte(`[{"pid":"1","command_line":[null,""],"filename":"(a b)"}]`), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		im := &Import{}
		in := &inputFile{name: "f.json", data: data}
		im.files = append(im.files, in)
		var err error
		source := sourceAndroidQF
		switch which % 5 {
		case 4:
			p := &jamfJSON{}
			if err = p.parse(im, 0, in, Options{}.withDefaults()); err == nil {
				err = p.finish(im)
			}
			source = sourceJamf
		case 0:
			p := &intuneJSON{}
			if err = p.parse(im, 0, in, Options{}.withDefaults()); err == nil {
				err = p.finish(im)
			}
			source = sourceIntune
		case 1:
			err = (&wsoneJSON{}).parse(im, 0, in, Options{}.withDefaults())
			source = sourceWSOne
		case 2:
			q := &androidqf{im: im, opts: Options{}.withDefaults()}
			err = q.packages(0, in, "androidqf:x")
		default:
			var procs []process
			procs, err = parseProcessJSON("f.json", data, 100)
			for _, p := range procs {
				if raw, err := jsonptr.Resolve(bytes.TrimPrefix(data, bomUTF8), p.ptr); err != nil || raw[0] != '{' {
					t.Fatalf("process pointer %q: %v", p.ptr, err)
				}
			}
		}
		if err != nil {
			if !strings.Contains(err.Error(), "f.json") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		checkRecords(t, im, data, source)
		for _, l := range im.apps {
			a := l.rec
			if (a.APKSHA256 != "" && len(a.APKSHA256) != 64) || (a.SigningCertSHA1 != "" && len(a.SigningCertSHA1) != 40) {
				t.Fatalf("digest %+v", a)
			}
		}
	})
}

// FuzzGetprop: no panic; every property is on the line it names.
func FuzzGetprop(f *testing.F) {
	data, _ := os.ReadFile(filepath.Join(aqfDir, aqfGetprop))
	f.Add(data)
	f.Add([]byte("[a]: [b\n]\n\n[c]: []]\r\n[d]: [\n"))
	f.Add([]byte("[]: [x]\n[a b]: [c]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		props, err := parseGetprop("getprop.txt", data, 1000)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "getprop.txt:") {
				t.Fatalf("error without the file and line: %v", err)
			}
			return
		}
		lines := textLines(data)
		for name, v := range props {
			if name == "" || v.line < 1 || v.line > len(lines) || !strings.HasPrefix(lines[v.line-1], "["+name+"]: [") {
				t.Fatalf("[%s] on line %d", name, v.line)
			}
		}
	})
}

// FuzzSettings: no panic; every setting is on the line it names.
func FuzzSettings(f *testing.F) {
	for _, n := range aqfSettings {
		data, _ := os.ReadFile(filepath.Join(aqfDir, n))
		f.Add(data)
	}
	f.Add([]byte("a=1\nb\n\nc==\n=d\n"))
	f.Add([]byte("\nx y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := parseSettings("settings_global.txt", data, 1000)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "settings_global.txt:") {
				t.Fatalf("error without the file and line: %v", err)
			}
			return
		}
		lines := textLines(data)
		for name, v := range set {
			if v.line < 1 || v.line > len(lines) || !strings.HasPrefix(lines[v.line-1], name+"=") {
				t.Fatalf("%s on line %d", name, v.line)
			}
		}
	})
}

// FuzzPS: no panic; every process is on a line of the listing.
func FuzzPS(f *testing.F) {
	data, _ := os.ReadFile(filepath.Join(aqfDir, "processes.txt"))
	f.Add(data)
	f.Add([]byte("USER PID PPID VSIZE RSS WCHAN PC NAME\nroot 1 0 1 1 ffff 0000 S /init\n"))
	f.Add([]byte("LABEL USER PID PPID S NAME\nu:r:init:s0 root 1 0 S S\nx y 2 1 R\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		procs, err := parsePS("processes.txt", data, 1000)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "processes.txt") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		lines := textLines(data)
		for _, p := range procs {
			n, _ := strconv.Atoi(strings.TrimPrefix(p.ptr, "/line/"))
			if n < 2 || n > len(lines) || p.pid < 0 || !strings.Contains(lines[n-1], strconv.FormatInt(p.pid, 10)) {
				t.Fatalf("process %+v", p)
			}
		}
	})
}

// FuzzTime: no panic; a time read is in UTC and not the year-1 sentinel.
func FuzzTime(f *testing.F) {
	for _, s := range []string{"2024-06-10T07:55:03Z", "6/10/2024 7:55:03 AM", "10.06.2024", "/Date(-1)/", "Never",
		"Monday, January 2 2006 at 3:04 PM", "2024/02/29 23:59", "99/99/9999 99:99"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, dayFirst bool) {
		tr := &timeReader{dayFirst: dayFirst}
		got, err := tr.parse("c", s)
		if err == nil && got != nil && (got.Location() != time.UTC || got.Year() <= 1) {
			t.Fatalf("parse(%q) = %v", s, got)
		}
		newTimeReader("f", []dateCell{{1, s}, {2, s}})
	})
}
