package main

import (
	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/playbooks"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, build and ATT&CK release",
		Flags: commonFlags(),
		Action: func(c *cli.Context) error {
			o := out{c}
			o.text("custos %s\nbuild %s\nATT&CK %s", version(), build(), playbooks.AttackRelease())
			return o.json(map[string]string{"version": version(), "build": build(), "attack_release": playbooks.AttackRelease()})
		},
	}
}
