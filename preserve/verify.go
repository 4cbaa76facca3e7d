package preserve

import (
	"archive/tar"
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Failure is one failed check. File names the file the check is about,
// relative to the bag (or the archive / custody file itself).
type Failure struct {
	File   string `json:"file"`
	Check  string `json:"check"`
	Detail string `json:"detail"`
}

func (f Failure) String() string {
	return fmt.Sprintf("%s: %s: %s", f.File, f.Check, f.Detail)
}

// VerifyError lists every failed check. Callers map it to exit code 5.
type VerifyError struct {
	Archive  string
	Failures []Failure
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	if e.Archive != "" {
		fmt.Fprintf(&b, "%s: ", e.Archive)
	}
	fmt.Fprintf(&b, "verification failed (%d check", len(e.Failures))
	if len(e.Failures) != 1 {
		b.WriteString("s")
	}
	b.WriteString(")")
	for _, f := range e.Failures {
		b.WriteString("\n  ")
		b.WriteString(f.String())
	}
	return b.String()
}

// Limits on what Verify will read, so a hostile archive cannot exhaust
// memory.
const (
	maxTagFile      = 64 << 20 // manifests
	maxSmallTagFile = 1 << 20  // bagit.txt, bag-info.txt, signatures
	maxEntries      = 1 << 20
	maxDecoderMem   = 256 << 20
)

// VerifyOptions configures VerifyArchive.
type VerifyOptions struct {
	// Anchors are the trusted signers; never taken from inside an archive.
	Anchors *AllowedSigners
	// Visit, when set, is called once for every payload file (name
	// relative to the bag, e.g. "data/records/devices.ndjson") with a
	// reader over its bytes. Its results must be discarded if VerifyArchive
	// returns an error. A Visit error aborts verification.
	Visit func(name string, r io.Reader) error
}

// ArchiveReport is what a successful (or failed) verification learnt.
type ArchiveReport struct {
	Archive          string            `json:"archive"`
	SHA256           string            `json:"sha256"`
	Size             int64             `json:"size"`
	Bag              string            `json:"bag"`
	CaseID           string            `json:"case_id"`
	AcquisitionID    string            `json:"acquisition_id"`
	SealedAt         string            `json:"sealed_at_utc"`
	PayloadFiles     int               `json:"payload_files"`
	PayloadBytes     int64             `json:"payload_bytes"`
	SignerKey        string            `json:"signer_fingerprint"`
	SignerPrincipals []string          `json:"signer_principals"`
	OuterSignature   string            `json:"outer_signature"`
	Checks           []string          `json:"checks"`
	Files            map[string]string `json:"-"` // bag-relative name -> sha256
}

type seenFile struct {
	sum  string
	size int64
	data []byte // kept for tag files only
}

// VerifyArchive checks an archive in one streaming pass without extracting
// it: outer signature, zstd integrity, tar structure, bag completeness and
// validity, Payload-Oxum and the inner signature. A failure is a
// *VerifyError naming the file and the check.
func VerifyArchive(archive string, opts VerifyOptions) (*ArchiveReport, error) {
	rep := &ArchiveReport{Archive: archive, Files: map[string]string{}}
	ve := &VerifyError{Archive: archive}
	fail := func(file, check, format string, args ...any) {
		ve.Failures = append(ve.Failures, Failure{File: file, Check: check, Detail: fmt.Sprintf(format, args...)})
	}
	finish := func() (*ArchiveReport, error) {
		if len(ve.Failures) > 0 {
			return rep, ve
		}
		return rep, nil
	}
	if opts.Anchors == nil {
		return nil, errors.New("--allowed-signers is required to verify signatures; create one with 'custos keygen' or use the case's allowed_signers")
	}

	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h256, h512 := sha256.New(), sha512.New()
	counted := &countReader{r: io.TeeReader(f, io.MultiWriter(h256, h512))}
	zr, err := zstd.NewReader(counted, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxDecoderMem), zstd.WithDecoderMaxWindow(maxDecoderMem))
	if err != nil {
		return nil, err
	}
	defer zr.Close()

	seen := map[string]*seenFile{}
	streamErr := readTar(zr, rep, seen, opts.Visit)
	if streamErr != nil {
		var vf *Failure
		if errors.As(streamErr, &vf) {
			fail(vf.File, vf.Check, "%s", vf.Detail)
		} else {
			fail(path.Base(archive), "archive stream", "%v", streamErr)
		}
	}
	// Hash whatever the decoder did not consume, so the digest covers the
	// whole file even when the stream was rejected early.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return nil, err
	}
	rep.SHA256 = hex.EncodeToString(h256.Sum(nil))
	rep.Size = counted.n
	if streamErr == nil {
		rep.Checks = append(rep.Checks, "zstd stream", "tar structure")
		checkBag(rep, seen, opts.Anchors, fail)
	}
	checkOuterSignature(archive, h512, opts.Anchors, rep, fail)
	return finish()
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// structural returns a tar-structure failure for name.
func structural(name, format string, args ...any) error {
	return &Failure{File: name, Check: "tar structure", Detail: fmt.Sprintf(format, args...)}
}

