package collect

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/custos-ir/custos/internal/fsutil"
	"golang.org/x/sync/errgroup"
)

// A collection killed at any point can be resumed: rerunning the same
// command finds the unfinished staging directory by its fingerprint and
// carries on without fetching again the units (devices) it had finished,
// and without losing or duplicating anything written.
//
// How: records naming a device are held in memory until the source says
// the device is done (Sink.UnitDone); then they are appended to the record
// files together. At most once a second (and when the run ends) the record
// files and request logs are flushed and fsynced and a checkpoint is
// written atomically beside the staging directory, outside the evidence:
// CASE/staging/<id>.checkpoint.json. It lists the units done and the
// length of every record file. On resume the record files are cut back to
// those lengths (dropping records of units finished after the checkpoint,
// which are fetched again), a request-log line cut short by the kill is
// removed, and raw responses keep their numbers: new ones are numbered
// after the highest already on disk. Raw responses received after the
// checkpoint stay (they were received, and the request log says so); the
// records of a refetched device point at the new responses.

// Checkpoint is CASE/staging/<id>.checkpoint.json.
type Checkpoint struct {
	Version     int              `json:"v"`
	Fingerprint string           `json:"fingerprint"`
	Started     time.Time        `json:"collection_start_utc"`
	Resumed     []time.Time      `json:"resumed_utc,omitempty"`
	Offsets     map[string]int64 `json:"offsets"`
	Units       []string         `json:"units_done"`
}

// CheckpointPath is where the checkpoint of a staging directory lives.
func CheckpointPath(dir string) string {
	return filepath.Clean(dir) + ".checkpoint.json"
}

// DefaultCheckpointInterval is how often, at most, a checkpoint is written.
const DefaultCheckpointInterval = time.Second

func newStagingState(dir string) *Staging {
	return &Staging{
		dir:        dir,
		seq:        map[string]int{},
		reqlogs:    map[string]*os.File{},
		records:    map[string]*ndjsonFile{},
		pending:    map[string]*pendingUnit{},
		done:       map[string]bool{},
		ckptEvery:  DefaultCheckpointInterval,
		holdBudget: defaultHoldBudget,
		dirsDirty:  true,
	}
}

// NewResumableStaging creates a staging directory that can be resumed
// after a crash: the first checkpoint, naming the run by fingerprint (the
// same command yields the same fingerprint) and its start time, is written
// before the directory itself, so no kill can leave a staging directory
// that a rerun would not find.
func NewResumableStaging(dir, fingerprint string, started time.Time) (*Staging, error) {
	if _, err := os.Stat(dir); err == nil {
		return nil, fmt.Errorf("staging %s already exists", dir)
	}
	c := &Checkpoint{Version: 1, Fingerprint: fingerprint, Started: started.UTC(), Offsets: map[string]int64{}}
	for _, name := range recordFiles {
		c.Offsets[name] = 0
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	if err := fsutil.WriteFile(CheckpointPath(dir), data, 0o644); err != nil {
		return nil, fmt.Errorf("writing checkpoint: %w", err)
	}
	return openStaging(dir, time.Time{})
}

// SetCheckpointInterval changes how often checkpoints are written (tests).
func (s *Staging) SetCheckpointInterval(d time.Duration) {
	s.mu.Lock()
	s.ckptEvery = d
	s.mu.Unlock()
}

// ReadWritten calls fn with each line of the record file named file, as
// written so far (a resumed staging holds only what its checkpoint
// covers). It implements Request.Written.
func (s *Staging) ReadWritten(file string, fn func(line []byte) error) error {
	if !slices.Contains(recordFiles, file) {
		return fmt.Errorf("no record file %q", file)
	}
	s.mu.Lock()
	var err error
	if r := s.records[file]; r != nil {
		err = r.w.Flush()
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(s.dir, file))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			if err := fn(line[:len(line)-1]); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// Resumed returns the checkpoint a resumed staging started from, or nil.
func (s *Staging) Resumed() *Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checkpoint == nil || len(s.checkpoint.Resumed) == 0 {
		return nil
	}
	c := *s.checkpoint
	return &c
}

// Done reports whether unit was finished before a resume (or in this
// run). Sources skip such units.
func (s *Staging) Done(unit string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done[unit]
}

// UnitDone implements Sink: it writes the unit's held records and, when a
// checkpoint is due, makes everything written so far durable.
func (s *Staging) UnitDone(unit string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("staging is closed")
	}
	if unit == "" || s.done[unit] {
		return nil
	}
	if err := s.flushUnit(unit); err != nil {
		return err
	}
	s.done[unit] = true
	s.doneOrder = append(s.doneOrder, unit)
	if s.checkpoint != nil && time.Since(s.lastCkpt) >= s.ckptEvery {
		return s.writeCheckpoint()
	}
	return nil
}

