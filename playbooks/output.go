package playbooks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/custos-ir/custos/internal/jsonenc"
)

// WriteJSON writes a as a json.Encoder indenting by two spaces writes it,
// byte for byte, but its long arrays (devices, findings, coverage, gaps)
// element by element: an analysis of 100,000 devices has half a million
// coverage cells, and the whole document is never held in memory.
func (a *Analysis) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	head := *a
	type array struct {
		name string
		n    int
		elem func(i int) any
		// write, when set, appends element i as elem would marshal it
		// indented: the long arrays of flat records.
		write func(b []byte, i int) []byte
	}
	var arrays []array
	if a.Devices != nil {
		head.Devices = []DeviceSummary{}
		arrays = append(arrays, array{"devices", len(a.Devices), nil, func(b []byte, i int) []byte { return appendDevice(b, &a.Devices[i]) }})
	}
	if a.Findings != nil {
		head.Findings = []Finding{}
		arrays = append(arrays, array{"findings", len(a.Findings), func(i int) any { return &a.Findings[i] }, nil})
	}
	if a.Coverage != nil {
		head.Coverage = []Coverage{}
		arrays = append(arrays, array{"coverage", len(a.Coverage), nil, func(b []byte, i int) []byte { return appendCoverage(b, &a.Coverage[i]) }})
	}
	if a.Gaps != nil {
		head.Gaps = a.Gaps[:0:0]
		arrays = append(arrays, array{"gaps", len(a.Gaps), func(i int) any { return &a.Gaps[i] }, nil})
	}
	doc, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	for _, arr := range arrays {
		// The top-level member, with its array left empty.
		mark := []byte("\n  \"" + arr.name + "\": []")
		i := bytes.Index(doc, mark)
		if i < 0 {
			return fmt.Errorf("findings.json: no %s member", arr.name)
		}
		bw.Write(doc[:i+len(mark)-1])
		doc = doc[i+len(mark)-1:] // from the "]"
		if arr.n > 0 {
			bw.WriteString("\n")
			var e []byte
			for k := range arr.n {
				if arr.write != nil {
					e = arr.write(e[:0], k)
				} else if e, err = json.MarshalIndent(arr.elem(k), "    ", "  "); err != nil {
					return err
				}
				bw.WriteString("    ")
				bw.Write(e)
				if k < arr.n-1 {
					bw.WriteByte(',')
				}
				bw.WriteByte('\n')
			}
			bw.WriteString("  ")
		}
	}
	bw.Write(doc)
	bw.WriteByte('\n')
	return bw.Flush()
}

// An element of a top-level array, as json.MarshalIndent writes it with
// the prefix "    " and the indent "  ".
const (
	elemOpen  = "{"
	elemClose = "\n    }"
	memberPad = "\n      "
)

// appendMember appends a string member of an element; first says it is
// the first member written.
func appendMember(b []byte, first bool, name, value string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, memberPad...)
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, `": `...)
	return jsonenc.AppendString(b, value, true)
}

// appendCoverage appends c as json.MarshalIndent writes it.
func appendCoverage(b []byte, c *Coverage) []byte {
	b = append(b, elemOpen...)
	b = appendMember(b, true, "device", c.Device)
	b = appendMember(b, false, "technique", c.Technique)
	b = appendMember(b, false, "state", c.State)
	if c.Why != "" {
		b = appendMember(b, false, "why", c.Why)
	}
	return append(b, elemClose...)
}

// appendDevice appends d as json.MarshalIndent writes it.
func appendDevice(b []byte, d *DeviceSummary) []byte {
	b = append(b, elemOpen...)
	b = appendMember(b, true, "key", d.Key)
	b = appendMember(b, false, "name", d.Name)
	b = appendMember(b, false, "platform", d.Platform)
	if d.OSVersion != "" {
		b = appendMember(b, false, "os_version", d.OSVersion)
	}
	b = appendMember(b, false, "ownership", d.Ownership)
	b = appendMember(b, false, "compliance", d.Compliance)
	b = appendMember(b, false, "source", d.Source)
	for _, m := range [...]struct{ name, value string }{{"user", d.User}, {"serial", d.Serial}, {"last_seen_at", d.LastSeenAt}} {
		if m.value != "" {
			b = appendMember(b, false, m.name, m.value)
		}
	}
	b = appendMember(b, false, "archive_sha256", d.Archive)
	b = appendMember(b, false, "state", d.State)
	if len(d.SameDeviceAs) > 0 {
		b = append(b, ',')
		b = append(b, memberPad...)
		b = append(b, `"same_device_as": [`...)
		for i, k := range d.SameDeviceAs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, memberPad...)
			b = append(b, "  "...)
			b = jsonenc.AppendString(b, k, true)
		}
		b = append(b, memberPad...)
		b = append(b, ']')
	}
	return append(b, elemClose...)
}
