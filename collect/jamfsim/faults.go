package jamfsim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/custos-ir/custos/collect/simkit"
)

// Fault is a failure the server can inject into a response.
type Fault int

// Faults, by the name ParseFaults and Inject know them by (Fault.String).
// Status faults answer with the endpoint's own error format: Jamf's JSON
// error body on the Jamf Pro API, an OAuth error on /api/oauth/token, the
// Classic API's HTML error page under /JSSResource.
const (
	FaultNone Fault = iota
	Fault401        // 401: the token (or, on a token endpoint, the credential) refused
	Fault403        // 403: the API role lacks a privilege
	Fault429        // 429 with Retry-After (Options.RetryAfter)
	Fault429NoRetryAfter
	Fault500
	Fault503 // 503 with Retry-After, as Jamf Cloud answers during maintenance
	// FaultSlow answers normally after Options.SlowDelay, or when the
	// client gives up.
	FaultSlow
	// FaultTruncate sends the normal status with the body cut in half and
	// a Content-Length that matches the cut: invalid JSON.
	FaultTruncate
	// FaultMalformed sends the normal status with an HTML page instead
	// of JSON, as a proxy would.
	FaultMalformed
	// FaultReset closes the connection without answering.
	FaultReset
	// FaultRepeatPage answers a listing page after the first with the
	// first page's devices, as a server or proxy that ignores page= does.
	// Only listing requests for a page other than 0 take it.
	FaultRepeatPage
	// FaultEmptyPage answers a listing page with no results while
	// totalCount still counts the whole fleet. Only listing requests take
	// it.
	FaultEmptyPage
	numFaults
)

var faultNames = [numFaults]string{
	FaultNone: "none", Fault401: "401", Fault403: "403", Fault429: "429", Fault429NoRetryAfter: "429-no-retry-after",
	Fault500: "500", Fault503: "503", FaultSlow: "slow", FaultTruncate: "truncate", FaultMalformed: "malformed",
	FaultReset: "reset", FaultRepeatPage: "repeat-page", FaultEmptyPage: "empty-page",
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
	return FaultNone, fmt.Errorf("unknown fault %q (want one of %s)", s, strings.Join(faultNames[Fault401:], ", "))
}

// status is the HTTP status a fault answers with, or 0 for a fault that
// alters a normal response.
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
	case Fault503:
		return 503
	}
	return 0
}

// listingOnly reports a fault only a listing request can take.
func (f Fault) listingOnly() bool { return f == FaultRepeatPage || f == FaultEmptyPage }

// Faults are random faults: each API request (never an authentication
// request) independently gets fault f with probability Rates[f]. The draws
// come from a PRNG seeded with Options.Seed.
type Faults struct {
	Rates map[Fault]float64
}

// ParseFaults reads a spec of comma-separated fault=probability pairs,
// such as "429=0.05,503=0.02,slow=0.01,truncate=0.005". The empty spec
// means none; the probabilities add up to at most 1, and those of zero are
// dropped.
func ParseFaults(spec string) (Faults, error) {
	var fs Faults
	if strings.TrimSpace(spec) == "" {
		return fs, nil
	}
	sum := 0.0
	seen := map[Fault]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return Faults{}, fmt.Errorf("faults %q: %q lacks =PROBABILITY (e.g. 429=0.05)", spec, item)
		}
		f, err := ParseFault(strings.TrimSpace(key))
		if err != nil {
			return Faults{}, fmt.Errorf("faults %q: %w", spec, err)
		}
		p, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
			return Faults{}, fmt.Errorf("faults %q: %s: want a probability from 0 to 1", spec, key)
		}
		if seen[f] {
			return Faults{}, fmt.Errorf("faults %q: %s given twice", spec, key)
		}
		seen[f] = true
		if p == 0 {
			continue
		}
		if fs.Rates == nil {
			fs.Rates = map[Fault]float64{}
		}
		fs.Rates[f] = p
		sum += p
	}
	if sum > 1+1e-9 {
		return Faults{}, fmt.Errorf("faults %q: probabilities add up to %g, more than 1", spec, sum)
	}
	return fs, nil
}

// String is the canonical spec.
func (fs Faults) String() string {
	var parts []string
	for f := Fault401; f < numFaults; f++ {
		if p := fs.Rates[f]; p > 0 {
			parts = append(parts, f.String()+"="+strconv.FormatFloat(p, 'g', -1, 64))
		}
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

// injection forces the next n responses of paths matching pattern to a
// fault (n < 0: every one).
type injection struct {
	pattern string
	fault   Fault
	n       int
}

// take returns the first fault injected for path that ok accepts,
// consuming one use, or FaultNone. s.mu is held.
func (s *Server) take(path string, ok func(Fault) bool) Fault {
	for i := range s.injections {
		in := &s.injections[i]
		if !simkit.MatchSegments(in.pattern, path) || !ok(in.fault) {
			continue
		}
		f := in.fault
		if in.n > 0 {
			if in.n--; in.n == 0 {
				s.injections = slices.Delete(s.injections, i, i+1)
			}
		}
		return f
	}
	return FaultNone
}
