package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/imports"
	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
	"github.com/custos-ir/custos/report/chromium"
)

// openerEnv names the program --open runs with the HTML report's path as
// its only argument, instead of the platform's (xdg-open, open, rundll32).
const openerEnv = "CUSTOS_OPENER"

// triageStages are the stages of one triage run, in order, as the
// progress display names them.
var triageStages = []string{"collect", "seal", "analyze", "report"}

func triageCommand() *cli.Command {
	return &cli.Command{
		Name:  "triage",
		Usage: "collect, seal, analyze and report in one run: from an MDM to signed evidence, findings and reports",
		UsageText: "custos triage --case DIR [--case-id ID] --source intune|amapi|import [source flags] (--all | --device SEL...)\n" +
			"       (--key FILE | --agent) [--allowed-signers FILE] [--iocs FILE]... [--fail-on SEVERITY] [--format html,md,json,csv,ocsf,case,pdf|all] [--open]",
		Description: "triage runs 'custos collect', 'custos seal', 'custos analyze' and 'custos report' in turn on one case,\n" +
			"with the same flags (an import's format is --import-format here, as --format names the reports).\n" +
			"Everything is checked before the collection starts: the device selection, the source's credentials,\n" +
			"the signing key, that --allowed-signers trusts it (else the analysis would refuse the evidence) and\n" +
			"the opener of --open. It ends with a summary: devices, findings by severity, devices not observable,\n" +
			"the archive sealed with its sha256, the custody head and the reports.\n\n" +
			"Exit status: 6 when --fail-on is met (after the reports are written), else 3 when the collection\n" +
			"recorded gaps, else 0. --open runs $" + openerEnv + " (default xdg-open, open or rundll32) on report.html.",
		Flags:  triageFlags(),
		Action: runTriage,
	}
}

// triageFlags are collect's flags (so the sources stay in step with
// 'custos collect'), with its --format renamed --import-format, then
// seal's, analyze's and report's.
func triageFlags() []cli.Flag {
	common := map[string]bool{}
	for _, f := range commonFlags() {
		common[f.Names()[0]] = true
	}
	var fs []cli.Flag
	for _, f := range collectCommand().Flags {
		switch name := f.Names()[0]; {
		case common[name]:
		case name == "format":
			fs = append(fs, &cli.StringFlag{Name: "import-format", Usage: "import: force the export's format: " + strings.Join(append([]string{formatAMAPILogs}, imports.Formats()...), ", ")})
		default:
			fs = append(fs, f)
		}
	}
	fs = append(fs,
		keyFlag, agentFlag,
		&cli.StringFlag{Name: "actor", Usage: "who seals, for the custody log (default: the current user)"},
		&cli.StringSliceFlag{Name: "encrypt-to", Usage: "encrypt the archive at rest to this age recipient, SSH public key or recipients file (repeatable; needs --identity to analyse it)"},
		anchorsFlag,
		&cli.StringFlag{Name: "playbooks", Usage: "directory of playbooks that add to or override the built-in ones"},
		&cli.StringSliceFlag{Name: "iocs", Usage: "STIX2 indicator bundle, or a directory of them (repeatable)"},
		&cli.StringSliceFlag{Name: "developer-group", Usage: "device category (Intune) or policy (AMAPI) of developers' devices, where ADB is expected (repeatable)"},
		&cli.StringFlag{Name: "fail-on", Usage: "exit 6 when a finding has this severity or higher (" + strings.Join(playbooks.Severities, ", ") + "); the reports are written first"},
		&cli.BoolFlag{Name: "allow-unverified", Usage: "analyse archives that fail verification (the output says so)"},
		identityFlag(),
		&cli.StringFlag{Name: "format", Value: defaultReportFormats, Usage: "comma-separated report formats, as 'custos report --format' takes them (pdf, all)"},
		&cli.StringFlag{Name: "out", Usage: "report directory (default CASE/reports)"},
		&cli.BoolFlag{Name: "open", Usage: "open report.html when done, with $" + openerEnv + " or the platform's opener"},
	)
	return commonFlags(fs...)
}

