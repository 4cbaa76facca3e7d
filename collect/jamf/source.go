package jamf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
	"github.com/custos-ir/custos/internal/httpx"
)

// Name is the source name used in record keys and raw/jamf/.
const Name = "jamf"

// MaxConcurrency is the most requests sent to the server at once: Jamf
// recommends at most five concurrent connections to a Jamf Pro server.
const MaxConcurrency = 5

// Page sizes of the device listing; Jamf accepts up to 2,000.
const (
	DefaultPageSize = 100
	MaxPageSize     = 2000
)

// Config configures the source. Give either an API client (ClientID and
// ClientSecret) or a user account (Username and Password). Secrets are
// passed in memory only.
type Config struct {
	// URL is the server: scheme, host and an optional path prefix, such as
	// https://example.jamfcloud.com or https://jamf.example.com:8443.
	URL          string
	ClientID     string
	ClientSecret string
	Username     string
	Password     string
	HTTP         *http.Client
	// Concurrency caps the requests in flight, token requests included;
	// default and most MaxConcurrency.
	Concurrency int
	PageSize    int // devices per listing page; default DefaultPageSize
	UserAgent   string
	Now         func() time.Time
	// Sleep overrides the retry wait (tests).
	Sleep func(context.Context, time.Duration) error
}

// Source collects from one Jamf Pro server.
type Source struct {
	cfg  Config
	api  *httpx.Client
	auth *auth
}

// New validates cfg and returns a source. It does not contact the network.
func New(cfg Config) (*Source, error) {
	if cfg.URL == "" {
		return nil, errors.New("jamf: --url is required: the Jamf Pro server, such as https://example.jamfcloud.com")
	}
	switch client, user := cfg.ClientID != "", cfg.Username != ""; {
	case client && user:
		return nil, errors.New("jamf: give --client-id or --username, not both")
	case client && cfg.ClientSecret == "":
		return nil, errors.New("jamf: no client secret: set CUSTOS_JAMF_CLIENT_SECRET or pass --client-secret-file")
	case user && cfg.Password == "":
		return nil, errors.New("jamf: no password: set CUSTOS_JAMF_PASSWORD or pass --password-file")
	case !client && !user:
		return nil, errors.New("jamf: no credentials: pass --client-id of an API client (with CUSTOS_JAMF_CLIENT_SECRET or --client-secret-file), or --username (with CUSTOS_JAMF_PASSWORD or --password-file)")
	}
	if cfg.Concurrency > MaxConcurrency {
		return nil, fmt.Errorf("jamf: concurrency %d: Jamf Pro takes at most %d concurrent connections", cfg.Concurrency, MaxConcurrency)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = MaxConcurrency
	}
	if cfg.PageSize > MaxPageSize {
		return nil, fmt.Errorf("jamf: page size %d: Jamf Pro serves at most %d devices a page", cfg.PageSize, MaxPageSize)
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base, err := httpsource.BaseURL(Name, "--url", cfg.URL)
	if err != nil {
		return nil, err
	}
	cfg.URL = base.String()
	s := &Source{cfg: cfg}
	// One client and one limiter for everything the server answers, the
	// token endpoints included: Jamf's limit is on connections to the
	// server, whatever they ask.
	s.api = &httpx.Client{HTTP: cfg.HTTP, Base: base, UserAgent: cfg.UserAgent, Now: cfg.Now, Sleep: cfg.Sleep,
		AuthSentinel: collect.ErrAuth, DecodeError: decodeError, Limiter: httpx.NewLimiter(0, 0, cfg.Concurrency)}
	s.auth = &auth{s: s}
	return s, nil
}

// userFlow reports whether the source logs in as a user (bearer token
// with keep-alive) rather than as an API client.
func (s *Source) userFlow() bool { return s.cfg.Username != "" }

// principal names who the source authenticates as: never a secret.
func (s *Source) principal() string {
	if s.userFlow() {
		return "user " + s.cfg.Username
	}
	return "API client " + s.cfg.ClientID
}

// Name implements collect.Source.
func (s *Source) Name() string { return Name }

// Describe implements collect.Source.
func (s *Source) Describe() collect.Descriptor {
	auth := []string{s.cfg.URL + "/api/oauth/token"}
	principal := s.cfg.ClientID
	if s.userFlow() {
		auth = []string{s.cfg.URL + "/api/v1/auth/token", s.cfg.URL + "/api/v1/auth/keep-alive", s.cfg.URL + "/api/v1/auth/invalidate-token"}
		principal = s.cfg.Username
	}
	return collect.Descriptor{
		Name: Name,
		API:  "Jamf Pro API and Classic API",
		Endpoints: append(auth,
			s.cfg.URL+"/api/v2/mobile-devices",
			s.cfg.URL+"/api/v2/mobile-devices/{id}/detail",
			s.cfg.URL+"/JSSResource/mobiledevicehistory/id/{id}/subset/"+historySubset,
		),
		Tenant:      s.api.Base.Host,
		Principal:   principal,
		Permissions: []string{"Read Mobile Devices"},
		// No device logs: MDM gives none to the server (Apple's protocol
		// has no command for them).
		Telemetry: []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory, collect.TelemetryAdminAudit},
	}
}

