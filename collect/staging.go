package collect

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/custos-ir/custos/internal/fsutil"
)

// Exchange is one line of raw/<source>/requests.ndjson: what was asked, what
// came back, and where the verbatim body is stored (DESIGN §5.2).
type Exchange struct {
	Seq      int               `json:"seq"`
	Started  time.Time         `json:"started"`
	Finished time.Time         `json:"finished"`
	Method   string            `json:"method"`
	URL      string            `json:"url"` // secrets redacted
	Status   int               `json:"status"`
	Headers  map[string]string `json:"headers,omitempty"`
	Bytes    int64             `json:"bytes"`
	SHA256   string            `json:"sha256,omitempty"` // of the bytes received, when kept
	File     string            `json:"file,omitempty"`   // empty when the body is deliberately not kept
	Note     string            `json:"note,omitempty"`
	Error    string            `json:"error,omitempty"`
}

// Sink receives everything a source produces. Implementations are safe for
// concurrent use.
type Sink interface {
	// Capture stores body verbatim (unless keep is false, as for token
	// responses) and appends ex to the request log. It fills in ex.Seq,
	// ex.Bytes, ex.SHA256 and ex.File and returns the RawRef of the stored
	// body, with an empty pointer.
	Capture(source string, ex *Exchange, body []byte, keep bool) (RawRef, error)
	// CaptureReader stores everything r yields verbatim, streaming, as the
	// next raw file of source with extension ext ("ndjson", "csv"; an
	// imported export, say), logs ex for it like Capture, and returns its
	// RawRef. It reads at most limit bytes (a larger input fails) and
	// holds none of it in memory.
	CaptureReader(source string, ex *Exchange, r io.Reader, ext string, limit int64) (RawRef, error)
	Device(Device) error
	App(App) error
	// Event writes an event record. A source may give its fields
	// encoded (Event.WithEncodedFields) rather than in Fields; a sink
	// that reads them calls Event.Decoded.
	Event(Event) error
	Gap(Gap) error
	// UnitDone says that every record of one unit of work has been
	// written. A unit is a device (its key) or anything else a source
	// fetches as a whole. Records naming a device are held back until its
	// unit is done, so a checkpoint never holds half a device; after a
	// resume, Request.Done reports the units already done, which the
	// source skips.
	UnitDone(unit string) error
	// Within returns a Sink that files every record under unit instead of
	// the device it names, for work that spans devices: the devices of
	// one app in a tenant-wide inventory, say. Those records are written
	// when unit is done, and dropped when a resumed run sends them again.
	Within(unit string) Sink
	// Sync makes everything written so far durable: record files, raw
	// responses, the request log and, for a resumable staging, a
	// checkpoint naming the units done. A source calls it before it
	// acknowledges what it received (a Pub/Sub message), so that nothing
	// acknowledged can be lost by a crash.
	Sync() error
}

// recordBuffer is the write buffer of each record file: a drain writes
// hundreds of megabytes of records, and a write(2) per 4 KiB costs more
// than the data.
const recordBuffer = 256 << 10

// sourceName is the charset allowed for a source name: it becomes a path
// component inside the evidence archive.
var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Staging writes an acquisition into CASE/staging/<acquisition-id>/ with the
// layout of a bag's data/ directory: raw/<source>/, records/, provenance/.
type Staging struct {
	dir string

	mu        sync.Mutex
	captureMu sync.Mutex // held by one Capture or CaptureReader at a time
	dirsDirty bool       // an entry was made in records/ or raw/ since they were last fsynced
	seq       map[string]int
	reqlogs   map[string]*os.File
	records   map[string]*ndjsonFile
	counts    Counts
	gaps      []Gap
	closed    bool

	// Resumability (checkpoint.go): records held per unit until it is
	// done, units done, and when the last checkpoint was written.
	pending    map[string]*pendingUnit
	held       int    // bytes of records pending in memory
	holdBudget int    // at most this many (defaultHoldBudget)
	scratch    []byte // an event's line being put together
	rawStart   struct {
		path, sha256 string
		b            []byte
	} // the start of the raw reference of the last event written (pending.go)
	done       map[string]bool
	doneOrder  []string
	lastCkpt   time.Time
	ckptEvery  time.Duration
	checkpoint *Checkpoint
}

// Counts summarises what an acquisition holds.
type Counts struct {
	Devices   int `json:"devices"`
	Apps      int `json:"apps"`
	Events    int `json:"events"`
	Gaps      int `json:"gaps"`
	Responses int `json:"responses"`
}

// add counts one record written to file.
func (c *Counts) add(file string) {
	switch file {
	case DevicesFile:
		c.Devices++
	case AppsFile:
		c.Apps++
	case EventsFile:
		c.Events++
	case GapsFile:
		c.Gaps++
	}
}

type ndjsonFile struct {
	f     *os.File
	w     *bufio.Writer
	dirty bool // written since its last fsync
}

