package report

import (
	"bytes"
	"encoding/csv"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
)

// update rewrites the golden files of every format: go test ./report -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it; review the diff):\n%s", name, firstDiff(got, want))
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// goldenModel is testModel with a custody log and a finding with events:
// every section of every format has something to show. Its clock and
// identifiers are fixed.
func goldenModel() *Model {
	m := testModel()
	a := m.Analysis
	t0 := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	from, to := t0.Add(30*time.Minute), t0.Add(45*time.Minute)
	a.Findings = append(a.Findings, playbooks.Finding{
		ID: "F-2", Playbook: "adb-shell-command", Title: "ADB shell command run", Tactic: "TA0041", Techniques: []string{"T1623.001"}, Role: "execution",
		Device: "intune:1", DeviceName: `=HYPERLINK("http://evil.example","phone")`, Severity: "high", Confidence: "medium", BaseConfidence: "low",
		ObservedFrom: &from, ObservedTo: &to, ObservationCount: 2,
		Observations: []playbooks.Observation{
			{Time: from, Type: "adb_shell_command", Severity: "high", Facts: []playbooks.Fact{{Label: "Command", Value: "=cmd|' /C calc'!A0"}},
				Evidence: playbooks.EvidenceRef{Archive: "IR-1-x.tar.zst", Path: "data/raw/amapi/000003.json", FileSHA256: strings.Repeat("d", 64), Pointer: "/messages/0/data/usageLogEvents/0"}},
			{Time: to, Type: "adb_shell_command", Severity: "medium", Facts: []playbooks.Fact{{Label: "Command", Value: "@SUM(1+1) | `rm` *x*"}},
				Evidence: playbooks.EvidenceRef{Archive: "IR-1-x.tar.zst", Path: "data/raw/amapi/000003.json", FileSHA256: strings.Repeat("d", 64), Pointer: "/messages/0/data/usageLogEvents/1"}},
		},
		CorroboratedBy: []string{"F-1"}, Rationale: "A shell on the phone over USB runs as the shell user.",
		Evidence: []playbooks.EvidenceRef{{Archive: "IR-1-x.tar.zst", ArchiveSHA256: strings.Repeat("a", 64), Path: "data/raw/intune/000001.json", FileSHA256: strings.Repeat("e", 64), Pointer: "/value/0"}},
		Response: playbooks.Response{Isolate: []string{"Retire the device from the MDM console (Intune: Retire)"}},
	})
	in := m.Input
	in.Custody = []preserve.CheckedEntry{
		{Entry: preserve.Entry{V: 1, Seq: 1, Time: t0, Action: "sealed", Actor: "alice@example.org", Archive: "IR-1-x.tar.zst", ArchiveSHA256: strings.Repeat("a", 64), Tool: "custos test"},
			File: "custody/000001.json", SHA256: strings.Repeat("1", 64), Signer: "SHA256:k", Principals: []string{"alice@example.org"}},
		{Entry: preserve.Entry{V: 1, Seq: 2, Time: t0.Add(2 * time.Hour), Action: "verified", Actor: "+bob", Archive: "IR-1-x.tar.zst", ArchiveSHA256: strings.Repeat("a", 64), Tool: "custos test"},
			File: "custody/000002.json", SHA256: strings.Repeat("2", 64), Signer: "SHA256:k", Principals: []string{"alice@example.org"}},
	}
	in.Acquisitions = []collect.Acquisition{{
		Version: 1, ID: "01a2186b-fd45-7028-b826-dee30ae32420", CaseID: "IR-1", Started: t0.Add(-10 * time.Minute), Finished: t0.Add(-5 * time.Minute),
		Operator: "alice", Host: "ir-laptop", Tool: collect.Tool{Name: "custos", Version: "0.1.0", Build: "go1.26.8"},
		CommandLine: []string{"custos", "collect", "--case", "IR-1", "--device", "name:<b>|*x*"},
		Sources: []collect.Descriptor{{Name: "intune", API: "Microsoft Graph (Intune)", Tenant: "contoso.onmicrosoft.com", Principal: "7c2f4e1a",
			Permissions: []string{"DeviceManagementManagedDevices.Read.All"}, Endpoints: []string{"https://graph.microsoft.com/v1.0/deviceManagement/managedDevices"}}},
		Counts: collect.Counts{Devices: 2, Apps: 40, Responses: 7, Gaps: 1}, Status: "completed_with_gaps",
	}}
	in.AcquisitionNotes = []string{"The acquisition record of IR-1-y.tar.zst.age was not read: it is encrypted (custos report --identity FILE reads it)."}
	return Build(in)
}

