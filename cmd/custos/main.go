// Command custos is the mobile incident-response evidence kit: it collects
// device state and app inventory from MDM consoles, seals them as signed
// evidence archives with a chain of custody, analyses them with ATT&CK
// TA0041 playbooks and writes reports.
//
// This package only parses flags, wires the library packages together and
// maps errors to exit codes.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/urfave/cli/v2"
)

func main() {
	os.Exit(profiled(func() int { return run(os.Args, os.Stdout, os.Stderr) }))
}

// profiled runs fn with the profiles the environment asks for, for the
// benchmarks (docs/performance.md): CUSTOS_CPUPROFILE names a file for a
// CPU profile of the run, CUSTOS_MEMPROFILE one for its allocations.
func profiled(fn func() int) int {
	if path := os.Getenv("CUSTOS_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	if path := os.Getenv("CUSTOS_MEMPROFILE"); path != "" {
		defer func() {
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	return fn()
}

// run executes the command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(args)
	code := exitCode(err)
	if err != nil && code != exitOK {
		fmt.Fprintf(stderr, "custos: %v\n", err)
	}
	return code
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "custos",
		Usage: "mobile incident-response evidence kit (collect, preserve, analyze, report)",
		Description: "custos collects device state and app inventory from MDM consoles, preserves them as signed\n" +
			"evidence archives with a chain of custody, and reports findings keyed to MITRE ATT&CK\n" +
			"Mobile tactic TA0041 (Execution).\n\n" + exitCodesHelp,
		Version:         version(),
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {}, // run maps errors to exit codes
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageError{err}
		},
		Commands: []*cli.Command{
			demoCommand(),
			simCommand(),
			collectCommand(),
			sealCommand(),
			verifyCommand(),
			analyzeCommand(),
			reportCommand(),
			triageCommand(),
			custodyCommand(),
			keygenCommand(),
			playbooksCommand(),
			attackCommand(),
			versionCommand(),
		},
	}
	markUsageErrors(app.Commands)
	return app
}

// markUsageErrors makes flag-parsing errors of every command exit 2.
func markUsageErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageError{err} }
		markUsageErrors(c.Subcommands)
	}
}
