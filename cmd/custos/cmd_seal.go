package main

import (
	"cmp"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/preserve"
)

func sealCommand() *cli.Command {
	return &cli.Command{
		Name:      "seal",
		Usage:     "seal finished acquisitions into signed evidence archives and start their custody log",
		UsageText: "custos seal --case DIR (--key FILE | --agent) [--encrypt-to RECIPIENT]... [--acquisition ID]",
		Flags: commonFlags(
			caseFlag,
			keyFlag, agentFlag,
			&cli.StringFlag{Name: "acquisition", Usage: "seal only this acquisition id (default: every finished, unsealed one)"},
			&cli.StringFlag{Name: "actor", Usage: "who seals, for the custody log (default: the current user)"},
			&cli.StringSliceFlag{Name: "encrypt-to", Usage: "encrypt the archive at rest to this age recipient (age1…), SSH public key (ssh-ed25519 …, ssh-rsa …) or recipients file; repeatable. Only <archive>.age is written; signatures stay over the plaintext"},
		),
		Action: func(c *cli.Context) error {
			o := out{c}
			boundMemory()
			cs, signer, release, err := openCaseSigner(c)
			if err != nil {
				return err
			}
			defer release()
			var enc *preserve.Encryption
			if rs := c.StringSlice("encrypt-to"); len(rs) > 0 {
				if enc, err = preserve.ParseRecipients(rs); err != nil {
					return usageError{err}
				}
			}
			ids := []string{c.String("acquisition")}
			if ids[0] == "" {
				if ids, err = cs.Unsealed(); err != nil {
					return err
				}
				if len(ids) == 0 {
					return fmt.Errorf("nothing to seal in %s: no finished, unsealed acquisition", cs.Path(preserve.StagingDir))
				}
			}
			at, err := sealTime()
			if err != nil {
				return err
			}
			var results []*preserve.SealResult
			for _, id := range ids {
				res, err := cs.Seal(id, preserve.SealOptions{
					Signer: signer, Time: at, Actor: cmp.Or(c.String("actor"), operator()), Host: hostname(),
					Tool: toolString(), Build: build(), Encrypt: enc,
				})
				if err != nil {
					return fmt.Errorf("sealing %s: %w", id, err)
				}
				if res.Recovered != "" {
					o.infof("note: %s", res.Recovered)
				}
				o.text("sealed %s\n  sha256 %s\n  signer %s\n  custody head %s", res.Archive, res.SHA256, res.Fingerprint, res.CustodyHead)
				if res.CiphertextSHA256 != "" {
					o.text("  encrypted to %d recipient(s), ciphertext sha256 %s", len(enc.Recipients), res.CiphertextSHA256)
				}
				results = append(results, res)
			}
			return o.json(results)
		},
	}
}
