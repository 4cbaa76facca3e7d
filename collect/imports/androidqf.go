package imports

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
)

// The files of an androidqf acquisition folder this import reads
// (reference dfir-anchors §2.2–2.3). Everything else in the folder (APKs,
// dumpsys, logcat, bugreport, backups, files.json…) is neither read nor
// kept: acquire the folder itself for those.
const (
	aqfAcquisition = "acquisition.json" // uuid, androidqf_version, started, completed (UTC)
	aqfHashes      = "hashes.csv"       // path,sha256 of every file, written by androidqf
	aqfGetprop     = "getprop.txt"      // "[name]: [value]" lines
	aqfPackages    = "packages.json"    // []Package{name, files[], installer, uid, disabled, system, third_party}
)

var (
	// aqfSettings are the outputs of "cmd settings list <namespace>", in
	// the order a setting is looked up.
	aqfSettings = []string{"settings_global.txt", "settings_secure.txt", "settings_system.txt"}
	// aqfProcesses are the process listings androidqf has written over
	// its versions: processes.txt (ps -A, or the collector's JSON),
	// ps.txt (older). The first present is read.
	aqfProcesses = []string{"processes.txt", "processes.json", "ps.txt"}
)

// EventProcessRunning is the type of the event recorded for each process
// an androidqf acquisition listed.
const EventProcessRunning = "process_running"

// aqfAcq is acquisition.json.
type aqfAcq struct {
	UUID        jstr `json:"uuid"`
	Version     jstr `json:"androidqf_version"`
	StoragePath jstr `json:"storage_path"`
	Started     jstr `json:"started"`
	Completed   jstr `json:"completed"`
}

// aqfPackage is one item of packages.json.
type aqfPackage struct {
	Name       jstr      `json:"name"`
	Files      []aqfFile `json:"files"`
	Installer  jstr      `json:"installer"`
	UID        jint      `json:"uid"`
	Disabled   jbool     `json:"disabled"`
	System     jbool     `json:"system"`
	ThirdParty jbool     `json:"third_party"`
}

type aqfFile struct {
	Path        jstr `json:"path"`
	SHA256      jstr `json:"sha256"`
	Certificate *struct {
		SHA1   jstr `json:"Sha1"`
		SHA256 jstr `json:"Sha256"`
	} `json:"certificate"`
}

// aqfProc is one process of the collector's JSON listing.
type aqfProc struct {
	PID         jint   `json:"pid"`
	UID         jint   `json:"uid"`
	PPID        jint   `json:"ppid"`
	Filename    jstr   `json:"filename"`
	CommandLine []jstr `json:"command_line"`
	Context     jstr   `json:"context"`
}

// propValue is a getprop property or a setting, and its line.
type propValue struct {
	value string
	line  int
}

// androidqf is an acquisition folder being read.
type androidqf struct {
	im    *Import
	dir   string
	base  string
	opts  Options
	acq   aqfAcq
	start *time.Time // acquisition.json started
	end   *time.Time // acquisition.json completed
}

func (im *Import) openAndroidQF(dir string, opts Options) error {
	im.source = sourceAndroidQF
	im.api = "androidqf acquisition folder (acquisition.json, hashes.csv, getprop.txt, settings_*.txt, packages.json, the process listing)"
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder: pass the androidqf acquisition folder (unzip it, and decrypt a .age file with age -d, first)", dir)
	}
	q := &androidqf{im: im, dir: dir, base: filepath.Base(filepath.Clean(dir)), opts: opts}
	return q.read()
}

// open reads one file of the folder, if it is there.
func (q *androidqf) open(name, ext, what string) (int, *inputFile, error) {
	p := filepath.Join(q.dir, name)
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil, nil
	}
	if err != nil {
		return -1, nil, err
	}
	display := q.base + "/" + name
	if !st.Mode().IsRegular() {
		return -1, nil, fmt.Errorf("%s is not a regular file (a link?): androidqf writes regular files only", display)
	}
	data, err := readCapped(p, display, q.opts.MaxBytes)
	if err != nil {
		return -1, nil, err
	}
	f := &inputFile{name: display, data: data, ext: ext, what: what}
	q.im.files = append(q.im.files, f)
	return len(q.im.files) - 1, f, nil
}

