package jsonscan

import "encoding/binary"

// maxFlatDepth bounds the objects and arrays inside a flat object.
const maxFlatDepth = 3

// FlatMembers reads the object at the start of data when it is written as
// custos writes its records: no white space between tokens; member names
// and strings of printable ASCII without escapes; whole numbers; true and
// false; objects and arrays of the same kind, nested at most three deep.
// It calls fn with each member in order: kind '"' with a string's text
// (between the quotes), '0' with a whole number's, 't' or 'f' with a
// literal's, '{' with a nested object's, '[' with an array's. It returns
// where the object ends and true, or false as soon as data holds anything
// else (null, a fraction, an escape, white space, a byte over 0x7f, a
// syntax error) or fn returns false.
//
// Everything it accepts is valid JSON whose strings are their text, so a
// caller can read records this way and hand any other to a full parser.
func FlatMembers(data []byte, fn func(name []byte, kind byte, value []byte) bool) (end int, ok bool) {
	return flatObject(data, 0, 0, fn)
}

// FlatElements calls fn with each element of a flat array (a '[' value of
// FlatMembers), in order, as FlatMembers does with members; false if arr
// is not one or fn returns false.
func FlatElements(arr []byte, fn func(kind byte, value []byte) bool) bool {
	_, ok := flatArray(arr, 0, 0, fn)
	return ok
}

func flatObject(data []byte, i, depth int, fn func(name []byte, kind byte, value []byte) bool) (int, bool) {
	if i >= len(data) || data[i] != '{' {
		return 0, false
	}
	i++
	if i < len(data) && data[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return 0, false
		}
		end, ok := plainStringEnd(data, i+1)
		if !ok || end+1 >= len(data) || data[end+1] != ':' {
			return 0, false
		}
		name := data[i+1 : end]
		kind, text, next, ok := flatValue(data, end+2, depth)
		if !ok || fn != nil && !fn(name, kind, text) {
			return 0, false
		}
		if i = next; i >= len(data) {
			return 0, false
		}
		switch data[i] {
		case ',':
			i++
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

func flatArray(data []byte, i, depth int, fn func(kind byte, value []byte) bool) (int, bool) {
	if i >= len(data) || data[i] != '[' {
		return 0, false
	}
	i++
	if i < len(data) && data[i] == ']' {
		return i + 1, true
	}
	for {
		kind, text, next, ok := flatValue(data, i, depth)
		if !ok || fn != nil && !fn(kind, text) {
			return 0, false
		}
		if i = next; i >= len(data) {
			return 0, false
		}
		switch data[i] {
		case ',':
			i++
		case ']':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// flatValue reads the value starting at data[i], inside something at
// depth: its kind, the text fn is given, and where the value ends.
func flatValue(data []byte, i, depth int) (kind byte, text []byte, next int, ok bool) {
	if i >= len(data) {
		return 0, nil, 0, false
	}
	var end int
	switch c := data[i]; {
	case c == '"':
		if end, ok = plainStringEnd(data, i+1); !ok {
			return 0, nil, 0, false
		}
		return '"', data[i+1 : end], end + 1, true
	case c == '{' || c == '[':
		if depth+1 > maxFlatDepth {
			return 0, nil, 0, false
		}
		if c == '{' {
			end, ok = flatObject(data, i, depth+1, nil)
		} else {
			end, ok = flatArray(data, i, depth+1, nil)
		}
	case c == 't' || c == 'f':
		lit := "true"
		if c == 'f' {
			lit = "false"
		}
		if ok = len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit; ok {
			end = i + len(lit)
		}
	case c == '-' || isDigit(c):
		end, ok = wholeNumberEnd(data, i)
		c = '0'
		if !ok {
			return 0, nil, 0, false
		}
		return c, data[i:end], end, true
	}
	if !ok {
		return 0, nil, 0, false
	}
	return data[i], data[i:end], end, true
}

// plainStringEnd returns the index of the quote that ends the string whose
// text starts at data[i], when every byte before it is printable ASCII
// other than a backslash (0x20 to 0x7f); false otherwise.
func plainStringEnd(data []byte, i int) (int, bool) {
	for i+8 <= len(data) {
		x := binary.LittleEndian.Uint64(data[i:])
		if hasZeroByte(x^(lsb*'"'))|hasZeroByte(x^(lsb*'\\'))|hasLessByte(x, 0x20)|(x&msb) != 0 {
			break
		}
		i += 8
	}
	for ; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return 0, false
		}
	}
	return 0, false
}

// wholeNumberEnd returns the end of the whole number starting at data[i]
// (-?(0|[1-9][0-9]*)), false if it is not one or goes on as a fraction or
// exponent.
func wholeNumberEnd(data []byte, i int) (int, bool) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data) || !isDigit(data[i]):
		return 0, false
	case data[i] == '0':
		i++
	default:
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == '.' || data[i] == 'e' || data[i] == 'E') {
		return 0, false
	}
	return i, true
}
