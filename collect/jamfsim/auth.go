package jamfsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// newToken issues a token of kind for lifetime ttl. s.mu is held.
func (s *Server) newToken(kind string, ttl time.Duration) (string, time.Time) {
	b := make([]byte, 32)
	rand.Read(b)
	tok := "jsim." + hex.EncodeToString(b)
	exp := s.opts.Clock().Add(ttl)
	s.tokens[tok] = grant{kind: kind, expires: exp}
	s.issued = append(s.issued, tok)
	return tok, exp
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// serveOAuthToken answers the client-credentials grant.
func (s *Server) serveOAuthToken(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || r.ParseForm() != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !same(r.PostForm.Get("client_id"), s.opts.ClientID) || !same(r.PostForm.Get("client_secret"), s.opts.ClientSecret) {
		s.auth.Refused++
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	tok, _ := s.newToken("oauth", s.opts.TokenTTL)
	s.auth.OAuthTokens++
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "scope": "api-role:1", "token_type": "Bearer",
		"expires_in": int(s.opts.TokenTTL/time.Second) - 1})
}

// serveUserToken answers POST /api/v1/auth/token with HTTP Basic.
func (s *Server) serveUserToken(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || !same(user, s.opts.Username) || !same(pass, s.opts.Password) {
		s.auth.Refused++
		writeJSON(w, http.StatusUnauthorized, ErrorBody{HTTPStatus: 401, Errors: []Cause{}})
		return
	}
	tok, exp := s.newToken("user", s.opts.UserTokenTTL)
	s.auth.UserTokens++
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "expires": proTime(exp)})
}

// bearer returns the valid token r carries, or "" after answering 401
// (in the format write gives). s.mu is held.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request, refuse func(http.ResponseWriter)) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g, known := s.tokens[tok]
	switch {
	case !ok || !known:
		refuse(w)
		return ""
	case !s.opts.Clock().Before(g.expires):
		delete(s.tokens, tok)
		s.auth.Expired++
		refuse(w)
		return ""
	}
	return tok
}

func refuseJSON(w http.ResponseWriter) {
	jamfError(w, http.StatusUnauthorized, "INVALID_TOKEN", "Unauthorized", "")
}

// serveKeepAlive replaces a valid token with a new one of a fresh
// lifetime; the old token stops working at once.
func (s *Server) serveKeepAlive(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.bearer(w, r, refuseJSON)
	if old == "" {
		return
	}
	g := s.tokens[old]
	delete(s.tokens, old)
	ttl := s.opts.UserTokenTTL
	if g.kind == "oauth" {
		ttl = s.opts.TokenTTL
	}
	tok, exp := s.newToken(g.kind, ttl)
	s.auth.KeepAlives++
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "expires": proTime(exp)})
}

// serveInvalidate ends a valid token.
func (s *Server) serveInvalidate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.bearer(w, r, refuseJSON)
	if tok == "" {
		return
	}
	delete(s.tokens, tok)
	s.auth.Invalidated++
	w.WriteHeader(http.StatusNoContent)
}

// serveAuthDetails answers GET /api/v1/auth: who the token belongs to.
func (s *Server) serveAuthDetails(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.bearer(w, r, refuseJSON)
	if tok == "" {
		return
	}
	name := s.opts.Username
	if s.tokens[tok].kind == "oauth" {
		name = s.opts.ClientID
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"account": map[string]any{"id": "3", "username": name, "realName": "custos collector", "accessLevel": "FullAccess",
			"privilegeSet": "CUSTOM", "privileges": []string{"Read Mobile Devices"}},
		"sites": []any{}, "authenticationType": "JSS",
	})
}
