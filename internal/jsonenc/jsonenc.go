// Package jsonenc writes JSON strings, numbers and decoded values byte
// for byte as encoding/json does, without reflection, for the hand-written encoders of hot paths
// (event records, the simulators' responses). Fuzz tests hold it to
// encoding/json.
package jsonenc

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// htmlSafe marks the ASCII bytes encoding/json writes unescaped.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plainWord reports whether all eight bytes of s are ASCII that
// encoding/json writes unescaped.
func plainWord(s string) bool {
	return plain(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
}

// plain reports whether all eight bytes of x are ASCII that encoding/json
// writes unescaped.
func plain(x uint64) bool {
	zero := func(v uint64) uint64 { return (v - lsb) & ^v & msb }
	bad := x&msb | (x-lsb*0x20)&^x&msb | zero(x^(lsb*'"')) | zero(x^(lsb*'\\')) |
		zero(x^(lsb*'<')) | zero(x^(lsb*'>')) | zero(x^(lsb*'&'))
	return bad == 0
}

// AppendPlain appends s as a JSON string when encoding/json writes it as
// it is, with html escaping: quoted, every byte printable ASCII other than
// ", \, <, > and &. Otherwise it returns b unchanged and false, and the
// caller decodes s and calls AppendString.
func AppendPlain(b []byte, s []byte) ([]byte, bool) {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if !plain(binary.LittleEndian.Uint64(s[i:])) {
			return b, false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !htmlSafe[c] {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// AppendString appends s as a JSON string the way encoding/json does:
// quotes, backslashes and control characters escaped, invalid UTF-8 as
// U+FFFD, U+2028 and U+2029 escaped, and with html (json.Marshal's
// default) <, > and & escaped too.
func AppendString(b []byte, s string, html bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while all are written as they are.
		for i+8 <= len(s) && plainWord(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			if htmlSafe[c] || (!html && (c == '<' || c == '>' || c == '&')) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendValue appends v as json.Marshal would: v is what decoding JSON
// into an any yields (string, float64, bool, nil, []any, map[string]any),
// or int or int64. False for another type or a value json.Marshal
// refuses (NaN, infinities, nesting deeper than 64).
func AppendValue(b []byte, v any) ([]byte, bool) { return appendValue(b, v, 0) }

func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	if depth > 64 {
		return b, false
	}
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return AppendString(b, v, true), true
	case bool:
		return strconv.AppendBool(b, v), true
	case float64:
		return AppendFloat(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case []any:
		if v == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendValue(b, x, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		if v == nil {
			return append(b, "null"...), true
		}
		var buf [16]string
		keys := buf[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendString(b, k, true)
			b = append(b, ':')
			var ok bool
			if b, ok = appendValue(b, v[k], depth+1); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	return b, false
}

// AppendFloat appends f as encoding/json does (ES6 number formatting);
// false for NaN and infinities, which it refuses.
func AppendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	// Whole numbers (ids, ports, counts) as integers: the same digits as
	// the 'f' format, faster.
	if f == math.Trunc(f) && math.Abs(f) < 1e15 && !(f == 0 && math.Signbit(f)) {
		return strconv.AppendInt(b, int64(f), 10), true
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
