package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/custos-ir/custos/preserve"
)

// toolVersion is set at build time with -ldflags "-X main.toolVersion=…".
var toolVersion = "0.1.0-dev"

func version() string { return toolVersion }

// build describes the binary: VCS revision (when built from a checkout)
// and Go version.
func build() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return info.GoVersion
	}
	return rev + dirty + " " + info.GoVersion
}

func toolString() string { return "custos " + version() }

// Flags shared by every command.
var (
	jsonFlag    = &cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON on stdout (human text goes to stderr)"}
	quietFlag   = &cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors"}
	noProgress  = &cli.BoolFlag{Name: "no-progress", Usage: "no progress bar or progress lines"}
	caseFlag    = &cli.StringFlag{Name: "case", Usage: "case directory", Required: true}
	anchorsFlag = &cli.StringFlag{Name: "allowed-signers", Usage: "trusted signers (ssh-keygen ALLOWED SIGNERS format); default CASE/allowed_signers"}
)

func commonFlags(fs ...cli.Flag) []cli.Flag {
	return append(fs, jsonFlag, quietFlag, noProgress)
}

// out routes human text to stderr (unless --quiet) and JSON to stdout.
type out struct {
	c *cli.Context
}

func (o out) infof(format string, args ...any) {
	if !o.c.Bool("quiet") {
		fmt.Fprintf(o.c.App.ErrWriter, format+"\n", args...)
	}
}

func (o out) json(v any) error {
	if !o.c.Bool("json") {
		return nil
	}
	enc := json.NewEncoder(o.c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// text writes to stdout unless --json is set (then stdout is reserved for
// JSON and the text goes to stderr).
func (o out) text(format string, args ...any) {
	w := o.c.App.Writer
	if o.c.Bool("json") {
		w = o.c.App.ErrWriter
	}
	if !o.c.Bool("quiet") {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// signalContext is cancelled on SIGINT/SIGTERM.
func signalContext(c *cli.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(c.Context, os.Interrupt)
}

// operator names the person running the tool for provenance.
func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// sealTime returns now, or SOURCE_DATE_EPOCH when set (reproducible seals).
func sealTime() (time.Time, error) {
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", v)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Now().UTC().Truncate(time.Second), nil
}

// loadAnchors reads the allowed_signers file named by --allowed-signers,
// or the case's own when the flag is absent.
func loadAnchors(c *cli.Context, caseDir string) (*preserve.AllowedSigners, error) {
	path := c.String("allowed-signers")
	if path == "" && caseDir != "" {
		path = filepath.Join(caseDir, preserve.AllowedSignersFile)
	}
	if path == "" {
		return nil, usageError{fmt.Errorf("--allowed-signers is required to verify signatures; create one with 'custos keygen'")}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		hint := "pass --allowed-signers; 'custos keygen' prints the line to put in it"
		if _, serr := os.Stat(filepath.Join(caseDir, preserve.SenderAnchorsFile)); c.String("allowed-signers") == "" && serr == nil {
			hint = "this looks like an exported package: verify with trusted signers you obtained independently (--allowed-signers FILE); " +
				preserve.SenderAnchorsFile + " travelled with the evidence and proves nothing"
		}
		return nil, fmt.Errorf("reading trusted signers: %w (%s)", err, hint)
	}
	a, err := preserve.ParseAllowedSigners(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// readSecretFile reads a secret from a file, trimming one trailing newline.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", err
	}
	return string(bytes.TrimRight(data, "\r\n")), nil
}

// streamingMemoryLimit is the soft heap limit for the streaming commands
// (seal, verify): their live data is a few MiB of buffers, so a limit keeps
// the garbage collector from letting the heap double before collecting.
const streamingMemoryLimit = 64 << 20

// boundMemory applies streamingMemoryLimit unless the user set GOMEMLIMIT.
// The limit is soft: the runtime may exceed it rather than fail.
func boundMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(streamingMemoryLimit)
	}
}