func (q *androidqf) read() error {
	im := q.im
	_, acqFile, err := q.open(aqfAcquisition, "json", "androidqf acquisition.json")
	if err != nil {
		return err
	}
	if acqFile != nil {
		if err := q.readAcquisition(acqFile); err != nil {
			return err
		}
	}
	_, hashFile, err := q.open(aqfHashes, "csv", "androidqf hashes.csv")
	if err != nil {
		return err
	}
	var hashes []hashEntry
	if hashFile != nil {
		if hashes, err = readHashes(hashFile.name, hashFile.data, q.opts.MaxRows); err != nil {
			return err
		}
	}
	propIdx, propFile, err := q.open(aqfGetprop, "txt", "androidqf getprop.txt (getprop)")
	if err != nil {
		return err
	}
	props := map[string]propValue{}
	if propFile != nil {
		propFile.addNote("the device record cites the whole file (pointer \"\")")
		if props, err = parseGetprop(propFile.name, propFile.data, q.opts.MaxRows); err != nil {
			return err
		}
	}
	var settings []map[string]propValue
	sawSettings := false
	for _, name := range aqfSettings {
		_, f, err := q.open(name, "txt", "androidqf "+name+" (cmd settings list)")
		if err != nil {
			return err
		}
		m := map[string]propValue{}
		if f != nil {
			sawSettings = true
			if m, err = parseSettings(f.name, f.data, q.opts.MaxRows); err != nil {
				return err
			}
		}
		settings = append(settings, m)
	}
	pkgIdx, pkgFile, err := q.open(aqfPackages, "json", "androidqf packages.json")
	if err != nil {
		return err
	}
	if propFile == nil && pkgFile == nil {
		return fmt.Errorf("%s holds neither %s nor %s: not an androidqf acquisition folder (or one whose packages and getprop modules did not run)", q.base, aqfGetprop, aqfPackages)
	}
	procIdx, procFile := -1, (*inputFile)(nil)
	for _, name := range aqfProcesses {
		i, f, err := q.open(name, "txt", "androidqf "+name+" (process listing)")
		if err != nil {
			return err
		}
		if f != nil {
			procIdx, procFile = i, f
			break
		}
	}
	for _, f := range im.files {
		if err := checkHash(f, q.base, hashes, hashFile, string(q.acq.StoragePath)); err != nil {
			return err
		}
	}

	dev := q.device(props, settings)
	rawFile := propIdx
	if propFile == nil {
		rawFile = pkgIdx
		pkgFile.addNote("the device record cites the whole file (pointer \"\")")
	}
	im.devices = append(im.devices, located[collect.Device]{rawFile, dev})
	if propFile != nil || sawSettings {
		im.claim(collect.TelemetryDeviceState)
	}
	if pkgFile != nil {
		pkgFile.addNote("app records point at the RFC 6901 pointer of their package in the file")
		if err := q.packages(pkgIdx, pkgFile, dev.Key); err != nil {
			return err
		}
		im.claim(collect.TelemetryAppInventory)
	}
	if procFile != nil {
		if err := q.processes(procIdx, procFile, dev.Key); err != nil {
			return err
		}
	}
	return nil
}

func (q *androidqf) readAcquisition(f *inputFile) error {
	doc, err := readJSONList(f.name, f.data, nil, 1)
	if err != nil {
		return err
	}
	if len(doc.elems) != 1 || doc.elems[0].ptr != "" {
		return errLine(f.name, 1, "not a JSON object")
	}
	if err := doc.decodeElem(doc.elems[0], &q.acq); err != nil {
		return err
	}
	tr := &timeReader{}
	if q.start, err = tr.parse("started", string(q.acq.Started)); err != nil {
		return errLine(f.name, 1, "started: %v", err)
	}
	if q.end, err = tr.parse("completed", string(q.acq.Completed)); err != nil {
		return errLine(f.name, 1, "completed: %v", err)
	}
	f.notes = append(f.notes, tr.notes()...)
	return nil
}

