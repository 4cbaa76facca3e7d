package jamf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Event types this source writes.
const (
	// EventMDMCommand is an MDM command Jamf Pro sent the device, with its
	// outcome: completed, pending or failed.
	EventMDMCommand = "mdm_command"
	// EventAdminAction is an audit entry of the device's management
	// history: an administrator's action on it.
	EventAdminAction = "admin_action"
)

// historySubset is what the source asks of the Classic management
// history: the commands and the audits, not the app, book and location
// history.
const historySubset = "ManagementCommands&Audits"

// commandGroups are the groups of management_commands, in the order read.
var commandGroups = []string{"completed", "pending", "failed"}

// command is one MDM command of the Classic history. Epochs are
// milliseconds.
type command struct {
	Name           text    `json:"name"`
	Status         text    `json:"status"`
	Error          text    `json:"error"`
	Username       text    `json:"username"`
	IssuedEpoch    epochMS `json:"issued_epoch"`
	IssuedUTC      text    `json:"issued_utc"`
	LastPushEpoch  epochMS `json:"last_push_epoch"`
	LastPushUTC    text    `json:"last_push_utc"`
	CompletedEpoch epochMS `json:"completed_epoch"`
	CompletedUTC   text    `json:"completed_utc"`
	FailedEpoch    epochMS `json:"failed_epoch"`
	FailedUTC      text    `json:"failed_utc"`
}

// audit is one audit entry of the Classic history.
type audit struct {
	Event         text    `json:"event"`
	Username      text    `json:"username"`
	DateTimeEpoch epochMS `json:"date_time_epoch"`
	DateTimeUTC   text    `json:"date_time_utc"`
}

// parseHistory reads one management history document (ref is where it is
// stored) into events: one mdm_command per command, dated when it
// completed, failed or (pending) was issued, and one admin_action per
// audit entry. Entries before since are left out (they stay in the raw
// response); entries without a time are kept, with the zero time.
func parseHistory(deviceKey string, since time.Time, body []byte, ref collect.RawRef) ([]collect.Event, error) {
	top, err := members(body, "mobile_device_history")
	if err != nil {
		return nil, err
	}
	h := top["mobile_device_history"]
	if h == nil {
		return nil, fmt.Errorf("no mobile_device_history")
	}
	m, err := members(h, "management_commands", "audits")
	if err != nil {
		return nil, fmt.Errorf("mobile_device_history: %w", err)
	}
	base := "/mobile_device_history"
	var out []collect.Event
	keep := func(e collect.Event) {
		if since.IsZero() || e.Time.IsZero() || !e.Time.Before(since) {
			out = append(out, e)
		}
	}
	if mc := m["management_commands"]; mc != nil {
		groups, err := members(mc, commandGroups...)
		if err != nil {
			return nil, fmt.Errorf("management_commands: %w", err)
		}
		for _, g := range commandGroups {
			for _, it := range items(groups[g], base+"/management_commands/"+g) {
				var c command
				if err := json.Unmarshal(it.raw, &c); err != nil {
					return nil, fmt.Errorf("%s: %w", it.ptr, err)
				}
				keep(c.event(deviceKey, g, at(ref, it.ptr)))
			}
		}
	}
	for _, it := range items(m["audits"], base+"/audits") {
		var a audit
		if err := json.Unmarshal(it.raw, &a); err != nil {
			return nil, fmt.Errorf("%s: %w", it.ptr, err)
		}
		keep(collect.Event{DeviceKey: deviceKey, Time: a.DateTimeEpoch.or(string(a.DateTimeUTC)), Type: EventAdminAction,
			Fields: map[string]any{"action": string(a.Event), "username": string(a.Username)}, Raw: at(ref, it.ptr)})
	}
	return out, nil
}

// event maps a command of group (completed, pending, failed).
func (c command) event(deviceKey, group string, raw collect.RawRef) collect.Event {
	issued := c.IssuedEpoch.or(string(c.IssuedUTC))
	completed := c.CompletedEpoch.or(string(c.CompletedUTC))
	failed := c.FailedEpoch.or(string(c.FailedUTC))
	push := c.LastPushEpoch.or(string(c.LastPushUTC))
	when := issued
	switch {
	case group == "completed" && !completed.IsZero():
		when = completed
	case group == "failed" && !failed.IsZero():
		when = failed
	case when.IsZero():
		when = push
	}
	fields := map[string]any{"command": string(c.Name), "status": group, "username": string(c.Username)}
	add := func(k, v string) {
		if v != "" {
			fields[k] = v
		}
	}
	if !strings.EqualFold(string(c.Status), group) {
		add("status_text", string(c.Status))
	}
	add("error", string(c.Error))
	for k, t := range map[string]time.Time{"issued": issued, "completed": completed, "failed": failed, "last_push": push} {
		if !t.IsZero() {
			fields[k] = t.Format(time.RFC3339Nano)
		}
	}
	return collect.Event{DeviceKey: deviceKey, Time: when, Type: EventMDMCommand, Fields: fields, Raw: raw}
}

// item is one entry of a history list and its JSON pointer.
type item struct {
	raw json.RawMessage
	ptr string
}

// items lists the entries of a history list at ptr. The Classic API's
// JSON, converted from its XML, gives a list as an array; an object
// wrapping it ({"audit": [...]}, or {"audit": {...}} for a list of one) is
// read too. Anything else holds no entries.
func items(raw json.RawMessage, ptr string) []item {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	var arr []json.RawMessage
	if raw[0] == '[' && json.Unmarshal(raw, &arr) == nil {
		out := make([]item, 0, len(arr))
		for i, v := range arr {
			if isObject(v) { // null and other values hold no entry
				out = append(out, item{v, ptr + "/" + strconv.Itoa(i)})
			}
		}
		return out
	}
	var obj map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil || len(obj) != 1 {
		return nil
	}
	for k, v := range obj {
		v = bytes.TrimSpace(v)
		p := ptr + "/" + escapePointer(k)
		switch {
		case len(v) > 0 && v[0] == '[':
			return items(v, p)
		case len(v) > 0 && v[0] == '{':
			return []item{{v, p}}
		}
	}
	return nil
}

// isObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// escapePointer escapes a member name as an RFC 6901 reference token.
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// at is ref pointing at ptr.
func at(ref collect.RawRef, ptr string) collect.RawRef {
	ref.Pointer = ptr
	return ref
}

// epochMS is a Classic API epoch in milliseconds, given as a number or a
// string of digits; 0 when absent or unreadable.
type epochMS int64

func (e *epochMS) UnmarshalJSON(b []byte) error {
	*e = 0
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && n <= maxEpochMS {
		*e = epochMS(n)
	}
	return nil
}

// maxEpochMS is the last millisecond of year 9999, the last a record's
// time can hold.
const maxEpochMS = 253402300799999

// or returns the epoch as a time, else the time utc reads as
// ("2024-06-10T08:00:05.000+0000"), else the zero time.
func (e epochMS) or(utc string) time.Time {
	if e > 0 {
		return time.UnixMilli(int64(e)).UTC()
	}
	if t := parseTime(utc); t != nil {
		return *t
	}
	return time.Time{}
}
