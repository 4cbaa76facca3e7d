package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
)

const hostile = `System Update <img src=x onerror=alert(1)> | *x* [l](http://evil.example) </style><script>alert(2)</script>`

func testModel() *Model {
	a := &playbooks.Analysis{
		GeneratedAt: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC), Tool: "custos test",
		AttackRelease: playbooks.AttackRelease(), Tactic: playbooks.TacticRef{ID: "TA0041", Name: "Execution"},
		Archives: []playbooks.ArchiveRef{{Name: "IR-1-x.tar.zst", SHA256: strings.Repeat("a", 64), Verified: true, SignerKey: "SHA256:k", SignerPrincipals: []string{"alice@example.org"}}},
		Devices: []playbooks.DeviceSummary{
			{Key: "intune:1", Name: "<b>phone</b>", Platform: "android", Ownership: "corporate", Compliance: "noncompliant", Source: "intune", State: playbooks.StateFinding},
			{Key: "intune:2", Name: "stale-phone", Platform: "ios", Ownership: "corporate", Source: "intune", State: playbooks.StateNotObservable},
		},
		Findings: []playbooks.Finding{{
			ID: "F-1", Playbook: "app-rare-on-noncompliant-device", Title: "Rare app", Tactic: "TA0041", Role: "context",
			Device: "intune:1", DeviceName: "<b>phone</b>", App: &playbooks.AppRef{Name: hostile},
			Severity: "medium", Confidence: "low", BaseConfidence: "low",
			Facts:    []playbooks.Fact{{Label: "App", Value: hostile}},
			Evidence: []playbooks.EvidenceRef{{Archive: "IR-1-x.tar.zst", ArchiveSHA256: strings.Repeat("a", 64), Path: "data/raw/intune/000002.json", FileSHA256: strings.Repeat("b", 64), Pointer: "/value/3", Excerpt: `{"displayName":"` + hostile + `"}`}},
			Response: playbooks.Response{Triage: []string{"Identify the app"}},
		}},
		Gaps: []collect.Gap{{DeviceKey: "intune:2", Source: "intune", Telemetry: "device_state", Reason: "stale", Detail: "last check-in 40 days ago"}},
	}
	return Build(Input{Case: preserve.CaseInfo{ID: "IR-1"}, Analysis: a, Head: preserve.Head{Seq: 2, SHA256: strings.Repeat("c", 64)}, Tool: "custos test", Generated: a.GeneratedAt})
}

func TestHTMLEscapesAndForbidsNetwork(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, testModel()); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, bad := range []string{"<img", "<b>phone", "</style><"} {
		if strings.Contains(html, bad) {
			t.Errorf("report contains unescaped %q", bad)
		}
	}
	// One script, custos's own, pinned by the CSP; none from the data.
	scripts := regexp.MustCompile(`(?is)<script[^>]*>(.*?)</script>`).FindAllStringSubmatch(html, -1)
	if len(scripts) != 1 || strings.Count(strings.ToLower(html), "<script") != 1 || scripts[0][1] != script {
		t.Fatalf("%d script elements; want custos's filter only", len(scripts))
	}
	if !strings.Contains(html, "System Update &lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the hostile app name is not shown as text")
	}
	// No reference to any external resource.
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"?(https?:|//)`).FindString(html); m != "" {
		t.Errorf("external reference %q", m)
	}
	// The CSP pins the one style block by hash and allows nothing else.
	csp := regexp.MustCompile(`http-equiv="Content-Security-Policy" content="([^"]+)"`).FindStringSubmatch(html)
	if csp == nil || !strings.Contains(csp[1], "default-src 'none'") {
		t.Fatalf("CSP missing or weak: %v", csp)
	}
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(html)
	sum := sha256.Sum256([]byte(style[1]))
	if !strings.Contains(csp[1], "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Error("CSP style hash does not match the style block")
	}
	sum = sha256.Sum256([]byte(scripts[0][1]))
	if !strings.Contains(csp[1], "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Error("CSP script hash does not match the script")
	}
	for _, sec := range []string{`id="summary"`, `id="scope"`, `id="findings"`, `id="devices"`, `id="timeline"`, `id="response"`, `id="evidence"`, `id="method"`, `id="limits"`, `aria-labelledby="chart-findings"`, `aria-labelledby="chart-heat"`} {
		if !strings.Contains(html, sec) {
			t.Errorf("report lacks %s", sec)
		}
	}
	// No style attribute anywhere: the CSP (hash-pinned styles) would
	// refuse it, and the browser would log an error.
	if regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`).MatchString(html) {
		t.Error("a style attribute")
	}
	for _, want := range []string{"Executive summary", "Visibility gaps", "stale", "Chain of custody", "2:" + strings.Repeat("c", 64), "data/raw/intune/000002.json", strings.Repeat("b", 64), "/value/3", "The MITRE Corporation"} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestMarkdownEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, testModel()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, bad := range []string{"<img", "<script", "[l](http", "<b>"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown contains live %q", bad)
		}
	}
	if !strings.Contains(md, `System Update &lt;img src=x onerror=alert\(1\)&gt; \| \*x\*`) {
		t.Errorf("hostile name not escaped as expected:\n%s", md)
	}
	if !strings.Contains(md, "Visibility gaps") || !strings.Contains(md, "stale") {
		t.Error("markdown lacks the gaps")
	}
}

func TestSummaryKeepsNotObservableApart(t *testing.T) {
	m := testModel()
	if m.Summary.DevicesWithFinding != 1 || m.Summary.NotObservable != 1 || m.Summary.Devices != 2 {
		t.Errorf("summary %+v", m.Summary)
	}
	if len(m.Groups) != 1 || m.Groups[0].ID != "TA0041" {
		t.Errorf("a finding without a technique belongs to the tactic-level group: %+v", m.Groups)
	}
}