// device builds the device record from getprop and the settings.
func (q *androidqf) device(props map[string]propValue, settings []map[string]propValue) collect.Device {
	prop := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(props[n].value); v != "" {
				return v
			}
		}
		return ""
	}
	setting := func(name string) (string, bool) {
		for _, m := range settings {
			if v, ok := m[name]; ok {
				return strings.TrimSpace(v.value), true
			}
		}
		return "", false
	}
	flag := func(name string) *bool {
		v, ok := setting(name)
		if !ok {
			return nil
		}
		switch v {
		case "1":
			t := true
			return &t
		case "0":
			f := false
			return &f
		}
		return nil
	}
	serial := prop("ro.serialno", "ro.boot.serialno")
	sourceID := serial
	switch {
	case sourceID != "":
	case strings.TrimSpace(string(q.acq.UUID)) != "":
		sourceID = "acquisition:" + strings.TrimSpace(string(q.acq.UUID))
	default:
		sourceID = "folder:" + q.base
	}
	name, _ := setting("device_name")
	if name == "" {
		name = prop("ro.product.model")
	}
	d := collect.Device{Key: sourceAndroidQF + ":" + sourceID, Source: sourceAndroidQF, SourceID: sourceID, Name: name,
		Platform: "android", OSVersion: prop("ro.build.version.release"), SecurityPatchLevel: prop("ro.build.version.security_patch"),
		Build: prop("ro.build.fingerprint", "ro.build.display.id", "ro.build.id"), Model: prop("ro.product.model"),
		Manufacturer: prop("ro.product.manufacturer", "ro.product.brand"), Serial: serial,
		Ownership: "unknown", Compliance: "unknown", Compromised: collect.Compromised{Value: "unknown"},
		LastSeenAt: q.end,
		Posture: collect.Posture{ADBEnabled: flag("adb_enabled"), DeveloperOptions: flag("development_settings_enabled"),
			UnknownSources: flag("install_non_market_apps"), VerifyApps: flag("package_verifier_enable"),
			VerifiedBoot: strings.ToUpper(prop("ro.boot.verifiedbootstate"))},
		Raw: collect.RawRef{Pointer: ""}}
	if d.LastSeenAt == nil {
		d.LastSeenAt = q.start
	}
	switch prop("ro.crypto.state") {
	case "encrypted":
		t := true
		d.Posture.Encrypted = &t
	case "unencrypted":
		f := false
		d.Posture.Encrypted = &f
	}
	return d
}

// Installers, as the package manager names them (pm list packages -i).
var (
	storeInstallers = map[string]bool{
		"com.android.vending":             true, // Google Play
		"com.google.android.feedback":     true, // Google Play, on older devices
		"com.sec.android.app.samsungapps": true, // Galaxy Store
		"com.huawei.appmarket":            true, // AppGallery
		"com.amazon.venezia":              true, // Amazon Appstore
		"com.xiaomi.mipicks":              true, // Xiaomi GetApps
		"com.xiaomi.market":               true,
		"com.heytap.market":               true, // OPPO / OnePlus / realme
		"com.oppo.market":                 true,
		"com.bbk.appstore":                true, // vivo
		"com.vivo.appstore":               true,
	}
	// enterpriseInstallers are MDM agents: an app they installed was
	// pushed by the organisation.
	enterpriseInstallers = map[string]bool{
		"com.google.android.apps.work.clouddpc":     true, // Android Device Policy (AMAPI)
		"com.microsoft.windowsintune.companyportal": true,
		"com.airwatch.androidagent":                 true, // Workspace ONE Intelligent Hub
		"com.google.android.apps.work.oobconfig":    true,
	}
	// marketplaceInstallers are alternative app marketplaces, outside
	// the platform's and the device vendor's review.
	marketplaceInstallers = map[string]bool{
		"org.fdroid.fdroid": true, "com.aurora.store": true, "com.apkpure.aegon": true, "com.uptodown": true,
	}
	// sideloadInstallers install from a file or a shell: none recorded
	// ("null", as pm prints it), the package installer, ADB.
	sideloadInstallers = map[string]bool{
		"": true, "null": true, "adb": true, "com.android.shell": true,
		"com.android.packageinstaller": true, "com.google.android.packageinstaller": true,
		"com.samsung.android.packageinstaller": true, "com.miui.packageinstaller": true,
	}
)

