package main

import (
	"cmp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/preserve"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "render the case's findings, evidence and custody into reports (offline)",
		UsageText: "custos report --case DIR [--format html,md,json,csv,ocsf,case,pdf|all] [--out DIR]",
		Flags: commonFlags(
			caseFlag, anchorsFlag,
			&cli.StringFlag{Name: "format", Value: defaultReportFormats, Usage: "comma-separated formats: html, md, json (the report model), csv (timeline.csv), ocsf (OCSF Detection Findings), case (CASE/UCO JSON-LD), pdf (report.html printed by headless Chromium), or all"},
			&cli.StringFlag{Name: "out", Usage: "output directory (default CASE/reports)"},
		),
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
			outDir := cmp.Or(c.String("out"), cs.Path(preserve.ReportsDir))
			ctx, stop := signalContext(c)
			defer stop()
			paths, err := writeReports(ctx, cs, anchors, strings.Split(c.String("format"), ","), outDir)
			if err != nil {
				return err
			}
			for _, p := range paths {
				o.text("wrote %s", p)
			}
			return o.json(map[string][]string{"reports": paths})
		},
	}
}
