package collect

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Source is one evidence source (an MDM API or an import). Sources are
// listed explicitly by the command layer; there is no registration.
type Source interface {
	// Name is the short source name used in record keys and raw/<name>/.
	Name() string
	// Describe says what the source talks to and what it can observe. It is
	// called once per run, before Collect.
	Describe() Descriptor
	// Collect fetches the targets of req and writes everything it receives
	// into sink. It returns an error only when the acquisition as a whole
	// failed (authentication, cancellation, staging I/O); per-device
	// problems are recorded as Gaps and do not fail the run.
	Collect(ctx context.Context, req Request, sink Sink) error
}

// Descriptor describes a source for provenance and coverage.
type Descriptor struct {
	Name        string   `json:"name"`
	API         string   `json:"api"`
	Endpoints   []string `json:"endpoints"`
	Tenant      string   `json:"tenant,omitempty"`
	Principal   string   `json:"principal,omitempty"` // client id / service account, never a secret
	Permissions []string `json:"permissions,omitempty"`
	// Telemetry lists the telemetry kinds the source can observe at all;
	// every other kind becomes a source-wide not_supported_by_source gap.
	Telemetry []string `json:"telemetry"`
}

// Request says which devices to collect.
type Request struct {
	All        bool
	Selectors  []Selector
	Now        time.Time     // reference time for staleness; default the run's start
	StaleAfter time.Duration // Run records a stale gap for a device not seen for longer
	// Since starts the window of interest for logs and audit events; zero
	// means everything the source keeps.
	Since time.Time
	// Progress, when set, is called as devices complete. It must not block.
	Progress func(Progress)
	// Done reports the units (device keys, or other units a source names
	// in Sink.UnitDone) finished before this run was resumed: the source
	// must not fetch them again. Run sets it from the staging.
	Done func(unit string) bool
	// Written streams the record lines of file (EventsFile, DevicesFile, …)
	// written before this run was resumed, for a source that must not write
	// again what a finished unit holds (the same usage-log event in another
	// message). Nil when the run is not a resume. Run sets it from the
	// staging.
	Written func(file string, fn func(line []byte) error) error
}

// IsDone reports whether unit was finished before a resume.
func (r Request) IsDone(unit string) bool { return r.Done != nil && r.Done(unit) }

// Progress is a snapshot passed to Request.Progress.
type Progress struct {
	DevicesDone  int
	DevicesTotal int
	Requests     int           // HTTP requests made so far, retries included
	Throttled    int           // waits caused by throttling (429, Retry-After, rate limit)
	Waited       time.Duration // total time spent in those waits
	// AppsDone and AppsTotal count the apps done, for a source that reads
	// the app inventory app by app after the devices (Intune's tenant-wide
	// inventory).
	AppsDone, AppsTotal int
}

// Units returns the work done and in all: devices, plus apps for a source
// that counts them.
func (p Progress) Units() (done, total int) {
	return p.DevicesDone + p.AppsDone, p.DevicesTotal + p.AppsTotal
}

// Wanted reports whether the request selects d.
func (r Request) Wanted(d Device) bool {
	if r.All {
		return true
	}
	for _, s := range r.Selectors {
		if s.Match(d) {
			return true
		}
	}
	return false
}

// Selector is one --device selector: kind:value.
type Selector struct {
	Kind  string // id, serial, imei, user, name
	Value string
}

func (s Selector) String() string { return s.Kind + ":" + s.Value }

// ParseSelector parses "id:…", "serial:…", "imei:…", "user:…" or "name:…".
func ParseSelector(s string) (Selector, error) {
	kind, value, ok := strings.Cut(s, ":")
	if !ok || value == "" {
		return Selector{}, fmt.Errorf("device selector %q: want KIND:VALUE with KIND one of id, serial, imei, user, name", s)
	}
	switch kind {
	case "id", "serial", "imei", "user", "name":
		return Selector{Kind: kind, Value: value}, nil
	}
	return Selector{}, fmt.Errorf("device selector %q: unknown kind %q (want id, serial, imei, user or name)", s, kind)
}

// Match compares the selector with a device locally. Matching is exact,
// except that user and name ignore case and IMEI ignores spaces, because
// consoles format them inconsistently.
func (s Selector) Match(d Device) bool {
	switch s.Kind {
	case "id":
		return d.SourceID == s.Value || d.Key == s.Value
	case "serial":
		return d.Serial != "" && d.Serial == s.Value
	case "imei":
		return d.IMEI != "" && digits(d.IMEI) == digits(s.Value)
	case "user":
		return d.User != "" && strings.EqualFold(d.User, s.Value)
	case "name":
		return d.Name != "" && strings.EqualFold(d.Name, s.Value)
	}
	return false
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// ErrAuth marks an authentication or permission failure of a whole source.
// Sources wrap it; the command layer maps it to exit code 4.
var ErrAuth = errors.New("authentication failed")
