package preserve

// Negative tests for VerifyArchive: the tamper cases of
// reference/evidence-integrity.md §10.3 that apply to the custos format
// (DESIGN §6.1). Each case names its §10.3 number and asserts the exact
// failures, and that nothing else is reported.
//
// Not applicable to custos archives, so not tested here:
//   - 13: there is no CASE graph or in-toto statement inside the bag.
//   - 20: there is no RFC 3161 timestamp; key validity is judged at the
//     Sealed-At-UTC the signer claims, and the report says so.
//   - 1 and 9 "both algorithms" / "conflicting digests across algorithms":
//     custos writes sha256 manifests only; a manifest-sha512.txt would be an
//     unexpected tag file (case 4).
//   - 11 NFC/NFD: entry names are ASCII only (a non-ASCII name is refused).
//   - 18 revoked keys: allowed_signers has no revocation; an expired key is
//     tested through valid-before.
//   - 30-37 (custody log): see the custody tests.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/ssh"
)

// entry is one tar entry of an archive being tampered with.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// readEntries decompresses an archive and returns its entries.
func readEntries(t testing.TB, path string) []entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var es []entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return es
		}
		if err != nil {
			t.Fatal(err)
		}
		d, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, entry{h, d})
	}
}

// tarBytes writes entries as a tar stream with its end-of-archive blocks.
// Each header's size is set to its data's length.
func tarBytes(t testing.TB, es []entry) []byte {
	t.Helper()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range es {
		h := *e.hdr
		h.Size = int64(len(e.data))
		if h.Format == tar.FormatUSTAR {
			h.Format = tar.FormatPAX // as seal writes; archive/tar reads it as ustar
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return raw.Bytes()
}

// compress makes one zstd frame with a content checksum, as seal does.
func compress(t testing.TB, raw []byte) []byte {
	t.Helper()
	return encodeZstd(t, raw, zstd.WithEncoderCRC(true), zstd.WithEncoderConcurrency(1))
}

// rawFrame makes one zstd frame of raw (stored) blocks, so the position of
// every content byte in the compressed file is known: a 6-byte frame
// header, then per 128 KiB a 3-byte block header and the bytes, then the
// 4-byte content checksum (borrowed from the encoder, which computes the
// same xxhash).
func rawFrame(t testing.TB, content []byte) []byte {
	t.Helper()
	out := zframe(0x04, 0x68) // checksum, 8 MiB window
	for rest := content; ; {
		n := min(len(rest), zstdMaxBlock)
		out = append(out, zblock(n == len(rest), 0, n)...)
		out = append(out, rest[:n]...)
		rest = rest[n:]
		if len(rest) == 0 {
			break
		}
	}
	enc := compress(t, content)
	return append(out, enc[len(enc)-4:]...)
}

// rewrite decompresses an archive, lets edit change the entry list, and
// writes it back recompressed with trailer appended to the tar stream. The
// outer signature is left as it was.
func rewrite(t *testing.T, path string, edit func([]entry) []entry, trailer []byte) {
	t.Helper()
	raw := append(tarBytes(t, edit(readEntries(t, path))), trailer...)
	overwrite(t, path, compress(t, raw))
}

func overwrite(t testing.TB, path string, data []byte) {
	t.Helper()
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// find returns the index of the first entry whose name ends in suffix.
func find(es []entry, suffix string) int {
	for i, e := range es {
		if strings.HasSuffix(e.hdr.Name, suffix) {
			return i
		}
	}
	panic("no entry ending in " + suffix)
}

// entryRel is an entry's name relative to the bag, without a trailing
// slash: the order seal writes and verify requires.
func entryRel(e entry) string {
	_, rel, _ := strings.Cut(strings.TrimSuffix(e.hdr.Name, "/"), "/")
	return rel
}

// insert adds e where seal would have written it.
func insert(es []entry, e entry) []entry {
	i := 1
	for i < len(es) && entryRel(es[i]) < entryRel(e) {
		i++
	}
	return slices.Insert(slices.Clone(es), i, e)
}

func remove(es []entry, suffix string) []entry {
	i := find(es, suffix)
	return slices.Delete(slices.Clone(es), i, i+1)
}

// fixture is a sealed archive and what made it.
type fixture struct {
	t       *testing.T
	c       *Case
	signer  ssh.Signer
	anchors *AllowedSigners
	archive string
	bag     string
	plain   string // <bag>.tar.zst
	fp      string // the signer's fingerprint
	orig    []entry
}

func newFixture(t *testing.T) *fixture {
	c, signer, anchors := newTestCase(t)
	res := seal(t, c, signer)
	f := &fixture{t: t, c: c, signer: signer, anchors: anchors, archive: res.Archive,
		bag: c.BagName(testAcq), fp: Fingerprint(signer.PublicKey())}
	f.plain = f.bag + ArchiveSuffix
	f.orig = readEntries(t, res.Archive)
	return f
}

// entries returns a deep copy of the sealed archive's entries.
func (f *fixture) entries() []entry {
	es := make([]entry, len(f.orig))
	for i, e := range f.orig {
		h := *e.hdr
		es[i] = entry{&h, bytes.Clone(e.data)}
	}
	return es
}

// file returns a new regular file entry named rel in the bag.
func (f *fixture) file(rel string, data []byte) entry {
	h := *f.orig[find(f.orig, "/"+BagitTxt)].hdr
	h.Name = f.bag + "/" + rel
	return entry{&h, data}
}

// dir returns a new directory entry named rel in the bag.
func (f *fixture) dir(rel string) entry {
	h := *f.orig[0].hdr
	h.Name = f.bag + "/" + rel + "/"
	return entry{&h, nil}
}

func (f *fixture) data(es []entry, suffix string) []byte { return es[find(es, suffix)].data }

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// origSum is the sha256 of a sealed entry.
func (f *fixture) origSum(suffix string) string { return sum(f.data(f.orig, suffix)) }

// writeArchive replaces the archive's bytes and signs them again with the
// sealing key, so that only the check under test fails.
func (f *fixture) writeArchive(data []byte) {
	f.t.Helper()
	overwrite(f.t, f.archive, data)
	f.signOuter(f.archive, f.signer, NamespaceArchive)
}

// signOuter writes path.sig over path's bytes.
func (f *fixture) signOuter(path string, signer ssh.Signer, ns string) {
	f.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	d := sha512.Sum512(data)
	sig, err := SignDigest(signer, ns, HashSHA512, d[:])
	if err != nil {
		f.t.Fatal(err)
	}
	overwrite(f.t, strings.TrimSuffix(path, EncryptedSuffix)+".sig", sig)
}

// resignInner recomputes the tag manifest of es and signs it with signer,
// as an insider holding the key could.
func (f *fixture) resignInner(es []entry, signer ssh.Signer) []entry {
	f.t.Helper()
	var lines []ManifestLine
	for _, name := range tagFiles {
		lines = append(lines, ManifestLine{SHA256: sum(f.data(es, "/"+name)), Path: name})
	}
	tm := FormatManifest(lines)
	sig, err := Sign(signer, NamespaceEvidence, bytes.NewReader(tm))
	if err != nil {
		f.t.Fatal(err)
	}
	es[find(es, "/"+TagManifestTxt)].data = tm
	es[find(es, "/"+InnerSigFile)].data = sig
	return es
}

// badOuter is the failure of an outer signature left over other bytes.
func (f *fixture) badOuter() Failure {
	return Failure{f.plain + ".sig", CheckOuterSignature, "sshsig: bad signature by ssh-ed25519 key " + f.fp + ": ssh: signature did not verify"}
}

func (f *fixture) badInner() Failure {
	return Failure{InnerSigFile, CheckInnerSignature, "sshsig: bad signature by ssh-ed25519 key " + f.fp + ": ssh: signature did not verify"}
}

func manifestMismatch(file, got, want string) Failure {
	return Failure{file, CheckManifestChecksum, fmt.Sprintf("sha256 %s, %s says %s", got, ManifestTxt, want)}
}

func tagMismatch(file, got, want string) Failure {
	return Failure{file, CheckTagManifestChecksum, fmt.Sprintf("sha256 %s, %s says %s", got, TagManifestTxt, want)}
}

func (f *fixture) oxum(es []entry, files int) Failure {
	var total int
	for _, e := range f.orig {
		if strings.Contains(e.hdr.Name, "/data/") && e.hdr.Typeflag == tar.TypeReg {
			total += len(e.data)
		}
	}
	var now, n int
	for _, e := range es {
		if strings.Contains(e.hdr.Name, "/data/") && e.hdr.Typeflag == tar.TypeReg {
			now += len(e.data)
			n++
		}
	}
	return Failure{BagInfoTxt, CheckOxum, fmt.Sprintf("says %d bytes in %d files, payload has %d bytes in %d files", total, files, now, n)}
}

// mallory is a key nobody trusts.
func mallory(t testing.TB) ssh.Signer {
	_, s, err := GenerateKey("mallory@example.org")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawSSHSIG builds an SSHSIG by hand, for signatures custos would never
// make: any version, namespace and hash algorithm.
func rawSSHSIG(t testing.TB, signer ssh.Signer, version uint32, ns, hashAlg string, msg []byte) []byte {
	t.Helper()
	var digest []byte
	switch hashAlg {
	case HashSHA512:
		d := sha512.Sum512(msg)
		digest = d[:]
	default:
		d := sha256.Sum256(msg)
		digest = d[:]
	}
	sig, err := signer.Sign(nil, signedData(ns, hashAlg, digest))
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte(sigMagic)
	blob = binary.BigEndian.AppendUint32(blob, version)
	blob = appendString(blob, signer.PublicKey().Marshal())
	blob = appendString(blob, []byte(ns))
	blob = appendString(blob, nil)
	blob = appendString(blob, []byte(hashAlg))
	blob = appendString(blob, ssh.Marshal(sig))
	return armor(blob)
}

// patchHeader changes the header block of the entry named name in a raw
// tar stream and fixes its checksum: for header tricks archive/tar will
// not write.
func patchHeader(t testing.TB, raw []byte, name string, patch func(blk []byte)) []byte {
	t.Helper()
	raw = bytes.Clone(raw)
	for off := 0; off+tarBlock <= len(raw); off += tarBlock {
		blk := raw[off : off+tarBlock]
		if cString(blk[0:100]) != name {
			continue
		}
		patch(blk)
		copy(blk[148:156], "        ")
		var s int
		for _, c := range blk {
			s += int(c)
		}
		copy(blk[148:156], fmt.Sprintf("%06o\x00 ", s))
		return raw
	}
	t.Fatalf("no header block named %q", name)
	return nil
}

// tamperCase is one way to tamper with an archive. tar edits its entries
// (then it is recompressed, and re-signed unless staleOuter); container
// edits the compressed bytes of the entries; disk changes files next to
// it and returns the path to verify; anchors replaces the trusted signers.
type tamperCase struct {
	name       string
	tar        func(f *fixture, es []entry) []entry
	rawTar     func(f *fixture, raw []byte) []byte
	container  func(f *fixture, raw []byte) []byte
	staleOuter bool
	disk       func(f *fixture) string
	anchors    func(f *fixture) *AllowedSigners
	want       func(f *fixture, es []entry) []Failure
}

func (tc tamperCase) run(t *testing.T) {
	f := newFixture(t)
	es := f.entries()
	if tc.tar != nil {
		es = tc.tar(f, es)
	}
	if tc.tar != nil || tc.rawTar != nil || tc.container != nil {
		raw := tarBytes(t, es)
		if tc.rawTar != nil {
			raw = tc.rawTar(f, raw)
		}
		var z []byte
		if tc.container != nil {
			z = tc.container(f, raw)
		} else {
			z = compress(t, raw)
		}
		if tc.staleOuter {
			overwrite(t, f.archive, z)
		} else {
			f.writeArchive(z)
		}
	}
	path := f.archive
	if tc.disk != nil {
		path = tc.disk(f)
	}
	anchors := f.anchors
	if tc.anchors != nil {
		anchors = tc.anchors(f)
	}
	rep, err := VerifyArchive(path, VerifyOptions{Anchors: anchors})
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a VerifyError", err)
	}
	if rep == nil {
		t.Fatal("no report with the VerifyError")
	}
	want := tc.want(f, es)
	sortFailures(want)
	got := slices.Clone(ve.Failures)
	sortFailures(got)
	if !slices.Equal(got, want) {
		t.Errorf("failures:\n%s\nwant:\n%s", failureList(got), failureList(want))
	}
	// Every failure is in the report's check list too.
	var fails []Failure
	for _, c := range rep.Results {
		if c.Status == StatusFail {
			fails = append(fails, Failure{c.File, c.Check, c.Detail})
		}
	}
	sortFailures(fails)
	if !slices.Equal(fails, got) {
		t.Errorf("report checks disagree with the error:\n%s", failureList(fails))
	}
}

func sortFailures(fs []Failure) {
	slices.SortFunc(fs, func(a, b Failure) int {
		return strings.Compare(a.File+"\x00"+a.Check+"\x00"+a.Detail, b.File+"\x00"+b.Check+"\x00"+b.Detail)
	})
}

func failureList(fs []Failure) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %q, %q, %q\n", f.File, f.Check, f.Detail)
	}
	return b.String()
}

// one returns a want func for a fixed list of failures.
func one(fs ...func(f *fixture) Failure) func(f *fixture, es []entry) []Failure {
	return func(f *fixture, _ []entry) []Failure {
		var out []Failure
		for _, fn := range fs {
			out = append(out, fn(f))
		}
		return out
	}
}

func fixed(file, check, detail string) func(f *fixture) Failure {
	return func(*fixture) Failure { return Failure{file, check, detail} }
}

func outer(f *fixture) Failure { return f.badOuter() }

const (
	raw1    = "data/raw/intune/000001.json"
	devices = "data/records/devices.ndjson"
	apps    = "data/records/apps.ndjson"
)

func TestVerifyTamperPayload(t *testing.T) {
	for _, tc := range []tamperCase{
		{name: "1 payload byte flipped", tar: func(f *fixture, es []entry) []entry {
			f.data(es, raw1)[2] ^= 1
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{manifestMismatch(raw1, sum(f.data(es, raw1)), f.origSum(raw1))}
		}},
		{name: "1 payload byte flipped, outer signature not renewed", staleOuter: true, tar: func(f *fixture, es []entry) []entry {
			f.data(es, raw1)[2] ^= 1
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{manifestMismatch(raw1, sum(f.data(es, raw1)), f.origSum(raw1)), f.badOuter()}
		}},
		{name: "2 payload truncated", tar: func(f *fixture, es []entry) []entry {
			i := find(es, devices)
			es[i].data = es[i].data[:len(es[i].data)-1]
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{manifestMismatch(devices, sum(f.data(es, devices)), f.origSum(devices)), f.oxum(es, 5)}
		}},
		{name: "2 payload extended", tar: func(f *fixture, es []entry) []entry {
			i := find(es, devices)
			es[i].data = append(es[i].data, "{}\n"...)
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{manifestMismatch(devices, sum(f.data(es, devices)), f.origSum(devices)), f.oxum(es, 5)}
		}},
		{name: "2 empty payload file filled", tar: func(f *fixture, es []entry) []entry {
			es[find(es, apps)].data = []byte("{}\n")
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{manifestMismatch(apps, sum([]byte("{}\n")), sum(nil)), f.oxum(es, 5)}
		}},
		{name: "3 file added under data", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("data/raw/intune/000009.json", []byte("{}")))
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{{"data/raw/intune/000009.json", CheckCompleteness, "payload file not in manifest-sha256.txt"}, f.oxum(es, 5)}
		}},
		{name: "3 empty file added under data", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("data/records/zz.ndjson", nil))
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{{"data/records/zz.ndjson", CheckCompleteness, "payload file not in manifest-sha256.txt"}, f.oxum(es, 5)}
		}},
		{name: "3 directory added under data", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.dir("data/extra"))
		}, want: one(fixed("data/extra", CheckCompleteness, "empty directory (custos writes only the directories of its files)"))},
		{name: "3 directory and file added under data", tar: func(f *fixture, es []entry) []entry {
			return insert(insert(es, f.dir("data/extra")), f.file("data/extra/x.json", []byte("{}")))
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{{"data/extra/x.json", CheckCompleteness, "payload file not in manifest-sha256.txt"}, f.oxum(es, 5)}
		}},
		{name: "4 tag file added", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("notes.txt", []byte("hello")))
		}, want: one(fixed("notes.txt", CheckCompleteness, "unexpected file outside data/"))},
		{name: "4 extra manifest added", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("manifest-sha512.txt", nil))
		}, want: one(fixed("manifest-sha512.txt", CheckCompleteness, "unexpected file outside data/"))},
		{name: "4 file added under signatures", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("signatures/other.sig", []byte("x")))
		}, want: one(fixed("signatures/other.sig", CheckCompleteness, "unexpected file outside data/"))},
		{name: "4 directory added outside data", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.dir("extra"))
		}, want: one(fixed("extra", CheckCompleteness, "empty directory (custos writes only the directories of its files)"))},
		{name: "4 directory with a file added outside data", tar: func(f *fixture, es []entry) []entry {
			return insert(insert(es, f.dir("extra")), f.file("extra/x", []byte("x")))
		}, want: one(fixed("extra/x", CheckCompleteness, "unexpected file outside data/"))},
		{name: "5 payload file removed", tar: func(f *fixture, es []entry) []entry {
			return remove(es, devices)
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{{devices, CheckCompleteness, "listed in manifest-sha256.txt but missing"}, f.oxum(es, 5)}
		}},
		{name: "5 manifest removed", tar: func(f *fixture, es []entry) []entry {
			return remove(es, "/"+ManifestTxt)
		}, want: one(fixed(ManifestTxt, CheckCompleteness, "missing"))},
		{name: "5 tag manifest removed", tar: func(f *fixture, es []entry) []entry {
			return remove(es, "/"+TagManifestTxt)
		}, want: one(fixed(TagManifestTxt, CheckCompleteness, "missing"))},
		{name: "5 bagit.txt removed", tar: func(f *fixture, es []entry) []entry {
			return remove(es, "/"+BagitTxt)
		}, want: one(fixed(BagitTxt, CheckCompleteness, "missing"))},
		{name: "5 bag-info.txt removed", tar: func(f *fixture, es []entry) []entry {
			return remove(es, "/"+BagInfoTxt)
		}, want: one(fixed(BagInfoTxt, CheckCompleteness, "missing: it must precede data/, whose size its Payload-Oxum bounds"))},
		{name: "5 inner signature removed", tar: func(f *fixture, es []entry) []entry {
			return remove(remove(es, "/"+InnerSigFile), "/signatures/")
		}, want: one(fixed(InnerSigFile, CheckInnerSignature, "missing"))},
		{name: "5 inner signature removed, directory left", tar: func(f *fixture, es []entry) []entry {
			return remove(es, "/"+InnerSigFile)
		}, want: one(fixed(InnerSigFile, CheckInnerSignature, "missing"),
			fixed("signatures", CheckCompleteness, "empty directory (custos writes only the directories of its files)"))},
		{name: "5 outer signature removed", disk: func(f *fixture) string {
			os.Remove(f.archive + ".sig")
			return f.archive
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain + ".sig", CheckOuterSignature, "cannot read the archive's signature: open " + f.archive + ".sig: no such file or directory"}}
		}},
		{name: "6 payload file renamed", tar: func(f *fixture, es []entry) []entry {
			return insert(remove(es, devices), renamed(es, devices, "devices", "devices2"))
		}, want: one(fixed(devices, CheckCompleteness, "listed in manifest-sha256.txt but missing"),
			fixed("data/records/devices2.ndjson", CheckCompleteness, "payload file not in manifest-sha256.txt"))},
		{name: "6 payload file moved", tar: func(f *fixture, es []entry) []entry {
			return insert(remove(es, raw1), renamed(es, raw1, "raw/intune/", "raw/"))
		}, want: one(fixed(raw1, CheckCompleteness, "listed in manifest-sha256.txt but missing"),
			fixed("data/raw/000001.json", CheckCompleteness, "payload file not in manifest-sha256.txt"))},
		{name: "6 tag file moved into data", tar: func(f *fixture, es []entry) []entry {
			return insert(remove(es, "/"+BagitTxt), renamed(es, "/"+BagitTxt, BagitTxt, "data/"+BagitTxt))
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{{BagitTxt, CheckCompleteness, "missing"}, {"data/bagit.txt", CheckCompleteness, "payload file not in manifest-sha256.txt"}, f.oxum(es, 5)}
		}},
		{name: "7 two payload files swapped", tar: func(f *fixture, es []entry) []entry {
			i, j := find(es, raw1), find(es, devices)
			es[i].data, es[j].data = es[j].data, es[i].data
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{manifestMismatch(raw1, f.origSum(devices), f.origSum(raw1)), manifestMismatch(devices, f.origSum(raw1), f.origSum(devices))}
		}},
		{name: "8 manifest edited to match", tar: func(f *fixture, es []entry) []entry {
			return editToMatch(f, es)
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{tagMismatch(ManifestTxt, sum(f.data(es, "/"+ManifestTxt)), f.origSum("/"+ManifestTxt))}
		}},
		{name: "8 manifest and tag manifest edited to match", tar: func(f *fixture, es []entry) []entry {
			es = editToMatch(f, es)
			sig := f.data(es, InnerSigFile)
			es = f.resignInner(es, f.signer)
			es[find(es, InnerSigFile)].data = sig
			return es
		}, want: one((*fixture).badInner)},
	} {
		t.Run(tc.name, tc.run)
	}
}

