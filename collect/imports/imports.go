package imports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Formats, as --format names them.
const (
	FormatIntuneCSV  = "intune-csv"  // Intune admin center device export, per-device app inventory export
	FormatIntuneJSON = "intune-json" // Graph managedDevices as exported (a page, an array or one device)
	FormatJamfCSV    = "jamf-csv"    // Jamf Pro advanced mobile device search export (with app fields: an app inventory)
	FormatJamfJSON   = "jamf-json"   // Jamf Pro API mobile device inventory or detail, or Classic API mobile_device, as saved
	FormatWSOneCSV   = "wsone-csv"   // Workspace ONE UEM device list export
	FormatWSOneJSON  = "wsone-json"  // Workspace ONE UEM mdm/devices/search as exported
	FormatAndroidQF  = "androidqf"   // an androidqf acquisition folder
)

// Formats lists the formats this package imports, in a stable order.
func Formats() []string {
	return []string{FormatIntuneCSV, FormatIntuneJSON, FormatJamfCSV, FormatJamfJSON, FormatWSOneCSV, FormatWSOneJSON, FormatAndroidQF}
}

// Source names: records are keyed like the live sources' records
// ("intune:<managedDevice id>"), so that an export and a collection of the
// same tenant correlate. androidqf has no live source.
const (
	sourceIntune    = "intune"
	sourceJamf      = "jamf"
	sourceWSOne     = "wsone"
	sourceAndroidQF = "androidqf"
)

// Default limits of an import. An export larger than this is refused
// rather than read in part.
const (
	DefaultMaxBytes = 512 << 20 // bytes of one input file
	DefaultMaxRows  = 1_000_000 // rows (CSV records, JSON array elements, text lines) of one input file
	DefaultMaxFiles = 64        // files of one input folder
)

// Options bounds an import. Zero values take the defaults.
type Options struct {
	MaxBytes int64
	MaxRows  int
	MaxFiles int
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxFiles <= 0 {
		o.MaxFiles = DefaultMaxFiles
	}
	return o
}

// Import is a collect.Source that reads exported files instead of an API.
// Open reads and checks every input file whole; Collect then keeps each
// file byte for byte as raw evidence and writes the records read from it,
// each pointing back to its file and line or JSON pointer.
type Import struct {
	format string
	source string // collect source name
	api    string // what the files are, for provenance
	path   string
	files  []*inputFile

	telemetry []string
	devices   []located[collect.Device]
	apps      []located[collect.App]
	events    []located[collect.Event]
	gaps      []collect.Gap // device gaps, in device order

	// Now stamps the request-log lines of the imported files.
	Now func() time.Time
}

// inputFile is one file read by an import: its bytes, kept as evidence.
type inputFile struct {
	name  string // as errors and the request log name it: base name, or folder/name
	data  []byte
	ext   string // raw file extension: csv, json, txt
	what  string // what the file is, for the request log
	notes []string
}

// located is a record of one input file: its Raw holds only the pointer
// until Collect knows where the file is stored.
type located[T any] struct {
	file int
	rec  T
}

// New returns the source that imports path in format; an empty format is
// detected from the content (Detect). It reads and checks every input file
// now: a malformed file fails here, naming the file and line, and nothing
// is imported.
func New(path, format string) (collect.Source, error) {
	im, err := Open(path, format, Options{})
	if err != nil {
		return nil, err
	}
	return im, nil
}

// NewIntuneCSV imports Intune admin center CSV exports (a file, or a folder
// of them: the device export and the per-device app inventory export).
func NewIntuneCSV(path string) (*Import, error) { return Open(path, FormatIntuneCSV, Options{}) }

// NewIntuneJSON imports Graph managedDevices as exported (a file or a
// folder of them).
func NewIntuneJSON(path string) (*Import, error) { return Open(path, FormatIntuneJSON, Options{}) }

// NewJamfCSV imports Jamf Pro advanced mobile device search CSV exports.
func NewJamfCSV(path string) (*Import, error) { return Open(path, FormatJamfCSV, Options{}) }

// NewJamfJSON imports Jamf Pro API or Classic API mobile device JSON.
func NewJamfJSON(path string) (*Import, error) { return Open(path, FormatJamfJSON, Options{}) }

// NewWSOneCSV imports Workspace ONE UEM device list CSV exports.
func NewWSOneCSV(path string) (*Import, error) { return Open(path, FormatWSOneCSV, Options{}) }

// NewWSOneJSON imports Workspace ONE UEM device search JSON.
func NewWSOneJSON(path string) (*Import, error) { return Open(path, FormatWSOneJSON, Options{}) }

