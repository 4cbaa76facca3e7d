package intune

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

// Name is the source name used in record keys and raw/intune/.
const Name = "intune"

// Public endpoints; both can be overridden for sovereign clouds and the
// simulator.
const (
	DefaultGraphURL = "https://graph.microsoft.com"
	DefaultLoginURL = "https://login.microsoftonline.com"
)

// DeviceFields is the $select list for managedDevices: what incident
// response needs, and nothing sensitive (activationLockBypassCode is never
// requested).
var DeviceFields = []string{
	"id", "deviceName", "operatingSystem", "osVersion", "complianceState", "jailBroken",
	"managementAgent", "managedDeviceOwnerType", "deviceEnrollmentType", "enrolledDateTime",
	"lastSyncDateTime", "serialNumber", "imei", "userPrincipalName", "model", "manufacturer",
	"isSupervised", "isEncrypted", "partnerReportedThreatState", "androidSecurityPatchLevel",
	"deviceCategoryDisplayName",
}

// AppFields is the $select list for detectedApps.
var AppFields = []string{"id", "displayName", "version", "publisher", "platform", "sizeInByte", "deviceCount"}

// Config configures the source. Secrets are passed in memory only.
type Config struct {
	Tenant       string
	ClientID     string
	ClientSecret string
	GraphURL     string // base without API version; default DefaultGraphURL
	LoginURL     string // authority host; default DefaultLoginURL
	// Scope requested from the token endpoint; default "<GraphURL>/.default"
	// (https://graph.microsoft.com/.default for the public cloud).
	Scope string
	HTTP  *http.Client
	// Concurrency caps the Graph requests in flight (default 4). Twice as
	// many groups of devices or apps are worked on, so that a group
	// waiting out a Retry-After leaves its connection to another.
	Concurrency int
	PageSize    int // $top; default 100
	// Batch is the most per-device requests sent in one JSON $batch
	// (default and most MaxBatch, 20); 1 sends each on its own.
	Batch int
	// AppInventory is how a whole-tenant collection reads apps: AppsAuto
	// (default), AppsByDevice or AppsByTenant.
	AppInventory string
	// RequestsPerSecond and Burst pace every Graph request: the devices
	// service allows 2,000 requests / 20 s per app per tenant. Defaults 90
	// and 20; a negative rate disables the limiter.
	RequestsPerSecond float64
	Burst             int
	UserAgent         string
	Now               func() time.Time
	// Sleep overrides the retry wait (tests).
	Sleep func(context.Context, time.Duration) error
}

// Source collects from one Intune tenant.
type Source struct {
	cfg   Config
	graph *httpx.Client
	login *httpx.Client

	tokens *httpsource.TokenCache
}

