package preserve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// EncryptedSuffix is appended to an archive's name when it is stored
// encrypted: <bag>.tar.zst.age is the age ciphertext of <bag>.tar.zst.
const EncryptedSuffix = ".age"

// Encryption is what Seal needs to encrypt an archive at rest.
type Encryption struct {
	Recipients []age.Recipient
	// Names describe the recipients for the custody log: age public keys
	// as given, SSH keys as their SHA256 fingerprints.
	Names []string
}

// maxRecipientsFile bounds a recipients file.
const maxRecipientsFile = 1 << 20

// ParseRecipients turns --encrypt-to values into an Encryption. A value is
// an age X25519 or hybrid recipient (age1…), an SSH public key line
// (ssh-ed25519 or ssh-rsa), or the name of a file holding such lines (blank
// lines and # comments ignored), as age's -R accepts.
func ParseRecipients(values []string) (*Encryption, error) {
	enc := &Encryption{}
	for _, v := range values {
		v = strings.TrimSpace(v)
		if looksLikeIdentity(v) {
			return nil, errSecretRecipient("--encrypt-to")
		}
		if looksLikeRecipient(v) {
			if err := enc.add(v, "--encrypt-to"); err != nil {
				return nil, err
			}
			continue
		}
		data, err := readCapped(v, maxRecipientsFile)
		if err != nil {
			return nil, fmt.Errorf("--encrypt-to %q is neither an age or SSH public key nor a readable recipients file: %w", v, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64<<10), maxRecipientsFile)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if err := enc.add(line, fmt.Sprintf("%s:%d", v, n)); err != nil {
				return nil, err
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", v, err)
		}
	}
	if len(enc.Recipients) == 0 {
		return nil, errors.New("--encrypt-to names no recipient")
	}
	return enc, nil
}

func looksLikeRecipient(s string) bool {
	return strings.HasPrefix(s, "age1") || strings.HasPrefix(s, "ssh-")
}

// looksLikeIdentity reports whether s is an age secret key or plugin
// identity given where a recipient was expected. Such a value must never
// be echoed in an error message.
func looksLikeIdentity(s string) bool {
	u := strings.ToUpper(s)
	return strings.HasPrefix(u, "AGE-SECRET-KEY-") || strings.HasPrefix(u, "AGE-PLUGIN-")
}

func errSecretRecipient(where string) error {
	return fmt.Errorf("%s: this is an age identity (a secret key), not a recipient: give its public key (age-keygen -y FILE prints it)", where)
}

func (e *Encryption) add(s, where string) error {
	var r age.Recipient
	var err error
	name := s
	switch {
	case looksLikeIdentity(s):
		return errSecretRecipient(where)
	case strings.HasPrefix(s, "age1pq1"):
		r, err = age.ParseHybridRecipient(s)
	case strings.HasPrefix(s, "age1"):
		r, err = age.ParseX25519Recipient(s)
	case strings.HasPrefix(s, "ssh-"):
		r, err = agessh.ParseRecipient(s)
		if err == nil {
			if pub, _, _, _, perr := ssh.ParseAuthorizedKey([]byte(s)); perr == nil {
				name = Fingerprint(pub)
			}
		}
	default:
		err = errors.New("not an age (age1…) or SSH (ssh-ed25519, ssh-rsa) public key")
	}
	if err != nil {
		return fmt.Errorf("%s: recipient %.40q: %w", where, s, err)
	}
	e.Recipients = append(e.Recipients, r)
	e.Names = append(e.Names, name)
	return nil
}

// readCapped reads a small file, refusing one larger than limit.
func readCapped(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return buf.Bytes(), nil
}
