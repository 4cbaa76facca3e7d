package collecttest

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Harness is what a source provides to the suite: a way to start its
// simulator. Everything else goes through the Sim it returns.
type Harness interface {
	// Start serves a simulated tenant as cfg says on 127.0.0.1 and stops
	// it when t ends (t.Cleanup). It fails t if it cannot.
	Start(t *testing.T, cfg Config) Sim
}

// Config is what the suite asks of a simulator.
type Config struct {
	// Devices is the number of devices the tenant holds.
	Devices int
	// PageSize is the most devices one page of the device listing may
	// hold (set on the simulator, the source or both), so that the
	// listing spans several pages.
	PageSize int
	// ForeignURL is where a ForeignLink fault points the paging link.
	ForeignURL string
	// SlowDelay is how long a Slow fault holds its response, unless the
	// client gives up first.
	SlowDelay time.Duration
}

// Client is what the suite hands to a source it wants built: the source
// must send every request through HTTP and make every wait before a retry
// (backoff, Retry-After, pauses of its rate limiter) through Sleep.
type Client struct {
	// HTTP dials 127.0.0.1 (loopback) only.
	HTTP *http.Client
	// Sleep waits d or until ctx ends. The suite records each d and may
	// shorten the real wait to keep the suite fast.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Sim is one running simulator. It is safe for concurrent use.
type Sim interface {
	// NewSource returns a new source pointed at the simulator, with
	// valid credentials, using c, and without a client-side rate limit
	// that would slow the suite.
	NewSource(t *testing.T, c Client) collect.Source
	// Devices returns the source ids of every device the tenant holds.
	Devices() []string
	// Inject forces fault f on the next n requests of target (n < 0:
	// every one until the simulator stops). When a target covers several
	// endpoints (a device's apps and its compliance, say), n counts per
	// endpoint. It returns an error when the simulator cannot produce f
	// on target; the suite then skips the case.
	Inject(target Target, f Fault, n int) error
	// Requests returns every request received so far, in the order they
	// arrived, including those still in flight.
	Requests() []Request
	// Unexpected describes the requests for paths, versions or methods
	// the simulator does not serve. A conforming source makes none.
	Unexpected() []string
	// Secrets returns every credential in play: client secrets, keys and
	// every access token the simulator issued or received. None may
	// appear in any file the source writes nor in its errors.
	Secrets() []string
}

// Target names the requests a fault is injected into, in terms every
// source has.
type Target struct {
	Kind     TargetKind
	DeviceID string // source id, for TargetDevice
}

// TargetKind is the kind of a Target.
type TargetKind int

// Kinds of Target.
const (
	// TargetOther is any request not covered by another kind (audit logs,
	// tenant-wide listings, ...). Faults are not injected there.
	TargetOther TargetKind = iota
	// TargetAuth is the authentication step: the token endpoint, or the
	// first authenticated call of an API without one.
	TargetAuth
	// TargetList is the device listing, every page of it.
	TargetList
	// TargetDevice is the per-device endpoints of one device (its apps,
	// its details, its compliance ...).
	TargetDevice
)

// Auth is the authentication target.
var Auth = Target{Kind: TargetAuth}

// List is the device-listing target.
var List = Target{Kind: TargetList}

// Device is the target of one device's per-device endpoints.
func Device(id string) Target { return Target{Kind: TargetDevice, DeviceID: id} }

func (t Target) String() string {
	switch t.Kind {
	case TargetAuth:
		return "auth"
	case TargetList:
		return "device listing"
	case TargetDevice:
		return "device " + t.DeviceID
	}
	return "other"
}

// Fault is a failure a simulator injects into a response.
type Fault int

// Faults every harness is asked for.
const (
	None Fault = iota
	// Throttle answers 429 with a Retry-After in whole seconds (1 is
	// best: the suite waits for it in real time).
	Throttle
	// ThrottleNoRetryAfter answers 429 without Retry-After.
	ThrottleNoRetryAfter
	// Unauthorized refuses the credential: 401 on an API, the vendor's
	// refusal (401 invalid_client, ...) on the token endpoint.
	Unauthorized
	// Forbidden answers 403 (on a token endpoint, the vendor's refusal
	// of a disabled or unauthorised client).
	Forbidden
	// Unavailable answers 503.
	Unavailable
	// Truncated sends a complete HTTP response whose body is cut short:
	// invalid JSON.
	Truncated
	// Malformed sends a success status with a body that is not the
	// API's format (an HTML page from a proxy).
	Malformed
	// ForeignLink points the page's paging link at Config.ForeignURL.
	ForeignLink
	// RepeatedLink points the page's paging link at the page itself.
	RepeatedLink
	// Slow holds the response for Config.SlowDelay or until the client
	// gives up.
	Slow
)

var faultNames = [...]string{
	None: "none", Throttle: "429", ThrottleNoRetryAfter: "429 without Retry-After", Unauthorized: "401",
	Forbidden: "403", Unavailable: "503", Truncated: "truncated body", Malformed: "malformed body",
	ForeignLink: "foreign paging link", RepeatedLink: "repeated paging link", Slow: "slow response",
}

func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "fault " + strconv.Itoa(int(f))
}

// Request is one request a simulator received.
type Request struct {
	Target Target
	Method string
	URL    string // path and query as received
	// Status is the status sent; 0 while in flight or when none was
	// sent (the connection was dropped).
	Status     int
	RetryAfter string // the Retry-After header sent, if any
	Fault      Fault  // the fault injected into this response, or None
	Started    time.Time
	Finished   time.Time // zero while in flight
	// Batched marks one item of a batch request: it was answered inside
	// another request and is not an HTTP exchange of its own.
	Batched bool
}
