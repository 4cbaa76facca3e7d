package collecttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
)

// Sizes of the simulated tenant: enough devices for a listing of several
// pages, few enough to keep the suite fast.
const (
	fleetSize = 12
	pageSize  = 5
)

// Bounds that turn a hang into a failure. They are not timing
// assertions: a conforming source finishes far sooner.
const (
	hangGuard    = 30 * time.Second
	cancelGuard  = 15 * time.Second
	waitInFlight = 10 * time.Second
)

// Run runs the conformance suite against the source h simulates. Each case
// is a subtest with its own simulator and case directory; cases whose
// fault the harness cannot produce are skipped. StopsOnCancel counts the
// process's goroutines, so Run must not be called from a parallel test;
// the other cases run in parallel with each other, so Harness.Start must
// be safe for that.
func Run(t *testing.T, h Harness) {
	cases := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"FollowsEveryPage", followsEveryPage},
		{"NoUnexpectedPaths", noUnexpectedPaths},
		{"HonoursRetryAfter", honoursRetryAfter},
		{"BacksOffWithoutRetryAfter", backsOffWithoutRetryAfter},
		{"CredentialRefused", authFails(Auth, Unauthorized, true)},
		{"CredentialForbidden", authFails(Auth, Forbidden, true)},
		{"APIUnauthorized", authFails(List, Unauthorized, false)},
		{"ListingForbidden", authFails(List, Forbidden, false)},
		{"DeviceForbiddenIsAGap", deviceGap(Forbidden, collect.ReasonPermissionDenied)},
		{"DeviceUnavailableIsAGap", deviceGap(Unavailable, collect.ReasonError)},
		{"DeviceTruncatedIsAGap", deviceGap(Truncated, collect.ReasonError)},
		{"DeviceMalformedIsAGap", deviceGap(Malformed, collect.ReasonError)},
		{"ListingTruncated", listingBroken(Truncated)},
		{"ListingMalformed", listingBroken(Malformed)},
		{"ForeignLinkRefused", foreignLinkRefused},
		{"RepeatedLinkStops", repeatedLinkStops},
		{"NoSecretOnDisk", noSecretOnDisk},
	}
	// StopsOnCancel counts goroutines, so it runs alone, first; the
	// other cases then run in parallel.
	t.Run("StopsOnCancel", func(t *testing.T) { stopsOnCancel(t, h) })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, h)
		})
	}
}

// env is one simulator, one source and one case directory.
type env struct {
	t       *testing.T
	cfg     Config
	sim     Sim
	src     collect.Source
	tr      *http.Transport
	sleep   *sleeper
	caseDir string
	dir     string // the staging directory
	ids     []string
}

// newEnv starts a simulator and a source. A wait the source asks for
// lasts at most realWait in real time (negative: all of it).
func newEnv(t *testing.T, h Harness, cfg Config, realWait time.Duration) *env {
	t.Helper()
	if cfg.Devices == 0 {
		cfg.Devices = fleetSize
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = pageSize
	}
	if cfg.SlowDelay == 0 {
		cfg.SlowDelay = 2 * time.Second
	}
	e := &env{t: t, cfg: cfg, sleep: &sleeper{real: realWait}, caseDir: t.TempDir()}
	e.dir = filepath.Join(e.caseDir, "staging", "acquisition")
	if err := os.MkdirAll(filepath.Dir(e.dir), 0o755); err != nil {
		t.Fatal(err)
	}
	e.sim = h.Start(t, cfg)
	e.ids = e.sim.Devices()
	if len(e.ids) != cfg.Devices {
		t.Fatalf("harness: simulator holds %d devices, %d were asked for", len(e.ids), cfg.Devices)
	}
	var hc *http.Client
	hc, e.tr = loopbackClient()
	t.Cleanup(e.tr.CloseIdleConnections)
	e.src = e.sim.NewSource(t, Client{HTTP: hc, Sleep: e.sleep.Sleep})
	return e
}

// key is the record key of the device with source id id (DESIGN §5.1).
func (e *env) key(id string) string { return e.src.Name() + ":" + id }

// victim is the device faults are aimed at.
func (e *env) victim(i int) string { return e.ids[(len(e.ids)/2+i)%len(e.ids)] }

// inject injects a fault or skips the case when the harness cannot.
func (e *env) inject(target Target, f Fault, n int) {
	e.t.Helper()
	if err := e.sim.Inject(target, f, n); err != nil {
		e.t.Skipf("harness cannot inject %v on %v: %v", f, target, err)
	}
}

