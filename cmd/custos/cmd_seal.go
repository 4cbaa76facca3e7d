package main

import (
	"cmp"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/preserve"
)

func sealCommand() *cli.Command {
	return &cli.Command{
		Name:      "seal",
		Usage:     "seal finished acquisitions into signed evidence archives and start their custody log",
		UsageText: "custos seal --case DIR --key FILE [--acquisition ID]",
		Flags: commonFlags(
			caseFlag,
			&cli.StringFlag{Name: "key", Usage: "OpenSSH private key to sign with (passphrase from CUSTOS_KEY_PASSPHRASE_FILE)"},
			&cli.StringFlag{Name: "acquisition", Usage: "seal only this acquisition id (default: every finished, unsealed one)"},
			&cli.StringFlag{Name: "actor", Usage: "who seals, for the custody log (default: the current user)"},
		),
		Action: func(c *cli.Context) error {
			o := out{c}
			cs, err := preserve.OpenCase(c.String("case"))
			if err != nil {
				return err
			}
			signer, err := loadSigner(c.String("key"))
			if err != nil {
				return err
			}
			ids := []string{c.String("acquisition")}
			if ids[0] == "" {
				if ids, err = unsealed(cs); err != nil {
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
				res, err := cs.Seal(id, preserve.SealOptions{Signer: signer, Time: at, Actor: cmp.Or(c.String("actor"), operator()), Host: hostname(), Tool: toolString()})
				if err != nil {
					return fmt.Errorf("sealing %s: %w", id, err)
				}
				o.text("sealed %s\n  sha256 %s\n  signer %s\n  custody head %s", res.Archive, res.SHA256, res.Fingerprint, res.CustodyHead)
				results = append(results, res)
			}
			return o.json(results)
		},
	}
}

// unsealed lists finished acquisitions in staging without an archive.
func unsealed(cs *preserve.Case) ([]string, error) {
	des, err := os.ReadDir(cs.Path(preserve.StagingDir))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, de := range des {
		if !de.IsDir() {
			continue
		}
		if _, err := os.Stat(cs.Path(preserve.StagingDir, de.Name(), preserve.StagedAcquisitionFile)); err != nil {
			continue
		}
		if _, err := os.Stat(cs.ArchivePath(de.Name())); err == nil {
			continue
		}
		ids = append(ids, de.Name())
	}
	return ids, nil
}
