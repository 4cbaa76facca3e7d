package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/preserve"
)

// writeKeyFiles writes one ed25519 key three ways: plain, encrypted with
// pass, and as a .pub file.
func writeKeyFiles(t *testing.T, pass string) (plain, encrypted, pub string, key ssh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	block, err := ssh.MarshalPrivateKey(priv, "plain")
	if err != nil {
		t.Fatal(err)
	}
	plain = write("plain", pem.EncodeToMemory(block))
	block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "enc", []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	encrypted = write("enc", pem.EncodeToMemory(block))
	key, err = ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pub = write("enc.pub", []byte(preserve.AuthorizedKey(key, "enc")+"\n"))
	return plain, encrypted, pub, key
}

func TestKeySourceFiles(t *testing.T) {
	const pass = "correct horse"
	plain, enc, pub, key := writeKeyFiles(t, pass)
	dir := t.TempDir()
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte(pass+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// prompt answers like a terminal would and records what it handed out,
	// so the test can check that custos zeroes it.
	type prompter struct {
		asked  []string
		handed [][]byte
	}
	promptWith := func(p *prompter, answer string) func(string) ([]byte, error) {
		return func(prompt string) ([]byte, error) {
			p.asked = append(p.asked, prompt)
			b := []byte(answer)
			p.handed = append(p.handed, b)
			return b, nil
		}
	}

	for _, tc := range []struct {
		name       string
		ks         keySource
		answer     string // prompt answer; "" means no terminal
		wantPrompt bool
		errHas     string
		usage      bool
	}{
		{name: "plain key", ks: keySource{keyFile: plain}},
		{name: "plain key never asks", ks: keySource{keyFile: plain}, answer: "unused"},
		{name: "passphrase file", ks: keySource{keyFile: enc, passphraseFile: passFile}},
		{name: "passphrase file wins over the terminal", ks: keySource{keyFile: enc, passphraseFile: passFile}, answer: "wrong"},
		{name: "terminal prompt", ks: keySource{keyFile: enc}, answer: pass, wantPrompt: true},
		{name: "terminal prompt, wrong passphrase", ks: keySource{keyFile: enc}, answer: "nope", wantPrompt: true, errHas: "wrong passphrase"},
		{name: "wrong passphrase file", ks: keySource{keyFile: enc, passphraseFile: wrongFile}, errHas: "wrong passphrase"},
		{name: "missing passphrase file", ks: keySource{keyFile: enc, passphraseFile: filepath.Join(dir, "missing")}, errHas: preserve.PassphraseEnv + ": open "},
		{name: "no terminal, no passphrase file", ks: keySource{keyFile: enc}, errHas: "stdin is not a terminal to ask on: set " + preserve.PassphraseEnv},
		{name: "missing key file", ks: keySource{keyFile: filepath.Join(dir, "nokey")}, errHas: "reading signing key"},
		{name: "public key is not a signing key", ks: keySource{keyFile: pub}, errHas: "no PEM private key"},
		{name: "no key source", ks: keySource{passphraseFile: passFile}, usage: true, errHas: "--key FILE or --agent is required"},
		{name: "agent without SSH_AUTH_SOCK", ks: keySource{useAgent: true, keyFile: pub}, errHas: "SSH_AUTH_SOCK is not set"},
		{name: "agent not running", ks: keySource{useAgent: true, agentSocket: filepath.Join(dir, "no.sock")}, errHas: "is ssh-agent running"},
		{name: "agent selector unreadable", ks: keySource{useAgent: true, agentSocket: filepath.Join(dir, "no.sock"), keyFile: filepath.Join(dir, "nokey")}, errHas: "reading the key that selects the agent key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p prompter
			if tc.answer != "" {
				tc.ks.prompt = promptWith(&p, tc.answer)
			}
			s, release, err := tc.ks.open()
			if release == nil {
				t.Fatal("nil release function")
			}
			defer release()
			if got := len(p.asked) > 0; got != tc.wantPrompt {
				t.Errorf("prompted %v, want %v", p.asked, tc.wantPrompt)
			}
			if tc.wantPrompt && (len(p.asked) != 1 || p.asked[0] != "Enter passphrase for key '"+enc+"': ") {
				t.Errorf("prompts %q", p.asked)
			}
			for _, b := range p.handed {
				if !bytes.Equal(b, make([]byte, len(b))) {
					t.Errorf("passphrase from the terminal not zeroed after use: %q", b)
				}
			}
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("got %v, want an error with %q", err, tc.errHas)
				}
				var ue usageError
				if errors.As(err, &ue) != tc.usage {
					t.Errorf("usage error: %v, want %v", !tc.usage, tc.usage)
				}
				if strings.Contains(err.Error(), pass) {
					t.Errorf("error reveals the passphrase: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(s.PublicKey().Marshal(), key.Marshal()) {
				t.Fatal("loaded another key")
			}
			// The signer still works after the key file's bytes and the
			// passphrase were zeroed.
			armored, err := preserve.Sign(s, preserve.NamespaceCustody, strings.NewReader("entry"))
			if err != nil {
				t.Fatal(err)
			}
			sig, err := preserve.ParseSignature(armored)
			if err != nil {
				t.Fatal(err)
			}
			if err := sig.Verify(preserve.NamespaceCustody, strings.NewReader("entry")); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestReadPassphraseFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
		errHas              string
	}{
		{name: "newline", content: "secret\n", want: "secret"},
		{name: "crlf", content: "secret\r\n", want: "secret"},
		{name: "no newline", content: "secret", want: "secret"},
		{name: "inner blanks kept", content: " two words \n\n", want: " two words "},
		{name: "empty", content: "", want: ""},
		{name: "exactly the limit", content: strings.Repeat("x", maxPassphrase), want: strings.Repeat("x", maxPassphrase)},
		{name: "too long", content: strings.Repeat("x", maxPassphrase+1), errHas: "not a passphrase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readPassphraseFile(p)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("got %d bytes, %v; want an error with %q", len(got), err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := readPassphraseFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("read a missing file")
	}
}

// A passphrase file can be a pipe, as with bash's <(pass show key).
func TestReadPassphraseFilePipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.Write([]byte("from a pipe\n"))
		w.Close()
	}()
	got, err := readPassphraseFile("/dev/fd/" + strconv.Itoa(int(r.Fd())))
	if err != nil {
		t.Skipf("no /dev/fd: %v", err)
	}
	if string(got) != "from a pipe" {
		t.Errorf("got %q", got)
	}
}

func TestTerminalPromptNeedsATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stdin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stderr bytes.Buffer
	if terminalPrompt(f, &stderr) != nil {
		t.Error("a regular file counts as a terminal")
	}
	if terminalPrompt(strings.NewReader("secret\n"), &stderr) != nil {
		t.Error("a reader counts as a terminal")
	}
	if stderr.Len() != 0 {
		t.Errorf("wrote %q", stderr.String())
	}
}
