package preserve

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// seededKey returns a deterministic ed25519 signer.
func seededKey(t testing.TB, seed string) ssh.Signer {
	t.Helper()
	h := sha256.Sum256([]byte(seed))
	s, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(h[:]))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authKey is "keytype base64" for s.
func authKey(s ssh.Signer) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
}

func TestMatchPattern(t *testing.T) {
	cases := []struct {
		s, p string
		want bool
	}{
		{"", "", true},
		{"a", "", false},
		{"", "*", true},
		{"abc", "abc", true},
		{"abc", "ABC", false},
		{"abc", "a?c", true},
		{"ac", "a?c", false},
		{"abc", "a*", true},
		{"abc", "*c", true},
		{"abc", "*b*", true},
		{"abc", "*d*", false},
		{"alice@lab.example", "*@lab.example", true},
		{"alice@lab.example.evil", "*@lab.example", false},
		{"aXbXc", "a*b*c", true},
		{"aXbX", "a*b*c", false},
		{"mississippi", "*sip*", true},
		{"mississippi", "m*iss*ppi", true},
		{"mississippi", "m*iss*ppx", false},
		{"abc", "???", true},
		{"abc", "????", false},
		{"abc", "**", true},
		{"abc", "*?*?*?*", true},
		{"ab", "*?*?*?*", false},
		{strings.Repeat("a", 60), strings.Repeat("*a", 30) + "b", false},
	}
	for _, c := range cases {
		if got := matchPattern(c.s, c.p); got != c.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", c.s, c.p, got, c.want)
		}
	}
}

func TestMatchPatternList(t *testing.T) {
	cases := []struct {
		s, list string
		want    bool
	}{
		{"alice@x", "alice@x", true},
		{"alice@x", "bob@x,alice@x", true},
		{"alice@x", "bob@x", false},
		{"alice@x", "*@x,!alice@x", false},
		{"alice@x", "!alice@x,*@x", false},
		{"bob@x", "*@x,!alice@x", true},
		{"bob@x", "!alice@x", false}, // negation alone never matches
		{"alice@x", "", false},
		{"", "", false},
		{"alice@x", "a*,", true},
		{"file", "file,git", true},
		{"!x", "!!x", false}, // "!!x" is a negated "!x"
		{"a", strings.Repeat("a", maxPatternLen-1), false},
		{"a", "a," + strings.Repeat("*", maxPatternLen), false}, // over-long sub-pattern: no match at all
	}
	for _, c := range cases {
		if got := matchPatternList(c.s, splitPatternList(c.list)); got != c.want {
			t.Errorf("matchPatternList(%q, %q) = %v, want %v", c.s, c.list, got, c.want)
		}
	}
}

