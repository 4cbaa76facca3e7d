package preserve

// OpenSSH file signatures (SSHSIG), as written by `ssh-keygen -Y sign` and
// checked by `ssh-keygen -Y verify`. Format: openssh-portable PROTOCOL.sshsig;
// behaviour mirrors sshsig.c, except where noted as stricter.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Hash algorithms allowed in an SSHSIG.
const (
	HashSHA256 = "sha256"
	HashSHA512 = "sha512"
)

const (
	sigMagic      = "SSHSIG"
	sigVersion    = 1
	armorHeader   = "-----BEGIN SSH SIGNATURE-----"
	armorFooter   = "-----END SSH SIGNATURE-----"
	armorWidth    = 70 // OpenSSH wraps at 70 columns (sshbuf_dtob64)
	maxArmoredSig = 64 << 10
	minRSABits    = 1024 // SSH_RSA_MINIMUM_MODULUS_SIZE in OpenSSH
)

// Signature is a parsed SSHSIG.
type Signature struct {
	PublicKey     ssh.PublicKey
	Namespace     string
	HashAlgorithm string
	Signature     *ssh.Signature

	// reserved holds the blob's reserved field as read, so that a parsed
	// signature re-marshals to the same bytes. It is never signed.
	reserved []byte
}

// NewHash returns a fresh hash.Hash for "sha256" or "sha512".
func NewHash(alg string) (hash.Hash, error) {
	switch alg {
	case HashSHA256:
		return sha256.New(), nil
	case HashSHA512:
		return sha512.New(), nil
	default:
		return nil, fmt.Errorf("sshsig: unsupported hash algorithm %q (want %s or %s)", alg, HashSHA256, HashSHA512)
	}
}

// Sign signs the message read from r (hash sha512) in namespace ns and
// returns the armored signature, byte-compatible with `ssh-keygen -Y sign`.
func Sign(signer ssh.Signer, ns string, r io.Reader) ([]byte, error) {
	if err := checkNamespace(ns); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("sshsig: nil message reader")
	}
	h := sha512.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, fmt.Errorf("sshsig: reading message: %w", err)
	}
	return SignDigest(signer, ns, HashSHA512, h.Sum(nil))
}

// SignDigest signs a precomputed digest of the message made with hashAlg
// (sha256 or sha512), so callers can hash while streaming. It returns the
// armored signature.
func SignDigest(signer ssh.Signer, ns, hashAlg string, digest []byte) ([]byte, error) {
	if signer == nil {
		return nil, errors.New("sshsig: nil signer")
	}
	if err := checkNamespace(ns); err != nil {
		return nil, err
	}
	if err := checkDigest(hashAlg, digest); err != nil {
		return nil, err
	}
	pub := signer.PublicKey()
	if pub == nil {
		return nil, errors.New("sshsig: signer has no public key")
	}
	if err := checkPublicKey(pub); err != nil {
		return nil, err
	}
	if isSKKey(pub.Type()) {
		return nil, fmt.Errorf("sshsig: signing with %s keys is not supported", pub.Type())
	}

	data := signedData(ns, hashAlg, digest)
	var sig *ssh.Signature
	var err error
	if pub.Type() == ssh.KeyAlgoRSA {
		as, ok := signer.(ssh.AlgorithmSigner)
		if !ok {
			return nil, errors.New("sshsig: RSA signer cannot choose its signature algorithm (need ssh.AlgorithmSigner for rsa-sha2-512)")
		}
		sig, err = as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = signer.Sign(rand.Reader, data)
	}
	if err != nil {
		return nil, fmt.Errorf("sshsig: signing: %w", err)
	}
	if sig == nil {
		return nil, errors.New("sshsig: signer returned no signature")
	}
	if err := checkSigAlgorithm(pub, sig); err != nil {
		return nil, err
	}
	// Self-check: a broken signer (agent, hardware, wrong key) must not
	// produce an evidence signature nobody can verify.
	if err := pub.Verify(data, sig); err != nil {
		return nil, fmt.Errorf("sshsig: signer produced a signature that does not verify: %w", err)
	}
	s := &Signature{PublicKey: pub, Namespace: ns, HashAlgorithm: hashAlg, Signature: sig}
	return armor(s.marshal()), nil
}

// ParseSignature parses an armored SSHSIG. It is strict: the input must start
// with the header line (LF-terminated, as ssh-keygen requires) and have the
// footer on its own line with nothing but whitespace after it. Only version
// 1, hash sha256/sha512, a non-empty namespace, canonical key encoding and a
// signature algorithm matching the key type (rsa-sha2-256/512 for RSA, never
// ssh-rsa) are accepted. Certificates are not supported.
func ParseSignature(armored []byte) (*Signature, error) {
	blob, err := dearmor(armored)
	if err != nil {
		return nil, err
	}
	return parseBlob(blob)
}

// VerifyDigest checks s against a digest of the message made with
// s.HashAlgorithm. The signature's namespace must equal ns; ns must not be
// empty. VerifyDigest does not decide whether the key is trusted: check
// s.PublicKey against an allowed signers list.
func (s *Signature) VerifyDigest(ns string, digest []byte) error {
	if s == nil || s.PublicKey == nil || s.Signature == nil {
		return errors.New("sshsig: incomplete signature")
	}
	if ns == "" {
		return errors.New("sshsig: verify: expected namespace must not be empty")
	}
	if s.Namespace != ns {
		return fmt.Errorf("sshsig: namespace mismatch: signature is for %q, expected %q", s.Namespace, ns)
	}
	if err := checkNamespace(ns); err != nil {
		return err
	}
	if err := checkDigest(s.HashAlgorithm, digest); err != nil {
		return err
	}
	if err := checkPublicKey(s.PublicKey); err != nil {
		return err
	}
	if err := checkSigAlgorithm(s.PublicKey, s.Signature); err != nil {
		return err
	}
	if err := s.PublicKey.Verify(signedData(ns, s.HashAlgorithm, digest), s.Signature); err != nil {
		return fmt.Errorf("sshsig: bad signature by %s key %s: %w", s.PublicKey.Type(), ssh.FingerprintSHA256(s.PublicKey), err)
	}
	return nil
}

// Verify hashes the message read from r with s.HashAlgorithm and calls
// VerifyDigest.
func (s *Signature) Verify(ns string, r io.Reader) error {
	if s == nil {
		return errors.New("sshsig: incomplete signature")
	}
	if r == nil {
		return errors.New("sshsig: nil message reader")
	}
	h, err := NewHash(s.HashAlgorithm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("sshsig: reading message: %w", err)
	}
	return s.VerifyDigest(ns, h.Sum(nil))
}

// signedData is the byte string the signature covers (PROTOCOL.sshsig):
// "SSHSIG" || string(namespace) || string("") || string(hashalg) || string(H(m)).
func signedData(ns, hashAlg string, digest []byte) []byte {
	b := make([]byte, 0, len(sigMagic)+4*4+len(ns)+len(hashAlg)+len(digest))
	b = append(b, sigMagic...)
	b = appendString(b, []byte(ns))
	b = appendString(b, nil) // reserved
	b = appendString(b, []byte(hashAlg))
	b = appendString(b, digest)
	return b
}

// marshal returns the binary SSHSIG blob.
func (s *Signature) marshal() []byte {
	var b []byte
	b = append(b, sigMagic...)
	b = binary.BigEndian.AppendUint32(b, sigVersion)
	b = appendString(b, s.PublicKey.Marshal())
	b = appendString(b, []byte(s.Namespace))
	b = appendString(b, s.reserved)
	b = appendString(b, []byte(s.HashAlgorithm))
	b = appendString(b, ssh.Marshal(s.Signature))
	return b
}

func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// armor wraps blob the way sshsig_armor does: header line, base64 broken
// every 70 characters, footer line, trailing newline.
func armor(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.Grow(len(enc) + len(enc)/armorWidth + len(armorHeader) + len(armorFooter) + 4)
	b.WriteString(armorHeader)
	b.WriteByte('\n')
	for len(enc) > armorWidth {
		b.WriteString(enc[:armorWidth])
		b.WriteByte('\n')
		enc = enc[armorWidth:]
	}
	b.WriteString(enc)
	b.WriteByte('\n')
	b.WriteString(armorFooter)
	b.WriteByte('\n')
	return b.Bytes()
}

func isArmorSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

func dearmor(in []byte) ([]byte, error) {
	if len(in) > maxArmoredSig {
		return nil, fmt.Errorf("sshsig: signature too large (%d bytes, max %d)", len(in), maxArmoredSig)
	}
	rest, ok := bytes.CutPrefix(in, []byte(armorHeader))
	if !ok {
		return nil, errors.New("sshsig: missing \"" + armorHeader + "\" header at start of signature")
	}
	// Like ssh-keygen, require a bare LF after the header: a CRLF file
	// would pass here but fail `ssh-keygen -Y verify`.
	if bytes.HasPrefix(rest, []byte("\r\n")) {
		return nil, errors.New("sshsig: header line ends in CRLF, which ssh-keygen rejects (convert the file to LF line endings)")
	}
	rest, ok = bytes.CutPrefix(rest, []byte("\n"))
	if !ok {
		return nil, errors.New("sshsig: header line not terminated by a newline")
	}
	body, after, ok := bytes.Cut(rest, []byte(armorFooter))
	if !ok {
		return nil, errors.New("sshsig: missing \"" + armorFooter + "\" footer")
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return nil, errors.New("sshsig: footer must start on its own line")
	}
	for _, c := range after {
		if !isArmorSpace(c) {
			return nil, errors.New("sshsig: unexpected data after footer")
		}
	}
	clean := make([]byte, 0, len(body))
	for _, c := range body {
		if !isArmorSpace(c) {
			clean = append(clean, c)
		}
	}
	if len(clean) == 0 {
		return nil, errors.New("sshsig: empty signature body")
	}
	blob := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Strict().Decode(blob, clean)
	if err != nil {
		return nil, fmt.Errorf("sshsig: decoding base64 body: %w", err)
	}
	return blob[:n], nil
}

// wireReader reads SSH wire-format fields.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) uint32(field string) uint32 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 4 {
		r.err = fmt.Errorf("sshsig: truncated signature (reading %s)", field)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *wireReader) string(field string) []byte {
	n := r.uint32(field)
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < uint64(n) {
		r.err = fmt.Errorf("sshsig: truncated signature (reading %s)", field)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func parseBlob(blob []byte) (*Signature, error) {
	rest, ok := bytes.CutPrefix(blob, []byte(sigMagic))
	if !ok {
		return nil, errors.New("sshsig: missing SSHSIG magic preamble")
	}
	r := &wireReader{b: rest}
	version := r.uint32("version")
	if r.err == nil && version != sigVersion {
		return nil, fmt.Errorf("sshsig: unsupported signature version %d (only %d is supported)", version, sigVersion)
	}
	rawKey := r.string("public key")
	ns := r.string("namespace")
	reserved := r.string("reserved")
	hashAlg := r.string("hash algorithm")
	rawSig := r.string("signature")
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("sshsig: %d bytes of trailing data in signature blob", len(r.b))
	}

	if err := checkNamespace(string(ns)); err != nil {
		return nil, err
	}
	if _, err := NewHash(string(hashAlg)); err != nil {
		return nil, err
	}
	pub, err := ssh.ParsePublicKey(rawKey)
	if err != nil {
		return nil, fmt.Errorf("sshsig: parsing public key: %w", err)
	}
	if err := checkPublicKey(pub); err != nil {
		return nil, err
	}
	if !bytes.Equal(pub.Marshal(), rawKey) {
		return nil, errors.New("sshsig: non-canonical public key encoding")
	}
	sig := new(ssh.Signature)
	if err := ssh.Unmarshal(rawSig, sig); err != nil {
		return nil, fmt.Errorf("sshsig: parsing signature field: %w", err)
	}
	if len(sig.Rest) == 0 {
		sig.Rest = nil
	}
	if err := checkSigAlgorithm(pub, sig); err != nil {
		return nil, err
	}
	if !bytes.Equal(ssh.Marshal(sig), rawSig) {
		return nil, errors.New("sshsig: non-canonical signature field encoding")
	}
	s := &Signature{
		PublicKey:     pub,
		Namespace:     string(ns),
		HashAlgorithm: string(hashAlg),
		Signature:     sig,
	}
	if len(reserved) > 0 {
		// PROTOCOL.sshsig: verifiers ignore a non-empty reserved field.
		s.reserved = bytes.Clone(reserved)
	}
	return s, nil
}

func checkNamespace(ns string) error {
	if ns == "" {
		return errors.New("sshsig: namespace must not be empty")
	}
	if strings.IndexByte(ns, 0) >= 0 {
		return errors.New("sshsig: namespace contains a NUL byte")
	}
	return nil
}

func checkDigest(hashAlg string, digest []byte) error {
	h, err := NewHash(hashAlg)
	if err != nil {
		return err
	}
	if len(digest) != h.Size() {
		return fmt.Errorf("sshsig: %s digest must be %d bytes, got %d", hashAlg, h.Size(), len(digest))
	}
	return nil
}

func isSKKey(keyType string) bool {
	return keyType == ssh.KeyAlgoSKED25519 || keyType == ssh.KeyAlgoSKECDSA256
}

// checkPublicKey accepts the plain key types OpenSSH can make SSHSIGs with.
func checkPublicKey(pub ssh.PublicKey) error {
	if _, ok := pub.(*ssh.Certificate); ok {
		return errors.New("sshsig: certificate keys are not supported")
	}
	switch t := pub.Type(); t {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256:
		return nil
	case ssh.KeyAlgoRSA:
		cpk, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return errors.New("sshsig: cannot inspect RSA public key")
		}
		rk, ok := cpk.CryptoPublicKey().(*rsa.PublicKey)
		if !ok {
			return errors.New("sshsig: cannot inspect RSA public key")
		}
		if bits := rk.N.BitLen(); bits < minRSABits {
			return fmt.Errorf("sshsig: RSA key too small (%d bits, minimum %d)", bits, minRSABits)
		}
		return nil
	default:
		return fmt.Errorf("sshsig: unsupported key type %q", t)
	}
}

// checkSigAlgorithm checks that the signature algorithm fits the key type:
// RSA keys must use rsa-sha2-256 or rsa-sha2-512 (never SHA-1 ssh-rsa); all
// other keys use their own type name. Only security-key signatures carry
// extra fields (flags, counter).
func checkSigAlgorithm(pub ssh.PublicKey, sig *ssh.Signature) error {
	kt := pub.Type()
	if kt == ssh.KeyAlgoRSA {
		if sig.Format != ssh.KeyAlgoRSASHA256 && sig.Format != ssh.KeyAlgoRSASHA512 {
			return fmt.Errorf("sshsig: RSA signature algorithm %q not allowed (want %s or %s)", sig.Format, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		}
	} else if sig.Format != kt {
		return fmt.Errorf("sshsig: signature algorithm %q does not match key type %q", sig.Format, kt)
	}
	if len(sig.Rest) != 0 && !isSKKey(kt) {
		return fmt.Errorf("sshsig: unexpected trailing data in %s signature", sig.Format)
	}
	return nil
}
