package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/preserve"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify evidence archives (signatures, manifests, completeness, structure) and their custody log",
		UsageText: "custos verify [--allowed-signers FILE] [--expect-head SEQ:SHA256] ARCHIVE...",
		Flags: commonFlags(
			anchorsFlag,
			&cli.StringFlag{Name: "expect-head", Usage: "fail unless the custody log's head is SEQ:SHA256 (detects a truncated or rolled-back log)"},
		),
		Action: func(c *cli.Context) error {
			o := out{c}
			if c.NArg() == 0 {
				return usageError{errors.New("name at least one archive to verify")}
			}
			var expect *preserve.Head
			if s := c.String("expect-head"); s != "" {
				h, err := preserve.ParseHead(s)
				if err != nil {
					return usageError{err}
				}
				expect = &h
			}
			// Without --allowed-signers the trust anchor is the case's own
			// allowed_signers next to evidence/, never a file from inside
			// an archive.
			caseDir := filepath.Dir(filepath.Dir(c.Args().First()))
			anchors, err := loadAnchors(c, caseDir)
			if err != nil {
				return err
			}
			type result struct {
				Report  *preserve.ArchiveReport  `json:"archive"`
				Custody *preserve.ArchiveCustody `json:"custody,omitempty"`
				Errors  []preserve.Failure       `json:"failures,omitempty"`
			}
			var results []result
			var failed []string
			for _, path := range c.Args().Slice() {
				rep, err := preserve.VerifyArchive(path, preserve.VerifyOptions{Anchors: anchors})
				var ve *preserve.VerifyError
				if err != nil && !errors.As(err, &ve) {
					return err
				}
				r := result{Report: rep}
				if ve != nil {
					r.Errors = ve.Failures
				}
				cr, cfails := checkArchiveCustody(path, rep, anchors, expect)
				r.Custody = cr
				r.Errors = append(r.Errors, cfails...)
				if len(r.Errors) > 0 {
					failed = append(failed, path)
					o.text("FAILED %s", path)
					for _, f := range r.Errors {
						o.text("  %s", f)
					}
				} else {
					o.text("OK %s\n  sha256 %s\n  bag %s (%d payload files, %d bytes)\n  signed by %s (%s)",
						path, rep.SHA256, rep.Bag, rep.PayloadFiles, rep.PayloadBytes, strings.Join(rep.SignerPrincipals, ", "), rep.SignerKey)
					if cr != nil {
						o.text("  custody head %s (%d entries)", cr.Head, cr.Entries)
					} else {
						o.text("  custody: no custody log next to the archive (not checked)")
					}
				}
				results = append(results, r)
			}
			if err := o.json(results); err != nil {
				return err
			}
			if len(failed) > 0 {
				return exitWith{exitVerify, fmt.Errorf("verification failed for %s", strings.Join(failed, ", "))}
			}
			return nil
		},
	}
}

// checkArchiveCustody checks the custody log of the case holding the
// archive, when the archive sits in CASE/evidence/ next to CASE/custody/.
// Without a log there is nothing to check, unless a head was expected.
func checkArchiveCustody(path string, rep *preserve.ArchiveReport, anchors *preserve.AllowedSigners, expect *preserve.Head) (*preserve.ArchiveCustody, []preserve.Failure) {
	dir := filepath.Join(filepath.Dir(filepath.Dir(path)), preserve.CustodyDir)
	if _, err := os.Stat(dir); err != nil {
		if expect != nil {
			return nil, []preserve.Failure{{File: "custody", Check: "custody head", Detail: "no custody log next to the archive"}}
		}
		return nil, nil
	}
	sum := ""
	if rep != nil {
		sum = rep.SHA256
	}
	log := &preserve.CustodyLog{Dir: dir}
	res, fails, err := log.CheckArchive(filepath.Base(path), sum, anchors, expect)
	if err != nil {
		fails = append(fails, preserve.Failure{File: "custody", Check: "custody log", Detail: err.Error()})
	}
	return &res, fails
}