// installSource classifies a package by the flags and installer androidqf
// recorded. The installer is what the package manager reports; "adb
// install -i" can set any.
func installSource(p aqfPackage) string {
	inst := strings.TrimSpace(string(p.Installer))
	switch {
	case p.System.v != nil && *p.System.v:
		return "system"
	case storeInstallers[inst]:
		return "store"
	case enterpriseInstallers[inst]:
		return "enterprise"
	case marketplaceInstallers[inst]:
		return "marketplace"
	case sideloadInstallers[inst]:
		return "sideloaded"
	}
	return "unknown"
}

func (q *androidqf) packages(fi int, f *inputFile, deviceKey string) error {
	if b := bytes.TrimSpace(bytes.TrimPrefix(f.data, bomUTF8)); len(b) > 0 && b[0] != '[' {
		if err := jsonSyntax(f.name, f.data); err != nil {
			return err
		}
		return errLine(f.name, 1, "not a JSON array of packages")
	}
	doc, err := readJSONList(f.name, f.data, nil, q.opts.MaxRows)
	if err != nil {
		return err
	}
	seen := map[string]int{}
	for _, e := range doc.elems {
		var p aqfPackage
		if err := doc.decodeElem(e, &p); err != nil {
			return err
		}
		name := strings.TrimSpace(string(p.Name))
		if name == "" {
			return errLine(f.name, e.line, "%s: a package without a name", e.ptr)
		}
		if prev, dup := seen[name]; dup {
			return errLine(f.name, e.line, "%s: package %q is already on line %d", e.ptr, name, prev)
		}
		seen[name] = e.line
		a := collect.App{DeviceKey: deviceKey, AppID: name, InstallSource: installSource(p),
			Installer: strings.TrimSpace(string(p.Installer)), Raw: collect.RawRef{Pointer: e.ptr}}
		if p.Disabled.v != nil && *p.Disabled.v {
			a.State = "disabled"
		}
		// The base APK's digests; a split APK's are on its other files.
		var base *aqfFile
		for i := range p.Files {
			if base == nil || strings.HasSuffix(string(p.Files[i].Path), "/base.apk") {
				base = &p.Files[i]
			}
			if strings.HasSuffix(string(p.Files[i].Path), "/base.apk") {
				break
			}
		}
		if base != nil {
			if a.APKSHA256, err = hexDigest(string(base.SHA256), 32); err != nil {
				return errLine(f.name, e.line, "%s: package %q: sha256: %v", e.ptr, name, err)
			}
			if c := base.Certificate; c != nil {
				if a.SigningCertSHA1, err = hexDigest(string(c.SHA1), 20); err != nil {
					return errLine(f.name, e.line, "%s: package %q: certificate Sha1: %v", e.ptr, name, err)
				}
				if a.SigningCertSHA256, err = hexDigest(string(c.SHA256), 32); err != nil {
					return errLine(f.name, e.line, "%s: package %q: certificate Sha256: %v", e.ptr, name, err)
				}
			}
		}
		q.im.apps = append(q.im.apps, located[collect.App]{fi, a})
	}
	return nil
}

