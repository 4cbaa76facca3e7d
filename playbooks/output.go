package playbooks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
	}
	var arrays []array
	if a.Devices != nil {
		head.Devices = []DeviceSummary{}
		arrays = append(arrays, array{"devices", len(a.Devices), func(i int) any { return &a.Devices[i] }})
	}
	if a.Findings != nil {
		head.Findings = []Finding{}
		arrays = append(arrays, array{"findings", len(a.Findings), func(i int) any { return &a.Findings[i] }})
	}
	if a.Coverage != nil {
		head.Coverage = []Coverage{}
		arrays = append(arrays, array{"coverage", len(a.Coverage), func(i int) any { return &a.Coverage[i] }})
	}
	if a.Gaps != nil {
		head.Gaps = a.Gaps[:0:0]
		arrays = append(arrays, array{"gaps", len(a.Gaps), func(i int) any { return &a.Gaps[i] }})
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
			for k := range arr.n {
				e, err := json.MarshalIndent(arr.elem(k), "    ", "  ")
				if err != nil {
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
