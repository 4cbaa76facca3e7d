package intune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/custos-ir/custos/collect"
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
	Scope       string
	HTTP        *http.Client
	Concurrency int // parallel per-device requests; default 4
	PageSize    int // $top; default 100
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

	mu      sync.Mutex
	token   string
	expires time.Time
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
	if cfg.RequestsPerSecond == 0 {
		cfg.RequestsPerSecond = 90
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	graph, err := baseURL("--graph-url", cfg.GraphURL)
	if err != nil {
		return nil, err
	}
	login, err := baseURL("--login-url", cfg.LoginURL)
	if err != nil {
		return nil, err
	}
	mk := func(base *url.URL) *httpx.Client {
		return &httpx.Client{HTTP: cfg.HTTP, Base: base, UserAgent: cfg.UserAgent, Now: cfg.Now, Sleep: cfg.Sleep, AuthSentinel: collect.ErrAuth}
	}
	s := &Source{cfg: cfg, graph: mk(graph), login: mk(login)}
	s.graph.Limiter = httpx.NewLimiter(cfg.RequestsPerSecond, cfg.Burst, cfg.Concurrency)
	s.graph.DecodeError = func(status int, h http.Header, body []byte) (string, string) {
		e := parseGraphError(status, h, body)
		return e.Code, e.Message
	}
	return s, nil
}