// processes records one process_running event per listed process, at the
// time the acquisition started: ps tells no process's start time, and the
// listing was taken between acquisition.json's started and completed.
func (q *androidqf) processes(fi int, f *inputFile, deviceKey string) error {
	var procs []process
	var err error
	if b := bytes.TrimSpace(bytes.TrimPrefix(f.data, bomUTF8)); len(b) > 0 && b[0] == '[' {
		f.ext = "json"
		f.addNote("the collector's JSON listing; events point at the RFC 6901 pointer of their process")
		procs, err = parseProcessJSON(f.name, f.data, q.opts.MaxRows)
	} else {
		f.addNote("ps output; events point at /line/N, the line of their process")
		procs, err = parsePS(f.name, f.data, q.opts.MaxRows)
	}
	if err != nil {
		return err
	}
	if q.start == nil {
		f.addNote("no event was recorded from it: without acquisition.json the time of the listing is unknown")
		return nil
	}
	basis := "listed by androidqf between " + q.start.Format(time.RFC3339)
	if q.end != nil {
		basis += " and " + q.end.Format(time.RFC3339)
	}
	basis += " (acquisition.json); ps gives no start time"
	for _, p := range procs {
		// Field names as the app_process_start events of the AMAPI
		// usage logs have them, so that one expression reads both.
		fields := map[string]any{"pid": p.pid, "process_name": p.name, "time_basis": basis}
		if p.hasPPID {
			fields["ppid"] = p.ppid
		}
		if p.user != "" {
			fields["user"] = p.user
		}
		if p.hasUID {
			fields["uid"] = p.uid
		}
		if p.context != "" {
			fields["selinux_context"] = p.context
		}
		if len(p.cmdline) > 0 {
			fields["command_line"] = p.cmdline
		}
		q.im.events = append(q.im.events, located[collect.Event]{fi, collect.Event{DeviceKey: deviceKey, Time: *q.start,
			Type: EventProcessRunning, Fields: fields, Raw: collect.RawRef{Pointer: p.ptr}}})
	}
	return nil
}

// process is one process of a listing.
type process struct {
	ptr            string
	pid, ppid, uid int64
	hasPPID        bool
	hasUID         bool
	name, user     string
	context        string
	cmdline        []any
}

// parsePS reads "ps -A" output: a header naming the columns (USER, PID,
// PPID, …, NAME last), then one row per process. Columns are split on
// white space, so an empty column (WCHAN of a running process) shifts the
// rest: the name is found after the process state letter (the S column),
// where it is either in its place or one field early. The name is the
// rest of the row, spaces included. Older toybox ps prints the state
// letter under no header.
func parsePS(file string, data []byte, maxRows int) ([]process, error) {
	var header []string
	var out []process
	pid, ppid, user, uid, label, state := -1, -1, -1, -1, -1, -1
	for i, ln := range textLines(data) {
		n := i + 1
		fields := strings.Fields(ln)
		if len(fields) == 0 {
			continue
		}
		if header == nil {
			header = fields
			pid, ppid, user, uid, label = col(header, "PID"), col(header, "PPID"), col(header, "USER"), col(header, "UID"), col(header, "LABEL")
			if len(header) >= 2 && header[len(header)-2] == "S" {
				state = len(header) - 2
			}
			if pid < 0 || !slices.Contains([]string{"NAME", "CMD", "COMMAND", "ARGS", "CMDLINE"}, header[len(header)-1]) {
				return nil, errLine(file, n, "not a ps header (want PID and a NAME column last): %q", clip(ln))
			}
			continue
		}
		if len(out) == maxRows {
			return nil, errLine(file, n, "more than %d processes (the import limit)", maxRows)
		}
		nameAt := -1
		switch {
		case state >= 0:
			for _, i := range []int{state, state - 1} {
				if i > pid && i < len(fields)-1 && isState(fields[i]) {
					nameAt = i + 1
					break
				}
			}
		case len(fields) == len(header)+1 && isState(fields[len(header)-1]):
			nameAt = len(header)
		case len(fields) >= len(header):
			nameAt = len(header) - 1
		}
		if nameAt < 0 || nameAt <= pid {
			return nil, errLine(file, n, "%d fields where the header has %d, and no process state before a name", len(fields), len(header))
		}
		p := process{ptr: linePointer(n), name: strings.Join(fields[nameAt:], " ")}
		var err error
		if p.pid, err = strconv.ParseInt(fields[pid], 10, 64); err != nil || p.pid < 0 {
			return nil, errLine(file, n, "PID %q is not a number", clip(fields[pid]))
		}
		if ppid >= 0 && ppid < nameAt {
			if p.ppid, err = strconv.ParseInt(fields[ppid], 10, 64); err != nil {
				return nil, errLine(file, n, "PPID %q is not a number", clip(fields[ppid]))
			}
			p.hasPPID = true
		}
		if user >= 0 && user < nameAt {
			p.user = fields[user]
		}
		if uid >= 0 && uid < nameAt {
			if p.uid, err = strconv.ParseInt(fields[uid], 10, 64); err == nil {
				p.hasUID = true
			}
		}
		if label >= 0 && label < nameAt {
			p.context = fields[label]
		}
		out = append(out, p)
	}
	if header == nil {
		return nil, fmt.Errorf("%s is empty: no ps header", file)
	}
	return out, nil
}