// Record file names inside records/.
const (
	DevicesFile = "records/devices.ndjson"
	AppsFile    = "records/apps.ndjson"
	EventsFile  = "records/events.ndjson"
	GapsFile    = "records/gaps.ndjson"
	// AcquisitionFile is written last; its presence marks the staging
	// directory complete and ready to seal.
	AcquisitionFile = "provenance/acquisition.json"
)

// recordFiles are the record files of every staging directory.
var recordFiles = []string{DevicesFile, AppsFile, EventsFile, GapsFile}

// NewStaging creates an empty staging directory. It refuses a directory that
// already holds an acquisition.
func NewStaging(dir string) (*Staging, error) {
	if _, err := os.Stat(filepath.Join(dir, AcquisitionFile)); err == nil {
		return nil, fmt.Errorf("staging %s already holds a finished acquisition", dir)
	}
	for _, sub := range []string{"raw", "records", "provenance"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(CheckpointPath(dir)); err == nil {
		return nil, fmt.Errorf("staging %s has a checkpoint: resume it with ResumeStaging", dir)
	}
	s := newStagingState(dir)
	for _, name := range recordFiles {
		f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(name)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			s.abort()
			return nil, err
		}
		s.records[name] = &ndjsonFile{f: f, w: bufio.NewWriterSize(f, recordBuffer), dirty: true}
	}
	return s, nil
}

// Dir returns the staging directory.
func (s *Staging) Dir() string { return s.dir }

// Capture implements Sink.
func (s *Staging) Capture(source string, ex *Exchange, body []byte, keep bool) (RawRef, error) {
	if !sourceName.MatchString(source) {
		return RawRef{}, fmt.Errorf("invalid source name %q", source)
	}
	sum := sha256.Sum256(body)
	// Captures take their turns (the request log stays in sequence
	// order), but the fsync of one does not hold up records being
	// written meanwhile.
	s.captureMu.Lock()
	defer s.captureMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return RawRef{}, errors.New("staging is closed")
	}
	rawDir := filepath.Join(s.dir, "raw", source)
	if s.seq[source] == 0 {
		if err := os.MkdirAll(rawDir, 0o755); err != nil {
			s.mu.Unlock()
			return RawRef{}, err
		}
		s.dirsDirty = true
	}
	s.seq[source]++
	ex.Seq = s.seq[source]
	s.mu.Unlock()
	ex.Bytes = int64(len(body))
	ex.SHA256 = hex.EncodeToString(sum[:])
	ex.File = ""
	if !keep {
		// A body that is not kept (token responses) leaves no digest
		// either: nobody could check it, and it would fingerprint a secret.
		ex.SHA256 = ""
		ex.Note = "body not kept"
	}
	var ref RawRef
	if keep {
		name := fmt.Sprintf("%06d.json", ex.Seq)
		if err := fsutil.WriteFile(filepath.Join(rawDir, name), body, 0o644); err != nil {
			return RawRef{}, fmt.Errorf("storing response %d: %w", ex.Seq, err)
		}
		ex.File = name
		ref = RawRef{Path: path.Join("raw", source, name), SHA256: ex.SHA256}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return RawRef{}, errors.New("staging is closed")
	}
	if keep {
		s.counts.Responses++
	}
	if err := s.logExchange(source, rawDir, ex); err != nil {
		return RawRef{}, err
	}
	return ref, nil
}

// logExchange appends ex to source's request log. s.mu is held.
func (s *Staging) logExchange(source, rawDir string, ex *Exchange) error {
	lf := s.reqlogs[source]
	if lf == nil {
		f, err := os.OpenFile(filepath.Join(rawDir, "requests.ndjson"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		s.reqlogs[source] = f
		lf = f
	}
	line, err := json.Marshal(ex)
	if err != nil {
		return err
	}
	if _, err := lf.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("appending to request log: %w", err)
	}
	return nil
}

// rawExt is the charset of a raw file's extension.
var rawExt = regexp.MustCompile(`^[a-z0-9]{1,8}$`)

// CaptureReader implements Sink.
func (s *Staging) CaptureReader(source string, ex *Exchange, r io.Reader, ext string, limit int64) (RawRef, error) {
	if !sourceName.MatchString(source) || !rawExt.MatchString(ext) {
		return RawRef{}, fmt.Errorf("invalid source %q or extension %q", source, ext)
	}
	s.captureMu.Lock()
	defer s.captureMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return RawRef{}, errors.New("staging is closed")
	}
	rawDir := filepath.Join(s.dir, "raw", source)
	if err := os.MkdirAll(rawDir, 0o755); err != nil {
		return RawRef{}, err
	}
	s.dirsDirty = true
	s.seq[source]++
	ex.Seq = s.seq[source]
	name := fmt.Sprintf("%06d.%s", ex.Seq, ext)
	h := sha256.New()
	var n int64
	err := fsutil.WriteWith(filepath.Join(rawDir, name), 0o644, func(w io.Writer) error {
		var err error
		n, err = io.Copy(io.MultiWriter(w, h), io.LimitReader(r, limit+1))
		if err == nil && n > limit {
			err = fmt.Errorf("input larger than %d bytes", limit)
		}
		return err
	})
	if err != nil {
		return RawRef{}, fmt.Errorf("storing input %d: %w", ex.Seq, err)
	}
	ex.Bytes, ex.SHA256, ex.File = n, hex.EncodeToString(h.Sum(nil)), name
	s.counts.Responses++
	if err := s.logExchange(source, rawDir, ex); err != nil {
		return RawRef{}, err
	}
	return RawRef{Path: path.Join("raw", source, name), SHA256: ex.SHA256}, nil
}