// triageSummary is what a triage run prints: as text, or with --json.
type triageSummary struct {
	Case                string                 `json:"case"`
	CaseID              string                 `json:"case_id"`
	AcquisitionID       string                 `json:"acquisition_id"`
	CollectionStatus    string                 `json:"collection_status"`
	Collected           collect.Counts         `json:"collected"`
	Archives            []*preserve.SealResult `json:"archives"`
	CustodyHead         preserve.Head          `json:"custody_head"`
	Findings            string                 `json:"findings"`
	UnverifiedEvidence  bool                   `json:"unverified_evidence"`
	Devices             int                    `json:"devices"`
	NotObservable       []triageDevice         `json:"not_observable"`
	FindingCount        int                    `json:"finding_count"`
	FindingsBySeverity  map[string]int         `json:"findings_by_severity"`
	ExecutionFindings   int                    `json:"execution_findings"`
	ContextFindings     int                    `json:"context_findings"`
	PhonesWithExecution int                    `json:"phones_with_execution_findings"`
	Reports             []string               `json:"reports"`
	Opened              string                 `json:"opened,omitempty"`
	FailOn              string                 `json:"fail_on,omitempty"`
	FailOnMet           bool                   `json:"fail_on_met"`
}

type triageDevice struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

func runTriage(c *cli.Context) error {
	o := out{c}

	// Everything that can be checked is checked before the collection:
	// a mistake must not cost a fleet's worth of requests.
	failOn := c.String("fail-on")
	if failOn != "" && !slices.Contains(playbooks.Severities, failOn) {
		return usageError{fmt.Errorf("--fail-on %q: want one of %s", failOn, strings.Join(playbooks.Severities, ", "))}
	}
	formats, err := reportFormatList(c.String("format"))
	if err != nil {
		return err
	}
	if slices.Contains(formats, "pdf") {
		if _, err := chromium.Find(); err != nil {
			return fmt.Errorf("--format pdf: %w", err)
		}
	}
	var opener []string
	if c.Bool("open") {
		if !slices.Contains(formats, "html") {
			return usageError{errors.New("--open opens the HTML report: include html in --format")}
		}
		if opener, err = resolveOpener(os.Getenv(openerEnv), runtime.GOOS); err != nil {
			return err
		}
	}
	req, err := collectRequest(c)
	if err != nil {
		return err
	}
	src, err := triageSource(c)
	if err != nil {
		return err
	}
	var enc *preserve.Encryption
	if rs := c.StringSlice("encrypt-to"); len(rs) > 0 {
		if enc, err = preserve.ParseRecipients(rs); err != nil {
			return usageError{err}
		}
		if len(*c.Generic("identity").(*fileList)) == 0 {
			return usageError{errors.New("--encrypt-to: the analysis must decrypt the archive: pass --identity FILE holding a key of a recipient")}
		}
	}
	ids, err := loadIdentities(c)
	if err != nil {
		return err
	}
	set, err := loadIOCs(c.StringSlice("iocs"))
	if err != nil {
		return usageError{err}
	}
	if err := playbooks.AttackError(); err != nil {
		return err
	}
	if _, err := playbooks.Load(c.String("playbooks")); err != nil {
		return err
	}
	anchors, err := loadAnchors(c, c.String("case"))
	if err != nil {
		return err
	}
	signer, release, err := openSigner(c)
	if err != nil {
		return err
	}
	defer release()
	if !c.Bool("allow-unverified") {
		if err := checkTrusted(anchors, signer.PublicKey()); err != nil {
			return usageError{err}
		}
	}
	cs, err := openCaseForCollect(c)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(c)
	defer stop()

	show := newTriageDisplay(o, time.Now)
	show.begin(1, "")
	req.Progress = show.collect
	acq, err := collectInto(ctx, o, cs, src, req, os.Args)
	if err != nil {
		show.end("failed")
		return fmt.Errorf("collecting: %w", err)
	}
	show.end("acquisition %s: %d devices, %d apps, %d events, %d gaps, %d responses kept",
		acq.ID, acq.Counts.Devices, acq.Counts.Apps, acq.Counts.Events, acq.Counts.Gaps, acq.Counts.Responses)

	show.begin(2, "sealing acquisition "+acq.ID)
	at, err := sealTime()
	if err != nil {
		show.end("failed")
		return err
	}
	sealed, err := cs.Seal(acq.ID, preserve.SealOptions{
		Signer: signer, Time: at, Actor: cmp.Or(c.String("actor"), operator()), Host: hostname(),
		Tool: toolString(), Build: build(), Encrypt: enc,
	})
	if err != nil {
		show.end("failed")
		return fmt.Errorf("sealing %s: %w (the collection is kept in %s: 'custos seal --case %s' seals it)", acq.ID, err, cs.Path(preserve.StagingDir, acq.ID), cs.Dir)
	}
	show.end("%s sha256 %s, custody head %d", filepath.Base(sealed.Archive), sealed.SHA256, sealed.CustodyHead.Seq)
	if sealed.Recovered != "" {
		o.infof("note: %s", sealed.Recovered)
	}
	if others, err := cs.Unsealed(); err == nil && len(others) > 0 {
		o.infof("note: %d other finished acquisition(s) in %s are not sealed: 'custos seal --case %s' seals them", len(others), cs.Path(preserve.StagingDir), cs.Dir)
	}

	show.begin(3, "verifying the evidence and running the playbooks")
	a, findingsPath, err := analyzeCase(cs, playbooks.LoadOptions{Anchors: anchors, AllowUnverified: c.Bool("allow-unverified"), Identities: ids},
		analysisConfig{playbookDir: c.String("playbooks"), iocs: set, developerGroups: c.StringSlice("developer-group")})
	if err != nil {
		show.end("failed")
		return fmt.Errorf("analysing: %w (the evidence is sealed: fix the cause and run 'custos analyze --case %s')", err, cs.Dir)
	}
	show.end("%d device(s) from %d archive(s) with %d playbook(s): %d finding(s)", len(a.Devices), len(a.Archives), len(a.Playbooks), len(a.Findings))

	show.begin(4, "writing "+strings.Join(formats, ", "))
	outDir := cmp.Or(c.String("out"), cs.Path(preserve.ReportsDir))
	paths, err := writeReports(ctx, cs, anchors, formats, outDir)
	var pdfErr *pdfError
	switch {
	case errors.As(err, &pdfErr):
		show.end("%d report(s) in %s; no PDF: %v", len(paths), outDir, pdfErr.err)
	case err != nil:
		show.end("failed")
		return fmt.Errorf("reporting: %w (the evidence is sealed and %s written: 'custos report --case %s' renders it)", err, findingsPath, cs.Dir)
	default:
		show.end("%d report(s) in %s", len(paths), outDir)
	}

	sum := summarize(cs, acq, sealed, a, findingsPath, paths)
	sum.FailOn = failOn
	if failOn != "" {
		for _, sev := range playbooks.Severities[slices.Index(playbooks.Severities, failOn):] {
			sum.FailOnMet = sum.FailOnMet || sum.FindingsBySeverity[sev] > 0
		}
	}
	var openErr error
	if opener != nil {
		openErr = errors.New("--open: no HTML report was written")
		if i := slices.IndexFunc(paths, func(p string) bool { return strings.HasSuffix(p, ".html") }); i >= 0 {
			html, err := filepath.Abs(paths[i])
			if err != nil {
				return err
			}
			if openErr = runOpener(opener, html, c.App.Reader, c.App.ErrWriter); openErr == nil {
				sum.Opened = html
			}
		}
	}
	printTriageSummary(o, sum, a)
	if err := o.json(sum); err != nil {
		return err
	}

	// Exit status: the gate the user asked for first, then a failed
	// --open, then gaps. Every reason is printed.
	var errs []error
	if sum.FailOnMet {
		errs = append(errs, exitWith{exitFindings, fmt.Errorf("findings at or above severity %s", failOn)})
	}
	errs = append(errs, openErr)
	if pdfErr != nil {
		errs = append(errs, pdfErr)
	}
	if acq.Status != "complete" {
		errs = append(errs, fmt.Errorf("acquisition %s %w (see the visibility gaps in the report)", acq.ID, errGaps))
	}
	return errors.Join(errs...)
}

