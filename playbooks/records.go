package playbooks

import (
	"bytes"
	"strconv"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/jsonscan"
	"github.com/custos-ir/custos/internal/rfc3339"
)

// An analysis reads millions of app and event records. decodeApp and
// decodeEvent read them as decodeRecord does (encoding/json, strict),
// through a fast path for records as custos writes them: exact member
// names, each once, plain values. Anything else (a member it does not
// know, a null, a name in another case, a time in another form) goes to
// decodeRecord, which decides. FuzzDecodeApp and FuzzDecodeEvent hold the
// fast path to decodeRecord.

// decodeApp decodes an app record line.
func decodeApp(line []byte, a *collect.App, in *interner) error {
	if fastApp(line, a, in) {
		return nil
	}
	*a = collect.App{}
	return decodeRecord(line, a)
}

// decodeEvent decodes an event record line. With reads, the fields and
// raw reference of an event whose type it does not read are left out:
// checked to be JSON objects, not decoded.
func decodeEvent(line []byte, e *collect.Event, in *interner, reads func(eventType string) bool) error {
	if fastEvent(line, e, in, reads) {
		return nil
	}
	*e = collect.Event{}
	return decodeRecord(line, e)
}

func fastApp(line []byte, a *collect.App, in *interner) bool {
	if flatApp(line, a, in) {
		return true
	}
	doc, err := in.parse(line)
	if err != nil || !doc.IsObject() {
		return false
	}
	*a = collect.App{}
	var seen uint32
	ok := true
	doc.MemberNames(func(name []byte, v jsonscan.Value) bool {
		dst, bit := appMember(a, name)
		switch bit {
		case 0:
			ok = false
		case appManaged:
			b, isBool := boolValue(v)
			a.Managed, ok = &b, isBool
		case appPrevalence:
			a.Prevalence, ok = intValue(v)
		case appRaw:
			ok = fastRawRef(v, &a.Raw, in)
		case appDeviceRef:
			a.DeviceRef = &collect.RawRef{}
			ok = fastRawRef(v, a.DeviceRef, in)
		}
		if dst != nil {
			*dst, ok = in.str(v)
		}
		if seen&bit != 0 {
			ok = false // repeated: encoding/json decides
		}
		seen |= bit
		return ok
	})
	return ok
}

func fastEvent(line []byte, e *collect.Event, in *interner, reads func(string) bool) bool {
	if flatEvent(line, e, in, reads) {
		return true
	}
	doc, err := in.parse(line)
	if err != nil || !doc.IsObject() {
		return false
	}
	*e = collect.Event{}
	var seen uint32
	ok, unread := true, false
	doc.MemberNames(func(name []byte, v jsonscan.Value) bool {
		var bit uint32
		switch string(name) {
		case "device_key":
			bit = 1 << 0
			e.DeviceKey, ok = in.str(v)
		case "time":
			bit = 1 << 1
			var b []byte
			if b, ok = v.PlainString(); ok {
				e.Time, ok = rfc3339.ParseUTC(b)
			}
		case "type":
			bit = 1 << 2
			e.Type, ok = in.str(v)
			unread = ok && reads != nil && !reads(e.Type)
		case "fields":
			bit = 1 << 3
			if ok = v.IsObject(); ok && unread {
				break // read by no playbook: not decoded
			}
			if ok {
				var f any
				f, err = v.Decode()
				e.Fields, _ = f.(map[string]any)
				ok = err == nil
			}
		case "raw":
			bit = 1 << 4
			if unread {
				ok = v.IsObject() // nothing cites the event
			} else {
				ok = fastRawRef(v, &e.Raw, in)
			}
		default:
			ok = false
		}
		if seen&bit != 0 {
			ok = false
		}
		seen |= bit
		return ok
	})
	return ok
}

// Bits of the app record members that are not strings (appMember).
const (
	appManaged uint32 = 1 << (12 + iota)
	appPrevalence
	appRaw
	appDeviceRef
)

