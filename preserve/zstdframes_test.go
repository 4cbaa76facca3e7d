package preserve

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// zmagic returns a frame's magic number and header descriptor plus rest.
func zframe(desc byte, rest ...byte) []byte {
	return append([]byte{0x28, 0xb5, 0x2f, 0xfd, desc}, rest...)
}

// zblock returns a block header.
func zblock(last bool, typ, size int) []byte {
	h := uint32(size)<<3 | uint32(typ)<<1
	if last {
		h |= 1
	}
	return []byte{byte(h), byte(h >> 8), byte(h >> 16)}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// A frame as custos writes it: checksum flag, 8 MiB window, no dictionary,
// no content size.
var (
	zhdr8M   = zframe(0x04, 0x68)
	zsum     = []byte{1, 2, 3, 4}
	zminimal = cat(zhdr8M, zblock(true, 0, 3), []byte("abc"), zsum)
)

func scanAll(data []byte, chunk int) error {
	s := newFrameScanner(maxZstdWindow)
	for len(data) > 0 {
		n := min(chunk, len(data))
		s.Write(data[:n])
		data = data[n:]
	}
	return s.Close()
}

func encodeZstd(t testing.TB, data []byte, opts ...zstd.EOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, opts...)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFrameScannerAccepts(t *testing.T) {
	big := bytes.Repeat([]byte("custos evidence "), 1<<16) // 1 MiB: several blocks
	noise := make([]byte, 300<<10)
	for i := range noise {
		noise[i] = byte(i*7919 + i>>8*31)
	}
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
	for name, data := range map[string][]byte{
		"minimal raw block":  zminimal,
		"RLE block":          cat(zhdr8M, zblock(false, 1, 1000), []byte{'x'}, zblock(true, 0, 0), zsum),
		"content size 2":     cat(zframe(0x44, 0x68, 0x00, 0x01), zblock(true, 0, 1), []byte("a"), zsum),
		"single segment":     cat(zframe(0x24, 3), zblock(true, 0, 3), []byte("abc"), zsum),
		"streamed":           encodeZstd(t, big, zstd.WithEncoderCRC(true), zstd.WithEncoderConcurrency(1)),
		"streamed noise":     encodeZstd(t, noise, zstd.WithEncoderCRC(true), zstd.WithEncoderConcurrency(1)),
		"EncodeAll":          enc.EncodeAll([]byte("small"), nil),
		"EncodeAll 1 MiB":    enc.EncodeAll(big, nil),
		"best compression":   encodeZstd(t, big, zstd.WithEncoderCRC(true), zstd.WithEncoderLevel(zstd.SpeedBestCompression)),
		"concurrent encoder": encodeZstd(t, big, zstd.WithEncoderCRC(true), zstd.WithEncoderConcurrency(4)),
		"concurrent blocks":  encodeZstd(t, big, zstd.WithEncoderCRC(true), zstd.WithEncoderConcurrency(2), zstd.WithConcurrentBlocks(true), zstd.WithWindowSize(1<<20)),
	} {
		for _, chunk := range []int{1, 3, 4096, len(data)} {
			if err := scanAll(data, chunk); err != nil {
				t.Errorf("%s (chunks of %d): %v", name, chunk, err)
			}
		}
	}
}

func TestFrameScannerRejects(t *testing.T) {
	window2T := zframe(0x04, 31<<3)
	fcsHuge := make([]byte, 8)
	binary.LittleEndian.PutUint64(fcsHuge, 1<<40)
	skippable := cat([]byte{0x50, 0x2a, 0x4d, 0x18}, []byte{4, 0, 0, 0}, []byte("note"))
	empty, _ := zstd.NewWriter(nil)
	emptyFrame := empty.EncodeAll(nil, nil)
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty: no zstd frame"},
		{"not zstd", []byte("ustar\x00 and more"), "not a zstd frame: magic number 61747375 at offset 0"},
		{"skippable first", cat(skippable, zminimal), "skippable frame at offset 0 (a custos archive is exactly one zstd frame)"},
		{"reserved bit", cat(zframe(0x0c, 0x68), zblock(true, 0, 0), zsum), "frame header descriptor 0x0c has the reserved bit set"},
		{"unused bit", cat(zframe(0x14, 0x68), zblock(true, 0, 0), zsum), "frame header descriptor 0x14 has the unused bit set (custos never sets it)"},
		{"dictionary", cat(zframe(0x05, 0x68, 7), zblock(true, 0, 0), zsum), "frame names a dictionary (custos never uses one)"},
		{"no checksum", cat(zframe(0x00, 0x68), zblock(true, 0, 3), []byte("abc")), "frame has no content checksum (custos always writes one)"},
		{"huge window", cat(window2T, zblock(true, 0, 0), zsum), "frame declares a window of 2199023255552 bytes, more than the 33554432 a custos archive uses (refused to bound memory)"},
		{"huge single segment", cat(zframe(0xe4, fcsHuge...), zblock(true, 0, 0), zsum), "frame declares a window of 1099511627776 bytes, more than the 33554432 a custos archive uses (refused to bound memory)"},
		{"window just over", cat(zframe(0x04, 15<<3|1), zblock(true, 0, 0), zsum), "frame declares a window of 37748736 bytes, more than the 33554432 a custos archive uses (refused to bound memory)"},
		{"reserved block", cat(zhdr8M, zblock(true, 3, 1), []byte("a"), zsum), "block 1 at offset 6 has the reserved block type"},
		{"block too large", cat(zhdr8M, zblock(true, 2, 128<<10+1)), "block 1 at offset 6 is 131073 bytes, more than the frame's maximum of 131072"},
		{"block larger than window", cat(zframe(0x24, 100), zblock(true, 0, 101)), "block 1 at offset 6 is 101 bytes, more than the frame's maximum of 100"},
		{"cut in magic", []byte{0x28, 0xb5}, "truncated: the data ends at offset 2 inside the zstd magic number"},
		{"cut in header", zframe(0x44, 0x68, 0x00), "truncated: the data ends at offset 7 inside the zstd frame header"},
		{"cut in block header", cat(zhdr8M, zblock(false, 0, 1), []byte("a"), []byte{1}), "truncated: the data ends at offset 11 inside the zstd header of block 2"},
		{"cut at block boundary", cat(zhdr8M, zblock(false, 0, 1), []byte("a")), "truncated: the data ends at offset 10 inside the zstd header of block 2"},
		{"cut in block", cat(zhdr8M, zblock(true, 0, 3), []byte("ab")), "truncated: the data ends at offset 11 inside the zstd block 1"},
		{"cut before checksum", cat(zhdr8M, zblock(true, 0, 3), []byte("abc")), "truncated: the data ends at offset 12 inside the zstd content checksum"},
		{"cut in checksum", cat(zhdr8M, zblock(true, 0, 3), []byte("abc"), zsum[:3]), "truncated: the data ends at offset 15 inside the zstd content checksum"},
		{"second frame", cat(zminimal, zminimal), "second zstd frame at offset 16 (a custos archive is exactly one frame)"},
		{"empty frame appended", cat(zminimal, emptyFrame), "second zstd frame at offset 16 (a custos archive is exactly one frame)"},
		{"skippable appended", cat(zminimal, skippable), "skippable frame at offset 16 after the zstd frame (a custos archive is exactly one frame)"},
		{"skippable appended, other id", cat(zminimal, []byte{0x5f, 0x2a, 0x4d, 0x18, 0, 0, 0, 0}), "skippable frame at offset 16 after the zstd frame (a custos archive is exactly one frame)"},
		{"trailing bytes", cat(zminimal, []byte("trailing")), "data at offset 16 after the end of the zstd frame"},
		{"one trailing zero", cat(zminimal, []byte{0}), "data at offset 16 after the end of the zstd frame"},
	} {
		for _, chunk := range []int{1, 5, 1 << 20} {
			err := scanAll(tc.data, chunk)
			if err == nil || err.Error() != tc.want {
				t.Errorf("%s (chunks of %d): got %v\nwant %s", tc.name, chunk, err, tc.want)
			}
		}
	}
}