// triageSource is sourceFromFlags with an import's format read from
// --import-format (--format names the reports here).
func triageSource(c *cli.Context) (collect.Source, error) {
	if c.String("source") == "import" {
		return importSource(c.String("from"), c.String("import-format"))
	}
	return sourceFromFlags(c)
}

// checkTrusted makes sure the anchors trust the signing key in every
// namespace custos signs in: otherwise the analysis, which verifies the
// archive against them, would refuse what was just collected.
func checkTrusted(anchors *preserve.AllowedSigners, key ssh.PublicKey) error {
	for _, ns := range signerNamespaces {
		if _, err := anchors.Principals(key, ns, time.Now()); err != nil {
			return fmt.Errorf("the signing key is not trusted for %s, so the analysis would refuse the evidence: %w; "+
				"add the line 'custos keygen' printed for it to the case's allowed_signers (or --allowed-signers FILE), or pass --allow-unverified", ns, err)
		}
	}
	return nil
}

// resolveOpener returns the command that opens a file with the desktop's
// default application: env (CUSTOS_OPENER, one program) when set, else the
// platform's opener. It fails when the program cannot be found.
func resolveOpener(env, goos string) ([]string, error) {
	if env != "" {
		p, err := exec.LookPath(env)
		if err != nil {
			return nil, fmt.Errorf("--open: %s=%s: %w", openerEnv, env, err)
		}
		return []string{p}, nil
	}
	cmd := []string{"xdg-open"}
	switch goos {
	case "darwin":
		cmd = []string{"open"}
	case "windows":
		cmd = []string{"rundll32", "url.dll,FileProtocolHandler"}
	}
	p, err := exec.LookPath(cmd[0])
	if err != nil {
		return nil, fmt.Errorf("--open: no program to open the report with (%s not found): install it, set %s to one, or drop --open", cmd[0], openerEnv)
	}
	return append([]string{p}, cmd[1:]...), nil
}

