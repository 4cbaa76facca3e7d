package preserve

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Signatures made by OpenSSH 9.2p1 `ssh-keygen -Y sign -n file@custos.test`
// over goldenMessage.
const (
	goldenMessage   = "custos golden message\n"
	goldenNamespace = "file@custos.test"

	goldenEd25519 = `-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg+altIT3mkus/Jh0d1QbTHd2+dW
ivLeyhQo3v3RZN3JoAAAAQZmlsZUBjdXN0b3MudGVzdAAAAAAAAAAGc2hhNTEyAAAAUwAA
AAtzc2gtZWQyNTUxOQAAAECfuOIkLZ1czsf3egk4t9dx7XEhKqvGxftl3pC/P17PyMdT6g
io40QsjVHCcdg4YF7GDw/iwLvs1Pk4FuCn1WsA
-----END SSH SIGNATURE-----
`
	goldenRSA = `-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAAZcAAAAHc3NoLXJzYQAAAAMBAAEAAAGBAOPf35S1+4tbnNWwYpvnpy
8cBCL/7ufHvnz6lsQmHRAkV9iy8ETy34RyZ+ryV/4ewinnA1Q4xXuJHDTic1zUAV5uO4WY
e+mRiWBUWBfmHq+aFVCZn8oRRhEUnENQSBa9ORyJjzhwCqHKHpbEfpuSeM13AHGC+tYOKI
ycEaeiRFN7v74BX8cZE/kQ2I9pcdTAuStr/Rc8Pg7meCPuxmf5C+5ZLShetMUUS3aStI1Q
jiLfcZAuY9QUV0iCQQaZdJi2OWibM6g30PdluK4OF2kmRylrOyAmMRIaFqReKHSaL5Fd9/
7+l3p6a6TUriJIp8CmJxauVw54khSPfr6IhJGkvpd+5vBJIJ2yHC2eLzIpuI0bjMOl7M5U
YWo6bJpRFB16vQoIL6a8lFMnVUsAbarg9WxKz0caOmdhUE6VMQQI4jyKxiRCLm+5tPFsdN
scggrGuk8cBWP2ZKk+YFF0X/NhwqEFqc9A6qXNCT1Jlyto3mfveaqvP8hOmxIU9NgwkF6u
hQAAABBmaWxlQGN1c3Rvcy50ZXN0AAAAAAAAAAZzaGE1MTIAAAGUAAAADHJzYS1zaGEyLT
UxMgAAAYAtLFsAzAR1DqCKO6Q7KZ6xJ5CwcSZXLSrpgwjglBuRTyaggMtdW6TWoWjTCv0Q
rz0IaCg4RRhO/Vu8J1PYC3I96aE0KKBYhVF5zig+w5suuE1JYimhJZ0cmshNS0W3z/Clng
9sQIzo98E6LDEUAv6Vipk8MRoDWiuNxDwG01NSJgBjp1DicMc43sgYsr6JDGanX9TV2Uo7
uV9MUhqWt+M2d9KGyYjR12Jd9qjtG3RyxGPCytVYx7ZDK2V/KJtt1clThAHvEeqFcXIC3V
8MWq0SOaQ1E84/A2g9tRqS+4jWei7piC+4K1hfYSyNYnLiTKZYOf5mx3g16oF2By22GLYJ
KeSKS/ON0blCS/q7cD0AXoAklEKVn5yjcOzlVhjYx4TYNsX2IRM7T1lBceXaWGqdZw01Y0
fIJS6AY3xce15KwpH6CXTwuGu0wTlmRtS2VGdOGW4gYl/OyooUcl3wmM2E5Q2Qdbt5n8m5
5l4Fl3tdz0zwg142o+TfPqvOn1nhPLY=
-----END SSH SIGNATURE-----
`
	// -O hashalg=sha256
	goldenECDSA384SHA256 = `-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAAIgAAAATZWNkc2Etc2hhMi1uaXN0cDM4NAAAAAhuaXN0cDM4NAAAAG
EEGzt+29HY4+zT4icfdTogzhl4XWToT2VVtayWFZDsukC3ESgrbitsIBPgzluPAboOCgcG
BH4Du/JHKhvrcSAA9zl2Fl1+gqXn+NYTDWSVOJly7dbXFhfvj0exJfrkyTMEAAAAEGZpbG
VAY3VzdG9zLnRlc3QAAAAAAAAABnNoYTI1NgAAAIQAAAATZWNkc2Etc2hhMi1uaXN0cDM4
NAAAAGkAAAAxAJS4JjTqCnHBFInKbEedOZ5sOmvrYMn+9U2JzRq1vjaNU9APtQmFeJJXxE
xxLGyZowAAADAIbRHfHCvJsQwLiKsC1OiO5vaawiY9z9ARgAjrr+ZDSnxZYWniot2GmjOt
ml/V2Oo=
-----END SSH SIGNATURE-----
`
)

var goldenSigs = []struct {
	name, armored, keyType, hashAlg, sigFormat string
}{
	{"ed25519", goldenEd25519, ssh.KeyAlgoED25519, HashSHA512, ssh.KeyAlgoED25519},
	{"rsa", goldenRSA, ssh.KeyAlgoRSA, HashSHA512, ssh.KeyAlgoRSASHA512},
	{"ecdsa384-sha256", goldenECDSA384SHA256, ssh.KeyAlgoECDSA384, HashSHA256, ssh.KeyAlgoECDSA384},
}