// logHeaders are the response headers kept in the request log.
var logHeaders = []string{"Retry-After", "Date", "Content-Type", "X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}

// get sends an authenticated GET, captures every response (retried
// attempts included), and returns the final one with its RawRef. A 401
// drops the token and tries once more with a new one. An error status is
// an *Error; a failure to store a response a *httpsource.StagingError.
func (s *Source) get(ctx context.Context, u *url.URL, sink collect.Sink) (*httpx.Response, collect.RawRef, error) {
	for attempt := 0; ; attempt++ {
		tok, err := s.auth.Token(ctx, sink)
		if err != nil {
			return nil, collect.RawRef{}, err
		}
		h := http.Header{"Accept": {"application/json"}, "Authorization": {"Bearer " + tok}}
		resp, err := s.api.Do(ctx, httpx.Request{Method: http.MethodGet, URL: u, Header: h})
		if resp == nil {
			return nil, collect.RawRef{}, err
		}
		ref, cerr := httpsource.CaptureHTTP(sink, Name, resp, true, logHeaders)
		if cerr != nil {
			return nil, collect.RawRef{}, cerr
		}
		if errors.Is(err, httpx.ErrAuth) && attempt == 0 {
			s.auth.drop(tok) // expired, or replaced by a keep-alive meanwhile
			continue
		}
		return resp, ref, asError(err, resp)
	}
}

// Collect implements collect.Source.
//
// It lists the devices page by page (sorted by id, so that the pages hold
// still) and hands each wanted device to a worker, which reads its detail
// and its management history and writes its records; at most
// Config.Concurrency requests are in flight. If the fleet changed during
// the listing (totalCount moved, or a page came back short), the listing
// is read once more to catch the devices that moved between pages; if it
// changes again, a gap says the listing may be incomplete. A user token is
// invalidated at the end.
func (s *Source) Collect(ctx context.Context, req collect.Request, sink collect.Sink) error {
	if _, err := s.auth.Token(ctx, sink); err != nil {
		return fmt.Errorf("jamf: %w", err)
	}
	defer s.auth.end(ctx, sink)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2 * s.cfg.Concurrency) // a device waiting out a Retry-After leaves its slot to another
	prog := &progress{req: req, stats: s.api.Stats}
	// With a user: or imei: selector, whether a device is wanted is known
	// only from its detail (the listing has neither e-mail nor IMEI).
	fromDetail := !req.All && slices.ContainsFunc(req.Selectors, func(sel collect.Selector) bool {
		return sel.Kind == "user" || sel.Kind == "imei"
	})
	seen := map[string]bool{}
	visit := func(it listItem, ref collect.RawRef) error {
		pre := it.record(ref)
		if seen[pre.Key] {
			return nil
		}
		seen[pre.Key] = true
		if !req.Wanted(pre) && !fromDetail {
			return nil
		}
		prog.add()
		if req.IsDone(pre.Key) {
			prog.done()
			return nil
		}
		g.Go(func() error { return s.device(gctx, req, it, pre, sink, prog) })
		return gctx.Err()
	}
	if err := s.listAll(gctx, sink, visit); err != nil {
		if werr := g.Wait(); werr != nil {
			return werr // the failure that stopped the listing
		}
		return fmt.Errorf("jamf: listing devices: %w", err)
	}
	return g.Wait()
}

// listURL is page n of the listing.
func (s *Source) listURL(n int) *url.URL {
	u := s.api.Base.JoinPath("api", "v2", "mobile-devices")
	u.RawQuery = fmt.Sprintf("page=%d&page-size=%d&sort=id:asc", n, s.cfg.PageSize)
	return u
}