func TestParseSSHTime(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
	}{
		{"20260102Z", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"20260102z", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"20260102UTC", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"202601021530Z", time.Date(2026, 1, 2, 15, 30, 0, 0, time.UTC)},
		{"20260102153045Z", time.Date(2026, 1, 2, 15, 30, 45, 0, time.UTC)},
		{"20260102", time.Date(2026, 1, 2, 0, 0, 0, 0, time.Local)},
		{"20260102153045", time.Date(2026, 1, 2, 15, 30, 45, 0, time.Local)},
	}
	for _, c := range cases {
		got, err := ParseSSHTime(c.in)
		if err != nil || !got.Equal(c.want) || got.Location() != c.want.Location() {
			t.Errorf("ParseSSHTime(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "Z", "2026010Z", "202601021Z", "2026-01-02", "20261301Z", "20260230Z", "20260102250000Z",
		"2026010215Z", "+0260102Z", "19700101Z", "19600101Z", "20260102ZZ", "20260102 ", " 20260102"} {
		if got, err := ParseSSHTime(in); err == nil {
			t.Errorf("ParseSSHTime(%q) = %v, want error", in, got)
		}
	}
}

func TestParseAllowedSigners(t *testing.T) {
	k1, k2 := seededKey(t, "k1"), seededKey(t, "k2")
	a1, a2 := authKey(k1), authKey(k2)
	utc := func(y int, m time.Month, d, hh, mm, ss int) time.Time {
		return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
	}

	cases := []struct {
		name string
		in   string
		want []AllowedSigner
	}{
		{"empty", "", nil},
		{"only comments", "# hello\n\n   \n\t# indented comment\n", nil},
		{"simple", "alice@x " + a1 + "\n", []AllowedSigner{{Principals: []string{"alice@x"}, Key: k1.PublicKey(), Line: 1}}},
		{"no final newline, comment", "alice@x " + a1 + " alice's laptop key", []AllowedSigner{{Principals: []string{"alice@x"}, Key: k1.PublicKey(), Line: 1}}},
		{"CRLF and blanks", "# c\r\n\r\n  alice@x\t" + a1 + "\r\nbob@x " + a2 + "\r\n", []AllowedSigner{
			{Principals: []string{"alice@x"}, Key: k1.PublicKey(), Line: 3},
			{Principals: []string{"bob@x"}, Key: k2.PublicKey(), Line: 4},
		}},
		{"patterns", "*@lab.example,!mallory@lab.example " + a1, []AllowedSigner{{Principals: []string{"*@lab.example", "!mallory@lab.example"}, Key: k1.PublicKey(), Line: 1}}},
		{"quoted principal", `"alice smith@x" ` + a1, []AllowedSigner{{Principals: []string{"alice smith@x"}, Key: k1.PublicKey(), Line: 1}}},
		{"empty quoted principal", `"" ` + a1, []AllowedSigner{{Principals: nil, Key: k1.PublicKey(), Line: 1}}},
		{"namespaces", `alice@x namespaces="file,evidence@custos.test" ` + a1, []AllowedSigner{{Principals: []string{"alice@x"}, Namespaces: []string{"file", "evidence@custos.test"}, Key: k1.PublicKey(), Line: 1}}},
		{"empty namespaces", `alice@x namespaces="" ` + a1, []AllowedSigner{{Principals: []string{"alice@x"}, Namespaces: []string{}, Key: k1.PublicKey(), Line: 1}}},
		{"namespace with escaped quote and space", `alice@x namespaces="a\"b c" ` + a1, []AllowedSigner{{Principals: []string{"alice@x"}, Namespaces: []string{`a"b c`}, Key: k1.PublicKey(), Line: 1}}},
		{"keywords case-insensitive", `alice@x NameSpaces="git",Valid-After="20260101Z",VALID-BEFORE="20270101Z" ` + a1, []AllowedSigner{{
			Principals: []string{"alice@x"}, Namespaces: []string{"git"}, ValidAfter: utc(2026, 1, 1, 0, 0, 0), ValidBefore: utc(2027, 1, 1, 0, 0, 0), Key: k1.PublicKey(), Line: 1}}},
		{"all time forms", `alice@x valid-after="202601021530Z",valid-before="20260102153045Z" ` + a1, []AllowedSigner{{
			Principals: []string{"alice@x"}, ValidAfter: utc(2026, 1, 2, 15, 30, 0), ValidBefore: utc(2026, 1, 2, 15, 30, 45), Key: k1.PublicKey(), Line: 1}}},
		{"local time", `alice@x valid-after="20260102" ` + a1, []AllowedSigner{{
			Principals: []string{"alice@x"}, ValidAfter: time.Date(2026, 1, 2, 0, 0, 0, 0, time.Local), Key: k1.PublicKey(), Line: 1}}},
		{"cert-authority", `*@x cert-authority ` + a1, []AllowedSigner{{Principals: []string{"*@x"}, CertAuthority: true, Key: k1.PublicKey(), Line: 1}}},
		// OpenSSH's option loop skips empty options.
		{"double comma", `*@x namespaces="file",,cert-authority ` + a1, []AllowedSigner{{Principals: []string{"*@x"}, CertAuthority: true, Namespaces: []string{"file"}, Key: k1.PublicKey(), Line: 1}}},
		{"cert-authority with options", `*@x Cert-Authority,namespaces="file" ` + a1 + " ca", []AllowedSigner{{Principals: []string{"*@x"}, CertAuthority: true, Namespaces: []string{"file"}, Key: k1.PublicKey(), Line: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseAllowedSigners(strings.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Entries) != len(c.want) {
				t.Fatalf("got %d entries, want %d: %+v", len(got.Entries), len(c.want), got.Entries)
			}
			for i, w := range c.want {
				g := got.Entries[i]
				if !slices.Equal(g.Principals, w.Principals) || !slices.Equal(g.Namespaces, w.Namespaces) ||
					(g.Namespaces == nil) != (w.Namespaces == nil) ||
					!g.ValidAfter.Equal(w.ValidAfter) || !g.ValidBefore.Equal(w.ValidBefore) ||
					g.CertAuthority != w.CertAuthority || g.Line != w.Line ||
					!bytes.Equal(g.Key.Marshal(), w.Key.Marshal()) {
					t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func TestParseAllowedSignersErrors(t *testing.T) {
	k1 := seededKey(t, "k1")
	a1 := authKey(k1)
	b64 := strings.Fields(a1)[1]
	rsaLine := ""
	for _, k := range testKeys(t) {
		if k.signer.PublicKey().Type() == ssh.KeyAlgoRSA {
			rsaLine = authKey(k.signer)
		}
	}
	cert := testCert(t, k1)
	certLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(cert)))

	cases := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"principals only", "alice@x", 1, "missing key"},
		{"principals and options only", "# c\nalice@x namespaces=\"file\"", 2, "missing key"},
		{"key type only", "\nalice@x ssh-ed25519", 2, "invalid key"},
		{"bad base64", "alice@x ssh-ed25519 AAAA!!!!", 1, "base64"},
		{"garbage key", "alice@x ssh-ed25519 AAAAAAAA", 1, "invalid"},
		{"type mismatch", "alice@x ecdsa-sha2-nistp256 " + b64, 1, "does not match"},
		{"unknown key type", "alice@x ssh-dss " + b64, 1, "does not match"},
		{"certificate key", "alice@x " + certLine, 1, "certificate"},
		{"unknown option", `alice@x no-touch-required ` + a1, 1, "unknown key option"},
		{"unknown key type name", `alice@x ssh-foo ` + b64, 1, `key type "ssh-foo" does not match`},
		{"unknown option with value", `alice@x principals="x" ` + a1, 1, "unknown key option"},
		{"unknown option after good", `alice@x namespaces="file",restrict ` + a1, 1, `unknown key option "restrict"`},
		{"unquoted value", `alice@x namespaces=file ` + a1, 1, "missing start quote"},
		{"unterminated quote", `alice@x namespaces="file ` + a1, 1, "unterminated quote"},
		{"unterminated principal quote", `"alice@x ` + a1, 1, "unterminated quote"},
		{"duplicate namespaces", `alice@x namespaces="a",namespaces="b" ` + a1, 1, "multiple"},
		{"duplicate valid-after", `alice@x valid-after="20260101Z",valid-after="20260102Z" ` + a1, 1, "multiple"},
		{"trailing comma", `alice@x namespaces="file", ` + a1, 1, "end-of-options"},
		{"option suffix", `alice@x cert-authorityx ` + a1, 1, "unknown key option"},
		{"bad time", `alice@x valid-after="2026-01-01" ` + a1, 1, "valid-after"},
		{"impossible date", `alice@x valid-before="20260230Z" ` + a1, 1, "valid-before"},
		{"epoch", `alice@x valid-after="19700101Z" ` + a1, 1, "epoch"},
		{"before not after after", `alice@x valid-after="20260101Z",valid-before="20260101Z" ` + a1, 1, "not after"},
		{"before earlier than after", `alice@x valid-after="20270101Z",valid-before="20260101Z" ` + a1, 1, "not after"},
		{"NUL", "alice@x " + a1 + "\x00", 1, "NUL"},
		{"error on later line", "alice@x " + a1 + "\n\n# ok\nbob@x " + a1 + "\ncarol@x ssh-ed25519 AAAAC3\n", 5, "invalid"},
	}
	if rsaLine != "" {
		// Keys too small for OpenSSH are refused.
		cases = append(cases, struct {
			name, in string
			line     int
			msg      string
		}{"rsa 512", "alice@x " + tinyRSAKey(t), 1, "too small"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := ParseAllowedSigners(strings.NewReader(c.in))
			if err == nil {
				t.Fatalf("parsed: %+v", a.Entries)
			}
			prefix := fmt.Sprintf("allowed_signers line %d: ", c.line)
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q, want prefix %q containing %q", err, prefix, c.msg)
			}
		})
	}
}

// tinyRSAKey is a 512-bit RSA public key in authorized_keys form.
func tinyRSAKey(t *testing.T) string {
	t.Helper()
	// Hand-built wire encoding: e=65537, n = 2^511 + 1 (odd, 512 bits).
	n := make([]byte, 65)
	n[1] = 0x80
	n[64] = 1
	blob := appendString(nil, []byte("ssh-rsa"))
	blob = appendString(blob, []byte{1, 0, 1})
	blob = appendString(blob, n)
	pub, err := ssh.ParsePublicKey(blob)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

func TestParseAllowedSignersLimits(t *testing.T) {
	big := strings.Repeat("#", maxAllowedSignersSize+1)
	if _, err := ParseAllowedSigners(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("oversized input: err = %v", err)
	}
	exact := strings.Repeat("#", maxAllowedSignersSize)
	if _, err := ParseAllowedSigners(strings.NewReader(exact)); err != nil {
		t.Errorf("input of exactly the limit: %v", err)
	}
	many := strings.Repeat("\n", maxAllowedSignersLines)
	if _, err := ParseAllowedSigners(strings.NewReader(many)); err == nil || !strings.Contains(err.Error(), "lines") {
		t.Errorf("too many lines: err = %v", err)
	}
	if _, err := ParseAllowedSigners(strings.NewReader(strings.Repeat("\n", maxAllowedSignersLines-1))); err != nil {
		t.Errorf("line count at limit: %v", err)
	}
	if _, err := ParseAllowedSigners(nil); err == nil {
		t.Error("nil reader accepted")
	}
	if _, err := ParseAllowedSigners(errReader{}); err == nil {
		t.Error("read error ignored")
	}
}

func TestPrincipals(t *testing.T) {
	k1, k2, k3 := seededKey(t, "k1"), seededKey(t, "k2"), seededKey(t, "k3")
	a1, a2, a3 := authKey(k1), authKey(k2), authKey(k3)
	file := strings.Join([]string{
		"# custodians",
		"alice@lab.example " + a1,
		"*@lab.example,!mallory@lab.example namespaces=\"evidence@*,!evidence@old\" " + a1,
		"bob@lab.example namespaces=\"file\" " + a2,
		"bob@lab.example valid-after=\"20260101Z\",valid-before=\"20261231235959Z\" " + a2,
		"carol@lab.example valid-before=\"20250101Z\" " + a3,
		"carol-ca@lab.example cert-authority " + a3,
		"alice@lab.example " + a1 + " duplicate",
	}, "\n")
	as, err := ParseAllowedSigners(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	mid := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	unknown := seededKey(t, "unknown").PublicKey()

	cases := []struct {
		name    string
		key     ssh.PublicKey
		ns      string
		at      time.Time
		want    []string
		wantErr error
	}{
		{"any namespace plus pattern entry", k1.PublicKey(), "evidence@custos", mid, []string{"alice@lab.example", "*@lab.example", "!mallory@lab.example"}, nil},
		{"negated namespace", k1.PublicKey(), "evidence@old", mid, []string{"alice@lab.example"}, nil},
		{"namespace entry only", k2.PublicKey(), "file", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), []string{"bob@lab.example"}, nil},
		{"window entry", k2.PublicKey(), "evidence@custos", mid, []string{"bob@lab.example"}, nil},
		{"valid-after inclusive", k2.PublicKey(), "x", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), []string{"bob@lab.example"}, nil},
		{"valid-before inclusive", k2.PublicKey(), "x", time.Date(2026, 12, 31, 23, 59, 59, 999, time.UTC), []string{"bob@lab.example"}, nil},
		{"not yet valid", k2.PublicKey(), "x", time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), nil, ErrKeyNotYetValid},
		{"expired", k2.PublicKey(), "x", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), nil, ErrKeyExpired},
		{"expired carol", k3.PublicKey(), "file", mid, nil, ErrKeyExpired},
		{"carol before expiry", k3.PublicKey(), "file", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), []string{"carol@lab.example"}, nil},
		{"unknown key", unknown, "file", mid, nil, ErrUnknownKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := as.Principals(c.key, c.ns, c.at)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v (principals %q)", err, c.wantErr, got)
				}
				if !strings.HasPrefix(err.Error(), "allowed_signers: ") {
					t.Errorf("error %q lacks prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}

	// Namespace refused by the only entry for the key (k2 outside its window
	// and not "file").
	_, err = as.Principals(k2.PublicKey(), "git", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	if !errors.Is(err, ErrNamespaceNotAllowed) || !errors.Is(err, ErrKeyNotYetValid) {
		t.Errorf("want both reasons, got %v", err)
	}
	if err != nil && (!strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "line 5")) {
		t.Errorf("error should name lines 4 and 5: %v", err)
	}
	nsOnly, _ := ParseAllowedSigners(strings.NewReader(`x namespaces="file" ` + a2))
	if _, err := nsOnly.Principals(k2.PublicKey(), "git", mid); !errors.Is(err, ErrNamespaceNotAllowed) || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("namespace refusal: %v", err)
	}
	none, _ := ParseAllowedSigners(strings.NewReader(`x namespaces="" ` + a2))
	if _, err := none.Principals(k2.PublicKey(), "file", mid); !errors.Is(err, ErrNamespaceNotAllowed) {
		t.Errorf(`namespaces="" must allow nothing: %v`, err)
	}

	// A cert-authority line never matches a plain key.
	caOnly, _ := ParseAllowedSigners(strings.NewReader("*@x cert-authority " + a3))
	if _, err := caOnly.Principals(k3.PublicKey(), "file", mid); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("cert-authority matched a plain key: %v", err)
	}

	for _, bad := range []struct {
		key ssh.PublicKey
		ns  string
		at  time.Time
	}{{nil, "file", mid}, {k1.PublicKey(), "", mid}, {k1.PublicKey(), "file", time.Time{}}} {
		if _, err := as.Principals(bad.key, bad.ns, bad.at); err == nil {
			t.Errorf("Principals(%v, %q, %v) succeeded", bad.key, bad.ns, bad.at)
		}
	}
	var nilSet *AllowedSigners
	if _, err := nilSet.Principals(k1.PublicKey(), "file", mid); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("nil set: %v", err)
	}
}

