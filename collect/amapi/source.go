package amapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
	"github.com/custos-ir/custos/internal/httpx"
	"github.com/custos-ir/custos/internal/redact"
)

// Name is the source name used in record keys and raw/amapi/.
const Name = "amapi"

// Public endpoints; both can be overridden (the simulator, a proxy).
const (
	DefaultAPIURL   = "https://androidmanagement.googleapis.com"
	DefaultTokenURL = "https://oauth2.googleapis.com/token"
	// ScopeAMAPI is the only scope the Android Management API knows.
	ScopeAMAPI = "https://www.googleapis.com/auth/androidmanagement"
)

// deviceFields is the partial-response mask of devices.list: what incident
// response needs (enrollmentTokenData and the like are never asked for).
const deviceFields = "nextPageToken,devices(name,userName,user,managementMode,ownership,state,appliedState," +
	"policyCompliant,nonComplianceDetails,enrollmentTime,lastStatusReportTime,lastPolicySyncTime,policyName," +
	"appliedPolicyName,appliedPolicyVersion,apiLevel,securityPosture,softwareInfo,hardwareInfo(brand,hardware," +
	"manufacturer,model,serialNumber,deviceBasebandVersion,enterpriseSpecificId),networkInfo(imei,meid)," +
	"memoryInfo,deviceSettings,applicationReports)"

// policyFields is the mask of policies.get: what decides the telemetry.
const policyFields = "name,version,statusReportingSettings,usageLog"

// Config configures the source. The key is passed in memory only.
type Config struct {
	// Key is the service account's JSON key file.
	Key        []byte
	Enterprise string // enterprises/{Enterprise}
	APIURL     string // default DefaultAPIURL
	// TokenURL overrides the key's token_uri (which defaults to
	// DefaultTokenURL).
	TokenURL string
	HTTP     *http.Client
	PageSize int // devices per page; default 100
	// RequestsPerSecond and Burst pace every API request: the default
	// quota is 1,000 queries per 100 s per project. Defaults 9 and 10; a
	// negative rate disables the limiter.
	RequestsPerSecond float64
	Burst             int
	Concurrency       int // requests in flight; default 4
	UserAgent         string
	Now               func() time.Time
	Sleep             func(context.Context, time.Duration) error

	// Subscription, when set (projects/P/subscriptions/S), is drained of
	// the enterprise's Pub/Sub notifications after the devices: the usage
	// logs. The drain ends when the subscription is empty (two empty
	// pulls), after MaxMessages messages, or after Duration; with
	// Duration and without UntilEmpty it polls an empty subscription
	// until Duration.
	Subscription string
	PubSubURL    string // default DefaultPubSubURL
	UntilEmpty   bool
	MaxMessages  int
	Duration     time.Duration
	PullBatch    int // maxMessages of each pull, 1 to 1000; default DefaultPullBatch
	// AckExtension is the ack deadline asked, every third of it, for the
	// messages of a batch still being written; default 60 s.
	AckExtension time.Duration
}

// Source collects from one Android Management API enterprise.
type Source struct {
	cfg    Config
	sa     *serviceAccount
	api    *httpx.Client
	login  *httpx.Client
	pubsub *httpx.Client
	scopes []string

	// Logs is what draining the subscription did (after Collect).
	Logs LogStats

	tokens *httpsource.TokenCache
}