// Sync implements Sink.
func (s *Staging) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("staging is closed")
	}
	if s.checkpoint != nil {
		return s.writeCheckpoint()
	}
	return s.syncAll()
}

// syncAll makes the record files, request logs and directories durable.
// Their fsyncs run at once: the disk's latency is paid about once, not
// once for each. s.mu is held.
func (s *Staging) syncAll() error {
	for _, r := range s.records {
		if err := r.w.Flush(); err != nil {
			return err
		}
	}
	var g errgroup.Group
	for _, r := range s.records {
		if r.dirty {
			g.Go(func() error {
				if err := r.f.Sync(); err != nil {
					return err
				}
				r.dirty = false
				return nil
			})
		}
	}
	for _, f := range s.reqlogs {
		g.Go(f.Sync)
	}
	g.Go(s.syncDirs)
	return g.Wait()
}

// syncDirs fsyncs records/ and raw/ when entries were made in them since
// the last time. s.mu is held.
func (s *Staging) syncDirs() error {
	if !s.dirsDirty {
		return nil
	}
	for _, d := range []string{"records", "raw"} {
		if err := fsutil.SyncDir(filepath.Join(s.dir, d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	s.dirsDirty = false
	return nil
}

// writeCheckpoint flushes and fsyncs the record files and request logs,
// then records their lengths and the units done. s.mu is held.
func (s *Staging) writeCheckpoint() error {
	if err := s.syncAll(); err != nil {
		return err
	}
	offsets := map[string]int64{}
	for name, r := range s.records {
		off, err := r.f.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		offsets[name] = off
	}
	s.checkpoint.Offsets = offsets
	s.checkpoint.Units = s.doneOrder
	data, err := json.Marshal(s.checkpoint)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFile(CheckpointPath(s.dir), data, 0o644); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	s.lastCkpt = time.Now()
	return nil
}

// ReadCheckpoint reads the checkpoint of a staging directory.
func ReadCheckpoint(dir string) (*Checkpoint, error) {
	data, err := os.ReadFile(CheckpointPath(dir))
	if err != nil {
		return nil, err
	}
	var c Checkpoint
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("checkpoint of %s: %w", dir, err)
	}
	if c.Version != 1 || c.Offsets == nil {
		return nil, fmt.Errorf("checkpoint of %s: unsupported or incomplete", dir)
	}
	return &c, nil
}

// FindResumable returns the unfinished staging directory under root whose
// checkpoint has fingerprint, or "" when there is none.
func FindResumable(root, fingerprint string) (string, error) {
	des, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		dir := filepath.Join(root, de.Name())
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(AcquisitionFile))); err == nil {
			continue
		}
		c, err := ReadCheckpoint(dir)
		if err != nil {
			continue
		}
		if c.Fingerprint == fingerprint {
			return dir, nil
		}
	}
	return "", nil
}

var rawFile = regexp.MustCompile(`^([0-9]{6,})\.json$`)

