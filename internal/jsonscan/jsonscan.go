// Package jsonscan reads JSON from untrusted sources quickly, with the
// semantics of encoding/json: Value.Decode gives what json.Unmarshal into
// an interface value gives (float64 numbers, map[string]any objects whose
// duplicate members the last one wins, invalid UTF-8 and lone surrogates
// replaced by U+FFFD), and Valid agrees with json.Valid. Member names are
// matched exactly by callers of Members, never case-folded.
//
// It exists for the hot path of a usage-log drain, where encoding/json's
// reflection, its separate validation pass and its intermediate
// json.RawMessage copies cost more than the disk. The package's fuzz tests
// check it against encoding/json on arbitrary input.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// ErrSyntax is returned for input that is not one JSON value.
var ErrSyntax = errors.New("jsonscan: invalid JSON")

// ErrNumber is returned by Decode for a number float64 cannot hold.
var ErrNumber = errors.New("jsonscan: number out of range")

// Valid reports whether data is one JSON value, with optional
// surrounding whitespace.
func Valid(data []byte) bool {
	i := skipSpace(data, 0)
	end, err := skip(data, i, 0, nil)
	return err == nil && skipSpace(data, end) == len(data)
}

// Value is a JSON value known to be valid, without surrounding
// whitespace; only Parse makes one, so its methods do not check syntax
// again, and the ends of its objects and arrays, found while checking, are
// not searched for again either.
type Value struct {
	doc        *document
	start, end int32
	ti         int32 // for an object or array, its index in doc.tape
}

// document is the input of one Parse and where each of its objects and
// arrays ends.
type document struct {
	data []byte
	tape []span // every object and array, in the order they open
}

// span is where an object or array ends, and the index in the tape of the
// first container after it.
type span struct{ end, next int32 }

// MaxSize is the largest input Parse accepts.
const MaxSize = 1<<31 - 1

// ErrTooLarge is returned by Parse for an input larger than MaxSize.
var ErrTooLarge = errors.New("jsonscan: input larger than 2 GiB")

// Parse checks that data is one JSON value, with optional surrounding
// whitespace, and returns it.
func Parse(data []byte) (Value, error) { return new(Parser).Parse(data) }

// A Parser parses one input after another, reusing its memory: the
// Value a Parse returns is valid until the next.
type Parser struct{ doc document }

// Parse is Parse for data, reusing p's memory.
func (p *Parser) Parse(data []byte) (Value, error) {
	if len(data) > MaxSize {
		return Value{}, ErrTooLarge
	}
	i := skipSpace(data, 0)
	p.doc = document{data: data, tape: p.doc.tape[:0]}
	end, err := skip(data, i, 0, &p.doc.tape)
	if err != nil || skipSpace(data, end) != len(data) {
		return Value{}, ErrSyntax
	}
	return Value{doc: &p.doc, start: int32(i), end: int32(end)}, nil
}

// text is the value's bytes.
func (v Value) text() []byte {
	if v.doc == nil {
		return nil
	}
	return v.doc.data[v.start:v.end]
}

// child returns the value starting at doc.data[i], a member or element
// of v, and its end; ti is the tape index of the next container inside v,
// advanced past the child when the child is one.
func (v Value) child(i int, ti *int32) (Value, int) {
	data := v.doc.data
	switch data[i] {
	case '{', '[':
		sp := v.doc.tape[*ti]
		c := Value{doc: v.doc, start: int32(i), end: sp.end, ti: *ti}
		*ti = sp.next
		return c, int(sp.end)
	}
	end := skipValid(data, i)
	return Value{doc: v.doc, start: int32(i), end: int32(end)}, end
}

// Bytes returns the value's text.
func (v Value) Bytes() []byte { return v.text() }

// Kind is the value's first byte: '{', '[', '"', 't', 'f', 'n', or '-' or
// a digit for a number; 0 for the zero Value.
func (v Value) Kind() byte {
	if v.doc == nil {
		return 0
	}
	return v.doc.data[v.start]
}

// IsObject reports whether the value is an object.
func (v Value) IsObject() bool { return v.Kind() == '{' }

// Decode decodes the value as json.Unmarshal into an `any` would.
func (v Value) Decode() (any, error) {
	if v.doc == nil {
		return nil, ErrSyntax
	}
	d := decoder{data: v.text()}
	x := d.value(0)
	return x, d.err
}

// String returns the value of a string, and false for any other kind.
func (v Value) String() (string, bool) {
	if v.Kind() != '"' {
		return "", false
	}
	d := decoder{data: v.text()}
	return d.unquote(0, int(v.end-v.start)), true
}

