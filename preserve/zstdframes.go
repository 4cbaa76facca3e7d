package preserve

// A strict scanner for the zstd container (RFC 8878 §3.1). The zstd decoder
// is lenient in ways that matter for evidence: it decodes concatenated
// frames as one stream and silently skips skippable frames, so bytes could
// be added to an archive without changing what the tar reader sees. The
// scanner watches the compressed bytes on their way to the decoder and
// accepts exactly what custos writes: one zstd frame, without a dictionary,
// with a content checksum, and nothing after it.

import (
	"encoding/binary"
	"fmt"
)

const (
	zstdMagic          = 0xFD2FB528
	zstdSkippableMagic = 0x184D2A50 // 0x184D2A50..0x184D2A5F
	zstdSkippableMask  = 0xFFFFFFF0
	zstdMaxBlock       = 128 << 10 // Block_Maximum_Size never exceeds this

	// maxZstdWindow bounds the decoder's history buffer, and so verify's
	// memory. Seal writes small windows (sealZstdWindow; klauspost's
	// default is 8 MiB); a frame declaring more than this is refused
	// before the decoder allocates for it.
	maxZstdWindow = 32 << 20
)

type zstdState int

const (
	zsMagic       zstdState = iota // the frame's magic number
	zsDescriptor                   // Frame_Header_Descriptor
	zsHeader                       // window descriptor, dictionary id, content size
	zsBlockHeader                  // 3-byte block header
	zsBlockBody                    // block content being skipped
	zsChecksum                     // 4-byte content checksum
	zsTrailing                     // after the frame: nothing may follow
)

// frameScanner is an io.Writer fed with the compressed bytes in order. It
// never fails a Write (so it can sit in a tee next to the hashes); the first
// violation is kept and returned by Err, and Close reports a frame that is
// incomplete. It holds a few bytes of state whatever the input size.
type frameScanner struct {
	maxWindow uint64

	state    zstdState
	field    [14]byte // bytes of the fixed-size field being read
	have     int      // bytes of field read so far
	need     int      // length of the field
	fieldOff int64    // offset of the field's first byte
	off      int64    // bytes seen

	descriptor byte
	blockMax   uint64
	skip       uint64 // bytes of the current block body still to skip
	last       bool   // the current block is the frame's last
	block      int    // number of the current block, from 1
	err        error
}

func newFrameScanner(maxWindow uint64) *frameScanner {
	return &frameScanner{maxWindow: maxWindow, state: zsMagic, need: 4}
}

// Err returns the first violation seen so far.
func (s *frameScanner) Err() error { return s.err }

func (s *frameScanner) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf(format, args...)
	}
}

// Write consumes p. It always reports success.
func (s *frameScanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && s.err == nil {
		if s.state == zsBlockBody {
			k := min(uint64(len(p)), s.skip)
			s.skip -= k
			s.off += int64(k)
			p = p[k:]
			if s.skip == 0 {
				s.endBlock()
			}
			continue
		}
		if s.have == 0 {
			s.fieldOff = s.off
		}
		k := min(len(p), s.need-s.have)
		copy(s.field[s.have:], p[:k])
		s.have += k
		s.off += int64(k)
		p = p[k:]
		if s.have == s.need {
			s.have = 0
			s.parseField(s.field[:s.need])
		}
	}
	s.off += int64(len(p)) // ignored after a violation; keeps offsets honest
	return n, nil
}