// renamed returns a copy of the entry ending in suffix with old replaced
// by new in its name.
func renamed(es []entry, suffix, old, new string) entry {
	e := es[find(es, suffix)]
	h := *e.hdr
	h.Name = strings.Replace(h.Name, old, new, 1)
	return entry{&h, e.data}
}

// editToMatch flips a payload byte and updates its manifest line.
func editToMatch(f *fixture, es []entry) []entry {
	d := f.data(es, raw1)
	old := sum(d)
	d[2] ^= 1
	i := find(es, "/"+ManifestTxt)
	es[i].data = bytes.Replace(es[i].data, []byte(old), []byte(sum(d)), 1)
	return es
}

// editManifest replaces text in the manifest and signs the result as an
// insider could, so that only the manifest checks judge it.
func editManifest(old, new string) func(f *fixture, es []entry) []entry {
	return func(f *fixture, es []entry) []entry {
		i := find(es, "/"+ManifestTxt)
		if !bytes.Contains(es[i].data, []byte(old)) {
			panic("manifest has no " + old)
		}
		es[i].data = bytes.Replace(es[i].data, []byte(old), []byte(new), 1)
		return f.resignInner(es, f.signer)
	}
}

func TestVerifyTamperManifest(t *testing.T) {
	format := func(detail string) func(*fixture, []entry) []Failure {
		return one(fixed(ManifestTxt, CheckManifestFormat, detail))
	}
	for _, tc := range []tamperCase{
		{name: "9 path listed twice", tar: func(f *fixture, es []entry) []entry {
			line := f.origSum(raw1) + "  " + raw1 + "\n"
			return editManifest(line, line+line)(f, es)
		}, want: format("line 3: data/raw/intune/000001.json is out of order or listed twice")},
		{name: "9 one space", tar: func(f *fixture, es []entry) []entry {
			return editManifest("  "+raw1, " "+raw1)(f, es)
		}, want: format(`line 2: want "<64 lower-case hex>  <path>"`)},
		{name: "9 tab", tar: func(f *fixture, es []entry) []entry {
			return editManifest("  "+raw1, "\t"+raw1)(f, es)
		}, want: format(`line 2: want "<64 lower-case hex>  <path>"`)},
		{name: "9 upper-case hex", tar: func(f *fixture, es []entry) []entry {
			s := f.origSum(raw1)
			return editManifest(s, strings.ToUpper(s))(f, es)
		}, want: format(`line 2: want "<64 lower-case hex>  <path>"`)},
		{name: "9 BOM", tar: func(f *fixture, es []entry) []entry {
			m := string(f.data(es, "/"+ManifestTxt))
			return editManifest(m, "\ufeff"+m)(f, es)
		}, want: format(`line 1: want "<64 lower-case hex>  <path>"`)},
		{name: "9 CRLF", tar: func(f *fixture, es []entry) []entry {
			return editManifest(raw1+"\n", raw1+"\r\n")(f, es)
		}, want: format(`line 2: entry name "data/raw/intune/000001.json\r": byte 0x0d not allowed (use A-Z a-z 0-9 . _ -)`)},
		{name: "9 no final newline", tar: func(f *fixture, es []entry) []entry {
			m := string(f.data(es, "/"+ManifestTxt))
			return editManifest(m, strings.TrimSuffix(m, "\n"))(f, es)
		}, want: format("last line does not end with a newline")},
		{name: "9 unsorted", tar: func(f *fixture, es []entry) []entry {
			m := string(f.data(es, "/"+ManifestTxt))
			lines := strings.SplitAfter(m, "\n")
			lines[0], lines[1] = lines[1], lines[0]
			return editManifest(m, strings.Join(lines, ""))(f, es)
		}, want: format("line 2: data/provenance/acquisition.json is out of order or listed twice")},
		{name: "9 manifest edited without resigning", tar: func(f *fixture, es []entry) []entry {
			i := find(es, "/"+ManifestTxt)
			es[i].data = bytes.Replace(es[i].data, []byte("  "+raw1), []byte(" "+raw1), 1)
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{
				tagMismatch(ManifestTxt, sum(f.data(es, "/"+ManifestTxt)), f.origSum("/"+ManifestTxt)),
				{ManifestTxt, CheckManifestFormat, `line 2: want "<64 lower-case hex>  <path>"`},
			}
		}},
		{name: "10 parent directory", tar: func(f *fixture, es []entry) []entry {
			return editManifest(raw1, "data/../../etc/passwd")(f, es)
		}, want: format(`line 2: entry name "data/../../etc/passwd": bad path component ".."`)},
		{name: "10 absolute", tar: func(f *fixture, es []entry) []entry {
			return editManifest(raw1, "/etc/passwd")(f, es)
		}, want: format(`line 2: entry name "/etc/passwd": bad path component ""`)},
		{name: "10 home", tar: func(f *fixture, es []entry) []entry {
			return editManifest(raw1, "data/~root/x")(f, es)
		}, want: format(`line 2: entry name "data/~root/x": character '~' not allowed (use A-Z a-z 0-9 . _ -)`)},
		{name: "10 backslash", tar: func(f *fixture, es []entry) []entry {
			return editManifest(raw1, `data\..\x`)(f, es)
		}, want: format(`line 2: entry name "data\\..\\x": character '\\' not allowed (use A-Z a-z 0-9 . _ -)`)},
		{name: "10 drive letter", tar: func(f *fixture, es []entry) []entry {
			return editManifest(raw1, "C:/Windows/x")(f, es)
		}, want: format(`line 2: entry name "C:/Windows/x": character ':' not allowed (use A-Z a-z 0-9 . _ -)`)},
		{name: "10 NUL", tar: func(f *fixture, es []entry) []entry {
			return editManifest(raw1, "data/raw\x00/x")(f, es)
		}, want: format(`line 2: entry name "data/raw\x00/x": byte 0x00 not allowed (use A-Z a-z 0-9 . _ -)`)},
		{name: "10 tag file listed as payload", tar: func(f *fixture, es []entry) []entry {
			m := string(f.data(es, "/"+ManifestTxt))
			line := f.origSum("/"+BagitTxt) + "  " + BagitTxt + "\n"
			return editManifest(m, line+m)(f, es)
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{{BagitTxt, CheckManifest, "payload path outside data/"}}
		}},
		{name: "12 case id edited", tar: func(f *fixture, es []entry) []entry {
			i := find(es, "/"+BagInfoTxt)
			es[i].data = bytes.Replace(es[i].data, []byte("External-Identifier: IR-1"), []byte("External-Identifier: IR-2"), 1)
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{
				tagMismatch(BagInfoTxt, sum(f.data(es, "/"+BagInfoTxt)), f.origSum("/"+BagInfoTxt)),
				{BagInfoTxt, CheckBagIdentity, `External-Identifier "IR-2" and Internal-Sender-Identifier "` + testAcq + `" do not name bag "` + f.bag + `"`},
			}
		}},
		{name: "12 seal time edited", tar: func(f *fixture, es []entry) []entry {
			i := find(es, "/"+BagInfoTxt)
			es[i].data = bytes.Replace(es[i].data, []byte("Sealed-At-UTC: 2026-11-26T10:00:00Z"), []byte("Sealed-At-UTC: 2026-11-20T10:00:00Z"), 1)
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{tagMismatch(BagInfoTxt, sum(f.data(es, "/"+BagInfoTxt)), f.origSum("/"+BagInfoTxt))}
		}},
		{name: "12 Payload-Oxum edited", tar: func(f *fixture, es []entry) []entry {
			i := find(es, "/"+BagInfoTxt)
			es[i].data = bytes.Replace(es[i].data, []byte(".5\n"), []byte(".6\n"), 1)
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			o := f.oxum(es, 6)
			return []Failure{tagMismatch(BagInfoTxt, sum(f.data(es, "/"+BagInfoTxt)), f.origSum("/"+BagInfoTxt)), o}
		}},
		{name: "12 Payload-Oxum edited and signed", tar: func(f *fixture, es []entry) []entry {
			i := find(es, "/"+BagInfoTxt)
			es[i].data = bytes.Replace(es[i].data, []byte(".5\n"), []byte(".6\n"), 1)
			return f.resignInner(es, f.signer)
		}, want: func(f *fixture, es []entry) []Failure { return []Failure{f.oxum(es, 6)} }},
		{name: "12 identifiers edited and signed", tar: func(f *fixture, es []entry) []entry {
			i := find(es, "/"+BagInfoTxt)
			es[i].data = bytes.Replace(es[i].data, []byte("Internal-Sender-Identifier: "+testAcq), []byte("Internal-Sender-Identifier: other"), 1)
			return f.resignInner(es, f.signer)
		}, want: func(f *fixture, es []entry) []Failure {
			return []Failure{{BagInfoTxt, CheckBagIdentity, `External-Identifier "IR-1" and Internal-Sender-Identifier "other" do not name bag "` + f.bag + `"`}}
		}},
		{name: "12 Payload-Oxum malformed", tar: func(f *fixture, es []entry) []entry {
			i := find(es, "/"+BagInfoTxt)
			es[i].data = bytes.Replace(es[i].data, []byte("Payload-Oxum: "), []byte("Payload-Oxum: x"), 1)
			return es
		}, want: func(f *fixture, es []entry) []Failure {
			_, oxum, _ := strings.Cut(string(f.data(es, "/"+BagInfoTxt)), "Payload-Oxum: ")
			oxum, _, _ = strings.Cut(oxum, "\n")
			return []Failure{{BagInfoTxt, CheckOxum, fmt.Sprintf("Payload-Oxum %q: want OCTETS.FILES", oxum)}}
		}},
		{name: "12 bag-info malformed", tar: func(f *fixture, es []entry) []entry {
			i := find(es, "/"+BagInfoTxt)
			es[i].data = append([]byte("no colon\n"), es[i].data...)
			return es
		}, want: one(fixed(BagInfoTxt, CheckBagInfoFormat, `line 1: want "Label: value"`))},
	} {
		t.Run(tc.name, tc.run)
	}
}

