package amapi

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/jsonenc"
	"github.com/custos-ir/custos/internal/jsonscan"
	"github.com/custos-ir/custos/internal/rfc3339"
)

// parseUsageLogs decodes a BatchUsageLogEvents: its device and each of its
// usageLogEvents (the records point at /usageLogEvents/N). Member names
// match exactly, and where a member is repeated the last one counts, as a
// JSON pointer resolves it. An event that cannot be read is counted in
// ignored, not fatal; a batch that cannot be read is one ignored entry.
func parseUsageLogs(data []byte, ref collect.RawRef) ([]usageRecord, map[string]int) {
	batch, _ := jsonscan.Parse(data)
	return usageLogsOf(batch, ref)
}

// usageLogsOf is parseUsageLogs of data already parsed (batch is the zero
// Value for data that does not parse).
func usageLogsOf(batch jsonscan.Value, ref collect.RawRef) ([]usageRecord, map[string]int) {
	unreadable := map[string]int{"USAGE_LOGS (unreadable)": 1}
	if !batch.IsObject() {
		return nil, unreadable
	}
	var device string
	var events jsonscan.Value
	ok := true
	batch.Members(func(name string, v jsonscan.Value) bool {
		switch name {
		case "device":
			device = ""
			if v.Kind() != 'n' {
				device, ok = v.String()
			}
		case "usageLogEvents":
			events = v
		}
		return ok
	})
	if !ok || (events.Kind() != '[' && events.Kind() != 'n' && events.Kind() != 0) {
		return nil, unreadable
	}
	key := Name + ":" + lastSegment(device)
	var out []usageRecord
	var ignored map[string]int
	var nc names
	events.Elements(func(j int, raw jsonscan.Value) bool {
		nc.reset()
		ev, id, err := usageEvent(raw, key, &nc)
		if err != nil {
			if ignored == nil {
				ignored = map[string]int{}
			}
			ignored["usage log event (unreadable)"]++
			return true
		}
		ev.Raw = child(ref, "usageLogEvents", j)
		out = append(out, usageRecord{ev, id})
		return true
	})
	return out, ignored
}

// usageRecord is a usage-log event decoded, its fields encoded, and its
// eventId.
type usageRecord struct {
	collect.Event
	id string
}

// member is one member of a JSON object, by its name.
type member struct {
	name  *name
	value jsonscan.Value
}

// objectMembers returns the members of an object in order, a repeated
// name once, with its last value, where it last appears. False if v is
// not an object.
//
// The members are kept in nc's arena until nc.reset: an event's members
// take no allocation of their own.
func objectMembers(v jsonscan.Value, nc *names) ([]member, bool) {
	if !v.IsObject() {
		return nil, false
	}
	start := len(nc.arena)
	v.MemberNames(func(raw []byte, value jsonscan.Value) bool {
		nc.arena = append(nc.arena, member{nc.get(raw), value})
		return true
	})
	out := nc.arena[start:]
	// A repeated name keeps its last value, where it last appears. Small
	// objects are checked pair by pair; large ones (hostile input can
	// send tens of thousands of members) through a map, so the cost
	// stays linear.
	keep := out[:0]
	if len(out) <= 16 {
		for i, m := range out {
			if !slices.ContainsFunc(out[i+1:], func(x member) bool { return x.name.raw == m.name.raw }) {
				keep = append(keep, m)
			}
		}
	} else {
		last := make(map[string]int, len(out))
		for i, m := range out {
			last[m.name.raw] = i
		}
		for i, m := range out {
			if last[m.name.raw] == i {
				keep = append(keep, m)
			}
		}
	}
	nc.arena = nc.arena[:start+len(keep)]
	return nc.arena[start:len(nc.arena):len(nc.arena)], true
}

func lookup(ms []member, name string) jsonscan.Value {
	for _, m := range ms {
		if m.name.raw == name {
			return m.value
		}
	}
	return jsonscan.Value{}
}

func stringValue(v jsonscan.Value) string {
	s, _ := v.String()
	return s
}

