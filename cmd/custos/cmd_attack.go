package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/attack"
)

func attackCommand() *cli.Command {
	return &cli.Command{
		Name:  "attack",
		Usage: "show the ATT&CK Mobile data findings are keyed to, or import a newer release",
		Subcommands: []*cli.Command{
			{
				Name: "show", Usage: "print tactic TA0041 and its techniques, or one technique with its mitigations and detection strategies",
				ArgsUsage: "[TECHNIQUE-ID]", Flags: commonFlags(),
				Action: func(c *cli.Context) error {
					o := out{c}
					d, err := attack.Current()
					if err != nil {
						return err
					}
					if id := c.Args().First(); id != "" {
						t, ok := d.Lookup(id)
						if !ok {
							return usageError{fmt.Errorf("%s is not an active %s technique of %s", id, attack.TacticID, d.Release)}
						}
						if r, revoked := d.Replacement(id); revoked {
							o.text("%s was revoked; replaced by %s", id, r)
						}
						o.text("%s %s (%s, modified %s)\n%s\n\n%s", t.ID, t.Name, d.Release, t.Modified, t.URL, t.Description)
						for _, m := range t.Mitigations {
							o.text("\nmitigation %s %s: %s", m.ID, m.Name, m.How)
						}
						for _, det := range t.Detections {
							o.text("\ndetection strategy %s %s", det.ID, det.Name)
							for _, a := range det.Analytics {
								o.text("  analytic %s (%s): data components %s", a.ID, strings.Join(a.Platforms, ", "), strings.Join(a.DataComponents, ", "))
							}
						}
						o.text("\n%s", attack.Notice)
						return o.json(t)
					}
					o.text("%s, sha256 %s\n%s %s (modified %s)", d.Release, d.SHA256, d.Tactic.ID, d.Tactic.Name, d.Tactic.Modified)
					for _, t := range d.Techniques {
						o.text("  %-10s %s (%d mitigations, %d detection strategies)", t.ID, t.Name, len(t.Mitigations), len(t.Detections))
					}
					o.text("\n%s", attack.Notice)
					return o.json(d)
				},
			},
			{
				Name: "import", Usage: "validate a Mobile ATT&CK STIX bundle and use it instead of the embedded release",
				ArgsUsage: "FILE", Flags: commonFlags(
					&cli.StringFlag{Name: "release", Usage: `release name, e.g. "Mobile ATT&CK 19.0" (default: from a file named mobile-attack-N.N.json)`},
				),
				Action: func(c *cli.Context) error {
					o := out{c}
					file := c.Args().First()
					if file == "" {
						return usageError{fmt.Errorf("name the bundle to import")}
					}
					release := c.String("release")
					if release == "" {
						if release = attack.ReleaseFromFileName(file); release == "" {
							return usageError{fmt.Errorf("cannot tell the release of %s: pass --release \"Mobile ATT&CK N.N\"", file)}
						}
					}
					dir, err := attack.Dir()
					if err != nil {
						return err
					}
					d, err := attack.Import(dir, file, release)
					if err != nil {
						return usageError{err}
					}
					o.infof("imported %s (sha256 %s): %s %s with %d active techniques; stored in %s", d.Release, d.SHA256, d.Tactic.ID, d.Tactic.Name, len(d.Techniques), dir)
					return o.json(map[string]any{"release": d.Release, "sha256": d.SHA256, "techniques": len(d.Techniques), "dir": dir})
				},
			},
		},
	}
}
