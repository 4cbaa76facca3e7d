package preserve

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// PassphraseEnv names the environment variable pointing at a file that holds
// the signing key's passphrase. It appears in LoadSigner's error for
// encrypted keys; reading it is up to the caller.
const PassphraseEnv = "CUSTOS_KEY_PASSPHRASE_FILE"

// GenerateKey makes a new ed25519 key and returns it as an unencrypted
// OpenSSH private key PEM ("-----BEGIN OPENSSH PRIVATE KEY-----") carrying
// comment, together with a signer for it.
func GenerateKey(comment string) (privatePEM []byte, signer ssh.Signer, err error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("sshsig: generating ed25519 key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, fmt.Errorf("sshsig: encoding private key: %w", err)
	}
	signer, err = ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("sshsig: creating signer: %w", err)
	}
	return pem.EncodeToMemory(block), signer, nil
}

// LoadSigner parses a private key file's bytes: OpenSSH format, or PEM
// (PKCS#1, PKCS#8, SEC 1). For a passphrase-protected key it calls
// passphrase; if passphrase is nil it fails with an error saying the key is
// encrypted and how to supply the passphrase. The passphrase is used as
// given (callers reading it from a file should strip the trailing newline).
func LoadSigner(pemBytes []byte, passphrase func() ([]byte, error)) (ssh.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("sshsig: no PEM private key found")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("sshsig: encrypted PKCS#8 keys are not supported; convert the key to OpenSSH format with `ssh-keygen -p -f KEYFILE`")
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err == nil {
		return signer, nil
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		return nil, fmt.Errorf("sshsig: parsing private key: %w", err)
	}
	if passphrase == nil {
		return nil, fmt.Errorf("sshsig: private key is encrypted and no passphrase was supplied; set %s to a file containing the passphrase: %w", PassphraseEnv, err)
	}
	pw, err := passphrase()
	if err != nil {
		return nil, fmt.Errorf("sshsig: reading key passphrase: %w", err)
	}
	signer, err = ssh.ParsePrivateKeyWithPassphrase(pemBytes, pw)
	if err != nil {
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("sshsig: wrong passphrase for encrypted private key: %w", err)
		}
		return nil, fmt.Errorf("sshsig: decrypting private key: %w", err)
	}
	return signer, nil
}

// AuthorizedKey returns pub in authorized_keys form, "ssh-ed25519 AAAA...
// comment", without a trailing newline. Line breaks in comment become
// spaces.
func AuthorizedKey(pub ssh.PublicKey, comment string) string {
	s := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n")
	comment = strings.TrimSpace(oneLine(comment))
	if comment != "" {
		s += " " + comment
	}
	return s
}

// AllowedSignersLine returns an allowed_signers entry,
// `principal namespaces="ns1,ns2" ssh-ed25519 AAAA...`, without a trailing
// newline; with no namespaces the option is left out. A principal containing
// blanks is quoted; double quotes and line breaks in principal cannot be
// represented and become spaces/are dropped, as are line breaks in
// namespaces. Namespaces must not contain commas (they would split).
func AllowedSignersLine(principal string, namespaces []string, pub ssh.PublicKey) string {
	var b strings.Builder
	principal = strings.ReplaceAll(oneLine(principal), `"`, "")
	if principal == "" || strings.ContainsAny(principal, " \t") {
		b.WriteString(`"` + principal + `"`)
	} else {
		b.WriteString(principal)
	}
	if len(namespaces) > 0 {
		b.WriteString(` namespaces="`)
		b.WriteString(strings.ReplaceAll(oneLine(strings.Join(namespaces, ",")), `"`, `\"`))
		b.WriteString(`"`)
	}
	b.WriteByte(' ')
	b.WriteString(strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n"))
	return b.String()
}

// Fingerprint returns the SHA256 fingerprint of pub ("SHA256:...").
func Fingerprint(pub ssh.PublicKey) string {
	return ssh.FingerprintSHA256(pub)
}

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\x00", "").Replace(s)
}
