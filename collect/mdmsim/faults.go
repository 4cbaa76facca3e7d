package mdmsim

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
	// Fault401 answers 401 InvalidAuthenticationToken ("the token is
	// expired") with a WWW-Authenticate challenge; on the token endpoint,
	// 401 invalid_client (AADSTS7000215).
	Fault401
	// Fault403 answers Intune's 403 Forbidden with the nested JSON message
	// naming the missing scopes; on the token endpoint, 400
	// unauthorized_client (AADSTS7000112, application disabled).
	Fault403
	// Fault429 answers 429 TooManyRequests with Retry-After (the
	// Faults.RetryAfter value), except for the fraction of 429s
	// Options.RetryAfterOmit says to send without it.
	Fault429
	// Fault429NoRetryAfter answers 429 TooManyRequests without Retry-After,
	// as Intune sometimes does.
	Fault429NoRetryAfter
	// Fault500, Fault502, Fault504 answer that status with a Graph error
	// body and no Retry-After.
	Fault500
	Fault502
	// Fault503 answers 503 serviceNotAvailable with Retry-After (subject to
	// Options.RetryAfterOmit like Fault429).
	Fault503
	Fault504
	// FaultSlow delays the (otherwise normal) response by Faults.SlowDelay,
	// or until the client gives up.
	FaultSlow
	// FaultTruncate sends the normal status and headers with the body cut
	// in the middle (somewhere in its second and third quarters) and a
	// Content-Length that matches the cut body: the client reads a
	// complete HTTP message holding invalid JSON.
	FaultTruncate
	// FaultMalformed sends the normal status with an HTML page instead of
	// JSON, as a proxy or captive portal would.
	FaultMalformed
	// FaultReset closes the connection without answering.
	FaultReset
	// FaultForeignLink serves the page with its @odata.nextLink pointing at
	// Options.ForeignURL instead of the server; responses without a
	// nextLink are unchanged. A client must refuse to follow it.
	FaultForeignLink
	// FaultRepeatLink serves the page with its @odata.nextLink naming the
	// page itself (the URL just requested); responses without a nextLink
	// are unchanged. A client must stop rather than loop.
	FaultRepeatLink
	numFaults
)

var faultNames = [numFaults]string{
	FaultNone: "none", Fault401: "401", Fault403: "403", Fault429: "429", Fault429NoRetryAfter: "429-no-retry-after",
	Fault500: "500", Fault502: "502", Fault503: "503", Fault504: "504",
	FaultSlow: "slow", FaultTruncate: "truncate", FaultMalformed: "malformed", FaultReset: "reset", FaultForeignLink: "foreign-link", FaultRepeatLink: "repeat-link",
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
	return FaultNone, fmt.Errorf("unknown fault %q (want one of %s)", s, faultList())
}

func faultList() string {
	names := make([]string, 0, numFaults)
	for _, f := range AllFaults() {
		names = append(names, f.String())
	}
	return strings.Join(names, ", ")
}

// status reports the HTTP status a fault answers with, or 0 for faults
// that alter a normal response.
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

// pagingOnly reports a fault that alters only paging links.
func (f Fault) pagingOnly() bool { return f == FaultForeignLink || f == FaultRepeatLink }

// Faults are random faults: each Graph request independently gets at most
// one fault, fault f with probability Rates[f]. The draws come from a PRNG
// seeded with Options.Seed, so a client making the same requests in the
// same order meets the same faults.
type Faults struct {
	// Rates maps a fault to its probability per request; the sum is at
	// most 1. Only Graph requests draw from it, never the token endpoint.
	Rates map[Fault]float64
	// Token is the probability per token request of a fault, of a kind
	// drawn in proportion to Rates (503 when Rates is empty; foreign-link
	// and repeat-link do not apply). Zero, the default, keeps the token
	// endpoint free of faults.
	Token float64
	// SlowDelay is how long FaultSlow holds a response; default 2s.
	SlowDelay time.Duration
	// RetryAfter is the Retry-After of fault 429 and 503 responses, sent
	// in whole seconds; default 1s.
	RetryAfter time.Duration
}

// Enabled reports whether any random fault can happen.
func (fs Faults) Enabled() bool {
	for _, p := range fs.Rates {
		if p > 0 {
			return true
		}
	}
	return fs.Token > 0
}

// Keys of a fault spec besides the fault names.
const (
	specToken      = "token"
	specSlowDelay  = "slow-delay"
	specRetryAfter = "retry-after"
)

// maxSpecDuration bounds slow-delay and retry-after in a spec.
const maxSpecDuration = time.Hour