// New validates cfg and returns a source. It does not contact the network.
func New(cfg Config) (*Source, error) {
	if cfg.Tenant == "" || cfg.ClientID == "" {
		return nil, errors.New("intune: --tenant and --client-id are required")
	}
	if cfg.ClientSecret == "" {
		return nil, errors.New("intune: no client secret: set CUSTOS_INTUNE_CLIENT_SECRET or pass --client-secret-file")
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = DefaultGraphURL
	}
	if cfg.LoginURL == "" {
		cfg.LoginURL = DefaultLoginURL
	}
	if cfg.Scope == "" {
		cfg.Scope = strings.TrimRight(cfg.GraphURL, "/") + "/.default"
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.Batch <= 0 || cfg.Batch > MaxBatch {
		cfg.Batch = MaxBatch
	}
	switch cfg.AppInventory {
	case "":
		cfg.AppInventory = AppsAuto
	case AppsAuto, AppsByDevice, AppsByTenant:
	default:
		return nil, fmt.Errorf("intune: app inventory %q: want %s, %s or %s", cfg.AppInventory, AppsAuto, AppsByDevice, AppsByTenant)
	}
	if cfg.RequestsPerSecond == 0 {
		cfg.RequestsPerSecond = 90
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	graph, err := httpsource.BaseURL(Name, "--graph-url", cfg.GraphURL)
	if err != nil {
		return nil, err
	}
	login, err := httpsource.BaseURL(Name, "--login-url", cfg.LoginURL)
	if err != nil {
		return nil, err
	}
	mk := func(base *url.URL) *httpx.Client {
		return &httpx.Client{HTTP: cfg.HTTP, Base: base, UserAgent: cfg.UserAgent, Now: cfg.Now, Sleep: cfg.Sleep, AuthSentinel: collect.ErrAuth}
	}
	s := &Source{cfg: cfg, graph: mk(graph), login: mk(login)}
	s.tokens = &httpsource.TokenCache{Client: s.login, Source: Name, Headers: logHeaders, Now: cfg.Now, Request: s.tokenRequest}
	s.graph.Limiter = httpx.NewLimiter(cfg.RequestsPerSecond, cfg.Burst, cfg.Concurrency)
	s.graph.DecodeError = func(status int, h http.Header, body []byte) (string, string) {
		e := parseGraphError(status, h, body)
		return e.Code, e.Message
	}
	return s, nil
}

// Name implements collect.Source.
func (s *Source) Name() string { return Name }

// Describe implements collect.Source.
func (s *Source) Describe() collect.Descriptor {
	return collect.Descriptor{
		Name: Name,
		API:  "Microsoft Graph (Intune)",
		Endpoints: []string{
			s.cfg.LoginURL + "/" + s.cfg.Tenant + "/oauth2/v2.0/token",
			s.cfg.GraphURL + "/v1.0/deviceManagement/managedDevices",
			s.cfg.GraphURL + "/beta/deviceManagement/managedDevices/{id}/detectedApps",
			s.cfg.GraphURL + "/v1.0/deviceManagement/detectedApps",
			s.cfg.GraphURL + "/v1.0/deviceManagement/detectedApps/{id}/managedDevices",
			s.cfg.GraphURL + "/{v1.0,beta}/$batch",
			s.cfg.GraphURL + "/v1.0/deviceManagement/managedDevices/{id}/deviceCompliancePolicyStates",
			s.cfg.GraphURL + "/v1.0/deviceManagement/auditEvents",
		},
		Tenant:      s.cfg.Tenant,
		Principal:   s.cfg.ClientID,
		Permissions: []string{"DeviceManagementManagedDevices.Read.All", "DeviceManagementConfiguration.Read.All", "DeviceManagementApps.Read.All"},
		Telemetry:   []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory, collect.TelemetryAdminAudit},
	}
}

// Collect implements collect.Source.
//
// The work is a pipeline: devices are written as the listing pages
// arrive, and every full group of devices (one $batch) has its compliance
// states fetched at once, while the listing goes on. Once the listing is
// done, the admin audit events and the choice of inventory path run beside
// those groups, then the app inventory: per device, or app by app across
// the tenant. A device's unit is done when its compliance states and, on
// the per-device path, its apps are written.
func (s *Source) Collect(ctx context.Context, req collect.Request, sink collect.Sink) error {
	if _, err := s.tokens.Token(ctx, sink); err != nil {
		return fmt.Errorf("intune: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2 * s.cfg.Concurrency)
	prog := &progress{req: req, stats: func() httpx.Stats { return s.graph.Stats().Add(s.login.Stats()) }}
	units := &tracker{sink: sink, done: func() { prog.done(1, 0) }, left: map[string]int{}}

	// Devices finished before a resume are skipped whole: their records
	// are already in the staging.
	var devices, todo, group []collect.Device
	compliance := func(group []collect.Device) {
		g.Go(func() error {
			if err := s.perDevice(gctx, group, stepCompliance, sink); err != nil {
				return err
			}
			return units.partsDone(group)
		})
	}
	seen := map[string]bool{}
	err := s.listDevices(ctx, req, sink, func(d collect.Device) error {
		if seen[d.Key] {
			return nil // listed twice: the first stands (both are in the raw)
		}
		seen[d.Key] = true
		devices = append(devices, d)
		prog.add(1, 0)
		if req.IsDone(d.Key) {
			prog.done(1, 0)
			return nil
		}
		if err := sink.Device(d); err != nil {
			return err
		}
		if d.Ownership == "personal" {
			if err := sink.Gap(collect.Gap{DeviceKey: d.Key, Source: Name, Telemetry: collect.TelemetryAppInventory,
				Reason: collect.ReasonPersonalScope,
				Detail: "Intune reports only managed apps for personally owned devices"}); err != nil {
				return err
			}
		}
		// Two parts: the compliance states, and the apps (or, on the
		// tenant-wide path, the choice that takes them elsewhere).
		units.expect(d.Key, 2)
		todo = append(todo, d)
		if group = append(group, d); len(group) == s.cfg.Batch {
			compliance(group)
			group = nil
		}
		return gctx.Err()
	})
	if err != nil {
		if werr := g.Wait(); werr != nil {
			return werr // the failure that stopped the listing
		}
		return fmt.Errorf("intune: listing devices: %w", err)
	}
	if len(group) > 0 {
		compliance(group)
	}

	g.Go(func() error {
		if err := s.auditEvents(gctx, req, devices, sink); err != nil {
			return fmt.Errorf("intune: audit events: %w", err)
		}
		return nil
	})

	apps, byTenant, err := s.chooseInventory(gctx, req, todo, sink)
	if err != nil {
		if werr := g.Wait(); werr != nil {
			return werr
		}
		return err
	}
	if !byTenant {
		for group := range slices.Chunk(todo, s.cfg.Batch) {
			g.Go(func() error {
				if err := s.perDevice(gctx, group, stepApps, sink); err != nil {
					return err
				}
				return units.partsDone(group)
			})
		}
		return g.Wait()
	}
	if err := units.partsDone(todo); err != nil {
		if werr := g.Wait(); werr != nil {
			return werr
		}
		return err
	}
	// Every device listed can hold an app, those finished before a resume
	// included: their apps are filed under the apps' units.
	keys := make(map[string]string, len(devices))
	for _, d := range devices {
		keys[d.SourceID] = d.Key
	}
	apps = undone(req, apps)
	prog.add(0, len(apps))
	for group := range slices.Chunk(apps, s.cfg.Batch) {
		g.Go(func() error {
			if err := s.appDevices(gctx, group, keys, sink); err != nil {
				return err
			}
			for _, ta := range group {
				if err := sink.UnitDone(appUnit(ta.app.ID)); err != nil {
					return err
				}
			}
			prog.done(0, len(group))
			return nil
		})
	}
	return g.Wait()
}

// tracker closes a device's unit once each of its parts is done, then
// calls done.
type tracker struct {
	sink collect.Sink
	done func()
	mu   sync.Mutex
	left map[string]int
}

// expect registers a unit of n parts.
func (t *tracker) expect(unit string, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.left[unit] = n
}

// partsDone marks one part of each device's unit done.
func (t *tracker) partsDone(devices []collect.Device) error {
	for _, d := range devices {
		t.mu.Lock()
		t.left[d.Key]--
		last := t.left[d.Key] == 0
		if last {
			delete(t.left, d.Key)
		}
		t.mu.Unlock()
		if !last {
			continue
		}
		if err := t.sink.UnitDone(d.Key); err != nil {
			return err
		}
		t.done()
	}
	return nil
}

// progress reports devices and apps done, with the request counts.
type progress struct {
	req   collect.Request
	stats func() httpx.Stats
	mu    sync.Mutex
	p     collect.Progress
}

// add grows the totals (devices are counted as the listing finds them).
func (p *progress) add(devices, apps int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p.DevicesTotal += devices
	p.p.AppsTotal += apps
}

// done counts work done and reports.
func (p *progress) done(devices, apps int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p.DevicesDone += devices
	p.p.AppsDone += apps
	if p.req.Progress != nil {
		st := p.stats()
		p.p.Requests, p.p.Throttled, p.p.Waited = int(st.Requests), int(st.Waits), st.WaitTime
		p.req.Progress(p.p)
	}
}

// Per-device listings.
const (
	stepCompliance = iota // deviceCompliancePolicyStates
	stepApps              // detectedApps
)

// perDevice fetches one listing (step) of each device of a group, a
// $batch per page round, writing a gap for each listing that fails.
func (s *Source) perDevice(ctx context.Context, group []collect.Device, step int, sink collect.Sink) error {
	st := struct {
		call      func(id string) call
		records   func(d collect.Device, p page, ref collect.RawRef, sink collect.Sink) error
		telemetry string
		detail    string
	}{complianceCall, complianceRecords, collect.TelemetryDeviceState, "compliance policy states"}
	if step == stepApps {
		st.call, st.records, st.telemetry, st.detail = s.appsCall, appRecords, collect.TelemetryAppInventory, "detected apps"
	}
	var devs []collect.Device
	var urls []*url.URL
	for _, d := range group {
		if !httpsource.SegmentOK(d.SourceID) {
			if err := sink.Gap(collect.Gap{DeviceKey: d.Key, Source: Name, Telemetry: st.telemetry, Reason: collect.ReasonError,
				Detail: st.detail + ": the device id cannot name a Graph resource"}); err != nil {
				return err
			}
			continue
		}
		devs = append(devs, d)
		urls = append(urls, s.url(st.call(d.SourceID)))
	}
	errs, err := s.collections(ctx, urls, sink, func(i int, p page, ref collect.RawRef) error {
		return st.records(devs[i], p, ref, sink)
	})
	if err != nil {
		return fmt.Errorf("intune: %s: %w", st.detail, err)
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		d := devs[i]
		if err := httpsource.GapOrStop(ctx, err, sink, collect.Gap{DeviceKey: d.Key, Source: Name, Telemetry: st.telemetry, Detail: st.detail}); err != nil {
			return fmt.Errorf("intune: %s of %s: %w", st.detail, d.SourceID, err)
		}
	}
	return nil
}

// get performs an authenticated GET; see send.
func (s *Source) get(ctx context.Context, u *url.URL, sink collect.Sink) (*httpx.Response, collect.RawRef, error) {
	h := http.Header{"Accept": {"application/json"}}
	return s.send(ctx, httpx.Request{Method: http.MethodGet, URL: u, Header: h}, sink)
}

// send performs an authenticated request, captures every response, and
// returns the final one with its RawRef. A 401 refreshes the token once.
// A failure to store a response is a *httpsource.StagingError.
func (s *Source) send(ctx context.Context, req httpx.Request, sink collect.Sink) (*httpx.Response, collect.RawRef, error) {
	return httpsource.Authorized(ctx, s.graph, req, s.tokens, sink, Name, logHeaders)
}

// logHeaders are the Graph response headers kept in the request log.
var logHeaders = []string{"request-id", "client-request-id", "Retry-After", "Date", "Content-Type"}

// tokenRequest is the client-credentials grant of the tenant's app.
func (s *Source) tokenRequest() (httpsource.TokenRequest, error) {
	return httpsource.TokenRequest{
		URL: s.login.Base.JoinPath(url.PathEscape(s.cfg.Tenant), "oauth2", "v2.0", "token"),
		Form: url.Values{
			"client_id":     {s.cfg.ClientID},
			"client_secret": {s.cfg.ClientSecret},
			"scope":         {s.cfg.Scope},
			"grant_type":    {"client_credentials"},
		},
		Refused: func(resp *httpx.Response) error {
			return fmt.Errorf("requesting token for tenant %s: %w", s.cfg.Tenant, parseTokenError(resp.Status, resp.Header, resp.Body))
		},
	}, nil
}

// page is a Graph collection envelope with the items kept raw.
type page struct {
	NextLink string
	Value    []json.RawMessage
}

// UnmarshalJSON reads the envelope by exact member names. encoding/json
// matches struct fields ignoring case, so a body with "Value" would
// decode, yet the records' pointers (/value/N) would lead nowhere in the
// stored bytes.
func (p *page) UnmarshalJSON(data []byte) error {
	m, err := members(data, "value", "@odata.nextLink")
	if err != nil {
		return err
	}
	*p = page{}
	if v := m["value"]; v != nil {
		if err := json.Unmarshal(v, &p.Value); err != nil {
			return fmt.Errorf("value: %w", err)
		}
	}
	if v := m["@odata.nextLink"]; v != nil {
		if err := json.Unmarshal(v, &p.NextLink); err != nil {
			return fmt.Errorf("@odata.nextLink: %w", err)
		}
	}
	return nil
}

// members decodes a JSON object and returns the named members, matched
// exactly (the last of duplicates, as a JSON pointer resolves them).
func members(data []byte, names ...string) (map[string]json.RawMessage, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	if all == nil {
		return nil, errors.New("null where an object was expected")
	}
	out := make(map[string]json.RawMessage, len(names))
	for _, n := range names {
		if v, ok := all[n]; ok && string(v) != "null" {
			out[n] = v
		}
	}
	return out, nil
}

// eachPage reads the collection at first, every page, calling fn with
// each (see collections).
func (s *Source) eachPage(ctx context.Context, first *url.URL, sink collect.Sink, fn func(p page, ref collect.RawRef) error) error {
	errs, err := s.collections(ctx, []*url.URL{first}, sink, func(_ int, p page, ref collect.RawRef) error { return fn(p, ref) })
	if err != nil {
		return err
	}
	return errs[0]
}

// at is the RawRef of item i of the page at ref.
func at(ref collect.RawRef, i int) collect.RawRef {
	ref.Pointer += fmt.Sprintf("/value/%d", i)
	return ref
}

// where names a stored object for a message: path#pointer.
func where(ref collect.RawRef) string {
	if ref.Pointer == "" {
		return ref.Path
	}
	return ref.Path + "#" + ref.Pointer
}

func (s *Source) listDevices(ctx context.Context, req collect.Request, sink collect.Sink, fn func(collect.Device) error) error {
	u := s.graph.Base.JoinPath("v1.0", "deviceManagement", "managedDevices")
	u.RawQuery = odataQuery(DeviceFields, s.cfg.PageSize, serverFilter(req))
	return s.eachPage(ctx, u, sink, func(p page, ref collect.RawRef) error {
		for i, raw := range p.Value {
			var md managedDevice
			if err := json.Unmarshal(raw, &md); err != nil {
				return fmt.Errorf("decoding %s: %w", where(at(ref, i)), err)
			}
			d := md.record(at(ref, i))
			// Graph silently ignores $filter terms it does not support, so
			// every result is checked again here.
			if req.Wanted(d) {
				if err := fn(d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// serverFilter narrows the listing when exactly one name or serial is
// wanted; these are the filters Intune is known to honour.
func serverFilter(req collect.Request) string {
	if req.All || len(req.Selectors) != 1 {
		return ""
	}
	sel := req.Selectors[0]
	quote := strings.ReplaceAll(sel.Value, "'", "''")
	switch sel.Kind {
	case "name":
		return "deviceName eq '" + quote + "'"
	case "serial":
		return "serialNumber eq '" + quote + "'"
	}
	return ""
}

func odataQuery(fields []string, top int, filter string) string {
	// Graph expects literal $ and commas; url.Values would escape them.
	q := "$select=" + strings.Join(fields, ",") + fmt.Sprintf("&$top=%d", top)
	if filter != "" {
		q += "&$filter=" + url.QueryEscape(filter)
	}
	return q
}

// appsCall is the per-device detectedApps request (beta only).
func (s *Source) appsCall(id string) call {
	return call{version: "beta", segs: []string{"deviceManagement", "managedDevices", id, "detectedApps"},
		query: odataQuery(AppFields, s.cfg.PageSize, "")}
}

// appRecords writes the apps of d on one page of its detectedApps.
func appRecords(d collect.Device, p page, ref collect.RawRef, sink collect.Sink) error {
	for i, raw := range p.Value {
		var da detectedApp
		if err := json.Unmarshal(raw, &da); err != nil {
			return fmt.Errorf("decoding %s: %w", where(at(ref, i)), err)
		}
		if err := sink.App(da.record(d.Key, at(ref, i))); err != nil {
			return err
		}
	}
	return nil
}