// usageEvent maps one UsageLogEvent of the device key: its type
// lower-cased, its time, its eventId, and its payload's members in snake
// case (APP_PROCESS_START's processInfo members at the top, nested
// objects' members prefixed with their parent's name and "_"). Where two
// members map to one field name, the later in the event counts; event_id
// is always the event's eventId, also returned.
//
// The fields are encoded as they are read, as json.Marshal writes the map
// of them (FuzzUsageEventFields holds them to it): a drain builds no map
// for each of millions of events.
func usageEvent(raw jsonscan.Value, deviceKey string, nc *names) (collect.Event, string, error) {
	top, ok := objectMembers(raw, nc)
	if !ok {
		return collect.Event{}, "", errors.New("not an object")
	}
	k, known := nc.knownKind(lookup(top, "eventType"))
	t, ok := eventTime(lookup(top, "eventTime"))
	if !known || !ok {
		return collect.Event{}, "", errors.New("no eventType or eventTime")
	}
	payload, ok := objectMembers(lookup(top, k.payload), nc)
	if !ok {
		// A type newer than this code: take the first member, by name,
		// that is an object named like an event payload.
		slices.SortFunc(top, func(a, b member) int { return strings.Compare(a.name.raw, b.name.raw) })
		for _, m := range top {
			if strings.HasSuffix(m.name.raw, "Event") {
				if payload, ok = objectMembers(m.value, nc); ok {
					break
				}
			}
		}
	}
	if len(payload) == 1 && payload[0].name.raw == "processInfo" {
		if pi, isObj := objectMembers(payload[0].value, nc); isObj {
			payload = pi
		}
	}
	nc.fields = nc.fields[:0]
	nc.flatten("", payload)
	id := stringValue(lookup(top, "eventId"))
	fields, err := nc.encodeFields(id)
	if err != nil {
		return collect.Event{}, "", err
	}
	return collect.Event{DeviceKey: deviceKey, Time: t, Type: k.lower}.WithEncodedFields(fields), id, nil
}

// eventTime reads an eventTime as parseTime does, the form Google writes
// (2026-11-26T09:00:00.123456789Z) without making a string of it.
func eventTime(v jsonscan.Value) (time.Time, bool) {
	if b, plain := v.PlainString(); plain {
		if t, ok := rfc3339.ParseUTC(b); ok && t.Year() > 1 {
			return t, true
		}
	}
	return slowEventTime(v)
}

// slowEventTime reads any eventTime parseTime reads.
func slowEventTime(v jsonscan.Value) (time.Time, bool) {
	if t := parseTime(stringValue(v)); t != nil {
		return *t, true
	}
	return time.Time{}, false
}

// field is one field of the event being read: its name and value.
type field struct {
	name  string
	value jsonscan.Value
}

// flatten adds ms to the fields with snake-case names, nested objects'
// members prefixed by their parent's.
func (nc *names) flatten(prefix string, ms []member) {
	for _, m := range ms {
		name := m.name.snake
		if prefix != "" {
			name = prefix + name
		}
		if sub, isObj := objectMembers(m.value, nc); isObj {
			nc.flatten(name+"_", sub)
			continue
		}
		nc.fields = append(nc.fields, field{name, m.value})
	}
}

// encodeFields writes the fields, and event_id, as json.Marshal writes a
// map[string]any of them: names sorted, the last value of a name kept,
// values as decoding and encoding again would give them. The result is
// valid until the next call.
func (nc *names) encodeFields(id string) ([]byte, error) {
	fs := nc.fields
	slices.SortStableFunc(fs, func(a, b field) int { return strings.Compare(a.name, b.name) })
	b := append(nc.buf[:0], '{')
	name := func(n string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(jsonenc.AppendString(b, n, true), ':')
	}
	idDone := false
	for i, f := range fs {
		if i+1 < len(fs) && fs[i+1].name == f.name || f.name == "event_id" {
			continue // a later value counts; event_id is the event's
		}
		if !idDone && f.name > "event_id" {
			name("event_id")
			b, idDone = jsonenc.AppendString(b, id, true), true
		}
		name(f.name)
		var err error
		if b, err = appendField(b, f.value); err != nil {
			return nil, err
		}
	}
	if !idDone {
		name("event_id")
		b = jsonenc.AppendString(b, id, true)
	}
	nc.buf = append(b, '}')
	return nc.buf, nil
}