// PlainString returns the bytes inside a string that holds no escapes and
// only ASCII (its text is its value), without copying them; false for any
// other string or kind.
func (v Value) PlainString() ([]byte, bool) {
	if v.Kind() != '"' {
		return nil, false
	}
	s := v.doc.data[v.start+1 : v.end-1]
	if hasByte(s, '\\') || !isASCII(s) {
		return nil, false
	}
	return s, true
}

// isASCII reports whether s is all ASCII, eight bytes at a time.
func isASCII(s []byte) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if binary.LittleEndian.Uint64(s[i:])&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Members calls fn with each member of an object, in order, until fn
// returns false. It does nothing for other kinds.
func (v Value) Members(fn func(name string, value Value) bool) {
	v.MemberNames(func(name []byte, value Value) bool { return fn(string(name), value) })
}

// MemberNames is Members with each name as bytes that are valid only
// during the call, sparing a string per member: a caller that keeps names
// interns them.
func (v Value) MemberNames(fn func(name []byte, value Value) bool) {
	if v.Kind() != '{' {
		return
	}
	data := v.doc.data
	i := skipSpace(data, int(v.start)+1)
	if data[i] == '}' {
		return
	}
	var scratch []byte
	ti := v.ti + 1
	for {
		end := stringEnd(data, i)
		name := data[i+1 : end-1]
		if hasByte(name, '\\') || !utf8.Valid(name) {
			scratch = appendUnquoted(scratch[:0], name)
			name = scratch
		}
		i = skipSpace(data, skipSpace(data, end)+1) // ':'
		value, vend := v.child(i, &ti)
		if !fn(name, value) {
			return
		}
		i = skipSpace(data, vend)
		if data[i] == '}' {
			return
		}
		i = skipSpace(data, i+1) // ','
	}
}

// Elements calls fn with each element of an array, in order, until fn
// returns false. It does nothing for other kinds.
func (v Value) Elements(fn func(i int, value Value) bool) {
	if v.Kind() != '[' {
		return
	}
	data := v.doc.data
	i := skipSpace(data, int(v.start)+1)
	if data[i] == ']' {
		return
	}
	ti := v.ti + 1
	for n := 0; ; n++ {
		value, end := v.child(i, &ti)
		if !fn(n, value) {
			return
		}
		i = skipSpace(data, end)
		if data[i] == ']' {
			return
		}
		i = skipSpace(data, i+1)
	}
}

// skipValid returns the end of the string, literal or number starting at
// data[i], which is known to be valid (an object's or array's end is on
// the tape).
func skipValid(data []byte, i int) int {
	switch data[i] {
	case '"':
		return stringEnd(data, i)
	case 't', 'n':
		return i + 4
	case 'f':
		return i + 5
	}
	for i < len(data) && (isDigit(data[i]) || data[i] == '-' || data[i] == '+' || data[i] == '.' || data[i] == 'e' || data[i] == 'E') {
		i++
	}
	return i
}

