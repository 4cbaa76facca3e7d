package wsonesim

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault is a failure the server can inject into a response.
type Fault int

// Faults, by the name ParseFaults and Inject know them by (Fault.String).
const (
	FaultNone Fault = iota
	// Fault401 answers 401 with a Workspace ONE error body (bad user or
	// password, or an expired token); on the token endpoint, 401
	// invalid_client.
	Fault401
	// Fault403 answers 403: when the request carried an aw-tenant-code,
	// Workspace ONE's errorCode 1013, whose message repeats the tenant
	// code it was given (as in error bodies published from real tenants); otherwise a missing API
	// role. On the token endpoint, 400 unauthorized_client.
	Fault403
	// Fault429 answers 429 with Retry-After (Faults.RetryAfter) and the
	// X-RateLimit-* headers.
	Fault429
	// Fault429NoRetryAfter answers 429 without Retry-After nor
	// X-RateLimit-Reset.
	Fault429NoRetryAfter
	// Fault500, Fault502, Fault504 answer that status with an error body
	// and no Retry-After.
	Fault500
	Fault502
	// Fault503 answers 503 with Retry-After.
	Fault503
	Fault504
	// FaultSlow holds the (otherwise normal) response for
	// Faults.SlowDelay, or until the client gives up.
	FaultSlow
	// FaultTruncate sends the normal status with the body cut in its
	// middle and a Content-Length that matches the cut: a complete HTTP
	// message holding invalid JSON. A body is never cut to nothing (that
	// would read as "no results").
	FaultTruncate
	// FaultMalformed sends the normal status with an HTML page instead of
	// JSON, as a proxy or a captive portal would.
	FaultMalformed
	// FaultReset closes the connection without answering.
	FaultReset
	// FaultRepeatPage answers a listing page with an envelope whose Page
	// names the page before the one asked (-1 for the first): a client
	// that takes its next page number from the envelope asks for the same
	// page again, forever. Other responses are unchanged.
	FaultRepeatPage
	// FaultIgnorePage answers a listing page with the first page's items
	// whatever page was asked (the envelope's Page says the page asked),
	// as a server that ignores the page parameter would: a client that
	// trusts Total keeps receiving the same devices.
	FaultIgnorePage
	// FaultEmpty answers a listing page with 204 and no body, as if
	// nothing matched, whatever the page holds: a client must not mistake
	// a page missing in the middle of a listing for its end.
	FaultEmpty
	numFaults
)

var faultNames = [numFaults]string{
	FaultNone: "none", Fault401: "401", Fault403: "403", Fault429: "429", Fault429NoRetryAfter: "429-no-retry-after",
	Fault500: "500", Fault502: "502", Fault503: "503", Fault504: "504",
	FaultSlow: "slow", FaultTruncate: "truncate", FaultMalformed: "malformed", FaultReset: "reset",
	FaultRepeatPage: "repeat-page", FaultIgnorePage: "ignore-page", FaultEmpty: "empty",
}

// AllFaults lists every fault in a fixed order.
func AllFaults() []Fault {
	out := make([]Fault, 0, numFaults-1)
	for f := Fault401; f < numFaults; f++ {
		out = append(out, f)
	}
	return out
}

func (f Fault) String() string {
	if f < 0 || f >= numFaults {
		return "fault(" + strconv.Itoa(int(f)) + ")"
	}
	return faultNames[f]
}

// ParseFault reads a fault name as Fault.String writes it.
func ParseFault(s string) (Fault, error) {
	for f := Fault401; f < numFaults; f++ {
		if faultNames[f] == s {
			return f, nil
		}
	}
	names := make([]string, 0, numFaults)
	for _, f := range AllFaults() {
		names = append(names, f.String())
	}
	return FaultNone, fmt.Errorf("unknown fault %q (want one of %s)", s, strings.Join(names, ", "))
}

// status is the HTTP status a fault answers with, or 0 for faults that
// alter a normal response.
func (f Fault) status() int {
	switch f {
	case Fault401:
		return 401
	case Fault403:
		return 403
	case Fault429, Fault429NoRetryAfter:
		return 429
	case Fault500:
		return 500
	case Fault502:
		return 502
	case Fault503:
		return 503
	case Fault504:
		return 504
	}
	return 0
}

// paging reports a fault that alters only listing pages.
func (f Fault) paging() bool {
	return f == FaultRepeatPage || f == FaultIgnorePage || f == FaultEmpty
}

// Faults are random faults: each API request independently gets at most
// one fault, fault f with probability Rates[f], drawn from a PRNG seeded
// with Options.Seed (a client making the same requests in the same order
// meets the same faults).
type Faults struct {
	// Rates maps a fault to its probability per API request; the sum is
	// at most 1. The token endpoint never draws from it.
	Rates map[Fault]float64
	// SlowDelay is how long FaultSlow holds a response; default 2 s.
	SlowDelay time.Duration
	// RetryAfter is the Retry-After of fault 429 and 503 responses, sent
	// in whole seconds; default 1 s.
	RetryAfter time.Duration
}

// ParseFaults reads a fault spec: comma-separated NAME=P pairs, NAME a
// fault name (Fault.String) and P its probability per request in [0, 1],
// plus slow-delay=D (a Go duration) and retry-after=D (whole seconds,
// "3" meaning 3 s); for example "429=0.05,503=0.02,slow=0.01". The empty
// spec means no faults.
func ParseFaults(spec string) (Faults, error) {
	var fs Faults
	if strings.TrimSpace(spec) == "" {
		return fs, nil
	}
	seen := map[string]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch {
		case !ok || key == "":
			return Faults{}, fmt.Errorf("faults %q: %q: want NAME=VALUE (e.g. 429=0.05)", spec, item)
		case seen[key]:
			return Faults{}, fmt.Errorf("faults %q: %s given twice", spec, key)
		}
		seen[key] = true
		switch key {
		case "slow-delay", "retry-after":
			d, err := specDuration(val, key == "retry-after")
			if err != nil {
				return Faults{}, fmt.Errorf("faults %q: %s: %w", spec, key, err)
			}
			if key == "slow-delay" {
				fs.SlowDelay = d
			} else {
				fs.RetryAfter = d
			}
			continue
		}
		f, err := ParseFault(key)
		if err != nil {
			return Faults{}, fmt.Errorf("faults %q: %w; or slow-delay, retry-after", spec, err)
		}
		p, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
			return Faults{}, fmt.Errorf("faults %q: %s: probability %q: want a number from 0 to 1", spec, key, val)
		}
		if p > 0 {
			if fs.Rates == nil {
				fs.Rates = map[Fault]float64{}
			}
			fs.Rates[f] = p
		}
	}
	sum := 0.0
	for f := Fault401; f < numFaults; f++ {
		sum += fs.Rates[f]
	}
	if sum > 1+1e-9 {
		return Faults{}, fmt.Errorf("faults %q: probabilities add up to %g, more than 1", spec, sum)
	}
	return fs, nil
}

// specDuration reads a duration of a fault spec, at most an hour.
func specDuration(s string, wholeSeconds bool) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if n, aerr := strconv.Atoi(s); aerr == nil && wholeSeconds {
		d, err = time.Duration(min(n, 3601))*time.Second, nil
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q: want a duration like 2s", s)
	case d < 0 || d > time.Hour:
		return 0, fmt.Errorf("%q: want a duration from 0 to 1h", s)
	case wholeSeconds && d%time.Second != 0:
		return 0, fmt.Errorf("%q: want whole seconds", s)
	}
	return d, nil
}

// String is the canonical spec: ParseFaults(fs.String()) equals fs.
func (fs Faults) String() string {
	var parts []string
	for _, f := range slices.Sorted(maps.Keys(fs.Rates)) {
		if p := fs.Rates[f]; p > 0 {
			parts = append(parts, f.String()+"="+strconv.FormatFloat(p, 'g', -1, 64))
		}
	}
	if fs.SlowDelay > 0 {
		parts = append(parts, "slow-delay="+fs.SlowDelay.String())
	}
	if fs.RetryAfter > 0 {
		parts = append(parts, "retry-after="+fs.RetryAfter.String())
	}
	return strings.Join(parts, ",")
}

// pick returns the fault for a uniform draw u in [0, 1).
func (fs Faults) pick(u float64) Fault {
	acc := 0.0
	for f := Fault401; f < numFaults; f++ {
		acc += fs.Rates[f]
		if u < acc {
			return f
		}
	}
	return FaultNone
}

// injection forces fault on the next n requests matching pattern (n < 0:
// every one).
type injection struct {
	pattern string
	fault   Fault
	n       int
}
