package playbooks

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"sync"

	"github.com/custos-ir/custos/internal/jsonscan"
)

// chunkSize is how many bytes of whole lines a worker decodes at once.
const chunkSize = 256 << 10

// A chunk is a run of whole lines, decoded by a worker into recs; ready is
// closed when it is. The lines numbered first onwards.
type chunk[T any] struct {
	first int
	data  []byte
	over  []int // lines longer than maxRecordLine, skipped (their numbers)
	recs  []T
	lines []int // the line number of each rec
	err   error
	ready chan struct{}
}

// decodeLines reads r's lines in chunks, decodes the chunks on every core
// (decode appends the records of one line to recs) and hands the records
// to use in order, on the calling goroutine; a record is valid during
// use only (its memory is reused). A line longer than maxRecordLine goes
// to tooLong instead, not held. Decoding runs a few chunks ahead of use,
// and no further.
func decodeLines[T any](r io.Reader, decode func(line []byte, recs []T, in *interner) ([]T, error), use func(n int, rec *T) error, tooLong func(n int) error) error {
	workers := runtime.GOMAXPROCS(0)
	work := make(chan *chunk[T])
	ordered := make(chan *chunk[T], 2*workers)
	stop := make(chan struct{})
	// Chunks are reused once used: their bytes and records are most of
	// what reading millions of records would allocate. At most
	// len(ordered) + workers + 2 are in flight.
	free := make(chan *chunk[T], cap(ordered)+workers+2)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			in := newInterner()
			for c := range work {
				c.err = c.decode(decode, in)
				close(c.ready)
			}
		})
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(work)
		readErr <- splitChunks(r, free, func(c *chunk[T]) bool {
			c.ready = make(chan struct{})
			select {
			case ordered <- c:
			case <-stop:
				return false
			}
			select {
			case work <- c:
				return true
			case <-stop:
				close(c.ready)
				return false
			}
		})
	}()
	err := func() error {
		for c := range ordered {
			<-c.ready
			if c.err != nil {
				return c.err
			}
			over := c.over
			for i := range c.recs {
				for len(over) > 0 && over[0] < c.lines[i] {
					if err := tooLong(over[0]); err != nil {
						return err
					}
					over = over[1:]
				}
				if err := use(c.lines[i], &c.recs[i]); err != nil {
					return err
				}
			}
			for _, n := range over {
				if err := tooLong(n); err != nil {
					return err
				}
			}
			select {
			case free <- c:
			default:
			}
		}
		return nil
	}()
	close(stop)
	for range ordered {
		// drained: the reader stops at its next chunk
	}
	wg.Wait()
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	return err
}

// decode decodes the chunk's lines.
func (c *chunk[T]) decode(decode func([]byte, []T, *interner) ([]T, error), in *interner) error {
	n := c.first
	data, over := c.data, c.over
	for len(data) > 0 {
		for len(over) > 0 && over[0] == n {
			n++ // skipped: no bytes in data
			over = over[1:]
		}
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		before := len(c.recs)
		var err error
		if c.recs, err = decode(line, c.recs, in); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		for range len(c.recs) - before {
			c.lines = append(c.lines, n)
		}
		n++
	}
	return nil
}

// splitChunks reads r and calls emit with chunks of whole lines, in
// order, until r ends or emit returns false. It takes the chunks from
// free where it can.
func splitChunks[T any](r io.Reader, free chan *chunk[T], emit func(*chunk[T]) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	n := 1
	for {
		var c *chunk[T]
		select {
		case c = <-free:
			clear(c.recs) // what they point at is not kept alive
			*c = chunk[T]{data: c.data[:0], over: c.over[:0], recs: c.recs[:0], lines: c.lines[:0]}
		default:
			c = &chunk[T]{data: make([]byte, 0, chunkSize+4096)}
		}
		c.first = n
		for len(c.data) < chunkSize {
			start := len(c.data)
			over := false
			var err error
			for {
				var part []byte
				part, err = br.ReadSlice('\n')
				if !over && len(c.data)-start+len(part) > maxRecordLine {
					over = true
					c.data = c.data[:start]
				}
				if !over {
					c.data = append(c.data, part...)
				}
				if errors.Is(err, bufio.ErrBufferFull) {
					continue
				}
				break
			}
			if over {
				c.over = append(c.over, n)
				n++
			} else if len(c.data) > start {
				n++
			}
			if errors.Is(err, io.EOF) {
				if len(c.data) > 0 || len(c.over) > 0 {
					emit(c)
				}
				return nil
			}
			if err != nil {
				return err
			}
		}
		if !emit(c) {
			return nil
		}
	}
}

// internSlots is the size of an interner's table.
const internSlots = 4096

// interner hands out one string for equal text: the records of an
// archive repeat device keys, raw file names and digests, app names and
// versions, and a string for each would be most of what decoding them
// allocates. A direct-mapped table: text whose slot holds other text
// replaces it. One per goroutine.
type interner struct {
	seed   maphash.Seed
	slots  [internSlots]string
	parser jsonscan.Parser  // and a parser whose memory is reused
	rec    *recordEvaluator // and the goroutine's, when it evaluates apps (evalApps)
}

// parse parses one record line; the Value is valid until the next.
func (in *interner) parse(line []byte) (jsonscan.Value, error) {
	if in == nil {
		return jsonscan.Parse(line)
	}
	return in.parser.Parse(line)
}

func newInterner() *interner { return &interner{seed: maphash.MakeSeed()} }

// str returns v's string, interned when it is plain.
func (in *interner) str(v jsonscan.Value) (string, bool) {
	b, plain := v.PlainString()
	if !plain || in == nil {
		return v.String()
	}
	return in.text(b), true
}

// text returns b as a string, interned.
func (in *interner) text(b []byte) string {
	if in == nil {
		return string(b)
	}
	slot := &in.slots[maphash.Bytes(in.seed, b)%internSlots]
	if *slot != string(b) {
		*slot = string(b)
	}
	return *slot
}
