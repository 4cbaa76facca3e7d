package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/playbooks"
)

func playbooksCommand() *cli.Command {
	load := func(c *cli.Context) ([]*playbooks.Playbook, error) {
		if c.Args().Len() > 0 {
			return playbooks.LoadDir(c.Args().First())
		}
		return playbooks.Load(c.String("playbooks"))
	}
	pbFlag := &cli.StringFlag{Name: "playbooks", Usage: "directory of playbooks that add to or override the built-in ones"}
	return &cli.Command{
		Name:  "playbooks",
		Usage: "list, show, lint and test detection playbooks",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "list playbooks", Flags: commonFlags(pbFlag),
				Action: func(c *cli.Context) error {
					o := out{c}
					pbs, err := load(c)
					if err != nil {
						return err
					}
					for _, p := range pbs {
						o.text("%-36s %-8s %-10s %s", p.ID, p.Severity, strings.Join(p.Techniques, ","), p.Title)
					}
					return o.json(pbs)
				},
			},
			{
				Name: "show", Usage: "print one playbook", ArgsUsage: "ID", Flags: commonFlags(pbFlag),
				Action: func(c *cli.Context) error {
					pbs, err := playbooks.Load(c.String("playbooks"))
					if err != nil {
						return err
					}
					for _, p := range pbs {
						if p.ID == c.Args().First() {
							o := out{c}
							o.text("%s — %s\nfile: %s\ntechniques: %s\nseverity %s, confidence %s, scope %s, requires %s\nmatch: %s\n\n%s",
								p.ID, p.Title, p.File, strings.Join(p.Techniques, ", "), p.Severity, p.Confidence, p.Scope,
								strings.Join(p.Requires, ", "), p.Match, p.Rationale)
							return o.json(p)
						}
					}
					return fmt.Errorf("no playbook %q (see 'custos playbooks list')", c.Args().First())
				},
			},
			{
				Name: "lint", Usage: "load and type-check playbooks", ArgsUsage: "[DIR]", Flags: commonFlags(pbFlag),
				Action: func(c *cli.Context) error {
					pbs, err := load(c)
					if err != nil {
						return err
					}
					out{c}.text("%d playbook(s) OK", len(pbs))
					return nil
				},
			},
			{
				Name: "test", Usage: "run the playbooks' inline tests", ArgsUsage: "[DIR]", Flags: commonFlags(pbFlag),
				Action: func(c *cli.Context) error {
					o := out{c}
					pbs, err := load(c)
					if err != nil {
						return err
					}
					var errs []error
					for _, p := range pbs {
						pe := p.RunTests()
						status := "ok"
						if len(pe) > 0 {
							status = "FAIL"
						}
						o.text("%-4s %s (%d tests)", status, p.ID, len(p.Tests))
						errs = append(errs, pe...)
					}
					return errors.Join(errs...)
				},
			},
		},
	}
}