// New validates cfg and the key. It does not contact the network.
func New(cfg Config) (*Source, error) {
	if cfg.Enterprise == "" {
		return nil, errors.New("amapi: --enterprise is required")
	}
	cfg.Enterprise = strings.TrimPrefix(cfg.Enterprise, "enterprises/")
	if strings.ContainsAny(cfg.Enterprise, "/?#% ") {
		return nil, fmt.Errorf("amapi: --enterprise %q: want an enterprise id such as LC02abcd", cfg.Enterprise)
	}
	if len(cfg.Key) == 0 {
		return nil, errors.New("amapi: no service account key: pass --key-file or set CUSTOS_AMAPI_KEY_FILE")
	}
	sa, err := parseKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	if cfg.TokenURL != "" {
		sa.tokenURI = cfg.TokenURL
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{}
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 100
	}
	if cfg.RequestsPerSecond == 0 {
		cfg.RequestsPerSecond = 9
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	api, err := httpsource.BaseURL(Name, "--amapi-url", cfg.APIURL)
	if err != nil {
		return nil, err
	}
	tok, err := url.Parse(sa.tokenURI)
	if err != nil {
		return nil, err
	}
	origin := &url.URL{Scheme: tok.Scheme, Host: tok.Host}
	mk := func(base *url.URL) *httpx.Client {
		return &httpx.Client{HTTP: cfg.HTTP, Base: base, UserAgent: cfg.UserAgent, Now: cfg.Now, Sleep: cfg.Sleep, AuthSentinel: collect.ErrAuth}
	}
	s := &Source{cfg: cfg, sa: sa, api: mk(api), login: mk(origin), scopes: []string{ScopeAMAPI}}
	s.tokens = &httpsource.TokenCache{Client: s.login, Source: Name, Headers: logHeaders, Now: cfg.Now, Request: s.tokenRequest}
	s.api.Limiter = httpx.NewLimiter(cfg.RequestsPerSecond, cfg.Burst, cfg.Concurrency)
	if cfg.Subscription != "" {
		if !subscriptionName.MatchString(cfg.Subscription) {
			return nil, fmt.Errorf("amapi: --subscription %q: want projects/PROJECT/subscriptions/NAME", cfg.Subscription)
		}
		if cfg.PubSubURL == "" {
			cfg.PubSubURL = DefaultPubSubURL
			s.cfg.PubSubURL = cfg.PubSubURL
		}
		ps, err := httpsource.BaseURL(Name, "--pubsub-url", cfg.PubSubURL)
		if err != nil {
			return nil, err
		}
		s.pubsub = mk(ps)
		if s.cfg.AckExtension <= 0 {
			s.cfg.AckExtension = leaseExtension
		}
		if s.cfg.PullBatch <= 0 {
			s.cfg.PullBatch = DefaultPullBatch
		}
		if s.cfg.PullBatch > 1000 {
			return nil, fmt.Errorf("amapi: --pull-batch %d: at most 1000", s.cfg.PullBatch)
		}
		s.scopes = append(s.scopes, ScopePubSub)
	}
	return s, nil
}

// Name implements collect.Source.
func (s *Source) Name() string { return Name }

// Describe implements collect.Source.
func (s *Source) Describe() collect.Descriptor {
	d := collect.Descriptor{
		Name: Name,
		API:  "Android Management API",
		Endpoints: []string{
			s.sa.tokenURI,
			s.cfg.APIURL + "/v1/enterprises/" + s.cfg.Enterprise + "/devices",
			s.cfg.APIURL + "/v1/enterprises/" + s.cfg.Enterprise + "/policies/{id}",
		},
		Tenant:      "enterprises/" + s.cfg.Enterprise,
		Principal:   s.sa.email,
		Permissions: s.scopes,
		Telemetry:   s.telemetry(),
	}
	if s.cfg.Subscription != "" {
		d.Endpoints = append(d.Endpoints, s.cfg.PubSubURL+"/v1/"+s.cfg.Subscription+":{pull,acknowledge,modifyAckDeadline}")
	}
	return d
}

// telemetry is what the source observes: device logs only when it drains
// a subscription.
func (s *Source) telemetry() []string {
	t := []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory}
	if s.cfg.Subscription != "" {
		t = append(t, collect.TelemetryDeviceLogs)
	}
	return t
}