// withInnerSig replaces the inner signature.
func withInnerSig(sig func(f *fixture, tagManifest []byte) []byte) func(*fixture, []entry) []entry {
	return func(f *fixture, es []entry) []entry {
		es[find(es, InnerSigFile)].data = sig(f, f.data(es, "/"+TagManifestTxt))
		return es
	}
}

func TestVerifyTamperSignatures(t *testing.T) {
	var other ssh.Signer
	signWith := func(ns string) func(f *fixture, tm []byte) []byte {
		return func(f *fixture, tm []byte) []byte {
			s, err := Sign(f.signer, ns, bytes.NewReader(tm))
			if err != nil {
				f.t.Fatal(err)
			}
			return s
		}
	}
	unknown := func(fp string) string {
		return "allowed_signers: ssh-ed25519 key " + fp + ": key is not listed"
	}
	for _, tc := range []tamperCase{
		{name: "14 inner signature by another key", tar: withInnerSig(func(f *fixture, tm []byte) []byte {
			other = mallory(f.t)
			s, _ := Sign(other, NamespaceEvidence, bytes.NewReader(tm))
			return s
		}), want: func(f *fixture, _ []entry) []Failure {
			fp := Fingerprint(other.PublicKey())
			return []Failure{{InnerSigFile, CheckInnerSigner, fp + ": " + unknown(fp)}}
		}},
		{name: "14 outer signature by another key", disk: func(f *fixture) string {
			other = mallory(f.t)
			f.signOuter(f.archive, other, NamespaceArchive)
			return f.archive
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain + ".sig", CheckOuterSignature, unknown(Fingerprint(other.PublicKey()))}}
		}},
		{name: "14 unknown signer", anchors: func(f *fixture) *AllowedSigners {
			other = mallory(f.t)
			a, _ := ParseAllowedSigners(strings.NewReader(AllowedSignersLine("mallory@example.org", nil, other.PublicKey()) + "\n"))
			return a
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{InnerSigFile, CheckInnerSigner, f.fp + ": " + unknown(f.fp)}, {f.plain + ".sig", CheckOuterSignature, unknown(f.fp)}}
		}},
		{name: "15 inner signature in namespace file", tar: withInnerSig(signWith("file")),
			want: one(fixed(InnerSigFile, CheckInnerSignature, `sshsig: namespace mismatch: signature is for "file", expected "custos-evidence"`))},
		{name: "15 inner signature in namespace git", tar: withInnerSig(signWith("git")),
			want: one(fixed(InnerSigFile, CheckInnerSignature, `sshsig: namespace mismatch: signature is for "git", expected "custos-evidence"`))},
		{name: "15 inner signature in the archive namespace", tar: withInnerSig(signWith(NamespaceArchive)),
			want: one(fixed(InnerSigFile, CheckInnerSignature, `sshsig: namespace mismatch: signature is for "custos-archive", expected "custos-evidence"`))},
		{name: "15 inner signature with an empty namespace", tar: withInnerSig(func(f *fixture, tm []byte) []byte {
			return rawSSHSIG(f.t, f.signer, 1, "", HashSHA512, tm)
		}), want: one(fixed(InnerSigFile, CheckInnerSignature, "sshsig: namespace must not be empty"))},
		{name: "15 outer signature in the evidence namespace", disk: func(f *fixture) string {
			f.signOuter(f.archive, f.signer, NamespaceEvidence)
			return f.archive
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain + ".sig", CheckOuterSignature, `sshsig: namespace mismatch: signature is for "custos-evidence", expected "custos-archive"`}}
		}},
		{name: "15 key trusted for custody only", anchors: func(f *fixture) *AllowedSigners {
			a, _ := ParseAllowedSigners(strings.NewReader(AllowedSignersLine("alice@example.org", []string{NamespaceCustody}, f.signer.PublicKey()) + "\n"))
			return a
		}, want: func(f *fixture, _ []entry) []Failure {
			refused := func(ns string) string {
				return "allowed_signers: ssh-ed25519 key " + f.fp + " refused: line 1: namespace not allowed: \"" + ns + "\" not in namespaces=\"custos-custody\""
			}
			return []Failure{{InnerSigFile, CheckInnerSigner, f.fp + ": " + refused(NamespaceEvidence)}, {f.plain + ".sig", CheckOuterSignature, refused(NamespaceArchive)}}
		}},
		{name: "16 inner signature spliced from another archive", tar: withInnerSig(func(f *fixture, tm []byte) []byte {
			s, _ := Sign(f.signer, NamespaceEvidence, bytes.NewReader(bytes.Replace(tm, []byte("a"), []byte("b"), 1)))
			return s
		}), want: one((*fixture).badInner)},
		{name: "16 outer signature spliced from another archive", disk: func(f *fixture) string {
			other := filepath.Join(t.TempDir(), f.plain)
			overwrite(f.t, other, compress(f.t, tarBytes(f.t, remove(f.entries(), apps))))
			f.signOuter(other, f.signer, NamespaceArchive)
			sig, _ := os.ReadFile(other + ".sig")
			overwrite(f.t, f.archive+".sig", sig)
			return f.archive
		}, want: one(outer)},
		{name: "17 allowed_signers inside the bag", tar: func(f *fixture, es []entry) []entry {
			other = mallory(f.t)
			line := AllowedSignersLine("alice@example.org", nil, other.PublicKey()) + "\n"
			es = f.resignInner(insert(es, f.file("allowed_signers", []byte(line))), other)
			return es
		}, container: func(f *fixture, raw []byte) []byte { return compress(f.t, raw) }, disk: func(f *fixture) string {
			f.signOuter(f.archive, other, NamespaceArchive)
			return f.archive
		}, want: func(f *fixture, _ []entry) []Failure {
			fp := Fingerprint(other.PublicKey())
			return []Failure{
				{"allowed_signers", CheckCompleteness, "unexpected file outside data/"},
				{InnerSigFile, CheckInnerSigner, fp + ": " + unknown(fp)},
				{f.plain + ".sig", CheckOuterSignature, unknown(fp)},
			}
		}},
		{name: "18 key expired before the seal", anchors: func(f *fixture) *AllowedSigners {
			return anchorsWith(f.t, f, `valid-before="20261101Z"`)
		}, want: func(f *fixture, _ []entry) []Failure {
			refused := "allowed_signers: ssh-ed25519 key " + f.fp + " refused: line 1: key expired: 2026-11-26T10:00:00Z is after valid-before 2026-11-01T00:00:00Z"
			return []Failure{{InnerSigFile, CheckInnerSigner, f.fp + ": " + refused}, {f.plain + ".sig", CheckOuterSignature, refused}}
		}},
		{name: "18 key not yet valid at the seal", anchors: func(f *fixture) *AllowedSigners {
			return anchorsWith(f.t, f, `valid-after="20261127Z"`)
		}, want: func(f *fixture, _ []entry) []Failure {
			refused := "allowed_signers: ssh-ed25519 key " + f.fp + " refused: line 1: key not yet valid: 2026-11-26T10:00:00Z is before valid-after 2026-11-27T00:00:00Z"
			return []Failure{{InnerSigFile, CheckInnerSigner, f.fp + ": " + refused}, {f.plain + ".sig", CheckOuterSignature, refused}}
		}},
		{name: "19 signature version 2", tar: withInnerSig(func(f *fixture, tm []byte) []byte {
			return rawSSHSIG(f.t, f.signer, 2, NamespaceEvidence, HashSHA512, tm)
		}), want: one(fixed(InnerSigFile, CheckInnerSignature, "sshsig: unsupported signature version 2 (only 1 is supported)"))},
		{name: "19 hash sha1", tar: withInnerSig(func(f *fixture, tm []byte) []byte {
			return rawSSHSIG(f.t, f.signer, 1, NamespaceEvidence, "sha1", tm)
		}), want: one(fixed(InnerSigFile, CheckInnerSignature, `sshsig: unsupported hash algorithm "sha1" (want sha256 or sha512)`))},
		{name: "19 trailing garbage after the footer", tar: withInnerSig(func(f *fixture, tm []byte) []byte {
			s, _ := Sign(f.signer, NamespaceEvidence, bytes.NewReader(tm))
			return append(s, "garbage\n"...)
		}), want: one(fixed(InnerSigFile, CheckInnerSignature, "sshsig: unexpected data after footer"))},
		{name: "19 malformed armor", tar: withInnerSig(func(f *fixture, tm []byte) []byte {
			s, _ := Sign(f.signer, NamespaceEvidence, bytes.NewReader(tm))
			return bytes.TrimSuffix(s, []byte("-----END SSH SIGNATURE-----\n"))
		}), want: one(fixed(InnerSigFile, CheckInnerSignature, `sshsig: missing "-----END SSH SIGNATURE-----" footer`))},
		{name: "19 outer signature over sha256", disk: func(f *fixture) string {
			data, _ := os.ReadFile(f.archive)
			overwrite(f.t, f.archive+".sig", rawSSHSIG(f.t, f.signer, 1, NamespaceArchive, HashSHA256, data))
			return f.archive
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain + ".sig", CheckOuterSignature, "hash algorithm sha256; custos signs archives with sha512"}}
		}},
		{name: "19 outer signature not a signature", disk: func(f *fixture) string {
			overwrite(f.t, f.archive+".sig", []byte("hello\n"))
			return f.archive
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain + ".sig", CheckOuterSignature, `sshsig: missing "-----BEGIN SSH SIGNATURE-----" header at start of signature`}}
		}},
	} {
		t.Run(tc.name, tc.run)
	}
}

