package googlesim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// serveToken answers the JWT bearer grant (RFC 7523) as Google's token
// endpoint does: the assertion must be an RS256 JWT signed with the
// service account's key, naming it as iss, the endpoint as aud, scopes it
// may have, and an iat/exp no more than an hour apart around now.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, kind, desc string) {
		body, _ := json.Marshal(map[string]string{"error": kind, "error_description": desc})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(code)
		w.Write(body)
	}
	if r.Method != http.MethodPost {
		fail(405, "invalid_request", "Only POST is allowed.")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(400, "invalid_request", "Malformed form body.")
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail(400, "unsupported_grant_type", "Invalid grant_type: "+g)
		return
	}
	s.mu.Lock()
	s.assertions = append(s.assertions, r.PostForm.Get("assertion"))
	s.mu.Unlock()
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		fail(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
		return
	}
	var hdr struct {
		Alg, Kid, Typ string
	}
	var claims struct {
		Iss, Scope, Aud, Sub string
		Iat, Exp             int64
	}
	if decodeSegment(parts[0], &hdr) != nil || decodeSegment(parts[1], &claims) != nil {
		fail(400, "invalid_grant", "Invalid JWT: malformed header or claims.")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if hdr.Alg != "RS256" || err != nil || rsa.VerifyPKCS1v15(&s.opts.Key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		fail(400, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	now := s.opts.Now().Unix()
	switch {
	case claims.Iss != ServiceAccount:
		fail(400, "invalid_grant", "Invalid grant: account not found")
	case claims.Aud != "http://"+r.Host+"/token" && claims.Aud != "https://"+r.Host+"/token" && claims.Aud != "https://oauth2.googleapis.com/token":
		fail(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
	case claims.Exp-claims.Iat > 3600 || claims.Iat > now+300 || claims.Exp < now-300:
		fail(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
	case claims.Scope == "":
		fail(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
	default:
		var scopes []string
		for _, sc := range strings.Fields(claims.Scope) {
			if sc != ScopeAMAPI && sc != ScopePubSub {
				fail(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
				return
			}
			scopes = append(scopes, sc)
		}
		buf := make([]byte, 32)
		rand.Read(buf)
		tok := "ya29.sim-" + hex.EncodeToString(buf)
		s.mu.Lock()
		s.tokens[tok] = tokenGrant{scopes: scopes, expires: s.opts.Now().Add(time.Hour)}
		s.mu.Unlock()
		w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
		writeJSON(w, map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
	}
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
