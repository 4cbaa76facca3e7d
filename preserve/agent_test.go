package preserve

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

type agentTestKey struct {
	name    string
	priv    any // for agent.AddedKey
	pub     ssh.PublicKey
	comment string
}

var (
	agentKeysOnce sync.Once
	agentKeys     []agentTestKey
	agentKeysErr  error
)

// agentTestKeys returns an ed25519, an ECDSA P-256 and an RSA key.
func agentTestKeys(t testing.TB) []agentTestKey {
	t.Helper()
	agentKeysOnce.Do(func() {
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			agentKeysErr = err
			return
		}
		p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			agentKeysErr = err
			return
		}
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			agentKeysErr = err
			return
		}
		for _, k := range []struct {
			name string
			priv any
		}{{"ed25519", ed}, {"ecdsa-p256", p256}, {"rsa-2048", rk}} {
			s, err := ssh.NewSignerFromKey(k.priv)
			if err != nil {
				agentKeysErr = err
				return
			}
			agentKeys = append(agentKeys, agentTestKey{k.name, k.priv, s.PublicKey(), k.name + "@agent.test"})
		}
	})
	if agentKeysErr != nil {
		t.Fatal(agentKeysErr)
	}
	return agentKeys
}

// shortTempDir is a fresh directory with a path short enough for a unix
// socket (t.TempDir of a subtest can exceed the 108-byte limit).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "custos-agent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// serveAgent serves ag on a unix socket until the test ends and returns the
// socket path.
func serveAgent(t *testing.T, ag agent.Agent) string {
	t.Helper()
	sock := filepath.Join(shortTempDir(t), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				agent.ServeAgent(ag, c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return sock
}

// keyringWith returns an in-memory agent holding keys.
func keyringWith(t *testing.T, keys ...agentTestKey) agent.Agent {
	t.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		if err := kr.Add(agent.AddedKey{PrivateKey: k.priv, Comment: k.comment}); err != nil {
			t.Fatal(err)
		}
	}
	return kr
}

func openAgentSigner(t *testing.T, sock string, sel KeySelector) *AgentSigner {
	t.Helper()
	s, err := OpenAgentSigner(sock, sel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Each key type signs through the agent; the signatures verify, carry the
// agent's key, and RSA ones use rsa-sha2-512.
func TestAgentSignerSignsEachKeyType(t *testing.T) {
	keys := agentTestKeys(t)
	sock := serveAgent(t, keyringWith(t, keys...))
	msg := []byte("tagmanifest bytes\n")
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			s := openAgentSigner(t, sock, KeySelector{PublicKey: k.pub})
			if !bytes.Equal(s.PublicKey().Marshal(), k.pub.Marshal()) || s.Key().Comment != k.comment {
				t.Fatalf("selected %s, want %s", s.Key(), Fingerprint(k.pub))
			}
			armored, err := Sign(s, NamespaceEvidence, bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			sig := mustParse(t, armored)
			if err := sig.Verify(NamespaceEvidence, bytes.NewReader(msg)); err != nil {
				t.Fatal(err)
			}
			if err := sig.Verify(NamespaceEvidence, bytes.NewReader(append(msg, 'x'))); err == nil {
				t.Error("signature verifies a changed message")
			}
			if !bytes.Equal(sig.PublicKey.Marshal(), k.pub.Marshal()) {
				t.Error("signature carries another key")
			}
			want := k.pub.Type()
			if want == ssh.KeyAlgoRSA {
				want = ssh.KeyAlgoRSASHA512
			}
			if sig.Signature.Format != want {
				t.Errorf("signature algorithm %s, want %s", sig.Signature.Format, want)
			}
			anchors, err := ParseAllowedSigners(strings.NewReader(AllowedSignersLine("agent@custos.test", []string{NamespaceEvidence}, k.pub) + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if err := anchors.Check("agent@custos.test", sig.PublicKey, NamespaceEvidence, time.Now()); err != nil {
				t.Error(err)
			}
			// A precomputed sha256 digest signs too.
			armored, err = SignDigest(s, NamespaceCustody, HashSHA256, digestOf(t, HashSHA256, msg))
			if err != nil {
				t.Fatal(err)
			}
			if err := mustParse(t, armored).Verify(NamespaceCustody, bytes.NewReader(msg)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestAgentSignerAlgorithms(t *testing.T) {
	keys := agentTestKeys(t)
	sock := serveAgent(t, keyringWith(t, keys...))
	data := []byte("data")
	for _, k := range keys {
		s := openAgentSigner(t, sock, KeySelector{PublicKey: k.pub})
		if k.pub.Type() != ssh.KeyAlgoRSA {
			if got := s.Algorithms(); len(got) != 1 || got[0] != k.pub.Type() {
				t.Errorf("%s: Algorithms() = %v", k.name, got)
			}
			if _, err := s.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512); err == nil {
				t.Errorf("%s: made an rsa-sha2-512 signature", k.name)
			}
			continue
		}
		if got := s.Algorithms(); len(got) != 2 || got[0] != ssh.KeyAlgoRSASHA512 || got[1] != ssh.KeyAlgoRSASHA256 {
			t.Errorf("Algorithms() = %v", got)
		}
		for alg, want := range map[string]string{"": ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA512: ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256: ssh.KeyAlgoRSASHA256} {
			sig, err := s.SignWithAlgorithm(rand.Reader, data, alg)
			if err != nil {
				t.Fatalf("SignWithAlgorithm(%q): %v", alg, err)
			}
			if sig.Format != want {
				t.Errorf("SignWithAlgorithm(%q) made %s, want %s", alg, sig.Format, want)
			}
			if err := k.pub.Verify(data, sig); err != nil {
				t.Errorf("SignWithAlgorithm(%q): %v", alg, err)
			}
		}
		sig, err := s.Sign(rand.Reader, data)
		if err != nil || sig.Format != ssh.KeyAlgoRSASHA512 {
			t.Errorf("Sign: %v, %v", sig, err)
		}
		if _, err := s.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSA); err == nil || !strings.Contains(err.Error(), "SHA-1") {
			t.Errorf("ssh-rsa (SHA-1) signature: %v", err)
		}
	}
}

func TestAgentSignerSelection(t *testing.T) {
	keys := agentTestKeys(t)
	ed, ec, rk := keys[0], keys[1], keys[2]
	all := serveAgent(t, keyringWith(t, keys...))
	one := serveAgent(t, keyringWith(t, ec))
	empty := serveAgent(t, agent.NewKeyring())

	// A certificate in the agent is never picked by default: SSHSIG does
	// not sign with certificates.
	certKR := keyringWith(t, ed)
	cert := &ssh.Certificate{Key: rk.pub, CertType: ssh.UserCert, KeyId: "rsa-cert", ValidPrincipals: []string{"x"}, ValidBefore: ssh.CertTimeInfinity}
	caSigner, err := ssh.NewSignerFromKey(ec.priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.SignCert(rand.Reader, caSigner); err != nil {
		t.Fatal(err)
	}
	if err := certKR.Add(agent.AddedKey{PrivateKey: rk.priv, Certificate: cert, Comment: "with cert"}); err != nil {
		t.Fatal(err)
	}
	withCert := serveAgent(t, certKR)

	for _, tc := range []struct {
		name    string
		sock    string
		sel     KeySelector
		want    ssh.PublicKey
		wantErr error    // errors.Is target, when set
		errHas  []string // substrings of the error
	}{
		{name: "only key", sock: one, want: ec.pub},
		{name: "by public key", sock: all, sel: KeySelector{PublicKey: rk.pub}, want: rk.pub},
		{name: "by fingerprint", sock: all, sel: KeySelector{Fingerprint: Fingerprint(ed.pub)}, want: ed.pub},
		{name: "by both", sock: all, sel: KeySelector{PublicKey: ec.pub, Fingerprint: Fingerprint(ec.pub)}, want: ec.pub},
		{name: "only plain key beside a certificate", sock: withCert, want: ed.pub},
		{name: "ambiguous", sock: all, wantErr: ErrAgentKeyAmbiguous,
			errHas: []string{Fingerprint(ed.pub), Fingerprint(ec.pub), Fingerprint(rk.pub), ed.comment, ec.comment, rk.comment}},
		{name: "unknown public key", sock: one, sel: KeySelector{PublicKey: ed.pub}, wantErr: ErrNoAgentKey,
			errHas: []string{Fingerprint(ed.pub) + " is not among the agent's keys", Fingerprint(ec.pub) + " " + ec.comment}},
		{name: "unknown fingerprint", sock: all, sel: KeySelector{Fingerprint: "SHA256:" + strings.Repeat("A", 43)}, wantErr: ErrNoAgentKey},
		{name: "fingerprint and key disagree", sock: all, sel: KeySelector{PublicKey: ec.pub, Fingerprint: Fingerprint(ed.pub)}, wantErr: ErrNoAgentKey},
		{name: "empty agent", sock: empty, wantErr: ErrNoAgentKey, errHas: []string{"the agent holds no keys", "ssh-add"}},
		{name: "empty agent with selector", sock: empty, sel: KeySelector{PublicKey: ed.pub}, wantErr: ErrNoAgentKey, errHas: []string{"the agent holds no keys"}},
		{name: "certificate selected", sock: withCert, sel: KeySelector{PublicKey: cert}, errHas: []string{"certificate keys are not supported"}},
		{name: "md5 fingerprint", sock: all, sel: KeySelector{Fingerprint: "MD5:" + ssh.FingerprintLegacyMD5(ed.pub)}, errHas: []string{"MD5"}},
		{name: "malformed fingerprint", sock: all, sel: KeySelector{Fingerprint: "SHA256:abc"}, errHas: []string{"43 base64"}},
		{name: "no socket", sock: filepath.Join(shortTempDir(t), "missing.sock"), errHas: []string{"is ssh-agent running"}},
		{name: "empty socket path", sock: "", errHas: []string{"no socket path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenAgentSigner(tc.sock, tc.sel)
			if tc.want != nil {
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if !bytes.Equal(s.PublicKey().Marshal(), tc.want.Marshal()) {
					t.Fatalf("selected %s, want %s", s.Key(), Fingerprint(tc.want))
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("selected %s, want an error", s.Key())
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q is not %q", err, tc.wantErr)
			}
			for _, sub := range tc.errHas {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not mention %q", err, sub)
				}
			}
		})
	}
}

// refusingAgent lists its keys but refuses to sign, as ssh-agent does when
// a key added with 'ssh-add -c' is not confirmed.
type refusingAgent struct{ agent.Agent }

func (refusingAgent) Sign(ssh.PublicKey, []byte) (*ssh.Signature, error) {
	return nil, errors.New("confirmation denied")
}

// legacyAgent implements only agent.Agent, so the server ignores the
// rsa-sha2-512 flag and makes SHA-1 ssh-rsa signatures, like agents that
// predate RFC 8332.
type legacyAgent struct{ agent.Agent }

func TestAgentSignerRefusals(t *testing.T) {
	keys := agentTestKeys(t)
	ed, rk := keys[0], keys[2]
	msg := []byte("m")

	t.Run("refused", func(t *testing.T) {
		s := openAgentSigner(t, serveAgent(t, refusingAgent{keyringWith(t, ed)}), KeySelector{})
		_, err := Sign(s, NamespaceArchive, bytes.NewReader(msg))
		if err == nil || !strings.Contains(err.Error(), "ssh-agent refused to sign with "+Fingerprint(ed.pub)) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("key removed", func(t *testing.T) {
		kr := keyringWith(t, ed)
		s := openAgentSigner(t, serveAgent(t, kr), KeySelector{})
		if err := kr.RemoveAll(); err != nil {
			t.Fatal(err)
		}
		_, err := Sign(s, NamespaceArchive, bytes.NewReader(msg))
		if err == nil || !strings.Contains(err.Error(), "no longer holds") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("agent locked", func(t *testing.T) {
		kr := keyringWith(t, ed)
		s := openAgentSigner(t, serveAgent(t, kr), KeySelector{})
		if err := kr.Lock([]byte("lock")); err != nil {
			t.Fatal(err)
		}
		if _, err := Sign(s, NamespaceArchive, bytes.NewReader(msg)); err == nil {
			t.Error("a locked agent signed")
		}
	})
	t.Run("connection closed", func(t *testing.T) {
		s := openAgentSigner(t, serveAgent(t, keyringWith(t, ed)), KeySelector{})
		s.Close()
		if _, err := Sign(s, NamespaceArchive, bytes.NewReader(msg)); err == nil {
			t.Error("signed over a closed connection")
		}
	})
	t.Run("sha1 rsa agent", func(t *testing.T) {
		s := openAgentSigner(t, serveAgent(t, legacyAgent{keyringWith(t, rk)}), KeySelector{})
		_, err := Sign(s, NamespaceArchive, bytes.NewReader(msg))
		if err == nil || !strings.Contains(err.Error(), `"ssh-rsa" signature, want "rsa-sha2-512"`) {
			t.Errorf("got %v", err)
		}
	})
}

func TestParsePublicKeyFile(t *testing.T) {
	keys := agentTestKeys(t)
	ed, ec := keys[0], keys[1]
	block, err := ssh.MarshalPrivateKey(ed.priv, "plain")
	if err != nil {
		t.Fatal(err)
	}
	plain := pem.EncodeToMemory(block)
	block, err = ssh.MarshalPrivateKeyWithPassphrase(ec.priv, "encrypted", []byte("pass phrase"))
	if err != nil {
		t.Fatal(err)
	}
	encrypted := pem.EncodeToMemory(block)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(ec.priv)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8PEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})

	for _, tc := range []struct {
		name   string
		data   string
		want   ssh.PublicKey
		errHas string
	}{
		{"pub file", AuthorizedKey(ed.pub, "me@example.org") + "\n", ed.pub, ""},
		{"pub file without newline or comment", AuthorizedKey(ec.pub, ""), ec.pub, ""},
		{"authorized_keys line with options", "# mine\n\ncommand=\"x\",no-pty " + AuthorizedKey(ec.pub, "c") + "\n", ec.pub, ""},
		{"private key", string(plain), ed.pub, ""},
		{"encrypted private key, public half", string(encrypted), ec.pub, ""},
		{"pkcs8 private key", string(pkcs8PEM), ec.pub, ""},
		{"two public keys", AuthorizedKey(ed.pub, "") + "\n" + AuthorizedKey(ec.pub, "") + "\n", nil, "more than one public key"},
		{"garbage", "not a key\n", nil, "no public key"},
		{"empty", "", nil, "no public key"},
		{"broken private key", "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", nil, "parsing private key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePublicKeyFile([]byte(tc.data))
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("got %v, %v; want error with %q", got, err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Marshal(), tc.want.Marshal()) {
				t.Errorf("got %s, want %s", Fingerprint(got), Fingerprint(tc.want))
			}
		})
	}
}

// startSSHAgent runs OpenSSH's ssh-agent in the foreground on a fresh
// socket until the test ends. Confirmation requests ('ssh-add -c' keys)
// go to an askpass program that always says no.
func startSSHAgent(t *testing.T) string {
	t.Helper()
	deny, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no 'false' program for SSH_ASKPASS")
	}
	sock := filepath.Join(shortTempDir(t), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"SSH_ASKPASS=" + deny, "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0"}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// ssh-agent -D prints "SSH_AUTH_SOCK=…; export SSH_AUTH_SOCK;" once
	// it listens.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SSH_AUTH_SOCK="+sock+";") {
		t.Fatalf("ssh-agent did not start: %q, %v\n%s", line, err, stderr.String())
	}
	return sock
}

// sshAdd adds key files to the agent at sock.
func sshAdd(t *testing.T, sock string, args ...string) {
	t.Helper()
	cmd := exec.Command("ssh-add", args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "SSH_AUTH_SOCK=" + sock}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Keys in OpenSSH's ssh-agent sign for custos, and ssh-keygen -Y verify
// accepts the signatures; a key whose use is not confirmed is refused.
func TestAgentInteropSSHAgent(t *testing.T) {
	requireTools(t, "ssh-agent", "ssh-add", "ssh-keygen")
	keygen := requireSSHKeygen(t)
	dir := shortTempDir(t)
	sock := startSSHAgent(t)
	const principal = "examiner@custos.test"
	msg := []byte("sealed archive bytes\n")

	for _, kt := range []struct{ name, typ, bits string }{{"ed25519", "ed25519", ""}, {"ecdsa-p256", "ecdsa", "256"}, {"rsa-3072", "rsa", "3072"}} {
		t.Run(kt.name, func(t *testing.T) {
			key := filepath.Join(dir, kt.name)
			args := []string{"-q", "-t", kt.typ, "-N", "", "-C", kt.name + "@custos.test", "-f", key}
			if kt.bits != "" {
				args = append(args, "-b", kt.bits)
			}
			mustRun(t, keygen, nil, args...)
			sshAdd(t, sock, key)
			pubData, err := os.ReadFile(key + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKeyFile(pubData)
			if err != nil {
				t.Fatal(err)
			}
			s := openAgentSigner(t, sock, KeySelector{PublicKey: pub})
			if s.Key().Comment != kt.name+"@custos.test" {
				t.Errorf("comment %q", s.Key().Comment)
			}
			armored, err := Sign(s, NamespaceArchive, bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			if kt.typ == "rsa" {
				if f := mustParse(t, armored).Signature.Format; f != ssh.KeyAlgoRSASHA512 {
					t.Errorf("RSA signature algorithm %s", f)
				}
			}
			sigPath := writeFile(t, dir, kt.name+".sig", armored, 0o644)
			allowed := writeFile(t, dir, kt.name+".allowed", []byte(AllowedSignersLine(principal, []string{NamespaceArchive}, pub)+"\n"), 0o644)
			out, code := runKeygen(t, keygen, msg, "-Y", "verify", "-f", allowed, "-I", principal, "-n", NamespaceArchive, "-s", sigPath)
			if code != 0 || !strings.Contains(out, `Good "`+NamespaceArchive+`" signature for `+principal) {
				t.Fatalf("ssh-keygen -Y verify: exit %d: %s", code, out)
			}
			if out, code := runKeygen(t, keygen, append(bytes.Clone(msg), 'x'), "-Y", "verify", "-f", allowed, "-I", principal, "-n", NamespaceArchive, "-s", sigPath); code == 0 {
				t.Errorf("ssh-keygen accepted a changed message: %s", out)
			}
		})
	}

	t.Run("selection", func(t *testing.T) {
		if _, err := OpenAgentSigner(sock, KeySelector{}); !errors.Is(err, ErrAgentKeyAmbiguous) || !strings.Contains(err.Error(), "rsa-3072@custos.test") {
			t.Errorf("several keys, no selector: %v", err)
		}
		pubData, err := os.ReadFile(filepath.Join(dir, "ed25519.pub"))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePublicKeyFile(pubData)
		if err != nil {
			t.Fatal(err)
		}
		s := openAgentSigner(t, sock, KeySelector{Fingerprint: Fingerprint(pub)})
		if !bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
			t.Errorf("fingerprint selected %s", s.Key())
		}
	})

	t.Run("confirmation denied", func(t *testing.T) {
		key := filepath.Join(dir, "confirm")
		mustRun(t, keygen, nil, "-q", "-t", "ed25519", "-N", "", "-C", "confirm@custos.test", "-f", key)
		sshAdd(t, sock, "-c", key)
		pubData, err := os.ReadFile(key + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePublicKeyFile(pubData)
		if err != nil {
			t.Fatal(err)
		}
		s := openAgentSigner(t, sock, KeySelector{PublicKey: pub})
		_, err = Sign(s, NamespaceCustody, bytes.NewReader(msg))
		if err == nil || !strings.Contains(err.Error(), "ssh-agent refused to sign") {
			t.Errorf("got %v", err)
		}
	})
}