// anchorsWith trusts the fixture's key with extra allowed_signers options.
func anchorsWith(t *testing.T, f *fixture, opts string) *AllowedSigners {
	t.Helper()
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(f.signer.PublicKey())))
	a, err := ParseAllowedSigners(strings.NewReader(`alice@example.org namespaces="custos-evidence,custos-archive",` + opts + " " + key + "\n"))
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func TestVerifyTamperTar(t *testing.T) {
	structure := func(file, detail string) func(*fixture, []entry) []Failure {
		return one(fixed(file, CheckTar, detail))
	}
	retype := func(suffix string, typ byte, link string) func(f *fixture, es []entry) []entry {
		return func(f *fixture, es []entry) []entry {
			e := f.file(suffix, nil)
			e.hdr.Typeflag, e.hdr.Linkname = typ, link
			return insert(es, e)
		}
	}
	for _, tc := range []tamperCase{
		{name: "25 data after the end of the tar archive", rawTar: func(f *fixture, raw []byte) []byte {
			return append(raw, "appended"...)
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain, CheckTar, "data after the end of the tar archive"}}
		}},
		{name: "25 zero records after the end blocks", rawTar: func(f *fixture, raw []byte) []byte {
			return append(raw, make([]byte, 10240)...)
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain, CheckTar, "data after the end of the tar archive"}}
		}},
		{name: "25 end blocks missing", rawTar: func(f *fixture, raw []byte) []byte {
			return raw[:len(raw)-2*tarBlock]
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain, CheckTar, "the end-of-archive blocks are missing (the tar stream was cut after tagmanifest-sha256.txt)"}}
		}},
		{name: "25 one end block missing", rawTar: func(f *fixture, raw []byte) []byte {
			return raw[:len(raw)-tarBlock]
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain, CheckTar, "the end-of-archive blocks are missing (the tar stream was cut after tagmanifest-sha256.txt)"}}
		}},
		{name: "25 tar cut inside an entry", rawTar: func(f *fixture, raw []byte) []byte {
			return raw[:len(raw)-2*tarBlock-tarBlock-10]
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain, CheckTar, "reading the tar stream: unexpected EOF"}}
		}},
		{name: "26 duplicate payload entry", tar: func(f *fixture, es []entry) []entry {
			return insert(es, es[find(es, raw1)])
		}, want: structure(raw1, "duplicate entry")},
		{name: "26 tag manifest shadowed by a later entry", tar: func(f *fixture, es []entry) []entry {
			e := es[find(es, "/"+TagManifestTxt)]
			return append(es, entry{e.hdr, []byte("forged")})
		}, want: structure(TagManifestTxt, "duplicate entry")},
		{name: "26 duplicate directory", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.dir("data/records"))
		}, want: structure("data/records", "duplicate entry")},
		{name: "26 bag directory twice", tar: func(f *fixture, es []entry) []entry {
			return append(es, es[0])
		}, want: func(f *fixture, _ []entry) []Failure { return []Failure{{f.bag, CheckTar, "duplicate entry"}} }},
		{name: "26 entries out of order", tar: func(f *fixture, es []entry) []entry {
			i := find(es, apps)
			e := es[i]
			return append(slices.Delete(es, i, i+1), e)
		}, want: structure(apps, "entry out of order after tagmanifest-sha256.txt (custos writes entries sorted by name)")},
		{name: "27 symlink", tar: retype("data/link", tar.TypeSymlink, "/etc/passwd"),
			want: structure("data/link", `entry type '2' is not a regular file or directory`)},
		{name: "27 hard link", tar: retype("data/link", tar.TypeLink, "IR-1/bagit.txt"),
			want: structure("data/link", `entry type '1' is not a regular file or directory`)},
		{name: "27 character device", tar: retype("data/dev", tar.TypeChar, ""),
			want: structure("data/dev", `entry type '3' is not a regular file or directory`)},
		{name: "27 block device", tar: retype("data/dev", tar.TypeBlock, ""),
			want: structure("data/dev", `entry type '4' is not a regular file or directory`)},
		{name: "27 FIFO", tar: retype("data/fifo", tar.TypeFifo, ""),
			want: structure("data/fifo", `entry type '6' is not a regular file or directory`)},
		{name: "27 contiguous file", tar: retype("data/x", tar.TypeCont, ""),
			want: structure("data/x", `entry type '7' is not a regular file or directory`)},
		{name: "27 old-style regular file", rawTar: func(f *fixture, raw []byte) []byte {
			return patchHeader(f.t, raw, f.bag+"/"+apps, func(blk []byte) { blk[156] = 0 })
		}, want: structure(apps, `entry type '\x00' is not a regular file or directory`)},
		{name: "27 sparse file", rawTar: func(f *fixture, raw []byte) []byte {
			return patchHeader(f.t, raw, f.bag+"/"+apps, func(blk []byte) { blk[156] = 'S' })
		}, want: func(f *fixture, _ []entry) []Failure {
			// archive/tar refuses a GNU sparse entry in a ustar header.
			return []Failure{{f.plain, CheckTar, "reading the tar stream: archive/tar: invalid tar header"}}
		}},
		{name: "27 global PAX header", tar: func(f *fixture, es []entry) []entry {
			h := &tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: f.bag + "/g", PAXRecords: map[string]string{"comment": "x"}, Format: tar.FormatPAX}
			return insert(es, entry{h, nil})
		}, want: structure("g", `entry type 'g' is not a regular file or directory`)},
		{name: "27 PAX path renames an entry", rawTar: func(f *fixture, _ []byte) []byte {
			// The ustar name is devices.ndjson, the PAX path evil.ndjson.
			es := f.entries()
			i := find(es, devices)
			es[i].hdr.Name = f.bag + "/data/records/evil.ndjson"
			es[i].hdr.Format = tar.FormatPAX
			es[i].hdr.PAXRecords = map[string]string{"path": es[i].hdr.Name}
			raw := tarBytes(f.t, es)
			return patchHeader(f.t, raw, f.bag+"/data/records/evil.ndjson", func(blk []byte) {
				copy(blk[0:100], make([]byte, 100))
				copy(blk[0:100], f.bag+"/"+devices)
			})
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{"data/records/evil.ndjson", CheckTar, `PAX path record renames the entry "` + f.bag + "/" + devices + `" to "` + f.bag + `/data/records/evil.ndjson"`}}
		}},
		{name: "27 PAX path for a short name", tar: func(f *fixture, es []entry) []entry {
			i := find(es, devices)
			es[i].hdr.PAXRecords = map[string]string{"path": es[i].hdr.Name}
			return es
		}, want: structure(devices, "PAX path record for a name that fits the ustar header")},
		{name: "27 PAX extended attribute", tar: func(f *fixture, es []entry) []entry {
			i := find(es, devices)
			es[i].hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.evil": "1"}
			return es
		}, want: structure(devices, `PAX record "SCHILY.xattr.user.evil" is not allowed`)},
		{name: "27 PAX link path", tar: func(f *fixture, es []entry) []entry {
			i := find(es, devices)
			es[i].hdr.Linkname = "/etc/passwd"
			es[i].hdr.PAXRecords = map[string]string{"linkpath": "/etc/passwd"}
			return es
		}, want: structure(devices, `PAX record "linkpath" is not allowed`)},
		{name: "27 GNU long name", tar: func(f *fixture, es []entry) []entry {
			long := "data/records/" + strings.Repeat("x", 120) + ".ndjson"
			e := f.file(long, []byte("x"))
			e.hdr.Format = tar.FormatGNU
			return insert(es, e)
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{"data/records/" + strings.Repeat("x", 120) + ".ndjson", CheckTar, `not a PAX or ustar header (magic "ustar  \x00")`}}
		}},
		{name: "27 ustar prefix disagrees", rawTar: func(f *fixture, raw []byte) []byte {
			return patchHeader(f.t, raw, f.bag+"/"+devices, func(blk []byte) { copy(blk[345:], "x") })
		}, want: func(f *fixture, _ []entry) []Failure {
			// archive/tar joins prefix and name; the joined name is not in the bag.
			return []Failure{{"x/" + f.bag + "/" + devices, CheckTar, `second top-level directory "x" (bag is "` + f.bag + `")`}}
		}},
		{name: "27 second top-level directory", tar: func(f *fixture, es []entry) []entry {
			h := *es[find(es, "/"+BagitTxt)].hdr
			h.Name = "other/bagit.txt"
			return append(es, entry{&h, []byte(bagitContent)})
		}, want: structure("other/bagit.txt", `second top-level directory "other" (bag is "IR-1-`+testAcq+`")`)},
		{name: "27 sibling of the bag", tar: func(f *fixture, es []entry) []entry {
			h := *es[0].hdr
			h.Name = f.bag + "-x/"
			return append(es, entry{&h, nil})
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.bag + "-x", CheckTar, `second top-level directory "` + f.bag + `-x" (bag is "` + f.bag + `")`}}
		}},
		{name: "27 parent directory in a name", tar: func(f *fixture, es []entry) []entry {
			return append(es, f.file("data/../../etc/cron.d/x", []byte("x")))
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{"data/../../etc/cron.d/x", CheckTar, `entry name "` + f.bag + `/data/../../etc/cron.d/x": bad path component ".."`}}
		}},
		{name: "27 absolute name", tar: func(f *fixture, es []entry) []entry {
			h := *es[find(es, "/"+BagitTxt)].hdr
			h.Name = "/etc/passwd"
			return append(es, entry{&h, []byte("x")})
		}, want: structure("/etc/passwd", `entry name "/etc/passwd": bad path component ""`)},
		{name: "27 bag directory not first", tar: func(f *fixture, es []entry) []entry {
			return es[1:]
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.bag + "/" + BagInfoTxt, CheckTar, "the bag directory must be the first entry"}}
		}},
		{name: "27 no parent directory", tar: func(f *fixture, es []entry) []entry {
			return remove(es, "/data/records/")
		}, want: structure(apps, "parent directory data/records is not an earlier entry")},
		{name: "27 owner", tar: func(f *fixture, es []entry) []entry {
			es[find(es, devices)].hdr.Uid = 1000
			return es
		}, want: structure(devices, `owner 1000:0 "":"" (custos writes 0:0 without names)`)},
		{name: "27 owner name", tar: func(f *fixture, es []entry) []entry {
			es[find(es, devices)].hdr.Uname = "root"
			return es
		}, want: structure(devices, `owner 0:0 "root":"" (custos writes 0:0 without names)`)},
		{name: "27 setuid", tar: func(f *fixture, es []entry) []entry {
			es[find(es, devices)].hdr.Mode = 0o4755
			return es
		}, want: structure(devices, "mode 4755 (custos writes 644)")},
		{name: "11 case-only duplicate", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("data/records/Devices.ndjson", []byte("x")))
		}, want: structure(devices, "name differs only in case from data/records/Devices.ndjson (they would collide on a case-insensitive file system)")},
		{name: "11 case-only duplicate directory", tar: func(f *fixture, es []entry) []entry {
			return insert(insert(es, f.dir("data/Records")), f.file("data/Records/x", []byte("x")))
		}, want: structure("data/records", "name differs only in case from data/Records (they would collide on a case-insensitive file system)")},
		{name: "11 Windows device name", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("data/records/con.ndjson", []byte("x")))
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{"data/records/con.ndjson", CheckTar, `entry name "` + f.bag + `/data/records/con.ndjson": component "con.ndjson" is a Windows device name`}}
		}},
		{name: "11 Windows port name", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("data/records/LPT1", []byte("x")))
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{"data/records/LPT1", CheckTar, `entry name "` + f.bag + `/data/records/LPT1": component "LPT1" is a Windows device name`}}
		}},
		{name: "11 trailing dot", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("data/records/devices.ndjson.", []byte("x")))
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{"data/records/devices.ndjson.", CheckTar, `entry name "` + f.bag + `/data/records/devices.ndjson.": component "devices.ndjson." ends with a dot`}}
		}},
		{name: "11 non-ASCII name", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("data/records/caf\u00e9", []byte("x")))
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{"data/records/caf\u00e9", CheckTar, `entry name "` + f.bag + `/data/records/café": byte 0xc3 not allowed (use A-Z a-z 0-9 . _ -)`}}
		}},
		{name: "11 leading dash", tar: func(f *fixture, es []entry) []entry {
			return insert(es, f.file("data/-rf", []byte("x")))
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{"data/-rf", CheckTar, `entry name "` + f.bag + `/data/-rf": component "-rf" starts with '-'`}}
		}},
		{name: "28 entry claims far more than the Payload-Oxum", rawTar: func(f *fixture, raw []byte) []byte {
			return bombTar(f.t, f)
		}, want: func(f *fixture, _ []entry) []Failure {
			var total int
			for _, e := range f.orig {
				if strings.Contains(e.hdr.Name, "/data/") {
					total += len(e.data)
				}
			}
			return []Failure{{"data/raw/intune/000001.json", CheckOxum, fmt.Sprintf(
				"with this entry of 1099511627776 bytes the payload would exceed the Payload-Oxum of bag-info.txt (%d bytes in 5 files) by more than 67108864 bytes or 1024 files; stopped reading", total)}}
		}},
		{name: "28 tag file claims too much", tar: func(f *fixture, es []entry) []entry {
			es[find(es, "/"+ManifestTxt)].data = make([]byte, maxTagFile+1)
			return es
		}, want: structure(ManifestTxt, "file of 67108865 bytes exceeds the 67108864-byte limit for tag files")},
	} {
		t.Run(tc.name, tc.run)
	}
}