func render(t *testing.T, fn func(io.Writer, *Model) error, m *Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := fn(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGoldenMarkdown(t *testing.T) {
	golden(t, "golden/report.md", render(t, Markdown, goldenModel()))
}
func TestGoldenJSON(t *testing.T) { golden(t, "golden/report.json", render(t, JSON, goldenModel())) }
func TestGoldenTimelineCSV(t *testing.T) {
	golden(t, "golden/timeline.csv", render(t, TimelineCSV, goldenModel()))
}

// No cell of the timeline CSV starts a formula, whatever the device sent.
func TestTimelineCSVNeutralisesFormulas(t *testing.T) {
	rows, err := csv.NewReader(bytes.NewReader(render(t, TimelineCSV, goldenModel()))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+4 {
		t.Fatalf("%d rows; want a header, two events and two custody entries", len(rows))
	}
	found := 0
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
			if strings.HasPrefix(cell, `'=HYPERLINK(`) {
				found++
			}
		}
	}
	if found < 2 {
		t.Error("the hostile cells are missing rather than neutralised")
	}
	for _, c := range []string{"=1+1", "+1", "-1", "@x", "\tx", "\rx"} {
		if got := neutralise(c); got != "'"+c {
			t.Errorf("neutralise(%q) = %q", c, got)
		}
	}
}

// Markdown from the data cannot open a link, an image, raw HTML or a
// code span, nor break a table.
func TestMarkdownInjection(t *testing.T) {
	md := string(render(t, Markdown, goldenModel()))
	for _, bad := range []string{"`rm`", "*x*", "<b>", "](http"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown contains live %q", bad)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| 2026-11-26T08:30:00Z | observation |") && strings.Count(line, "|")-strings.Count(line, `\|`) != 8 {
			t.Errorf("a timeline row's cells broke: %s", line)
		}
	}
}

// The timeline chart: ticks in order over any span, records without a
// time left off, and where entries share a mark the most severe shows.
func TestTimelineChart(t *testing.T) {
	old := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	c := timelineChart([]TimelineEntry{
		{Kind: "observation", Severity: "critical", What: "no time"},
		{Time: old, Kind: "custody", What: "old"},
		{Time: now.AddDate(-20, 0, 0), Kind: "observation", Severity: "low", What: "low"},
		{Time: now.AddDate(-20, 0, 0).Add(time.Minute), Kind: "observation", Severity: "critical", What: "critical"},
		{Time: now, Kind: "custody", What: "new"},
	})
	for i := 1; i < len(c.Ticks); i++ {
		if c.Ticks[i].Label <= c.Ticks[i-1].Label {
			t.Errorf("ticks out of order: %+v", c.Ticks)
		}
	}
	if len(c.Marks) != 3 {
		t.Fatalf("%d marks; want the two custody entries and one observation mark", len(c.Marks))
	}
	var last TimelineMark
	for _, m := range c.Marks {
		if m.Y != timelineTop {
			last = m
		}
	}
	if last.Fill != severityFill["critical"] || !strings.Contains(last.Description, "critical (and 1 more here)") {
		t.Errorf("shared mark %+v; want the critical entry, counting the other", last)
	}
	for _, m := range c.Marks {
		if strings.Contains(m.Description, "no time") {
			t.Error("a record without a time is on the chart")
		}
	}
	for _, cell := range []string{" =1+1", "  @x"} {
		if neutralise(cell) != "'"+cell {
			t.Errorf("neutralise(%q) = %q", cell, neutralise(cell))
		}
	}
}
