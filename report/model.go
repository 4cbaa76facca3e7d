package report

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
)

// Input is everything a report is built from.
type Input struct {
	Case       preserve.CaseInfo
	Analysis   *playbooks.Analysis
	Custody    []preserve.CheckedEntry
	Head       preserve.Head
	CustodyErr string // verification problem of the custody log, if any
	// Acquisitions are the acquisition records (provenance) read back from
	// the archives, for the method: command line, sources, endpoints,
	// time window. AcquisitionNotes says which could not be read, and why.
	Acquisitions     []collect.Acquisition
	AcquisitionNotes []string
	Generated        time.Time
	Tool             string
}

// Model is the view model shared by every format, so each states the same
// facts.
type Model struct {
	Input
	Title        string
	Summary      Summary
	Groups       []TechniqueGroup
	Devices      []DeviceDetail
	GapGroups    []GapGroup
	Platforms    []Count
	Ownerships   []Count
	Sources      []Count
	TechCoverage []TechCoverage
	Response     playbooks.Response
	Notice       string
	Limits       []string

	// Timeline is every dated fact, oldest first (timeline.csv has them
	// all); TimelineShown the first maxTimelineRows of it, which the
	// HTML and Markdown reports list, and TimelineMore how many are left.
	Timeline      []TimelineEntry
	TimelineShown []TimelineEntry
	TimelineMore  int

	// Telemetry is what each source could observe.
	Telemetry []SourceTelemetry

	FindingsChart BarChart
	HeatMap       HeatMap
	TimelineChart TimelineChart
}

// Lists in the human reports are cut here: a fleet of 100,000 devices
// must still give a report a browser opens at once.
const (
	maxTimelineRows = 500
	maxGapDevices   = 25
)

// Summary holds the executive numbers.
type Summary struct {
	Devices            int      `json:"devices"`
	DevicesWithFinding int      `json:"devices_with_findings"`
	NotObservable      int      `json:"devices_not_observable"`
	Findings           int      `json:"findings"`
	ExecutionFindings  int      `json:"execution_findings"`
	ContextFindings    int      `json:"context_findings"`
	HighestSeverity    string   `json:"highest_severity,omitempty"`
	Decisions          []string `json:"decisions"`
}

// TechniqueGroup is the findings under one technique.
type TechniqueGroup struct {
	ID          string
	Name        string
	URL         string
	Modified    string
	Excerpt     string   // the start of ATT&CK's description
	Mitigations []string // "M1002 Attestation", …
	Findings    []playbooks.Finding
}

// excerpt is the first paragraph of an ATT&CK description, at most about
// 400 characters, without its citation markers.
func excerpt(desc string) string {
	p, _, _ := strings.Cut(strings.TrimSpace(desc), "\n")
	p = citation.ReplaceAllString(p, "")
	if len(p) > 400 {
		cut := strings.LastIndex(p[:400], " ")
		if cut < 200 {
			cut = 400
		}
		p = p[:cut] + " …"
	}
	return strings.TrimSpace(p)
}

// citation matches ATT&CK's "(Citation: …)" markers.
var citation = regexp.MustCompile(`\s*\(Citation:[^)]*\)`)

// DeviceDetail is a device that has findings.
type DeviceDetail struct {
	playbooks.DeviceSummary
	Findings []playbooks.Finding
}

// GapGroup counts the visibility gaps of one reason and telemetry kind.
type GapGroup struct {
	Reason    string   `json:"reason"`
	Telemetry string   `json:"telemetry"`
	Source    string   `json:"source"`
	Devices   []string `json:"devices"` // device names (or keys); empty for source-wide gaps
	Detail    string   `json:"detail,omitempty"`
	// Shown is the first maxGapDevices of Devices, More how many are not
	// shown (the human reports name that many, not every device).
	Shown []string `json:"-"`
	More  int      `json:"-"`
}

// Count is a labelled number.
type Count struct {
	Label string `json:"label"`
	N     int    `json:"n"`
}

// TechCoverage counts coverage states for one technique.
type TechCoverage struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Finding          int      `json:"finding"`
	Clear            int      `json:"observed_clear"`
	NotObservable    int      `json:"not_observable"`
	NotObservableWhy []string `json:"not_observable_why"`
}

