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