// listAll reads the listing, and once more if the fleet changed meanwhile.
func (s *Source) listAll(ctx context.Context, sink collect.Sink, visit func(listItem, collect.RawRef) error) error {
	var seen []string
	for range 2 {
		p, err := s.listPass(ctx, sink, visit)
		if err != nil {
			return err
		}
		if p.stable() {
			return nil
		}
		seen = append(seen, p.String())
	}
	return sink.Gap(collect.Gap{Source: Name, Telemetry: collect.TelemetryDeviceState, Reason: collect.ReasonError,
		Detail: "the fleet changed while it was listed, in both readings (" + strings.Join(seen, "; ") + "): a device enrolled or removed meanwhile may be missing"})
}

// pass is what one reading of the listing saw.
type pass struct {
	totals   []int // the distinct totalCount values, in order
	received int   // items received
	short    bool  // an empty page came before totalCount items
}

func (p *pass) total(n int) {
	if len(p.totals) == 0 || p.totals[len(p.totals)-1] != n {
		p.totals = append(p.totals, n)
	}
}

func (p pass) stable() bool { return len(p.totals) <= 1 && !p.short }

func (p pass) String() string {
	var ts []string
	for _, t := range p.totals {
		ts = append(ts, fmt.Sprint(t))
	}
	s := "totalCount " + strings.Join(ts, ", then ")
	if p.short {
		s += fmt.Sprintf("; the pages ended after %d devices", p.received)
	}
	return s
}

// listPass reads the listing from page 0 until it has totalCount items or
// a page comes back empty, calling visit for every item.
func (s *Source) listPass(ctx context.Context, sink collect.Sink, visit func(listItem, collect.RawRef) error) (pass, error) {
	var p pass
	pager := s.api.NewPager(s.listURL(0))
	listed := map[string]bool{} // in this pass
	for page := 0; ; page++ {
		if page > 0 {
			if _, err := pager.NextURL(s.listURL(page)); err != nil {
				return p, fmt.Errorf("page %d: %w", page, err)
			}
		}
		resp, ref, err := s.get(ctx, pager.URL(), sink)
		if err != nil {
			return p, fmt.Errorf("page %d: %w", page, err)
		}
		lp, err := decodeList(resp.Body)
		if err != nil {
			return p, fmt.Errorf("page %d: decoding %s: %w", page, ref.Path, err)
		}
		if lp.TotalCount != nil {
			p.total(*lp.TotalCount)
		}
		fresh := 0
		for i, raw := range lp.Results {
			r := at(ref, fmt.Sprintf("/results/%d", i))
			var it listItem
			if err := json.Unmarshal(raw, &it); err != nil {
				return p, fmt.Errorf("page %d: decoding %s#%s: %w", page, r.Path, r.Pointer, err)
			}
			if it.ID == "" {
				return p, fmt.Errorf("page %d: %s#%s: a device without an id", page, r.Path, r.Pointer)
			}
			if !listed[string(it.ID)] {
				listed[string(it.ID)] = true
				fresh++
			}
			if err := visit(it, r); err != nil {
				return p, err
			}
		}
		p.received += len(lp.Results)
		total := -1
		if lp.TotalCount != nil {
			total = *lp.TotalCount
		}
		switch {
		case len(lp.Results) == 0:
			p.short = total >= 0 && p.received < total
			return p, nil
		case fresh == 0:
			return p, fmt.Errorf("page %d lists only devices already listed: the paging loops", page)
		case total >= 0 && p.received >= total:
			return p, nil
		}
	}
}

// device reads one device's detail and management history and writes its
// records, or gaps for what could not be read; then its unit is done.
func (s *Source) device(ctx context.Context, req collect.Request, it listItem, pre collect.Device, sink collect.Sink, prog *progress) error {
	id := string(it.ID)
	if !httpsource.SegmentOK(id) || strings.ContainsAny(id, "/?#&") {
		if !req.Wanted(pre) {
			return nil
		}
		if err := sink.Device(pre); err != nil {
			return err
		}
		for _, kind := range []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory, collect.TelemetryAdminAudit} {
			if err := sink.Gap(collect.Gap{DeviceKey: pre.Key, Source: Name, Telemetry: kind, Reason: collect.ReasonError,
				Detail: "the device id cannot name a Jamf Pro resource"}); err != nil {
				return err
			}
		}
		return s.unitDone(pre.Key, sink, prog)
	}
	u := s.api.Base.JoinPath("api", "v2", "mobile-devices", url.PathEscape(id), "detail")
	resp, ref, err := s.get(ctx, u, sink)
	var d *detail
	if err == nil {
		if d, err = decodeDetail(resp.Body); err != nil {
			err = fmt.Errorf("decoding %s: %w", ref.Path, err)
		}
	}
	rec := pre
	if err != nil {
		if httpsource.Fatal(ctx, err) || httpsource.AuthFailed(err) {
			return fmt.Errorf("jamf: detail of device %s: %w", id, err)
		}
		if !req.Wanted(pre) {
			// Wanted or not was for the detail to say.
			return httpsource.GapOrStop(ctx, err, sink, collect.Gap{Source: Name, Telemetry: collect.TelemetryDeviceState,
				Detail: fmt.Sprintf("device %s (%q) not matched against the selectors: its detail", id, pre.Name)})
		}
		if err := sink.Device(pre); err != nil {
			return err
		}
		for _, kind := range []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory} {
			if err := httpsource.GapOrStop(ctx, err, sink, collect.Gap{DeviceKey: pre.Key, Source: Name, Telemetry: kind, Detail: "device detail"}); err != nil {
				return fmt.Errorf("jamf: detail of device %s: %w", id, err)
			}
		}
	} else {
		rec = d.record(id, string(it.Username), ref)
		if !req.Wanted(rec) {
			return nil
		}
		if err := s.writeDetail(rec, d, ref, sink); err != nil {
			return err
		}
	}
	if err := s.history(ctx, req, id, rec.Key, sink); err != nil {
		return err
	}
	return s.unitDone(rec.Key, sink, prog)
}

