package preserve

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestGenerateKey(t *testing.T) {
	privPEM, signer, err := GenerateKey("custodian@lab.example")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(privPEM, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n")) || !bytes.HasSuffix(privPEM, []byte("-----END OPENSSH PRIVATE KEY-----\n")) {
		t.Fatalf("unexpected PEM:\n%s", privPEM)
	}
	if signer.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Errorf("key type %s", signer.PublicKey().Type())
	}
	block, _ := pem.Decode(privPEM)
	if block == nil || !bytes.Contains(block.Bytes, []byte("custodian@lab.example")) || !bytes.Contains(block.Bytes, []byte("none")) {
		t.Error("comment missing or key encrypted")
	}
	loaded, err := LoadSigner(privPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loaded.PublicKey().Marshal(), signer.PublicKey().Marshal()) {
		t.Error("reloaded key differs")
	}
	_, other, err := GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.PublicKey().Marshal(), signer.PublicKey().Marshal()) {
		t.Error("two generated keys are equal")
	}
	// The loaded signer produces signatures the original key verifies.
	armored, err := Sign(loaded, "file", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	sig := mustParse(t, armored)
	if !bytes.Equal(sig.PublicKey.Marshal(), signer.PublicKey().Marshal()) {
		t.Error("signature carries the wrong key")
	}
	if err := sig.Verify("file", strings.NewReader("x")); err != nil {
		t.Error(err)
	}
}

func TestGenerateKeyWithSSHKeygen(t *testing.T) {
	keygen := requireSSHKeygen(t)
	privPEM, signer, err := GenerateKey("custodian@lab.example")
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, t.TempDir(), "id", privPEM, 0o600)
	out := string(mustRun(t, keygen, nil, "-l", "-f", p))
	if !strings.Contains(out, Fingerprint(signer.PublicKey())) || !strings.Contains(out, "custodian@lab.example") || !strings.Contains(out, "(ED25519)") {
		t.Errorf("ssh-keygen -l: %s", out)
	}
	// ssh-keygen -y derives the public key (with comment) from our file.
	pub := strings.TrimSpace(string(mustRun(t, keygen, nil, "-y", "-f", p)))
	if want := AuthorizedKey(signer.PublicKey(), "custodian@lab.example"); pub != want {
		t.Errorf("ssh-keygen -y = %q, AuthorizedKey = %q", pub, want)
	}
}

func TestLoadSignerFormats(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		pem []byte
		pub any
	}{
		"PKCS#8 ECDSA": {pkcs8(ecKey), &ecKey.PublicKey},
		"PKCS#8 RSA":   {pkcs8(rsaKey), &rsaKey.PublicKey},
		"PKCS#1 RSA":   {pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), &rsaKey.PublicKey},
		"SEC 1 ECDSA":  {pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), &ecKey.PublicKey},
	}
	for name, c := range cases {
		s, err := LoadSigner(c.pem, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want, _ := ssh.NewPublicKey(c.pub)
		if !bytes.Equal(s.PublicKey().Marshal(), want.Marshal()) {
			t.Errorf("%s: wrong public key", name)
		}
		if _, err := Sign(s, "file", strings.NewReader("x")); err != nil {
			t.Errorf("%s: Sign: %v", name, err)
		}
	}

	for name, in := range map[string][]byte{
		"empty":           nil,
		"garbage":         []byte("not a key"),
		"public key":      []byte(AuthorizedKey(testKeys(t)[0].signer.PublicKey(), "")),
		"certificate PEM": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}),
		"broken OpenSSH":  pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("openssh-key-v1\x00junk")}),
		"encrypted PKCS8": pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}),
	} {
		_, err := LoadSigner(in, nil)
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "sshsig: ") {
			t.Errorf("%s: error %q lacks prefix", name, err)
		}
	}
}