// bombTar is the fixture's tar up to a payload entry that claims 1 TiB,
// followed by a little data: the verifier must stop at the header.
func bombTar(t *testing.T, f *fixture) []byte {
	es := f.entries()
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range es {
		h := *e.hdr
		h.Size = int64(len(e.data))
		if strings.HasSuffix(h.Name, raw1) {
			h.Size, h.Format = 1<<40, tar.FormatPAX
			if err := tw.WriteHeader(&h); err != nil {
				f.t.Fatal(err)
			}
			tw.Write(make([]byte, 1<<20))
			return raw.Bytes()
		}
		if err := tw.WriteHeader(&h); err != nil {
			f.t.Fatal(err)
		}
		tw.Write(e.data)
	}
	f.t.Fatal("no payload entry")
	return nil
}

func TestVerifyTamperContainer(t *testing.T) {
	zstdFail := func(detail string) func(f *fixture) Failure {
		return func(f *fixture) Failure { return Failure{f.plain, CheckZstd, detail} }
	}
	// The raw-block frame's layout: 6-byte header, 3-byte block header,
	// content (the test archive is one block), 4-byte checksum.
	rawLen := func(f *fixture) int { return len(tarBytes(f.t, f.entries())) }
	skippable := []byte{0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 'a', 'b', 'c'}
	for _, tc := range []tamperCase{
		{name: "22 byte flipped in the content checksum", staleOuter: true, container: func(f *fixture, raw []byte) []byte {
			z := compress(f.t, raw)
			z[len(z)-1] ^= 1
			return z
		}, want: one(zstdFail("content checksum mismatch: the decompressed bytes are not the ones compressed"), outer)},
		{name: "22 byte flipped in a payload file mid-frame", staleOuter: true, container: func(f *fixture, raw []byte) []byte {
			z := rawFrame(f.t, raw)
			i := bytes.Index(z, []byte(`{"key":"intune:a"}`))
			z[i+2] ^= 1
			return z
		}, want: one(zstdFail("content checksum mismatch: the decompressed bytes are not the ones compressed"), outer)},
		{name: "22 byte flipped in a block header", staleOuter: true, container: func(f *fixture, raw []byte) []byte {
			z := rawFrame(f.t, raw)
			z[6] |= 6 // block type 3: reserved
			return z
		}, want: one(zstdFail("block 1 at offset 6 has the reserved block type"), outer)},
		{name: "23 truncated mid-frame", staleOuter: true, container: func(f *fixture, raw []byte) []byte {
			return rawFrame(f.t, raw)[:1000]
		}, want: one(zstdFail("truncated: the data ends at offset 1000 inside the zstd block 1"), outer)},
		{name: "23 truncated before the checksum", staleOuter: true, container: func(f *fixture, raw []byte) []byte {
			z := rawFrame(f.t, raw)
			return z[:len(z)-4]
		}, want: func(f *fixture, _ []entry) []Failure {
			return []Failure{{f.plain, CheckZstd, fmt.Sprintf("truncated: the data ends at offset %d inside the zstd content checksum", 9+rawLen(f))}, f.badOuter()}
		}},
		{name: "23 truncated after the frame header", staleOuter: true, container: func(f *fixture, raw []byte) []byte {
			return rawFrame(f.t, raw)[:6]
		}, want: one(zstdFail("truncated: the data ends at offset 6 inside the zstd header of block 1"), outer)},
		{name: "23 truncated compressed archive", staleOuter: true, container: func(f *fixture, raw []byte) []byte {
			z := compress(f.t, raw)
			return z[:len(z)-4]
		}, want: func(f *fixture, _ []entry) []Failure {
			n := len(compress(f.t, tarBytes(f.t, f.entries()))) - 4
			return []Failure{{f.plain, CheckZstd, fmt.Sprintf("truncated: the data ends at offset %d inside the zstd content checksum", n)}, f.badOuter()}
		}},
		{name: "24 second frame appended", container: func(f *fixture, raw []byte) []byte {
			z := compress(f.t, raw)
			return append(z, compress(f.t, []byte("more"))...)
		}, want: func(f *fixture, _ []entry) []Failure {
			n := len(compress(f.t, tarBytes(f.t, f.entries())))
			return []Failure{{f.plain, CheckZstd, fmt.Sprintf("second zstd frame at offset %d (a custos archive is exactly one frame)", n)}}
		}},
		{name: "24 empty frame appended", container: func(f *fixture, raw []byte) []byte {
			z := compress(f.t, raw)
			return append(z, compress(f.t, nil)...)
		}, want: func(f *fixture, _ []entry) []Failure {
			n := len(compress(f.t, tarBytes(f.t, f.entries())))
			return []Failure{{f.plain, CheckZstd, fmt.Sprintf("second zstd frame at offset %d (a custos archive is exactly one frame)", n)}}
		}},
		{name: "24 empty frame appended, outer signature not renewed", staleOuter: true, container: func(f *fixture, raw []byte) []byte {
			z := compress(f.t, raw)
			return append(z, compress(f.t, nil)...)
		}, want: func(f *fixture, _ []entry) []Failure {
			n := len(compress(f.t, tarBytes(f.t, f.entries())))
			return []Failure{{f.plain, CheckZstd, fmt.Sprintf("second zstd frame at offset %d (a custos archive is exactly one frame)", n)}, f.badOuter()}
		}},
		{name: "24 skippable frame appended", container: func(f *fixture, raw []byte) []byte {
			return append(compress(f.t, raw), skippable...)
		}, want: func(f *fixture, _ []entry) []Failure {
			n := len(compress(f.t, tarBytes(f.t, f.entries())))
			return []Failure{{f.plain, CheckZstd, fmt.Sprintf("skippable frame at offset %d after the zstd frame (a custos archive is exactly one frame)", n)}}
		}},
		{name: "24 skippable frame first", container: func(f *fixture, raw []byte) []byte {
			return append(slices.Clone(skippable), compress(f.t, raw)...)
		}, want: one(zstdFail("skippable frame at offset 0 (a custos archive is exactly one zstd frame)"))},
		{name: "24 bytes appended", container: func(f *fixture, raw []byte) []byte {
			return append(compress(f.t, raw), 0, 0)
		}, want: func(f *fixture, _ []entry) []Failure {
			n := len(compress(f.t, tarBytes(f.t, f.entries())))
			return []Failure{{f.plain, CheckZstd, fmt.Sprintf("data at offset %d after the end of the zstd frame", n)}}
		}},
		{name: "24 tar split over two frames", container: func(f *fixture, raw []byte) []byte {
			return append(compress(f.t, raw[:1024]), compress(f.t, raw[1024:])...)
		}, want: func(f *fixture, _ []entry) []Failure {
			n := len(compress(f.t, tarBytes(f.t, f.entries())[:1024]))
			return []Failure{{f.plain, CheckZstd, fmt.Sprintf("second zstd frame at offset %d (a custos archive is exactly one frame)", n)}}
		}},
		{name: "24 frame without checksum", container: func(f *fixture, raw []byte) []byte {
			return encodeZstd(f.t, raw, zstd.WithEncoderCRC(false))
		}, want: one(zstdFail("frame has no content checksum (custos always writes one)"))},
		{name: "28 frame declares a huge window", container: func(f *fixture, raw []byte) []byte {
			z := rawFrame(f.t, raw)
			z[5] = 31 << 3
			return z
		}, want: one(zstdFail("frame declares a window of 2199023255552 bytes, more than the 33554432 a custos archive uses (refused to bound memory)"))},
		{name: "28 not zstd at all", container: func(f *fixture, raw []byte) []byte {
			return raw
		}, want: func(f *fixture, _ []entry) []Failure {
			m := binary.LittleEndian.Uint32([]byte(f.bag))
			return []Failure{{f.plain, CheckZstd, fmt.Sprintf("not a zstd frame: magic number %08x at offset 0", m)}}
		}},
		{name: "28 empty file", container: func(f *fixture, raw []byte) []byte {
			return nil
		}, want: one(zstdFail("empty: no zstd frame"))},
	} {
		t.Run(tc.name, tc.run)
	}
}

