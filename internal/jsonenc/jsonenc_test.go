package jsonenc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// reference is encoding/json's encoding of s, with or without HTML
// escaping.
func reference(s string, html bool) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

var seeds = []string{"", "plain", "abcdefgh<ijklmnop&qrstuvw>xyz", "quote\" back\\ nl\n\t\r\b\f", "\x00\x1f\x7f\xff\xfe",
	"\u2028\u2029", "System Update <img src=x onerror=alert(1)>", "Jérôme’s iPhone 😀", strings.Repeat("01234567", 4) + "\x01"}

func FuzzAppendString(f *testing.F) {
	for _, s := range seeds {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, html bool) {
		if got, want := AppendString([]byte("x"), s, html), append([]byte("x"), reference(s, html)...); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q, %v) = %s, want %s", s, html, got, want)
		}
	})
}

// FuzzAppendPlain checks that AppendPlain writes only what encoding/json
// would, and takes every ASCII string encoding/json writes as it is.
func FuzzAppendPlain(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := append([]byte("x"), reference(s, true)...)
		got, ok := AppendPlain([]byte("x"), []byte(s))
		if !ok {
			if string(got) != "x" {
				t.Fatalf("AppendPlain(%q) declined but wrote %q", s, got)
			}
			if string(want) == `x"`+s+`"` && isASCII(s) {
				t.Fatalf("AppendPlain(%q) declined a string encoding/json writes as it is", s)
			}
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendPlain(%q) = %s, want %s", s, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