// appMember maps a member of an app record to its bit (a record holds each
// member once) and, for a string member, the field it fills; bit 0 for a
// member an App does not have. fastApp and flatApp read the values.
func appMember(a *collect.App, name []byte) (*string, uint32) {
	switch string(name) {
	case "device_key":
		return &a.DeviceKey, 1 << 0
	case "app_id":
		return &a.AppID, 1 << 1
	case "source_app_id":
		return &a.SourceAppID, 1 << 2
	case "name":
		return &a.Name, 1 << 3
	case "version":
		return &a.Version, 1 << 4
	case "publisher":
		return &a.Publisher, 1 << 5
	case "install_source":
		return &a.InstallSource, 1 << 6
	case "installer":
		return &a.Installer, 1 << 7
	case "apk_sha256":
		return &a.APKSHA256, 1 << 8
	case "signing_cert_sha1":
		return &a.SigningCertSHA1, 1 << 9
	case "signing_cert_sha256":
		return &a.SigningCertSHA256, 1 << 10
	case "state":
		return &a.State, 1 << 11
	case "managed":
		return nil, appManaged
	case "prevalence":
		return nil, appPrevalence
	case "raw":
		return nil, appRaw
	case "device_ref":
		return nil, appDeviceRef
	}
	return nil, 0
}

// rawRefMember maps a member of a raw reference to its bit and field; bit
// 0 for another member.
func rawRefMember(r *collect.RawRef, name []byte) (*string, uint32) {
	switch string(name) {
	case "path":
		return &r.Path, 1 << 0
	case "sha256":
		return &r.SHA256, 1 << 1
	case "pointer":
		return &r.Pointer, 1 << 2
	}
	return nil, 0
}

// flatApp reads an app record as custos writes it (jsonscan.FlatMembers:
// compact, plain strings), in one pass over the line; false for any other.
func flatApp(line []byte, a *collect.App, in *interner) bool {
	*a = collect.App{}
	var seen uint32
	end, ok := jsonscan.FlatMembers(line, func(name []byte, kind byte, v []byte) bool {
		dst, bit := appMember(a, name)
		switch bit {
		case 0:
			return false
		case appManaged:
			if kind != 't' && kind != 'f' {
				return false
			}
			b := kind == 't'
			a.Managed = &b
		case appPrevalence:
			n, err := strconv.Atoi(string(v))
			if kind != '0' || err != nil {
				return false
			}
			a.Prevalence = n
		case appRaw:
			if kind != '{' || !flatRawRef(v, &a.Raw, in) {
				return false
			}
		case appDeviceRef:
			a.DeviceRef = &collect.RawRef{}
			if kind != '{' || !flatRawRef(v, a.DeviceRef, in) {
				return false
			}
		}
		if dst != nil {
			if kind != '"' {
				return false
			}
			*dst = in.text(v)
		}
		if seen&bit != 0 {
			return false // repeated: encoding/json decides
		}
		seen |= bit
		return true
	})
	return ok && onlySpace(line[end:])
}