// ResumeStaging reopens an unfinished staging directory from its
// checkpoint: record files are cut back to the checkpoint, a partial last
// line of each request log is removed, raw numbering continues after the
// highest response on disk, and the units done are loaded.
func ResumeStaging(dir string, now time.Time) (*Staging, error) {
	return openStaging(dir, now.UTC())
}

// openStaging opens dir from its checkpoint; a non-zero resumed is recorded
// as a resume (NewResumableStaging opens its fresh checkpoint with zero).
func openStaging(dir string, resumed time.Time) (*Staging, error) {
	c, err := ReadCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(AcquisitionFile))); err == nil {
		return nil, fmt.Errorf("staging %s already holds a finished acquisition", dir)
	}
	for _, sub := range []string{"raw", "records", "provenance"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	s := newStagingState(dir)
	// Records held by the run that died are gone with it.
	os.RemoveAll(SpillDir(dir))
	s.checkpoint = c
	if !resumed.IsZero() {
		c.Resumed = append(c.Resumed, resumed)
	}
	for _, u := range c.Units {
		s.done[u] = true
	}
	s.doneOrder = slices.Clone(c.Units)
	for _, name := range recordFiles {
		p := filepath.Join(dir, filepath.FromSlash(name))
		off, ok := c.Offsets[name]
		if !ok {
			s.abort()
			return nil, fmt.Errorf("checkpoint of %s has no offset for %s", dir, name)
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			s.abort()
			return nil, err
		}
		fi, err := f.Stat()
		if err == nil && fi.Size() < off {
			err = fmt.Errorf("%s is shorter (%d bytes) than its checkpoint (%d): the staging was damaged", name, fi.Size(), off)
		}
		if err == nil {
			err = f.Truncate(off)
		}
		if err == nil {
			_, err = f.Seek(off, io.SeekStart)
		}
		if err == nil {
			err = s.recount(f, name, off)
		}
		if err != nil {
			f.Close()
			s.abort()
			return nil, err
		}
		s.records[name] = &ndjsonFile{f: f, w: bufio.NewWriterSize(f, recordBuffer), dirty: true}
	}
	rawRoot := filepath.Join(dir, "raw")
	sources, err := os.ReadDir(rawRoot)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.abort()
		return nil, err
	}
	for _, src := range sources {
		if !src.IsDir() {
			continue
		}
		if err := s.resumeSource(filepath.Join(rawRoot, src.Name()), src.Name()); err != nil {
			s.abort()
			return nil, err
		}
	}
	if err := s.writeCheckpoint(); err != nil {
		s.abort()
		return nil, err
	}
	return s, nil
}

// recount rebuilds the counts (and the gap list) of a record file up to
// off; f is left at off.
func (s *Staging) recount(f *os.File, name string, off int64) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sc := bufio.NewScanner(io.LimitReader(f, off))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		s.counts.add(name)
		if name == GapsFile {
			var g Gap
			if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			s.gaps = append(s.gaps, g)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err := f.Seek(off, io.SeekStart)
	return err
}

// resumeSource continues raw numbering after the highest response on disk
// and removes a request-log line the kill cut short.
func (s *Staging) resumeSource(dir, source string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		if m := rawFile.FindStringSubmatch(de.Name()); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n > s.seq[source] {
				s.seq[source] = n
			}
		}
	}
	logPath := filepath.Join(dir, "requests.ndjson")
	f, err := os.Open(logPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	// One streaming pass: the length of the whole lines (a last line the
	// kill cut short is removed), and the highest seq they log, since
	// requests whose bodies were not kept (token responses) took a number
	// too.
	var keep int64
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		keep += int64(len(line))
		var ex struct {
			Seq int `json:"seq"`
		}
		if json.Unmarshal(line, &ex) == nil && ex.Seq > s.seq[source] {
			s.seq[source] = ex.Seq
		}
	}
	if fi, err := f.Stat(); err != nil {
		return err
	} else if keep < fi.Size() {
		return os.Truncate(logPath, keep)
	}
	return nil
}
