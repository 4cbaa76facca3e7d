package collect

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/custos-ir/custos/internal/jsonenc"
)

// appendEvent appends the JSON of e exactly as json.Marshal writes it,
// without reflection: events are the bulk of a usage-log drain. It reports
// false, leaving dst as it was, when a field holds something other than
// what JSON decoding yields (string, float64, bool, nil, []any,
// map[string]any), int or int64, or when the time is
// outside what RFC 3339 can write; json.Marshal then decides.
func appendEvent(dst []byte, e Event) ([]byte, bool) {
	if y := e.Time.Year(); y < 0 || y > 9999 {
		return dst, false
	}
	if _, off := e.Time.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		return dst, false
	}
	n := len(dst)
	b := append(dst, `{"device_key":`...)
	b = jsonenc.AppendString(b, e.DeviceKey, true)
	b = append(b, `,"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","type":`...)
	b = jsonenc.AppendString(b, e.Type, true)
	if len(e.Fields) > 0 {
		b = append(b, `,"fields":`...)
		var ok bool
		if b, ok = appendValue(b, e.Fields, 0); !ok {
			return dst[:n], false
		}
	}
	b = append(b, `,"raw":{"path":`...)
	b = jsonenc.AppendString(b, e.Raw.Path, true)
	b = append(b, `,"sha256":`...)
	b = jsonenc.AppendString(b, e.Raw.SHA256, true)
	b = append(b, `,"pointer":`...)
	b = jsonenc.AppendString(b, e.Raw.Pointer, true)
	return append(b, "}}"...), true
}

// appendValue appends v as json.Marshal would; false for a type it does
// not handle or a value json.Marshal refuses.
func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	if depth > 64 {
		return b, false
	}
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return jsonenc.AppendString(b, v, true), true
	case bool:
		return strconv.AppendBool(b, v), true
	case float64:
		return appendFloat(b, v)
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
			b = jsonenc.AppendString(b, k, true)
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

// appendFloat writes f as encoding/json does (ES6 number formatting).
func appendFloat(b []byte, f float64) ([]byte, bool) {
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
