package report

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/custos-ir/custos/playbooks"
)

// The charts are drawn as inline SVG by the HTML template from the
// geometry computed here: numbers and labels only, which html/template
// escapes like any other text, and presentation attributes, which the
// report's Content-Security-Policy allows (style attributes it would not).

// TimelineEntry is one dated fact of the case: an event a finding rests
// on, a finding first or last seen, a custody entry.
type TimelineEntry struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"` // observation, finding, custody
	Device   string    `json:"device,omitempty"`
	Finding  string    `json:"finding,omitempty"`
	Severity string    `json:"severity,omitempty"`
	What     string    `json:"what"`
	Evidence string    `json:"evidence,omitempty"` // file in the archive, and pointer
	SHA256   string    `json:"sha256,omitempty"`   // of that file
}

// timeline lists the case's dated facts in time order.
func timeline(in Input, findings []playbooks.Finding) []TimelineEntry {
	var out []TimelineEntry
	for _, f := range findings {
		device := cmp.Or(f.DeviceName, f.Device)
		if len(f.Observations) > 0 {
			for _, o := range f.Observations {
				var facts []string
				for _, x := range o.Facts {
					if x.Value != "" {
						facts = append(facts, x.Label+": "+x.Value)
					}
				}
				what := o.Type
				if len(facts) > 0 {
					what += " — " + strings.Join(facts, "; ")
				}
				out = append(out, TimelineEntry{Time: o.Time.UTC(), Kind: "observation", Device: device, Finding: f.ID, Severity: o.Severity,
					What: what, Evidence: evidencePlace(o.Evidence), SHA256: o.Evidence.FileSHA256})
			}
			continue
		}
		if f.ObservedFrom == nil {
			continue
		}
		var ev playbooks.EvidenceRef
		if len(f.Evidence) > 0 {
			ev = f.Evidence[len(f.Evidence)-1]
		}
		out = append(out, TimelineEntry{Time: f.ObservedFrom.UTC(), Kind: "finding", Device: device, Finding: f.ID, Severity: f.Severity,
			What: f.Title + " (as last reported)", Evidence: evidencePlace(ev), SHA256: ev.FileSHA256})
	}
	for _, e := range in.Custody {
		what := e.Action + " by " + e.Actor
		if e.Archive != "" {
			what += ": " + e.Archive
		}
		out = append(out, TimelineEntry{Time: e.Time.UTC(), Kind: "custody", What: what, SHA256: e.ArchiveSHA256})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func evidencePlace(e playbooks.EvidenceRef) string {
	if e.Path == "" {
		return ""
	}
	if e.Pointer == "" {
		return e.Path
	}
	return e.Path + "#" + e.Pointer
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 720
	labelWidth  = 260
	barHeight   = 22
	barGap      = 8
	heatCell    = 96
	heatRowH    = 26
	timelineH   = 120
	timelineTop = 16
)

// BarChart is findings by technique, stacked by severity.
type BarChart struct {
	Width, Height int
	Rows          []BarRow
	Legend        []Segment
}

// BarRow is one technique's bar: Label is Full cut to fit beside it.
type BarRow struct {
	Label    string
	Full     string
	Y, TextY int
	Total    int
	Segments []Segment
}

// Segment is a piece of a bar (or a legend entry).
type Segment struct {
	Label       string
	X, W, N     int
	Y           int
	Fill        string
	Description string
}

var severityFill = map[string]string{"critical": "#6e0b0b", "high": "#b42318", "medium": "#b54708", "low": "#475467", "info": "#98a2b3"}

func findingsChart(groups []TechniqueGroup) BarChart {
	c := BarChart{Width: chartWidth}
	most := 1
	for _, g := range groups {
		most = max(most, len(g.Findings))
	}
	scale := float64(chartWidth-labelWidth-40) / float64(most)
	for i, g := range groups {
		y := i * (barHeight + barGap)
		full := g.ID + " " + g.Name
		row := BarRow{Label: truncate(full, 36), Full: full, Y: y, TextY: y + barHeight*2/3, Total: len(g.Findings)}
		x := labelWidth
		for k := len(playbooks.Severities) - 1; k >= 0; k-- {
			sev := playbooks.Severities[k]
			n := 0
			for _, f := range g.Findings {
				if f.Severity == sev {
					n++
				}
			}
			if n == 0 {
				continue
			}
			w := max(2, int(float64(n)*scale))
			row.Segments = append(row.Segments, Segment{Label: sev, X: x, W: w, N: n, Y: y, Fill: severityFill[sev],
				Description: fmt.Sprintf("%s: %d %s finding(s)", g.ID, n, sev)})
			x += w
		}
		c.Rows = append(c.Rows, row)
	}
	c.Height = len(groups)*(barHeight+barGap) + 30
	for k := len(playbooks.Severities) - 1; k >= 0; k-- {
		sev := playbooks.Severities[k]
		c.Legend = append(c.Legend, Segment{Label: sev, X: labelWidth + (len(playbooks.Severities)-1-k)*90, Y: c.Height - 14, Fill: severityFill[sev]})
	}
	return c
}

// HeatMap is coverage by device group (platform and source) and
// technique: the share of devices with a finding, observed clear, or not
// observable.
type HeatMap struct {
	Width, Height int
	Columns       []HeatColumn
	Rows          []HeatRow
}

// HeatColumn is a technique.
type HeatColumn struct {
	ID      string
	X, Text int
}

// HeatRow is a device group.
type HeatRow struct {
	Label   string
	Devices int
	Y, Text int
	Cells   []HeatCell
}

// HeatCell is one group's coverage of one technique.
type HeatCell struct {
	X, Y                          int
	Finding, Clear, NotObservable int
	Fill, Label, Description      string
}

// maxHeatRows bounds the groups drawn; the rest are summed in one row.
const maxHeatRows = 24

func heatMap(a *playbooks.Analysis) HeatMap {
	group := map[string]string{}
	size := map[string]int{}
	for _, d := range a.Devices {
		g := cmp.Or(d.Platform, "unknown") + " · " + cmp.Or(d.Source, "unknown")
		group[d.Key] = g
		size[g]++
	}
	var names []string
	for g := range size {
		names = append(names, g)
	}
	sort.Slice(names, func(i, j int) bool {
		return cmp.Or(cmp.Compare(size[names[j]], size[names[i]]), strings.Compare(names[i], names[j])) < 0
	})
	if len(names) > maxHeatRows {
		other := fmt.Sprintf("%d other groups", len(names)-maxHeatRows+1)
		rest := map[string]bool{}
		for _, g := range names[maxHeatRows-1:] {
			rest[g] = true
			size[other] += size[g]
		}
		for k, v := range group {
			if rest[v] {
				group[k] = other
			}
		}
		names = append(names[:maxHeatRows-1], other)
	}
	techs := playbooks.Techniques()
	h := HeatMap{Width: labelWidth + len(techs)*heatCell, Height: 30 + len(names)*heatRowH}
	col := map[string]int{}
	for i, t := range techs {
		col[t.ID] = i
		h.Columns = append(h.Columns, HeatColumn{ID: t.ID, X: labelWidth + i*heatCell, Text: labelWidth + i*heatCell + heatCell/2})
	}
	row := map[string]int{}
	for i, g := range names {
		y := 24 + i*heatRowH
		r := HeatRow{Label: g, Devices: size[g], Y: y, Text: y + heatRowH*2/3}
		for j := range techs {
			r.Cells = append(r.Cells, HeatCell{X: labelWidth + j*heatCell, Y: y})
		}
		row[g] = i
		h.Rows = append(h.Rows, r)
	}
	for _, c := range a.Coverage {
		i, ok := row[group[c.Device]]
		j, ok2 := col[c.Technique]
		if !ok || !ok2 {
			continue
		}
		cell := &h.Rows[i].Cells[j]
		switch c.State {
		case playbooks.StateFinding:
			cell.Finding++
		case playbooks.StateObservedClear:
			cell.Clear++
		default:
			cell.NotObservable++
		}
	}
	for i := range h.Rows {
		for j := range h.Rows[i].Cells {
			cell := &h.Rows[i].Cells[j]
			n := cell.Finding + cell.Clear + cell.NotObservable
			switch {
			case n == 0:
				cell.Fill, cell.Label = "#ffffff", "—"
			case cell.Finding > 0:
				cell.Fill, cell.Label = "#f4a39a", fmt.Sprintf("%d found", cell.Finding)
			case cell.NotObservable*2 >= n:
				cell.Fill, cell.Label = "#fde7a9", fmt.Sprintf("%d%% blind", cell.NotObservable*100/n)
			default:
				cell.Fill, cell.Label = "#cfe8d5", fmt.Sprintf("%d%% clear", cell.Clear*100/n)
			}
			cell.Description = fmt.Sprintf("%s × %s: %d with a finding, %d observed clear, %d not observable",
				h.Rows[i].Label, h.Columns[j].ID, cell.Finding, cell.Clear, cell.NotObservable)
		}
	}
	return h
}

// TimelineChart places the timeline's entries on one axis.
type TimelineChart struct {
	Width, Height int
	From, To      string
	Marks         []TimelineMark
	Ticks         []TimelineTick
}

// TimelineMark is one entry (or several at the same place).
type TimelineMark struct {
	X, Y        int
	Fill        string
	Description string
}

// TimelineTick is a labelled time on the axis.
type TimelineTick struct {
	X     int
	Label string
}

// maxTimelineMarks bounds the marks drawn: entries that fall on the same
// pixel and lane are drawn once.
const maxTimelineMarks = 2000

func timelineChart(all []TimelineEntry) TimelineChart {
	c := TimelineChart{Width: chartWidth, Height: timelineH + 30}
	var entries []TimelineEntry // a record without a time has no place on the axis
	for _, e := range all {
		if !e.Time.IsZero() {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return c
	}
	from, to := entries[0].Time, entries[len(entries)-1].Time
	c.From, c.To = utc(from), utc(to)
	span := float64(to.Sub(from)) // Sub saturates; a float does not overflow below
	if span <= 0 {
		span = float64(time.Second)
	}
	lanes := map[string]int{"custody": 0, "finding": 1, "observation": 2}
	left, width := 110, chartWidth-130
	// One mark per pixel and lane: the most severe entry that falls there,
	// with how many others share it.
	type slot struct{ x, y int }
	index := map[slot]int{}
	count := map[slot]int{}
	var marks []TimelineEntry
	for _, e := range entries {
		s := slot{left + int(float64(width)*float64(e.Time.Sub(from))/span), timelineTop + lanes[e.Kind]*36}
		count[s]++
		i, ok := index[s]
		switch {
		case !ok && len(marks) < maxTimelineMarks:
			index[s] = len(marks)
			marks = append(marks, e)
		case ok && severityRank(e.Severity) > severityRank(marks[i].Severity):
			marks[i] = e
		}
	}
	for s, i := range index {
		e := marks[i]
		desc := utc(e.Time) + " " + e.Kind + ": " + truncate(e.What, 160)
		if n := count[s]; n > 1 {
			desc += fmt.Sprintf(" (and %d more here)", n-1)
		}
		c.Marks = append(c.Marks, TimelineMark{X: s.x, Y: s.y, Fill: cmp.Or(severityFill[e.Severity], "#1f6feb"), Description: desc})
	}
	sort.Slice(c.Marks, func(i, j int) bool {
		return c.Marks[i].X < c.Marks[j].X || c.Marks[i].X == c.Marks[j].X && c.Marks[i].Y < c.Marks[j].Y
	})
	for i := range 5 {
		t := from.Add(time.Duration(span * float64(i) / 4))
		c.Ticks = append(c.Ticks, TimelineTick{X: left + width*i/4, Label: t.UTC().Format("2006-01-02 15:04")})
	}
	return c
}

// severityRank orders severities, unknown lowest.
func severityRank(s string) int { return slices.Index(playbooks.Severities, s) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// capList returns at most n of xs and how many more there were.
func capList(xs []string, n int) ([]string, int) {
	if len(xs) <= n {
		return xs, 0
	}
	return slices.Clip(xs[:n]), len(xs) - n
}
