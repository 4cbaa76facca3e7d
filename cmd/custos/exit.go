package main

import (
	"errors"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/preserve"
)

// Exit codes: fixed forever (DESIGN §3).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitGaps        = 3
	exitAuth        = 4
	exitVerify      = 5
	exitFindings    = 6
	exitInterrupted = 130
)

const exitCodesHelp = `EXIT STATUS:
   0    success
   1    error
   2    usage error
   3    completed with gaps (some devices or sources could not be collected; the gaps are recorded)
   4    authentication or permission failure
   5    verification failed (integrity, signature or custody)
   6    findings at or above --fail-on severity
   130  interrupted`

// usageError marks a command-line mistake.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitWith carries a specific exit code with its message.
type exitWith struct {
	code int
	err  error
}

func (e exitWith) Error() string { return e.err.Error() }
func (e exitWith) Unwrap() error { return e.err }

// errGaps is returned when a collection completed with recorded gaps.
var errGaps = errors.New("completed with gaps")

// errInterrupted is returned when a signal stopped the command.
var errInterrupted = errors.New("interrupted")

func exitCode(err error) int {
	var ew exitWith
	var ue usageError
	var ve *preserve.VerifyError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ew):
		return ew.code
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.Is(err, collect.ErrAuth):
		return exitAuth
	case errors.As(err, &ve):
		return exitVerify
	case errors.Is(err, errGaps):
		return exitGaps
	}
	return exitError
}