// write queues one record under its unit (the device it names; "" for
// records about the whole source, written when the staging finishes).
// Records of a unit already done before a resume are dropped: the source
// is re-sending what the checkpoint holds.
func (s *Staging) write(unit, file string, v any, gap *Gap) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.queue(unit, pendingRecord{file: file, line: append(line, '\n')}, gap)
}

// writeEvent queues an event under its unit: an event its source encoded
// as its head and raw reference, without putting its line together yet.
func (s *Staging) writeEvent(unit string, e Event) error {
	if e.head == nil {
		line, err := e.Record()
		if err != nil {
			return err
		}
		return s.queue(unit, pendingRecord{file: EventsFile, line: append(line, '\n')}, nil)
	}
	return s.queue(unit, pendingRecord{file: EventsFile, line: e.head, head: true, raw: e.Raw}, nil)
}

// queue holds a record under unit until the unit is done, or drops it if
// the unit was done before a resume.
func (s *Staging) queue(unit string, rec pendingRecord, gap *Gap) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("staging is closed")
	}
	if s.done[unit] && unit != "" {
		return nil
	}
	return s.hold(unit, rec, gap)
}

// Device implements Sink.
func (s *Staging) Device(d Device) error { return s.write(d.Key, DevicesFile, d, nil) }

// Within implements Sink.
func (s *Staging) Within(unit string) Sink { return unitSink{s, unit} }

// unitSink is a Staging whose records all belong to one unit.
type unitSink struct {
	*Staging
	unit string
}

func (u unitSink) Device(d Device) error { return u.write(u.unit, DevicesFile, d, nil) }
func (u unitSink) App(a App) error       { return u.write(u.unit, AppsFile, a, nil) }
func (u unitSink) Event(e Event) error   { return u.writeEvent(u.unit, e) }
func (u unitSink) Gap(g Gap) error       { return u.write(u.unit, GapsFile, g, &g) }

// App implements Sink.
func (s *Staging) App(a App) error { return s.write(a.DeviceKey, AppsFile, a, nil) }

// Event implements Sink.
func (s *Staging) Event(e Event) error { return s.writeEvent(e.DeviceKey, e) }

// Gap implements Sink.
func (s *Staging) Gap(g Gap) error { return s.write(g.DeviceKey, GapsFile, g, &g) }

// Counts returns what has been written so far.
func (s *Staging) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Gaps returns the gaps recorded so far, written or still held with their
// unit.
func (s *Staging) Gaps() []Gap {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Gap(nil), s.gaps...)
	for _, u := range slices.Sorted(maps.Keys(s.pending)) {
		out = append(out, s.pending[u].gaps...)
	}
	return out
}

// Finish flushes and fsyncs every file, then writes provenance/acquisition.json
// atomically. After Finish the staging directory is complete and sealable.
func (s *Staging) Finish(acq *Acquisition) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("staging is closed")
	}
	// Units never marked done (a source that does not checkpoint) and
	// records about the whole source are written now.
	units := slices.Sorted(maps.Keys(s.pending))
	for _, u := range units {
		if err := s.flushUnit(u); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.closed = true
	s.dropPending()
	acq.Counts = s.counts
	acq.Gaps = append([]Gap(nil), s.gaps...)
	if s.checkpoint != nil {
		acq.Resumed = append([]time.Time(nil), s.checkpoint.Resumed...)
	}
	err := s.closeFiles(true)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, d := range []string{"records", "raw"} {
		if err := fsutil.SyncDir(filepath.Join(s.dir, d)); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(acq, "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(filepath.Join(s.dir, filepath.FromSlash(AcquisitionFile)), append(data, '\n'), 0o644); err != nil {
		return err
	}
	// The acquisition is complete: the checkpoint has served its purpose.
	if err := os.Remove(CheckpointPath(s.dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (s *Staging) closeFiles(sync bool) error {
	var errs []error
	for _, r := range s.records {
		errs = append(errs, r.w.Flush())
		if sync {
			errs = append(errs, r.f.Sync())
		}
		errs = append(errs, r.f.Close())
	}
	for _, f := range s.reqlogs {
		if sync {
			errs = append(errs, f.Sync())
		}
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// abort closes files without marking the acquisition complete.
func (s *Staging) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	_ = s.closeFiles(false)
	s.dropPending()
}

// Abort closes the staging without writing acquisition.json; the directory
// stays unsealable and says so.
func (s *Staging) Abort() { s.abort() }
