package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
)

func analyzeCommand() *cli.Command {
	return &cli.Command{
		Name:      "analyze",
		Usage:     "verify the case's evidence and run the playbooks over it, writing analysis/findings.json",
		UsageText: "custos analyze --case DIR [--allowed-signers FILE] [--playbooks DIR] [--iocs FILE|DIR]... [--developer-group NAME]... [--identity FILE]... [--fail-on SEVERITY]",
		Flags: commonFlags(
			caseFlag, anchorsFlag,
			&cli.StringFlag{Name: "playbooks", Usage: "directory of playbooks that add to or override the built-in ones"},
			&cli.StringSliceFlag{Name: "iocs", Usage: "STIX2 indicator bundle, or a directory of them (repeatable)"},
			&cli.StringSliceFlag{Name: "developer-group", Usage: "device category (Intune) or policy (AMAPI) of developers' devices, where ADB is expected (repeatable)"},
			&cli.StringFlag{Name: "fail-on", Usage: "exit 6 when a finding has this severity or higher (" + strings.Join(playbooks.Severities, ", ") + ")"},
			&cli.BoolFlag{Name: "allow-unverified", Usage: "analyse archives that fail verification (the output says so)"},
			identityFlag(),
		),
		Action: func(c *cli.Context) error {
			o := out{c}
			failOn := c.String("fail-on")
			if failOn != "" && !slices.Contains(playbooks.Severities, failOn) {
				return usageError{fmt.Errorf("--fail-on %q: want one of %s", failOn, strings.Join(playbooks.Severities, ", "))}
			}
			cs, err := preserve.OpenCase(c.String("case"))
			if err != nil {
				return err
			}
			anchors, err := loadAnchors(c, cs.Dir)
			if err != nil {
				return err
			}
			ids, err := loadIdentities(c)
			if err != nil {
				return err
			}
			set, err := loadIOCs(c.StringSlice("iocs"))
			if err != nil {
				return usageError{err}
			}
			a, path, err := analyzeCase(cs, playbooks.LoadOptions{Anchors: anchors, AllowUnverified: c.Bool("allow-unverified"), Identities: ids}, analysisConfig{
				playbookDir: c.String("playbooks"), iocs: set, developerGroups: c.StringSlice("developer-group")})
			if err != nil {
				return err
			}
			o.infof("analysed %d device(s) from %d archive(s) with %d playbook(s): %d finding(s); wrote %s",
				len(a.Devices), len(a.Archives), len(a.Playbooks), len(a.Findings), path)
			if err := o.json(a); err != nil {
				return err
			}
			if failOn != "" {
				for _, f := range a.Findings {
					if slices.Index(playbooks.Severities, f.Severity) >= slices.Index(playbooks.Severities, failOn) {
						return exitWith{exitFindings, fmt.Errorf("findings at or above severity %s", failOn)}
					}
				}
			}
			return nil
		},
	}
}
