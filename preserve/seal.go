package preserve

import (
	"archive/tar"
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/internal/fsutil"
)

// SealOptions configures Seal.
type SealOptions struct {
	Signer ssh.Signer
	// Time is the seal time: it becomes Sealed-At-UTC, the mtime of every
	// tar entry and the time of the sealed custody entry. Callers honour
	// SOURCE_DATE_EPOCH by setting it.
	Time         time.Time
	Actor        string // who seals (custody actor)
	Host         string
	Tool         string // e.g. "custos 0.1.0"
	Build        string // e.g. "go1.26.8 vcs.revision=abc123" (bag-info Custos-Build)
	Organization string
	Contact      string
	// Encrypt, when set, writes only the age ciphertext of the archive
	// (<bag>.tar.zst.age); the plaintext never touches the disk.
	Encrypt *Encryption
}

// SealResult describes a sealed archive.
type SealResult struct {
	// Archive is the file written: the .tar.zst, or the .tar.zst.age
	// when encrypted. SHA256 and Size are always the plaintext's.
	Archive      string `json:"archive"`
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	Files        int    `json:"payload_files"`
	PayloadBytes int64  `json:"payload_bytes"`
	Fingerprint  string `json:"signer_fingerprint"`
	CustodyHead  Head   `json:"custody_head"`
	// CiphertextSHA256 is set for encrypted archives.
	CiphertextSHA256 string `json:"ciphertext_sha256,omitempty"`
	// Recovered says an unrecorded archive left by an interrupted seal was
	// replaced.
	Recovered string `json:"recovered,omitempty"`
}

// stagedAcquisition is the part of provenance/acquisition.json that sealing
// needs. preserve reads it without depending on the collect package.
type stagedAcquisition struct {
	ID       string    `json:"acquisition_id"`
	CaseID   string    `json:"case_id"`
	Started  time.Time `json:"collection_start_utc"`
	Finished time.Time `json:"collection_end_utc"`
	Operator string    `json:"operator"`
	Host     string    `json:"host"`
	Tool     struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Build   string `json:"build"`
	} `json:"tool"`
}

