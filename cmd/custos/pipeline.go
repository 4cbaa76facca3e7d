package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/fsutil"
	"github.com/custos-ir/custos/internal/redact"
	"github.com/custos-ir/custos/iocs"
	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
	"github.com/custos-ir/custos/report"
	"github.com/custos-ir/custos/report/chromium"
)

// The functions here are the stages every command shares: collect, seal,
// verify, analyze and report. Commands and the demo call them in order.

// collectInto runs src into a staging directory of the case and returns
// the finished acquisition. When an earlier run of the same collection
// (same case, source, endpoints and targets) was interrupted, its staging
// directory is resumed instead of starting again.
func collectInto(ctx context.Context, o out, c *preserve.Case, src collect.Source, req collect.Request, args []string) (*collect.Acquisition, error) {
	root := c.Path(preserve.StagingDir)
	fp := runFingerprint(c.Info.ID, src.Describe(), req)
	dir, err := collect.FindResumable(root, fp)
	if err != nil {
		return nil, err
	}
	var st *collect.Staging
	if dir != "" {
		if st, err = collect.ResumeStaging(dir, time.Now()); err != nil {
			return nil, fmt.Errorf("resuming %s: %w", dir, err)
		}
		o.infof("resuming the interrupted collection in %s", dir)
	} else {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(root, id.String())
		if st, err = collect.NewResumableStaging(dir, fp, time.Now()); err != nil {
			return nil, err
		}
	}
	if v := os.Getenv(checkpointIntervalEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			st.Abort()
			return nil, usageError{fmt.Errorf("%s=%q: want a duration such as 1s or 200ms", checkpointIntervalEnv, v)}
		}
		st.SetCheckpointInterval(d)
	}
	id := filepath.Base(dir)
	acq := &collect.Acquisition{
		ID:          id,
		CaseID:      c.Info.ID,
		Operator:    operator(),
		Host:        hostname(),
		Tool:        collect.Tool{Name: "custos", Version: version(), Build: build()},
		CommandLine: redact.Args(args),
	}
	if err := collect.Run(ctx, src, req, st, acq, time.Now); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: staging %s left unfinished; rerun the same command to resume it", errInterrupted, id)
		}
		if errors.Is(err, collect.ErrAuth) && st.Resumed() == nil && st.Counts() == (collect.Counts{}) {
			// Nothing was collected: leave nothing behind.
			os.RemoveAll(dir)
			os.Remove(collect.CheckpointPath(dir))
		}
		return nil, err
	}
	return acq, nil
}

// checkpointIntervalEnv overrides how often a collection checkpoints
// (default collect.DefaultCheckpointInterval): shorter loses less work to a
// crash, at the cost of more fsyncs.
const checkpointIntervalEnv = "CUSTOS_CHECKPOINT_INTERVAL"

