package jamf

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/httpsource"
	"github.com/custos-ir/custos/internal/httpx"
)

// Authentication endpoints, under the server's base URL.
var (
	oauthTokenPath = []string{"api", "oauth", "token"}
	userTokenPath  = []string{"api", "v1", "auth", "token"}
	keepAlivePath  = []string{"api", "v1", "auth", "keep-alive"}
	invalidatePath = []string{"api", "v1", "auth", "invalidate-token"}
)

// assumedLifetime is the lifetime of a token whose response gives none.
const assumedLifetime = time.Minute

// auth holds the source's bearer token. With an API client (ClientID) it
// is an OAuth access token from the client-credentials grant, fetched
// again before it expires; with a user account (Username) it is a bearer
// token from /api/v1/auth/token, renewed through keep-alive before it
// expires and invalidated when the collection ends. Responses of these
// endpoints are logged but never kept: they carry tokens.
type auth struct {
	s *Source

	mu       sync.Mutex
	token    string
	expires  time.Time
	lifetime time.Duration
}

// margin is how long before expiry a token is renewed: a minute, or a
// quarter of a shorter lifetime.
func (a *auth) margin() time.Duration { return min(time.Minute, a.lifetime/4) }

// Token returns a token valid for a while yet, renewing or fetching one
// as needed. A refused credential is an error matching collect.ErrAuth.
func (a *auth) Token(ctx context.Context, sink collect.Sink) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.s.cfg.Now()
	if a.token != "" && now.Add(a.margin()).Before(a.expires) {
		return a.token, nil
	}
	if a.token != "" && a.s.userFlow() && now.Before(a.expires) {
		err := a.keepAlive(ctx, sink)
		if err == nil {
			return a.token, nil
		}
		if httpsource.Fatal(ctx, err) {
			return "", err
		}
		// The server refused to renew it: log in again.
	}
	a.token = ""
	if err := a.login(ctx, sink); err != nil {
		return "", err
	}
	return a.token, nil
}

// drop forgets tok if it is still the current token (the server refused
// it); a token renewed meanwhile is kept.
func (a *auth) drop(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token == tok {
		a.token = ""
	}
}

// login fetches a new token with the configured credentials.
func (a *auth) login(ctx context.Context, sink collect.Sink) error {
	cfg := a.s.cfg
	if !a.s.userFlow() {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}}
		resp, err := a.post(ctx, sink, oauthTokenPath, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(form.Encode()))
		if err != nil {
			return err
		}
		var tok struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int64  `json:"expires_in"`
		}
		if json.Unmarshal(resp.Body, &tok) != nil || tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "Bearer") {
			return errors.New("requesting a token: malformed token response")
		}
		life := time.Duration(tok.ExpiresIn) * time.Second
		if tok.ExpiresIn <= 0 || tok.ExpiresIn > int64(24*time.Hour/time.Second) {
			life = assumedLifetime
		}
		a.set(tok.AccessToken, life)
		return nil
	}
	basic := base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password))
	resp, err := a.post(ctx, sink, userTokenPath, http.Header{"Authorization": {"Basic " + basic}}, nil)
	if err != nil {
		return err
	}
	return a.setUserToken(resp.Body)
}

// keepAlive exchanges the current token for a new one; the server
// invalidates the old one.
func (a *auth) keepAlive(ctx context.Context, sink collect.Sink) error {
	resp, err := a.post(ctx, sink, keepAlivePath, http.Header{"Authorization": {"Bearer " + a.token}}, nil)
	if err != nil {
		return err
	}
	return a.setUserToken(resp.Body)
}

// setUserToken reads {"token": "…", "expires": "<RFC 3339>"}.
func (a *auth) setUserToken(body []byte) error {
	var tok struct {
		Token   string `json:"token"`
		Expires string `json:"expires"`
	}
	if json.Unmarshal(body, &tok) != nil || tok.Token == "" {
		return errors.New("requesting a token: malformed token response")
	}
	life := assumedLifetime
	if t := parseTime(tok.Expires); t != nil {
		if d := t.Sub(a.s.cfg.Now()); d > 0 && d <= 24*time.Hour {
			life = d
		}
	}
	a.set(tok.Token, life)
	return nil
}

func (a *auth) set(token string, life time.Duration) {
	a.token, a.lifetime, a.expires = token, life, a.s.cfg.Now().Add(life)
}

// end invalidates the user token, if there is one, so that it is not left
// valid after the collection. It runs even when ctx is cancelled (a few
// seconds at most). A failure leaves the token to expire; the request log
// shows it.
func (a *auth) end(ctx context.Context, sink collect.Sink) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.s.userFlow() || a.token == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	a.post(ctx, sink, invalidatePath, http.Header{"Authorization": {"Bearer " + a.token}}, nil)
	a.token = ""
}

// post sends one request to an authentication endpoint and logs the
// response without keeping its body. A 4xx answer is an error matching
// collect.ErrAuth.
func (a *auth) post(ctx context.Context, sink collect.Sink, path []string, h http.Header, body []byte) (*httpx.Response, error) {
	u := a.s.api.Base.JoinPath(path...)
	h.Set("Accept", "application/json")
	resp, err := a.s.api.Do(ctx, httpx.Request{Method: http.MethodPost, URL: u, Header: h, Body: body, Idempotent: true})
	if resp != nil {
		if _, cerr := httpsource.CaptureHTTP(sink, Name, resp, false, logHeaders); cerr != nil {
			return nil, cerr
		}
	}
	what := "requesting a token as " + a.s.principal()
	if resp != nil && resp.Status >= 400 && resp.Status <= 499 {
		hint := "check --client-id and the client secret, and that the API client is enabled"
		if a.s.userFlow() {
			hint = "check --username and the password, and that the account may use the API"
		}
		return nil, fmt.Errorf("%s: %w (%s)", what, refused{asError(err, resp)}, hint)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, asError(err, resp))
	}
	return resp, nil
}

// refused is a credential the server refused: it matches collect.ErrAuth
// whatever the status (a token endpoint answers 400 as well as 401).
type refused struct{ error }

func (e refused) Unwrap() []error { return []error{e.error, collect.ErrAuth} }
