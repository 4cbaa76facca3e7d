package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/internal/fsutil"
	"github.com/custos-ir/custos/preserve"
)

// signerNamespaces are the namespaces a custos examiner key signs in.
var signerNamespaces = []string{preserve.NamespaceEvidence, preserve.NamespaceArchive, preserve.NamespaceCustody}

func keygenCommand() *cli.Command {
	return &cli.Command{
		Name:      "keygen",
		Usage:     "create an OpenSSH ed25519 signing key and print its allowed_signers line",
		UsageText: "custos keygen [--out FILE] [--comment PRINCIPAL]",
		Flags: commonFlags(
			&cli.StringFlag{Name: "out", Value: "custos_ed25519", Usage: "private key file; the public key goes to FILE.pub"},
			&cli.StringFlag{Name: "comment", Usage: "principal (e-mail) of the key holder (default USER@HOST)"},
		),
		Action: func(c *cli.Context) error {
			o := out{c}
			path := c.String("out")
			principal := cmp.Or(c.String("comment"), operator()+"@"+hostname())
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s exists: refusing to overwrite a key", path)
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			priv, signer, err := preserve.GenerateKey(principal)
			if err != nil {
				return err
			}
			if err := fsutil.WriteFile(path, priv, 0o600); err != nil {
				return err
			}
			pub := preserve.AuthorizedKey(signer.PublicKey(), principal) + "\n"
			if err := fsutil.WriteFile(path+".pub", []byte(pub), 0o644); err != nil {
				return err
			}
			line := preserve.AllowedSignersLine(principal, signerNamespaces, signer.PublicKey())
			o.infof("wrote %s and %s.pub (%s)", path, path, preserve.Fingerprint(signer.PublicKey()))
			o.infof("add this line to the allowed_signers file of every case the key signs for:")
			if c.Bool("json") {
				return o.json(map[string]string{"private_key": path, "public_key": path + ".pub",
					"fingerprint": preserve.Fingerprint(signer.PublicKey()), "allowed_signers": line})
			}
			fmt.Fprintln(c.App.Writer, line)
			return nil
		},
	}
}