// runFingerprint names a collection: the same case, source, endpoints,
// tenant, principal and targets give the same fingerprint, so a rerun of
// an interrupted command finds its staging directory.
func runFingerprint(caseID string, d collect.Descriptor, req collect.Request) string {
	targets := []string{"all"}
	if !req.All {
		targets = targets[:0]
		for _, s := range req.Selectors {
			targets = append(targets, s.String())
		}
		slices.Sort(targets)
	}
	b, _ := json.Marshal(struct {
		Case       string
		Source     string
		API        string
		Tenant     string
		Principal  string
		Endpoints  []string
		Targets    []string
		StaleAfter time.Duration
		Since      time.Time
	}{caseID, d.Name, d.API, d.Tenant, d.Principal, d.Endpoints, targets, req.StaleAfter, req.Since.UTC()})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// analyzeCase verifies and reads every archive of the case, runs the
// playbooks and writes analysis/findings.json.
// analysisConfig is what an analysis adds to the evidence.
type analysisConfig struct {
	playbookDir     string    // added to or overriding the built-in playbooks
	iocs            *iocs.Set // indicators to match
	developerGroups []string  // device categories of developers' devices
}

func analyzeCase(c *preserve.Case, opts playbooks.LoadOptions, cfg analysisConfig) (*playbooks.Analysis, string, error) {
	if err := playbooks.AttackError(); err != nil {
		return nil, "", err
	}
	pbs, err := playbooks.Load(cfg.playbookDir)
	if err != nil {
		return nil, "", err
	}
	archives, err := c.Archives()
	if err != nil {
		return nil, "", err
	}
	if len(archives) == 0 {
		return nil, "", fmt.Errorf("case %s has no sealed evidence: run 'custos seal --case %s' first", c.Info.ID, c.Dir)
	}
	an := playbooks.NewAnalyzer(pbs, playbooks.Options{IOCs: cfg.iocs, Now: time.Now(), Tool: toolString(), DeveloperGroups: cfg.developerGroups})
	opts.Analyzer = an
	in, err := playbooks.LoadEvidence(archives, opts)
	if err != nil {
		return nil, "", err
	}
	a, err := an.Finish(in)
	if err != nil {
		return nil, "", err
	}
	for _, ar := range a.Archives {
		if !ar.Verified {
			a.Unverified = true
		}
	}
	if err := playbooks.AddExcerpts(a, c.Path(preserve.EvidenceDir), opts); err != nil {
		return nil, "", err
	}
	path := c.Path(preserve.AnalysisDir, "findings.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, "", err
	}
	if err := fsutil.WriteWith(path, 0o644, a.WriteJSON); err != nil {
		return nil, "", err
	}
	return a, path, nil
}

// loadIOCs loads the indicator bundles of --iocs; with none, the analysis
// matches no indicators (and says which bundles it used: none).
func loadIOCs(paths []string) (*iocs.Set, error) {
	set, err := iocs.Load(paths...)
	if err != nil {
		return nil, fmt.Errorf("--iocs: %w", err)
	}
	return set, nil
}

// reportFormats are the formats rendered from the report model, by name
// (--format), with the file each is written to. "pdf" is not among them:
// it is report.html printed by a headless Chromium.
var reportFormats = map[string]struct {
	file   string
	render func(io.Writer, *report.Model) error
}{
	"html": {"report.html", report.HTML},
	"md":   {"report.md", report.Markdown},
	"json": {"report.json", report.JSON},
	"csv":  {"timeline.csv", report.TimelineCSV},
	"ocsf": {"report.ocsf.json", report.OCSF},
	"case": {"report.case.jsonld", report.CASE},
}

// defaultReportFormats are what `custos report` writes unless told
// otherwise; "all" adds the PDF.
const defaultReportFormats = "html,md,json,csv,ocsf,case"

// reportFormatList expands a --format value: names separated by commas,
// "all" for every format and the PDF. Unknown names are a usage error.
func reportFormatList(value string) ([]string, error) {
	known := slices.Sorted(maps.Keys(reportFormats))
	var out []string
	for _, f := range strings.Split(value, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch {
		case f == "all":
			out = append(out, known...)
			out = append(out, "pdf")
		case f == "pdf" || reportFormats[f].render != nil:
			out = append(out, f)
		case f == "":
		default:
			return nil, usageError{fmt.Errorf("report format %q is not available (this version renders %s, pdf, or all)", f, strings.Join(known, ", "))}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(formatRank(a), formatRank(b)) })
	return slices.Compact(out), nil
}

// formatRank orders the reports as they are listed: the ones people
// read first.
func formatRank(f string) int {
	if i := slices.Index([]string{"html", "pdf", "md", "json", "csv", "ocsf", "case"}, f); i >= 0 {
		return i
	}
	return 100
}

// writeReports renders the case's findings into outDir in each format
// (names as reportFormatList gives them; "pdf" prints report.html, which
// it writes too).
//
// A PDF that cannot be printed is a *pdfError, returned with the paths of
// the reports written: callers for which the PDF is optional go on.
func writeReports(ctx context.Context, c *preserve.Case, anchors *preserve.AllowedSigners, formats []string, outDir string) ([]string, error) {
	formats, err := reportFormatList(strings.Join(formats, ","))
	if err != nil {
		return nil, err
	}
	if slices.Contains(formats, "pdf") && !slices.Contains(formats, "html") {
		formats = append(formats, "html")
	}
	data, err := os.ReadFile(c.Path(preserve.AnalysisDir, "findings.json"))
	if err != nil {
		return nil, fmt.Errorf("reading findings: %w (run 'custos analyze --case %s' first)", err, c.Dir)
	}
	var a playbooks.Analysis
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("reading findings.json: %w", err)
	}
	in := report.Input{Case: c.Info, Analysis: &a, Generated: time.Now().UTC().Truncate(time.Second), Tool: toolString()}
	entries, head, err := c.Custody().Verify(anchors)
	in.Custody, in.Head = entries, head
	if err != nil {
		in.CustodyErr = err.Error()
	}
	in.Acquisitions, in.AcquisitionNotes = readAcquisitions(c, a.Archives)
	m := report.Build(in)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range formats {
		if f == "pdf" {
			continue
		}
		rf := reportFormats[f]
		p := filepath.Join(outDir, rf.file)
		if err := fsutil.WriteWith(p, 0o644, func(w io.Writer) error { return rf.render(w, m) }); err != nil {
			return nil, fmt.Errorf("writing %s: %w", rf.file, err)
		}
		paths = append(paths, p)
	}
	if slices.Contains(formats, "pdf") {
		p := filepath.Join(outDir, "report.pdf")
		if err := chromium.PrintPDF(ctx, filepath.Join(outDir, reportFormats["html"].file), p, 2*time.Minute); err != nil {
			return paths, &pdfError{err}
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// pdfError is a PDF that could not be printed; the other reports were
// written.
type pdfError struct{ err error }

func (e *pdfError) Error() string { return "report.pdf: " + e.err.Error() }
func (e *pdfError) Unwrap() error { return e.err }

// readAcquisitions reads back the acquisition record of each archive the
// analysis read, for the report's method: the command line, the sources
// and their endpoints, the time window. The record is near the start of
// the archive; the rest is hashed, not decoded, and the archive must be
// the one analysed (its digest). An archive that cannot be read so (an
// encrypted one, one missing or changed) gets a note instead.
func readAcquisitions(c *preserve.Case, archives []playbooks.ArchiveRef) ([]collect.Acquisition, []string) {
	var acqs []collect.Acquisition
	var notes []string
	for _, ar := range archives {
		if strings.HasSuffix(ar.Name, preserve.EncryptedSuffix) {
			notes = append(notes, fmt.Sprintf("The acquisition record of %s is not shown: the archive is encrypted.", ar.Name))
			continue
		}
		var acq *collect.Acquisition
		err := preserve.RereadArchive(c.Path(preserve.EvidenceDir, ar.Name), nil, ar.SHA256, func(name string, r io.Reader) (bool, error) {
			if name != preserve.PayloadDir+"/"+collect.AcquisitionFile {
				return false, nil
			}
			var a collect.Acquisition
			if err := json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(&a); err != nil {
				return true, err
			}
			acq = &a
			return true, nil
		})
		switch {
		case err != nil:
			notes = append(notes, fmt.Sprintf("The acquisition record of %s is not shown: %v.", ar.Name, err))
		case acq == nil:
			notes = append(notes, fmt.Sprintf("The acquisition record of %s is not shown: the archive has none.", ar.Name))
		default:
			acqs = append(acqs, *acq)
		}
	}
	return acqs, notes
}

// recordVerified appends a verified custody entry for an archive that
// passed verification, naming the file verified and its digest.
func recordVerified(log *preserve.CustodyLog, rep *preserve.ArchiveReport, actor string, signer ssh.Signer) (preserve.Head, error) {
	name := filepath.Base(rep.Archive)
	return log.Append(preserve.Entry{
		Time: time.Now().UTC(), Action: preserve.ActionVerified, Actor: actor,
		Archive: name, ArchiveSHA256: rep.Digests()[name], AcquisitionID: rep.AcquisitionID,
		Tool: toolString(), Host: hostname(),
		Note: fmt.Sprintf("verified by %s: %s", toolString(), strings.Join(rep.Passed(), ", ")),
	}, signer)
}
