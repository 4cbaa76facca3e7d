package preserve

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// roundTrip encrypts a message to r and decrypts it with ids.
func roundTrip(t *testing.T, r age.Recipient, ids []age.Identity) error {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "evidence")
	w.Close()
	out, err := age.Decrypt(&buf, ids...)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(out)
	if err == nil && string(got) != "evidence" {
		t.Fatalf("decrypted %q", got)
	}
	return err
}

func TestLoadIdentitiesAge(t *testing.T) {
	a, _ := age.GenerateX25519Identity()
	b, _ := age.GenerateX25519Identity()
	file := "# created: 2026-11-26\n# public key: " + a.Recipient().String() + "\n" + a.String() + "\n\n" + b.String() + "\n"
	ids, err := LoadIdentities([]byte(file), nil)
	if err != nil || len(ids) != 2 {
		t.Fatalf("ids %v, err %v", ids, err)
	}
	for _, r := range []age.Recipient{a.Recipient(), b.Recipient()} {
		if err := roundTrip(t, r, ids); err != nil {
			t.Error(err)
		}
	}
}

func TestLoadIdentitiesSSH(t *testing.T) {
	pemEd, signer, err := GenerateKey("examiner")
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(rsaKey, "rsa")
	if err != nil {
		t.Fatal(err)
	}
	pemRSA := pem.EncodeToMemory(block)
	rsaPub, _ := ssh.NewPublicKey(&rsaKey.PublicKey)
	for name, tc := range map[string]struct {
		pem []byte
		pub ssh.PublicKey
	}{
		"ed25519": {pemEd, signer.PublicKey()},
		"rsa":     {pemRSA, rsaPub},
	} {
		ids, err := LoadIdentities(tc.pem, nil)
		if err != nil || len(ids) != 1 {
			t.Fatalf("%s: %v %v", name, ids, err)
		}
		r, err := agessh.ParseRecipient(string(ssh.MarshalAuthorizedKey(tc.pub)))
		if err != nil {
			t.Fatal(err)
		}
		if err := roundTrip(t, r, ids); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLoadIdentitiesEncryptedSSH(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "examiner", []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(block)
	pub, _ := ssh.NewPublicKey(priv.Public())
	r, _ := agessh.NewEd25519Recipient(pub)

	if _, err := LoadIdentities(data, nil); err == nil || !strings.Contains(err.Error(), PassphraseEnv) {
		t.Errorf("no passphrase: %v", err)
	}
	asked := 0
	pass := func(p string) func() ([]byte, error) {
		return func() ([]byte, error) {
			asked++
			return []byte(p), nil
		}
	}
	ids, err := LoadIdentities(data, pass("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	// The passphrase is asked for only when the key is needed.
	other, _ := age.GenerateX25519Identity()
	if err := roundTrip(t, other.Recipient(), ids); err == nil || asked != 0 {
		t.Errorf("another recipient: err %v, passphrase asked %d times", err, asked)
	}
	if err := roundTrip(t, r, ids); err != nil || asked != 1 {
		t.Errorf("right key: err %v, passphrase asked %d times", err, asked)
	}
	// A wrong passphrase is a KeyError, not a damaged file.
	ids, _ = LoadIdentities(data, pass("wrong"))
	var ke *KeyError
	if err := roundTrip(t, r, ids); !errors.As(err, &ke) {
		t.Errorf("wrong passphrase: %v", err)
	}
	ids, _ = LoadIdentities(data, func() ([]byte, error) { return nil, errors.New("no terminal") })
	if err := roundTrip(t, r, ids); !errors.As(err, &ke) || !strings.Contains(err.Error(), "no terminal") {
		t.Errorf("passphrase error: %v", err)
	}
}

func TestLoadIdentitiesRefuses(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	block, _ := ssh.MarshalPrivateKey(ec, "")
	for name, tc := range map[string]struct{ data, want string }{
		"empty":          {"  \n", "identity file is empty"},
		"garbage":        {"hello\n", "reading age identities: error at line 1: "},
		"public key":     {"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n", "reading age identities: error at line 1: "},
		"ecdsa key":      {string(pem.EncodeToMemory(block)), "reading SSH private key: unsupported SSH identity type: *ecdsa.PrivateKey (age decrypts with ed25519 and RSA keys only)"},
		"encrypted file": {"age-encryption.org/v1\n-> scrypt x 18\n", "passphrase-protected age identity files are not supported"},
		"broken PEM":     {"-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n-----END OPENSSH PRIVATE KEY-----\n", "reading SSH private key: "},
	} {
		_, err := LoadIdentities([]byte(tc.data), nil)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q…", name, err, tc.want)
		}
	}
}