// NewAndroidQF imports an androidqf acquisition folder.
func NewAndroidQF(dir string) (*Import, error) { return Open(dir, FormatAndroidQF, Options{}) }

// Open is New with limits.
func Open(path, format string, opts Options) (*Import, error) {
	opts = opts.withDefaults()
	if format == "" {
		f, err := Detect(path)
		if err != nil {
			return nil, err
		}
		format = f
	}
	if !slices.Contains(Formats(), format) {
		return nil, fmt.Errorf("unknown import format %q (this version imports: %s)", format, strings.Join(Formats(), ", "))
	}
	im := &Import{format: format, path: path, Now: time.Now}
	var err error
	switch format {
	case FormatAndroidQF:
		err = im.openAndroidQF(path, opts)
	default:
		err = im.openExports(path, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", format, err)
	}
	return im, nil
}

// openExports reads a console export, or a folder of exports of one
// format, and parses every file.
func (im *Import) openExports(path string, opts Options) error {
	paths, names, err := inputPaths(path, opts)
	if err != nil {
		return err
	}
	var p exportParser
	switch im.format {
	case FormatIntuneCSV:
		p = &intuneCSV{}
		im.source, im.api = sourceIntune, "Intune admin center exports (CSV)"
	case FormatIntuneJSON:
		p = &intuneJSON{}
		im.source, im.api = sourceIntune, "Microsoft Graph managedDevices as exported (JSON)"
	case FormatJamfCSV:
		p = &jamfCSV{}
		im.source, im.api = sourceJamf, "Jamf Pro advanced mobile device search exports (CSV)"
	case FormatJamfJSON:
		p = &jamfJSON{}
		im.source, im.api = sourceJamf, "Jamf Pro API mobile devices as saved (JSON)"
	case FormatWSOneCSV:
		p = &wsoneCSV{}
		im.source, im.api = sourceWSOne, "Workspace ONE UEM device list and app inventory exports (CSV)"
	case FormatWSOneJSON:
		p = &wsoneJSON{}
		im.source, im.api = sourceWSOne, "Workspace ONE UEM device search as exported (JSON)"
	}
	for i, fp := range paths {
		data, err := readCapped(fp, names[i], opts.MaxBytes)
		if err != nil {
			return err
		}
		f := &inputFile{name: names[i], data: data}
		im.files = append(im.files, f)
		if err := p.parse(im, len(im.files)-1, f, opts); err != nil {
			return err
		}
	}
	return p.finish(im)
}

// exportParser reads the files of one console format into an Import.
type exportParser interface {
	// parse reads file fi (im.files[fi]), adding its records to im.
	parse(im *Import, fi int, f *inputFile, opts Options) error
	// finish runs once every file is read: cross-file checks, device
	// gaps and the telemetry the files carry.
	finish(im *Import) error
}

// inputPaths lists the files of an import: path itself, or the regular
// files of the folder path (not its subfolders, nor hidden files), in name
// order. names are how errors and the request log name them.
func inputPaths(path string, opts Options) (paths, names []string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if fi.Mode().IsRegular() {
		return []string{path}, []string{filepath.Base(path)}, nil
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("%s is neither a file nor a folder", path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, nil, err
	}
	base := filepath.Base(filepath.Clean(path))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		if !e.Type().IsRegular() {
			return nil, nil, fmt.Errorf("%s/%s is not a regular file (a link?): copy the exports themselves into the folder", base, e.Name())
		}
		if len(paths) == opts.MaxFiles {
			return nil, nil, fmt.Errorf("%s holds more than %d files (the import limit): import them in several runs", base, opts.MaxFiles)
		}
		paths = append(paths, filepath.Join(path, e.Name()))
		names = append(names, base+"/"+e.Name())
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("%s holds no file to import", base)
	}
	return paths, names, nil
}

// readCapped reads a whole file of at most max bytes.
func readCapped(path, name string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes (the import limit): split the export", name, max)
	}
	return data, nil
}

// Name implements collect.Source.
func (im *Import) Name() string { return im.source }

// Format returns the format the import reads.
func (im *Import) Format() string { return im.format }

// Describe implements collect.Source. The telemetry is what the files
// read carry: every other kind becomes a not_supported_by_source gap.
func (im *Import) Describe() collect.Descriptor {
	d := collect.Descriptor{Name: im.source, API: im.api, Telemetry: slices.Clone(im.telemetry)}
	for _, f := range im.files {
		d.Endpoints = append(d.Endpoints, "file:"+f.name)
	}
	if d.Telemetry == nil {
		d.Telemetry = []string{}
	}
	return d
}

