package preserve

// Signing keys held by ssh-agent (DESIGN §6.2): hardware-backed and other
// keys whose private half never leaves the agent sign over the agent
// protocol (draft-miller-ssh-agent), through the agent's unix socket. The
// caller finds the socket (normally $SSH_AUTH_SOCK); this file never reads
// the environment.

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Errors of OpenAgentSigner that callers may want to turn into advice.
var (
	// ErrNoAgentKey: the agent holds no key that can sign, or none
	// matching the selector.
	ErrNoAgentKey = errors.New("ssh-agent: key not found")
	// ErrAgentKeyAmbiguous: the agent holds several keys that can sign and
	// the selector was empty.
	ErrAgentKeyAmbiguous = errors.New("ssh-agent: several keys and none selected")
)

// AgentKey is a key as an ssh-agent lists it.
type AgentKey struct {
	PublicKey ssh.PublicKey
	Comment   string
}

// String describes the key the way `ssh-add -l` does, minus the bit count:
// fingerprint, comment, key type.
func (k AgentKey) String() string {
	s := Fingerprint(k.PublicKey)
	if c := strings.TrimSpace(oneLine(k.Comment)); c != "" {
		s += " " + c
	}
	return s + " (" + k.PublicKey.Type() + ")"
}

// KeySelector names the agent key to sign with. The zero value selects the
// agent's only usable key. When both fields are set, both must match the
// same key.
type KeySelector struct {
	// PublicKey is the key itself, as in a .pub file (see
	// ParsePublicKeyFile).
	PublicKey ssh.PublicKey
	// Fingerprint is "SHA256:…" as printed by `ssh-keygen -l` and
	// `ssh-add -l`.
	Fingerprint string
}

func (sel KeySelector) isZero() bool { return sel.PublicKey == nil && sel.Fingerprint == "" }

func (sel KeySelector) String() string {
	if sel.PublicKey != nil {
		return Fingerprint(sel.PublicKey)
	}
	return sel.Fingerprint
}

func (sel KeySelector) matches(pub ssh.PublicKey) bool {
	if sel.PublicKey != nil && !bytes.Equal(sel.PublicKey.Marshal(), pub.Marshal()) {
		return false
	}
	return sel.Fingerprint == "" || sel.Fingerprint == Fingerprint(pub)
}

func (sel KeySelector) check() error {
	if sel.Fingerprint == "" {
		return nil
	}
	alg, val, _ := strings.Cut(sel.Fingerprint, ":")
	switch {
	case alg == "MD5":
		return fmt.Errorf("ssh-agent: key fingerprint %q: MD5 fingerprints are not accepted; use the SHA256 one (ssh-add -l)", sel.Fingerprint)
	case alg != "SHA256" || len(val) != 43:
		return fmt.Errorf("ssh-agent: key fingerprint %q: want SHA256: followed by 43 base64 characters, as ssh-add -l prints it", sel.Fingerprint)
	}
	return nil
}

// ParsePublicKeyFile returns the public key in a key file: a .pub file or
// authorized_keys line ("ssh-ed25519 AAAA… comment", options allowed), or
// a private key file. The public half of a passphrase-protected OpenSSH
// private key is read without decrypting it. It is meant for choosing an
// agent key with KeySelector.PublicKey.
func ParsePublicKeyFile(data []byte) (ssh.PublicKey, error) {
	pub, _, _, rest, err := ssh.ParseAuthorizedKey(data)
	if err == nil {
		if next, _, _, _, err := ssh.ParseAuthorizedKey(rest); err == nil && next != nil {
			return nil, errors.New("sshsig: key file holds more than one public key")
		}
		return pub, nil
	}
	if block, _ := pem.Decode(data); block == nil {
		return nil, errors.New("sshsig: no public key (authorized_keys format) or private key found")
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err == nil {
		return signer.PublicKey(), nil
	}
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if missing.PublicKey != nil {
			return missing.PublicKey, nil
		}
		return nil, errors.New("sshsig: the public key of this encrypted private key cannot be read without its passphrase; use its .pub file")
	}
	return nil, fmt.Errorf("sshsig: parsing private key: %w", err)
}

// AgentSigner signs with a key held by an ssh-agent. It keeps its
// connection to the agent until Close. It is an ssh.MultiAlgorithmSigner:
// an RSA key signs with rsa-sha2-512 by default, also with rsa-sha2-256,
// never with SHA-1 ssh-rsa. Safe for concurrent use.
type AgentSigner struct {
	conn  io.Closer
	agent agent.ExtendedAgent
	key   AgentKey
}

var _ ssh.MultiAlgorithmSigner = (*AgentSigner)(nil)