// delivered counts the responses to target that carried fault f, and
// fails the case when there are none: the harness did not produce the
// situation the case is about.
func (e *env) delivered(target Target, f Fault) int {
	e.t.Helper()
	n := 0
	for _, r := range e.sim.Requests() {
		if r.Target == target && r.Fault == f {
			n++
		}
	}
	if n == 0 {
		e.t.Fatalf("the simulator never delivered the %v injected on %v: the case proves nothing (does the source call that endpoint on its own, not in a batch?)", f, target)
	}
	return n
}

// outcome is what a run left behind.
type outcome struct {
	err  error
	acq  *collect.Acquisition // nil when acquisition.json was not written
	exs  []collect.Exchange
	recs records
}

// newStaging creates the resumable staging directory of the run.
func (e *env) newStaging() *collect.Staging {
	e.t.Helper()
	st, err := collect.NewResumableStaging(e.dir, "collecttest", time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) collect(ctx context.Context, st *collect.Staging) error {
	acq := &collect.Acquisition{ID: "acquisition", CaseID: "CASE-CONFORMANCE", Operator: "collecttest",
		Host: "localhost", Tool: collect.Tool{Name: "custos", Version: "conformance"}, CommandLine: []string{"collecttest"}}
	return collect.Run(ctx, e.src, collect.Request{All: true}, st, acq, time.Now)
}

// run collects every device and checks what every run must leave.
func (e *env) run() outcome {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	st := e.newStaging()
	err := e.collect(ctx, st)
	if ctx.Err() != nil {
		e.t.Fatalf("collection still running after %v; it was stopped: %v", hangGuard, err)
	}
	return e.inspect(err, true)
}

// inspect reads the staging directory after a run that returned err and
// checks what holds whatever happened: the raw capture and request log
// agree, records cite existing responses, nothing was recorded twice, no
// unexpected path was called, and no secret is on disk or in err.
// exchanges says whether the request log must match the simulator's
// record request for request (not after a cancellation, which abandons
// requests in flight).
func (e *env) inspect(err error, exchanges bool) outcome {
	e.t.Helper()
	o := outcome{err: err}
	var errs []error
	o.exs, errs = checkRawLog(e.dir, e.src.Name())
	report(e.t, "raw capture", errs)
	if len(o.exs) == 0 {
		e.t.Errorf("raw/%s/requests.ndjson is empty or missing: every HTTP exchange must be logged", e.src.Name())
	}
	if exchanges {
		report(e.t, "request log", compareExchanges(o.exs, e.sim.Requests()))
	}
	// Every response body is kept, except the authentication step's
	// (a token response) which is logged without it.
	unkept, auth := 0, len(e.requestsTo(Auth))
	for _, ex := range o.exs {
		if ex.File == "" {
			unkept++
		}
	}
	if unkept > auth {
		e.t.Errorf("the request log has %d line(s) without a kept body; only the %d authentication response(s) may go unkept", unkept, auth)
	}
	if data, rerr := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(collect.AcquisitionFile))); rerr == nil {
		o.acq = new(collect.Acquisition)
		if jerr := json.Unmarshal(data, o.acq); jerr != nil {
			e.t.Errorf("%s: %v", collect.AcquisitionFile, jerr)
		}
	}
	if err != nil && o.acq != nil {
		e.t.Errorf("the run failed (%v) yet wrote %s", err, collect.AcquisitionFile)
	}
	if o.acq != nil {
		o.recs, errs = readRecords(e.dir)
		report(e.t, "records", errs)
		report(e.t, "citations", checkCitations(e.dir, o.recs, o.exs))
		c := o.acq.Counts
		if c.Devices != len(o.recs.Devices) || c.Apps != len(o.recs.Apps) || c.Events != len(o.recs.Events) || c.Gaps != len(o.recs.Gaps) {
			e.t.Errorf("acquisition counts %+v do not match the record files (%d devices, %d apps, %d events, %d gaps)",
				c, len(o.recs.Devices), len(o.recs.Apps), len(o.recs.Events), len(o.recs.Gaps))
		}
		if !sameGaps(o.acq.Gaps, o.recs.Gaps) {
			e.t.Errorf("acquisition.json lists gaps %v; %s holds %v", o.acq.Gaps, collect.GapsFile, o.recs.Gaps)
		}
	}
	if u := e.sim.Unexpected(); len(u) > 0 {
		e.t.Errorf("the source called %d path(s) the simulator does not serve: %q", len(u), u)
	}
	secrets := e.sim.Secrets()
	report(e.t, "secrets", findSecrets(e.caseDir, secrets))
	if err != nil && secretIn(err.Error(), secrets) {
		e.t.Errorf("the run's error holds a secret")
	}
	return o
}

