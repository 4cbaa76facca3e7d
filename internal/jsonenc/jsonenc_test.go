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
