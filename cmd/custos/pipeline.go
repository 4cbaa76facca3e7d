package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/fsutil"
	"github.com/custos-ir/custos/internal/redact"
	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
	"github.com/custos-ir/custos/report"
)

// The functions here are the stages every command shares: collect, seal,
// verify, analyze and report. Commands and the demo call them in order.

// collectInto runs src into a new staging directory of the case and
// returns the finished acquisition.
func collectInto(ctx context.Context, c *preserve.Case, src collect.Source, req collect.Request, args []string) (*collect.Acquisition, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	st, err := collect.NewStaging(c.Path(preserve.StagingDir, id.String()))
	if err != nil {
		return nil, err
	}
	acq := &collect.Acquisition{
		ID:          id.String(),
		CaseID:      c.Info.ID,
		Operator:    operator(),
		Host:        hostname(),
		Tool:        collect.Tool{Name: "custos", Version: version(), Build: build()},
		CommandLine: redact.Args(args),
	}
	if err := collect.Run(ctx, src, req, st, acq, time.Now); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: staging %s left unfinished", errInterrupted, id)
		}
		return nil, err
	}
	return acq, nil
}

// analyzeCase verifies and reads every archive of the case, runs the
// playbooks and writes analysis/findings.json.
func analyzeCase(c *preserve.Case, opts playbooks.LoadOptions, playbookDir string) (*playbooks.Analysis, string, error) {
	pbs, err := playbooks.Load(playbookDir)
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
	in, err := playbooks.LoadEvidence(archives, opts)
	if err != nil {
		return nil, "", err
	}
	a, err := playbooks.Analyze(in, pbs, time.Now(), toolString())
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
	if err := writeJSON(path, a); err != nil {
		return nil, "", err
	}
	return a, path, nil
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return fsutil.WriteWith(path, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// reportFormats are the formats this version renders.
var reportFormats = map[string]struct {
	file   string
	render func(io.Writer, *report.Model) error
}{
	"html": {"report.html", report.HTML},
	"md":   {"report.md", report.Markdown},
}

// writeReports renders the case's findings into outDir.
func writeReports(c *preserve.Case, anchors *preserve.AllowedSigners, formats []string, outDir string) ([]string, error) {
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
	m := report.Build(in)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range formats {
		rf, ok := reportFormats[f]
		if !ok {
			return nil, usageError{fmt.Errorf("report format %q is not available (this version renders html, md)", f)}
		}
		p := filepath.Join(outDir, rf.file)
		if err := fsutil.WriteWith(p, 0o644, func(w io.Writer) error { return rf.render(w, m) }); err != nil {
			return nil, fmt.Errorf("writing %s: %w", rf.file, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
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
