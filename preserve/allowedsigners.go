package preserve

// The ssh-keygen ALLOWED SIGNERS file format (ssh-keygen(1)); parsing and
// matching mirror openssh-portable sshsig.c, misc.c and match.c.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	maxAllowedSignersSize  = 1 << 20
	maxAllowedSignersLines = 100000
	maxPatternLen          = 1023 // match_pattern_list: longer sub-patterns never match
)

// Reasons a key is refused by AllowedSigners; test with errors.Is.
var (
	ErrUnknownKey          = errors.New("key is not listed")
	ErrNamespaceNotAllowed = errors.New("namespace not allowed")
	ErrKeyNotYetValid      = errors.New("key not yet valid")
	ErrKeyExpired          = errors.New("key expired")
)

// AllowedSigner is one line of an allowed_signers file.
type AllowedSigner struct {
	// Principals are patterns (ssh_config PATTERNS: * ? and !negation).
	Principals []string
	// Namespaces are patterns too; nil means any namespace, an empty
	// non-nil slice (namespaces="") means none.
	Namespaces  []string
	ValidAfter  time.Time // zero = unset
	ValidBefore time.Time // zero = unset
	// CertAuthority is parsed, but certificates are not supported: a
	// cert-authority entry never matches a plain key.
	CertAuthority bool
	Key           ssh.PublicKey
	Line          int
}

// AllowedSigners is a parsed allowed_signers file.
type AllowedSigners struct{ Entries []AllowedSigner }

// ParseAllowedSigners parses an allowed_signers file: one
// `principals [options] keytype base64 [comment]` entry per line, blank lines
// and # comments ignored. Options are comma-separated, keywords
// case-insensitive: cert-authority, namespaces="…", valid-after="…",
// valid-before="…". Times are YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]; without Z
// (or UTC) they are local time, as in ssh-keygen. Every line is checked, not
// only those relevant to a given key.
func ParseAllowedSigners(r io.Reader) (*AllowedSigners, error) {
	if r == nil {
		return nil, errors.New("allowed_signers: nil reader")
	}
	data, err := io.ReadAll(io.LimitReader(r, maxAllowedSignersSize+1))
	if err != nil {
		return nil, fmt.Errorf("allowed_signers: reading: %w", err)
	}
	if len(data) > maxAllowedSignersSize {
		return nil, fmt.Errorf("allowed_signers: file larger than %d bytes", maxAllowedSignersSize)
	}
	if bytes.Count(data, []byte("\n")) >= maxAllowedSignersLines {
		return nil, fmt.Errorf("allowed_signers: more than %d lines", maxAllowedSignersLines)
	}
	a := &AllowedSigners{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		e, ok, err := parseAllowedSignerLine(line)
		if err != nil {
			return nil, fmt.Errorf("allowed_signers line %d: %w", n, err)
		}
		if !ok {
			continue
		}
		e.Line = n
		a.Entries = append(a.Entries, e)
	}
	return a, nil
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// parseAllowedSignerLine parses one line; ok is false for blank and comment
// lines.
func parseAllowedSignerLine(line string) (e AllowedSigner, ok bool, err error) {
	if strings.IndexByte(line, 0) >= 0 {
		return e, false, errors.New("NUL byte in line")
	}
	line = strings.TrimLeft(line, " \t\r")
	line = strings.TrimSuffix(line, "\r")
	if line == "" || line[0] == '#' {
		return e, false, nil
	}

	principals, rest, err := cutPrincipals(line)
	if err != nil {
		return e, false, err
	}
	if rest == "" {
		return e, false, errors.New("missing key")
	}
	e.Principals = splitPatternList(principals)

	// Options, if any, come before the key. Key type names never contain
	// '=', ',' or '"'; a field that is neither options nor a key type name
	// is reported as a bad option.
	tok := rest
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		tok = rest[:i]
	}
	if !strings.ContainsAny(tok, "=,\"") && !hasPrefixFold(tok, "cert-authority") {
		if knownKeyType(tok) {
			e.Key, err = parseKeyField(rest)
			return e, err == nil, err
		}
		return e, false, fmt.Errorf("bad options: unknown key option or key type %q", truncate(tok, 40))
	}
	opts, after, err := cutOptions(rest)
	if err != nil {
		return e, false, err
	}
	if err := parseSignerOptions(opts, &e); err != nil {
		return e, false, fmt.Errorf("bad options: %w", err)
	}
	rest = strings.TrimLeft(after, " \t")
	if rest == "" {
		return e, false, errors.New("missing key")
	}
	e.Key, err = parseKeyField(rest)
	if err != nil {
		return e, false, err
	}
	return e, true, nil
}

// knownKeyType reports whether name is an SSH public key type name, so a
// bad key is not reported as a bad option.
func knownKeyType(name string) bool {
	switch name {
	case ssh.KeyAlgoRSA, "ssh-dss", ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256:
		return true
	}
	return strings.HasSuffix(name, "@openssh.com") || strings.HasPrefix(name, "ssh-") || strings.HasPrefix(name, "ecdsa-")
}

// cutPrincipals splits off the first field like OpenSSH's strdelimw: it ends
// at the first blank, or, if a double quote comes first, the text up to the
// matching quote is part of the field (quotes removed).
func cutPrincipals(line string) (field, rest string, err error) {
	i := strings.IndexAny(line, " \t\r\"")
	if i < 0 {
		return line, "", nil
	}
	if line[i] != '"' {
		return line[:i], strings.TrimLeft(line[i:], " \t\r"), nil
	}
	j := strings.IndexByte(line[i+1:], '"')
	if j < 0 {
		return "", "", errors.New("unterminated quote in principals")
	}
	field = line[:i] + line[i+1:i+1+j]
	return field, strings.TrimLeft(line[i+1+j+1:], " \t\r"), nil
}

// cutOptions splits off the options field: up to the first blank outside
// double quotes (sshkey_advance_past_options).
func cutOptions(s string) (opts, rest string, err error) {
	quoted := false
	i := 0
	for ; i < len(s) && (quoted || !isBlank(s[i])); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '"' {
			i++
		} else if s[i] == '"' {
			quoted = !quoted
		}
	}
	if quoted {
		return "", "", errors.New("unterminated quote in options")
	}
	return s[:i], s[i:], nil
}

func parseSignerOptions(opts string, e *AllowedSigner) error {
	var sawNS bool
	for len(opts) > 0 {
		switch {
		case hasPrefixFold(opts, "cert-authority"):
			e.CertAuthority = true
			opts = opts[len("cert-authority"):]
		case hasPrefixFold(opts, "namespaces="):
			if sawNS {
				return errors.New(`multiple "namespaces" clauses`)
			}
			sawNS = true
			v, rest, err := dequote(opts[len("namespaces="):])
			if err != nil {
				return fmt.Errorf("namespaces: %w", err)
			}
			e.Namespaces = splitPatternList(v)
			if e.Namespaces == nil {
				e.Namespaces = []string{}
			}
			opts = rest
		case hasPrefixFold(opts, "valid-after="), hasPrefixFold(opts, "valid-before="):
			after := hasPrefixFold(opts, "valid-after=")
			name, dst := "valid-before", &e.ValidBefore
			if after {
				name, dst = "valid-after", &e.ValidAfter
			}
			if !dst.IsZero() {
				return fmt.Errorf("multiple %q clauses", name)
			}
			v, rest, err := dequote(opts[len(name)+1:])
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			t, err := ParseSSHTime(v)
			if err != nil {
				return fmt.Errorf("invalid %q time: %w", name, err)
			}
			*dst = t
			opts = rest
		}
		if opts == "" {
			break
		}
		if opts[0] != ',' {
			o := opts
			if i := strings.IndexByte(o, ','); i >= 0 {
				o = o[:i]
			}
			return fmt.Errorf("unknown key option %q", o)
		}
		opts = opts[1:]
		if opts == "" {
			return errors.New("unexpected end-of-options")
		}
	}
	if !e.ValidAfter.IsZero() && !e.ValidBefore.IsZero() && !e.ValidBefore.After(e.ValidAfter) {
		return errors.New(`"valid-before" time is not after "valid-after"`)
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// dequote reads a double-quoted option value; \" stands for a quote
// (opt_dequote).
func dequote(s string) (val, rest string, err error) {
	if s == "" || s[0] != '"' {
		return "", "", errors.New("missing start quote")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '"':
			b.WriteByte('"')
			i++
		case s[i] == '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", "", errors.New("missing end quote")
}

// ParseSSHTime parses the OpenSSH absolute time forms YYYYMMDD,
// YYYYMMDDHHMM and YYYYMMDDHHMMSS, with an optional Z (or UTC) suffix for
// UTC; without it the time is local (parse_absolute_time in misc.c). Times
// at or before the Unix epoch are rejected, as OpenSSH does.
func ParseSSHTime(s string) (time.Time, error) {
	loc := time.Local
	v := s
	switch {
	case len(v) > 1 && (v[len(v)-1] == 'Z' || v[len(v)-1] == 'z'):
		v, loc = v[:len(v)-1], time.UTC
	case len(v) > 3 && strings.EqualFold(v[len(v)-3:], "UTC"):
		v, loc = v[:len(v)-3], time.UTC
	}
	var layout string
	switch len(v) {
	case 8:
		layout = "20060102"
	case 12:
		layout = "200601021504"
	case 14:
		layout = "20060102150405"
	default:
		return time.Time{}, fmt.Errorf("%q: want YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]", s)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return time.Time{}, fmt.Errorf("%q: want YYYYMMDD[Z] or YYYYMMDDHHMM[SS][Z]", s)
		}
	}
	t, err := time.ParseInLocation(layout, v, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, err)
	}
	if t.Unix() <= 0 {
		return time.Time{}, fmt.Errorf("%q: time must be after the Unix epoch", s)
	}
	return t, nil
}

// parseKeyField parses `keytype base64 [comment]`.
func parseKeyField(s string) (ssh.PublicKey, error) {
	fields := strings.Fields(s)
	if len(fields) < 2 {
		return nil, fmt.Errorf("invalid key: want \"keytype base64-key\", got %q", truncate(s, 40))
	}
	keyType := fields[0]
	raw, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return nil, fmt.Errorf("invalid %s key: bad base64: %w", truncate(keyType, 40), err)
	}
	pub, err := ssh.ParsePublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid %s key: %w", truncate(keyType, 40), err)
	}
	if pub.Type() != keyType {
		return nil, fmt.Errorf("key type %q does not match the key's encoded type %q", truncate(keyType, 40), pub.Type())
	}
	if err := checkPublicKey(pub); err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "sshsig: "))
	}
	return pub, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// splitPatternList splits a comma-separated pattern-list the way
// match_pattern_list walks it: "" has no sub-patterns and a trailing comma
// adds none.
func splitPatternList(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	if parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// matchPatternList reports whether s matches the pattern-list: at least one
// positive pattern matches and no negated (!) pattern does (match.c).
func matchPatternList(s string, patterns []string) bool {
	positive := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if len(p) >= maxPatternLen {
			return false
		}
		if matchPattern(s, p) {
			if neg {
				return false
			}
			positive = true
		}
	}
	return positive
}