// Any single flipped byte of a real archive fails verification, whatever
// layer notices, and the outer signature always fails.
func TestVerifyAnyByteFlipFails(t *testing.T) {
	f := newFixture(t)
	good, err := os.ReadFile(f.archive)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(good); i += max(1, len(good)/97) {
		b := bytes.Clone(good)
		b[i] ^= 0x20
		overwrite(t, f.archive, b)
		_, err := VerifyArchive(f.archive, VerifyOptions{Anchors: f.anchors})
		var ve *VerifyError
		if !errors.As(err, &ve) {
			t.Fatalf("byte %d flipped: err = %v", i, err)
		}
		if !slices.Contains(ve.Failures, f.badOuter()) {
			t.Errorf("byte %d flipped: outer signature not reported: %v", i, ve.Failures)
		}
	}
}

// 21: a validly signed archive of another acquisition of the same case,
// renamed to stand in for this one.
func TestVerifyTamperSubstitution(t *testing.T) {
	f := newFixture(t)
	const acq2 = "0190a1b2-0000-7000-8000-000000000002"
	stageAnother(t, f.c, acq2, false)
	res2, err := f.c.Seal(acq2, SealOptions{Signer: f.signer, Time: sealAt, Actor: "alice@example.org", Tool: "custos test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"", ".sig"} {
		data, _ := os.ReadFile(res2.Archive + ext)
		overwrite(t, f.archive+ext, data)
	}
	_, err = VerifyArchive(f.archive, VerifyOptions{Anchors: f.anchors})
	want := []Failure{{f.plain, CheckBagIdentity, `holds bag "IR-1-` + acq2 + `", not "` + f.bag + `": the archive was renamed or substituted`}}
	var ve *VerifyError
	if !errors.As(err, &ve) || !slices.Equal(ve.Failures, want) {
		t.Errorf("err = %v\nwant %v", err, want)
	}

	// Any other name is refused as well.
	other := filepath.Join(t.TempDir(), "evidence.tar")
	data, _ := os.ReadFile(res2.Archive)
	sig, _ := os.ReadFile(res2.Archive + ".sig")
	overwrite(t, other, data)
	overwrite(t, other+".sig", sig)
	_, err = VerifyArchive(other, VerifyOptions{Anchors: f.anchors})
	want = []Failure{{"evidence.tar", CheckBagIdentity, "archive name does not end in .tar.zst or .tar.zst.age"}}
	if !errors.As(err, &ve) || !slices.Equal(ve.Failures, want) {
		t.Errorf("err = %v\nwant %v", err, want)
	}
}

// 21: an older, validly signed archive of the same acquisition has the
// same name and verifies on its own; the custody log's digest (and the
// reviewer's --expect-head) is what tells it apart.
func TestVerifyTamperRollback(t *testing.T) {
	f := newFixture(t)
	older, _, _ := newTestCase(t)
	p := older.Path(StagingDir, testAcq, "records", "devices.ndjson")
	os.WriteFile(p, []byte(`{"key":"intune:older"}`+"\n"), 0o644)
	res, err := older.Seal(testAcq, SealOptions{Signer: f.signer, Time: sealAt, Actor: "alice@example.org", Tool: "custos test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"", ".sig"} {
		data, _ := os.ReadFile(res.Archive + ext)
		overwrite(t, f.archive+ext, data)
	}
	rep, err := VerifyArchive(f.archive, VerifyOptions{Anchors: f.anchors})
	if err != nil {
		t.Fatalf("a validly signed archive of the same acquisition: %v", err)
	}
	_, fails, err := f.c.Custody().CheckArchive(map[string]string{f.plain: rep.SHA256}, f.anchors, nil)
	if err != nil || len(fails) == 0 {
		t.Fatalf("custody did not notice the substituted archive: %v %v", fails, err)
	}
	for _, fl := range fails {
		if fl.Check != "custody archive digest" {
			t.Errorf("unexpected custody failure %v", fl)
		}
	}
}

// stageAnother copies the test staging to a second acquisition.
func stageAnother(t *testing.T, c *Case, acq string, change bool) {
	t.Helper()
	src, dst := c.Path(StagingDir, testAcq), c.Path(StagingDir, acq)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		data = bytes.ReplaceAll(data, []byte(testAcq), []byte(acq))
		if change && strings.HasSuffix(p, "devices.ndjson") {
			data = append(data, '\n')
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755)
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVerifyNeedsAnchors(t *testing.T) {
	f := newFixture(t)
	if _, err := VerifyArchive(f.archive, VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "--allowed-signers is required") {
		t.Errorf("no anchors: %v", err)
	}
}

// The report lists every check, passed ones included, in a fixed order.
func TestVerifyReportChecks(t *testing.T) {
	f := newFixture(t)
	rep, err := VerifyArchive(f.archive, VerifyOptions{Anchors: f.anchors})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range rep.Results {
		if c.Status != StatusPass || c.Detail == "" || c.File == "" {
			t.Errorf("check %+v", c)
		}
		names = append(names, c.Check)
	}
	want := []string{CheckOuterSignature, CheckZstd, CheckTar, CheckBagIdentity, CheckBagitDeclaration,
		CheckTagManifestFormat, CheckTagManifest, CheckTagManifestChecksum, CheckManifestFormat, CheckManifest,
		CheckManifestChecksum, CheckCompleteness, CheckBagInfoFormat, CheckOxum, CheckInnerSignature, CheckInnerSigner}
	if !slices.Equal(names, want) || !slices.Equal(rep.Passed(), want) {
		t.Errorf("checks %v\nwant %v", names, want)
	}
	signer := rep.Results[len(rep.Results)-1]
	if !strings.Contains(signer.Detail, "alice@example.org at 2026-11-26T10:00:00Z, the seal time the signer claims (no trusted timestamp)") {
		t.Errorf("signer check %q does not say the time is claimed", signer.Detail)
	}

	// A stream failure skips the bag checks and says so.
	overwrite(t, f.archive, append(compress(t, tarBytes(t, f.entries())), 0))
	rep, _ = VerifyArchive(f.archive, VerifyOptions{Anchors: f.anchors})
	var statuses []string
	for _, c := range rep.Results {
		statuses = append(statuses, c.Check+"="+c.Status)
	}
	wantStatus := []string{"outer signature=fail", "zstd stream=fail"}
	for _, c := range want[2:] {
		wantStatus = append(wantStatus, c+"=skipped")
	}
	if !slices.Equal(statuses, wantStatus) {
		t.Errorf("statuses %v\nwant %v", statuses, wantStatus)
	}
}

// A Visit error does not hide a tampered archive, and is returned when
// the archive is fine.
func TestVerifyVisitError(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("boom")
	visit := func(name string, r io.Reader) error { return boom }
	_, err := VerifyArchive(f.archive, VerifyOptions{Anchors: f.anchors, Visit: visit})
	if !errors.Is(err, boom) {
		t.Errorf("good archive: err = %v", err)
	}
	rewrite(t, f.archive, func(es []entry) []entry {
		f.data(es, raw1)[2] ^= 1
		return es
	}, nil)
	_, err = VerifyArchive(f.archive, VerifyOptions{Anchors: f.anchors, Visit: visit})
	var ve *VerifyError
	if !errors.As(err, &ve) {
		t.Errorf("tampered archive: err = %v", err)
	}
}

// encFixture is an archive sealed encrypted to an age identity.
type encFixture struct {
	*fixture
	id   *age.X25519Identity
	res  *SealResult
	name string // <bag>.tar.zst.age
}

func newEncFixture(t *testing.T) *encFixture {
	t.Helper()
	c, signer, anchors := newTestCase(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt, Actor: "alice@example.org", Tool: "custos test",
		Encrypt: &Encryption{Recipients: []age.Recipient{id.Recipient()}, Names: []string{id.Recipient().String()}}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, c: c, signer: signer, anchors: anchors, archive: res.Archive,
		bag: c.BagName(testAcq), fp: Fingerprint(signer.PublicKey())}
	f.plain = f.bag + ArchiveSuffix
	return &encFixture{fixture: f, id: id, res: res, name: f.plain + EncryptedSuffix}
}

// encrypt writes plain, encrypted to r, as the archive.
func (f *encFixture) encrypt(plain []byte, r age.Recipient) {
	f.t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		f.t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		f.t.Fatal(err)
	}
	overwrite(f.t, f.archive, buf.Bytes())
}

func (f *encFixture) verify(ids ...age.Identity) (*ArchiveReport, error) {
	return VerifyArchive(f.archive, VerifyOptions{Anchors: f.anchors, Identities: ids})
}

func TestVerifyEncrypted(t *testing.T) {
	f := newEncFixture(t)
	if filepath.Base(f.archive) != f.name {
		t.Fatalf("sealed %s", f.archive)
	}
	var visited []string
	rep, err := VerifyArchive(f.archive, VerifyOptions{Anchors: f.anchors, Identities: []age.Identity{f.id},
		Visit: func(name string, r io.Reader) error {
			visited = append(visited, name)
			_, err := io.Copy(io.Discard, r)
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	cipher, _ := os.ReadFile(f.archive)
	fi, _ := os.Stat(f.archive)
	if rep.SHA256 != f.res.SHA256 || rep.Size != f.res.Size || rep.CiphertextSHA256 != sum(cipher) || rep.CiphertextSHA256 != f.res.CiphertextSHA256 ||
		rep.CiphertextSize != fi.Size() || rep.Bag != f.bag || rep.OuterSignature != "valid" || len(visited) != 5 {
		t.Errorf("report %+v, visited %v", rep, visited)
	}
	if rep.Results[1].Check != CheckDecryption || rep.Results[1].Status != StatusPass || rep.Results[1].File != f.name {
		t.Errorf("checks %+v", rep.Results)
	}
	if _, err := os.Stat(strings.TrimSuffix(f.archive, EncryptedSuffix)); err == nil {
		t.Error("the plaintext archive is on disk")
	}

	// No identity, or the wrong one, is the user's problem, not the archive's.
	var ve *VerifyError
	_, err = f.verify()
	if err == nil || errors.As(err, &ve) || err.Error() != f.name+" is encrypted: pass --identity FILE with the age identity or SSH private key of one of its recipients" {
		t.Errorf("no identity: %v", err)
	}
	other, _ := age.GenerateX25519Identity()
	_, err = f.verify(other)
	if err == nil || errors.As(err, &ve) || err.Error() != f.name+": no identity matches: it was encrypted to other recipients; pass --identity with the key of one of them" {
		t.Errorf("wrong identity: %v", err)
	}
	// The right identity among others is found.
	if _, err := f.verify(other, f.id); err != nil {
		t.Errorf("right identity second: %v", err)
	}
}

// 29: damaged ciphertext fails on the decryption check; decrypting never
// stands in for the signatures.
func TestVerifyTamperEncrypted(t *testing.T) {
	decryption := func(detail string) func(*encFixture) []Failure {
		return func(f *encFixture) []Failure { return []Failure{{f.name, CheckDecryption, detail}} }
	}
	unknown := func(fp string) string {
		return "allowed_signers: ssh-ed25519 key " + fp + ": key is not listed"
	}
	for _, tc := range []struct {
		name   string
		tamper func(f *encFixture, cipher []byte)
		want   func(f *encFixture) []Failure
	}{
		{"29 ciphertext byte flipped", func(f *encFixture, c []byte) {
			c[len(c)-100] ^= 1
			overwrite(f.t, f.archive, c)
		}, decryption("failed to decrypt and authenticate payload chunk, file may be corrupted or tampered with")},
		{"29 ciphertext truncated", func(f *encFixture, c []byte) {
			overwrite(f.t, f.archive, c[:len(c)-100])
		}, decryption("failed to decrypt and authenticate payload chunk, file may be corrupted or tampered with")},
		{"29 ciphertext cut after the header", func(f *encFixture, c []byte) {
			i := bytes.Index(c, []byte("\n---"))
			j := bytes.IndexByte(c[i+1:], '\n')
			overwrite(f.t, f.archive, c[:i+1+j+1])
		}, decryption("failed to read nonce: EOF")},
		{"29 data appended to the ciphertext", func(f *encFixture, c []byte) {
			overwrite(f.t, f.archive, append(c, "more"...))
		}, decryption("failed to decrypt and authenticate payload chunk, file may be corrupted or tampered with")},
		{"29 header MAC flipped", func(f *encFixture, c []byte) {
			i := bytes.Index(c, []byte("\n--- ")) + 5 // the MAC's first base64 digit
			c[i] = map[bool]byte{true: 'B', false: 'A'}[c[i] == 'A']
			overwrite(f.t, f.archive, c)
		}, decryption("bad header MAC")},
		{"29 not age at all", func(f *encFixture, c []byte) {
			overwrite(f.t, f.archive, []byte("hello world\n"))
		}, decryption(`failed to read header: parsing age header: unexpected intro: "hello world\n"`)},
		{"29 another key's archive encrypted to the recipient", func(f *encFixture, _ []byte) {
			c2, mallorySigner, _ := newTestCase(f.t)
			res, err := c2.Seal(testAcq, SealOptions{Signer: mallorySigner, Time: sealAt, Actor: "mallory"})
			if err != nil {
				f.t.Fatal(err)
			}
			plain, _ := os.ReadFile(res.Archive)
			f.encrypt(plain, f.id.Recipient())
			sig, _ := os.ReadFile(res.Archive + ".sig")
			overwrite(f.t, strings.TrimSuffix(f.archive, EncryptedSuffix)+".sig", sig)
			f.fp = Fingerprint(mallorySigner.PublicKey())
		}, func(f *encFixture) []Failure {
			return []Failure{{InnerSigFile, CheckInnerSigner, f.fp + ": " + unknown(f.fp)}, {f.plain + ".sig", CheckOuterSignature, unknown(f.fp)}}
		}},
		{"29 unsigned archive encrypted to the recipient", func(f *encFixture, _ []byte) {
			es := readEntriesOf(f.t, f)
			es = remove(remove(es, "/"+InnerSigFile), "/signatures/")
			f.encrypt(compress(f.t, tarBytes(f.t, es)), f.id.Recipient())
			os.Remove(strings.TrimSuffix(f.archive, EncryptedSuffix) + ".sig")
		}, func(f *encFixture) []Failure {
			sig := strings.TrimSuffix(f.archive, EncryptedSuffix) + ".sig"
			return []Failure{{InnerSigFile, CheckInnerSignature, "missing"},
				{f.plain + ".sig", CheckOuterSignature, "cannot read the archive's signature: open " + sig + ": no such file or directory"}}
		}},
		{"29 payload changed and encrypted again", func(f *encFixture, _ []byte) {
			es := readEntriesOf(f.t, f)
			f.data(es, raw1)[2] ^= 1
			f.encrypt(compress(f.t, tarBytes(f.t, es)), f.id.Recipient())
		}, func(f *encFixture) []Failure {
			return []Failure{manifestMismatch(raw1, "", ""), f.badOuter()}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newEncFixture(t)
			f.t = t
			cipher, err := os.ReadFile(f.archive)
			if err != nil {
				t.Fatal(err)
			}
			tc.tamper(f, cipher)
			rep, err := f.verify(f.id)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a VerifyError", err)
			}
			want := tc.want(f)
			if now, _ := os.ReadFile(f.archive); rep.CiphertextSHA256 != sum(now) {
				t.Errorf("ciphertext sha256 %s, file has %s", rep.CiphertextSHA256, sum(now))
			}
			if want[0].Check == CheckDecryption && (rep.SHA256 != "" || rep.OuterSignature != "not checked") {
				t.Errorf("undecryptable archive: plaintext sha256 %q, outer signature %q", rep.SHA256, rep.OuterSignature)
			}
			if want[0].Check == CheckManifestChecksum {
				// The digests of the changed file are not known here.
				if len(ve.Failures) != 2 || ve.Failures[1].File != raw1 || ve.Failures[1].Check != CheckManifestChecksum || ve.Failures[0] != f.badOuter() {
					t.Errorf("failures %v", ve.Failures)
				}
				return
			}
			sortFailures(want)
			got := slices.Clone(ve.Failures)
			sortFailures(got)
			if !slices.Equal(got, want) {
				t.Errorf("failures:\n%s\nwant:\n%s", failureList(got), failureList(want))
			}
		})
	}
}

// readEntriesOf decrypts an encrypted fixture's archive and reads it.
func readEntriesOf(t *testing.T, f *encFixture) []entry {
	t.Helper()
	c, err := os.Open(f.archive)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := age.Decrypt(c, f.id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.tar.zst")
	overwrite(t, p, plain)
	return readEntries(t, p)
}

// errAfter returns data, then err.
type errAfter struct {
	data []byte
	err  error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data[:min(len(e.data), 1000)])
	e.data = e.data[n:]
	return n, nil
}

// The read-ahead between decoder and tar reader delivers every byte and
// then the source's error, and Close ends its goroutine whenever called.
func TestReadAhead(t *testing.T) {
	data := make([]byte, 3*readAheadSize+123)
	for i := range data {
		data[i] = byte(i * 31)
	}
	boom := errors.New("boom")
	for _, srcErr := range []error{io.EOF, boom} {
		a := newReadAhead(&errAfter{bytes.Clone(data), srcErr}, 2, readAheadSize)
		got, err := io.ReadAll(a)
		if srcErr == io.EOF {
			srcErr = nil // io.ReadAll's success
		}
		if !bytes.Equal(got, data) || err != srcErr {
			t.Errorf("read %d bytes, err %v; want %d, %v", len(got), err, len(data), srcErr)
		}
		a.Close()
	}
	// Closed early, before and after reading some.
	for _, n := range []int{0, 10, readAheadSize + 1} {
		a := newReadAhead(&errAfter{bytes.Clone(data), io.EOF}, 2, readAheadSize)
		io.ReadFull(a, make([]byte, n))
		a.Close()
	}
}

// zeroReader yields zeros.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A forged archive whose bag-info declares a huge payload, made of a file
// of zeros that expands tens of thousands of times, is stopped by the
// expansion guard soon after 256 MiB, not read to its end.
func TestVerifyStopsDecompressionBomb(t *testing.T) {
	c, _, anchors := newTestCase(t)
	bag := c.BagName(testAcq)
	archive := c.ArchivePath(testAcq)
	os.MkdirAll(filepath.Dir(archive), 0o755)
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := zstd.NewWriter(f, zstd.WithEncoderCRC(true), zstd.WithWindowSize(1<<20))
	tw := tar.NewWriter(zw)
	add := func(name string, size int64, r io.Reader) {
		typ, mode := byte(tar.TypeReg), int64(0o644)
		if strings.HasSuffix(name, "/") {
			typ, mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: size, ModTime: sealAt, Format: tar.FormatPAX}); err != nil {
			t.Fatal(err)
		}
		if r != nil {
			io.CopyN(tw, r, size)
		}
	}
	info := "External-Identifier: IR-1\nInternal-Sender-Identifier: " + testAcq + "\nPayload-Oxum: 1099511627776.1\n"
	add(bag+"/", 0, nil)
	add(bag+"/bag-info.txt", int64(len(info)), strings.NewReader(info))
	add(bag+"/bagit.txt", int64(len(bagitContent)), strings.NewReader(bagitContent))
	add(bag+"/data/", 0, nil)
	add(bag+"/data/zeros.json", 600<<20, zeroReader{})
	tw.Close()
	zw.Close()
	f.Close()
	_, err = VerifyArchive(archive, VerifyOptions{Anchors: anchors})
	var ve *VerifyError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "data/zeros.json: zstd stream: decompression bomb:") {
		t.Fatalf("err = %v", err)
	}
}
