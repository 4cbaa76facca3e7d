package wsone

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
	"github.com/custos-ir/custos/internal/httpx"
	"github.com/custos-ir/custos/internal/redact"
)

// Name is the source name used in record keys and raw/wsone/.
const Name = "wsone"

// Regions are the SaaS regions of Workspace ONE's OAuth token service:
// https://{region}.uemauth.workspaceone.com/connect/token.
var Regions = []string{"na", "emea", "apac", "uat"}

// RegionTokenURL returns the token URL of a SaaS region.
func RegionTokenURL(region string) string {
	return "https://" + region + ".uemauth.workspaceone.com/connect/token"
}

// Config configures the source: the REST API host, and either an OAuth
// client (ClientID, ClientSecret, and TokenURL or Region) or a console
// account (Username, Password) with the tenant's REST API key
// (TenantCode). Secrets are passed in memory only.
type Config struct {
	// URL is the REST API host, scheme://host[/prefix], e.g.
	// https://as1234.awmdm.com (a trailing /API is dropped: the source
	// appends /API/mdm/…).
	URL string

	ClientID     string
	ClientSecret string
	// TokenURL is the whole token URL; Region (na, emea, apac, uat)
	// names a SaaS one instead.
	TokenURL string
	Region   string

	Username string
	Password string
	// TenantCode is the REST API key sent as aw-tenant-code: required with
	// Username, sent with OAuth too when given.
	TenantCode string

	HTTP *http.Client
	// PageSize is the pagesize of every listing: default and most
	// MaxPageSize, the API's cap.
	PageSize int
	// Concurrency caps the requests in flight (default 4): devices' app
	// listings are fetched side by side while the device listing goes on.
	Concurrency int
	// RequestsPerSecond and Burst pace every API request; defaults 10 and
	// 10 (Workspace ONE publishes no number for SaaS tenants; its 429s
	// and X-RateLimit-Reset are honoured whatever the pace). A negative
	// rate disables the limiter.
	RequestsPerSecond float64
	Burst             int
	UserAgent         string
	Now               func() time.Time
	// Sleep overrides the retry wait (tests).
	Sleep func(context.Context, time.Duration) error
}

// MaxPageSize is the largest page Workspace ONE serves.
const MaxPageSize = 500

// Endpoint names, as Versions reports them.
const (
	EndpointSearch = "mdm/devices/search"
	EndpointApps   = "mdm/devices/{id}/apps"
)

// versions are the API versions the source can read, newest first, per
// endpoint: device search has the same PascalCase envelope at version 2
// (used by current clients) and 1; per-device apps is known at version 1
// only.
var versions = map[string][]int{EndpointSearch: {2, 1}, EndpointApps: {1}}

// Source collects from one Workspace ONE UEM tenant.
type Source struct {
	cfg      Config
	api      *httpx.Client
	login    *httpx.Client // the token service's; nil with basic auth
	tokenURL *url.URL
	tokens   *httpsource.TokenCache
	basic    string   // the Authorization value with basic auth
	secrets  []secret // what must never be stored or shown

	search, apps *endpoint
}

// secret is a credential to keep out of stored bodies and messages.
type secret struct{ name, value string }

var regionName = regexp.MustCompile(`^[a-z0-9]{1,16}$`)