// matchPattern matches s against a glob with * (any run of bytes) and ? (one
// byte), case-sensitively, like match_pattern in OpenSSH. Linear-time
// backtracking on the last star.
func matchPattern(s, p string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// MatchesPrincipal reports whether name matches the entry's principal
// patterns.
func (e *AllowedSigner) MatchesPrincipal(name string) bool {
	return matchPatternList(name, e.Principals)
}

// check reports why e does not allow key in namespace ns at time t, or nil.
// The boolean is false when the key itself does not match.
func (e *AllowedSigner) check(keyBlob []byte, ns string, t time.Time) (bool, error) {
	if e.CertAuthority || e.Key == nil || !bytes.Equal(e.Key.Marshal(), keyBlob) {
		return false, nil
	}
	if e.Namespaces != nil && !matchPatternList(ns, e.Namespaces) {
		return true, fmt.Errorf("line %d: %w: %q not in namespaces=%q", e.Line, ErrNamespaceNotAllowed, ns, strings.Join(e.Namespaces, ","))
	}
	// OpenSSH compares whole seconds; both bounds are inclusive.
	if !e.ValidAfter.IsZero() && t.Unix() < e.ValidAfter.Unix() {
		return true, fmt.Errorf("line %d: %w: %s is before valid-after %s", e.Line, ErrKeyNotYetValid, t.UTC().Format(time.RFC3339), e.ValidAfter.UTC().Format(time.RFC3339))
	}
	if !e.ValidBefore.IsZero() && t.Unix() > e.ValidBefore.Unix() {
		return true, fmt.Errorf("line %d: %w: %s is after valid-before %s", e.Line, ErrKeyExpired, t.UTC().Format(time.RFC3339), e.ValidBefore.UTC().Format(time.RFC3339))
	}
	return true, nil
}

// refusedError lists why every entry for a key refused it.
type refusedError struct {
	prefix string
	errs   []error
}

func (e *refusedError) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = err.Error()
	}
	return e.prefix + ": " + strings.Join(msgs, "; ")
}

func (e *refusedError) Unwrap() []error { return e.errs }

// match returns the entries allowing key in ns at t (filtered by principal
// when principal is non-nil).
func (a *AllowedSigners) match(principal *string, key ssh.PublicKey, ns string, t time.Time) ([]*AllowedSigner, error) {
	if key == nil {
		return nil, errors.New("allowed_signers: nil key")
	}
	if ns == "" {
		return nil, errors.New("allowed_signers: namespace must not be empty")
	}
	if t.IsZero() {
		return nil, errors.New("allowed_signers: verification time not set")
	}
	fp := ssh.FingerprintSHA256(key)
	var matched []*AllowedSigner
	var refusals []error
	if a != nil {
		blob := key.Marshal()
		for i := range a.Entries {
			e := &a.Entries[i]
			if principal != nil && !e.MatchesPrincipal(*principal) {
				continue
			}
			keyMatch, err := e.check(blob, ns, t)
			if !keyMatch {
				continue
			}
			if err != nil {
				refusals = append(refusals, err)
				continue
			}
			matched = append(matched, e)
		}
	}
	if len(matched) > 0 {
		return matched, nil
	}
	who := ""
	if principal != nil {
		who = fmt.Sprintf(" for principal %q", *principal)
	}
	if len(refusals) == 0 {
		return nil, fmt.Errorf("allowed_signers: %s key %s%s: %w", key.Type(), fp, who, ErrUnknownKey)
	}
	return nil, &refusedError{prefix: fmt.Sprintf("allowed_signers: %s key %s%s refused", key.Type(), fp, who), errs: refusals}
}

// Principals returns the principal patterns, as written, of every entry
// under which key may sign in namespace ns at time t (like ssh-keygen -Y
// find-principals), without duplicates. It fails, saying why, if there are
// none: the key is unknown (ErrUnknownKey), or every entry for it refuses the
// namespace (ErrNamespaceNotAllowed) or the time (ErrKeyNotYetValid,
// ErrKeyExpired). t must come from a trusted source, not from the signer.
func (a *AllowedSigners) Principals(key ssh.PublicKey, ns string, t time.Time) ([]string, error) {
	entries, err := a.match(nil, key, ns, t)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		for _, p := range e.Principals {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// Check reports whether key may sign as principal in namespace ns at time t,
// like `ssh-keygen -Y verify -I principal`: some entry must list a pattern
// matching principal, the same key, and allow ns and t.
func (a *AllowedSigners) Check(principal string, key ssh.PublicKey, ns string, t time.Time) error {
	_, err := a.match(&principal, key, ns, t)
	return err
}