// The scanner stops at the first violation and keeps it.
func TestFrameScannerKeepsFirstError(t *testing.T) {
	s := newFrameScanner(maxZstdWindow)
	s.Write(cat(zframe(0x00, 0x68)))
	first := s.Err()
	if first == nil || !strings.Contains(first.Error(), "no content checksum") {
		t.Fatalf("err = %v", first)
	}
	s.Write([]byte("more garbage"))
	if s.Err() != first || s.Close() != first {
		t.Errorf("error changed to %v", s.Close())
	}
}

// FuzzFrameScanner checks the scanner against the decoder's own header
// parser and against itself: it never panics, its verdict does not depend
// on how the input is split, it never accepts a frame the decoder would
// read with a dictionary, without a checksum or with a larger window, and
// it never accepts a strict prefix or an extension of an accepted input.
func FuzzFrameScanner(f *testing.F) {
	f.Add(zminimal, 1)
	f.Add(cat(zminimal, zminimal), 3)
	f.Add(cat(zframe(0x24, 3), zblock(true, 0, 3), []byte("abc"), zsum), 2)
	f.Add(encodeZstd(f, bytes.Repeat([]byte("abc"), 50000), zstd.WithEncoderCRC(true)), 7)
	f.Add(cat(zframe(0x04, 31<<3), zblock(true, 0, 0), zsum), 1)
	f.Add([]byte{0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0}, 4)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		chunk = 1 + abs(chunk)%64
		whole := scanAll(data, len(data)+1)
		if split := scanAll(data, chunk); (whole == nil) != (split == nil) || whole != nil && whole.Error() != split.Error() {
			t.Fatalf("verdict depends on chunking: %v vs %v", whole, split)
		}
		if whole != nil {
			return
		}
		var h zstd.Header
		if err := h.Decode(data); err != nil {
			t.Fatalf("accepted, but the decoder cannot read the header: %v", err)
		}
		if h.Skippable || !h.HasCheckSum || h.DictionaryID != 0 || h.WindowSize > maxZstdWindow {
			t.Fatalf("accepted header %+v", h)
		}
		if scanAll(data[:len(data)-1], chunk) == nil {
			t.Fatal("accepted a strict prefix of an accepted frame")
		}
		if scanAll(append(bytes.Clone(data), 0), chunk) == nil {
			t.Fatal("accepted a frame with a byte appended")
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
