package mdmsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ---- Entra ID token endpoint ----

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

func (s *Server) tenantKnown(t string) bool {
	return strings.EqualFold(t, s.opts.Tenant) || strings.EqualFold(t, s.fleet.TenantID)
}

// serveToken implements POST /{tenant}/oauth2/v2.0/token for the
// client-credentials grant, checking in the order Entra reports problems:
// method, tenant, grant type, client, scope, secret.
//
// Faults reach the token endpoint only when injected for its path or when
// Faults.Token is set; status faults answer with Entra's error bodies.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string, rec *Request) Fault {
	now := s.opts.Clock()
	traceID := newGUID()
	corrID := r.Header.Get("client-request-id")
	if corrID == "" {
		corrID = newGUID()
	} else {
		w.Header().Set("client-request-id", corrID)
	}
	w.Header().Set("x-ms-request-id", traceID)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	// transport is the fault that alters whatever response is written.
	transport := FaultNone
	fail := func(status int, kind string, code int, msg string) Fault {
		writeAADError(w, r, status, kind, code, msg, traceID, corrID, now)
		return transport
	}

	fault := s.takeInjection(r.URL.Path, false)
	if fault == FaultNone {
		fault = s.drawTokenFault()
	}
	if fault.pagingOnly() {
		fault = FaultNone // a token response has no paging link
	}
	rec.Fault = fault
	if fault.status() == 0 {
		transport = fault
	}
	switch fault {
	case Fault401:
		return fail(http.StatusUnauthorized, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+s.opts.ClientID+"'.")
	case Fault403:
		return fail(http.StatusBadRequest, "unauthorized_client", 7000112,
			fmt.Sprintf("Application '%s'(mdmsim) is disabled.", s.opts.ClientID))
	case Fault429, Fault429NoRetryAfter, Fault500, Fault502, Fault503, Fault504:
		if ra := s.retryAfterFor(fault, 0); ra > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ra))
		}
		return fail(fault.status(), "temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
	}

	if r.Method != http.MethodPost {
		fail(http.StatusBadRequest, "invalid_request", 900561,
			fmt.Sprintf("The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method))
		return transport
	}
	if !s.tenantKnown(tenant) {
		fail(http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant))
		return transport
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return transport
	}
	form := r.PostForm
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok && clientID == "" {
		// client_secret_basic: RFC 6749 §2.3.1 form-encodes both parts.
		clientID, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	missing := func(param string) {
		fail(http.StatusBadRequest, "invalid_request", 900144,
			fmt.Sprintf("The request body must contain the following parameter: '%s'.", param))
	}
	grant := form.Get("grant_type")
	switch {
	case grant == "":
		missing("grant_type")
		return transport
	case grant != "client_credentials":
		fail(http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", grant))
		return transport
	case clientID == "":
		missing("client_id")
		return transport
	case clientID != s.opts.ClientID:
		fail(http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, s.opts.Tenant))
		return transport
	}
	switch scope := form.Get("scope"); {
	case scope == "":
		missing("scope")
		return transport
	case scope != GraphScope:
		fail(http.StatusBadRequest, "invalid_scope", 70011,
			fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", scope))
		return transport
	}
	switch {
	case secret == "":
		fail(http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return transport
	case subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1:
		fail(http.StatusUnauthorized, "invalid_client", 7000215,
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
		return transport
	}

	tok := s.mintToken(now)
	secs := int64(s.opts.TokenTTL / time.Second)
	w.Header().Set("Content-Type", aadContentType)
	w.WriteHeader(http.StatusOK)
	w.Write(appendJSON(nil, tokenResponse{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: tok}))
	return transport
}

// mintToken issues a JWT-shaped access token. Its signature is random: the
// server recognises its tokens by lookup, and clients must treat them as
// opaque anyway.
func (s *Server) mintToken(now time.Time) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"RS256","kid":"mdmsim"}`))
	uti := make([]byte, 16)
	rand.Read(uti)
	claims := struct {
		Aud   string   `json:"aud"`
		Iss   string   `json:"iss"`
		Iat   int64    `json:"iat"`
		Nbf   int64    `json:"nbf"`
		Exp   int64    `json:"exp"`
		AppID string   `json:"appid"`
		Roles []string `json:"roles"`
		Tid   string   `json:"tid"`
		Uti   string   `json:"uti"`
		Ver   string   `json:"ver"`
	}{
		Aud: "https://graph.microsoft.com", Iss: "https://sts.windows.net/" + s.fleet.TenantID + "/",
		Iat: now.Unix(), Nbf: now.Unix(), Exp: now.Add(s.opts.TokenTTL).Unix(),
		AppID: s.opts.ClientID, Roles: []string{"DeviceManagementManagedDevices.Read.All"},
		Tid: s.fleet.TenantID, Uti: hex.EncodeToString(uti), Ver: "1.0",
	}
	sig := make([]byte, 256)
	rand.Read(sig)
	tok := header + "." + enc.EncodeToString(appendJSON(nil, claims)) + "." + enc.EncodeToString(sig)
	s.mu.Lock()
	s.tokens[tok] = now.Add(s.opts.TokenTTL)
	s.mu.Unlock()
	return tok
}

// authenticate checks the bearer token the way Graph words its failures.
func (s *Server) authenticate(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return unauthenticated(r, msgTokenEmpty)
	}
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case !ok && strings.Count(tok, ".") != 2:
		return unauthenticated(r, msgTokenFormat)
	case !ok:
		return unauthenticated(r, msgTokenInvalid)
	case !s.opts.Clock().Before(exp):
		return unauthenticated(r, msgTokenExpired)
	}
	return nil
}
