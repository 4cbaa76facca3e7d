package report

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/iocs"
	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
)

// TimelineCSV writes the whole timeline as CSV (RFC 4180, a header
// line, times in UTC). A cell a spreadsheet would read as a formula
// (starting with =, +, -, @, a tab or a carriage return) is written with
// a leading apostrophe, so opening the file runs nothing.
func TimelineCSV(w io.Writer, m *Model) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"time_utc", "kind", "device", "finding", "severity", "what", "evidence", "sha256"})
	for _, e := range m.Timeline {
		row := []string{e.Time.UTC().Format(time.RFC3339), e.Kind, e.Device, e.Finding, e.Severity, e.What, e.Evidence, e.SHA256}
		for i := range row {
			row[i] = neutralise(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// neutralise prefixes a cell that would start a spreadsheet formula,
// also after leading spaces (some spreadsheets trim them).
func neutralise(s string) string {
	if t := strings.TrimLeft(s, " "); t != "" && strings.ContainsRune("=+-@\t\r", rune(t[0])) {
		return "'" + s
	}
	return s
}

// Document is the report model as report.json carries it: the same facts
// as the HTML and Markdown reports, for other tools. docs/report-formats.md
// documents it.
type Document struct {
	Version   int       `json:"version"` // 1
	Title     string    `json:"title"`
	Case      CaseRef   `json:"case"`
	Generated time.Time `json:"generated_at"`
	Tool      string    `json:"tool"`

	Summary    Summary             `json:"summary"`
	Scope      Scope               `json:"scope"`
	Techniques []TechniqueFinds    `json:"techniques"`
	Findings   []playbooks.Finding `json:"findings"`
	Devices    []DeviceFinds       `json:"devices_with_findings"`
	Timeline   []TimelineEntry     `json:"timeline"`
	Response   playbooks.Response  `json:"response"`
	Evidence   Evidence            `json:"evidence"`
	Method     Method              `json:"method"`
	Limits     []string            `json:"limits"`
	Notice     string              `json:"notice"`
}

// CaseRef names the case.
type CaseRef struct {
	ID           string `json:"id"`
	Title        string `json:"title,omitempty"`
	Organization string `json:"organization,omitempty"`
	Examiner     string `json:"examiner,omitempty"`
}

// Scope is what the case covers and what it could not see.
type Scope struct {
	Platforms  []Count           `json:"platforms"`
	Ownerships []Count           `json:"ownerships"`
	Sources    []Count           `json:"sources"`
	Telemetry  []SourceTelemetry `json:"telemetry_by_source"`
	Gaps       []GapGroup        `json:"gaps"`
	Coverage   []TechCoverage    `json:"technique_coverage"`
}

// TechniqueFinds is a technique and the findings under it (by ID).
type TechniqueFinds struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	URL         string   `json:"url,omitempty"`
	Modified    string   `json:"modified,omitempty"`
	Excerpt     string   `json:"description_excerpt,omitempty"`
	Mitigations []string `json:"mitigations,omitempty"`
	Findings    []string `json:"findings"`
}

// DeviceFinds is a device with findings (by ID).
type DeviceFinds struct {
	playbooks.DeviceSummary
	Findings []string `json:"findings"`
}

// Evidence is the evidence appendix.
type Evidence struct {
	Archives     []playbooks.ArchiveRef  `json:"archives"`
	Custody      []preserve.CheckedEntry `json:"custody"`
	Head         preserve.Head           `json:"custody_head"`
	CustodyError string                  `json:"custody_error,omitempty"`
}

// Method is how the findings were reached.
type Method struct {
	AnalysisTool  string                  `json:"analysis_tool"`
	AnalysedAt    time.Time               `json:"analysed_at"`
	AttackRelease string                  `json:"attack_release"`
	Tactic        playbooks.TacticRef     `json:"tactic"`
	Playbooks     []playbooks.PlaybookRef `json:"playbooks"`
	IOCBundles    []iocs.Bundle           `json:"ioc_bundles"`
	EventsRead    int                     `json:"events_read"`
	Unattributed  int                     `json:"events_unattributed"`
	Unverified    bool                    `json:"analysed_unverified_evidence"`
	// Acquisitions are the archives' acquisition records, as collected
	// (docs/archive-format.md); AcquisitionNotes those not read, and why.
	Acquisitions     []collect.Acquisition `json:"acquisitions"`
	AcquisitionNotes []string              `json:"acquisition_notes,omitempty"`
}

// document builds the Document of m.
func document(m *Model) Document {
	a := m.Analysis
	d := Document{
		Version: 1, Title: m.Title, Generated: m.Generated.UTC(), Tool: m.Tool,
		Case:     CaseRef{ID: m.Case.ID, Title: m.Case.Title, Organization: m.Case.Organization, Examiner: m.Case.Examiner},
		Summary:  m.Summary,
		Scope:    Scope{Platforms: m.Platforms, Ownerships: m.Ownerships, Sources: m.Sources, Telemetry: m.Telemetry, Gaps: m.GapGroups, Coverage: m.TechCoverage},
		Findings: a.Findings, Timeline: m.Timeline, Response: m.Response, Limits: m.Limits, Notice: m.Notice,
		Evidence: Evidence{Archives: a.Archives, Custody: m.Custody, Head: m.Head, CustodyError: m.CustodyErr},
		Method: Method{AnalysisTool: a.Tool, AnalysedAt: a.GeneratedAt, AttackRelease: a.AttackRelease, Tactic: a.Tactic,
			Playbooks: a.Playbooks, IOCBundles: a.IOCBundles, EventsRead: a.EventsRead, Unattributed: a.EventsUnattributed, Unverified: a.Unverified,
			Acquisitions: m.Acquisitions, AcquisitionNotes: m.AcquisitionNotes},
	}
	for _, g := range m.Groups {
		t := TechniqueFinds{ID: g.ID, Name: g.Name, URL: g.URL, Modified: g.Modified, Excerpt: g.Excerpt, Mitigations: g.Mitigations, Findings: []string{}}
		for _, f := range g.Findings {
			t.Findings = append(t.Findings, f.ID)
		}
		d.Techniques = append(d.Techniques, t)
	}
	for _, dev := range m.Devices {
		df := DeviceFinds{DeviceSummary: dev.DeviceSummary, Findings: []string{}}
		for _, f := range dev.Findings {
			df.Findings = append(df.Findings, f.ID)
		}
		d.Devices = append(d.Devices, df)
	}
	nonNil(&d)
	return d
}

// nonNil makes empty lists [] rather than null.
func nonNil(d *Document) {
	if d.Techniques == nil {
		d.Techniques = []TechniqueFinds{}
	}
	if d.Findings == nil {
		d.Findings = []playbooks.Finding{}
	}
	if d.Devices == nil {
		d.Devices = []DeviceFinds{}
	}
	if d.Timeline == nil {
		d.Timeline = []TimelineEntry{}
	}
	if d.Limits == nil {
		d.Limits = []string{}
	}
	if d.Evidence.Custody == nil {
		d.Evidence.Custody = []preserve.CheckedEntry{}
	}
	if d.Evidence.Archives == nil {
		d.Evidence.Archives = []playbooks.ArchiveRef{}
	}
	if d.Method.Acquisitions == nil {
		d.Method.Acquisitions = []collect.Acquisition{}
	}
	if d.Scope.Gaps == nil {
		d.Scope.Gaps = []GapGroup{}
	}
}

// JSON writes report.json: the Document of m, indented.
func JSON(w io.Writer, m *Model) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(document(m))
}
