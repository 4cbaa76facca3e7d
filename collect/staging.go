package collect

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
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
	Device(Device) error
	App(App) error
	Event(Event) error
	Gap(Gap) error
}

// sourceName is the charset allowed for a source name: it becomes a path
// component inside the evidence archive.
var sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Staging writes an acquisition into CASE/staging/<acquisition-id>/ with the
// layout of a bag's data/ directory: raw/<source>/, records/, provenance/.
type Staging struct {
	dir string

	mu      sync.Mutex
	seq     map[string]int
	reqlogs map[string]*os.File
	records map[string]*ndjsonFile
	counts  Counts
	gaps    []Gap
	closed  bool
}

// Counts summarises what an acquisition holds.
type Counts struct {
	Devices   int `json:"devices"`
	Apps      int `json:"apps"`
	Events    int `json:"events"`
	Gaps      int `json:"gaps"`
	Responses int `json:"responses"`
}

type ndjsonFile struct {
	f *os.File
	w *bufio.Writer
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
	s := &Staging{
		dir:     dir,
		seq:     map[string]int{},
		reqlogs: map[string]*os.File{},
		records: map[string]*ndjsonFile{},
	}
	for _, name := range []string{DevicesFile, AppsFile, EventsFile, GapsFile} {
		f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(name)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			s.abort()
			return nil, err
		}
		s.records[name] = &ndjsonFile{f: f, w: bufio.NewWriter(f)}
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return RawRef{}, errors.New("staging is closed")
	}
	rawDir := filepath.Join(s.dir, "raw", source)
	if s.seq[source] == 0 {
		if err := os.MkdirAll(rawDir, 0o755); err != nil {
			return RawRef{}, err
		}
	}
	s.seq[source]++
	ex.Seq = s.seq[source]
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
		s.counts.Responses++
	}
	lf := s.reqlogs[source]
	if lf == nil {
		f, err := os.OpenFile(filepath.Join(rawDir, "requests.ndjson"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return RawRef{}, err
		}
		s.reqlogs[source] = f
		lf = f
	}
	line, err := json.Marshal(ex)
	if err != nil {
		return RawRef{}, err
	}
	if _, err := lf.Write(append(line, '\n')); err != nil {
		return RawRef{}, fmt.Errorf("appending to request log: %w", err)
	}
	return ref, nil
}

func (s *Staging) write(file string, v any, count *int) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("staging is closed")
	}
	if _, err := s.records[file].w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	*count++
	return nil
}

// Device implements Sink.
func (s *Staging) Device(d Device) error { return s.write(DevicesFile, d, &s.counts.Devices) }

// App implements Sink.
func (s *Staging) App(a App) error { return s.write(AppsFile, a, &s.counts.Apps) }

// Event implements Sink.
func (s *Staging) Event(e Event) error { return s.write(EventsFile, e, &s.counts.Events) }

// Gap implements Sink.
func (s *Staging) Gap(g Gap) error {
	if err := s.write(GapsFile, g, &s.counts.Gaps); err != nil {
		return err
	}
	s.mu.Lock()
	s.gaps = append(s.gaps, g)
	s.mu.Unlock()
	return nil
}

// Counts returns what has been written so far.
func (s *Staging) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Gaps returns the gaps recorded so far.
func (s *Staging) Gaps() []Gap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Gap(nil), s.gaps...)
}

// Finish flushes and fsyncs every file, then writes provenance/acquisition.json
// atomically. After Finish the staging directory is complete and sealable.
func (s *Staging) Finish(acq *Acquisition) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("staging is closed")
	}
	s.closed = true
	acq.Counts = s.counts
	acq.Gaps = append([]Gap(nil), s.gaps...)
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
	return fsutil.WriteFile(filepath.Join(s.dir, filepath.FromSlash(AcquisitionFile)), append(data, '\n'), 0o644)
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
}

// Abort closes the staging without writing acquisition.json; the directory
// stays unsealable and says so.
func (s *Staging) Abort() { s.abort() }
