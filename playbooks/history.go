package playbooks

import (
	"slices"
	"strings"

	"github.com/custos-ir/custos/collect"
)

// maxHistory is how many values of one field of one event type the
// analysis remembers per device.
const maxHistory = 64

// history remembers, per device, the values of the event fields that
// playbooks read through Earlier (declared in their earlier key), the
// most recent maxHistory of each.
type history struct {
	remember map[string][]string            // event type -> fields read later
	values   map[string]map[string][]string // device key -> "type.field" -> values, oldest first
}

func newHistory(pbs []*Playbook) *history {
	h := &history{remember: map[string][]string{}, values: map[string]map[string][]string{}}
	for _, p := range pbs {
		for _, e := range p.Earlier {
			typ, field, _ := strings.Cut(e, ".")
			if !slices.Contains(h.remember[typ], field) {
				h.remember[typ] = append(h.remember[typ], field)
			}
		}
	}
	return h
}

// recall remembers the fields of e that playbooks read later.
func (h *history) recall(e collect.Event) {
	for _, field := range h.remember[e.Type] {
		v, ok := e.Fields[field].(string)
		if !ok {
			continue
		}
		dev := h.values[e.DeviceKey]
		if dev == nil {
			dev = map[string][]string{}
			h.values[e.DeviceKey] = dev
		}
		k := e.Type + "." + field
		dev[k] = append(dev[k], v)
		if len(dev[k]) > maxHistory {
			dev[k] = dev[k][1:]
		}
	}
}