// Collect implements collect.Source: it keeps every input file byte for
// byte under raw/<source>/, then writes the records of the devices
// selected. The files were read and checked by Open: nothing here can
// fail but the staging.
func (im *Import) Collect(ctx context.Context, req collect.Request, sink collect.Sink) error {
	now := im.Now
	if now == nil {
		now = time.Now
	}
	refs := make([]collect.RawRef, len(im.files))
	for i, f := range im.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := now().UTC()
		ex := &collect.Exchange{Started: t, Finished: t, Method: "IMPORT", URL: "file:" + f.name, Note: f.note()}
		ref, err := sink.CaptureReader(im.source, ex, bytes.NewReader(f.data), f.ext, int64(len(f.data)))
		if err != nil {
			return fmt.Errorf("import %s: storing %s: %w", im.format, f.name, err)
		}
		refs[i] = ref
	}
	at := func(file int, r collect.RawRef) collect.RawRef {
		return collect.RawRef{Path: refs[file].Path, SHA256: refs[file].SHA256, Pointer: r.Pointer}
	}
	wanted := map[string]bool{}
	known := map[string]bool{}
	for _, l := range im.devices {
		d := l.rec
		known[d.Key] = true
		if !req.Wanted(d) {
			continue
		}
		wanted[d.Key] = true
		d.Raw = at(l.file, d.Raw)
		if err := sink.Device(d); err != nil {
			return err
		}
	}
	// Records of a device the import has no device record for (an app
	// inventory export without its device export) are kept when the
	// request can select them at all: by id.
	keep := func(key string) bool {
		if wanted[key] {
			return true
		}
		if known[key] {
			return false
		}
		id := strings.TrimPrefix(key, im.source+":")
		return req.Wanted(collect.Device{Key: key, Source: im.source, SourceID: id})
	}
	for _, g := range im.gaps {
		if keep(g.DeviceKey) {
			if err := sink.Gap(g); err != nil {
				return err
			}
		}
	}
	for _, l := range im.apps {
		if !keep(l.rec.DeviceKey) {
			continue
		}
		a := l.rec
		a.Raw = at(l.file, a.Raw)
		if err := sink.App(a); err != nil {
			return err
		}
	}
	for _, l := range im.events {
		e := l.rec
		if !keep(e.DeviceKey) || (!req.Since.IsZero() && e.Time.Before(req.Since)) {
			continue
		}
		e.Raw = at(l.file, e.Raw)
		if err := sink.Event(e); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return sink.Sync()
}

// note is the request-log note of a file: what it is, how its records
// point into it, and how its values were read.
func (f *inputFile) note() string {
	parts := append([]string{"imported " + f.what + ", kept as given"}, f.notes...)
	return strings.Join(parts, "; ")
}

// addNote adds a note once.
func (f *inputFile) addNote(s string) {
	if !slices.Contains(f.notes, s) {
		f.notes = append(f.notes, s)
	}
}

// appCoverage is what the readers of a device export and an app
// inventory export share: which kinds the files carry and which devices
// the app inventory covers.
type appCoverage struct {
	sawDevices, sawApps bool
	appsOf              map[string]int // device key → apps read
}

// finish claims the telemetry the files carry and records, when they
// carry an app inventory, the devices it does not cover: a personally
// owned device (its inventory is partial: personal says why), or one it
// lists no app for (missing says why).
func (p *appCoverage) finish(im *Import, source, personal, missing string) {
	if p.sawDevices {
		im.claim(collect.TelemetryDeviceState)
	}
	if !p.sawApps {
		return
	}
	im.claim(collect.TelemetryAppInventory)
	for _, l := range im.devices {
		d := l.rec
		switch {
		case d.Ownership == "personal":
			im.gaps = append(im.gaps, collect.Gap{DeviceKey: d.Key, Source: source, Telemetry: collect.TelemetryAppInventory,
				Reason: collect.ReasonPersonalScope, Detail: personal})
		case p.appsOf[d.Key] == 0:
			im.gaps = append(im.gaps, collect.Gap{DeviceKey: d.Key, Source: source, Telemetry: collect.TelemetryAppInventory,
				Reason: collect.ReasonNotSupported, Detail: missing})
		}
	}
}

// claim adds telemetry kinds the import observes.
func (im *Import) claim(kinds ...string) {
	for _, k := range kinds {
		if !slices.Contains(im.telemetry, k) {
			im.telemetry = append(im.telemetry, k)
		}
	}
	order := []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit}
	slices.SortFunc(im.telemetry, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
}

// errLine is an error about one line of one file.
func errLine(file string, line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
}

// ErrUnknownFormat is returned (wrapped) by Detect when the content is
// none of the formats: the caller may try other importers, or ask for
// --format.
var ErrUnknownFormat = errors.New("not an export this version imports")
