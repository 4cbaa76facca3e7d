package amapi

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
)

// serviceAccount is what the source uses of a service account's JSON key.
type serviceAccount struct {
	email    string
	keyID    string
	tokenURI string
	key      *rsa.PrivateKey
}

// parseKey reads a service account JSON key file. Every problem is an
// error matching collect.ErrAuth (the command exits 4), and none repeats
// the key's secret material.
func parseKey(data []byte) (*serviceAccount, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("amapi: service account key: %s: %w", fmt.Sprintf(format, a...), collect.ErrAuth)
	}
	var k struct {
		Type         string `json:"type"`
		PrivateKeyID string `json:"private_key_id"`
		PrivateKey   string `json:"private_key"`
		ClientEmail  string `json:"client_email"`
		TokenURI     string `json:"token_uri"`
	}
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fail("not a JSON key file")
	}
	switch {
	case k.Type != "service_account":
		return nil, fail("type %q, want service_account", clip(k.Type))
	case k.ClientEmail == "" || !strings.Contains(k.ClientEmail, "@"):
		return nil, fail("no client_email")
	case k.PrivateKey == "":
		return nil, fail("no private_key")
	}
	block, _ := pem.Decode([]byte(k.PrivateKey))
	if block == nil {
		return nil, fail("private_key is not PEM")
	}
	var rsaKey *rsa.PrivateKey
	if parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rsaKey, _ = parsed.(*rsa.PrivateKey)
	} else if parsed, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		rsaKey = parsed
	}
	if rsaKey == nil {
		return nil, fail("private_key is not an RSA private key")
	}
	if rsaKey.N.BitLen() < 2048 {
		return nil, fail("RSA key of %d bits, want at least 2048", rsaKey.N.BitLen())
	}
	tokenURI := k.TokenURI
	if tokenURI == "" {
		tokenURI = DefaultTokenURL
	}
	if u, err := url.Parse(tokenURI); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fail("token_uri %q is not an http(s) URL", clip(tokenURI))
	}
	return &serviceAccount{email: k.ClientEmail, keyID: k.PrivateKeyID, tokenURI: tokenURI, key: rsaKey}, nil
}

// clip keeps a value from a key file short and printable for a message.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// assertion returns the signed JWT for the bearer grant: iss the account,
// aud the token endpoint, the scopes, valid for an hour from now.
func (sa *serviceAccount) assertion(scopes []string, now time.Time) (string, error) {
	hdr := map[string]string{"alg": "RS256", "typ": "JWT"}
	if sa.keyID != "" {
		hdr["kid"] = sa.keyID
	}
	claims := map[string]any{
		"iss": sa.email, "scope": strings.Join(scopes, " "), "aud": sa.tokenURI,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, sa.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", errors.New("amapi: signing the token assertion failed")
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