// appendField appends a field's value as json.Marshal writes what
// decoding it gives: plain strings and whole numbers as they are, the
// rest decoded and encoded.
func appendField(b []byte, v jsonscan.Value) ([]byte, error) {
	switch v.Kind() {
	case '"':
		if raw, ok := v.PlainString(); ok {
			if out, ok := jsonenc.AppendPlain(b, raw); ok {
				return out, nil
			}
		}
		s, _ := v.String()
		return jsonenc.AppendString(b, s, true), nil
	case 't', 'f', 'n':
		return append(b, v.Bytes()...), nil
	case '[', '{':
	default:
		if lit := v.Bytes(); wholeLiteral(lit) {
			return append(b, lit...), nil
		}
	}
	d, err := v.Decode()
	if err != nil {
		return b, err
	}
	if out, ok := jsonenc.AppendValue(b, d); ok {
		return out, nil
	}
	// Nested deeper than the hand encoder goes: json.Marshal decides.
	data, err := json.Marshal(d)
	if err != nil {
		return b, err
	}
	return append(b, data...), nil
}

// wholeLiteral reports whether a number's text is an integer of at most
// 15 digits, which json.Marshal writes as it is once decoded to a float64.
func wholeLiteral(lit []byte) bool {
	digits := lit
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// name is a member name and its snake-case form.
type name struct{ raw, snake string }

// names interns member names and the payload key of event types: a drain
// sees the same few dozen millions of times. One per goroutine.
type names struct {
	byRaw  map[string]*name
	kinds  map[string]kind
	arena  []member // the members of the event being read
	fields []field  // its fields
	buf    []byte   // their encoding
}

// kind is an eventType's lower-case form and payload member.
type kind struct{ lower, payload string }

// reset empties the arena for the next event.
func (n *names) reset() { n.arena = n.arena[:0] }

// maxNames bounds the cache against hostile input naming members at
// random.
const maxNames = 4096

func (n *names) get(raw []byte) *name {
	if x, ok := n.byRaw[string(raw)]; ok {
		return x
	}
	x := &name{raw: string(raw)}
	x.snake = snake(x.raw)
	if n.byRaw == nil {
		n.byRaw = map[string]*name{}
	}
	if len(n.byRaw) < maxNames {
		n.byRaw[x.raw] = x
	}
	return x
}

// knownKind returns the forms of the eventType v, cached; false if v is
// not a string or is empty.
func (n *names) knownKind(v jsonscan.Value) (kind, bool) {
	if b, plain := v.PlainString(); plain && len(b) > 0 {
		if k, ok := n.kinds[string(b)]; ok {
			return k, true
		}
	}
	s := stringValue(v)
	return n.kind(s), s != ""
}

// kind returns the forms of an eventType, cached.
func (n *names) kind(eventType string) kind {
	if k, ok := n.kinds[eventType]; ok {
		return k
	}
	k := kind{lower: strings.ToLower(eventType), payload: payloadKey(eventType)}
	if n.kinds == nil {
		n.kinds = map[string]kind{}
	}
	if len(n.kinds) < maxNames {
		n.kinds[eventType] = k
	}
	return k
}

// snake turns camelCase into snake_case (apkSha256Hash → apk_sha256_hash).
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// payloadKey is the UsageLogEvent member holding an event type's payload:
// ADB_SHELL_COMMAND → adbShellCommandEvent.
func payloadKey(kind string) string {
	var b strings.Builder
	for i, w := range strings.Split(strings.ToLower(kind), "_") {
		if i > 0 && w != "" {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
	}
	return b.String() + "Event"
}