// sleep waits d (the configured Sleep in tests).
func (s *Source) sleep(ctx context.Context, d time.Duration) error {
	if s.cfg.Sleep != nil {
		return s.cfg.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// logHeaders are the response headers kept in the request log.
var logHeaders = []string{"Retry-After", "Date", "Content-Type", "X-Goog-Request-Id"}

// tokenRequest is the JWT bearer grant, with a freshly signed assertion.
func (s *Source) tokenRequest() (httpsource.TokenRequest, error) {
	jwt, err := s.sa.assertion(s.scopes, s.cfg.Now())
	if err != nil {
		return httpsource.TokenRequest{}, err
	}
	u, err := url.Parse(s.sa.tokenURI)
	if err != nil {
		return httpsource.TokenRequest{}, err
	}
	return httpsource.TokenRequest{
		URL:  u,
		Form: url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwt}},
		Refused: func(resp *httpx.Response) error {
			// The server's words, never an echo of the assertion.
			code, msg := httpx.DecodeJSONError(resp.Status, resp.Header, resp.Body)
			code, msg = redact.String(code, jwt), redact.String(msg, jwt)
			return fmt.Errorf("requesting a token for %s: HTTP %d %s: %s: %w", s.sa.email, resp.Status, clip(code), clip(msg), collect.ErrAuth)
		},
	}, nil
}

// get performs an authenticated GET, captures every response, and returns
// the final one with its RawRef. A 401 refreshes the token once.
func (s *Source) get(ctx context.Context, u *url.URL, sink collect.Sink) (*httpx.Response, collect.RawRef, error) {
	h := http.Header{"Accept": {"application/json"}}
	return httpsource.Authorized(ctx, s.api, httpx.Request{Method: http.MethodGet, URL: u, Header: h}, s.tokens, sink, Name, logHeaders)
}

// Collect implements collect.Source: it lists the enterprise's devices
// page by page, writes each wanted device with its apps and events, and
// records a gap for each kind of telemetry its policy does not report.
func (s *Source) Collect(ctx context.Context, req collect.Request, sink collect.Sink) error {
	if _, err := s.tokens.Token(ctx, sink); err != nil {
		return fmt.Errorf("amapi: %w", err)
	}
	policies := map[string]*policyInfo{}
	u := s.api.Base.JoinPath("v1", "enterprises", url.PathEscape(s.cfg.Enterprise), "devices")
	u.RawQuery = url.Values{"pageSize": {strconv.Itoa(s.cfg.PageSize)}, "fields": {deviceFields}}.Encode()
	pager := s.api.NewPager(u)
	seen, wanted := map[string]bool{}, map[string]bool{}
	done, total := 0, 0
	for {
		n := pager.Page()
		resp, ref, err := s.get(ctx, pager.URL(), sink)
		if err != nil {
			return fmt.Errorf("amapi: listing devices: page %d: %w", n, err)
		}
		var page struct {
			Devices       []json.RawMessage `json:"devices"`
			NextPageToken string            `json:"nextPageToken"`
		}
		if err := decodeExact(resp.Body, &page.Devices, &page.NextPageToken); err != nil {
			return fmt.Errorf("amapi: listing devices: page %d: decoding %s: %w", n, ref.Path, err)
		}
		fresh := 0
		for i, raw := range page.Devices {
			r := ref
			r.Pointer = fmt.Sprintf("/devices/%d", i)
			var d device
			if err := json.Unmarshal(raw, &d); err != nil {
				return fmt.Errorf("amapi: decoding %s#%s: %w", r.Path, r.Pointer, err)
			}
			rec := d.record(r)
			if rec.SourceID == "" || seen[rec.Key] {
				continue
			}
			seen[rec.Key] = true
			fresh++
			if !req.Wanted(rec) {
				continue
			}
			wanted[rec.Key] = true
			total++
			if req.IsDone(rec.Key) {
				done++
				continue
			}
			pol, err := s.policy(ctx, d.AppliedPolicyName, policies, sink)
			if err != nil {
				return err
			}
			if err := d.write(rec, raw, r, pol, sink); err != nil {
				return err
			}
			if err := sink.UnitDone(rec.Key); err != nil {
				return err
			}
			done++
			if req.Progress != nil {
				st := s.api.Stats().Add(s.login.Stats())
				req.Progress(collect.Progress{DevicesDone: done, DevicesTotal: total, Requests: int(st.Requests), Throttled: int(st.Waits), Waited: st.WaitTime})
			}
		}
		if page.NextPageToken == "" {
			break
		}
		// Paging is by token, so a loop need not repeat a URL: a page
		// that lists only devices already listed is one.
		if len(page.Devices) > 0 && fresh == 0 {
			return fmt.Errorf("amapi: listing devices: page %d lists only devices already listed: the paging loops", n)
		}
		next := *u
		q := next.Query()
		q.Set("pageToken", page.NextPageToken)
		next.RawQuery = q.Encode()
		if _, err := pager.NextURL(&next); err != nil {
			return fmt.Errorf("amapi: listing devices: page %d: nextPageToken: %w", n, err)
		}
	}
	if s.cfg.Subscription == "" {
		return nil
	}
	// Usage logs of devices outside the selection are left in the raw
	// responses.
	keep := func(key string) bool { return req.All || wanted[key] }
	st, err := s.drainLogs(ctx, req, sink, keep, seen)
	s.Logs = st
	if err != nil {
		if err := httpsource.GapOrStop(ctx, err, sink, collect.Gap{Source: Name, Telemetry: collect.TelemetryDeviceLogs,
			Detail: "usage logs from " + s.cfg.Subscription}); err != nil {
			return fmt.Errorf("amapi: %w", err)
		}
	}
	return nil
}