// New validates cfg and returns a source. It does not contact the network.
func New(cfg Config) (*Source, error) {
	oauth, basic := cfg.ClientID != "" || cfg.ClientSecret != "", cfg.Username != "" || cfg.Password != ""
	switch {
	case cfg.URL == "":
		return nil, errors.New("wsone: --url is required: the REST API host, such as https://as1234.awmdm.com")
	case oauth && basic:
		return nil, errors.New("wsone: give either an OAuth client (--client-id) or a console account (--username), not both")
	case !oauth && !basic:
		return nil, errors.New("wsone: no credentials: pass --client-id with CUSTOS_WSONE_CLIENT_SECRET or --client-secret-file, or --username with CUSTOS_WSONE_PASSWORD and the tenant code")
	case oauth && (cfg.ClientID == "" || cfg.ClientSecret == ""):
		return nil, errors.New("wsone: OAuth needs both --client-id and a client secret (CUSTOS_WSONE_CLIENT_SECRET or --client-secret-file)")
	case oauth && cfg.TokenURL == "" && cfg.Region == "":
		return nil, fmt.Errorf("wsone: OAuth needs --token-url or --region (one of %s)", strings.Join(Regions, ", "))
	case oauth && cfg.TokenURL != "" && cfg.Region != "":
		return nil, errors.New("wsone: give --token-url or --region, not both")
	case basic && (cfg.Username == "" || cfg.Password == ""):
		return nil, errors.New("wsone: basic authentication needs --username and a password (CUSTOS_WSONE_PASSWORD or --password-file)")
	case basic && cfg.TenantCode == "":
		return nil, errors.New("wsone: basic authentication needs the tenant's REST API key: set CUSTOS_WSONE_TENANT_CODE or pass --tenant-code-file")
	case strings.ContainsAny(cfg.Username, ":\r\n"):
		return nil, errors.New("wsone: --username must not hold ':' or line breaks")
	case strings.ContainsAny(cfg.TenantCode, "\r\n"):
		return nil, errors.New("wsone: the tenant code must not hold line breaks")
	}
	if cfg.Region != "" {
		if !regionName.MatchString(cfg.Region) {
			return nil, fmt.Errorf("wsone: --region %q: want one of %s, or pass --token-url", cfg.Region, strings.Join(Regions, ", "))
		}
		cfg.TokenURL = RegionTokenURL(cfg.Region)
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if len(cfg.URL) >= 4 && strings.EqualFold(cfg.URL[len(cfg.URL)-4:], "/API") {
		cfg.URL = cfg.URL[:len(cfg.URL)-4]
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	if cfg.PageSize <= 0 || cfg.PageSize > MaxPageSize {
		cfg.PageSize = MaxPageSize
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.RequestsPerSecond == 0 {
		cfg.RequestsPerSecond = 10
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base, err := httpsource.BaseURL(Name, "--url", cfg.URL)
	if err != nil {
		return nil, err
	}
	mk := func(base *url.URL) *httpx.Client {
		return &httpx.Client{HTTP: cfg.HTTP, Base: base, UserAgent: cfg.UserAgent, Now: cfg.Now, Sleep: cfg.Sleep, AuthSentinel: collect.ErrAuth}
	}
	s := &Source{cfg: cfg, api: mk(base),
		search: &endpoint{name: EndpointSearch, versions: versions[EndpointSearch]},
		apps:   &endpoint{name: EndpointApps, versions: versions[EndpointApps]}}
	s.api.Limiter = httpx.NewLimiter(cfg.RequestsPerSecond, cfg.Burst, cfg.Concurrency)
	s.api.DecodeError = s.decodeError
	if cfg.TenantCode != "" {
		s.secrets = append(s.secrets, secret{"tenant code", cfg.TenantCode})
	}
	if oauth {
		tu, err := url.Parse(cfg.TokenURL)
		if err != nil || tu.Host == "" || (tu.Scheme != "https" && tu.Scheme != "http") || tu.User != nil {
			return nil, fmt.Errorf("wsone: --token-url %q: want an http(s) URL such as %s", redact.URLString(cfg.TokenURL), RegionTokenURL("na"))
		}
		s.tokenURL = tu
		s.login = mk(&url.URL{Scheme: tu.Scheme, Host: tu.Host})
		s.tokens = &httpsource.TokenCache{Client: s.login, Source: Name, Headers: logHeaders, Now: cfg.Now, Request: s.tokenRequest}
		s.secrets = append(s.secrets, secret{"client secret", cfg.ClientSecret})
	} else {
		cred := base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password))
		s.basic = "Basic " + cred
		s.secrets = append(s.secrets, secret{"password", cfg.Password}, secret{"credential", cred})
	}
	return s, nil
}

// Name implements collect.Source.
func (s *Source) Name() string { return Name }

// Describe implements collect.Source.
func (s *Source) Describe() collect.Descriptor {
	d := collect.Descriptor{
		Name: Name,
		API:  "Workspace ONE UEM REST API",
		Endpoints: []string{
			s.cfg.URL + "/API/" + EndpointSearch,
			s.cfg.URL + "/API/" + EndpointApps,
		},
		Tenant:    s.api.Base.Host,
		Principal: s.cfg.Username,
		Telemetry: []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory},
	}
	if s.tokens != nil {
		d.Endpoints = append([]string{redact.URL(s.tokenURL)}, d.Endpoints...)
		d.Principal = s.cfg.ClientID
	}
	return d
}

// Versions returns the API version each endpoint was read with, once the
// source has used it (see Collect). The request log says it for every
// response too.
func (s *Source) Versions() map[string]int {
	out := map[string]int{}
	for _, ep := range []*endpoint{s.search, s.apps} {
		if v := ep.version(); v != 0 {
			out[ep.name] = v
		}
	}
	return out
}

// Collect implements collect.Source.
//
// It lists the devices page by page, in a pinned order (orderby
// deviceid), and writes each wanted device as it comes; each device's
// apps are listed beside the listing, at most Concurrency requests at a
// time, and its unit is done once they are written. A device that
// Workspace ONE never saw gets a stale gap, an employee-owned one a
// personal_device_scope gap for its apps. Per-device failures are gaps;
// refused credentials, a failed listing, cancellation and staging errors
// end the run.
func (s *Source) Collect(ctx context.Context, req collect.Request, sink collect.Sink) error {
	if s.tokens != nil {
		if _, err := s.tokens.Token(ctx, sink); err != nil {
			return fmt.Errorf("wsone: %w", err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	prog := &progress{req: req, stats: func() httpx.Stats {
		st := s.api.Stats()
		if s.login != nil {
			st = st.Add(s.login.Stats())
		}
		return st
	}}
	err := s.listDevices(gctx, sink, func(d collect.Device, never bool) error {
		if !req.Wanted(d) {
			return nil
		}
		prog.add()
		if req.IsDone(d.Key) {
			prog.done()
			return nil
		}
		if err := s.writeDevice(d, never, sink); err != nil {
			return err
		}
		g.Go(func() error {
			if err := s.deviceApps(gctx, d, sink); err != nil {
				return fmt.Errorf("wsone: apps of device %s: %w", d.SourceID, err)
			}
			if err := sink.UnitDone(d.Key); err != nil {
				return &httpsource.StagingError{Err: err}
			}
			prog.done()
			return nil
		})
		return gctx.Err()
	})
	var short *shortError
	if errors.As(err, &short) {
		// What was listed stands; what was not is a gap, not silence.
		err = staged(sink.Gap(collect.Gap{Source: Name, Telemetry: collect.TelemetryDeviceState, Reason: collect.ReasonError,
			Detail: "device listing: " + short.Error()}))
	}
	if err != nil {
		if werr := g.Wait(); werr != nil {
			return werr // the failure that stopped the listing
		}
		return fmt.Errorf("wsone: listing devices: %w", err)
	}
	return g.Wait()
}

// writeDevice writes a device record and the gaps its state alone
// implies.
func (s *Source) writeDevice(d collect.Device, never bool, sink collect.Sink) error {
	if err := sink.Device(d); err != nil {
		return &httpsource.StagingError{Err: err}
	}
	if never {
		if err := sink.Gap(collect.Gap{DeviceKey: d.Key, Source: Name, Telemetry: collect.TelemetryDeviceState, Reason: collect.ReasonStale,
			Detail: "Workspace ONE never saw the device check in (LastSeen 0001-01-01T00:00:00): its state and apps were never reported"}); err != nil {
			return &httpsource.StagingError{Err: err}
		}
	}
	if d.Ownership == "personal" {
		if err := sink.Gap(collect.Gap{DeviceKey: d.Key, Source: Name, Telemetry: collect.TelemetryAppInventory, Reason: collect.ReasonPersonalScope,
			Detail: "employee-owned device: Workspace ONE's privacy settings for such devices collect managed apps only by default, so personal apps may be missing"}); err != nil {
			return &httpsource.StagingError{Err: err}
		}
	}
	return nil
}

// staged marks a sink error as a staging failure (nil stays nil).
func staged(err error) error {
	if err == nil {
		return nil
	}
	return &httpsource.StagingError{Err: err}
}

// listDevices lists every device of the tenant, calling fn once per
// device (the first listing of a device stands if a page repeats it).
func (s *Source) listDevices(ctx context.Context, sink collect.Sink, fn func(collect.Device, bool) error) error {
	seen := map[string]bool{}
	l := lister{ep: s.search, path: []string{"API", "mdm", "devices", "search"}, query: "orderby=deviceid&sortorder=ASC", member: "Devices", size: s.cfg.PageSize}
	return s.list(ctx, l, sink, func(p page, ref collect.RawRef) error {
		fresh := 0
		for i, raw := range p.Items {
			r := at(ref, "Devices", i)
			var d device
			if err := decodeItem(raw, &d); err != nil {
				if err := sink.Gap(collect.Gap{Source: Name, Telemetry: collect.TelemetryDeviceState, Reason: collect.ReasonError,
					Detail: fmt.Sprintf("device at %s not collected: %v", where(r), err)}); err != nil {
					return staged(err)
				}
				continue
			}
			rec, never := d.record(r)
			if rec.Key == "" {
				if err := sink.Gap(collect.Gap{Source: Name, Telemetry: collect.TelemetryDeviceState, Reason: collect.ReasonError,
					Detail: fmt.Sprintf("device at %s not collected: no numeric Id.Value", where(r))}); err != nil {
					return staged(err)
				}
				continue
			}
			if seen[rec.Key] {
				continue
			}
			seen[rec.Key] = true
			fresh++
			if err := fn(rec, never); err != nil {
				return err
			}
		}
		if len(p.Items) > 0 && fresh == 0 {
			return fmt.Errorf("%w: page %d lists only devices already listed", errPaging, p.Number)
		}
		return nil
	})
}

// deviceApps lists the apps of one device and writes them. A failure is a
// gap of the device (its apps written before it stay); only a fatal one
// (refused credentials, cancellation, staging) is returned.
func (s *Source) deviceApps(ctx context.Context, d collect.Device, sink collect.Sink) error {
	l := lister{ep: s.apps, path: []string{"API", "mdm", "devices", d.SourceID, "apps"}, member: "DeviceApps", size: s.cfg.PageSize}
	err := s.list(ctx, l, sink, func(p page, ref collect.RawRef) error {
		for i, raw := range p.Items {
			r := at(ref, "DeviceApps", i)
			var a app
			if err := decodeItem(raw, &a); err != nil {
				return fmt.Errorf("decoding %s: %w", where(r), err)
			}
			if err := sink.App(a.record(d.Key, r)); err != nil {
				return staged(err)
			}
		}
		return nil
	})
	if err == nil {
		return nil
	}
	return httpsource.GapOrStop(ctx, err, sink, collect.Gap{DeviceKey: d.Key, Source: Name, Telemetry: collect.TelemetryAppInventory,
		Detail: "apps of device " + d.SourceID})
}

// progress reports devices done with the request counts.
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