func baseURL(flag, s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("intune: %s %q: want scheme://host[/prefix]", flag, s)
	}
	return u, nil
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
func (s *Source) Collect(ctx context.Context, req collect.Request, sink collect.Sink) error {
	if _, err := s.bearer(ctx, sink); err != nil {
		return fmt.Errorf("intune: %w", err)
	}
	devices, err := s.listDevices(ctx, req, sink)
	if err != nil {
		return fmt.Errorf("intune: listing devices: %w", err)
	}
	// Devices finished before a resume are skipped whole: their records
	// are already in the staging.
	var todo []collect.Device
	for _, d := range devices {
		if !req.IsDone(d.Key) {
			todo = append(todo, d)
		}
	}
	for _, d := range todo {
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
	}
	// Admin audit events come before the devices' units close, so that an
	// event about a device is written with it (and, after a resume, not
	// again for a device already done).
	if err := s.auditEvents(ctx, req.Since, devices, sink); err != nil {
		if err := asGap(ctx, err, sink, collect.Gap{Source: Name, Telemetry: collect.TelemetryAdminAudit, Detail: "auditEvents"}); err != nil {
			return fmt.Errorf("intune: audit events: %w", err)
		}
	}

	var done, total = len(devices) - len(todo), len(devices)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for _, d := range todo {
		g.Go(func() error {
			if err := s.complianceStates(gctx, d, sink); err != nil {
				if err := asGap(gctx, err, sink, collect.Gap{DeviceKey: d.Key, Source: Name, Telemetry: collect.TelemetryDeviceState, Detail: "compliance policy states"}); err != nil {
					return fmt.Errorf("intune: compliance of %s: %w", d.SourceID, err)
				}
			}
			if err := s.deviceApps(gctx, d, sink); err != nil {
				if err := asGap(gctx, err, sink, collect.Gap{DeviceKey: d.Key, Source: Name, Telemetry: collect.TelemetryAppInventory, Detail: "detected apps"}); err != nil {
					return fmt.Errorf("intune: apps of %s: %w", d.SourceID, err)
				}
			}
			if err := sink.UnitDone(d.Key); err != nil {
				return err
			}
			mu.Lock()
			done++
			if req.Progress != nil {
				st := s.graph.Stats().Add(s.login.Stats())
				req.Progress(collect.Progress{DevicesDone: done, DevicesTotal: total,
					Requests: int(st.Requests), Throttled: int(st.Waits), Waited: st.WaitTime})
			}
			mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// asGap records a failed fetch as gap g (reason permission_denied or
// error, g.Detail followed by the error) and returns nil, or returns err
// itself when the whole run must stop: credentials refused, or the run
// cancelled.
func asGap(ctx context.Context, err error, sink collect.Sink, g collect.Gap) error {
	if !errors.Is(err, httpx.ErrPermission) && (errors.Is(err, collect.ErrAuth) || ctx.Err() != nil) {
		return err
	}
	g.Reason = collect.ReasonError
	if errors.Is(err, httpx.ErrPermission) {
		g.Reason = collect.ReasonPermissionDenied
	}
	g.Detail += ": " + err.Error()
	return sink.Gap(g)
}

// get performs an authenticated GET, captures every response, and returns
// the final one with its RawRef. A 401 refreshes the token once.
func (s *Source) get(ctx context.Context, u *url.URL, sink collect.Sink) (*httpx.Response, collect.RawRef, error) {
	for attempt := 0; ; attempt++ {
		tok, err := s.bearer(ctx, sink)
		if err != nil {
			return nil, collect.RawRef{}, err
		}
		h := http.Header{}
		h.Set("Authorization", "Bearer "+tok)
		h.Set("Accept", "application/json")
		resp, err := s.graph.Do(ctx, httpx.Request{Method: http.MethodGet, URL: u, Header: h})
		if resp == nil {
			return nil, collect.RawRef{}, err
		}
		ref, cerr := capture(sink, resp, true)
		if cerr != nil {
			return nil, collect.RawRef{}, cerr
		}
		if errors.Is(err, httpx.ErrAuth) && attempt == 0 {
			s.mu.Lock()
			s.token = ""
			s.mu.Unlock()
			continue
		}
		return resp, ref, err
	}
}

// capture stores resp (and every retried attempt before it) in the sink.
func capture(sink collect.Sink, resp *httpx.Response, keep bool) (collect.RawRef, error) {
	for _, r := range resp.Retried {
		if _, err := sink.Capture(Name, exchange(r), r.Body, keep); err != nil {
			return collect.RawRef{}, err
		}
	}
	return sink.Capture(Name, exchange(resp), resp.Body, keep)
}

func exchange(r *httpx.Response) *collect.Exchange {
	ex := &collect.Exchange{Started: r.Started, Finished: r.Finished, Method: r.Method, URL: r.URL, Status: r.Status}
	for _, h := range []string{"request-id", "client-request-id", "Retry-After", "Date", "Content-Type"} {
		if v := r.Header.Get(h); v != "" {
			if ex.Headers == nil {
				ex.Headers = map[string]string{}
			}
			ex.Headers[strings.ToLower(h)] = v
		}
	}
	if r.Err != nil {
		ex.Error = r.Err.Error()
	}
	return ex
}

// bearer returns a valid access token, fetching a new one when none is
// cached or the cached one expires within five minutes.
func (s *Source) bearer(ctx context.Context, sink collect.Sink) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.cfg.Now().Add(5*time.Minute).Before(s.expires) {
		return s.token, nil
	}
	u := s.login.Base.JoinPath(url.PathEscape(s.cfg.Tenant), "oauth2", "v2.0", "token")
	form := url.Values{
		"client_id":     {s.cfg.ClientID},
		"client_secret": {s.cfg.ClientSecret},
		"scope":         {s.cfg.Scope},
		"grant_type":    {"client_credentials"},
	}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	resp, err := s.login.Do(ctx, httpx.Request{Method: http.MethodPost, URL: u, Header: h, Body: []byte(form.Encode()), Idempotent: true})
	if resp != nil {
		// Token responses are logged (status, timing) but never kept.
		if _, cerr := capture(sink, resp, false); cerr != nil {
			return "", cerr
		}
	}
	if resp != nil && resp.Status >= 400 && resp.Status <= 499 {
		return "", fmt.Errorf("requesting token for tenant %s: %w", s.cfg.Tenant, parseTokenError(resp.Status, resp.Header, resp.Body))
	}
	if err != nil {
		return "", fmt.Errorf("requesting token: %w", err)
	}
	var tok struct {
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
		return "", errors.New("requesting token: malformed token response")
	}
	s.token = tok.AccessToken
	s.expires = s.cfg.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	return s.token, nil
}

// page is a Graph collection envelope with the items kept raw.
type page struct {
	NextLink string            `json:"@odata.nextLink"`
	Value    []json.RawMessage `json:"value"`
}

// eachPage GETs first and follows @odata.nextLink on the configured origin
// only, calling fn with each page and its RawRef. A link that repeats any
// page already fetched (the first included) stops the listing with an error.
func (s *Source) eachPage(ctx context.Context, first *url.URL, sink collect.Sink, fn func(p page, ref collect.RawRef) error) error {
	pager := s.graph.NewPager(first)
	for {
		n := pager.Page()
		resp, ref, err := s.get(ctx, pager.URL(), sink)
		if err != nil {
			return fmt.Errorf("page %d: %w", n, err)
		}
		var p page
		if err := json.Unmarshal(resp.Body, &p); err != nil {
			return fmt.Errorf("page %d: decoding %s: %w", n, ref.Path, err)
		}
		if err := fn(p, ref); err != nil {
			return err
		}
		more, err := pager.Next(p.NextLink)
		if err != nil {
			return fmt.Errorf("page %d: @odata.nextLink: %w", n, err)
		}
		if !more {
			return nil
		}
	}
}

func (s *Source) listDevices(ctx context.Context, req collect.Request, sink collect.Sink) ([]collect.Device, error) {
	u := s.graph.Base.JoinPath("v1.0", "deviceManagement", "managedDevices")
	u.RawQuery = odataQuery(DeviceFields, s.cfg.PageSize, serverFilter(req))
	var out []collect.Device
	err := s.eachPage(ctx, u, sink, func(p page, ref collect.RawRef) error {
		for i, raw := range p.Value {
			var md managedDevice
			if err := json.Unmarshal(raw, &md); err != nil {
				return fmt.Errorf("decoding %s#/value/%d: %w", ref.Path, i, err)
			}
			r := ref
			r.Pointer = fmt.Sprintf("/value/%d", i)
			d := md.record(r)
			// Graph silently ignores $filter terms it does not support, so
			// every result is checked again here.
			if req.Wanted(d) {
				out = append(out, d)
			}
		}
		return nil
	})
	return out, err
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

func (s *Source) deviceApps(ctx context.Context, d collect.Device, sink collect.Sink) error {
	u := s.graph.Base.JoinPath("beta", "deviceManagement", "managedDevices", d.SourceID, "detectedApps")
	u.RawQuery = odataQuery(AppFields, s.cfg.PageSize, "")
	return s.eachPage(ctx, u, sink, func(p page, ref collect.RawRef) error {
		for i, raw := range p.Value {
			var da detectedApp
			if err := json.Unmarshal(raw, &da); err != nil {
				return fmt.Errorf("decoding %s#/value/%d: %w", ref.Path, i, err)
			}
			r := ref
			r.Pointer = fmt.Sprintf("/value/%d", i)
			if err := sink.App(da.record(d.Key, r)); err != nil {
				return err
			}
		}
		return nil
	})
}
