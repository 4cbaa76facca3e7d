package collect

import (
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
	b, ok := appendEventHead(dst, e)
	if !ok {
		return dst, false
	}
	return appendEventRaw(b, e.Raw), true
}

// appendEventHead appends what appendEvent writes before the raw
// reference, which is last.
func appendEventHead(dst []byte, e Event) ([]byte, bool) {
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
		if b, ok = jsonenc.AppendValue(b, e.Fields); !ok {
			return dst[:n], false
		}
	}
	return b, true
}

// appendEventRaw appends the rest of an event's JSON after its head: the
// raw reference.
func appendEventRaw(b []byte, r RawRef) []byte {
	return appendRawEnd(appendRawStart(b, r), r)
}

// appendRawStart appends the raw reference up to its pointer, which is
// all that differs between the events of one raw file.
func appendRawStart(b []byte, r RawRef) []byte {
	b = append(b, `,"raw":{"path":`...)
	b = jsonenc.AppendString(b, r.Path, true)
	b = append(b, `,"sha256":`...)
	b = jsonenc.AppendString(b, r.SHA256, true)
	return append(b, `,"pointer":`...)
}

// appendRawEnd appends the rest of an event's JSON after appendRawStart.
func appendRawEnd(b []byte, r RawRef) []byte {
	b = jsonenc.AppendString(b, r.Pointer, true)
	return append(b, "}}"...)
}