// Build computes the view model.
func Build(in Input) *Model {
	a := in.Analysis
	m := &Model{Input: in, Notice: playbooks.AttackNotice}
	m.Title = "Incident report: " + in.Case.ID
	if in.Case.Title != "" {
		m.Title += " — " + in.Case.Title
	}
	names := map[string]string{}
	for _, d := range a.Devices {
		names[d.Key] = cmp.Or(d.Name, d.Key)
	}
	m.Summary.Devices = len(a.Devices)
	for _, d := range a.Devices {
		switch d.State {
		case playbooks.StateFinding:
			m.Summary.DevicesWithFinding++
		case playbooks.StateNotObservable:
			m.Summary.NotObservable++
		}
	}
	m.Platforms = countBy(a.Devices, func(d playbooks.DeviceSummary) string { return d.Platform })
	m.Ownerships = countBy(a.Devices, func(d playbooks.DeviceSummary) string { return d.Ownership })
	m.Sources = countBy(a.Devices, func(d playbooks.DeviceSummary) string { return d.Source })

	findings := slices.Clone(a.Findings)
	sort.SliceStable(findings, func(i, j int) bool {
		si, sj := slices.Index(playbooks.Severities, findings[i].Severity), slices.Index(playbooks.Severities, findings[j].Severity)
		if si != sj {
			return si > sj
		}
		return findings[i].DeviceName < findings[j].DeviceName
	})
	m.Summary.Findings = len(findings)
	for _, f := range findings {
		if f.Role == "execution" {
			m.Summary.ExecutionFindings++
		} else {
			m.Summary.ContextFindings++
		}
		if slices.Index(playbooks.Severities, f.Severity) > slices.Index(playbooks.Severities, m.Summary.HighestSeverity) {
			m.Summary.HighestSeverity = f.Severity
		}
		m.Response = mergeResponse(m.Response, f.Response)
	}
	for _, t := range playbooks.Techniques() {
		g := TechniqueGroup{ID: t.ID, Name: t.Name, URL: t.URL, Modified: t.Modified, Excerpt: excerpt(t.Description)}
		for _, mit := range t.Mitigations {
			g.Mitigations = append(g.Mitigations, mit.ID+" "+mit.Name)
		}
		for _, f := range findings {
			if slices.Contains(f.Techniques, t.ID) {
				g.Findings = append(g.Findings, f)
			}
		}
		if len(g.Findings) > 0 {
			m.Groups = append(m.Groups, g)
		}
	}
	ctx := TechniqueGroup{ID: a.Tactic.ID, Name: a.Tactic.Name + " — technique not determined (execution shown without its technique, or context)"}
	for _, f := range findings {
		if len(f.Techniques) == 0 {
			ctx.Findings = append(ctx.Findings, f)
		}
	}
	if len(ctx.Findings) > 0 {
		m.Groups = append(m.Groups, ctx)
	}
	byDevice := map[string][]playbooks.Finding{}
	for _, f := range findings {
		byDevice[f.Device] = append(byDevice[f.Device], f)
	}
	for _, d := range a.Devices {
		if fs := byDevice[d.Key]; len(fs) > 0 {
			m.Devices = append(m.Devices, DeviceDetail{DeviceSummary: d, Findings: fs})
		}
	}
	sort.SliceStable(m.Devices, func(i, j int) bool {
		return slices.Index(playbooks.Severities, m.Devices[i].Findings[0].Severity) > slices.Index(playbooks.Severities, m.Devices[j].Findings[0].Severity)
	})
	m.GapGroups = gapGroups(a, names)
	for i := range m.GapGroups {
		g := &m.GapGroups[i]
		g.Shown, g.More = capList(g.Devices, maxGapDevices)
	}
	m.Timeline = timeline(in, findings)
	m.TimelineShown = m.Timeline[:min(len(m.Timeline), maxTimelineRows)]
	m.TimelineMore = len(m.Timeline) - len(m.TimelineShown)
	m.Telemetry = sourceTelemetry(a)
	m.FindingsChart = findingsChart(m.Groups)
	m.HeatMap = heatMap(a)
	m.TimelineChart = timelineChart(m.Timeline)
	m.TechCoverage = techCoverage(a)
	m.Summary.Decisions = decisions(m)
	m.Limits = limits(m)
	return m
}

func countBy[T any](xs []T, key func(T) string) []Count {
	c := map[string]int{}
	for _, x := range xs {
		c[cmp.Or(key(x), "unknown")]++
	}
	var out []Count
	for k, n := range c {
		out = append(out, Count{k, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Label < out[j].Label
	})
	return out
}

func mergeResponse(a, b playbooks.Response) playbooks.Response {
	add := func(dst, src []string) []string {
		for _, s := range src {
			if !slices.Contains(dst, s) {
				dst = append(dst, s)
			}
		}
		return dst
	}
	a.Triage = add(a.Triage, b.Triage)
	a.Preserve = add(a.Preserve, b.Preserve)
	a.Isolate = add(a.Isolate, b.Isolate)
	a.Remediate = add(a.Remediate, b.Remediate)
	return a
}

func gapGroups(a *playbooks.Analysis, names map[string]string) []GapGroup {
	idx := map[[3]string]int{}
	var out []GapGroup
	for _, g := range a.Gaps {
		k := [3]string{g.Reason, g.Telemetry, g.Source}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, GapGroup{Reason: g.Reason, Telemetry: g.Telemetry, Source: g.Source, Detail: g.Detail})
		}
		if g.DeviceKey != "" {
			out[i].Devices = append(out[i].Devices, cmp.Or(names[g.DeviceKey], g.DeviceKey))
		}
	}
	for i := range out {
		slices.Sort(out[i].Devices)
		if len(out[i].Devices) > 1 {
			out[i].Detail = "" // details differ per device; the device list says enough
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].Devices) > len(out[j].Devices) })
	return out
}