func (f *Failure) Error() string { return f.String() }

// readTar walks the tar stream, enforcing the structure rules and hashing
// every file. Tag files are kept in memory (bounded); payload files are
// streamed to visit.
func readTar(r io.Reader, rep *ArchiveReport, seen map[string]*seenFile, visit func(string, io.Reader) error) error {
	tr := tar.NewReader(r)
	dirs := map[string]bool{}
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n >= maxEntries {
			return structural(hdr.Name, "more than %d entries", maxEntries)
		}
		name := hdr.Name
		if hdr.Typeflag == tar.TypeDir {
			name = strings.TrimSuffix(name, "/")
		}
		top, rel, _ := strings.Cut(name, "/")
		if hdr.Typeflag != tar.TypeDir && hdr.Typeflag != tar.TypeReg {
			return structural(cmp.Or(rel, name), "entry type %q is not a regular file or directory", hdr.Typeflag)
		}
		if rep.Bag == "" {
			if err := CheckEntryName(top); err != nil {
				return structural(name, "%v", err)
			}
			rep.Bag = top
		}
		if top != rep.Bag {
			return structural(name, "second top-level directory %q (bag is %q)", top, rep.Bag)
		}
		if err := CheckEntryName(name); err != nil {
			return structural(name, "%v", err)
		}
		if rel == "" {
			if hdr.Typeflag != tar.TypeDir || n != 0 {
				return structural(name, "the bag directory must be the first entry")
			}
			dirs[""] = true
			continue
		}
		if seen[rel] != nil || dirs[rel] {
			return structural(rel, "duplicate entry")
		}
		if parent := path.Dir(rel); parent != "." && !dirs[parent] {
			return structural(rel, "parent directory %s is not an earlier entry", parent)
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs[rel] = true
			continue
		}
		if hdr.Size < 0 {
			return structural(rel, "negative size")
		}
		sf := &seenFile{size: hdr.Size}
		h := sha256.New()
		isPayload := strings.HasPrefix(rel, PayloadDir+"/")
		switch {
		case isPayload && visit != nil:
			if err := visit(rel, io.TeeReader(tr, h)); err != nil {
				return fmt.Errorf("reading %s: %w", rel, err)
			}
			if _, err := io.Copy(h, tr); err != nil {
				return err
			}
		case isPayload:
			if _, err := io.Copy(h, tr); err != nil {
				return err
			}
		default:
			limit := int64(maxSmallTagFile)
			if rel == ManifestTxt || rel == TagManifestTxt {
				limit = maxTagFile
			}
			if hdr.Size > limit {
				return structural(rel, "tag file of %d bytes exceeds %d", hdr.Size, limit)
			}
			data, err := io.ReadAll(io.TeeReader(tr, h))
			if err != nil {
				return err
			}
			sf.data = data
		}
		sf.sum = hex.EncodeToString(h.Sum(nil))
		seen[rel] = sf
		rep.Files[rel] = sf.sum
	}
	// After the end-of-archive blocks only zero padding may follow.
	var buf [32 << 10]byte
	for {
		n, err := r.Read(buf[:])
		if bytes.ContainsFunc(buf[:n], func(r rune) bool { return r != 0 }) {
			return structural(rep.Bag, "data after the end of the tar archive")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if rep.Bag == "" {
		return structural("(archive)", "no entries")
	}
	return nil
}

func checkOuterSignature(archive string, h512 hash.Hash, anchors *AllowedSigners, rep *ArchiveReport, fail func(file, check, format string, args ...any)) {
	name := path.Base(archive) + ".sig"
	data, err := os.ReadFile(archive + ".sig")
	if err != nil {
		rep.OuterSignature = "missing"
		fail(name, "outer signature", "cannot read the archive's signature: %v", err)
		return
	}
	sig, err := ParseSignature(data)
	if err == nil && sig.HashAlgorithm != HashSHA512 {
		err = fmt.Errorf("hash algorithm %s; custos signs archives with sha512", sig.HashAlgorithm)
	}
	if err == nil {
		err = sig.VerifyDigest(NamespaceArchive, h512.Sum(nil))
	}
	if err == nil {
		_, err = anchors.Principals(sig.PublicKey, NamespaceArchive, signedAt(rep))
	}
	if err != nil {
		rep.OuterSignature = "invalid"
		fail(name, "outer signature", "%v", err)
		return
	}
	rep.OuterSignature = "valid"
	rep.Checks = append(rep.Checks, "outer signature")
}

// checkBag runs the BagIt checks on what readTar saw.
func checkBag(rep *ArchiveReport, seen map[string]*seenFile, anchors *AllowedSigners, fail func(file, check, format string, args ...any)) {
	tag := func(name string) []byte {
		if sf := seen[name]; sf != nil {
			return sf.data
		}
		fail(name, "bag completeness", "missing")
		return nil
	}
	if b := tag(BagitTxt); b != nil && string(b) != bagitContent {
		fail(BagitTxt, "bagit declaration", "not a BagIt 1.0 UTF-8 declaration")
	}

	// Tag manifest: exactly the tag files, each matching.
	tagManifest := tag(TagManifestTxt)
	if tagManifest != nil {
		lines, err := ParseManifest(tagManifest)
		if err != nil {
			fail(TagManifestTxt, "tag manifest format", "%v", err)
		} else {
			var listed []string
			for _, l := range lines {
				listed = append(listed, l.Path)
				sf := seen[l.Path]
				switch {
				case !slices.Contains(tagFiles, l.Path):
					fail(l.Path, "tag manifest", "lists a file that is not a tag file")
				case sf == nil:
					fail(l.Path, "bag completeness", "listed in %s but missing", TagManifestTxt)
				case sf.sum != l.SHA256:
					fail(l.Path, "tag manifest checksum", "sha256 %s, manifest says %s", sf.sum, l.SHA256)
				}
			}
			for _, t := range tagFiles {
				if !slices.Contains(listed, t) {
					fail(t, "tag manifest", "not listed in %s", TagManifestTxt)
				}
			}
		}
	}

	// Payload manifest: every data/ file exactly once, each matching.
	var manifestPaths map[string]bool
	if m := tag(ManifestTxt); m != nil {
		lines, err := ParseManifest(m)
		if err != nil {
			fail(ManifestTxt, "manifest format", "%v", err)
		} else {
			manifestPaths = map[string]bool{}
			for _, l := range lines {
				manifestPaths[l.Path] = true
				sf := seen[l.Path]
				switch {
				case !strings.HasPrefix(l.Path, PayloadDir+"/"):
					fail(l.Path, "manifest", "payload path outside %s/", PayloadDir)
				case sf == nil:
					fail(l.Path, "bag completeness", "listed in %s but missing", ManifestTxt)
				case sf.sum != l.SHA256:
					fail(l.Path, "manifest checksum", "sha256 %s, manifest says %s", sf.sum, l.SHA256)
				}
			}
		}
	}
	var payloadBytes, payloadFiles int64
	names := make([]string, 0, len(seen))
	for name := range seen {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if strings.HasPrefix(name, PayloadDir+"/") {
			payloadBytes += seen[name].size
			payloadFiles++
			if manifestPaths != nil && !manifestPaths[name] {
				fail(name, "bag completeness", "payload file not in %s", ManifestTxt)
			}
			continue
		}
		if name != InnerSigFile && !slices.Contains(tagFiles, name) && name != TagManifestTxt {
			fail(name, "bag completeness", "unexpected file outside %s/", PayloadDir)
		}
	}
	rep.PayloadFiles, rep.PayloadBytes = int(payloadFiles), payloadBytes

	if bi := seen[BagInfoTxt]; bi != nil {
		info, err := ParseBagInfo(bi.data)
		if err != nil {
			fail(BagInfoTxt, "bag-info format", "%v", err)
		} else {
			rep.CaseID = info.Get("External-Identifier")
			rep.AcquisitionID = info.Get("Internal-Sender-Identifier")
			rep.SealedAt = info.Get("Sealed-At-UTC")
			if b, n, err := ParseOxum(info.Get("Payload-Oxum")); err != nil {
				fail(BagInfoTxt, "Payload-Oxum", "%v", err)
			} else if b != payloadBytes || n != payloadFiles {
				fail(BagInfoTxt, "Payload-Oxum", "says %d bytes in %d files, payload has %d bytes in %d files", b, n, payloadBytes, payloadFiles)
			}
		}
	}

	// Inner signature over the tag manifest.
	sigData := seen[InnerSigFile]
	switch {
	case sigData == nil:
		fail(InnerSigFile, "inner signature", "missing")
	case tagManifest == nil:
	default:
		sig, err := ParseSignature(sigData.data)
		if err == nil {
			err = sig.Verify(NamespaceEvidence, bytes.NewReader(tagManifest))
		}
		if err != nil {
			fail(InnerSigFile, "inner signature", "%v", err)
			break
		}
		rep.SignerKey = Fingerprint(sig.PublicKey)
		// Key validity is judged at the claimed seal time: without a
		// trusted timestamp that time is the signer's own claim.
		p, err := anchors.Principals(sig.PublicKey, NamespaceEvidence, signedAt(rep))
		if err != nil {
			fail(InnerSigFile, "inner signature signer", "%s: %v", rep.SignerKey, err)
			break
		}
		rep.SignerPrincipals = p
	}
	rep.Checks = append(rep.Checks, "bagit declaration", "tag manifest", "payload manifest", "bag completeness", "Payload-Oxum", "inner signature")
}

// signedAt is the time key validity is judged at: the seal time the bag
// claims (without a trusted timestamp, the signer's own claim), or now when
// the bag could not be read.
func signedAt(rep *ArchiveReport) time.Time {
	if t, err := time.Parse(time.RFC3339, rep.SealedAt); err == nil {
		return t
	}
	return time.Now()
}