// parseField handles a complete fixed-size field.
func (s *frameScanner) parseField(b []byte) {
	switch s.state {
	case zsMagic:
		switch m := binary.LittleEndian.Uint32(b); {
		case m == zstdMagic:
			s.state, s.need = zsDescriptor, 1
		case m&zstdSkippableMask == zstdSkippableMagic:
			s.fail("skippable frame at offset 0 (a custos archive is exactly one zstd frame)")
		default:
			s.fail("not a zstd frame: magic number %08x at offset 0", m)
		}
	case zsDescriptor:
		d := b[0]
		single := d&0x20 != 0
		switch {
		case d&0x08 != 0:
			s.fail("frame header descriptor %#02x has the reserved bit set", d)
			return
		case d&0x10 != 0:
			s.fail("frame header descriptor %#02x has the unused bit set (custos never sets it)", d)
			return
		case d&0x03 != 0:
			s.fail("frame names a dictionary (custos never uses one)")
			return
		case d&0x04 == 0:
			s.fail("frame has no content checksum (custos always writes one)")
			return
		}
		s.descriptor = d
		s.need = fcsFieldSize(d)
		if !single {
			s.need++ // Window_Descriptor
		}
		s.state = zsHeader
	case zsHeader:
		var window uint64
		fcsBytes := b
		if s.descriptor&0x20 == 0 {
			exp, mantissa := uint64(b[0]>>3), uint64(b[0]&7)
			base := uint64(1) << (10 + exp)
			window = base + base/8*mantissa
			fcsBytes = b[1:]
		}
		var fcs uint64
		switch len(fcsBytes) {
		case 1:
			fcs = uint64(fcsBytes[0])
		case 2:
			fcs = uint64(binary.LittleEndian.Uint16(fcsBytes)) + 256
		case 4:
			fcs = uint64(binary.LittleEndian.Uint32(fcsBytes))
		case 8:
			fcs = binary.LittleEndian.Uint64(fcsBytes)
		}
		if s.descriptor&0x20 != 0 {
			window = fcs // Single_Segment: the window is the whole content
		}
		if window > s.maxWindow {
			s.fail("frame declares a window of %d bytes, more than the %d a custos archive uses (refused to bound memory)", window, s.maxWindow)
			return
		}
		s.blockMax = min(window, zstdMaxBlock)
		s.state, s.need = zsBlockHeader, 3
	case zsBlockHeader:
		h := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		s.block++
		s.last = h&1 != 0
		size := uint64(h >> 3)
		switch typ := (h >> 1) & 3; typ {
		case 0: // Raw_Block
			s.skip = size
		case 1: // RLE_Block: one byte repeated size times
			s.skip = 1
		case 2: // Compressed_Block
			s.skip = size
		default:
			s.fail("block %d at offset %d has the reserved block type", s.block, s.fieldOff)
			return
		}
		if size > s.blockMax {
			s.fail("block %d at offset %d is %d bytes, more than the frame's maximum of %d", s.block, s.fieldOff, size, s.blockMax)
			return
		}
		s.state = zsBlockBody
		if s.skip == 0 {
			s.endBlock()
		}
	case zsChecksum:
		s.state, s.need = zsTrailing, 4
	case zsTrailing:
		s.failTrailing(b)
	}
}

func (s *frameScanner) endBlock() {
	if s.last {
		s.state, s.need = zsChecksum, 4
	} else {
		s.state, s.need = zsBlockHeader, 3
	}
}

// failTrailing describes bytes after the end of the frame.
func (s *frameScanner) failTrailing(b []byte) {
	if len(b) == 4 {
		switch m := binary.LittleEndian.Uint32(b); {
		case m == zstdMagic:
			s.fail("second zstd frame at offset %d (a custos archive is exactly one frame)", s.fieldOff)
			return
		case m&zstdSkippableMask == zstdSkippableMagic:
			s.fail("skippable frame at offset %d after the zstd frame (a custos archive is exactly one frame)", s.fieldOff)
			return
		}
	}
	s.fail("data at offset %d after the end of the zstd frame", s.fieldOff)
}

// Close reports the final verdict once all input has been written: the
// first violation, or an error if the input stopped before the end of the
// frame, or nil.
func (s *frameScanner) Close() error {
	if s.err != nil {
		return s.err
	}
	part := ""
	switch s.state {
	case zsMagic:
		if s.off == 0 {
			return fmt.Errorf("empty: no zstd frame")
		}
		part = "magic number"
	case zsDescriptor, zsHeader:
		part = "frame header"
	case zsBlockHeader:
		part = fmt.Sprintf("header of block %d", s.block+1)
	case zsBlockBody:
		part = fmt.Sprintf("block %d", s.block)
	case zsChecksum:
		part = "content checksum"
	case zsTrailing:
		if s.have > 0 {
			s.failTrailing(s.field[:s.have])
		}
		return s.err
	}
	return fmt.Errorf("truncated: the data ends at offset %d inside the zstd %s", s.off, part)
}

// fcsFieldSize returns the size of Frame_Content_Size for a frame header
// descriptor.
func fcsFieldSize(d byte) int {
	switch d >> 6 {
	case 0:
		if d&0x20 != 0 {
			return 1
		}
		return 0
	case 1:
		return 2
	case 2:
		return 4
	default:
		return 8
	}
}