func TestCheck(t *testing.T) {
	k1, k2 := seededKey(t, "k1"), seededKey(t, "k2")
	as, err := ParseAllowedSigners(strings.NewReader(
		"*@lab.example,!mallory@lab.example namespaces=\"evidence\" " + authKey(k1) + "\n" +
			"mallory@lab.example " + authKey(k2) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	cases := []struct {
		principal string
		key       ssh.PublicKey
		ns        string
		wantErr   error
	}{
		{"alice@lab.example", k1.PublicKey(), "evidence", nil},
		{"alice@lab.example", k1.PublicKey(), "file", ErrNamespaceNotAllowed},
		{"mallory@lab.example", k1.PublicKey(), "evidence", ErrUnknownKey},
		{"mallory@lab.example", k2.PublicKey(), "evidence", nil},
		{"alice@lab.example", k2.PublicKey(), "evidence", ErrUnknownKey},
		{"alice@lab.example.evil", k1.PublicKey(), "evidence", ErrUnknownKey},
	}
	for _, c := range cases {
		err := as.Check(c.principal, c.key, c.ns, now)
		if (c.wantErr == nil) != (err == nil) || (c.wantErr != nil && !errors.Is(err, c.wantErr)) {
			t.Errorf("Check(%q, %s, %q) = %v, want %v", c.principal, Fingerprint(c.key), c.ns, err, c.wantErr)
		}
	}
	if !as.Entries[0].MatchesPrincipal("bob@lab.example") || as.Entries[0].MatchesPrincipal("mallory@lab.example") {
		t.Error("MatchesPrincipal")
	}
}

// TestAllowedSignersAgreesWithSSHKeygen runs the same allowed_signers file
// through ssh-keygen -Y verify and our Check, at several verify times and
// namespaces, and requires the same decision.
func TestAllowedSignersAgreesWithSSHKeygen(t *testing.T) {
	keygen := requireSSHKeygen(t)
	k1, k2, k3 := seededKey(t, "k1"), seededKey(t, "k2"), seededKey(t, "k3")
	file := strings.Join([]string{
		"# comment",
		"alice@lab.example,!mallory@lab.example NAMESPACES=\"evidence@*,!evidence@old\" " + authKey(k1) + " laptop",
		"*@lab.example,!mallory@lab.example namespaces=\"evidence@*,!evidence@old\" " + authKey(k1) + " laptop",
		"bob@lab.example valid-after=\"20260101Z\",valid-before=\"202612311200Z\" " + authKey(k2),
		"\"carol q@lab.example\" namespaces=\"file\" " + authKey(k3),
		"ca@lab.example cert-authority " + authKey(k3),
		"",
	}, "\n")
	as, err := ParseAllowedSigners(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	allowed := writeFile(t, dir, "allowed_signers", []byte(file), 0o644)
	msg := []byte("m")
	signers := map[string]ssh.Signer{"k1": k1, "k2": k2, "k3": k3}
	times := map[string]time.Time{
		"20250601Z":       time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC),
		"20260101Z":       time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		"20260601Z":       time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		"20261231120000Z": time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC),
		"20261231120001Z": time.Date(2026, 12, 31, 12, 0, 1, 0, time.UTC),
	}
	principals := []string{"alice@lab.example", "bob@lab.example", "mallory@lab.example", "carol q@lab.example", "ca@lab.example", "dave@elsewhere"}
	namespaces := []string{"evidence@custos", "evidence@old", "file"}
	checked, accepted := 0, 0
	for kn, s := range signers {
		for _, ns := range namespaces {
			armored, err := Sign(s, ns, bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			sigPath := writeFile(t, dir, kn+"-"+strings.ReplaceAll(ns, "@", "_")+".sig", armored, 0o644)
			for ts, at := range times {
				for _, p := range principals {
					_, code := runKeygen(t, keygen, msg, "-Y", "verify", "-f", allowed, "-I", p, "-n", ns, "-s", sigPath, "-O", "verify-time="+ts)
					ours := as.Check(p, s.PublicKey(), ns, at)
					checked++
					if (code == 0) != (ours == nil) {
						t.Errorf("key %s ns %q principal %q time %s: ssh-keygen exit %d, ours %v", kn, ns, p, ts, code, ours)
					}
					if code == 0 {
						accepted++
					}
				}
			}
		}
	}
	if accepted == 0 || accepted == checked {
		t.Fatalf("degenerate comparison: %d of %d accepted", accepted, checked)
	}
	t.Logf("%d decisions compared, %d accepted", checked, accepted)

	// find-principals agrees with Principals. ssh-keygen -Y find-principals
	// ignores namespaces= and prints the first matching line's principals,
	// one per line; Principals applies the namespace and lists every
	// matching line.
	for kn, s := range signers {
		for _, ns := range namespaces {
			sigPath := filepath.Join(dir, kn+"-"+strings.ReplaceAll(ns, "@", "_")+".sig")
			for ts, at := range times {
				out, code := runKeygen(t, keygen, nil, "-Y", "find-principals", "-f", allowed, "-s", sigPath, "-O", "verify-time="+ts)
				ours, err := as.Principals(s.PublicKey(), ns, at)
				switch {
				case code != 0 && err == nil:
					t.Errorf("%s %s %s: ssh-keygen finds no principal, we find %q", kn, ns, ts, ours)
				case code == 0 && err != nil && !errors.Is(err, ErrNamespaceNotAllowed):
					t.Errorf("%s %s %s: ssh-keygen finds %q, we fail: %v", kn, ns, ts, out, err)
				case code == 0 && err == nil:
					for _, p := range strings.Split(strings.TrimSpace(out), "\n") {
						if !slices.Contains(ours, p) {
							t.Errorf("%s %s %s: ssh-keygen principal %q not among ours %q", kn, ns, ts, p, ours)
						}
					}
				}
			}
		}
	}
}

func FuzzParseAllowedSigners(f *testing.F) {
	k1 := seededKey(f, "fuzz")
	a1 := authKey(k1)
	for _, s := range []string{
		"alice@x " + a1,
		"alice@x " + a1 + " trailing comment\n# c\n\n",
		`*@lab.example,!mallory@lab.example namespaces="evidence@*,!old" ` + a1,
		`"a b" cert-authority,namespaces="file",valid-after="20260101Z",valid-before="202701011200Z" ` + a1,
		`x valid-after="20260101",valid-before="20260101123456UTC" ` + a1 + "\r\n",
		`x namespaces="a\"b" ` + a1,
		`x namespaces="unterminated ` + a1,
		"x ssh-ed25519 AAAA",
		"x",
		"# only a comment",
		AllowedSignersLine("custodian@lab.example", []string{"evidence@custos.test"}, k1.PublicKey()),
	} {
		f.Add(s)
	}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		as, err := ParseAllowedSigners(strings.NewReader(in))
		if err != nil {
			if as != nil {
				t.Fatal("non-nil result with error")
			}
			if !strings.HasPrefix(err.Error(), "allowed_signers") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		lines := strings.Count(in, "\n") + 1
		for _, e := range as.Entries {
			if e.Key == nil || e.Line < 1 || e.Line > lines {
				t.Fatalf("bad entry %+v", e)
			}
			if !e.ValidAfter.IsZero() && !e.ValidBefore.IsZero() && !e.ValidBefore.After(e.ValidAfter) {
				t.Fatalf("inverted window accepted: %+v", e)
			}
			ps, err := as.Principals(e.Key, "file", at)
			if err == nil && len(ps) == 0 && !slices.ContainsFunc(as.Entries, func(x AllowedSigner) bool { return len(x.Principals) == 0 }) {
				t.Fatal("success without principals")
			}
			for _, p := range e.Principals {
				_ = as.Check(p, e.Key, "file", at)
			}
		}
	})
}