type testKey struct {
	name   string
	signer ssh.Signer
}

var (
	testKeysOnce sync.Once
	testKeysList []testKey
	testKeysErr  error
)

// testKeys returns one freshly generated signer per supported key type.
func testKeys(t testing.TB) []testKey {
	t.Helper()
	testKeysOnce.Do(func() {
		_, ed, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			testKeysErr = err
			return
		}
		p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
		if err != nil {
			testKeysErr = err
			return
		}
		for _, k := range []struct {
			name string
			key  any
		}{{"ed25519", ed}, {"ecdsa-p256", p256}, {"ecdsa-p384", p384}, {"ecdsa-p521", p521}, {"rsa-3072", rsaKey}} {
			s, err := ssh.NewSignerFromKey(k.key)
			if err != nil {
				testKeysErr = err
				return
			}
			testKeysList = append(testKeysList, testKey{k.name, s})
		}
	})
	if testKeysErr != nil {
		t.Fatal(testKeysErr)
	}
	return testKeysList
}

func newEd25519Signer(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustParse(t testing.TB, armored []byte) *Signature {
	t.Helper()
	s, err := ParseSignature(armored)
	if err != nil {
		t.Fatalf("ParseSignature: %v\n%s", err, armored)
	}
	return s
}

func digestOf(t testing.TB, alg string, msg []byte) []byte {
	t.Helper()
	h, err := NewHash(alg)
	if err != nil {
		t.Fatal(err)
	}
	h.Write(msg)
	return h.Sum(nil)
}

func TestNewHash(t *testing.T) {
	for alg, size := range map[string]int{HashSHA256: sha256.Size, HashSHA512: sha512.Size} {
		h, err := NewHash(alg)
		if err != nil || h.Size() != size {
			t.Errorf("NewHash(%q) = %v, %v", alg, h, err)
		}
	}
	for _, alg := range []string{"", "md5", "sha1", "SHA256", "sha384"} {
		if _, err := NewHash(alg); err == nil {
			t.Errorf("NewHash(%q) succeeded", alg)
		}
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	keys := testKeys(t)
	msg := []byte("evidence archive bytes\x00\xff")
	const ns = "evidence@custos.test"
	for i, k := range keys {
		other := keys[(i+1)%len(keys)].signer.PublicKey()
		sameTypeOther := newSignerLike(t, k.signer.PublicKey())
		for _, alg := range []string{HashSHA256, HashSHA512} {
			t.Run(k.name+"/"+alg, func(t *testing.T) {
				var armored []byte
				var err error
				if alg == HashSHA512 {
					armored, err = Sign(k.signer, ns, bytes.NewReader(msg))
				} else {
					armored, err = SignDigest(k.signer, ns, alg, digestOf(t, alg, msg))
				}
				if err != nil {
					t.Fatal(err)
				}
				checkArmorShape(t, armored)
				sig := mustParse(t, armored)
				if sig.Namespace != ns || sig.HashAlgorithm != alg {
					t.Errorf("parsed ns=%q hash=%q", sig.Namespace, sig.HashAlgorithm)
				}
				if !bytes.Equal(sig.PublicKey.Marshal(), k.signer.PublicKey().Marshal()) {
					t.Error("parsed public key differs from signer's")
				}
				if k.signer.PublicKey().Type() == ssh.KeyAlgoRSA && sig.Signature.Format != ssh.KeyAlgoRSASHA512 {
					t.Errorf("RSA signature format %q, want %q", sig.Signature.Format, ssh.KeyAlgoRSASHA512)
				}
				if got := armor(sig.marshal()); !bytes.Equal(got, armored) {
					t.Errorf("re-armored signature differs:\n%s\n%s", got, armored)
				}
				if err := sig.Verify(ns, bytes.NewReader(msg)); err != nil {
					t.Errorf("Verify: %v", err)
				}
				if err := sig.VerifyDigest(ns, digestOf(t, alg, msg)); err != nil {
					t.Errorf("VerifyDigest: %v", err)
				}
				if err := sig.Verify("file", bytes.NewReader(msg)); err == nil || !strings.Contains(err.Error(), "namespace") {
					t.Errorf("wrong namespace: err = %v", err)
				}
				if err := sig.Verify("", bytes.NewReader(msg)); err == nil {
					t.Error("empty namespace accepted")
				}
				mod := bytes.Clone(msg)
				mod[0] ^= 1
				if err := sig.Verify(ns, bytes.NewReader(mod)); err == nil {
					t.Error("modified message accepted")
				}
				if err := sig.Verify(ns, bytes.NewReader(append(bytes.Clone(msg), 0))); err == nil {
					t.Error("extended message accepted")
				}
				otherAlg := HashSHA512
				if alg == HashSHA512 {
					otherAlg = HashSHA256
				}
				if err := sig.VerifyDigest(ns, digestOf(t, otherAlg, msg)); err == nil {
					t.Error("digest of the other hash algorithm accepted")
				}
				for _, pub := range []ssh.PublicKey{other, sameTypeOther} {
					forged := *sig
					forged.PublicKey = pub
					if err := forged.Verify(ns, bytes.NewReader(msg)); err == nil {
						t.Errorf("signature accepted for other %s key", pub.Type())
					}
				}
				// The hash algorithm is covered by the signature.
				flipped := *sig
				flipped.HashAlgorithm = otherAlg
				if err := flipped.Verify(ns, bytes.NewReader(msg)); err == nil {
					t.Error("signature accepted with the other hash algorithm")
				}
			})
		}
	}
}

// newSignerLike generates a fresh key of the same type as pub.
func newSignerLike(t testing.TB, pub ssh.PublicKey) ssh.PublicKey {
	t.Helper()
	var key any
	var err error
	switch pub.Type() {
	case ssh.KeyAlgoED25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case ssh.KeyAlgoECDSA256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ssh.KeyAlgoECDSA384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ssh.KeyAlgoECDSA521:
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case ssh.KeyAlgoRSA:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("no generator for %s", pub.Type())
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return s.PublicKey()
}

func checkArmorShape(t *testing.T, armored []byte) {
	t.Helper()
	s := string(armored)
	if !strings.HasPrefix(s, "-----BEGIN SSH SIGNATURE-----\n") || !strings.HasSuffix(s, "\n-----END SSH SIGNATURE-----\n") {
		t.Fatalf("bad armor:\n%s", s)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	body := lines[1 : len(lines)-1]
	for i, l := range body {
		if len(l) > 70 || l == "" || (i < len(body)-1 && len(l) != 70) {
			t.Fatalf("body line %d has %d columns, want 70 (last line 1-70):\n%s", i+1, len(l), s)
		}
	}
}

func TestArmorWrapping(t *testing.T) {
	// Blob lengths giving 69, 70, 71, 140 base64 characters.
	for _, n := range []int{51, 52, 53, 105} {
		a := string(armor(bytes.Repeat([]byte{0xAB}, n)))
		lines := strings.Split(a, "\n")
		want := []string{armorHeader}
		enc := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xAB}, n))
		for len(enc) > 70 {
			want = append(want, enc[:70])
			enc = enc[70:]
		}
		want = append(want, enc, armorFooter, "")
		if strings.Join(lines, "|") != strings.Join(want, "|") {
			t.Errorf("armor(%d bytes) =\n%s", n, a)
		}
		blob, err := dearmor([]byte(a))
		if err != nil || !bytes.Equal(blob, bytes.Repeat([]byte{0xAB}, n)) {
			t.Errorf("dearmor(armor(%d bytes)) = %x, %v", n, blob, err)
		}
	}
}

func TestGoldenSSHKeygenSignatures(t *testing.T) {
	for _, g := range goldenSigs {
		t.Run(g.name, func(t *testing.T) {
			sig := mustParse(t, []byte(g.armored))
			if sig.PublicKey.Type() != g.keyType || sig.HashAlgorithm != g.hashAlg || sig.Signature.Format != g.sigFormat || sig.Namespace != goldenNamespace {
				t.Fatalf("parsed %s/%s/%s/%q", sig.PublicKey.Type(), sig.HashAlgorithm, sig.Signature.Format, sig.Namespace)
			}
			if err := sig.Verify(goldenNamespace, strings.NewReader(goldenMessage)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := sig.Verify("file", strings.NewReader(goldenMessage)); err == nil {
				t.Error("wrong namespace accepted")
			}
			if err := sig.Verify(goldenNamespace, strings.NewReader("custos golden message")); err == nil {
				t.Error("modified message accepted")
			}
			if got := armor(sig.marshal()); string(got) != g.armored {
				t.Errorf("re-armor differs from ssh-keygen output:\n%s", got)
			}
		})
	}
}

// Deterministic ed25519 signing makes our output byte-identical to
// ssh-keygen's for the same key, namespace and message.
func TestSignMatchesSSHKeygenBytes(t *testing.T) {
	keygen := requireSSHKeygen(t)
	dir := t.TempDir()
	privPEM, signer, err := GenerateKey("bytes-test")
	if err != nil {
		t.Fatal(err)
	}
	keyPath := writeFile(t, dir, "id", privPEM, 0o600)
	msg := []byte("identical bytes please\n")
	for _, alg := range []string{HashSHA512, HashSHA256} {
		ours, err := SignDigest(signer, "file", alg, digestOf(t, alg, msg))
		if err != nil {
			t.Fatal(err)
		}
		theirs := mustRun(t, keygen, msg, "-Y", "sign", "-f", keyPath, "-n", "file", "-O", "hashalg="+alg)
		if !bytes.Equal(ours, theirs) {
			t.Errorf("%s: our signature differs from ssh-keygen's:\nours:\n%s\ntheirs:\n%s", alg, ours, theirs)
		}
	}
}

func TestSignErrors(t *testing.T) {
	s := testKeys(t)[0].signer
	d512 := make([]byte, sha512.Size)
	cases := []struct {
		name string
		fn   func() error
	}{
		{"empty namespace", func() error { _, err := Sign(s, "", strings.NewReader("x")); return err }},
		{"NUL namespace", func() error { _, err := SignDigest(s, "a\x00b", HashSHA512, d512); return err }},
		{"nil signer", func() error { _, err := Sign(nil, "file", strings.NewReader("x")); return err }},
		{"nil reader", func() error { _, err := Sign(s, "file", nil); return err }},
		{"md5", func() error { _, err := SignDigest(s, "file", "md5", make([]byte, 16)); return err }},
		{"short digest", func() error { _, err := SignDigest(s, "file", HashSHA512, d512[:32]); return err }},
		{"sha256 digest as sha512", func() error { _, err := SignDigest(s, "file", HashSHA256, d512); return err }},
		{"read error", func() error { _, err := Sign(s, "file", errReader{}); return err }},
	}
	for _, c := range cases {
		err := c.fn()
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "sshsig: ") || strings.HasSuffix(err.Error(), ".") {
			t.Errorf("%s: error %q not in house style", c.name, err)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// plainSigner hides AlgorithmSigner, and can lie about its output.
type plainSigner struct {
	ssh.Signer
	corrupt bool
}

func (p plainSigner) Sign(r io.Reader, data []byte) (*ssh.Signature, error) {
	sig, err := p.Signer.Sign(r, data)
	if err == nil && p.corrupt {
		sig.Blob[len(sig.Blob)-1] ^= 1
	}
	return sig, err
}

// legacyRSASigner signs with SHA-1 ssh-rsa whatever it is asked.
type legacyRSASigner struct{ ssh.AlgorithmSigner }

func (l legacyRSASigner) SignWithAlgorithm(r io.Reader, data []byte, _ string) (*ssh.Signature, error) {
	return l.AlgorithmSigner.SignWithAlgorithm(r, data, ssh.KeyAlgoRSA)
}

func TestSignRejectsBadSigners(t *testing.T) {
	var rsaSigner ssh.Signer
	for _, k := range testKeys(t) {
		if k.signer.PublicKey().Type() == ssh.KeyAlgoRSA {
			rsaSigner = k.signer
		}
	}
	ed := testKeys(t)[0].signer
	if _, err := Sign(plainSigner{Signer: rsaSigner}, "file", strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "AlgorithmSigner") {
		t.Errorf("RSA signer without algorithm choice: err = %v", err)
	}
	if _, err := Sign(legacyRSASigner{rsaSigner.(ssh.AlgorithmSigner)}, "file", strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "ssh-rsa") {
		t.Errorf("SHA-1 RSA signature: err = %v", err)
	}
	if _, err := Sign(plainSigner{Signer: ed, corrupt: true}, "file", strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("corrupting signer: err = %v", err)
	}
	// Certificates are not supported.
	cs, err := ssh.NewCertSigner(testCert(t, ed), ed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(cs, "file", strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("certificate signer: err = %v", err)
	}
}

func TestVerifyDigestErrors(t *testing.T) {
	s := mustParse(t, []byte(goldenEd25519))
	d := digestOf(t, HashSHA512, []byte(goldenMessage))
	if err := s.VerifyDigest(goldenNamespace, d); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyDigest("", d); err == nil {
		t.Error("empty namespace accepted")
	}
	if err := s.VerifyDigest(goldenNamespace, d[:32]); err == nil {
		t.Error("short digest accepted")
	}
	var nilSig *Signature
	if err := nilSig.VerifyDigest(goldenNamespace, d); err == nil {
		t.Error("nil signature accepted")
	}
	if err := nilSig.Verify(goldenNamespace, strings.NewReader("")); err == nil {
		t.Error("nil signature accepted")
	}
	if err := (&Signature{}).VerifyDigest(goldenNamespace, d); err == nil {
		t.Error("empty signature accepted")
	}
	bad := *s
	bad.HashAlgorithm = "md5"
	if err := bad.Verify(goldenNamespace, strings.NewReader(goldenMessage)); err == nil {
		t.Error("md5 accepted")
	}
	// A namespace that shares a prefix must not verify.
	bad = *s
	bad.Namespace = goldenNamespace + "x"
	if err := bad.VerifyDigest(goldenNamespace+"x", d); err == nil {
		t.Error("signature verified under a different namespace")
	}
}

// blobFields builds an SSHSIG blob from parts.
type blobFields struct {
	magic     string
	version   uint32
	key       []byte
	ns        string
	reserved  []byte
	hashAlg   string
	sig       []byte
	trailing  []byte
	noVersion bool
}

func (f blobFields) bytes() []byte {
	b := []byte(f.magic)
	if !f.noVersion {
		b = binary.BigEndian.AppendUint32(b, f.version)
	}
	b = appendString(b, f.key)
	b = appendString(b, []byte(f.ns))
	b = appendString(b, f.reserved)
	b = appendString(b, []byte(f.hashAlg))
	b = appendString(b, f.sig)
	return append(b, f.trailing...)
}

// signedBlob signs msg with signer using sigAlg and returns the fields.
func signedBlob(t *testing.T, signer ssh.Signer, ns, hashAlg, sigAlg string, msg []byte) blobFields {
	t.Helper()
	data := signedData(ns, hashAlg, digestOf(t, hashAlg, msg))
	var sig *ssh.Signature
	var err error
	if sigAlg == "" {
		sig, err = signer.Sign(rand.Reader, data)
	} else {
		sig, err = signer.(ssh.AlgorithmSigner).SignWithAlgorithm(rand.Reader, data, sigAlg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return blobFields{magic: "SSHSIG", version: 1, key: signer.PublicKey().Marshal(), ns: ns, hashAlg: hashAlg, sig: ssh.Marshal(sig)}
}

func TestParseSignatureMalformed(t *testing.T) {
	keys := testKeys(t)
	ed, p256 := keys[0].signer, keys[1].signer
	var rsaSigner ssh.Signer
	for _, k := range keys {
		if k.signer.PublicKey().Type() == ssh.KeyAlgoRSA {
			rsaSigner = k.signer
		}
	}
	msg := []byte("m")
	good := signedBlob(t, ed, "file", HashSHA512, "", msg)
	goodArmor := armor(good.bytes())
	if s, err := ParseSignature(goodArmor); err != nil {
		t.Fatalf("baseline: %v", err)
	} else if err := s.Verify("file", bytes.NewReader(msg)); err != nil {
		t.Fatalf("baseline verify: %v", err)
	}

	with := func(mut func(*blobFields)) []byte {
		f := good
		mut(&f)
		return armor(f.bytes())
	}
	gs := string(goodArmor)
	body := strings.TrimSuffix(strings.TrimPrefix(gs, armorHeader+"\n"), armorFooter+"\n")
	p256Sig := signedBlob(t, p256, "file", HashSHA512, "", msg)
	rsaSHA1 := signedBlob(t, rsaSigner, "file", HashSHA512, ssh.KeyAlgoRSA, msg)
	rsaSHA256 := signedBlob(t, rsaSigner, "file", HashSHA512, ssh.KeyAlgoRSASHA256, msg)

	// rsa-sha2-256 is allowed (OpenSSH RSA_SIGN_ALLOWED).
	if s, err := ParseSignature(armor(rsaSHA256.bytes())); err != nil {
		t.Errorf("rsa-sha2-256: %v", err)
	} else if err := s.Verify("file", bytes.NewReader(msg)); err != nil {
		t.Errorf("rsa-sha2-256 verify: %v", err)
	}
	// A non-empty reserved field is ignored, and preserved on re-marshal.
	resv := with(func(f *blobFields) { f.reserved = []byte("future") })
	if s, err := ParseSignature(resv); err != nil {
		t.Errorf("reserved: %v", err)
	} else if err := s.Verify("file", bytes.NewReader(msg)); err != nil {
		t.Errorf("reserved verify: %v", err)
	} else if !bytes.Equal(armor(s.marshal()), resv) {
		t.Error("reserved field lost on re-marshal")
	}
	// Tolerated framing variations.
	for name, in := range map[string]string{
		"CRLF after header":  armorHeader + "\n" + strings.ReplaceAll(body, "\n", "\r\n") + armorFooter + "\r\n",
		"no final newline":   strings.TrimSuffix(gs, "\n"),
		"blank lines after":  gs + "\n\n  \t\n",
		"rewrapped at 64":    armorHeader + "\n" + wrap(strings.ReplaceAll(body, "\n", ""), 64) + armorFooter + "\n",
		"one line":           armorHeader + "\n" + strings.ReplaceAll(body, "\n", "") + "\n" + armorFooter + "\n",
		"indented body line": armorHeader + "\n " + body + armorFooter + "\n",
	} {
		if _, err := ParseSignature([]byte(in)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	padded := with(func(f *blobFields) { f.reserved = []byte("x") })
	if !bytes.Contains(padded, []byte("=\n")) {
		t.Fatal("test setup: expected base64 padding")
	}
	bad := map[string][]byte{
		"empty":                 nil,
		"CRLF header":           []byte(strings.ReplaceAll(gs, "\n", "\r\n")),
		"wrong header":          []byte(strings.Replace(gs, "SSH SIGNATURE-----", "SSH SIG-----", 1)),
		"PEM header":            []byte(strings.ReplaceAll(gs, "SSH SIGNATURE", "PGP SIGNATURE")),
		"leading space":         []byte(" " + gs),
		"leading newline":       []byte("\n" + gs),
		"text before header":    []byte("hello\n" + gs),
		"header without EOL":    []byte(armorHeader + strings.ReplaceAll(body, "\n", "") + "\n" + armorFooter + "\n"),
		"missing footer":        []byte(strings.TrimSuffix(gs, armorFooter+"\n")),
		"footer not on line":    []byte(strings.TrimSuffix(gs, "\n"+armorFooter+"\n") + armorFooter + "\n"),
		"trailing garbage":      []byte(gs + "garbage\n"),
		"footer suffix garbage": []byte(strings.TrimSuffix(gs, "\n") + "x\n"),
		"second signature":      []byte(gs + gs),
		"empty body":            []byte(armorHeader + "\n" + armorFooter + "\n"),
		"bad base64":            []byte(strings.Replace(gs, body[:4], "!!!!", 1)),
		"base64 missing pad":    []byte(strings.Replace(string(padded), "=\n", "\n", 1)),
		"non-canonical base64":  []byte(armorHeader + "\n" + base64.StdEncoding.EncodeToString([]byte("SSHSIG")[:5])[:6] + "x=\n" + armorFooter + "\n"),
		"oversized":             append([]byte(armorHeader+"\n"), bytes.Repeat([]byte("AAAA"), maxArmoredSig/4)...),
		"wrong magic":           with(func(f *blobFields) { f.magic = "SSHSIH" }),
		"no magic":              with(func(f *blobFields) { f.magic = "" }),
		"version 0":             with(func(f *blobFields) { f.version = 0 }),
		"version 2":             with(func(f *blobFields) { f.version = 2 }),
		"no version":            with(func(f *blobFields) { f.noVersion = true }),
		"hash md5":              with(func(f *blobFields) { f.hashAlg = "md5" }),
		"hash SHA512":           with(func(f *blobFields) { f.hashAlg = "SHA512" }),
		"hash sha1":             with(func(f *blobFields) { f.hashAlg = "sha1" }),
		"empty namespace":       with(func(f *blobFields) { f.ns = "" }),
		"NUL namespace":         with(func(f *blobFields) { f.ns = "fi\x00le" }),
		"trailing blob data":    with(func(f *blobFields) { f.trailing = []byte{0} }),
		"garbage key":           with(func(f *blobFields) { f.key = []byte("not a key") }),
		"key trailing data":     with(func(f *blobFields) { f.key = append(bytes.Clone(f.key), 0, 0, 0, 0) }),
		"empty signature":       with(func(f *blobFields) { f.sig = nil }),
		"signature junk":        with(func(f *blobFields) { f.sig = []byte{0, 0, 0, 9, 'x'} }),
		"ed25519 sig extra":     with(func(f *blobFields) { f.sig = append(bytes.Clone(f.sig), 1, 0, 0, 0, 1) }),
		"sig alg mismatch":      with(func(f *blobFields) { f.sig = p256Sig.sig }),
		"key/sig from p256":     with(func(f *blobFields) { f.key = p256Sig.key }),
		"ssh-rsa SHA-1":         armor(rsaSHA1.bytes()),
		"non-canonical RSA key": armor(nonCanonicalRSA(t, rsaSHA256).bytes()),
		"cert key":              with(func(f *blobFields) { f.key = testCert(t, ed).Marshal() }),
	}
	full := good.bytes()
	for _, n := range []int{0, 1, 6, 9, 10, 20, len(full) / 2, len(full) - 4, len(full) - 1} {
		bad["truncated blob "+strconv.Itoa(n)] = armor(full[:n])
	}
	for name, in := range bad {
		s, err := ParseSignature(in)
		if err == nil {
			t.Errorf("%s: parsed: %+v", name, s)
			continue
		}
		if !strings.HasPrefix(err.Error(), "sshsig: ") {
			t.Errorf("%s: error %q lacks sshsig prefix", name, err)
		}
	}
}

// nonCanonicalRSA re-encodes the RSA key in f with a redundant leading zero
// in the exponent mpint; the signature itself stays valid.
func nonCanonicalRSA(t *testing.T, f blobFields) blobFields {
	t.Helper()
	r := &wireReader{b: f.key}
	typ, e, n := r.string("type"), r.string("e"), r.string("n")
	if r.err != nil || string(typ) != ssh.KeyAlgoRSA {
		t.Fatalf("not an RSA key blob: %v", r.err)
	}
	key := appendString(nil, typ)
	key = appendString(key, append([]byte{0}, e...))
	f.key = appendString(key, n)
	return f
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

func testCert(t *testing.T, s ssh.Signer) *ssh.Certificate {
	t.Helper()
	cert := &ssh.Certificate{Key: s.PublicKey(), CertType: ssh.UserCert, ValidPrincipals: []string{"x"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, newEd25519Signer(t)); err != nil {
		t.Fatal(err)
	}
	return cert
}

// skEd25519Sig builds an SSHSIG made by a (simulated) FIDO security key
// holding priv, as `ssh-keygen -Y sign` with an ed25519-sk key would.
func skEd25519Sig(t *testing.T, priv ed25519.PrivateKey, ns string, msg []byte, flags byte) []byte {
	t.Helper()
	const app = "ssh:"
	pubBlob := appendString(nil, []byte(ssh.KeyAlgoSKED25519))
	pubBlob = appendString(pubBlob, priv.Public().(ed25519.PublicKey))
	pubBlob = appendString(pubBlob, []byte(app))
	data := signedData(ns, HashSHA512, digestOf(t, HashSHA512, msg))
	appHash := sha256.Sum256([]byte(app))
	dataHash := sha256.Sum256(data)
	toSign := append(appHash[:], flags)
	toSign = binary.BigEndian.AppendUint32(toSign, 42)
	toSign = append(toSign, dataHash[:]...)
	sig := appendString(nil, []byte(ssh.KeyAlgoSKED25519))
	sig = appendString(sig, ed25519.Sign(priv, toSign))
	sig = append(sig, flags)
	sig = binary.BigEndian.AppendUint32(sig, 42)
	return armor(blobFields{magic: "SSHSIG", version: 1, key: pubBlob, ns: ns, hashAlg: HashSHA512, sig: sig}.bytes())
}

func TestSecurityKeySignature(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := []byte("signed with a yubikey, allegedly")
	armored := skEd25519Sig(t, priv, "file", msg, 0x01)
	s := mustParse(t, armored)
	if s.PublicKey.Type() != ssh.KeyAlgoSKED25519 {
		t.Fatalf("key type %s", s.PublicKey.Type())
	}
	if err := s.Verify("file", bytes.NewReader(msg)); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if !bytes.Equal(armor(s.marshal()), armored) {
		t.Error("sk signature does not re-marshal identically")
	}
	if err := s.Verify("file", bytes.NewReader(msg[1:])); err == nil {
		t.Error("modified message accepted")
	}
	noTouch := mustParse(t, skEd25519Sig(t, priv, "file", msg, 0x00))
	if err := noTouch.Verify("file", bytes.NewReader(msg)); err == nil {
		t.Error("signature without user presence accepted")
	}
	if keygen, err := exec.LookPath("ssh-keygen"); err == nil {
		dir := t.TempDir()
		sigPath := writeFile(t, dir, "sk.sig", armored, 0o644)
		out, code := runKeygen(t, keygen, msg, "-Y", "check-novalidate", "-n", "file", "-s", sigPath)
		if code != 0 {
			t.Errorf("ssh-keygen rejects our synthetic sk signature (exit %d): %s", code, out)
		}
	}
	signerLike := skSigner{s.PublicKey}
	if _, err := Sign(signerLike, "file", bytes.NewReader(msg)); err == nil {
		t.Error("signing with an sk key should be refused")
	}
}

type skSigner struct{ pub ssh.PublicKey }

func (s skSigner) PublicKey() ssh.PublicKey { return s.pub }
func (s skSigner) Sign(io.Reader, []byte) (*ssh.Signature, error) {
	return nil, errors.New("no authenticator")
}

// ---- ssh-keygen interop ----

func requireSSHKeygen(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not found in PATH")
	}
	return p
}

// runKeygen runs ssh-keygen without an agent and returns combined output and
// exit code.
func runKeygen(t *testing.T, keygen string, stdin []byte, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(keygen, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SSH_AUTH_SOCK=") {
			env = append(env, e)
		}
	}
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exitErr):
		return out.String(), exitErr.ExitCode()
	default:
		t.Fatalf("running ssh-keygen %v: %v", args, err)
		return "", -1
	}
}

// mustRun runs ssh-keygen and returns its stdout; it fails the test on a
// non-zero exit.
func mustRun(t *testing.T, keygen string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(keygen, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ssh-keygen %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

func writeFile(t *testing.T, dir, name string, data []byte, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, perm); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInteropOurSignSSHKeygenVerifies(t *testing.T) {
	keygen := requireSSHKeygen(t)
	msg := []byte("evidence manifest\nline two\n")
	const ns = "evidence-manifest@custos.test"
	const principal = "custodian@lab.example"
	for _, k := range testKeys(t) {
		for _, alg := range []string{HashSHA512, HashSHA256} {
			t.Run(k.name+"/"+alg, func(t *testing.T) {
				dir := t.TempDir()
				armored, err := SignDigest(k.signer, ns, alg, digestOf(t, alg, msg))
				if err != nil {
					t.Fatal(err)
				}
				sigPath := writeFile(t, dir, "msg.sig", armored, 0o644)
				line := AllowedSignersLine(principal, []string{ns}, k.signer.PublicKey())
				allowed := writeFile(t, dir, "allowed_signers", []byte("# test\n"+line+"\n"), 0o644)

				out, code := runKeygen(t, keygen, msg, "-Y", "verify", "-f", allowed, "-I", principal, "-n", ns, "-s", sigPath)
				if code != 0 {
					t.Fatalf("ssh-keygen -Y verify failed (exit %d): %s\nallowed_signers: %s", code, out, line)
				}
				if !strings.Contains(out, `Good "`+ns+`" signature for `+principal) {
					t.Errorf("unexpected ssh-keygen output: %s", out)
				}
				if out, code := runKeygen(t, keygen, msg, "-Y", "verify", "-f", allowed, "-I", principal, "-n", "file", "-s", sigPath); code == 0 {
					t.Errorf("ssh-keygen accepted wrong namespace: %s", out)
				}
				if out, code := runKeygen(t, keygen, append(bytes.Clone(msg), 'x'), "-Y", "verify", "-f", allowed, "-I", principal, "-n", ns, "-s", sigPath); code == 0 {
					t.Errorf("ssh-keygen accepted modified message: %s", out)
				}
				if out, code := runKeygen(t, keygen, msg, "-Y", "verify", "-f", allowed, "-I", "someone@else", "-n", ns, "-s", sigPath); code == 0 {
					t.Errorf("ssh-keygen accepted wrong principal: %s", out)
				}
				out, code = runKeygen(t, keygen, nil, "-Y", "find-principals", "-f", allowed, "-s", sigPath)
				if code != 0 || strings.TrimSpace(out) != principal {
					t.Errorf("find-principals: exit %d, %q", code, out)
				}
			})
		}
	}
}

func TestInteropSSHKeygenSignWeVerify(t *testing.T) {
	keygen := requireSSHKeygen(t)
	dir := t.TempDir()
	msg := []byte("signed by ssh-keygen\n")
	const ns = "evidence@custos.test"

	ourPEM, _, err := GenerateKey("custos-generated")
	if err != nil {
		t.Fatal(err)
	}
	keysToTry := []struct {
		name    string
		path    string
		keyType string
	}{
		{"GenerateKey", writeFile(t, dir, "ours", ourPEM, 0o600), ssh.KeyAlgoED25519},
	}
	for _, g := range []struct{ name, typ, bits, keyType string }{
		{"rsa-3072", "rsa", "3072", ssh.KeyAlgoRSA},
		{"ecdsa-256", "ecdsa", "256", ssh.KeyAlgoECDSA256},
		{"ecdsa-384", "ecdsa", "384", ssh.KeyAlgoECDSA384},
		{"ecdsa-521", "ecdsa", "521", ssh.KeyAlgoECDSA521},
		{"ed25519", "ed25519", "", ssh.KeyAlgoED25519},
	} {
		p := filepath.Join(dir, g.name)
		args := []string{"-q", "-t", g.typ, "-N", "", "-C", g.name, "-f", p}
		if g.bits != "" {
			args = append(args, "-b", g.bits)
		}
		mustRun(t, keygen, nil, args...)
		keysToTry = append(keysToTry, struct{ name, path, keyType string }{g.name, p, g.keyType})
	}

	for _, k := range keysToTry {
		for _, alg := range []string{"", HashSHA256, HashSHA512} {
			name := k.name + "/default"
			args := []string{"-Y", "sign", "-f", k.path, "-n", ns}
			if alg != "" {
				name = k.name + "/" + alg
				args = append(args, "-O", "hashalg="+alg)
			}
			t.Run(name, func(t *testing.T) {
				armored := mustRun(t, keygen, msg, args...)
				sig := mustParse(t, armored)
				wantAlg := alg
				if wantAlg == "" {
					wantAlg = HashSHA512
				}
				if sig.HashAlgorithm != wantAlg || sig.PublicKey.Type() != k.keyType || sig.Namespace != ns {
					t.Errorf("parsed %s/%s/%q", sig.HashAlgorithm, sig.PublicKey.Type(), sig.Namespace)
				}
				if err := sig.Verify(ns, bytes.NewReader(msg)); err != nil {
					t.Errorf("Verify: %v", err)
				}
				if err := sig.Verify("file", bytes.NewReader(msg)); err == nil {
					t.Error("wrong namespace accepted")
				}
				if err := sig.Verify(ns, bytes.NewReader(msg[1:])); err == nil {
					t.Error("modified message accepted")
				}
				if !bytes.Equal(armor(sig.marshal()), armored) {
					t.Errorf("re-armor differs from ssh-keygen output")
				}
				// The same key, loaded by us, signs something ssh-keygen verifies.
				pemBytes, err := os.ReadFile(k.path)
				if err != nil {
					t.Fatal(err)
				}
				signer, err := LoadSigner(pemBytes, nil)
				if err != nil {
					t.Fatalf("LoadSigner: %v", err)
				}
				if !bytes.Equal(signer.PublicKey().Marshal(), sig.PublicKey.Marshal()) {
					t.Fatal("loaded key differs from the signature's key")
				}
				ours, err := Sign(signer, ns, bytes.NewReader(msg))
				if err != nil {
					t.Fatal(err)
				}
				sigPath := writeFile(t, t.TempDir(), "ours.sig", ours, 0o644)
				if out, code := runKeygen(t, keygen, msg, "-Y", "check-novalidate", "-n", ns, "-s", sigPath); code != 0 {
					t.Errorf("ssh-keygen check-novalidate on our signature: exit %d: %s", code, out)
				}
			})
		}
	}
}

func FuzzParseSignature(f *testing.F) {
	for _, g := range goldenSigs {
		f.Add([]byte(g.armored))
	}
	// Deterministic keys so the seed corpus is stable.
	seed := sha256.Sum256([]byte("custos fuzz seed"))
	edSigner, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(seed[:]))
	if err != nil {
		f.Fatal(err)
	}
	for _, alg := range []string{HashSHA256, HashSHA512} {
		d, _ := NewHash(alg)
		d.Write([]byte("fuzz"))
		a, err := SignDigest(edSigner, "fuzz@custos.test", alg, d.Sum(nil))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(a)
		f.Add([]byte(strings.ReplaceAll(string(a), "\n", "\r\n")))
	}
	f.Add([]byte(armorHeader + "\n" + armorFooter + "\n"))
	f.Add([]byte(armorHeader + "\nU1NIU0lHAAAAAg==\n" + armorFooter + "\n"))
	f.Add([]byte("garbage"))

	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseSignature(in)
		if err != nil {
			if s != nil {
				t.Fatal("non-nil signature with error")
			}
			return
		}
		blob, err := dearmor(in)
		if err != nil {
			t.Fatalf("parsed but dearmor fails: %v", err)
		}
		if got := s.marshal(); !bytes.Equal(got, blob) {
			t.Fatalf("re-marshal differs:\n got %x\nwant %x", got, blob)
		}
		s2, err := ParseSignature(armor(s.marshal()))
		if err != nil {
			t.Fatalf("re-armored signature does not parse: %v", err)
		}
		if !bytes.Equal(s2.marshal(), blob) {
			t.Fatal("second round trip differs")
		}
		// Must not panic; verification will almost always fail.
		_ = s.Verify(s.Namespace, bytes.NewReader(in))
		_ = s.Verify("other", bytes.NewReader(in))
	})
}
