package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/preserve"
)

// fileList is a repeatable flag of file names. Unlike cli.StringSliceFlag
// it does not split values on commas, which may be part of a file name.
type fileList []string

func (l *fileList) Set(v string) error { *l = append(*l, v); return nil }
func (l *fileList) String() string     { return strings.Join(*l, ", ") }

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify evidence archives (signatures, manifests, completeness, structure) and their custody log",
		UsageText: "custos verify [--allowed-signers FILE] [--expect-head SEQ:SHA256] [--identity FILE]... [--record (--key FILE | --agent)] ARCHIVE...",
		Description: "ARCHIVE is CASE/evidence/<bag>.tar.zst, or <bag>.tar.zst.age for an archive encrypted at rest:\n" +
			"it is decrypted on the fly with --identity and checked like any other (decrypting proves nothing\n" +
			"about who made it). Every failure names the file and the check; with --json each archive's\n" +
			"\"checks\" list every check, passed, skipped or failed.",
		Flags: commonFlags(
			anchorsFlag,
			&cli.StringFlag{Name: "expect-head", Usage: "fail unless the custody log's head is SEQ:SHA256 (detects a truncated or rolled-back log)"},
			&cli.BoolFlag{Name: "record", Usage: "append a signed 'verified' entry to the custody log of each archive that passes (needs --key or --agent)"},
			&cli.StringFlag{Name: "actor", Usage: "who verifies, for --record (default: the current user)"},
			keyFlag, agentFlag,
			identityFlag(),
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
			ids, err := loadIdentities(c)
			if err != nil {
				return err
			}
			var signer ssh.Signer
			if c.Bool("record") {
				s, release, err := openSigner(c)
				if err != nil {
					return err
				}
				defer release()
				signer = s
			}
			boundMemory()
			type result struct {
				Path     string                   `json:"path"`
				OK       bool                     `json:"ok"`
				Report   *preserve.ArchiveReport  `json:"archive"`
				Custody  *preserve.ArchiveCustody `json:"custody,omitempty"`
				Failures []preserve.Failure       `json:"failures"`
			}
			results := []result{}
			var failed []string
			for _, path := range c.Args().Slice() {
				rep, err := preserve.VerifyArchive(path, preserve.VerifyOptions{Anchors: anchors, Identities: ids})
				var ve *preserve.VerifyError
				if err != nil && !errors.As(err, &ve) {
					return err
				}
				r := result{Path: path, Report: rep, Failures: []preserve.Failure{}}
				if ve != nil {
					r.Failures = append(r.Failures, ve.Failures...)
				}
				cr, checks, cfails := checkArchiveCustody(path, rep, anchors, expect)
				r.Custody = cr
				r.Failures = append(r.Failures, cfails...)
				rep.Results = append(rep.Results, checks...)
				r.OK = len(r.Failures) == 0
				if !r.OK {
					failed = append(failed, path)
					o.text("FAILED %s", path)
					for _, f := range r.Failures {
						o.text("  %s", f)
					}
				} else {
					o.text("OK %s\n  sha256 %s", path, rep.SHA256)
					if rep.CiphertextSHA256 != "" {
						o.text("  ciphertext sha256 %s", rep.CiphertextSHA256)
					}
					o.text("  bag %s (%d payload files, %d bytes)\n  signed by %s (%s) at the claimed seal time %s",
						rep.Bag, rep.PayloadFiles, rep.PayloadBytes, strings.Join(rep.SignerPrincipals, ", "), rep.SignerKey, rep.SealedAt)
					if cr != nil {
						o.text("  custody head %s (%d entries)", cr.Head, cr.Entries)
						if signer != nil {
							head, err := recordVerified(custodyLogFor(path), rep, cmp.Or(c.String("actor"), operator()), signer)
							if err != nil {
								return fmt.Errorf("recording the verification: %w", err)
							}
							cr.Recorded = &head
							o.text("  recorded: verified entry, custody head now %s", head)
						}
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

// identityFlag is --identity, for every command that reads archives.
func identityFlag() cli.Flag {
	return &cli.GenericFlag{Name: "identity", Value: &fileList{}, Usage: "decrypt .age archives with the age identity file or OpenSSH private key (ed25519, RSA) in `FILE`; " +
		"repeatable. An encrypted key's passphrase comes from the file named by " + preserve.PassphraseEnv + ", else from the terminal"}
}

// loadIdentities reads every --identity file. An encrypted SSH key's
// passphrase is asked for only when an archive needs that key.
func loadIdentities(c *cli.Context) ([]age.Identity, error) {
	files := *c.Generic("identity").(*fileList)
	ks := keySourceFrom(c)
	var ids []age.Identity
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading --identity: %w", err)
		}
		pass := func() ([]byte, error) {
			if ks.passphraseFile == "" && ks.prompt == nil {
				return nil, fmt.Errorf("%s is passphrase-protected and stdin is not a terminal to ask on: set %s to a file holding the passphrase", name, preserve.PassphraseEnv)
			}
			return ks.passphrase(name)
		}
		got, err := preserve.LoadIdentities(data, pass)
		clear(data)
		if err != nil {
			return nil, fmt.Errorf("--identity %s: %w", name, err)
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// custodyLogFor is the custody log of the case holding an archive in
// CASE/evidence/.
func custodyLogFor(archive string) *preserve.CustodyLog {
	return &preserve.CustodyLog{Dir: filepath.Join(filepath.Dir(filepath.Dir(archive)), preserve.CustodyDir)}
}

// The custody checks, in the order they are reported.
var custodyChecks = []string{"custody log", "custody entry", "custody signature", "custody signer", "custody sequence",
	"custody link", "custody fork", "custody time order", "custody archive digest", "custody coverage", "custody head"}

// checkArchiveCustody checks the custody log of the case holding the
// archive, when the archive sits in CASE/evidence/ next to CASE/custody/:
// entries naming <bag>.tar.zst must record the plaintext's sha256, entries
// naming <bag>.tar.zst.age the ciphertext's. Without a log there is nothing
// to check, unless a head was expected. It returns the custody summary, one
// check result per custody check, and the failures.
func checkArchiveCustody(path string, rep *preserve.ArchiveReport, anchors *preserve.AllowedSigners, expect *preserve.Head) (*preserve.ArchiveCustody, []preserve.Check, []preserve.Failure) {
	dir := custodyLogFor(path).Dir
	plan := func(status, detail string) []preserve.Check {
		var out []preserve.Check
		for _, c := range custodyChecks {
			out = append(out, preserve.Check{Check: c, File: "custody", Status: status, Detail: detail})
		}
		return out
	}
	if _, err := os.Stat(dir); err != nil {
		if expect != nil {
			fails := []preserve.Failure{{File: "custody", Check: "custody head", Detail: "no custody log next to the archive"}}
			return nil, preserve.MergeChecks(plan(preserve.StatusSkipped, "no custody log next to the archive"), fails), fails
		}
		return nil, plan(preserve.StatusSkipped, "no custody log next to the archive"), nil
	}
	log := custodyLogFor(path)
	base := filepath.Base(path)
	plainName := strings.TrimSuffix(base, preserve.EncryptedSuffix)
	res, fails, err := log.CheckArchive(rep.Digests(), anchors, expect)
	if err != nil {
		fails = append(fails, preserve.Failure{File: "custody", Check: "custody log", Detail: err.Error()})
	}
	checks := plan(preserve.StatusPass, fmt.Sprintf("%d entries", res.Entries))
	for i := range checks {
		switch checks[i].Check {
		case "custody archive digest":
			checks[i].Detail = "entries naming " + plainName + " record sha256 " + rep.SHA256
			if base != plainName {
				checks[i].Detail += "; entries naming " + base + " record sha256 " + rep.CiphertextSHA256
			}
		case "custody coverage":
			checks[i].Detail = "entries name " + plainName
			if base != plainName {
				checks[i].Detail += " and " + base
			}
		case "custody head":
			if expect == nil {
				checks[i].Status, checks[i].Detail = preserve.StatusSkipped, fmt.Sprintf("no --expect-head given; the head is %s: compare it with the case record", res.Head)
			} else {
				checks[i].Detail = fmt.Sprintf("head is %s as expected", res.Head)
			}
		}
	}
	return &res, preserve.MergeChecks(checks, fails), fails
}
