package main

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/preserve"
)

func custodyCommand() *cli.Command {
	return &cli.Command{
		Name:  "custody",
		Usage: "show or extend the case's chain of custody",
		Subcommands: []*cli.Command{
			{
				Name:      "show",
				Usage:     "verify and print the custody log and its head",
				UsageText: "custos custody show --case DIR [--allowed-signers FILE]",
				Flags:     commonFlags(caseFlag, anchorsFlag),
				Action: func(c *cli.Context) error {
					o := out{c}
					cs, err := preserve.OpenCase(c.String("case"))
					if err != nil {
						return err
					}
					anchors, err := loadAnchors(c, cs.Dir)
					if err != nil {
						return err
					}
					entries, head, verr := cs.Custody().Verify(anchors)
					for _, e := range entries {
						o.text("%06d %s %-11s %s %s %s", e.Seq, e.Time.Format(time.RFC3339), e.Action, e.Actor, e.Archive, e.Note)
					}
					o.text("head %s", head)
					if err := o.json(map[string]any{"entries": entries, "head": head}); err != nil {
						return err
					}
					return verr
				},
			},
			{
				Name:      "add",
				Usage:     "append a signed custody entry",
				UsageText: "custos custody add --case DIR (--key FILE | --agent) --action ACTION --actor WHO [--to WHO] [--purpose TEXT] [--note TEXT] [--archive NAME]",
				Flags: commonFlags(caseFlag,
					keyFlag, agentFlag,
					&cli.StringFlag{Name: "action", Required: true, Usage: "transferred, accessed, exported, verified, note, ..."},
					&cli.StringFlag{Name: "actor", Required: true, Usage: "who acts"},
					&cli.StringFlag{Name: "to", Usage: "receiving party (transfers)"},
					&cli.StringFlag{Name: "purpose", Usage: "why"},
					&cli.StringFlag{Name: "note", Usage: "free text"},
					&cli.StringFlag{Name: "archive", Usage: "archive file name the entry is about"},
				),
				Action: func(c *cli.Context) error {
					o := out{c}
					cs, signer, release, err := openCaseSigner(c)
					if err != nil {
						return err
					}
					defer release()
					e := preserve.Entry{Time: time.Now().UTC(), Action: c.String("action"), Actor: c.String("actor"),
						To: c.String("to"), Purpose: c.String("purpose"), Note: c.String("note"), Tool: toolString(), Host: hostname()}
					if name := c.String("archive"); name != "" {
						rep, err := archiveDigest(cs, name)
						if err != nil {
							return err
						}
						e.Archive, e.ArchiveSHA256 = name, rep
					}
					// acquired and sealed entries are written by seal. The one
					// exception: a seal killed between its custody entries
					// leaves a signed archive without its sealed entry, and seal
					// refuses to redo it; this records it (verify then checks the
					// digest against the other entries naming the archive).
					switch {
					case e.Action == preserve.ActionAcquired:
						return usageError{errors.New("acquired entries are written by 'custos seal'")}
					case e.Action == preserve.ActionSealed && e.Archive == "":
						return usageError{errors.New("sealed entries are written by 'custos seal'; to complete an interrupted seal give --archive NAME")}
					}
					head, err := cs.Custody().Append(e, signer)
					if err != nil {
						return err
					}
					o.text("custody head %s", head)
					return o.json(head)
				},
			},
			{
				Name:      "export",
				Usage:     "copy an archive, its signature, the custody log and allowed_signers into a new directory for transfer, recording an exported entry",
				UsageText: "custos custody export --case DIR (--key FILE | --agent) --archive NAME --to WHO --out DIR [--actor WHO] [--purpose TEXT]",
				Flags: commonFlags(caseFlag,
					keyFlag, agentFlag,
					&cli.StringFlag{Name: "archive", Required: true, Usage: "archive file name in CASE/evidence (.tar.zst or .tar.zst.age)"},
					&cli.StringFlag{Name: "out", Required: true, Usage: "new directory to create, laid out like a case: the recipient runs 'custos verify --allowed-signers THEIRS OUT/evidence/ARCHIVE'"},
					&cli.StringFlag{Name: "to", Required: true, Usage: "receiving party"},
					&cli.StringFlag{Name: "actor", Usage: "who exports (default: the current user)"},
					&cli.StringFlag{Name: "purpose", Usage: "why"},
				),
				Action: func(c *cli.Context) error {
					o := out{c}
					cs, signer, release, err := openCaseSigner(c)
					if err != nil {
						return err
					}
					defer release()
					res, err := cs.Export(c.String("archive"), c.String("out"), preserve.ExportOptions{
						Signer: signer, Time: time.Now().UTC(), Actor: cmp.Or(c.String("actor"), operator()),
						To: c.String("to"), Purpose: c.String("purpose"), Tool: toolString(), Host: hostname(),
					})
					if err != nil {
						return err
					}
					o.text("exported %s to %s\n  sha256 %s\n  custody head %s", res.Archive, res.Dir, res.SHA256, res.CustodyHead)
					return o.json(res)
				},
			},
		},
	}
}

func archiveDigest(cs *preserve.Case, name string) (string, error) {
	if err := preserve.CheckEntryName(name); err != nil || filepath.Base(name) != name {
		return "", usageError{fmt.Errorf("--archive %q: give the archive's file name in %s", name, cs.Path(preserve.EvidenceDir))}
	}
	return preserve.FileSHA256(cs.Path(preserve.EvidenceDir, name))
}