func TestLoadSignerPassphrase(t *testing.T) {
	privPEM, signer, err := GenerateKey("x")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ssh.ParseRawPrivateKey(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(plain, "enc", []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	enc := pem.EncodeToMemory(block)
	checkEncryptedKey(t, enc, "correct horse", signer.PublicKey())
}

// checkEncryptedKey exercises LoadSigner on a passphrase-protected key.
func checkEncryptedKey(t *testing.T, enc []byte, pass string, want ssh.PublicKey) {
	t.Helper()
	_, err := LoadSigner(enc, nil)
	if err == nil {
		t.Fatal("encrypted key loaded without a passphrase")
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "encrypted") || !strings.Contains(err.Error(), "CUSTOS_KEY_PASSPHRASE_FILE") {
		t.Errorf("no-passphrase error not helpful: %v", err)
	}
	if _, err := LoadSigner(enc, func() ([]byte, error) { return []byte("wrong"), nil }); err == nil {
		t.Error("wrong passphrase accepted")
	} else if !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("wrong passphrase error: %v", err)
	}
	boom := errors.New("no tty")
	if _, err := LoadSigner(enc, func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("callback error not propagated: %v", err)
	}
	calls := 0
	s, err := LoadSigner(enc, func() ([]byte, error) { calls++; return []byte(pass), nil })
	if err != nil {
		t.Fatalf("correct passphrase: %v", err)
	}
	if calls != 1 {
		t.Errorf("passphrase callback called %d times", calls)
	}
	if !bytes.Equal(s.PublicKey().Marshal(), want.Marshal()) {
		t.Error("decrypted key differs")
	}
	armored, err := Sign(s, "file", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := mustParse(t, armored).Verify("file", strings.NewReader("x")); err != nil {
		t.Error(err)
	}
}

func TestLoadSignerUnencryptedNeverAsksPassphrase(t *testing.T) {
	privPEM, _, err := GenerateKey("x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigner(privPEM, func() ([]byte, error) { t.Error("passphrase requested"); return nil, nil }); err != nil {
		t.Fatal(err)
	}
}

func TestLoadSignerSSHKeygenEncrypted(t *testing.T) {
	keygen := requireSSHKeygen(t)
	dir := t.TempDir()
	for _, k := range []struct {
		name string
		args []string
	}{
		{"ed25519", []string{"-t", "ed25519"}},
		{"ecdsa", []string{"-t", "ecdsa", "-b", "384"}},
		{"rsa", []string{"-t", "rsa", "-b", "3072"}},
		{"rsa-legacy-pem", []string{"-t", "rsa", "-b", "2048", "-m", "PEM"}},
	} {
		t.Run(k.name, func(t *testing.T) {
			p := filepath.Join(dir, k.name)
			mustRun(t, keygen, nil, append([]string{"-q", "-N", "s3cret pass", "-C", k.name, "-f", p}, k.args...)...)
			enc, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			pubLine, err := os.ReadFile(p + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			pub, _, _, _, err := ssh.ParseAuthorizedKey(pubLine)
			if err != nil {
				t.Fatal(err)
			}
			checkEncryptedKey(t, enc, "s3cret pass", pub)
		})
	}
}

func TestAuthorizedKey(t *testing.T) {
	pub := seededKey(t, "k1").PublicKey()
	base := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	for comment, want := range map[string]string{
		"":                      base,
		"alice@lab":             base + " alice@lab",
		"two words":             base + " two words",
		"line\nbreak\r\n":       base + " line break",
		"  padded  ":            base + " padded",
		"\n":                    base,
		"custodian@lab.example": base + " custodian@lab.example",
	} {
		if got := AuthorizedKey(pub, comment); got != want {
			t.Errorf("AuthorizedKey(%q) = %q, want %q", comment, got, want)
		}
	}
	got := AuthorizedKey(pub, "c")
	if !strings.HasPrefix(got, "ssh-ed25519 AAAA") || strings.HasSuffix(got, "\n") {
		t.Errorf("AuthorizedKey = %q", got)
	}
	back, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(got))
	if err != nil || comment != "c" || !bytes.Equal(back.Marshal(), pub.Marshal()) {
		t.Errorf("round trip: %v %q %v", back, comment, err)
	}
}

func TestAllowedSignersLine(t *testing.T) {
	k := seededKey(t, "k1")
	pub := k.PublicKey()
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	cases := []struct {
		principal string
		ns        []string
		want      string
		wantP     []string
		wantNS    []string
	}{
		{"alice@lab", nil, "alice@lab " + key, []string{"alice@lab"}, nil},
		{"alice@lab", []string{}, "alice@lab " + key, []string{"alice@lab"}, nil},
		{"alice@lab", []string{"evidence@custos"}, `alice@lab namespaces="evidence@custos" ` + key, []string{"alice@lab"}, []string{"evidence@custos"}},
		{"alice@lab", []string{"ns1", "ns2"}, `alice@lab namespaces="ns1,ns2" ` + key, []string{"alice@lab"}, []string{"ns1", "ns2"}},
		{"*@lab,!bob@lab", []string{"a"}, `*@lab,!bob@lab namespaces="a" ` + key, []string{"*@lab", "!bob@lab"}, []string{"a"}},
		{"alice smith@lab", nil, `"alice smith@lab" ` + key, []string{"alice smith@lab"}, nil},
		{"", nil, `"" ` + key, nil, nil},
		{`q"uote`, []string{`we"ird`}, `quote namespaces="we\"ird" ` + key, []string{"quote"}, []string{`we"ird`}},
		{"new\nline", []string{"a b"}, `"new line" namespaces="a b" ` + key, []string{"new line"}, []string{"a b"}},
	}
	for _, c := range cases {
		got := AllowedSignersLine(c.principal, c.ns, pub)
		if got != c.want {
			t.Errorf("AllowedSignersLine(%q, %q) =\n %q\nwant\n %q", c.principal, c.ns, got, c.want)
			continue
		}
		as, err := ParseAllowedSigners(strings.NewReader(got))
		if err != nil {
			t.Errorf("our own line does not parse: %v\n%s", err, got)
			continue
		}
		e := as.Entries[0]
		if strings.Join(e.Principals, "|") != strings.Join(c.wantP, "|") || strings.Join(e.Namespaces, "|") != strings.Join(c.wantNS, "|") ||
			(e.Namespaces == nil) != (c.wantNS == nil) || !bytes.Equal(e.Key.Marshal(), pub.Marshal()) {
			t.Errorf("%q parsed back as %+v", got, e)
		}
		if len(c.wantNS) > 0 {
			if _, err := as.Principals(pub, c.wantNS[0], time.Now()); err != nil && len(c.wantP) > 0 {
				t.Errorf("%q: %v", got, err)
			}
		}
	}
}

func TestFingerprint(t *testing.T) {
	pub := seededKey(t, "k1").PublicKey()
	if got := Fingerprint(pub); got != ssh.FingerprintSHA256(pub) || !strings.HasPrefix(got, "SHA256:") {
		t.Errorf("Fingerprint = %q", got)
	}
	s := mustParse(t, []byte(goldenEd25519))
	if keygen, err := exec.LookPath("ssh-keygen"); err == nil {
		p := writeFile(t, t.TempDir(), "k.pub", []byte(AuthorizedKey(s.PublicKey, "g")+"\n"), 0o644)
		out := string(mustRun(t, keygen, nil, "-l", "-f", p))
		if !strings.Contains(out, Fingerprint(s.PublicKey)) {
			t.Errorf("ssh-keygen -l = %q, ours %q", out, Fingerprint(s.PublicKey))
		}
	}
}