func report(t *testing.T, what string, errs []error) {
	t.Helper()
	const most = 20
	for i, err := range errs {
		if i == most {
			t.Errorf("%s: %d more problems", what, len(errs)-most)
			break
		}
		t.Errorf("%s: %v", what, err)
	}
}

func sameGaps(a, b []collect.Gap) bool {
	enc := func(gs []collect.Gap) []string {
		var out []string
		for _, g := range gs {
			data, _ := json.Marshal(g)
			out = append(out, string(data))
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(enc(a), enc(b))
}

// mustFinish fails the case unless the run succeeded and every device of
// the tenant was collected exactly once.
func (e *env) mustFinish(o outcome) {
	e.t.Helper()
	if o.err != nil {
		e.t.Fatalf("collection failed: %v", o.err)
	}
	if o.acq == nil {
		e.t.Fatalf("collection succeeded without writing %s", collect.AcquisitionFile)
	}
	if o.acq.Status != "complete" && o.acq.Status != "completed_with_gaps" {
		e.t.Errorf("acquisition status %q", o.acq.Status)
	}
	e.allDevices(o)
}

// allDevices checks that devices.ndjson holds every device of the tenant,
// each once, and nothing else.
func (e *env) allDevices(o outcome) {
	e.t.Helper()
	want := map[string]bool{}
	for _, id := range e.ids {
		want[e.key(id)] = true
	}
	got := map[string]int{}
	for _, d := range o.recs.Devices {
		got[d.Key]++
	}
	var missing, extra []string
	for k := range want {
		if got[k] == 0 {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 || len(extra) > 0 {
		e.t.Errorf("devices collected: %d of %d; missing %v; not in the tenant %v", len(got)-len(extra), len(want), missing, extra)
	}
}

// gapFor returns the gaps naming the device key with reason.
func gapsFor(o outcome, key, reason string) []collect.Gap {
	var out []collect.Gap
	for _, g := range o.recs.Gaps {
		if g.DeviceKey == key && g.Reason == reason {
			out = append(out, g)
		}
	}
	return out
}

// failureGaps returns the gaps that say a fetch went wrong: reason error
// or permission_denied, for a device or the whole source.
func failureGaps(o outcome) []collect.Gap {
	var out []collect.Gap
	for _, g := range o.recs.Gaps {
		if g.Reason == collect.ReasonError || g.Reason == collect.ReasonPermissionDenied {
			out = append(out, g)
		}
	}
	return out
}

// requestsTo returns the requests of target.
func (e *env) requestsTo(target Target) []Request {
	var out []Request
	for _, r := range e.sim.Requests() {
		if r.Target == target {
			out = append(out, r)
		}
	}
	return out
}

// refetched reports the URLs of target answered 2xx more than once.
func (e *env) refetched(target Target) []string {
	n := map[string]int{}
	var out []string
	for _, r := range e.requestsTo(target) {
		if r.Status >= 200 && r.Status <= 299 {
			n[r.URL]++
			if n[r.URL] == 2 {
				out = append(out, r.URL)
			}
		}
	}
	return out
}

// ---- cases ----

// followsEveryPage: a listing of several pages, one page answered 503
// once, is collected whole; the retried attempt is in the request log.
func followsEveryPage(t *testing.T, h Harness) {
	e := newEnv(t, h, Config{}, 0)
	injected := e.sim.Inject(List, Unavailable, 1) == nil
	o := e.run()
	e.mustFinish(o)
	pages := 0
	for _, r := range e.requestsTo(List) {
		if r.Status >= 200 && r.Status <= 299 {
			pages++
		}
	}
	if want := (e.cfg.Devices + e.cfg.PageSize - 1) / e.cfg.PageSize; pages < want {
		t.Errorf("the listing was answered in %d page(s); %d devices in pages of at most %d need %d", pages, e.cfg.Devices, e.cfg.PageSize, want)
	}
	if again := e.refetched(List); len(again) > 0 {
		t.Errorf("listing pages fetched twice: %q", again)
	}
	if injected && e.delivered(List, Unavailable) > 0 {
		n := 0
		for _, ex := range o.exs {
			if ex.Status == http.StatusServiceUnavailable {
				n++
			}
		}
		if n == 0 {
			t.Errorf("the 503 the listing met is not in the request log: retried attempts must be logged")
		}
	}
	if g := failureGaps(o); len(g) > 0 {
		t.Errorf("a run without faults (but one retried 503) recorded failure gaps: %+v", g)
	}
}

// noUnexpectedPaths: a clean run calls only paths the simulator serves.
func noUnexpectedPaths(t *testing.T, h Harness) {
	e := newEnv(t, h, Config{}, 0)
	o := e.run()
	e.mustFinish(o)
	if len(e.sim.Requests()) == 0 {
		t.Fatal("the simulator saw no request")
	}
	if u := e.sim.Unexpected(); len(u) > 0 {
		t.Errorf("unexpected requests: %q", u) // inspect reported it too; this case exists to name it
	}
}

// honoursRetryAfter: a 429 with Retry-After on the listing is retried no
// sooner than asked, in real time, and the run succeeds.
func honoursRetryAfter(t *testing.T, h Harness) {
	e := newEnv(t, h, Config{}, -1)
	e.inject(List, Throttle, 1)
	o := e.run()
	e.mustFinish(o)
	e.delivered(List, Throttle)
	reqs := e.requestsTo(List)
	i := slices.IndexFunc(reqs, func(r Request) bool { return r.Fault == Throttle })
	secs, err := strconv.Atoi(reqs[i].RetryAfter)
	if err != nil || secs <= 0 {
		t.Fatalf("harness: the 429 carried Retry-After %q; want whole seconds > 0", reqs[i].RetryAfter)
	}
	asked := time.Duration(secs) * time.Second
	j := slices.IndexFunc(reqs[i+1:], func(r Request) bool { return r.URL == reqs[i].URL })
	if j < 0 {
		t.Fatalf("the throttled page %s was never requested again", reqs[i].URL)
	}
	retry := reqs[i+1+j]
	if waited := retry.Started.Sub(reqs[i].Finished); waited < asked {
		t.Errorf("retried %v after a 429 with Retry-After: %d; must wait at least %v", waited.Round(time.Millisecond), secs, asked)
	}
	if retry.Status < 200 || retry.Status > 299 {
		t.Errorf("the retry was answered %d", retry.Status)
	}
	// DESIGN §5.2: the request log keeps the Retry-After it was given.
	logged := false
	for _, ex := range o.exs {
		for k, v := range ex.Headers {
			logged = logged || (ex.Status == http.StatusTooManyRequests && strings.EqualFold(k, "Retry-After") && v == reqs[i].RetryAfter)
		}
	}
	if !logged {
		t.Errorf("no 429 line of the request log keeps its Retry-After: %s", reqs[i].RetryAfter)
	}
}

// backsOffWithoutRetryAfter: a 429 without Retry-After is retried after a
// backoff wait (shortened here) and the run succeeds.
func backsOffWithoutRetryAfter(t *testing.T, h Harness) {
	e := newEnv(t, h, Config{}, 20*time.Millisecond)
	e.inject(List, ThrottleNoRetryAfter, 1)
	o := e.run()
	e.mustFinish(o)
	e.delivered(List, ThrottleNoRetryAfter)
	reqs := e.requestsTo(List)
	i := slices.IndexFunc(reqs, func(r Request) bool { return r.Fault == ThrottleNoRetryAfter })
	if reqs[i].RetryAfter != "" {
		t.Fatalf("harness: the 429 without Retry-After carried Retry-After %q", reqs[i].RetryAfter)
	}
	if !slices.ContainsFunc(reqs[i+1:], func(r Request) bool { return r.URL == reqs[i].URL && r.Status >= 200 && r.Status <= 299 }) {
		t.Errorf("the throttled page %s was not fetched again successfully", reqs[i].URL)
	}
	if w := e.sleep.waits(); !slices.ContainsFunc(w, func(d time.Duration) bool { return d > 0 }) {
		t.Errorf("the source retried without waiting (waits asked through Client.Sleep: %v)", w)
	}
}

// authFails: a refused credential or a listing refused with 401 or 403
// fails the whole run with an error matching collect.ErrAuth (exit 4),
// leaving no finished acquisition and no secret. When the refusal comes
// from the authentication step itself, no API call follows and no record
// is written.
func authFails(target Target, f Fault, atAuth bool) func(*testing.T, Harness) {
	return func(t *testing.T, h Harness) {
		e := newEnv(t, h, Config{}, 0)
		e.inject(target, f, -1)
		o := e.run()
		e.delivered(target, f)
		if o.err == nil {
			t.Fatalf("collection succeeded despite a %v on the %v", f, target)
		}
		if !errors.Is(o.err, collect.ErrAuth) {
			t.Errorf("error %q does not match collect.ErrAuth (the CLI would not exit 4)", o.err)
		}
		t.Logf("run error: %v", o.err)
		if o.acq != nil {
			t.Errorf("%s written after an authentication failure", collect.AcquisitionFile)
		}
		if !atAuth {
			return
		}
		for _, r := range e.sim.Requests() {
			if r.Target != Auth {
				t.Errorf("API called after the credential was refused: %s %s", r.Method, r.URL)
				break
			}
		}
		for _, name := range []string{collect.DevicesFile, collect.AppsFile, collect.EventsFile, collect.GapsFile} {
			if n := countLines(filepath.Join(e.dir, filepath.FromSlash(name))); n > 0 {
				t.Errorf("%s holds %d record(s) after the credential was refused", name, n)
			}
		}
	}
}

// deviceGap: one device whose per-device endpoints keep failing with f
// gets a gap with reason; the run completes with every device, and no
// other device gets a failure gap.
func deviceGap(f Fault, reason string) func(*testing.T, Harness) {
	return func(t *testing.T, h Harness) {
		e := newEnv(t, h, Config{}, 0)
		victim := e.victim(0)
		e.inject(Device(victim), f, -1)
		o := e.run()
		e.mustFinish(o)
		n := e.delivered(Device(victim), f)
		key := e.key(victim)
		if len(gapsFor(o, key, reason)) == 0 {
			t.Errorf("no %s gap for %s after a %v on its endpoints; its gaps: %+v", reason, key, f, gapsOf(o, key))
		}
		t.Logf("gaps of %s: %+v", key, gapsOf(o, key))
		if o.acq.Status != "completed_with_gaps" {
			t.Errorf("acquisition status %q, want completed_with_gaps", o.acq.Status)
		}
		for _, g := range failureGaps(o) {
			if g.DeviceKey != key {
				t.Errorf("a fault on %s left a failure gap elsewhere: %+v", key, g)
			}
		}
		if f == Unavailable && n < 2 {
			t.Errorf("the source gave up on %s after %d attempt(s) answered 503; it must retry", key, n)
		}
	}
}

func gapsOf(o outcome, key string) []collect.Gap {
	var out []collect.Gap
	for _, g := range o.recs.Gaps {
		if g.DeviceKey == key {
			out = append(out, g)
		}
	}
	return out
}

// listingBroken: a listing page with a broken body fails the run or is
// recorded as a gap; it is never lost silently.
func listingBroken(f Fault) func(*testing.T, Harness) {
	return func(t *testing.T, h Harness) {
		e := newEnv(t, h, Config{}, 0)
		e.inject(List, f, 1)
		o := e.run()
		e.delivered(List, f)
		if o.err != nil {
			t.Logf("run failed as it may: %v", o.err)
			return
		}
		if o.acq == nil {
			t.Fatalf("collection succeeded without writing %s", collect.AcquisitionFile)
		}
		if len(failureGaps(o)) > 0 {
			return
		}
		// Neither an error nor a gap: only acceptable if nothing was lost
		// (the source fetched the page again).
		e.allDevices(o)
	}
}

// stopsOnCancel: cancelling the context while a request hangs stops the
// run promptly with an error matching context.Canceled, leaves no
// finished acquisition, and leaves no goroutine behind.
func stopsOnCancel(t *testing.T, h Harness) {
	e := newEnv(t, h, Config{SlowDelay: time.Minute}, 0)
	victim := e.victim(0)
	e.inject(Device(victim), Slow, -1)
	st := e.newStaging()
	before := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.collect(ctx, st) }()

	// Every request to the victim is slow; a simulator may only learn
	// which fault a request got once it is answered.
	inFlight := func() bool {
		for _, r := range e.requestsTo(Device(victim)) {
			if r.Finished.IsZero() {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(waitInFlight)
	for !inFlight() {
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before the slow request to %s was made", err, victim)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("no slow request to device %s within %v", victim, waitInFlight)
		}
	}
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(cancelGuard):
		t.Fatalf("the run did not return within %v of cancellation", cancelGuard)
	}
	o := e.inspect(err, false)
	if err == nil {
		t.Fatal("a cancelled run returned no error")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %q does not match context.Canceled (the CLI would not exit 130)", err)
	}
	if o.acq != nil {
		t.Errorf("%s written by a cancelled run", collect.AcquisitionFile)
	}

	// Connections the transport keeps idle are not leaks: close them,
	// and give exiting goroutines (both ends of each connection) a moment
	// to finish. A conforming source gets back to the count it started
	// from.
	now := runtime.NumGoroutine()
	for end := time.Now().Add(5 * time.Second); now > before && time.Now().Before(end); now = runtime.NumGoroutine() {
		e.tr.CloseIdleConnections()
		time.Sleep(10 * time.Millisecond)
	}
	if now > before {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines before the run, %d five seconds after it was cancelled:\n%s", before, now, buf)
	}
}

// foreignLinkRefused: a paging link to another listener on 127.0.0.1 is
// never followed (the listener receives nothing, so neither the token);
// the run fails or records a gap.
func foreignLinkRefused(t *testing.T, h Harness) {
	var hits atomic.Int64
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "foreign host", http.StatusTeapot)
	}))
	t.Cleanup(foreign.Close)
	e := newEnv(t, h, Config{ForeignURL: foreign.URL}, 0)
	e.inject(List, ForeignLink, 1)
	o := e.run()
	e.delivered(List, ForeignLink)
	if n := hits.Load(); n > 0 {
		t.Errorf("the foreign host received %d request(s)", n)
	}
	if o.err == nil && len(failureGaps(o)) == 0 {
		t.Errorf("a foreign paging link was neither an error nor a gap")
	}
	t.Logf("run error: %v; failure gaps: %+v", o.err, failureGaps(o))
}