// runOpener runs the opener on path and waits for it (openers return once
// the viewer is started; a terminal browser keeps the terminal). Its output
// goes to stderr: stdout is kept for --json.
func runOpener(opener []string, path string, stdin io.Reader, stderr io.Writer) error {
	cmd := exec.Command(opener[0], append(opener[1:], path)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("--open: %s %s: %w", filepath.Base(opener[0]), path, err)
	}
	return nil
}

func summarize(cs *preserve.Case, acq *collect.Acquisition, sealed *preserve.SealResult, a *playbooks.Analysis, findingsPath string, reports []string) triageSummary {
	s := triageSummary{
		Case: cs.Dir, CaseID: cs.Info.ID, AcquisitionID: acq.ID, CollectionStatus: acq.Status, Collected: acq.Counts,
		Archives: []*preserve.SealResult{sealed}, CustodyHead: sealed.CustodyHead, Findings: findingsPath,
		UnverifiedEvidence: a.Unverified, Devices: len(a.Devices), NotObservable: []triageDevice{},
		FindingCount: len(a.Findings), FindingsBySeverity: map[string]int{}, PhonesWithExecution: a.Fleet.PhonesWithExecution,
		Reports: reports,
	}
	for _, sev := range playbooks.Severities {
		s.FindingsBySeverity[sev] = 0
	}
	for _, f := range a.Findings {
		s.FindingsBySeverity[f.Severity]++
		if f.Role == "execution" {
			s.ExecutionFindings++
		} else {
			s.ContextFindings++
		}
	}
	for _, d := range a.Devices {
		if d.State == playbooks.StateNotObservable {
			s.NotObservable = append(s.NotObservable, triageDevice{d.Key, d.Name})
		}
	}
	return s
}

// summaryFindings is how many findings the summary lists, most severe
// first; the reports have them all.
const summaryFindings = 10

// printTriageSummary prints the summary on one screen.
func printTriageSummary(o out, s triageSummary, a *playbooks.Analysis) {
	o.text("\ncustos triage: case %s in %s", s.CaseID, s.Case)
	o.text("devices         %d in scope, %d not observable, %d phone(s) with execution findings", s.Devices, len(s.NotObservable), s.PhonesWithExecution)
	var bySev []string
	for _, sev := range slices.Backward(playbooks.Severities) {
		if n := s.FindingsBySeverity[sev]; n > 0 {
			bySev = append(bySev, fmt.Sprintf("%d %s", n, sev))
		}
	}
	if len(bySev) > 0 {
		o.text("findings        %d: %s", s.FindingCount, strings.Join(bySev, ", "))
	} else {
		o.text("findings        none (a finding needs telemetry: see what was not observable)")
	}
	if s.FindingCount > 0 {
		o.text("                %d execution (%s), %d context", s.ExecutionFindings, a.Tactic.ID, s.ContextFindings)
	}
	fs := slices.Clone(a.Findings)
	slices.SortStableFunc(fs, func(x, y playbooks.Finding) int {
		return slices.Index(playbooks.Severities, y.Severity) - slices.Index(playbooks.Severities, x.Severity)
	})
	for _, f := range fs[:min(len(fs), summaryFindings)] {
		name := f.DeviceName
		if f.App != nil {
			name += ": " + f.App.Name
		}
		o.text("  [%s/%s] %s — %s", f.Severity, f.Confidence, f.Title, termSafe(name))
	}
	if len(fs) > summaryFindings {
		o.text("  … and %d more in the reports", len(fs)-summaryFindings)
	}
	if len(s.NotObservable) > 0 {
		var names []string
		for _, d := range s.NotObservable[:min(len(s.NotObservable), 5)] {
			names = append(names, termSafe(d.Name))
		}
		more := ""
		if len(s.NotObservable) > 5 {
			more = fmt.Sprintf(" and %d more", len(s.NotObservable)-5)
		}
		o.text("not observable  %s%s: not clean, unseen (see the reports' coverage)", strings.Join(names, ", "), more)
	}
	for _, ar := range s.Archives {
		verified := "verified"
		if i := slices.IndexFunc(a.Archives, func(r playbooks.ArchiveRef) bool { return r.SHA256 == ar.SHA256 }); i < 0 || !a.Archives[i].Verified {
			verified = "NOT VERIFIED (--allow-unverified)"
		}
		o.text("evidence        %s\n                sha256 %s, %s", ar.Archive, ar.SHA256, verified)
	}
	o.text("custody         head %s", s.CustodyHead)
	o.text("findings        %s", s.Findings)
	label := "reports"
	for _, p := range s.Reports {
		o.text("%-16s%s", label, p)
		label = ""
	}
	if s.CollectionStatus != "complete" {
		o.text("collection      %s: %d gap(s) recorded", strings.ReplaceAll(s.CollectionStatus, "_", " "), s.Collected.Gaps)
	}
	if s.UnverifiedEvidence {
		o.text("WARNING         some evidence failed verification and was analysed anyway (--allow-unverified)")
	}
}

