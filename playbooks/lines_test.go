package playbooks

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// decodeLines hands every line to use in order with its number, long
// lines to tooLong, across chunk boundaries, with or without a last
// newline; a decoding error names its line; use can stop it.
func TestDecodeLines(t *testing.T) {
	var in strings.Builder
	var want []string
	long := map[int]bool{}
	for n := 1; n <= 5000; n++ {
		switch {
		case n%1000 == 7:
			in.WriteString(strings.Repeat("x", maxRecordLine+10) + "\n")
			long[n] = true
			want = append(want, fmt.Sprintf("%d:long", n))
		case n%700 == 3:
			line := fmt.Sprintf("%d:%s", n, strings.Repeat("y", chunkSize+100)) // a line larger than a chunk
			in.WriteString(line + "\n")
			want = append(want, line)
		default:
			line := fmt.Sprintf("%d:rec", n)
			in.WriteString(line + "\n")
			want = append(want, line)
		}
	}
	text := strings.TrimSuffix(in.String(), "\n") // no last newline
	decode := func(line []byte, recs []string, _ *interner) ([]string, error) {
		return append(recs, string(bytes.TrimSuffix(line, []byte("\n")))), nil
	}
	var got []string
	err := decodeLines(strings.NewReader(text), decode, func(n int, s *string) error {
		if !strings.HasPrefix(*s, fmt.Sprint(n)+":") {
			return fmt.Errorf("line %d handed as %.20q", n, *s)
		}
		got = append(got, *s)
		return nil
	}, func(n int) error {
		if !long[n] {
			return fmt.Errorf("line %d called too long", n)
		}
		got = append(got, fmt.Sprintf("%d:long", n))
		return nil
	})
	if err != nil || len(got) != len(want) {
		t.Fatalf("%d lines, %v; want %d", len(got), err, len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("line %d: %.30q, want %.30q", i+1, got[i], want[i])
		}
	}
	bad := func(line []byte, recs []string, in *interner) ([]string, error) {
		if bytes.HasPrefix(line, []byte("4242:")) {
			return recs, errors.New("bad record")
		}
		return decode(line, recs, in)
	}
	err = decodeLines(strings.NewReader(text), bad, func(int, *string) error { return nil }, func(int) error { return nil })
	if err == nil || err.Error() != "line 4242: bad record" {
		t.Errorf("decoding error: %v", err)
	}
	stop := errors.New("stop")
	seen := 0
	err = decodeLines(strings.NewReader(text), decode, func(n int, _ *string) error {
		seen++
		if n == 10 {
			return stop
		}
		return nil
	}, func(int) error { return nil })
	if !errors.Is(err, stop) || seen != 9 { // line 7 is too long
		t.Errorf("stopped after %d lines: %v", seen, err)
	}
	if err := decodeLines(strings.NewReader(""), decode, func(int, *string) error { t.Error("a record from nothing"); return nil }, nil); err != nil {
		t.Error(err)
	}
}

// Chunks are reused once used: across many chunks, each record is still
// its own line's, whether a line gives no record, one or two.
func TestDecodeLinesReusesChunks(t *testing.T) {
	var in strings.Builder
	const lines = 200_000 // about 40 chunks
	for n := 1; n <= lines; n++ {
		fmt.Fprintf(&in, "%d:%s\n", n, strings.Repeat("z", n%50))
	}
	decode := func(line []byte, recs []string, _ *interner) ([]string, error) {
		s := string(bytes.TrimSuffix(line, []byte("\n")))
		switch n := len(s) % 3; n {
		case 0:
			return recs, nil
		case 1:
			return append(recs, s), nil
		default:
			return append(recs, s, s+"!"), nil
		}
	}
	var want, got []string
	for n := 1; n <= lines; n++ {
		want, _ = decode(fmt.Appendf(nil, "%d:%s\n", n, strings.Repeat("z", n%50)), want, nil)
	}
	err := decodeLines(strings.NewReader(in.String()), decode, func(n int, s *string) error {
		if !strings.HasPrefix(*s, fmt.Sprint(n)+":") {
			return fmt.Errorf("line %d handed as %.20q", n, *s)
		}
		got = append(got, *s)
		return nil
	}, nil)
	if err != nil || len(got) != len(want) {
		t.Fatalf("%d records, %v; want %d", len(got), err, len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("record %d: %q, want %q", i, got[i], want[i])
		}
	}
}
