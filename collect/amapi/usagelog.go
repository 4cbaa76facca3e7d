package amapi

import (
	"errors"
	"slices"
	"strings"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/jsonscan"
)

// parseUsageLogs decodes a BatchUsageLogEvents: its device and each of its
// usageLogEvents (the records point at /usageLogEvents/N). Member names
// match exactly, and where a member is repeated the last one counts, as a
// JSON pointer resolves it. An event that cannot be read is counted in
// ignored, not fatal; a batch that cannot be read is one ignored entry.
func parseUsageLogs(data []byte, ref collect.RawRef) ([]collect.Event, map[string]int) {
	unreadable := map[string]int{"USAGE_LOGS (unreadable)": 1}
	batch, err := jsonscan.Parse(data)
	if err != nil || !batch.IsObject() {
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
	var out []collect.Event
	var ignored map[string]int
	var nc names
	events.Elements(func(j int, raw jsonscan.Value) bool {
		nc.reset()
		ev, err := usageEvent(raw, &nc)
		if err != nil {
			if ignored == nil {
				ignored = map[string]int{}
			}
			ignored["usage log event (unreadable)"]++
			return true
		}
		ev.DeviceKey = key
		ev.Raw = child(ref, "usageLogEvents", j)
		out = append(out, ev)
		return true
	})
	return out, ignored
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

// usageEvent maps one UsageLogEvent: its type lower-cased, its time, its
// eventId, and its payload's members in snake case (APP_PROCESS_START's
// processInfo members at the top, nested objects' members prefixed with
// their parent's name and "_"). Where two members map to one field name,
// the later in the event counts; event_id is always the event's eventId.
func usageEvent(raw jsonscan.Value, nc *names) (collect.Event, error) {
	top, ok := objectMembers(raw, nc)
	if !ok {
		return collect.Event{}, errors.New("not an object")
	}
	kind := stringValue(lookup(top, "eventType"))
	t := parseTime(stringValue(lookup(top, "eventTime")))
	if kind == "" || t == nil {
		return collect.Event{}, errors.New("no eventType or eventTime")
	}
	k := nc.kind(kind)
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
	fields := make(map[string]any, len(payload)+1)
	if err := flatten(fields, "", payload, nc); err != nil {
		return collect.Event{}, err
	}
	fields["event_id"] = stringValue(lookup(top, "eventId"))
	return collect.Event{Time: *t, Type: k.lower, Fields: fields}, nil
}

// flatten copies ms into fields with snake-case names, nested objects'
// members prefixed by their parent's.
func flatten(fields map[string]any, prefix string, ms []member, nc *names) error {
	for _, m := range ms {
		name := m.name.snake
		if prefix != "" {
			name = prefix + name
		}
		if sub, isObj := objectMembers(m.value, nc); isObj {
			if err := flatten(fields, name+"_", sub, nc); err != nil {
				return err
			}
			continue
		}
		v, err := m.value.Decode()
		if err != nil {
			return err
		}
		fields[name] = v
	}
	return nil
}

// name is a member name and its snake-case form.
type name struct{ raw, snake string }

// names interns member names and the payload key of event types: a drain
// sees the same few dozen millions of times. One per goroutine.
type names struct {
	byRaw map[string]*name
	kinds map[string]kind
	arena []member // the members of the event being read
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