// OpenAgentSigner connects to the ssh-agent listening on the unix socket
// at socket, lists its keys and returns a signer for the one sel selects.
// Certificates and keys SSHSIG signing does not support (security keys,
// unknown types) are never chosen by an empty selector. Errors wrap
// ErrNoAgentKey when nothing matches and ErrAgentKeyAmbiguous when sel is
// empty and several keys qualify; both list the agent's keys.
func OpenAgentSigner(socket string, sel KeySelector) (*AgentSigner, error) {
	if socket == "" {
		return nil, errors.New("ssh-agent: no socket path given")
	}
	if err := sel.check(); err != nil {
		return nil, err
	}
	conn, err := net.Dial("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("ssh-agent: connecting to %s (is ssh-agent running?): %w", socket, err)
	}
	s, err := newAgentSigner(conn, sel)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func newAgentSigner(conn io.ReadWriteCloser, sel KeySelector) (*AgentSigner, error) {
	ag := agent.NewClient(conn)
	listed, err := ag.List()
	if err != nil {
		return nil, fmt.Errorf("ssh-agent: listing keys: %w", err)
	}
	key, err := selectAgentKey(listed, sel)
	if err != nil {
		return nil, err
	}
	return &AgentSigner{conn: conn, agent: ag, key: key}, nil
}

// selectAgentKey picks the key sel names among those the agent listed.
func selectAgentKey(listed []*agent.Key, sel KeySelector) (AgentKey, error) {
	var all, usable []AgentKey
	var skipped []string
	for _, k := range listed {
		pub, err := ssh.ParsePublicKey(k.Blob)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s %q: %v", k.Format, k.Comment, err))
			continue
		}
		ak := AgentKey{PublicKey: pub, Comment: k.Comment}
		all = append(all, ak)
		if err := signableKey(pub); err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", ak, err))
			continue
		}
		usable = append(usable, ak)
	}
	if !sel.isZero() {
		for _, ak := range all {
			if sel.matches(ak.PublicKey) {
				if err := signableKey(ak.PublicKey); err != nil {
					return AgentKey{}, fmt.Errorf("ssh-agent: key %s: %w", ak, err)
				}
				return ak, nil
			}
		}
		if len(all) == 0 {
			return AgentKey{}, fmt.Errorf("%w: %s: the agent holds no keys", ErrNoAgentKey, sel)
		}
		return AgentKey{}, fmt.Errorf("%w: %s is not among the agent's keys:%s", ErrNoAgentKey, sel, keyList(all))
	}
	switch {
	case len(usable) == 1:
		return usable[0], nil
	case len(usable) > 1:
		return AgentKey{}, fmt.Errorf("%w:%s", ErrAgentKeyAmbiguous, keyList(usable))
	case len(listed) == 0:
		return AgentKey{}, fmt.Errorf("%w: the agent holds no keys; add one with ssh-add", ErrNoAgentKey)
	default:
		return AgentKey{}, fmt.Errorf("%w: none of the agent's keys can make SSHSIG signatures:\n  %s", ErrNoAgentKey, strings.Join(skipped, "\n  "))
	}
}

// signableKey accepts the keys SignDigest can use.
func signableKey(pub ssh.PublicKey) error {
	if err := checkPublicKey(pub); err != nil {
		return err
	}
	if isSKKey(pub.Type()) {
		return fmt.Errorf("sshsig: signing with %s keys is not supported", pub.Type())
	}
	return nil
}

func keyList(keys []AgentKey) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("\n  ")
		b.WriteString(k.String())
	}
	return b.String()
}

// Key returns the agent key s signs with.
func (s *AgentSigner) Key() AgentKey { return s.key }

// PublicKey implements ssh.Signer.
func (s *AgentSigner) PublicKey() ssh.PublicKey { return s.key.PublicKey }

// Sign implements ssh.Signer; for RSA keys it asks for rsa-sha2-512.
func (s *AgentSigner) Sign(rand io.Reader, data []byte) (*ssh.Signature, error) {
	return s.SignWithAlgorithm(rand, data, "")
}

// Algorithms implements ssh.MultiAlgorithmSigner.
func (s *AgentSigner) Algorithms() []string {
	if s.key.PublicKey.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{s.key.PublicKey.Type()}
}

// SignWithAlgorithm implements ssh.AlgorithmSigner. The agent makes the
// signature with its own randomness; rand is not used. An empty algorithm
// means the key type's own, and rsa-sha2-512 for RSA (unlike x/crypto's
// signers, which default to ssh-rsa).
func (s *AgentSigner) SignWithAlgorithm(_ io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	want := s.key.PublicKey.Type()
	var flags agent.SignatureFlags
	if want == ssh.KeyAlgoRSA {
		switch algorithm {
		case "", ssh.KeyAlgoRSASHA512:
			want, flags = ssh.KeyAlgoRSASHA512, agent.SignatureFlagRsaSha512
		case ssh.KeyAlgoRSASHA256:
			want, flags = ssh.KeyAlgoRSASHA256, agent.SignatureFlagRsaSha256
		default:
			return nil, fmt.Errorf("ssh-agent: %s: signature algorithm %q not allowed (want %s or %s; SHA-1 signatures are never made)", s.key, algorithm, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		}
	} else if algorithm != "" && algorithm != want {
		return nil, fmt.Errorf("ssh-agent: %s: a %s key cannot make %q signatures", s.key, want, algorithm)
	}
	sig, err := s.agent.SignWithFlags(s.key.PublicKey, data, flags)
	if err != nil {
		return nil, s.signError(err)
	}
	if sig.Format != want {
		return nil, fmt.Errorf("ssh-agent: %s: agent made a %q signature, want %q (the agent may be too old to make SHA-2 RSA signatures)", s.key, sig.Format, want)
	}
	return sig, nil
}

// signError explains a failed signing request. The agent protocol answers
// a refusal with a bare failure, so ask the agent again what it holds: a
// key it still lists was refused (a confirmation was denied, or a
// constraint forbids it); a key it no longer lists was removed or the
// agent locked; a failed listing means the connection broke.
func (s *AgentSigner) signError(err error) error {
	keys, lerr := s.agent.List()
	if lerr != nil {
		return fmt.Errorf("ssh-agent: signing with %s: %w", s.key, err)
	}
	for _, k := range keys {
		if bytes.Equal(k.Blob, s.key.PublicKey.Marshal()) {
			return fmt.Errorf("ssh-agent refused to sign with %s (was a confirmation requested by 'ssh-add -c' denied?): %w", s.key, err)
		}
	}
	return fmt.Errorf("ssh-agent no longer holds %s (key removed or agent locked): %w", s.key, err)
}

// Close closes the connection to the agent.
func (s *AgentSigner) Close() error {
	return s.conn.Close()
}