// ParseFaults reads a fault spec: comma-separated key=value pairs where a
// key is a fault name (see Fault.String; the value is a probability per
// request in [0, 1]) or one of
//
//	token=P          probability of a fault per token request
//	slow-delay=D     how long "slow" holds a response (Go duration, e.g. 1.5s)
//	retry-after=D    Retry-After of fault 429 and 503 (whole seconds; "3" means 3s)
//
// for example "429=0.05,503=0.02,slow=0.01,truncate=0.005". The empty spec
// means no faults. Probabilities of zero are dropped. String gives the
// canonical spec back.
func ParseFaults(spec string) (Faults, error) {
	var fs Faults
	seen := map[string]bool{}
	if strings.TrimSpace(spec) == "" {
		return fs, nil
	}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		key, val, ok := strings.Cut(item, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch {
		case item == "":
			return Faults{}, fmt.Errorf("faults %q: empty item", spec)
		case !ok:
			return Faults{}, fmt.Errorf("faults %q: %q lacks =VALUE (e.g. 429=0.05)", spec, item)
		case seen[key]:
			return Faults{}, fmt.Errorf("faults %q: %s given twice", spec, key)
		}
		seen[key] = true
		switch key {
		case specSlowDelay, specRetryAfter:
			d, err := parseSpecDuration(val, key == specRetryAfter)
			if err != nil {
				return Faults{}, fmt.Errorf("faults %q: %s: %w", spec, key, err)
			}
			if key == specSlowDelay {
				fs.SlowDelay = d
			} else {
				fs.RetryAfter = d
			}
			continue
		}
		p, err := parseProbability(val)
		if err != nil {
			return Faults{}, fmt.Errorf("faults %q: %s: %w", spec, key, err)
		}
		if key == specToken {
			fs.Token = p
			continue
		}
		f, err := ParseFault(key)
		if err != nil {
			return Faults{}, fmt.Errorf("faults %q: %w; or token, slow-delay, retry-after", spec, err)
		}
		if p > 0 {
			if fs.Rates == nil {
				fs.Rates = map[Fault]float64{}
			}
			fs.Rates[f] = p
		}
	}
	// Summed in Fault order, so that a spec and its canonical form agree.
	sum := 0.0
	for f := Fault401; f < numFaults; f++ {
		sum += fs.Rates[f]
	}
	if sum > 1+1e-9 {
		return Faults{}, fmt.Errorf("faults %q: probabilities add up to %g, more than 1", spec, sum)
	}
	return fs, nil
}

func parseProbability(s string) (float64, error) {
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
		return 0, fmt.Errorf("probability %q: want a number from 0 to 1", s)
	}
	return p, nil
}

func parseSpecDuration(s string, wholeSeconds bool) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.Atoi(s); err == nil && wholeSeconds {
		d = time.Duration(n) * time.Second
		if n > int(maxSpecDuration/time.Second) {
			d = maxSpecDuration + 1
		}
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("%q: want a duration like 2s", s)
	}
	switch {
	case d < 0 || d > maxSpecDuration:
		return 0, fmt.Errorf("%q: want a duration from 0 to %v", s, maxSpecDuration)
	case wholeSeconds && d%time.Second != 0:
		return 0, fmt.Errorf("%q: want whole seconds", s)
	}
	return d, nil
}

// String is the canonical spec: ParseFaults(fs.String()) equals fs for
// any Faults ParseFaults returns.
func (fs Faults) String() string {
	var parts []string
	for _, f := range slices.Sorted(maps.Keys(fs.Rates)) {
		if p := fs.Rates[f]; p > 0 {
			parts = append(parts, f.String()+"="+strconv.FormatFloat(p, 'g', -1, 64))
		}
	}
	if fs.Token > 0 {
		parts = append(parts, specToken+"="+strconv.FormatFloat(fs.Token, 'g', -1, 64))
	}
	if fs.SlowDelay > 0 {
		parts = append(parts, specSlowDelay+"="+fs.SlowDelay.String())
	}
	if fs.RetryAfter > 0 {
		parts = append(parts, specRetryAfter+"="+fs.RetryAfter.String())
	}
	return strings.Join(parts, ",")
}

// pick returns the fault for a uniform draw u in [0, 1): fault f when u
// falls in its slice of the cumulative rates, in Fault order.
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

// pickToken returns the fault for a token request: with probability Token,
// a kind drawn in proportion to Rates (v, w are uniform draws).
func (fs Faults) pickToken(v, w float64) Fault {
	if v >= fs.Token {
		return FaultNone
	}
	total := 0.0
	for f := Fault401; f < numFaults; f++ {
		if !f.pagingOnly() {
			total += fs.Rates[f]
		}
	}
	if total == 0 {
		return Fault503
	}
	acc := 0.0
	for f := Fault401; f < numFaults; f++ {
		if f.pagingOnly() {
			continue
		}
		acc += fs.Rates[f] / total
		if w < acc {
			return f
		}
	}
	return Fault503
}

// injection forces the next n responses of paths starting with prefix to
// a fault.
type injection struct {
	prefix string
	fault  Fault
	n      int
}
