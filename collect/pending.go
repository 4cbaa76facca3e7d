package collect

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// defaultHoldBudget is how many bytes of records all open units together
// hold in memory; past it, the unit that grows goes to a spill file. A unit
// can be large (the devices of an app found on every phone of a
// 20,000-device fleet), and many can be open at once; a source that writes
// one unit at a time (a Pub/Sub message) never spills.
const defaultHoldBudget = 16 << 20

// pendingUnit holds the records of one unit until it is done: in memory
// while they are few, then in a spill file beside the staging directory.
// A spilled line is the record file's index in recordFiles (one byte)
// followed by the record's JSON line.
type pendingUnit struct {
	recs  []pendingRecord
	size  int
	gaps  []Gap // the unit's gaps, also kept here when spilled (they are few)
	spill *os.File
	w     *bufio.Writer
}

// pendingRecord is a record line held until its unit is done: line, or
// for an event encoded by its source, its head and the raw reference that
// ends it (the line is put together as it is written, not held twice).
type pendingRecord struct {
	file string
	line []byte // with its newline, or an event's head
	head bool   // line is an event's head, to be ended by raw
	raw  RawRef
}

// size is the length of the record's line.
func (r pendingRecord) size() int {
	if !r.head {
		return len(r.line)
	}
	return len(r.line) + len(r.raw.Path) + len(r.raw.SHA256) + len(r.raw.Pointer) + 48
}

// SpillDir is where a staging directory's large units wait: outside the
// directory, which becomes the evidence, and removed when the staging is
// finished or reopened.
func SpillDir(dir string) string { return filepath.Clean(dir) + ".pending" }

// hold queues one record under unit. s.mu is held.
func (s *Staging) hold(unit string, rec pendingRecord, gap *Gap) error {
	u := s.pending[unit]
	if u == nil {
		u = &pendingUnit{}
		s.pending[unit] = u
	}
	if gap != nil {
		u.gaps = append(u.gaps, *gap)
	}
	n := rec.size()
	if u.spill == nil && s.held+n <= s.holdBudget {
		u.recs = append(u.recs, rec)
		u.size += n
		s.held += n
		return nil
	}
	if u.spill == nil {
		if err := os.MkdirAll(SpillDir(s.dir), 0o700); err != nil {
			return err
		}
		f, err := os.CreateTemp(SpillDir(s.dir), "unit-*")
		if err != nil {
			return err
		}
		u.spill, u.w = f, bufio.NewWriter(f)
		for _, r := range u.recs {
			if err := u.spillLine(r.file, s.line(r)); err != nil {
				return err
			}
		}
		s.held -= u.size
		u.recs, u.size = nil, 0
	}
	return u.spillLine(rec.file, s.line(rec))
}

func (u *pendingUnit) spillLine(file string, line []byte) error {
	u.w.WriteByte(byte(slices.Index(recordFiles, file)))
	_, err := u.w.Write(line)
	return err
}

// flushUnit writes the held records of unit to their files. s.mu is held.
func (s *Staging) flushUnit(unit string) error {
	u := s.pending[unit]
	if u == nil {
		return nil
	}
	delete(s.pending, unit)
	s.held -= u.size
	s.gaps = append(s.gaps, u.gaps...)
	for _, r := range u.recs {
		if err := s.emit(r); err != nil {
			return err
		}
	}
	if u.spill == nil {
		return nil
	}
	defer u.discard()
	if err := u.w.Flush(); err != nil {
		return fmt.Errorf("spilling records: %w", err)
	}
	if _, err := u.spill.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReader(u.spill)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 1 {
			i := int(line[0])
			if i >= len(recordFiles) {
				return fmt.Errorf("spill file %s is damaged", u.spill.Name())
			}
			if err := s.emit(pendingRecord{file: recordFiles[i], line: line[1:]}); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// discard closes and removes a unit's spill file.
func (u *pendingUnit) discard() {
	if u.spill != nil {
		u.spill.Close()
		os.Remove(u.spill.Name())
		u.spill = nil
	}
}

// emit appends one record line to its file and counts it. s.mu is held.
func (s *Staging) emit(rec pendingRecord) error {
	r := s.records[rec.file]
	r.dirty = true
	if _, err := r.w.Write(s.line(rec)); err != nil {
		return fmt.Errorf("writing %s: %w", rec.file, err)
	}
	s.counts.add(rec.file)
	return nil
}

// line returns a record's line, with its newline. That of an event held as
// its head and raw reference is put together in s.scratch, valid until
// the next call. Consecutive events mostly come from one raw file: the
// start of their raw reference is encoded once for all of them. s.mu is
// held.
func (s *Staging) line(rec pendingRecord) []byte {
	if !rec.head {
		return rec.line
	}
	c := &s.rawStart
	if c.b == nil || rec.raw.Path != c.path || rec.raw.SHA256 != c.sha256 {
		c.path, c.sha256 = rec.raw.Path, rec.raw.SHA256
		c.b = appendRawStart(c.b[:0], rec.raw)
	}
	b := append(append(s.scratch[:0], rec.line...), c.b...)
	s.scratch = append(appendRawEnd(b, rec.raw), '\n')
	return s.scratch
}

// dropPending discards every held record and the spill directory (a
// staging closed unfinished, or reopened). s.mu is held.
func (s *Staging) dropPending() {
	for _, u := range s.pending {
		u.discard()
	}
	clear(s.pending)
	s.held = 0
	os.RemoveAll(SpillDir(s.dir))
}