func techCoverage(a *playbooks.Analysis) []TechCoverage {
	var out []TechCoverage
	for _, t := range playbooks.Techniques() {
		tc := TechCoverage{ID: t.ID, Name: t.Name}
		why := map[string]int{}
		for _, c := range a.Coverage {
			if c.Technique != t.ID {
				continue
			}
			switch c.State {
			case playbooks.StateFinding:
				tc.Finding++
			case playbooks.StateObservedClear:
				tc.Clear++
			default:
				tc.NotObservable++
				why[c.Why]++
			}
		}
		for w, n := range why {
			tc.NotObservableWhy = append(tc.NotObservableWhy, fmt.Sprintf("%s (%d)", w, n))
		}
		slices.Sort(tc.NotObservableWhy)
		out = append(out, tc)
	}
	return out
}

func decisions(m *Model) []string {
	var out []string
	if m.Summary.Findings == 0 {
		out = append(out, "No playbook matched. This is not a clean bill of health: review the visibility gaps below before closing the case.")
	}
	for _, d := range m.Devices {
		top := d.Findings[0]
		out = append(out, fmt.Sprintf("Decide whether to isolate %s (%s, %s): %d finding(s), highest severity %s, confidence %s.",
			cmp.Or(d.Name, d.Key), d.Platform, d.User, len(d.Findings), top.Severity, top.Confidence))
	}
	if n := m.Summary.NotObservable; n > 0 {
		out = append(out, fmt.Sprintf("%d device(s) could not be fully observed: decide whether to collect them another way (see Visibility gaps).", n))
	}
	return out
}

func limits(m *Model) []string {
	out := []string{
		"Findings are drawn only from what the management sources reported; an MDM sees inventory and state, not the code running on a device.",
		"A device without findings is reported as observed clear only for the techniques its collected telemetry can show; everything else is listed as not observable.",
		"Jailbreak and root verdicts come from the vendors' agents and can be both evaded and wrong.",
	}
	if m.Analysis.Unverified {
		out = append(out, "Some evidence archives failed verification and were analysed anyway (--allow-unverified); their findings are not established by verified evidence.")
	}
	if m.CustodyErr != "" {
		out = append(out, "The custody log did not verify: "+m.CustodyErr)
	}
	return out
}

// join is the templates' strings.Join.
func join(xs []string, sep string) string { return strings.Join(xs, sep) }

// SourceTelemetry is one source's telemetry, kind by kind (device state,
// app inventory, device logs, admin audit).
type SourceTelemetry struct {
	Source  string          `json:"source"`
	Devices int             `json:"devices"`
	Kinds   []TelemetryKind `json:"telemetry"`
}

// TelemetryKind says whether a source delivered one kind of telemetry:
// collected (for every device), partial (not for some devices), or
// not_available (for none), with the reasons.
type TelemetryKind struct {
	Kind    string   `json:"kind"`
	State   string   `json:"state"`
	Missing int      `json:"devices_missing,omitempty"`
	Why     []string `json:"why,omitempty"`
}

// telemetryKinds are the kinds a source may deliver, in report order.
var telemetryKinds = []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit}

func sourceTelemetry(a *playbooks.Analysis) []SourceTelemetry {
	devices := map[string]int{}
	for _, d := range a.Devices {
		devices[cmp.Or(d.Source, "unknown")]++
	}
	type key struct{ source, kind string }
	wide := map[key][]string{}
	missing := map[key]map[string]bool{}
	why := map[key][]string{}
	for _, g := range a.Gaps {
		k := key{cmp.Or(g.Source, "unknown"), g.Telemetry}
		if _, ok := devices[k.source]; !ok {
			devices[k.source] = 0
		}
		if g.DeviceKey == "" {
			if !slices.Contains(wide[k], g.Reason) {
				wide[k] = append(wide[k], g.Reason)
			}
			continue
		}
		if missing[k] == nil {
			missing[k] = map[string]bool{}
		}
		missing[k][g.DeviceKey] = true
		if !slices.Contains(why[k], g.Reason) {
			why[k] = append(why[k], g.Reason)
		}
	}
	var out []SourceTelemetry
	for _, src := range slices.Sorted(maps.Keys(devices)) {
		st := SourceTelemetry{Source: src, Devices: devices[src]}
		for _, kind := range telemetryKinds {
			k := key{src, kind}
			t := TelemetryKind{Kind: kind, State: "collected"}
			switch {
			case len(wide[k]) > 0:
				t.State, t.Why = "not_available", wide[k]
			case len(missing[k]) > 0 && len(missing[k]) >= devices[src]:
				t.State, t.Missing, t.Why = "not_available", len(missing[k]), why[k] // for none of its devices
			case len(missing[k]) > 0:
				t.State, t.Missing, t.Why = "partial", len(missing[k]), why[k]
			}
			slices.Sort(t.Why)
			st.Kinds = append(st.Kinds, t)
		}
		out = append(out, st)
	}
	return out
}
