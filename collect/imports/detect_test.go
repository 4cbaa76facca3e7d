package imports

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Detect tells each format from the content of the fixtures.
func TestDetectFixtures(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"testdata/intune", FormatIntuneCSV},
		{"testdata/intune/devices.csv", FormatIntuneCSV},
		{"testdata/intune/apps.csv", FormatIntuneCSV},
		{"testdata/intune-aggregate/discovered-apps.csv", FormatIntuneCSV}, // told, then refused by Open
		{"testdata/intune-json", FormatIntuneJSON},
		{"testdata/intune-json/managedDevices.json", FormatIntuneJSON},
		{"testdata/intune-json/powershell.json", FormatIntuneJSON},
		{"testdata/jamf/mobile-devices.csv", FormatJamfCSV},
		{"testdata/wsone/devices.csv", FormatWSOneCSV},
		{"testdata/wsone/devices.json", FormatWSOneJSON},
		{"testdata/wsone-apps", FormatWSOneCSV},
		{"testdata/wsone-apps/apps.csv", FormatWSOneCSV},
		{aqfDir, FormatAndroidQF},
	} {
		got, err := Detect(c.path)
		if err != nil || got != c.want {
			t.Errorf("Detect(%s) = %q, %v; want %q", c.path, got, err, c.want)
		}
	}
}

// Detect reads content, not names, and says why it cannot tell.
func TestDetectContent(t *testing.T) {
	devices, _ := os.ReadFile("testdata/intune/devices.csv")
	for _, c := range []struct {
		name, content string
		want          string
		err           string // part of the error, or "unknown" for ErrUnknownFormat
	}{
		{name: "named-like-json.json", content: string(devices), want: FormatIntuneCSV},
		{name: "ws1.txt", content: `{"Devices":[],"Page":0,"PageSize":500,"Total":0}`, want: FormatWSOneJSON},
		{name: "one.json", content: `{"id":"x","deviceName":"y"}`, want: FormatIntuneJSON},
		{name: "ws1-array.json", content: `[{"Id":{"Value":1},"DeviceFriendlyName":"a"}]`, want: FormatWSOneJSON},
		{name: "semicolons.csv", content: "Friendly Name;Serial Number\na;b\n", want: FormatWSOneCSV},
		{name: "ws1-apps.csv", content: "Device ID,Application Name,Version,Build Version,Is Managed\n5614,Outlook,4.2,4.2,Yes\n", want: FormatWSOneCSV},
		{name: "ws1-apple-apps.csv", content: "Serial Number,Application Identifier,AdHocCodeSigned\nF2LX,org.coolstar.SileoStore,true\n", want: FormatWSOneCSV},
		{name: "jamf-apps-by-udid.csv", content: "\"Display Name\",\"UDID\",\"Serial Number\",\"Model\",\"App Name\",\"App Identifier\",\"App Version\"\na,0000,F2LX,iPhone,Signal,org.whispersystems.signal,7.1\n", want: FormatJamfCSV},
		{name: "jamf-apps-validation.csv", content: "Display Name,Serial Number,App Name,App Validation Status\na,F2LX,Signal,Yes\n", want: FormatJamfCSV},
		{name: "intune-apps-app-version.csv", content: "Device ID,App name,App version,App identifier\nd1,Outlook,4.2,com.microsoft.Office.Outlook\n", want: FormatIntuneCSV},
		{name: "intune-apps.csv", content: "Device ID,Application Name,Version\nd1,Outlook,4.2\n", want: FormatIntuneCSV},
		{name: "tabs.tsv", content: "Mobile Device ID\tDisplay Name\n1\ta\n", want: FormatJamfCSV},
		{name: "amapi.ndjson", content: `{"message":{"data":"e30=","messageId":"1","attributes":{"notificationType":"USAGE_LOGS"}}}` + "\n", err: "unknown"},
		{name: "detectedApps.json", content: `{"value":[{"id":"3a18","displayName":"WhatsApp","version":"1","deviceCount":3}]}`, err: "unknown"},
		{name: "ws1-device-apps.json", content: `{"DeviceApps":[{"ApplicationName":"Outlook","ApplicationIdentifier":"com.microsoft.Office.Outlook"}],"Page":0,"PageSize":500,"Total":1}`, err: "names no device"},
		{name: "ws1-apps-search.json", content: `{"app_items":[{"name":"Outlook","bundle_id":"com.microsoft.Office.Outlook"}]}`, err: "names no device"},
		{name: "jamf-detail.json", content: `{"id":"5","type":"ios","ios":{"model":"iPhone 15"}}`, want: FormatJamfJSON},
		{name: "other.csv", content: "name,colour\napple,red\n", err: "unknown"},
		{name: "bad.csv", content: "a,\"b\nc", err: "unknown"},
		{name: "acq.zip", content: "PK\x03\x04rest", err: "zip archive"},
		{name: "acq.zip.age", content: "age-encryption.org/v1\n-> X25519 abc\n", err: "encrypted with age"},
		{name: "empty.csv", content: " \n\t", err: "is empty"},
		{name: "utf16.csv", content: "\xff\xfeD\x00e\x00", err: "UTF-16"},
		{name: "packages.json", content: `[{"name":"a","files":[],"installer":"null"}]`, err: "whole acquisition folder"},
	} {
		p := filepath.Join(t.TempDir(), c.name)
		if err := os.WriteFile(p, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Detect(p)
		switch {
		case c.err == "unknown":
			if !errors.Is(err, ErrUnknownFormat) {
				t.Errorf("%s: %q, %v; want ErrUnknownFormat", c.name, got, err)
			}
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) || errors.Is(err, ErrUnknownFormat) {
				t.Errorf("%s: %q, %v; want an error about %q", c.name, got, err, c.err)
			}
		case err != nil || got != c.want:
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// A folder is one format: mixed exports are refused, and an empty folder
// names nothing to import.
func TestDetectFolders(t *testing.T) {
	if _, err := Detect("testdata/wsone"); err == nil || !strings.Contains(err.Error(), "mixes formats") {
		t.Errorf("mixed folder: %v", err)
	}
	if _, err := Detect(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no file to import") {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := Detect(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing path was detected")
	}
	// A folder with a symbolic link is refused: only regular files are
	// evidence of the export.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("Friendly Name,UDID\na,b\n"), 0o644)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "b.csv")); err != nil {
		t.Skip(err)
	}
	if _, err := Open(dir, "", Options{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("folder with a link: %v", err)
	}
}

// New and Open refuse formats they do not know, naming those they do.
func TestUnknownFormat(t *testing.T) {
	_, err := New("testdata/jamf/mobile-devices.csv", "kandji-csv")
	if err == nil || !strings.Contains(err.Error(), "intune-csv, intune-json, jamf-csv, jamf-json, wsone-csv, wsone-json, androidqf") {
		t.Errorf("err = %v", err)
	}
	// A forced format that does not fit the content fails on the content.
	_, err = New("testdata/jamf/mobile-devices.csv", FormatIntuneCSV)
	if err == nil || !strings.Contains(err.Error(), "mobile-devices.csv") {
		t.Errorf("err = %v", err)
	}
	_, err = New("testdata/intune/devices.csv", FormatAndroidQF)
	if err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("err = %v", err)
	}
}