// decodeExact reads {"devices": [...], "nextPageToken": "..."} by exact
// member names, so that the records' pointers (/devices/N) lead where
// they say in the stored bytes.
func decodeExact(data []byte, devices *[]json.RawMessage, next *string) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	if all == nil {
		return errors.New("null where an object was expected")
	}
	if v, ok := all["devices"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, devices); err != nil {
			return fmt.Errorf("devices: %w", err)
		}
	}
	if v, ok := all["nextPageToken"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, next); err != nil {
			return fmt.Errorf("nextPageToken: %w", err)
		}
	}
	return nil
}

// policyInfo is what a policy says a device reports, or why that is not
// known.
type policyInfo struct {
	name      string
	policy    *policy
	unreadErr error
}

// policy returns the policy named name, fetched once per run.
func (s *Source) policy(ctx context.Context, name string, cache map[string]*policyInfo, sink collect.Sink) (*policyInfo, error) {
	if p, ok := cache[name]; ok {
		return p, nil
	}
	info := &policyInfo{name: name}
	cache[name] = info
	prefix := "enterprises/" + s.cfg.Enterprise + "/policies/"
	id, ok := strings.CutPrefix(name, prefix)
	if !ok || strings.ContainsAny(id, "/?#") || !httpsource.SegmentOK(id) {
		info.unreadErr = fmt.Errorf("applied policy %q is not a policy of enterprises/%s", clip(name), s.cfg.Enterprise)
		return info, nil
	}
	u := s.api.Base.JoinPath("v1", "enterprises", url.PathEscape(s.cfg.Enterprise), "policies", url.PathEscape(id))
	u.RawQuery = url.Values{"fields": {policyFields}}.Encode()
	resp, _, err := s.get(ctx, u, sink)
	if err != nil {
		if httpsource.Fatal(ctx, err) || httpsource.AuthFailed(err) {
			return nil, fmt.Errorf("amapi: policy %s: %w", id, err)
		}
		info.unreadErr = err
		return info, nil
	}
	var p policy
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		info.unreadErr = fmt.Errorf("decoding policy %s: %w", id, err)
		return info, nil
	}
	info.policy = &p
	return info, nil
}
