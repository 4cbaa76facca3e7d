// Package redact removes secrets from URLs, headers, command lines and
// messages before they reach a log, an error or the evidence. It is a leaf:
// it imports nothing from the project.
package redact

import (
	"net/url"
	"strings"
)

// Placeholder replaces every redacted value.
const Placeholder = "REDACTED"

// secretNames are query, form and flag names whose values are secrets. The
// match is case-insensitive and also catches names that contain them
// (client_secret, x-api-key, ...).
var secretNames = []string{
	"secret", "password", "passwd", "token", "assertion", "apikey", "api_key", "api-key",
	"authorization", "signature", "sig", "code", "bypass",
}

// IsSecretName reports whether a parameter, header or field name carries a
// secret value.
func IsSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range secretNames {
		if n == s || strings.Contains(n, s) && s != "sig" && s != "code" {
			return true
		}
	}
	return false
}

// URL returns u as a string with user info and secret query values
// replaced. The paging token of a list ($skiptoken) is not a secret and is
// kept: it is needed to replay the request.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User(Placeholder)
	}
	if c.RawQuery != "" {
		q := c.Query()
		changed := false
		for k := range q {
			if IsSecretName(k) && !strings.EqualFold(k, "$skiptoken") {
				q[k] = []string{Placeholder}
				changed = true
			}
		}
		if changed {
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}

// URLString is URL for a string; an unparsable URL is replaced entirely.
func URLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Placeholder
	}
	return URL(u)
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

// String replaces every occurrence of the given secrets in s.
func String(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, Placeholder)
		}
	}
	return s
}