// isState reports whether s is a process state letter of ps.
func isState(s string) bool {
	return len(s) == 1 && strings.Contains("RSDTtZXxKWPI", s)
}

func col(header []string, name string) int {
	for i, h := range header {
		if h == name {
			return i
		}
	}
	return -1
}

// parseProcessJSON reads the androidqf collector's process listing.
func parseProcessJSON(file string, data []byte, maxRows int) ([]process, error) {
	doc, err := readJSONList(file, data, nil, maxRows)
	if err != nil {
		return nil, err
	}
	var out []process
	for _, e := range doc.elems {
		var p aqfProc
		if err := doc.decodeElem(e, &p); err != nil {
			return nil, err
		}
		if !p.PID.ok {
			return nil, errLine(file, e.line, "%s: a process without a pid", ptrName(e.ptr))
		}
		pr := process{ptr: e.ptr, pid: p.PID.v, ppid: p.PPID.v, hasPPID: p.PPID.ok, uid: p.UID.v, hasUID: p.UID.ok,
			context: strings.TrimSpace(string(p.Context))}
		for _, a := range p.CommandLine {
			pr.cmdline = append(pr.cmdline, string(a))
		}
		pr.name = strings.TrimSuffix(strings.TrimPrefix(string(p.Filename), "("), ")")
		if len(p.CommandLine) > 0 && p.CommandLine[0] != "" {
			pr.name = string(p.CommandLine[0])
		}
		out = append(out, pr)
	}
	return out, nil
}