// readStagedAcquisition decodes the fields sealing needs from
// acquisition.json token by token, so its size (it lists every gap) does
// not set the seal's memory.
func readStagedAcquisition(name string) (*stagedAcquisition, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var acq stagedAcquisition
	wanted := map[string]any{
		"acquisition_id": &acq.ID, "case_id": &acq.CaseID, "collection_start_utc": &acq.Started,
		"collection_end_utc": &acq.Finished, "operator": &acq.Operator, "host": &acq.Host, "tool": &acq.Tool,
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		if dst, ok := wanted[key]; ok {
			err = dec.Decode(dst)
		} else {
			err = skipJSONValue(dec)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	return &acq, nil
}

// skipJSONValue consumes one value without keeping it.
func skipJSONValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// StagedAcquisitionFile marks a finished staging directory.
const StagedAcquisitionFile = "provenance/acquisition.json"

type payloadFile struct {
	rel  string // relative to the staging dir, slash separated
	size int64
	sum  string // filled in while the archive is written
}

// Seal turns CASE/staging/<acquisitionID>/ into a signed evidence archive
// CASE/evidence/<case>-<acquisitionID>.tar.zst (or .tar.zst.age) with its
// outer signature, and appends the acquired, sealed (and encrypted)
// custody entries. The payload is read once: each file is hashed as it is
// archived, and the manifests, which sort after data/, are written last.
// Nothing is written under a final name unless it was written and synced.
func (c *Case) Seal(acquisitionID string, opts SealOptions) (*SealResult, error) {
	if opts.Signer == nil {
		return nil, errors.New("sealing needs a signing key: pass --key FILE or --agent")
	}
	stage := c.Path(StagingDir, acquisitionID)
	acq, err := readStagedAcquisition(filepath.Join(stage, filepath.FromSlash(StagedAcquisitionFile)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("staging %s is not a finished acquisition (no %s): rerun the collection", acquisitionID, StagedAcquisitionFile)
	} else if err != nil {
		return nil, fmt.Errorf("reading %s: %w", StagedAcquisitionFile, err)
	}
	if acq.ID != acquisitionID {
		return nil, fmt.Errorf("%s names acquisition %q, expected %q", StagedAcquisitionFile, acq.ID, acquisitionID)
	}
	sealAt := opts.Time.UTC().Truncate(time.Second)
	if sealAt.IsZero() {
		return nil, errors.New("seal time is not set")
	}
	log := c.Custody()
	unlock, err := log.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	plain := c.ArchivePath(acquisitionID)
	final := plain
	if opts.Encrypt != nil {
		final = plain + EncryptedSuffix
	}
	recovered, err := c.clearInterruptedSeal(log, plain)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.Path(EvidenceDir), 0o755); err != nil {
		return nil, err
	}
	if err := fsutil.WriteFile(sealingMarker(plain), []byte(acquisitionID+"\n"), 0o644); err != nil {
		return nil, err
	}
	finished := false
	defer func() {
		// A seal that failed before its archive existed leaves nothing to
		// recover: drop the marker.
		if _, err := os.Stat(final); !finished && err != nil {
			os.Remove(sealingMarker(plain))
		}
	}()

	files, err := listPayload(stage)
	if err != nil {
		return nil, err
	}
	var payloadBytes int64
	for _, f := range files {
		payloadBytes += f.size
	}
	tool := cmp.Or(strings.TrimSpace(opts.Tool), acq.Tool.Name+" "+acq.Tool.Version)
	info := BagInfo{
		{"Source-Organization", or(opts.Organization, c.Info.Organization, "unspecified")},
		{"Contact-Name", or(opts.Contact, c.Info.Examiner, acq.Operator, "unspecified")},
		{"External-Identifier", c.Info.ID},
		{"Internal-Sender-Identifier", acquisitionID},
		{"Bagging-Date", sealAt.Format(time.DateOnly)},
		{"Payload-Oxum", strconv.FormatInt(payloadBytes, 10) + "." + strconv.Itoa(len(files))},
		{"Custos-Version", tool},
		{"Custos-Build", or(opts.Build, acq.Tool.Build, "unknown")},
		{"Collection-Start-UTC", acq.Started.UTC().Format(time.RFC3339)},
		{"Collection-End-UTC", acq.Finished.UTC().Format(time.RFC3339)},
		{"Sealed-At-UTC", sealAt.Format(time.RFC3339)},
	}

	res := &SealResult{Archive: final, Files: len(files), PayloadBytes: payloadBytes,
		Fingerprint: Fingerprint(opts.Signer.PublicKey()), Recovered: recovered}
	var sha512sum []byte
	err = fsutil.WriteWith(final, 0o444, func(w io.Writer) error {
		var cipher *hashWriter
		var enc io.WriteCloser
		if opts.Encrypt != nil {
			cipher = newHashWriter(w, false)
			var err error
			if enc, err = age.Encrypt(cipher, opts.Encrypt.Recipients...); err != nil {
				return fmt.Errorf("encrypting: %w", err)
			}
			w = enc
		}
		plainHash := newHashWriter(w, true)
		b := &bagWriter{stage: stage, bag: c.BagName(acquisitionID), mtime: sealAt, signer: opts.Signer, files: files,
			bagit: []byte(bagitContent), bagInfo: info.Format()}
		if err := b.write(plainHash); err != nil {
			return err
		}
		if enc != nil {
			if err := enc.Close(); err != nil {
				return fmt.Errorf("encrypting: %w", err)
			}
			res.CiphertextSHA256 = hex.EncodeToString(cipher.h256.Sum(nil))
		}
		res.SHA256, res.Size = hex.EncodeToString(plainHash.h256.Sum(nil)), plainHash.n
		sha512sum = plainHash.h512.Sum(nil)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", filepath.Base(final), err)
	}
	outer, err := SignDigest(opts.Signer, NamespaceArchive, HashSHA512, sha512sum)
	if err != nil {
		return nil, fmt.Errorf("signing archive: %w", err)
	}
	if err := fsutil.WriteFile(plain+".sig", outer, 0o444); err != nil {
		return nil, err
	}

	common := Entry{
		Archive:       filepath.Base(plain),
		ArchiveSHA256: res.SHA256,
		AcquisitionID: acquisitionID,
		Tool:          tool,
	}
	acquired := common
	acquired.Time = acq.Finished.UTC().Truncate(time.Second)
	acquired.Action = ActionAcquired
	acquired.Actor = or(acq.Operator, opts.Actor)
	acquired.Host = acq.Host
	acquired.Note = fmt.Sprintf("collection %s to %s", acq.Started.UTC().Format(time.RFC3339), acq.Finished.UTC().Format(time.RFC3339))
	sealed := common
	sealed.Time = sealAt
	sealed.Action = ActionSealed
	sealed.Actor = opts.Actor
	sealed.Host = opts.Host
	sealed.Note = "signed by " + res.Fingerprint
	entries := []Entry{acquired, sealed}
	if opts.Encrypt != nil {
		encrypted := common
		encrypted.Time = sealAt
		encrypted.Action = ActionEncrypted
		encrypted.Actor = opts.Actor
		encrypted.Host = opts.Host
		encrypted.Archive = filepath.Base(final)
		encrypted.ArchiveSHA256 = res.CiphertextSHA256
		encrypted.Note = "age recipients: " + strings.Join(opts.Encrypt.Names, ", ")
		entries = append(entries, encrypted)
	}
	for _, e := range entries {
		if res.CustodyHead, err = log.append(e, opts.Signer); err != nil {
			return nil, fmt.Errorf("custody: %w", err)
		}
	}
	finished = true
	if err := os.Remove(sealingMarker(plain)); err != nil {
		return nil, err
	}
	return res, nil
}

// sealingMarker is written before an archive and removed once its custody
// entries are: its presence says a seal of that archive was interrupted.
func sealingMarker(plain string) string { return plain + ".sealing" }

// clearInterruptedSeal handles an archive already present for plain (or
// its .age form). One that a sealed custody entry records is sealed: an
// error. One that no custody entry names is what an interrupted seal left
// behind: the staging directory is still the evidence of record, so the
// unrecorded archive and its signature are removed and sealing starts
// again. One that only some entries name cannot be repaired automatically.
func (c *Case) clearInterruptedSeal(log *CustodyLog, plain string) (string, error) {
	var present []string
	for _, p := range []string{plain, plain + EncryptedSuffix} {
		if _, err := os.Stat(p); err == nil {
			present = append(present, p)
		}
	}
	if len(present) == 0 {
		return "", nil
	}
	entries, err := log.readAll()
	if err != nil {
		return "", err
	}
	names := map[string]bool{filepath.Base(plain): true, filepath.Base(plain) + EncryptedSuffix: true}
	named := 0
	for _, e := range entries {
		if names[e.Archive] {
			named++
			if e.Action == ActionSealed {
				return "", fmt.Errorf("acquisition is already sealed in %s (custody entry %d)", filepath.Base(present[0]), e.Seq)
			}
		}
	}
	if named > 0 {
		return "", fmt.Errorf("%s: the custody log names it but has no sealed entry (a seal was interrupted between custody entries); keep the archive and record the seal with 'custos custody add --action sealed --archive %s'", filepath.Base(present[0]), filepath.Base(present[0]))
	}
	// Only an archive this case was in the middle of sealing is replaced;
	// one that arrived otherwise (copied from another case) is not ours to
	// delete.
	if _, err := os.Stat(sealingMarker(plain)); err != nil {
		return "", fmt.Errorf("%s exists but neither the custody log nor an interrupted seal accounts for it (was it copied from another case?): move it out of %s to seal again", filepath.Base(present[0]), filepath.Dir(plain))
	}
	for _, p := range append(present, plain+".sig", sealingMarker(plain)) {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return fmt.Sprintf("replaced %s left unrecorded by an interrupted seal", filepath.Base(present[0])), nil
}

func or(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// hashWriter passes bytes on while hashing and counting them.
type hashWriter struct {
	w    io.Writer
	h256 hash.Hash
	h512 hash.Hash // nil unless asked for
	n    int64
}

func newHashWriter(w io.Writer, with512 bool) *hashWriter {
	hw := &hashWriter{w: w, h256: sha256.New()}
	if with512 {
		hw.h512 = sha512.New()
	}
	return hw
}

func (hw *hashWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h256.Write(p[:n])
	if hw.h512 != nil {
		hw.h512.Write(p[:n])
	}
	hw.n += int64(n)
	return n, err
}

// listPayload lists every regular file of a staging directory with its
// size, sorted by name. Anything that is not a regular file or directory,
// any name outside the archive charset and names differing only in case
// are errors: they could not be sealed faithfully.
func listPayload(stage string) ([]payloadFile, error) {
	var files []payloadFile
	folded := map[string]string{}
	err := filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == stage {
			return nil
		}
		rel, err := filepath.Rel(stage, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if err := CheckEntryName(rel); err != nil {
			return fmt.Errorf("staging file %s cannot be sealed: %w", rel, err)
		}
		if other, dup := folded[strings.ToLower(rel)]; dup {
			return fmt.Errorf("staging files %s and %s differ only in case and cannot be sealed", other, rel)
		}
		folded[strings.ToLower(rel)] = rel
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("staging entry %s is not a regular file", rel)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, payloadFile{rel: rel, size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("staging %s holds no files", stage)
	}
	slices.SortFunc(files, func(a, b payloadFile) int { return strings.Compare(a.rel, b.rel) })
	return files, nil
}

// bagWriter writes the reproducible tar.zst of one bag.
type bagWriter struct {
	stage, bag string
	mtime      time.Time
	signer     ssh.Signer
	files      []payloadFile
	bagit      []byte
	bagInfo    []byte

	manifest, tagManifest []byte // computed once the payload is written
}

// tarEntry is one entry of the bag. Content is produced when the entry is
// written, so the manifests can depend on the payload written before them.
type tarEntry struct {
	name    string // relative to the bag, slash separated; dirs without trailing slash
	dir     bool
	payload *payloadFile
	content func() ([]byte, error)
}

// Zstd settings for archives. Compression runs as jobs of 4 × the window
// (4 MiB), each primed with the window before it, on a fixed number of
// goroutines: the output depends on the input alone (not on timing or
// GOMAXPROCS), so archives stay byte-reproducible, and both cores work. A
// 1 MiB window costs under 1 % in size against zstd -3 and bounds memory.
const (
	sealZstdConcurrency = 2
	sealZstdWindow      = 1 << 20
	copyBufferSize      = 256 << 10
)

// sealZstdOptions are the encoder options every archive is written with.
var sealZstdOptions = []zstd.EOption{
	zstd.WithEncoderConcurrency(sealZstdConcurrency),
	zstd.WithConcurrentBlocks(true),
	zstd.WithWindowSize(sealZstdWindow),
	zstd.WithEncoderLevel(zstd.SpeedDefault),
	zstd.WithEncoderCRC(true),
}

// write writes the whole archive to w: PAX headers, entries sorted by name
// with explicit directories, uid/gid 0, no user names, fixed modes and
// mtime. bag-info.txt and bagit.txt sort before data/, the manifests,
// signatures/ and the tag manifest after it.
func (b *bagWriter) write(w io.Writer) error {
	entries := b.entries()
	zw, err := zstd.NewWriter(w, sealZstdOptions...)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	buf := make([]byte, copyBufferSize)
	for _, e := range entries {
		full := b.bag
		if e.name != "" {
			full = b.bag + "/" + e.name
		}
		hdr := &tar.Header{Name: full, ModTime: b.mtime, Format: tar.FormatPAX}
		var content []byte
		switch {
		case e.dir:
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, full+"/", 0o755
		case e.payload != nil:
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, e.payload.size
		default:
			if content, err = e.content(); err != nil {
				return err
			}
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, int64(len(content))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		switch {
		case e.payload != nil:
			if err := copyHashing(tw, filepath.Join(b.stage, filepath.FromSlash(e.payload.rel)), e.payload, buf); err != nil {
				return err
			}
		case !e.dir:
			if _, err := tw.Write(content); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// entries lists the bag's entries in archive order.
func (b *bagWriter) entries() []tarEntry {
	static := func(data []byte) func() ([]byte, error) { return func() ([]byte, error) { return data, nil } }
	entries := []tarEntry{
		{name: BagInfoTxt, content: static(b.bagInfo)},
		{name: BagitTxt, content: static(b.bagit)},
		{name: ManifestTxt, content: b.makeManifest},
		{name: TagManifestTxt, content: b.makeTagManifest},
		{name: InnerSigFile, content: b.makeSignature},
	}
	dirs := map[string]bool{path.Dir(InnerSigFile): true}
	for i := range b.files {
		name := PayloadDir + "/" + b.files[i].rel
		entries = append(entries, tarEntry{name: name, payload: &b.files[i]})
		for d := path.Dir(name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range dirs {
		entries = append(entries, tarEntry{name: d, dir: true})
	}
	entries = append(entries, tarEntry{name: "", dir: true}) // the bag directory itself
	slices.SortFunc(entries, func(a, b tarEntry) int { return strings.Compare(a.name, b.name) })
	return entries
}

// The tag files below are produced in archive order: manifest-sha256.txt
// (after every payload file), signatures/…sig, tagmanifest-sha256.txt. The
// signature precedes the tag manifest in the archive but signs it, so the
// tag manifest is computed on first use by either.

func (b *bagWriter) makeManifest() ([]byte, error) {
	lines := make([]ManifestLine, 0, len(b.files))
	for _, f := range b.files {
		if f.sum == "" {
			return nil, fmt.Errorf("internal error: %s not hashed before the manifest", f.rel)
		}
		lines = append(lines, ManifestLine{SHA256: f.sum, Path: PayloadDir + "/" + f.rel})
	}
	b.manifest = FormatManifest(lines)
	return b.manifest, nil
}

func (b *bagWriter) makeTagManifest() ([]byte, error) {
	if b.tagManifest != nil {
		return b.tagManifest, nil
	}
	if b.manifest == nil {
		return nil, errors.New("internal error: tag manifest before manifest")
	}
	content := map[string][]byte{BagInfoTxt: b.bagInfo, BagitTxt: b.bagit, ManifestTxt: b.manifest}
	var lines []ManifestLine
	for _, name := range tagFiles {
		sum := sha256.Sum256(content[name])
		lines = append(lines, ManifestLine{SHA256: hex.EncodeToString(sum[:]), Path: name})
	}
	b.tagManifest = FormatManifest(lines)
	return b.tagManifest, nil
}

func (b *bagWriter) makeSignature() ([]byte, error) {
	tm, err := b.makeTagManifest()
	if err != nil {
		return nil, err
	}
	sig, err := Sign(b.signer, NamespaceEvidence, bytes.NewReader(tm))
	if err != nil {
		return nil, fmt.Errorf("signing tag manifest: %w", err)
	}
	return sig, nil
}

// copyHashing copies a payload file into the archive, hashing it on the
// way, and fails if its size changed since it was listed.
func copyHashing(w io.Writer, name string, f *payloadFile, buf []byte) error {
	in, err := os.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(w, h), io.LimitReader(in, f.size), buf)
	if err != nil {
		return fmt.Errorf("archiving %s: %w", f.rel, err)
	}
	if extra, _ := in.Read(buf[:1]); n != f.size || extra > 0 {
		return fmt.Errorf("archiving %s: file changed size while sealing", f.rel)
	}
	f.sum = hex.EncodeToString(h.Sum(nil))
	return nil
}
