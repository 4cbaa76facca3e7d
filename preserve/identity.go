package preserve

import (
	"bytes"
	"errors"
	"fmt"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// LoadIdentities parses an identity file for decrypting archives: an age
// identity file (AGE-SECRET-KEY-1… lines, # comments), or an OpenSSH
// private key (ed25519 or RSA, as age's SSH recipients need). For a
// passphrase-protected SSH key, passphrase is called the first time the
// key is needed to decrypt; with a nil passphrase such a key is refused
// with an error saying how to supply one. data is not kept: the caller may
// clear it. Identities only decrypt: they prove nothing about who made an
// archive.
func LoadIdentities(data []byte, passphrase func() ([]byte, error)) ([]age.Identity, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, errors.New("identity file is empty")
	case bytes.HasPrefix(trimmed, []byte("age-encryption.org/")), bytes.HasPrefix(trimmed, []byte("-----BEGIN AGE ENCRYPTED FILE-----")):
		return nil, errors.New("passphrase-protected age identity files are not supported; decrypt it with 'age -d' into a file only you can read")
	case bytes.HasPrefix(trimmed, []byte("-----BEGIN")):
		id, err := loadSSHIdentity(data, passphrase)
		if err != nil {
			return nil, err
		}
		return []age.Identity{id}, nil
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading age identities: %w", err)
	}
	return ids, nil
}

func loadSSHIdentity(pemBytes []byte, passphrase func() ([]byte, error)) (age.Identity, error) {
	id, err := agessh.ParseIdentity(pemBytes)
	if err == nil {
		return id, nil
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		return nil, fmt.Errorf("reading SSH private key: %w (age decrypts with ed25519 and RSA keys only)", err)
	}
	if passphrase == nil {
		return nil, fmt.Errorf("SSH private key is encrypted and no passphrase was supplied; set %s to a file containing the passphrase", PassphraseEnv)
	}
	if missing.PublicKey == nil {
		return nil, errors.New("encrypted SSH private key in an old format without its public key; convert it with 'ssh-keygen -p -f KEYFILE'")
	}
	// The key is decrypted when first needed: keep a copy of its bytes, the
	// caller may clear its own.
	enc, err := agessh.NewEncryptedSSHIdentity(missing.PublicKey, bytes.Clone(pemBytes), passphrase)
	if err != nil {
		return nil, fmt.Errorf("reading SSH private key: %w", err)
	}
	return keyIdentity{enc}, nil
}

// keyIdentity marks what goes wrong with an encrypted SSH key (no or wrong
// passphrase) as a KeyError, so that it is not taken for a damaged archive.
type keyIdentity struct{ age.Identity }

func (k keyIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	key, err := k.Identity.Unwrap(stanzas)
	if err != nil && !errors.Is(err, age.ErrIncorrectIdentity) {
		return nil, &KeyError{err}
	}
	return key, err
}

// KeyError is a failure to use an identity's private key, such as a wrong
// passphrase: the user's problem, not the archive's.
type KeyError struct{ Err error }

func (e *KeyError) Error() string { return "unlocking the SSH identity: " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }
