// Package wsonevocab reads Workspace ONE UEM's vocabulary into custos's
// record model: the judgements the live source (collect/wsone) and the
// import of console exports (collect/imports) must make alike, so that a
// device or an app is recorded the same whichever way it reached the
// responder. Sources do not import each other; both import this.
package wsonevocab

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Norm lower-cases s and keeps only its ASCII letters and digits, so that
// "NonCompliant", "NON_COMPLIANT" and "Non-Compliant" compare equal.
func Norm(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, s)
}

// InstallSource judges an app: by the iOS signals, as every iOS source
// does (collect.AppleAppSignals); when they do not tell, by Workspace
// ONE's application Type (Internal: the organisation's in-house app,
// enterprise; System; Public: a store app); else "unknown".
func InstallSource(s collect.AppleAppSignals, appType string) string {
	if v := s.InstallSource(); v != "" {
		return v
	}
	switch Norm(appType) {
	case "internal", "enterprise":
		return "enterprise"
	case "system":
		return "system"
	case "public":
		return "store"
	}
	return "unknown"
}

// Compromised reads Workspace ONE's words for CompromisedStatus, in any
// spelling ("Compromised", "Not Compromised", "NOT_COMPROMISED"): "true",
// "false", or "" for any other text (a boolean is the caller's to read).
func Compromised(s string) string {
	switch Norm(s) {
	case "compromised":
		return "true"
	case "notcompromised":
		return "false"
	}
	return ""
}

// Compliance maps ComplianceStatus: Compliant, NonCompliant (any
// spelling); an empty, "not available" or unknown status is unknown; any
// other is kept, lower-cased, letters and digits only.
func Compliance(c string) string {
	switch n := Norm(c); n {
	case "compliant":
		return "compliant"
	case "noncompliant", "notcompliant":
		return "noncompliant"
	case "", "notavailable", "unknown", "na":
		return "unknown"
	default:
		return n
	}
}

// isoDay is a date as ISO 8601 writes it, alone or before a time.
var isoDay = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}| ?UTC| ?GMT)?)?$`)

// PatchDate reads SecurityPatchDate written as ISO 8601, a date alone or
// before a time: the date as written, YYYY-MM-DD (a patch level is a
// calendar date, so a time's zone does not move it to another day); ""
// for year 1, Workspace ONE's "never"; the text as written, trimmed, for a
// day no calendar has (2024-02-30). iso is false when s is not written so:
// the caller reads it otherwise, or keeps it as written.
func PatchDate(s string) (date string, iso bool) {
	s = strings.TrimSpace(s)
	m := isoDay.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	switch t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC); {
	case t.Year() != y || int(t.Month()) != mo || t.Day() != d:
		return s, true
	case y <= 1:
		return "", true
	}
	return m[1] + "-" + m[2] + "-" + m[3], true
}
