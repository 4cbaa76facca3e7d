// Package imports reads evidence that reached the responder as files
// rather than through an API (DESIGN §5.4, import): console exports of
// Intune, Jamf Pro and Workspace ONE, and androidqf acquisition folders.
// Each import is a collect.Source: Open reads and checks every input file
// whole, Collect keeps each file byte for byte as the raw evidence
// (raw/<source>/NNNNNN.<csv|json|txt>, one request-log line per file with
// method IMPORT, URL "file:<name>" and a note saying what the file is and
// how it was read) and writes the records read from it.
//
// Formats (Detect tells them from the content; New and Open take one):
//
//	intune-csv   Intune admin center device export; app inventory export
//	             by device (a device id and an application column). A
//	             discovered-apps export that only counts devices per app is
//	             refused: its apps cannot be tied to devices.
//	intune-json  Graph managedDevices as exported: a page {"value": […]},
//	             an array, or one device; detectedApps nested by $expand.
//	jamf-csv     Jamf Pro advanced mobile device search export.
//	wsone-csv    Workspace ONE UEM device list export.
//	wsone-json   Workspace ONE UEM mdm/devices/search {"Devices": […]}.
//	androidqf    an androidqf acquisition folder: acquisition.json,
//	             hashes.csv, getprop.txt, settings_{global,secure,system}.txt,
//	             packages.json and the process listing (processes.txt as ps
//	             output or collector JSON, or ps.txt).
//
// A console format's path may be a folder: every regular, non-hidden file
// in it is read, and must be of that format (an Intune device export and
// its app inventory export go together so that apps and devices end up in
// one acquisition).
//
// Pointers. Every record's RawRef names the stored file and its sha256.
// Its pointer is, for a record read from a line-oriented text file (CSV
// rows, ps rows), "/line/N": N is the 1-based line of the file on which
// the record's row starts (the header is line 1; a quoted field may make a
// row span lines). For a record read from JSON it is the RFC 6901 pointer
// of the object in the file ("/value/3", "/Devices/0",
// "/value/3/detectedApps/0", "/12" in packages.json). The androidqf device
// record cites its whole getprop.txt (pointer ""). A "/line/N" pointer is
// not a JSON pointer: tell them apart by the file's extension.
//
// Keys. Records are keyed like the live sources' ("intune:<managedDevice
// id>", "jamf:<id>", "wsone:<id>"), so that an export and a collection of
// the same tenant correlate. When an export lacks the console's own id, the
// key names what stands in for it: "jamf:udid:…", "jamf:serial:…",
// "wsone:uuid:…", "wsone:serial:…". androidqf devices are
// "androidqf:<ro.serialno>", else "androidqf:acquisition:<uuid>", else
// "androidqf:folder:<name>".
//
// Failures. Malformed input fails the whole import with the file and line
// (bad quoting, a wrong field count, a missing required column, a date it
// cannot read, truncated JSON, a bad getprop or settings line, a digest
// that is not hex, a file that differs from its sha256 in androidqf's
// hashes.csv); nothing is imported in part. Inputs are bounded (Options:
// bytes per file, rows per file, files per folder) and a larger one is
// refused with the limit named. Vocabulary values a console may spell in
// ways this package does not know (a yes/no column, a compliance state)
// are read as not reported, never guessed; the raw value stays in the
// stored file, and a verdict keeps it (Compromised.RawValue).
//
// Times. Dates are read in the exports' own formats (ISO 8601 with or
// without a zone, "M/D/YYYY h:mm:ss AM", "D/M/YYYY", "D.M.YYYY", Jamf's
// "Monday, January 2 2006 at 3:04 PM", PowerShell's /Date(ms)/). A time
// without a zone is read as UTC, and the file's request-log note says so
// and for which columns; the order of day and month is learnt from the
// whole file and the note says when it had to be assumed (month first).
// The zone is stated there, not in a gap: a gap on device_state would make
// every device of the import "not observable".
//
// Coverage. Describe claims only the telemetry the files read carry:
// device_state for device exports, getprop and settings; app_inventory for
// an app inventory by device, nested detectedApps or packages.json. Every
// other kind becomes a source-wide not_supported_by_source gap (collect.Run
// writes them), so nothing is counted clean that was not observed. With an
// Intune app inventory, a device it lists no app for gets a device gap,
// and a personally owned one a personal_device_scope gap. androidqf's
// process listing gives process_running events, but it is a snapshot, not
// a device log: device_logs stays a gap.
//
// androidqf. The device comes from getprop (model, manufacturer, release,
// security patch, build fingerprint, serial; ro.boot.verifiedbootstate
// upper-cased as Posture.VerifiedBoot; ro.crypto.state) and the settings
// (adb_enabled, development_settings_enabled, install_non_market_apps,
// package_verifier_enable; 1/0, absent = not reported; device_name). Each
// package is an app: its install source from the system flag (system),
// then the installer pm reports: Google Play and device vendors' stores
// (store), MDM agents (enterprise), F-Droid, Aurora, APKPure, Uptodown
// (marketplace), none ("null"), a package installer, ADB or the shell
// (sideloaded), any other (unknown, the installer kept). The installer is
// what the package manager says; "adb install -i" can set any. Digests
// are the base APK's sha256 and its signing certificate's sha1 and sha256.
// Processes are process_running events (pid, ppid, process_name, user or
// uid, selinux_context, command_line) at acquisition.json's start time,
// the listing having no time of its own; without acquisition.json none is
// recorded. Files are checked against hashes.csv when it lists them.
//
// The package must not import the other source packages, preserve,
// playbooks or report, and it never prints. It reuses no code of androidqf
// or MVT (their licence restricts use); it reads androidqf's documented
// output only.
package imports