// repeatedLinkStops: a listing page whose paging link names the page
// itself stops the listing (error or gap) without fetching it again and
// without recording a device twice.
func repeatedLinkStops(t *testing.T, h Harness) {
	e := newEnv(t, h, Config{}, 0)
	e.inject(List, RepeatedLink, 1)
	o := e.run()
	e.delivered(List, RepeatedLink)
	if again := e.refetched(List); len(again) > 0 {
		t.Errorf("the source fetched a page it already had (%q): a repeated paging link must stop the listing", again)
	}
	if o.err == nil && len(failureGaps(o)) == 0 {
		t.Errorf("a repeated paging link was neither an error nor a gap")
	}
	t.Logf("run error: %v; failure gaps: %+v", o.err, failureGaps(o))
}

// noSecretOnDisk: after a run that met a token refresh (401 once), a 403
// and a malformed body, no credential or token is in any file under the
// case directory nor in the error.
func noSecretOnDisk(t *testing.T, h Harness) {
	e := newEnv(t, h, Config{}, 0)
	_ = e.sim.Inject(List, Unauthorized, 1)
	_ = e.sim.Inject(Device(e.victim(0)), Forbidden, -1)
	_ = e.sim.Inject(Device(e.victim(1)), Malformed, -1)
	e.run() // inspect walks every file for every secret
	if len(e.sim.Secrets()) == 0 {
		t.Fatal("harness: Secrets is empty; the case proves nothing")
	}
	files := 0
	filepath.WalkDir(e.caseDir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Fatal("the run wrote no file")
	}
}

// ---- plumbing ----

// loopbackClient returns an HTTP client that dials loopback addresses
// only and ignores proxy settings, and its transport.
func loopbackClient() (*http.Client, *http.Transport) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return nil, fmt.Errorf("collecttest: refusing to dial %s: tests stay on 127.0.0.1", addr)
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     time.Minute,
	}
	return &http.Client{Transport: tr}, tr
}

// sleeper records the waits a source asks for and waits at most real of
// each (all of it when real is negative), or until ctx ends.
type sleeper struct {
	real time.Duration

	mu    sync.Mutex
	asked []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.asked = append(s.asked, d)
	s.mu.Unlock()
	if s.real >= 0 {
		d = min(d, s.real)
	}
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func (s *sleeper) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.asked)
}
