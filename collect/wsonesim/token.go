package wsonesim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
)

// serveToken answers POST TokenPath, the OAuth 2.0 client-credentials
// grant of Workspace ONE's regional token service: the client id and
// secret in the form (or as HTTP Basic), an opaque bearer token valid for
// Options.TokenTTL in return. Errors are OAuth's ({"error": …}); a wrong
// client is 400 invalid_client. Only injected faults reach it.
func (s *Server) serveToken(w *response, r *http.Request, rec *Request) {
	f, pattern := s.take(TokenPath)
	if f.paging() {
		f = FaultNone // a token response has no pages
	}
	rec.Fault, rec.Pattern = f, pattern
	fail := func(status int, kind, desc string) {
		body, _ := json.Marshal(map[string]string{"error": kind, "error_description": desc})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		w.Write(body)
	}
	switch f {
	case Fault401:
		fail(http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	case Fault403:
		fail(http.StatusBadRequest, "unauthorized_client", "The client is disabled or not allowed the client_credentials grant.")
		return
	case Fault429, Fault503:
		w.Header().Set("Retry-After", "1")
		fail(f.status(), "temporarily_unavailable", "Try again later.")
		return
	case Fault429NoRetryAfter, Fault500, Fault502, Fault504:
		fail(f.status(), "temporarily_unavailable", "Try again later.")
		return
	}
	if r.Method != http.MethodPost {
		rec.Unexpected = true
		w.Header().Set("Allow", "POST")
		fail(http.StatusMethodNotAllowed, "invalid_request", "Only POST is allowed.")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", "Malformed form body.")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		fail(http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if !equal(id, s.opts.ClientID) || !equal(secret, s.opts.ClientSecret) {
		fail(http.StatusBadRequest, "invalid_client", "")
		return
	}
	buf := make([]byte, 32)
	rand.Read(buf)
	tok := "ws1sim." + hex.EncodeToString(buf)
	s.mu.Lock()
	s.tokens[tok] = s.opts.Clock().Add(s.opts.TokenTTL)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": int(s.opts.TokenTTL.Seconds()), "token_type": "Bearer", "scope": "api"})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// authenticate checks an API request's credential: a bearer token the
// token endpoint issued and that has not expired, or HTTP Basic with the
// configured user and password plus the aw-tenant-code header. It writes
// the refusal and reports false when the credential does not do: 401 for
// a missing, unknown or expired token or a wrong user or password, 403
// errorCode 1013 for a wrong or missing tenant code (whose message repeats
// the code given, as in error bodies published from real tenants).
func (s *Server) authenticate(w *response, r *http.Request, rec *Request) bool {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		s.mu.Lock()
		s.received[cred] = true
		exp, ok := s.tokens[cred]
		s.mu.Unlock()
		if !ok || s.opts.Clock().After(exp) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, 401, "The access token is invalid or has expired.")
			return false
		}
		rec.Auth = "bearer"
		return true
	case strings.EqualFold(scheme, "Basic"):
		dec, err := base64.StdEncoding.DecodeString(cred)
		user, pass, ok := strings.Cut(string(dec), ":")
		if err != nil || !ok || !equal(user, s.opts.Username) || !equal(pass, s.opts.Password) {
			writeError(w, http.StatusUnauthorized, 401, "User credentials are invalid.")
			return false
		}
		if tc := r.Header.Values("aw-tenant-code"); len(tc) != 1 || !equal(tc[0], s.opts.TenantCode) {
			writeError(w, http.StatusForbidden, 1013, "Tenant code "+strings.Join(tc, ",")+" does not identify an Organization Group.")
			return false
		}
		rec.Auth = "basic"
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="AirWatch", Bearer`)
	writeError(w, http.StatusUnauthorized, 401, "Authentication is required.")
	return false
}