// flatEvent reads an event record as custos writes it
// (jsonscan.FlatMembers), in one pass over the line; false for any other.
func flatEvent(line []byte, e *collect.Event, in *interner, reads func(string) bool) bool {
	*e = collect.Event{}
	var seen uint32
	unread := false
	end, ok := jsonscan.FlatMembers(line, func(name []byte, kind byte, v []byte) bool {
		var bit uint32
		ok := false
		switch string(name) {
		case "device_key":
			bit = 1 << 0
			if ok = kind == '"'; ok {
				e.DeviceKey = in.text(v)
			}
		case "time":
			bit = 1 << 1
			if ok = kind == '"'; ok {
				e.Time, ok = rfc3339.ParseUTC(v)
			}
		case "type":
			bit = 1 << 2
			if ok = kind == '"'; ok {
				e.Type = in.text(v)
				unread = reads != nil && !reads(e.Type)
			}
		case "fields":
			bit = 1 << 3
			if ok = kind == '{'; ok && !unread { // unread: valid, not decoded
				e.Fields, ok = flatObject(v, in)
			}
		case "raw":
			bit = 1 << 4
			if ok = kind == '{'; ok && !unread { // unread: nothing cites the event
				ok = flatRawRef(v, &e.Raw, in)
			}
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return ok
	})
	return ok && onlySpace(line[end:])
}

// flatObject decodes a flat object as encoding/json decodes it into an
// any; false if a number does not fit a float64.
func flatObject(obj []byte, in *interner) (map[string]any, bool) {
	m := map[string]any{}
	_, ok := jsonscan.FlatMembers(obj, func(name []byte, kind byte, v []byte) bool {
		x, ok := flatAny(kind, v, in)
		m[in.text(name)] = x // a repeated name: the last value, as encoding/json
		return ok
	})
	return m, ok
}

// flatAny decodes a value of a flat object.
func flatAny(kind byte, v []byte, in *interner) (any, bool) {
	switch kind {
	case '"':
		return in.text(v), true
	case '0':
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil
	case 't', 'f':
		return kind == 't', true
	case '{':
		return flatObject(v, in)
	case '[':
		out := []any{}
		ok := jsonscan.FlatElements(v, func(kind byte, v []byte) bool {
			x, ok := flatAny(kind, v, in)
			out = append(out, x)
			return ok
		})
		return out, ok
	}
	return nil, false
}

// flatRawRef reads a raw reference of a flat record: an object of the
// three strings.
func flatRawRef(obj []byte, r *collect.RawRef, in *interner) bool {
	var seen uint32
	_, ok := jsonscan.FlatMembers(obj, func(name []byte, kind byte, v []byte) bool {
		dst, bit := rawRefMember(r, name)
		if bit == 0 || kind != '"' {
			return false
		}
		if dst == &r.Pointer {
			*dst = string(v) // one for each record
		} else {
			*dst = in.text(v)
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
	return ok
}

// onlySpace reports whether b is JSON white space only.
func onlySpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// fastRawRef reads a raw reference: an object of the three strings.
func fastRawRef(v jsonscan.Value, r *collect.RawRef, in *interner) bool {
	if !v.IsObject() {
		return false
	}
	var seen uint32
	ok := true
	v.MemberNames(func(name []byte, v jsonscan.Value) bool {
		dst, bit := rawRefMember(r, name)
		if bit == 0 {
			ok = false
			return false
		}
		if dst == &r.Pointer {
			*dst, ok = v.String() // one for each record
		} else {
			*dst, ok = in.str(v)
		}
		if seen&bit != 0 {
			ok = false
		}
		seen |= bit
		return ok
	})
	return ok
}

func boolValue(v jsonscan.Value) (bool, bool) {
	switch v.Kind() {
	case 't':
		return true, true
	case 'f':
		return false, true
	}
	return false, false
}

// intValue reads a whole number that fits an int, as encoding/json reads
// it into one.
func intValue(v jsonscan.Value) (int, bool) {
	if k := v.Kind(); k != '-' && (k < '0' || k > '9') {
		return 0, false
	}
	n, err := strconv.Atoi(string(v.Bytes()))
	return n, err == nil
}

// appCount is what counting an app record needs: its app id (the key is
// made from it when counted, in memory reused) or the app's key, and its
// device; or the record decoded where the line is not plain enough. The
// bytes are the line's, valid until the record is used.
type appCount struct {
	id, key, device []byte
	app             *collect.App
}

// countApp reads an app record line for the count, as CountApp counts
// it decoded: only the members the count needs (device key, app id, name,
// publisher) where they are plain strings; any other line is decoded.
func countApp(line []byte, recs []appCount, in *interner) ([]appCount, error) {
	if id, dev, ok := quickCount(line); ok {
		return append(recs, appCount{id: id, device: dev}), nil
	}
	doc, err := in.parse(line)
	if err == nil && doc.IsObject() {
		var dev, id, name, pub []byte
		var seen uint32
		ok := true
		var fields collect.App // only for appMember's bits
		doc.MemberNames(func(member []byte, v jsonscan.Value) bool {
			var dst *[]byte
			field, bit := appMember(&fields, member)
			switch {
			case bit == 0:
				ok = false
				return false
			case field == &fields.DeviceKey:
				dst = &dev
			case field == &fields.AppID:
				dst = &id
			case field == &fields.Name:
				dst = &name
			case field == &fields.Publisher:
				dst = &pub
			default:
				return true // decodeApp checks the others in the second pass
			}
			*dst, ok = v.PlainString()
			if seen&bit != 0 {
				ok = false
			}
			seen |= bit
			return ok
		})
		if ok {
			return append(recs, appCount{key: appendAppKey(nil, id, name, pub), device: dev}), nil
		}
	}
	var a collect.App
	if err := decodeApp(line, &a, in); err != nil {
		return recs, err
	}
	return append(recs, appCount{app: &a}), nil
}

// quickCount reads the device key and app id of an app record as custos
// writes it, where they are its first two members, plain ASCII strings,
// and no other member of the line has either name: the count needs no
// more, and the second pass decodes every record in full. False for any
// other line.
func quickCount(line []byte) (id, device []byte, ok bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"device_key":"`))
	if !ok {
		return nil, nil, false
	}
	if device, rest, ok = plainUntilQuote(rest); !ok {
		return nil, nil, false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"app_id":"`)); !ok {
		return nil, nil, false
	}
	if id, rest, ok = plainUntilQuote(rest); !ok || len(id) == 0 {
		return nil, nil, false
	}
	if namesEither(rest, "device_key", "app_id") {
		return nil, nil, false
	}
	return id, device, true
}

// namesEither reports whether a member name in s might be a or b in any
// case (encoding/json matches names case-insensitively, and a repeated
// member takes the last value). A name is a string followed by a colon,
// perhaps after whitespace; inside a string a quote is escaped. A false
// alarm only sends the line to the full decoder.
func namesEither(s []byte, a, b string) bool {
	for off := 0; off < len(s); {
		i := bytes.IndexByte(s[off:], ':')
		if i < 0 {
			return false
		}
		colon := off + i
		off = colon + 1
		end := colon
		for end > 0 && (s[end-1] == ' ' || s[end-1] == '\t' || s[end-1] == '\n' || s[end-1] == '\r') {
			end--
		}
		if end == 0 || s[end-1] != '"' {
			continue // a colon inside a string, or no name
		}
		end--
		start := bytes.LastIndexByte(s[:end], '"')
		if start < 0 {
			continue
		}
		name := s[start+1 : end]
		if bytes.IndexByte(name, '\\') >= 0 || bytes.EqualFold(name, []byte(a)) || bytes.EqualFold(name, []byte(b)) {
			return true // an escaped name might decode to either
		}
	}
	return false
}

// plainUntilQuote returns the bytes of s up to its first quote, when they
// are printable ASCII without a backslash, and what follows the quote.
func plainUntilQuote(s []byte) (text, rest []byte, ok bool) {
	i := bytes.IndexByte(s, '"')
	if i < 0 {
		return nil, nil, false
	}
	for _, c := range s[:i] {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return nil, nil, false
		}
	}
	return s[:i], s[i+1:], true
}

// add counts the app in fleet.
func (c *appCount) add(fleet *Fleet) {
	if c.app != nil {
		fleet.CountApp(*c.app)
		return
	}
	if c.id != nil {
		fleet.key = appendAppKey(fleet.key[:0], c.id, nil, nil)
		fleet.count(fleet.key, c.device)
		return
	}
	fleet.count(c.key, c.device)
}