// textLines splits a text file into lines, without their line ends.
func textLines(data []byte) []string {
	s := strings.TrimPrefix(string(data), "\uFEFF")
	lines := strings.Split(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// parseGetprop reads getprop output: "[name]: [value]" lines. A value may
// run over several lines, up to the line that ends with "]". Blank lines
// are skipped; any other line, an unfinished value or a property listed
// twice fails with its line.
func parseGetprop(file string, data []byte, maxRows int) (map[string]propValue, error) {
	lines := textLines(data)
	props := map[string]propValue{}
	for i := 0; i < len(lines); i++ {
		ln, n := lines[i], i+1
		if strings.TrimSpace(ln) == "" {
			continue
		}
		end := strings.Index(ln, "]: [")
		if !strings.HasPrefix(ln, "[") || end < 2 {
			return nil, errLine(file, n, "not a getprop line ([name]: [value]): %q", clip(ln))
		}
		name := ln[1:end]
		if strings.ContainsAny(name, "[] \t") {
			return nil, errLine(file, n, "not a property name: %q", clip(name))
		}
		// The value ends on the first line, from this one, that ends
		// with "]".
		last := i
		for !strings.HasSuffix(lines[last], "]") {
			last++
			if last == len(lines) {
				return nil, errLine(file, n, "the value of [%s] has no closing ]", clip(name))
			}
		}
		rest := strings.Join(append([]string{ln[end+4:]}, lines[i+1:last+1]...), "\n")
		i = last
		if prev, dup := props[name]; dup {
			return nil, errLine(file, n, "[%s] is already on line %d", clip(name), prev.line)
		}
		if len(props) == maxRows {
			return nil, errLine(file, n, "more than %d properties (the import limit)", maxRows)
		}
		props[name] = propValue{value: rest[:len(rest)-1], line: n}
	}
	return props, nil
}

// settingLine starts a setting: "name=value".
var settingLine = regexp.MustCompile(`^[A-Za-z0-9_.:\-]+=`)

// parseSettings reads "cmd settings list" output: "name=value" lines. A
// line that does not start a setting continues the value before it (values
// may hold line breaks); before any setting it is an error, as is a
// setting listed twice.
func parseSettings(file string, data []byte, maxRows int) (map[string]propValue, error) {
	out := map[string]propValue{}
	cur, more := "", []string(nil) // the setting being read and its further lines
	flush := func() {
		if cur != "" && len(more) > 0 {
			v := out[cur]
			v.value = strings.Join(append([]string{v.value}, more...), "\n")
			out[cur] = v
		}
		more = more[:0]
	}
	for i, ln := range textLines(data) {
		n := i + 1
		if settingLine.MatchString(ln) {
			flush()
			name, value, _ := strings.Cut(ln, "=")
			if prev, dup := out[name]; dup {
				return nil, errLine(file, n, "%s is already on line %d", name, prev.line)
			}
			if len(out) == maxRows {
				return nil, errLine(file, n, "more than %d settings (the import limit)", maxRows)
			}
			out[name], cur = propValue{value: value, line: n}, name
			continue
		}
		if cur == "" {
			if strings.TrimSpace(ln) == "" {
				continue
			}
			return nil, errLine(file, n, "not a setting (name=value): %q", clip(ln))
		}
		more = append(more, ln)
	}
	flush()
	return out, nil
}

// hashEntry is a line of androidqf's hashes.csv.
type hashEntry struct {
	path   string // with '/' separators
	sha256 string
	line   int
}

// readHashes reads hashes.csv: "path,sha256" rows, no header.
func readHashes(file string, data []byte, maxRows int) ([]hashEntry, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, bomUTF8)))
	r.FieldsPerRecord = 2
	var out []hashEntry
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(file, err, 2)
		}
		line, _ := r.FieldPos(0)
		if len(out) == maxRows {
			return nil, errLine(file, line, "more than %d rows (the import limit)", maxRows)
		}
		sum, err := hexDigest(rec[1], 32)
		if err != nil || sum == "" {
			return nil, errLine(file, line, "not a sha256: %q", clip(rec[1]))
		}
		out = append(out, hashEntry{path: strings.ReplaceAll(rec[0], `\`, "/"), sha256: sum, line: line})
	}
	return out, nil
}

// checkHash compares a file of the folder with the digest hashes.csv has
// for it: a difference means the file changed after androidqf hashed it,
// and the import fails. The entry is the one under the acquisition's
// storage path when acquisition.json names it, else the shortest path
// ending in the file's name (the top-level file, not one deeper with the
// same name).
func checkHash(f *inputFile, base string, hashes []hashEntry, hashFile *inputFile, storage string) error {
	if hashFile == nil || f == hashFile {
		return nil
	}
	name := strings.TrimPrefix(f.name, base+"/")
	if name == aqfAcquisition {
		return nil // written after hashes.csv
	}
	var best *hashEntry
	want := strings.TrimSuffix(strings.ReplaceAll(storage, `\`, "/"), "/") + "/" + name
	for i := range hashes {
		h := &hashes[i]
		if h.path != name && !strings.HasSuffix(h.path, "/"+name) {
			continue
		}
		if storage != "" && h.path == want {
			best = h
			break
		}
		if best == nil || len(h.path) < len(best.path) {
			best = h
		}
	}
	if best == nil {
		f.addNote("not listed in " + aqfHashes)
		return nil
	}
	sum := sha256.Sum256(f.data)
	if got := hex.EncodeToString(sum[:]); got != best.sha256 {
		return errLine(hashFile.name, best.line, "%s has sha256 %s, not the %s androidqf recorded: the file changed after the acquisition", f.name, got, best.sha256)
	}
	f.addNote(fmt.Sprintf("its sha256 is the one %s line %d records", aqfHashes, best.line))
	return nil
}

// clip shortens a hostile value quoted in an error.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