// stringEnd returns the end of the valid string starting at data[i].
func stringEnd(data []byte, i int) int {
	i++
	for {
		j := bytes.IndexByte(data[i:], '"')
		i += j
		k := i
		for data[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			return i + 1
		}
		i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// skip returns the end of the value starting at data[i], checking its
// syntax.
func skip(data []byte, i, depth int, tape *[]span) (int, error) {
	if i >= len(data) {
		return 0, ErrSyntax
	}
	switch c := data[i]; {
	case c == '"':
		return skipString(data, i)
	case c == '{' || c == '[':
		if depth+1 > maxDepth {
			return 0, ErrSyntax
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		ti := -1
		if tape != nil {
			ti = len(*tape)
			*tape = append(*tape, span{})
		}
		done := func(end int) (int, error) {
			if tape != nil {
				(*tape)[ti] = span{end: int32(end), next: int32(len(*tape))}
			}
			return end, nil
		}
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == closing {
			return done(i + 1)
		}
		for {
			var err error
			if closing == '}' {
				if i >= len(data) || data[i] != '"' {
					return 0, ErrSyntax
				}
				if i, err = skipString(data, i); err != nil {
					return 0, err
				}
				i = skipSpace(data, i)
				if i >= len(data) || data[i] != ':' {
					return 0, ErrSyntax
				}
				i = skipSpace(data, i+1)
			}
			if i, err = skip(data, i, depth+1, tape); err != nil {
				return 0, err
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return 0, ErrSyntax
			}
			if data[i] == closing {
				return done(i + 1)
			}
			if data[i] != ',' {
				return 0, ErrSyntax
			}
			i = skipSpace(data, i+1)
		}
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(data, i)
	case c == 't':
		return literal(data, i, "true")
	case c == 'f':
		return literal(data, i, "false")
	case c == 'n':
		return literal(data, i, "null")
	}
	return 0, ErrSyntax
}

func literal(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return 0, ErrSyntax
	}
	return i + len(lit), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipNumber(data []byte, i int) (int, error) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		return 0, ErrSyntax
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || !isDigit(data[i]) {
			return 0, ErrSyntax
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return 0, ErrSyntax
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	return i, nil
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// plain marks the bytes a string holds as they are: not a quote, a
// backslash or a control character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasZeroByte is non-zero when a byte of x is zero.
func hasZeroByte(x uint64) uint64 { return (x - lsb) & ^x & msb }

// hasLessByte is non-zero when a byte of x is less than n (n ≤ 128).
func hasLessByte(x uint64, n uint64) uint64 { return (x - lsb*n) & ^x & msb }

// skipString returns the end of the string starting at data[i] (a quote),
// checking its syntax.
func skipString(data []byte, i int) (int, error) {
	i++
	for {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character, then byte by byte.
		for i+8 <= len(data) {
			x := binary.LittleEndian.Uint64(data[i:])
			if hasZeroByte(x^(lsb*'"'))|hasZeroByte(x^(lsb*'\\'))|hasLessByte(x, 0x20) != 0 {
				break
			}
			i += 8
		}
		for i < len(data) && plain[data[i]] {
			i++
		}
		if i >= len(data) {
			return 0, ErrSyntax
		}
		switch data[i] {
		case '"':
			return i + 1, nil
		case '\\':
			if i+1 >= len(data) {
				return 0, ErrSyntax
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(data)-i < 6 || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
					return 0, ErrSyntax
				}
				i += 6
			default:
				return 0, ErrSyntax
			}
		default: // a control character
			return 0, ErrSyntax
		}
	}
}

// decoder builds values from input already known to be valid.
type decoder struct {
	data []byte
	err  error
}

func (d *decoder) value(i int) any {
	v, _ := d.valueAt(i)
	return v
}

// valueAt decodes the value at data[i] and returns it and its end.
func (d *decoder) valueAt(i int) (any, int) {
	data := d.data
	switch c := data[i]; c {
	case '"':
		end := stringEnd(data, i)
		return d.unquote(i, end), end
	case '{':
		m := map[string]any{}
		i = skipSpace(data, i+1)
		if data[i] == '}' {
			return m, i + 1
		}
		for {
			end := stringEnd(data, i)
			name := d.unquote(i, end)
			i = skipSpace(data, skipSpace(data, end)+1)
			var v any
			v, i = d.valueAt(i)
			m[name] = v
			i = skipSpace(data, i)
			if data[i] == '}' {
				return m, i + 1
			}
			i = skipSpace(data, i+1)
		}
	case '[':
		a := []any{}
		i = skipSpace(data, i+1)
		if data[i] == ']' {
			return a, i + 1
		}
		for {
			var v any
			v, i = d.valueAt(i)
			a = append(a, v)
			i = skipSpace(data, i)
			if data[i] == ']' {
				return a, i + 1
			}
			i = skipSpace(data, i+1)
		}
	case 't':
		return true, i + 4
	case 'f':
		return false, i + 5
	case 'n':
		return nil, i + 4
	}
	end := skipValid(data, i)
	f, err := strconv.ParseFloat(string(data[i:end]), 64)
	if err != nil {
		// As encoding/json: the value is dropped, decoding goes on and
		// the error is returned at the end.
		if d.err == nil {
			d.err = ErrNumber
		}
		return nil, end
	}
	return f, end
}

// unquote returns the string data[start:end] (with its quotes) holds.
func (d *decoder) unquote(start, end int) string {
	s := d.data[start+1 : end-1]
	if !hasByte(s, '\\') && utf8.Valid(s) {
		return string(s)
	}
	return string(appendUnquoted(make([]byte, 0, len(s)+8), s))
}

// appendUnquoted appends the text of s, the inside of a valid string.
func appendUnquoted(b, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			switch s[r+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := hex4(s[r+2 : r+6])
				r += 6
				if utf16.IsSurrogate(rr) {
					if len(s)-r >= 6 && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[r+2:r+6])); dec != utf8.RuneError {
							r += 6
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // " \ /
				b = append(b, s[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			if rr == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[r:r+size]...)
			}
			r += size
		}
	}
	return b
}

func hasByte(s []byte, c byte) bool { return bytes.IndexByte(s, c) >= 0 }

func hex4(s []byte) rune {
	var r rune
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