func (s *Source) unitDone(key string, sink collect.Sink, prog *progress) error {
	if err := sink.UnitDone(key); err != nil {
		return err
	}
	prog.done()
	return nil
}

// writeDetail writes the device and its apps.
func (s *Source) writeDetail(rec collect.Device, d *detail, ref collect.RawRef, sink collect.Sink) error {
	if err := sink.Device(rec); err != nil {
		return err
	}
	if rec.Ownership == "personal" {
		if err := sink.Gap(collect.Gap{DeviceKey: rec.Key, Source: Name, Telemetry: collect.TelemetryAppInventory, Reason: collect.ReasonPersonalScope,
			Detail: "a personally owned (User Enrollment) device reports only the apps the organisation manages"}); err != nil {
			return err
		}
	}
	if d.apps == nil {
		return sink.Gap(collect.Gap{DeviceKey: rec.Key, Source: Name, Telemetry: collect.TelemetryAppInventory, Reason: collect.ReasonError,
			Detail: fmt.Sprintf("the device detail (%s) has no applications section", ref.Path)})
	}
	base := "/" + d.platformKey + "/applications/"
	for i, raw := range d.apps {
		r := at(ref, base+fmt.Sprint(i))
		var a app
		err := errors.New("not an object")
		if isObject(raw) {
			err = json.Unmarshal(raw, &a)
		}
		if err != nil {
			if err := sink.Gap(collect.Gap{DeviceKey: rec.Key, Source: Name, Telemetry: collect.TelemetryAppInventory, Reason: collect.ReasonError,
				Detail: fmt.Sprintf("application %s#%s not read: %v", r.Path, r.Pointer, err)}); err != nil {
				return err
			}
			continue
		}
		if err := sink.App(a.record(rec.Key, r)); err != nil {
			return err
		}
	}
	return nil
}

// history writes the device's MDM commands and audits from the Classic
// API, or a gap.
func (s *Source) history(ctx context.Context, req collect.Request, id, key string, sink collect.Sink) error {
	u := s.api.Base.JoinPath("JSSResource", "mobiledevicehistory", "id", url.PathEscape(id), "subset", historySubset)
	resp, ref, err := s.get(ctx, u, sink)
	var events []collect.Event
	if err == nil {
		if events, err = parseHistory(key, req.Since, resp.Body, ref); err != nil {
			err = fmt.Errorf("decoding %s: %w", ref.Path, err)
		}
	}
	if err != nil {
		if err := httpsource.GapOrStop(ctx, err, sink, collect.Gap{DeviceKey: key, Source: Name, Telemetry: collect.TelemetryAdminAudit,
			Detail: "management history"}); err != nil {
			return fmt.Errorf("jamf: management history of device %s: %w", id, err)
		}
		return nil
	}
	for _, e := range events {
		if err := sink.Event(e); err != nil {
			return err
		}
	}
	return nil
}

// progress reports devices done, with the request counts.
type progress struct {
	req   collect.Request
	stats func() httpx.Stats
	mu    sync.Mutex
	p     collect.Progress
}

func (p *progress) add() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p.DevicesTotal++
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p.DevicesDone++
	if p.req.Progress != nil {
		st := p.stats()
		p.p.Requests, p.p.Throttled, p.p.Waited = int(st.Requests), int(st.Waits), st.WaitTime
		p.req.Progress(p.p)
	}
}
