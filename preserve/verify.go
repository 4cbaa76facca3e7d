package preserve

import (
	"archive/tar"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"
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

func (f *Failure) Error() string { return f.String() }

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

// The checks VerifyArchive runs, in the order it reports them. Failures
// carry these names in Failure.Check; they are part of the --json output.
const (
	CheckOuterSignature      = "outer signature"        // <bag>.tar.zst.sig over the .tar.zst bytes
	CheckDecryption          = "decryption"             // age layer of a .tar.zst.age
	CheckZstd                = "zstd stream"            // one frame, bounded window, content checksum
	CheckTar                 = "tar structure"          // entry types, names, order, end blocks
	CheckBagIdentity         = "bag identity"           // bag name = archive name = case + acquisition id
	CheckBagitDeclaration    = "bagit declaration"      // bagit.txt
	CheckTagManifestFormat   = "tag manifest format"    // tagmanifest-sha256.txt parses strictly
	CheckTagManifest         = "tag manifest"           // lists exactly the tag files
	CheckTagManifestChecksum = "tag manifest checksum"  // each tag file matches
	CheckManifestFormat      = "manifest format"        // manifest-sha256.txt parses strictly
	CheckManifest            = "manifest"               // lists only payload paths
	CheckManifestChecksum    = "manifest checksum"      // each payload file matches
	CheckCompleteness        = "bag completeness"       // nothing missing, nothing unlisted
	CheckBagInfoFormat       = "bag-info format"        // bag-info.txt parses
	CheckOxum                = "Payload-Oxum"           // declared payload size and count
	CheckInnerSignature      = "inner signature"        // signature over the tag manifest
	CheckInnerSigner         = "inner signature signer" // its key is a trusted anchor at seal time
)

// Check statuses.
const (
	StatusPass    = "pass"
	StatusFail    = "fail"
	StatusSkipped = "skipped" // could not run; Detail says why
)

// Check is the outcome of one check: one entry per check that passed or
// was skipped, one per failure.
type Check struct {
	Check  string `json:"check"`
	File   string `json:"file"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// MergeChecks returns plan (one passed or skipped entry per check, in
// order) with every check that has failures replaced by those failures.
// Failures of checks not in plan come last.
func MergeChecks(plan []Check, fails []Failure) []Check {
	out := make([]Check, 0, len(plan)+len(fails))
	used := make([]bool, len(fails))
	for _, c := range plan {
		failed := false
		for i, f := range fails {
			if f.Check == c.Check {
				out = append(out, Check{Check: f.Check, File: f.File, Status: StatusFail, Detail: f.Detail})
				used[i], failed = true, true
			}
		}
		if !failed {
			out = append(out, c)
		}
	}
	for i, f := range fails {
		if !used[i] {
			out = append(out, Check{Check: f.Check, File: f.File, Status: StatusFail, Detail: f.Detail})
		}
	}
	return out
}

// Limits on what Verify will read, so a hostile archive cannot exhaust
// memory or keep it decompressing for ever. The payload is bounded by the
// Payload-Oxum of bag-info.txt, which comes before data/ in the archive,
// plus a tolerance so that a few added or grown files are still reported
// as what they are (not in the manifest, checksum and Oxum mismatch)
// rather than as a bomb.
const (
	maxTagFile      = 64 << 20 // manifests
	maxSmallTagFile = 1 << 20  // bagit.txt, bag-info.txt, signatures
	maxEntries      = 1 << 20
	maxNameBytes    = 64 << 20 // all entry names together: what a manifest of maxTagFile can list
	oxumSlackBytes  = 64 << 20
	oxumSlackFiles  = 1024
	maxFailures     = 1000 // per check; the rest are counted
	tarBlock        = 512
	maxOctalSize    = 1<<33 - 1 // largest size a ustar header holds
)

// VerifyOptions configures VerifyArchive.
type VerifyOptions struct {
	// Anchors are the trusted signers; never taken from inside an archive.
	Anchors *AllowedSigners
	// Identities decrypt an encrypted archive (<bag>.tar.zst.age). They are
	// needed only for those; decrypting proves nothing about authenticity.
	Identities []age.Identity
	// Visit, when set, is called once for every payload file (name
	// relative to the bag, e.g. "data/records/devices.ndjson") with a
	// reader over its bytes, before the file's checksum is known. Its
	// results must be discarded if VerifyArchive returns an error. After a
	// Visit error no file is visited; verification goes on, and
	// VerifyArchive returns the Visit error only if verification passed.
	Visit func(name string, r io.Reader) error
}

// ArchiveReport is what a successful (or failed) verification learnt.
type ArchiveReport struct {
	Archive string `json:"archive"`
	// SHA256 and Size are those of the .tar.zst: for an encrypted archive,
	// of the decrypted plaintext (what the outer signature covers).
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// CiphertextSHA256 and CiphertextSize are those of a .tar.zst.age file.
	CiphertextSHA256 string   `json:"ciphertext_sha256,omitempty"`
	CiphertextSize   int64    `json:"ciphertext_size,omitempty"`
	Bag              string   `json:"bag"`
	CaseID           string   `json:"case_id"`
	AcquisitionID    string   `json:"acquisition_id"`
	SealedAt         string   `json:"sealed_at_utc"`
	PayloadFiles     int      `json:"payload_files"`
	PayloadBytes     int64    `json:"payload_bytes"`
	SignerKey        string   `json:"signer_fingerprint"`
	SignerPrincipals []string `json:"signer_principals"`
	OuterSignature   string   `json:"outer_signature"` // valid, invalid, missing or not checked
	// Results has one entry per check: passed, skipped or failed (then
	// one entry per failure, as in the VerifyError).
	Results []Check           `json:"checks"`
	Files   map[string]string `json:"-"` // bag-relative name -> sha256
}

type seenFile struct {
	sum  string
	size int64
	data []byte // kept for tag files only
}

// verifier is the state of one VerifyArchive call.
type verifier struct {
	opts      VerifyOptions
	rep       *ArchiveReport
	fileName  string // base name of the file verified
	plainName string // <bag>.tar.zst
	encrypted bool

	fails    []Failure
	perCheck map[string]int
	passed   map[string]Check // pass (or skip) entries by check name
	skipWhy  string           // why checks that did not run were skipped
	seen     map[string]*seenFile
	dirs     map[string]bool // directory -> holds a file
	entries  int             // tar entries read
	info     BagInfo         // parsed bag-info.txt, nil if unreadable
	visitErr error
	// compressed counts the archive bytes read so far (by the read-ahead
	// goroutine), for the expansion-ratio guard.
	compressed atomic.Int64
}

func (v *verifier) fail(file, check, format string, args ...any) {
	v.perCheck[check]++
	if v.perCheck[check] > maxFailures {
		return
	}
	v.fails = append(v.fails, Failure{File: file, Check: check, Detail: fmt.Sprintf(format, args...)})
}

func (v *verifier) pass(check, file, format string, args ...any) {
	v.passed[check] = Check{Check: check, File: file, Status: StatusPass, Detail: fmt.Sprintf(format, args...)}
}

func (v *verifier) skip(check, file, why string) {
	v.passed[check] = Check{Check: check, File: file, Status: StatusSkipped, Detail: why}
}

// VerifyArchive checks an archive in one streaming pass without extracting
// it: outer signature, zstd integrity, tar structure, bag completeness and
// validity, Payload-Oxum, the inner signature, and that the bag is the one
// the file name says. An encrypted archive (.tar.zst.age) is decrypted on
// the fly with opts.Identities; its signatures are checked on the
// plaintext as for any archive.
//
// Every failed check is reported in a *VerifyError naming the file and the
// check; the report is returned with it. Other errors (no anchors, no or
// wrong identity, unreadable file) mean the archive could not be judged.
func VerifyArchive(archive string, opts VerifyOptions) (*ArchiveReport, error) {
	if opts.Anchors == nil {
		return nil, errors.New("--allowed-signers is required to verify signatures; create one with 'custos keygen' or use the case's allowed_signers")
	}
	v := &verifier{
		opts:     opts,
		rep:      &ArchiveReport{Archive: archive, Files: map[string]string{}},
		fileName: filepath.Base(archive),
		perCheck: map[string]int{},
		passed:   map[string]Check{},
		seen:     map[string]*seenFile{},
		dirs:     map[string]bool{},
	}
	v.plainName = v.fileName
	if strings.HasSuffix(v.fileName, ArchiveSuffix+EncryptedSuffix) {
		v.encrypted = true
		v.plainName = strings.TrimSuffix(v.fileName, EncryptedSuffix)
		if len(opts.Identities) == 0 {
			return nil, fmt.Errorf("%s is encrypted: pass --identity FILE with the age identity or SSH private key of one of its recipients", v.fileName)
		}
	}
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := v.stream(f); err != nil {
		return nil, err
	}
	return v.finish()
}

// stream reads the whole file once: ciphertext hash, decryption, plaintext
// hashes, zstd container checks, decoding, tar and bag checks, outer
// signature. A non-nil error means the file could not be judged.
func (v *verifier) stream(f *os.File) error {
	file := &errTap{r: f}
	var plain io.Reader = file
	var cipher *hashWriter
	var cipherTee io.Reader
	var ageR *errTap
	if v.encrypted {
		cipher = newHashWriter(io.Discard, false)
		cipherTee = io.TeeReader(file, cipher)
		r, err := age.Decrypt(cipherTee, v.opts.Identities...)
		var noMatch *age.NoIdentityMatchError
		var keyErr *KeyError
		switch {
		case file.err != nil:
			return fmt.Errorf("reading %s: %w", v.fileName, file.err)
		case errors.As(err, &noMatch):
			return fmt.Errorf("%s: no identity matches: it was encrypted to other recipients; pass --identity with the key of one of them", v.fileName)
		case errors.As(err, &keyErr):
			return fmt.Errorf("%s: %w", v.fileName, keyErr)
		case err != nil:
			v.fail(v.fileName, CheckDecryption, "%v", err)
			v.skipWhy = "not run: the archive could not be decrypted"
			if _, err := io.Copy(io.Discard, cipherTee); err != nil {
				return fmt.Errorf("reading %s: %w", v.fileName, err)
			}
			v.rep.CiphertextSHA256, v.rep.CiphertextSize = hex.EncodeToString(cipher.h256.Sum(nil)), cipher.n
			v.rep.OuterSignature = "not checked"
			return nil
		}
		ageR = &errTap{r: r}
		plain = ageR
	}

	plainHash := newHashWriter(io.Discard, true)
	scan := newFrameScanner(maxZstdWindow)
	plainTee := io.TeeReader(plain, io.MultiWriter(plainHash, scan, atomicCounter{&v.compressed}))
	zr, err := zstd.NewReader(&frameGuard{r: plainTee, s: scan},
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(maxZstdWindow),
		zstd.WithDecoderMaxMemory(maxZstdWindow))
	if err != nil {
		return err
	}
	dec := &errTap{r: zr}
	// Decoding (and everything below it: reading, decrypting, hashing the
	// archive bytes) runs ahead in its own goroutine while this one walks
	// the tar and hashes the payload, so that two cores share the work. The
	// read-ahead holds readAheadBuffers*readAheadSize bytes.
	ahead := newReadAhead(dec, readAheadBuffers, readAheadSize)
	streamErr := v.readTar(ahead)
	ahead.Close()
	zr.Close()

	// Read what the decoder did not, so the digests cover the whole file
	// and the frame scanner sees every byte.
	_, _ = io.Copy(io.Discard, plainTee)
	if v.encrypted {
		_, _ = io.Copy(io.Discard, cipherTee)
		v.rep.CiphertextSHA256, v.rep.CiphertextSize = hex.EncodeToString(cipher.h256.Sum(nil)), cipher.n
	}
	if file.err != nil {
		return fmt.Errorf("reading %s: %w", v.fileName, file.err)
	}
	v.rep.SHA256, v.rep.Size = hex.EncodeToString(plainHash.h256.Sum(nil)), plainHash.n

	// Report the lowest layer that failed; what it broke above is a
	// consequence, not news.
	var sf *Failure
	scanErr := scan.Close()
	switch {
	case ageR != nil && ageR.err != nil:
		// What was decrypted is not the plaintext: no digest of it.
		v.rep.SHA256, v.rep.Size = "", 0
		v.fail(v.fileName, CheckDecryption, "%v", ageR.err)
		v.skipWhy = "not run: the archive could not be decrypted"
		v.rep.OuterSignature = "not checked"
		return nil
	case scanErr != nil:
		v.fail(v.plainName, CheckZstd, "%v", scanErr)
	case errors.As(streamErr, &sf):
		v.fail(sf.File, sf.Check, "%s", sf.Detail)
	case dec.err != nil:
		v.fail(v.plainName, CheckZstd, "%s", describeZstdError(dec.err))
	case streamErr != nil:
		v.fail(v.plainName, CheckTar, "reading the tar stream: %v", streamErr)
	}
	if v.encrypted {
		v.pass(CheckDecryption, v.fileName, "decrypted with a given identity (this proves nothing about who made the archive)")
	}
	if scanErr == nil && dec.err == nil && streamErr == nil {
		v.pass(CheckZstd, v.plainName, "one zstd frame, content checksum verified")
	}
	if streamErr == nil && scanErr == nil {
		v.pass(CheckTar, v.plainName, "%d entries in one bag directory: regular files and directories only, sorted, headers as custos writes them, end-of-archive blocks and nothing after", v.entries)
		v.checkBag()
	} else {
		v.skipWhy = "not run: the archive could not be read to the end"
	}
	v.checkOuterSignature(plainHash.h512)
	return nil
}

// finish turns the collected results into the report and error.
func (v *verifier) finish() (*ArchiveReport, error) {
	order := []struct{ check, file string }{
		{CheckOuterSignature, v.plainName + ".sig"},
		{CheckDecryption, v.fileName},
		{CheckZstd, v.plainName},
		{CheckTar, v.plainName},
		{CheckBagIdentity, v.plainName},
		{CheckBagitDeclaration, BagitTxt},
		{CheckTagManifestFormat, TagManifestTxt},
		{CheckTagManifest, TagManifestTxt},
		{CheckTagManifestChecksum, TagManifestTxt},
		{CheckManifestFormat, ManifestTxt},
		{CheckManifest, ManifestTxt},
		{CheckManifestChecksum, ManifestTxt},
		{CheckCompleteness, v.rep.Bag},
		{CheckBagInfoFormat, BagInfoTxt},
		{CheckOxum, BagInfoTxt},
		{CheckInnerSignature, InnerSigFile},
		{CheckInnerSigner, InnerSigFile},
	}
	var plan []Check
	for _, o := range order {
		if o.check == CheckDecryption && !v.encrypted {
			continue
		}
		c, ok := v.passed[o.check]
		if !ok {
			c = Check{Check: o.check, File: o.file, Status: StatusSkipped, Detail: cmp.Or(v.skipWhy, "not run")}
		}
		plan = append(plan, c)
	}
	for _, o := range order {
		if n := v.perCheck[o.check]; n > maxFailures {
			v.fails = append(v.fails, Failure{File: v.plainName, Check: o.check, Detail: fmt.Sprintf("%d more failures of this check not listed", n-maxFailures)})
		}
	}
	// Failures in the order of the checks, as the report lists them.
	rank := func(check string) int {
		return slices.IndexFunc(order, func(o struct{ check, file string }) bool { return o.check == check })
	}
	slices.SortStableFunc(v.fails, func(a, b Failure) int { return rank(a.Check) - rank(b.Check) })
	v.rep.Results = MergeChecks(plan, v.fails)
	if len(v.fails) > 0 {
		return v.rep, &VerifyError{Archive: v.rep.Archive, Failures: v.fails}
	}
	if v.visitErr != nil {
		return v.rep, v.visitErr
	}
	return v.rep, nil
}

// errTap remembers the first error other than io.EOF its reader
// returned, so that the layer that failed can be told from the layers
// that passed the error on.
type errTap struct {
	r   io.Reader
	err error
}

func (e *errTap) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// Read-ahead buffers between the decoder and the tar reader.
const (
	readAheadBuffers = 4
	readAheadSize    = 256 << 10
)

// readAhead reads r in a goroutine into a few reused buffers. Close stops
// the goroutine and waits for it, so that r and whatever it reads from can
// be used again afterwards.
type readAhead struct {
	full chan []byte
	free chan []byte
	stop chan struct{}
	done sync.WaitGroup
	cur  []byte // unread part of the buffer being read
	buf  []byte // that buffer, to recycle
	err  error  // r's final error; read only after full is closed
}

func newReadAhead(r io.Reader, n, size int) *readAhead {
	a := &readAhead{full: make(chan []byte, n), free: make(chan []byte, n), stop: make(chan struct{})}
	for range n {
		a.free <- make([]byte, size)
	}
	a.done.Add(1)
	go func() {
		defer a.done.Done()
		defer close(a.full)
		for {
			var buf []byte
			select {
			case buf = <-a.free:
			case <-a.stop:
				return
			}
			n, err := 0, error(nil)
			for n < len(buf) && err == nil {
				var k int
				k, err = r.Read(buf[n:])
				n += k
			}
			if n > 0 {
				select {
				case a.full <- buf[:n]:
				case <-a.stop:
					return
				}
			}
			if err != nil {
				a.err = err // io.EOF at the end
				return
			}
		}
	}()
	return a
}

func (a *readAhead) Read(p []byte) (int, error) {
	if len(a.cur) == 0 {
		if a.buf != nil {
			a.free <- a.buf[:cap(a.buf)]
			a.buf = nil
		}
		buf, ok := <-a.full
		if !ok {
			return 0, a.err
		}
		a.cur, a.buf = buf, buf
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops the goroutine and waits for it to end.
func (a *readAhead) Close() {
	close(a.stop)
	for range a.full {
	}
	a.done.Wait()
}

// atomicCounter counts bytes written into an atomic total.
type atomicCounter struct{ n *atomic.Int64 }

func (c atomicCounter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// bombGuard fails a read once the archive has expanded implausibly: past
// minBombCheck decompressed bytes, more than maxExpansion bytes out per byte
// in. Collections (JSON, logs, APKs) compress a few to a few dozen times;
// only crafted input expands thousands of times. It bounds the time a
// forged archive (whose Payload-Oxum the attacker chose) can take.
type bombGuard struct {
	r    io.Reader
	tap  *tarTap
	v    *verifier
	name string
}

const (
	minBombCheck = 256 << 20
	maxExpansion = 2048
)

func (g bombGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if out := g.tap.n; out > minBombCheck && out > maxExpansion*g.v.compressed.Load() {
		return n, &Failure{File: g.name, Check: CheckZstd, Detail: fmt.Sprintf(
			"decompression bomb: %d bytes decoded from %d archive bytes (more than %d:1); stopped reading", out, g.v.compressed.Load(), maxExpansion)}
	}
	return n, err
}

// frameGuard stops the decoder as soon as the frame scanner objects, so a
// refused frame header is never decoded.
type frameGuard struct {
	r io.Reader
	s *frameScanner
}

func (g *frameGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if g.s.Err() != nil {
		return 0, g.s.Err()
	}
	return n, err
}

func describeZstdError(err error) string {
	if errors.Is(err, zstd.ErrCRCMismatch) {
		return "content checksum mismatch: the decompressed bytes are not the ones compressed"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated zstd stream"
	}
	return "corrupt zstd data: " + err.Error()
}

// tarTap counts the bytes the tar reader consumes and keeps the last
// block, which after tar.Reader.Next is the entry's own header block.
type tarTap struct {
	r    io.Reader
	n    int64
	last [tarBlock]byte
}

func (t *tarTap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.n += int64(n)
	if b := p[:n]; len(b) >= tarBlock {
		copy(t.last[:], b[len(b)-tarBlock:])
	} else {
		copy(t.last[:], t.last[len(b):])
		copy(t.last[tarBlock-len(b):], b)
	}
	return n, err
}

// structural returns a tar-structure failure for name.
func structural(name, format string, args ...any) error {
	return &Failure{File: name, Check: CheckTar, Detail: fmt.Sprintf(format, args...)}
}

// readTar walks the tar stream, enforcing the structure rules and hashing
// every file. Tag files are kept in memory (bounded); payload files are
// streamed to Visit, and their total is bounded by the Payload-Oxum. A
// *Failure stops the walk at the entry it names; any other error comes
// from a layer below.
func (v *verifier) readTar(r io.Reader) error {
	rep := v.rep
	tap := &tarTap{r: r}
	tr := tar.NewReader(tap)
	dirs := v.dirs
	folded := map[string]string{} // lower-case name -> name
	prev := ""
	copyBuf := make([]byte, 64<<10) // one buffer for every file: no garbage per file
	var dataEnd int64
	var oxumBytes, oxumFiles, payloadBytes, payloadFiles, nameBytes int64
	haveOxum := false
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
		if nameBytes += int64(len(hdr.Name)); nameBytes > maxNameBytes {
			return structural(hdr.Name, "entry names exceed %d bytes in all", maxNameBytes)
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		top, rel, _ := strings.Cut(name, "/")
		shown := name
		if rep.Bag != "" && top == rep.Bag && rel != "" {
			shown = rel
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeDir {
			// Before checkHeader: archive/tar has read past the header
			// block of some types (global PAX headers).
			return structural(shown, "entry type %q is not a regular file or directory", hdr.Typeflag)
		}
		if err := CheckEntryName(name); err != nil {
			return structural(shown, "%v", err)
		}
		if err := checkHeader(hdr, &tap.last); err != nil {
			return structural(shown, "%v", err)
		}
		if rep.Bag == "" {
			if hdr.Typeflag != tar.TypeDir || rel != "" {
				return structural(name, "the bag directory must be the first entry")
			}
			rep.Bag = top
			dataEnd = tap.n
			continue
		}
		if top != rep.Bag {
			return structural(name, "second top-level directory %q (bag is %q)", top, rep.Bag)
		}
		if _, dir := dirs[rel]; rel == "" || dir || v.seen[rel] != nil {
			return structural(cmp.Or(rel, name), "duplicate entry")
		}
		if other, ok := folded[strings.ToLower(rel)]; ok {
			return structural(rel, "name differs only in case from %s (they would collide on a case-insensitive file system)", other)
		}
		folded[strings.ToLower(rel)] = rel
		if rel < prev {
			return structural(rel, "entry out of order after %s (custos writes entries sorted by name)", prev)
		}
		prev = rel
		if parent := path.Dir(rel); parent != "." {
			if _, ok := dirs[parent]; !ok {
				return structural(rel, "parent directory %s is not an earlier entry", parent)
			}
		}
		isPayload := strings.HasPrefix(rel, PayloadDir+"/")
		if (isPayload || rel == PayloadDir) && !haveOxum {
			return &Failure{File: BagInfoTxt, Check: CheckCompleteness, Detail: "missing: it must precede data/, whose size its Payload-Oxum bounds"}
		}
		if hdr.Typeflag == tar.TypeDir {
			dirs[rel] = false
			dataEnd = tap.n
			continue
		}
		if hdr.Size < 0 {
			return structural(rel, "negative size")
		}
		if isPayload {
			if payloadFiles+1 > oxumFiles+oxumSlackFiles || hdr.Size > oxumBytes+oxumSlackBytes-payloadBytes {
				return &Failure{File: rel, Check: CheckOxum, Detail: fmt.Sprintf(
					"with this entry of %d bytes the payload would exceed the Payload-Oxum of %s (%d bytes in %d files) by more than %d bytes or %d files; stopped reading",
					hdr.Size, BagInfoTxt, oxumBytes, oxumFiles, oxumSlackBytes, oxumSlackFiles)}
			}
			payloadFiles++
			payloadBytes += hdr.Size
		}
		sf := &seenFile{size: hdr.Size}
		h := sha256.New()
		body := bombGuard{r: tr, tap: tap, v: v, name: rel}
		switch {
		case isPayload && v.opts.Visit != nil && v.visitErr == nil:
			if err := v.opts.Visit(rel, io.TeeReader(body, h)); err != nil {
				var bomb *Failure
				if errors.As(err, &bomb) {
					return bomb
				}
				v.visitErr = fmt.Errorf("reading %s: %w", rel, err)
			}
			if _, err := io.CopyBuffer(h, body, copyBuf); err != nil {
				return err
			}
		case isPayload:
			if _, err := io.CopyBuffer(h, body, copyBuf); err != nil {
				return err
			}
		default:
			limit := int64(maxSmallTagFile)
			if rel == ManifestTxt || rel == TagManifestTxt {
				limit = maxTagFile
			}
			if hdr.Size > limit {
				return structural(rel, "file of %d bytes exceeds the %d-byte limit for tag files", hdr.Size, limit)
			}
			data, err := io.ReadAll(io.TeeReader(tr, h))
			if err != nil {
				return err
			}
			sf.data = data
		}
		dataEnd = tap.n
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
		sf.sum = hex.EncodeToString(h.Sum(nil))
		v.seen[rel] = sf
		rep.Files[rel] = sf.sum
		if rel == BagInfoTxt {
			info, err := ParseBagInfo(sf.data)
			if err != nil {
				return &Failure{File: BagInfoTxt, Check: CheckBagInfoFormat, Detail: err.Error()}
			}
			if oxumBytes, oxumFiles, err = ParseOxum(info.Get("Payload-Oxum")); err != nil {
				return &Failure{File: BagInfoTxt, Check: CheckOxum, Detail: err.Error()}
			}
			v.info, haveOxum = info, true
			rep.CaseID = info.Get("External-Identifier")
			rep.AcquisitionID = info.Get("Internal-Sender-Identifier")
			rep.SealedAt = info.Get("Sealed-At-UTC")
		}
	}
	if rep.Bag == "" {
		return structural(v.plainName, "no entries")
	}
	v.entries = len(v.seen) + len(dirs) + 1
	// tar.Reader accepts an archive that stops after an entry, or after
	// one zero block; custos writes both end-of-archive blocks.
	if want := (dataEnd+tarBlock-1)/tarBlock*tarBlock + 2*tarBlock; tap.n != want {
		return structural(v.plainName, "the end-of-archive blocks are missing (the tar stream was cut after %s)", cmp.Or(prev, rep.Bag))
	}
	// Nothing may follow them: reading on also makes the decoder check the
	// frame's content checksum.
	var buf [1]byte
	for {
		n, err := r.Read(buf[:])
		if n > 0 {
			return structural(v.plainName, "data after the end of the tar archive")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// checkHeader holds a tar header to what custos writes (DESIGN §6.1): PAX
// or ustar headers of regular files and directories, owned by 0:0 without
// names, fixed modes, and no PAX record that could make tools disagree on
// an entry's name, type or size. blk is the header block as read.
func checkHeader(hdr *tar.Header, blk *[tarBlock]byte) error {
	if string(blk[257:263]) != "ustar\x00" || string(blk[263:265]) != "00" {
		return fmt.Errorf("not a PAX or ustar header (magic %q)", blk[257:265])
	}
	typ := blk[156]
	if typ != tar.TypeReg && typ != tar.TypeDir {
		return fmt.Errorf("entry type %q is not a regular file or directory", typ)
	}
	keys := make([]string, 0, len(hdr.PAXRecords))
	for k := range hdr.PAXRecords {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "path" || k == "size" && hdr.Size > maxOctalSize {
			continue
		}
		return fmt.Errorf("PAX record %q is not allowed", k)
	}
	ustarName := cString(blk[0:100])
	prefix := cString(blk[345:500])
	if prefix != "" {
		ustarName = prefix + "/" + ustarName
	}
	if p, ok := hdr.PAXRecords["path"]; ok {
		// A PAX path is only needed, and only written, for a name that
		// does not fit the ustar name field; there it starts with the
		// field's 100 bytes.
		switch {
		case ustarName == p:
			return fmt.Errorf("PAX path record for a name that fits the ustar header")
		case len(p) <= 100 || prefix != "" || string(blk[0:100]) != p[:100]:
			return fmt.Errorf("PAX path record renames the entry %q to %q", ustarName, p)
		}
	} else if ustarName != hdr.Name {
		return fmt.Errorf("header name %q is read as %q", ustarName, hdr.Name)
	}
	wantMode := int64(0o644)
	if typ == tar.TypeDir {
		wantMode = 0o755
	}
	switch {
	case hdr.Mode != wantMode:
		return fmt.Errorf("mode %o (custos writes %o)", hdr.Mode, wantMode)
	case hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "":
		return fmt.Errorf("owner %d:%d %q:%q (custos writes 0:0 without names)", hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname)
	case hdr.Linkname != "" || hdr.Devmajor != 0 || hdr.Devminor != 0:
		return errors.New("link name or device numbers set")
	case typ == tar.TypeDir && hdr.Size != 0:
		return fmt.Errorf("directory with a size of %d bytes", hdr.Size)
	}
	return nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func (v *verifier) checkOuterSignature(h512 hash.Hash) {
	rep := v.rep
	name := v.plainName + ".sig"
	sigPath := filepath.Join(filepath.Dir(rep.Archive), name)
	data, err := os.ReadFile(sigPath)
	if err != nil {
		rep.OuterSignature = "missing"
		v.fail(name, CheckOuterSignature, "cannot read the archive's signature: %v", err)
		return
	}
	sig, err := ParseSignature(data)
	if err == nil && sig.HashAlgorithm != HashSHA512 {
		err = fmt.Errorf("hash algorithm %s; custos signs archives with sha512", sig.HashAlgorithm)
	}
	if err == nil {
		err = sig.VerifyDigest(NamespaceArchive, h512.Sum(nil))
	}
	var principals []string
	if err == nil {
		principals, err = v.opts.Anchors.Principals(sig.PublicKey, NamespaceArchive, signedAt(rep))
	}
	if err != nil {
		rep.OuterSignature = "invalid"
		v.fail(name, CheckOuterSignature, "%v", err)
		return
	}
	rep.OuterSignature = "valid"
	v.pass(CheckOuterSignature, name, "%s signature of %s by %s (%s)", NamespaceArchive, v.plainName, Fingerprint(sig.PublicKey), strings.Join(principals, ", "))
}

// checkBag runs the BagIt checks on what readTar saw.
func (v *verifier) checkBag() {
	rep, seen, fail := v.rep, v.seen, v.fail
	tag := func(name string) []byte {
		if sf := seen[name]; sf != nil {
			return sf.data
		}
		fail(name, CheckCompleteness, "missing")
		return nil
	}
	tag(BagInfoTxt)
	if b := tag(BagitTxt); b != nil {
		if string(b) != bagitContent {
			fail(BagitTxt, CheckBagitDeclaration, "not a BagIt 1.0 UTF-8 declaration")
		}
		v.pass(CheckBagitDeclaration, BagitTxt, "BagIt 1.0, UTF-8")
	} else {
		v.skip(CheckBagitDeclaration, BagitTxt, "not run: bagit.txt is missing")
	}

	// Tag manifest: exactly the tag files, each matching.
	tagManifest := tag(TagManifestTxt)
	var lines []ManifestLine
	var err error
	if tagManifest != nil {
		if lines, err = ParseManifest(tagManifest); err != nil {
			fail(TagManifestTxt, CheckTagManifestFormat, "%v", err)
		}
	}
	if tagManifest == nil || err != nil {
		why := "not run: " + TagManifestTxt + " is missing or malformed"
		v.skip(CheckTagManifestFormat, TagManifestTxt, why)
		v.skip(CheckTagManifest, TagManifestTxt, why)
		v.skip(CheckTagManifestChecksum, TagManifestTxt, why)
	} else {
		v.pass(CheckTagManifestFormat, TagManifestTxt, "%d lines, sorted, LF, lower-case sha256", len(lines))
		var listed []string
		for _, l := range lines {
			listed = append(listed, l.Path)
			sf := seen[l.Path]
			switch {
			case !slices.Contains(tagFiles, l.Path):
				fail(l.Path, CheckTagManifest, "lists a file that is not a tag file")
			case sf == nil:
				// A missing tag file is reported above.
			case sf.sum != l.SHA256:
				fail(l.Path, CheckTagManifestChecksum, "sha256 %s, %s says %s", sf.sum, TagManifestTxt, l.SHA256)
			}
		}
		for _, t := range tagFiles {
			if !slices.Contains(listed, t) {
				fail(t, CheckTagManifest, "not listed in %s", TagManifestTxt)
			}
		}
		v.pass(CheckTagManifest, TagManifestTxt, "lists exactly %s", strings.Join(tagFiles, ", "))
		v.pass(CheckTagManifestChecksum, TagManifestTxt, "%d tag files match", len(lines))
	}

	// Payload manifest: every data/ file exactly once, each matching.
	var manifestPaths map[string]bool
	manifest := tag(ManifestTxt)
	lines, err = nil, nil
	if manifest != nil {
		if lines, err = ParseManifest(manifest); err != nil {
			fail(ManifestTxt, CheckManifestFormat, "%v", err)
		}
	}
	if manifest == nil || err != nil {
		why := "not run: " + ManifestTxt + " is missing or malformed"
		v.skip(CheckManifestFormat, ManifestTxt, why)
		v.skip(CheckManifest, ManifestTxt, why)
		v.skip(CheckManifestChecksum, ManifestTxt, why)
	} else {
		v.pass(CheckManifestFormat, ManifestTxt, "%d lines, sorted, LF, lower-case sha256", len(lines))
		manifestPaths = map[string]bool{}
		for _, l := range lines {
			manifestPaths[l.Path] = true
			sf := seen[l.Path]
			switch {
			case !strings.HasPrefix(l.Path, PayloadDir+"/"):
				fail(l.Path, CheckManifest, "payload path outside %s/", PayloadDir)
			case sf == nil:
				fail(l.Path, CheckCompleteness, "listed in %s but missing", ManifestTxt)
			case sf.sum != l.SHA256:
				fail(l.Path, CheckManifestChecksum, "sha256 %s, %s says %s", sf.sum, ManifestTxt, l.SHA256)
			}
		}
		v.pass(CheckManifest, ManifestTxt, "%d payload paths under %s/", len(lines), PayloadDir)
		v.pass(CheckManifestChecksum, ManifestTxt, "%d payload files match", len(lines))
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
				fail(name, CheckCompleteness, "payload file not in %s", ManifestTxt)
			}
			continue
		}
		if name != InnerSigFile && !slices.Contains(tagFiles, name) && name != TagManifestTxt {
			fail(name, CheckCompleteness, "unexpected file outside %s/", PayloadDir)
		}
	}
	dirNames := make([]string, 0, len(v.dirs))
	for d := range v.dirs {
		dirNames = append(dirNames, d)
	}
	slices.Sort(dirNames)
	for _, d := range dirNames {
		if !v.dirs[d] {
			fail(d, CheckCompleteness, "empty directory (custos writes only the directories of its files)")
		}
	}
	rep.PayloadFiles, rep.PayloadBytes = int(payloadFiles), payloadBytes
	v.pass(CheckCompleteness, rep.Bag, "%d payload files, every one listed; nothing else outside %s/ but the tag files and the inner signature", payloadFiles, PayloadDir)

	// bag-info.txt was parsed while reading, before data/.
	if info := v.info; info != nil {
		v.pass(CheckBagInfoFormat, BagInfoTxt, "%d labels", len(info))
		if b, n, _ := ParseOxum(info.Get("Payload-Oxum")); b != payloadBytes || n != payloadFiles {
			fail(BagInfoTxt, CheckOxum, "says %d bytes in %d files, payload has %d bytes in %d files", b, n, payloadBytes, payloadFiles)
		}
		v.pass(CheckOxum, BagInfoTxt, "%d bytes in %d files", payloadBytes, payloadFiles)
	} else {
		v.skip(CheckBagInfoFormat, BagInfoTxt, "not run: bag-info.txt is missing")
		v.skip(CheckOxum, BagInfoTxt, "not run: bag-info.txt is missing")
	}
	v.checkBagIdentity()
	v.checkInnerSignature(tagManifest)
}

// checkBagIdentity ties the bag to its file name and to the identifiers
// it declares: <case>-<acquisition> is the bag directory, and the archive
// is <bag>.tar.zst (or .tar.zst.age). A validly signed archive renamed to
// stand in for another fails here (rollback or substitution).
func (v *verifier) checkBagIdentity() {
	rep := v.rep
	if !strings.HasSuffix(v.plainName, ArchiveSuffix) {
		v.fail(v.fileName, CheckBagIdentity, "archive name does not end in %s or %s%s", ArchiveSuffix, ArchiveSuffix, EncryptedSuffix)
	} else if want := strings.TrimSuffix(v.plainName, ArchiveSuffix); rep.Bag != want {
		v.fail(v.fileName, CheckBagIdentity, "holds bag %q, not %q: the archive was renamed or substituted", rep.Bag, want)
	}
	if v.info != nil {
		if id := rep.CaseID + "-" + rep.AcquisitionID; id != rep.Bag || rep.CaseID == "" || rep.AcquisitionID == "" {
			v.fail(BagInfoTxt, CheckBagIdentity, "External-Identifier %q and Internal-Sender-Identifier %q do not name bag %q", rep.CaseID, rep.AcquisitionID, rep.Bag)
		}
	}
	v.pass(CheckBagIdentity, v.plainName, "bag %s = case %s, acquisition %s", rep.Bag, rep.CaseID, rep.AcquisitionID)
}

func (v *verifier) checkInnerSignature(tagManifest []byte) {
	rep := v.rep
	sigData := v.seen[InnerSigFile]
	switch {
	case sigData == nil:
		v.fail(InnerSigFile, CheckInnerSignature, "missing")
		v.skip(CheckInnerSigner, InnerSigFile, "not run: no inner signature")
		return
	case tagManifest == nil:
		v.skip(CheckInnerSignature, InnerSigFile, "not run: "+TagManifestTxt+" is missing")
		v.skip(CheckInnerSigner, InnerSigFile, "not run: "+TagManifestTxt+" is missing")
		return
	}
	sig, err := ParseSignature(sigData.data)
	if err == nil {
		err = sig.Verify(NamespaceEvidence, bytes.NewReader(tagManifest))
	}
	if err != nil {
		v.fail(InnerSigFile, CheckInnerSignature, "%v", err)
		v.skip(CheckInnerSigner, InnerSigFile, "not run: the inner signature is invalid")
		return
	}
	rep.SignerKey = Fingerprint(sig.PublicKey)
	v.pass(CheckInnerSignature, InnerSigFile, "%s signature of %s by %s", NamespaceEvidence, TagManifestTxt, rep.SignerKey)
	// Key validity is judged at the claimed seal time: without a trusted
	// timestamp that time is the signer's own claim.
	at := signedAt(rep)
	p, err := v.opts.Anchors.Principals(sig.PublicKey, NamespaceEvidence, at)
	if err != nil {
		v.fail(InnerSigFile, CheckInnerSigner, "%s: %v", rep.SignerKey, err)
		return
	}
	rep.SignerPrincipals = p
	v.pass(CheckInnerSigner, InnerSigFile, "%s is trusted as %s at %s, the seal time the signer claims (no trusted timestamp)",
		rep.SignerKey, strings.Join(p, ", "), at.UTC().Format(time.RFC3339))
}

// Passed names the checks that passed, in order, for one-line summaries.
func (r *ArchiveReport) Passed() []string {
	var out []string
	for _, c := range r.Results {
		if c.Status == StatusPass {
			out = append(out, c.Check)
		}
	}
	return out
}

// Digests maps the archive's file names to the digests custody entries
// must record for them: <bag>.tar.zst to the plaintext sha256 and, for an
// encrypted archive, <bag>.tar.zst.age to the ciphertext sha256.
func (r *ArchiveReport) Digests() map[string]string {
	base := filepath.Base(r.Archive)
	plain := strings.TrimSuffix(base, EncryptedSuffix)
	d := map[string]string{plain: r.SHA256}
	if base != plain {
		d[base] = r.CiphertextSHA256
	}
	return d
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
