// Package redact removes secrets from URLs, headers, command lines and
// messages before they reach a log, an error or the evidence. It is a leaf:
// it imports nothing from the project.
package redact

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Placeholder replaces every redacted value.
const Placeholder = "REDACTED"

// secretNames are query, form, header and flag names whose values are
// secrets. The match is case-insensitive and also catches names that
// contain them (client_secret, x-api-key, access_token, Set-Cookie, ...).
var secretNames = []string{
	"secret", "password", "passwd", "token", "assertion", "apikey", "api_key", "api-key",
	"authorization", "signature", "cookie", "bypass", "private_key", "privatekey", "private-key",
	"tenant-code", "tenant_code", "tenantcode",
}

// exactNames are secret only as the whole name: "code" (an OAuth
// authorization code) and "sig" (the signature of a SAS URL) are too short
// to match inside other names (countryCode, errorCode, signingKey, ...).
var exactNames = []string{"code", "sig"}

// pagingNames contain "token" but carry paging state, not a credential; they
// are kept so that a logged request can be replayed.
var pagingNames = []string{"$skiptoken", "$deltatoken", "pagetoken", "page_token", "nextpagetoken"}

// IsSecretName reports whether a parameter, header or field name carries a
// secret value.
func IsSecretName(name string) bool {
	n := strings.ToLower(name)
	if slices.Contains(exactNames, n) {
		return true
	}
	for _, s := range secretNames {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// isPagingName reports whether name is a paging token parameter.
func isPagingName(name string) bool {
	return slices.Contains(pagingNames, strings.ToLower(name))
}

// URL returns u as a string with user info and secret query values
// replaced. Paging tokens ($skiptoken, pageToken, ...) are not secrets and
// are kept: they are needed to replay the request.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User(Placeholder)
	}
	if c.RawQuery != "" {
		c.RawQuery = query(c.RawQuery)
	}
	if c.Fragment != "" {
		c.Fragment, c.RawFragment = Placeholder, ""
	}
	return c.String()
}

// query redacts the secret values of a raw query in place, keeping every
// other byte as it was (Graph's literal $ and commas stay readable and the
// URL can be replayed). Pairs are split at ';' as well as '&', as some
// servers do; a name that cannot be unescaped is treated as secret.
func query(raw string) string {
	var b strings.Builder
	for raw != "" {
		i := strings.IndexAny(raw, "&;")
		pair, sep := raw, ""
		if i >= 0 {
			pair, sep, raw = raw[:i], raw[i:i+1], raw[i+1:]
		} else {
			raw = ""
		}
		k, _, hasValue := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		switch {
		case err != nil:
			pair = Placeholder + "=" + Placeholder
		case hasValue && IsSecretName(name) && !isPagingName(name):
			pair = k + "=" + Placeholder
		}
		b.WriteString(pair)
		b.WriteString(sep)
	}
	return b.String()
}

// pairs splits a raw query or form at '&' and ';' and unescapes each name
// and value (an undecodable one is kept raw).
func pairs(raw string) [][2]string {
	var out [][2]string
	for _, p := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			out = append(out, [2]string{k, uv})
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

// URLString is URL for a string; an unparsable URL is replaced entirely.
func URLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Placeholder
	}
	return URL(u)
}

// SecretValues returns the values of the secret parameters of u's query,
// for String to remove wherever they might be echoed.
func SecretValues(u *url.URL) []string {
	if u == nil {
		return nil
	}
	var out []string
	for _, kv := range pairs(u.RawQuery) {
		if IsSecretName(kv[0]) && !isPagingName(kv[0]) {
			out = append(out, kv[1])
		}
	}
	return out
}

// IsSecretHeader reports whether the value of header name must never be
// logged (Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key,
// aw-tenant-code, ...).
func IsSecretHeader(name string) bool { return IsSecretName(name) }

// Header returns a copy of h with the value of every secret header
// replaced; use it before a request's headers reach a log or an error.
func Header(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		if IsSecretHeader(k) {
			out[k] = []string{Placeholder}
		} else {
			out[k] = slices.Clone(vs)
		}
	}
	return out
}

// Headers picks the named headers of h for a log line: keys lower case,
// several values joined with ", ", secret values replaced, absent headers
// left out. It returns nil when none is present.
func Headers(h http.Header, names ...string) map[string]string {
	var out map[string]string
	for _, name := range names {
		vs := h.Values(name)
		if len(vs) == 0 {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		v := strings.Join(vs, ", ")
		if IsSecretHeader(name) {
			v = Placeholder
		}
		out[strings.ToLower(name)] = v
	}
	return out
}

// HeaderSecrets returns the secret values carried by h (the token of
// "Authorization: Bearer <token>" and the whole value), for String.
func HeaderSecrets(h http.Header) []string {
	var out []string
	for k, vs := range h {
		if !IsSecretHeader(k) {
			continue
		}
		for _, v := range vs {
			out = append(out, v)
			if _, cred, ok := strings.Cut(v, " "); ok {
				out = append(out, strings.TrimSpace(cred))
			}
		}
	}
	return out
}

// FormSecrets returns the values of the secret fields of a URL-encoded form
// body (client_secret, assertion, ...), for String.
func FormSecrets(body []byte) []string {
	var out []string
	for _, kv := range pairs(string(body)) {
		if IsSecretName(kv[0]) {
			out = append(out, kv[1])
		}
	}
	return out
}

// Args redacts a command line: the value of every flag whose name is a
// secret name (as --flag=value or --flag value) is replaced. Flags ending in
// -file name a file, not a secret, and are kept.
func Args(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasSuffix(name, "-file") || !IsSecretName(name) {
			continue
		}
		if hasValue {
			out[i] = a[:strings.Index(a, "=")+1] + Placeholder
		} else if i+1 < len(out) {
			out[i+1] = Placeholder
			i++
		}
	}
	return out
}

// String replaces every occurrence of the given secrets in s, longest
// first so that a secret containing another is removed whole. Secrets
// shorter than 4 bytes are ignored: replacing them would garble the text
// without protecting anything.
func String(s string, secrets ...string) string {
	secrets = slices.Clone(secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, Placeholder)
		}
	}
	return s
}
