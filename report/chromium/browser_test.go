package chromium

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
	"github.com/custos-ir/custos/report"
)

// needBrowser skips a test when no Chromium is installed, unless
// CUSTOS_REQUIRE_CHROMIUM is set (.ci/run sets it: there the browser
// tests must run).
func needBrowser(t testing.TB) {
	t.Helper()
	if _, err := Find(); err != nil {
		if os.Getenv("CUSTOS_REQUIRE_CHROMIUM") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// Planted in the data: each would run script if the report let it.
const (
	xssApp    = `<img src=x onerror="window.__xss=1;alert(1)">`
	xssDevice = `<script>window.__xss=2;alert(2)</script>`
	xssFact   = `</pre><svg onload="window.__xss=3"><a href="javascript:alert(3)">x</a>`
)

// hostileReport writes a report whose device- and MDM-supplied strings
// are attacks, and returns its path.
func hostileReport(t testing.TB, dir string) string {
	t.Helper()
	when := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	ev := playbooks.EvidenceRef{Archive: "IR-1-x.tar.zst", ArchiveSHA256: strings.Repeat("a", 64), Path: "data/raw/amapi/000002.json",
		FileSHA256: strings.Repeat("b", 64), Pointer: "/devices/0/applicationReports/3", Excerpt: `{"displayName":"` + xssFact + `"}`}
	a := &playbooks.Analysis{
		GeneratedAt: when, Tool: "custos test", AttackRelease: playbooks.AttackRelease(), Tactic: playbooks.TacticRef{ID: "TA0041", Name: "Execution"},
		Archives: []playbooks.ArchiveRef{{Name: "IR-1-x.tar.zst", SHA256: strings.Repeat("a", 64), Verified: true, SignerKey: "SHA256:k", SignerPrincipals: []string{"alice@example.org"}}},
		Devices: []playbooks.DeviceSummary{
			{Key: "amapi:1", Name: xssDevice, Platform: "android", Ownership: "corporate", Compliance: "noncompliant", Source: "amapi", State: playbooks.StateFinding},
			{Key: "amapi:2", Name: "stale-phone", Platform: "android", Ownership: "personal", Source: "amapi", State: playbooks.StateNotObservable},
		},
		Findings: []playbooks.Finding{{
			ID: "F-1", Playbook: "sideloaded-app", Title: "Sideloaded app", Tactic: "TA0041", Techniques: []string{"T1623.001"}, Role: "context",
			Device: "amapi:1", DeviceName: xssDevice, App: &playbooks.AppRef{Name: xssApp}, Severity: "high", Confidence: "medium", BaseConfidence: "medium",
			ObservedFrom: &when, ObservedTo: &when, Facts: []playbooks.Fact{{Label: "App", Value: xssApp}, {Label: "Installer", Value: xssFact}},
			Evidence: []playbooks.EvidenceRef{ev}, Rationale: "Installed outside the store.", Response: playbooks.Response{Triage: []string{"Identify the app"}},
		}},
		Coverage: []playbooks.Coverage{{Device: "amapi:1", Technique: "T1623.001", State: playbooks.StateFinding}, {Device: "amapi:2", Technique: "T1623.001", State: playbooks.StateNotObservable, Why: "stale"}},
		Gaps:     []collect.Gap{{DeviceKey: "amapi:2", Source: "amapi", Telemetry: "device_logs", Reason: "not_enabled", Detail: xssFact}},
	}
	custody := []preserve.CheckedEntry{{Entry: preserve.Entry{V: 1, Seq: 1, Time: when, Action: "sealed", Actor: xssDevice, Archive: "IR-1-x.tar.zst", ArchiveSHA256: strings.Repeat("a", 64)},
		SHA256: strings.Repeat("c", 64), Signer: "SHA256:k"}}
	m := report.Build(report.Input{Case: preserve.CaseInfo{ID: "IR-1", Title: xssApp}, Analysis: a, Custody: custody, Head: preserve.Head{Seq: 1, SHA256: strings.Repeat("c", 64)},
		Tool: "custos test", Generated: when})
	var b bytes.Buffer
	if err := report.HTML(&b, m); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The HTML report, opened from disk in a real browser: it asks for
// nothing over the network, logs no error (a CSP violation would be
// one), runs no script from the data, shows the planted strings as text,
// has every section, and its own filtering script (allowed by the CSP's
// hash) works.
func TestReportInBrowser(t *testing.T) {
	needBrowser(t)
	path := hostileReport(t, t.TempDir())
	u, err := FileURL(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx, stop, err := Browser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	var mu sync.Mutex
	var requests, dialogs, problems []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *page.EventJavascriptDialogOpening:
			dialogs = append(dialogs, e.Message)
		}
	}); err != nil {
		t.Fatal(err)
	}
	consoleCtx, stopConsole := context.WithCancel(bctx)
	defer stopConsole()
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		for msg, err := range chromedp.Console(consoleCtx) {
			if err != nil {
				return
			}
			if msg.Type == chromedp.ConsoleError || msg.Type == chromedp.ConsoleException || msg.Type == chromedp.ConsoleWarning {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s (%s): %s", msg.Type, msg.Source, msg.Text))
				mu.Unlock()
			}
		}
	}()

	if err := chromedp.Do(bctx, chromedp.Navigate(u), chromedp.WaitReady("#limits")); err != nil {
		t.Fatal(err)
	}
	// Give late events (an image error handler, a CSP report) time to come.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`new Promise(r => setTimeout(() => r(true), 500))`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	xss, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__xss !== undefined`))
	if err != nil || xss {
		t.Errorf("a script from the data ran (%v)", err)
	}
	sections, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("section[id]"), s => s.id)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"summary", "scope", "findings", "devices", "timeline", "response", "evidence", "method", "limits"} {
		if !slices.Contains(sections, want) {
			t.Errorf("section %q missing (have %v)", want, sections)
		}
	}
	text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{xssApp, xssDevice, "Executive summary", "The MITRE Corporation", strings.Repeat("b", 64)} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %.40q as text", want)
		}
	}
	// custos's own script ran (the CSP lets it, by hash): it shows the
	// filters, and filtering hides what does not match.
	visible, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("input[data-filter]:not([hidden])").length`))
	if err != nil || visible != 3 {
		t.Errorf("%d filters shown (%v); want 3: the report's script did not run", visible, err)
	}
	left, err := chromedp.Run(bctx, chromedp.Evaluate[[]int](`(() => {
		const box = document.querySelector('input[data-filter="devices"]');
		const rows = () => document.querySelectorAll("#devices tr[data-row]:not([hidden])").length;
		const before = rows();
		box.value = "no such device"; box.dispatchEvent(new Event("input"));
		const after = rows();
		box.value = ""; box.dispatchEvent(new Event("input"));
		return [before, after, rows()];
	})()`))
	if err != nil || !slices.Equal(left, []int{1, 0, 1}) {
		t.Errorf("device filter: rows %v (%v); want [1 0 1]", left, err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("CUSTOS_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shotPath := filepath.Join(dir, "report-browser-test.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shotPath, len(shot))

	stopConsole()
	<-consoleDone
	mu.Lock()
	defer mu.Unlock()
	for _, r := range requests {
		if r != u {
			t.Errorf("the report asked for %q", r)
		}
	}
	if len(dialogs) > 0 {
		t.Errorf("dialogs opened: %q", dialogs)
	}
	if len(problems) > 0 {
		t.Errorf("console: %q", problems)
	}
}

// report.pdf is a PDF.
func TestPrintPDF(t *testing.T) {
	needBrowser(t)
	dir := t.TempDir()
	html := hostileReport(t, dir)
	pdf := filepath.Join(dir, "report.pdf")
	if err := PrintPDF(context.Background(), html, pdf, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) || !bytes.Contains(b[max(0, len(b)-1024):], []byte("%%EOF")) || len(b) < 10_000 {
		t.Errorf("not a PDF: %d bytes, starts %q", len(b), b[:min(len(b), 8)])
	}
}

// Without a browser, printing says what to install.
func TestPrintPDFWithoutBrowser(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CUSTOS_CHROMIUM", "")
	err := PrintPDF(context.Background(), "report.html", filepath.Join(t.TempDir(), "report.pdf"), time.Second)
	if err == nil || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("error %v; want one naming what to install", err)
	}
}
