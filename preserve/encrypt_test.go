package preserve

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

func TestSealEncrypted(t *testing.T) {
	c, signer, anchors := newTestCase(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sshPriv, sshSigner, err := GenerateKey("counsel@example.org")
	if err != nil {
		t.Fatal(err)
	}
	sshLine := string(ssh.MarshalAuthorizedKey(sshSigner.PublicKey()))
	enc, err := ParseRecipients([]string{id.Recipient().String(), sshLine})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt, Actor: "alice@example.org", Encrypt: enc})
	if err != nil {
		t.Fatal(err)
	}
	plain := c.ArchivePath(testAcq)
	if res.Archive != plain+EncryptedSuffix {
		t.Errorf("archive %s", res.Archive)
	}
	if _, err := os.Stat(plain); !os.IsNotExist(err) {
		t.Fatalf("plaintext archive on disk: %v", err)
	}
	if sum, _ := FileSHA256(res.Archive); sum != res.CiphertextSHA256 {
		t.Errorf("ciphertext sha256 %s, file %s", res.CiphertextSHA256, sum)
	}
	sshID, err := agessh.ParseIdentity(sshPriv)
	if err != nil {
		t.Fatal(err)
	}
	for _, ident := range []age.Identity{id, sshID} {
		f, _ := os.Open(res.Archive)
		r, err := age.Decrypt(f, ident)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if got := hex.EncodeToString(h.Sum(nil)); got != res.SHA256 {
			t.Errorf("plaintext sha256 %s, sealed %s", got, res.SHA256)
		}
	}
	entries, _, err := c.Custody().Verify(anchors)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[2].Action != ActionEncrypted || entries[2].Archive != filepath.Base(res.Archive) || entries[2].ArchiveSHA256 != res.CiphertextSHA256 {
		t.Fatalf("custody %+v", entries)
	}
	if entries[1].Archive != filepath.Base(plain) || entries[1].ArchiveSHA256 != res.SHA256 {
		t.Errorf("sealed entry %+v", entries[1].Entry)
	}
	if want := "age recipients: " + id.Recipient().String() + ", " + Fingerprint(sshSigner.PublicKey()); entries[2].Note != want {
		t.Errorf("note %q, want %q", entries[2].Note, want)
	}
	if archives, _ := c.Archives(); len(archives) != 1 || archives[0] != res.Archive {
		t.Errorf("archives %v", archives)
	}
}

func TestParseRecipients(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	_, s, _ := GenerateKey("x")
	sshLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.PublicKey())))
	file := filepath.Join(t.TempDir(), "recipients.txt")
	os.WriteFile(file, []byte("# custodians\n\n"+id.Recipient().String()+"\n"+sshLine+" counsel\n"), 0o600)
	enc, err := ParseRecipients([]string{file})
	if err != nil || len(enc.Recipients) != 2 || enc.Names[1] != Fingerprint(s.PublicKey()) {
		t.Fatalf("recipients file: %+v %v", enc, err)
	}
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "--encrypt-to names no recipient"},
		{[]string{"age1notakey"}, `--encrypt-to: recipient "age1notakey": malformed recipient`},
		{[]string{"ssh-dss AAAA"}, `--encrypt-to: recipient "ssh-dss AAAA": `},
		{[]string{filepath.Join(t.TempDir(), "missing")}, "is neither an age or SSH public key nor a readable recipients file"},
	} {
		if _, err := ParseRecipients(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.in, err, tc.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte(id.Recipient().String()+"\nnonsense\n"), 0o600)
	if _, err := ParseRecipients([]string{bad}); err == nil || !strings.Contains(err.Error(), bad+":2: recipient") {
		t.Errorf("bad line: %v", err)
	}
}

// An age identity given where a recipient belongs (on the command line, or
// in a file such as age-keygen's output) is refused without echoing any of
// the secret key.
func TestParseRecipientsNeverEchoesSecretKey(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	secret := id.String()
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	content := "# created: 2026-01-01T00:00:00Z\n# public key: " + id.Recipient().String() + "\n" + secret + "\n"
	if err := os.WriteFile(keyFile, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(secret, "AGE-SECRET-KEY-1")
	for _, v := range []string{secret, strings.ToLower(secret), keyFile} {
		_, err := ParseRecipients([]string{v})
		if err == nil {
			t.Fatalf("%.20s…: accepted as a recipient", v)
		}
		if msg := strings.ToUpper(err.Error()); strings.Contains(msg, body[:8]) {
			t.Errorf("error echoes the secret key: %v", err)
		}
		if !strings.Contains(err.Error(), "age identity (a secret key), not a recipient") {
			t.Errorf("error does not say what is wrong: %v", err)
		}
	}
}