// termSafe escapes the control and bidirectional-override characters of a
// device-supplied string (device and app names are attacker-controlled),
// so that printing it cannot drive the terminal or reorder the line.
func termSafe(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// triageDisplay is the one progress display of a triage run, on stderr:
// each stage has a line "[2/4 seal] …" that ends with what it did. The
// collect stage's line is the collection's bar (progress.go) redrawn in
// place on a terminal; elsewhere it is the periodic plain lines, under the
// same prefix. Nothing with --quiet or --no-progress.
type triageDisplay struct {
	mu       sync.Mutex
	p        *progress // writer, terminal, width and clock
	prefix   string
	start    time.Time
	live     bool // a line is drawn in place and not ended yet
	lastDraw time.Time
	lastStep int
}

func newTriageDisplay(o out, now func() time.Time) *triageDisplay {
	return &triageDisplay{p: newProgress(o, now)}
}

// begin starts stage n (1-based) with what it is doing. On a terminal the
// collect stage draws nothing until its first progress, so messages the
// collection prints first are not mixed into the line.
func (d *triageDisplay) begin(n int, doing string) {
	if d.p.off {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prefix = fmt.Sprintf("[%d/%d %s] ", n, len(triageStages), triageStages[n-1])
	d.start, d.lastStep, d.lastDraw = d.p.now(), -1, time.Time{}
	if doing == "" {
		return
	}
	if d.p.tty {
		fmt.Fprint(d.p.w, "\r"+d.prefix+doing+"…\x1b[K")
		d.live = true
		return
	}
	fmt.Fprintln(d.p.w, d.prefix+doing)
}

// collect is collect.Request.Progress for the collect stage: it never
// blocks for long.
func (d *triageDisplay) collect(s collect.Progress) {
	if d.p.off {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.p.now()
	done, total := s.Units()
	if d.p.tty {
		if now.Sub(d.lastDraw) >= 100*time.Millisecond || done == total {
			fmt.Fprint(d.p.w, "\r"+d.prefix+renderBar(s, now.Sub(d.start), d.p.width-len(d.prefix))+"\x1b[K")
			d.lastDraw, d.live = now, true
		}
		return
	}
	if step := done * 10 / max(total, 1); step != d.lastStep || now.Sub(d.lastDraw) >= 10*time.Second {
		d.lastStep, d.lastDraw = step, now
		fmt.Fprintln(d.p.w, d.prefix+progressLine(s, now.Sub(d.start)))
	}
}

// end ends the stage's line with what the stage did and how long it took.
func (d *triageDisplay) end(format string, args ...any) {
	if d.p.off {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	line := d.prefix + fmt.Sprintf(format, args...) + " (" + d.p.now().Sub(d.start).Round(10*time.Millisecond).String() + ")"
	if d.live {
		line = "\r" + line + "\x1b[K"
	}
	fmt.Fprintln(d.p.w, line)
	d.live = false
}
