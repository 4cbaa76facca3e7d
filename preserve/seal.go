package preserve

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

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
	Organization string
	Contact      string
}

// SealResult describes a sealed archive.
type SealResult struct {
	Archive      string `json:"archive"`
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	Files        int    `json:"payload_files"`
	PayloadBytes int64  `json:"payload_bytes"`
	Fingerprint  string `json:"signer_fingerprint"`
	CustodyHead  Head   `json:"custody_head"`
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

// StagedAcquisitionFile marks a finished staging directory.
const StagedAcquisitionFile = "provenance/acquisition.json"

type payloadFile struct {
	rel  string // relative to the staging dir, slash separated
	size int64
	sum  string
}

// Seal turns CASE/staging/<acquisitionID>/ into a signed evidence archive
// CASE/evidence/<case>-<acquisitionID>.tar.zst with its outer signature, and
// appends the acquired and sealed custody entries. Nothing is written under
// a final name unless the whole archive was written and synced.
func (c *Case) Seal(acquisitionID string, opts SealOptions) (*SealResult, error) {
	if opts.Signer == nil {
		return nil, errors.New("sealing needs a signing key: pass --key FILE or --agent")
	}
	stage := c.Path(StagingDir, acquisitionID)
	acqData, err := os.ReadFile(filepath.Join(stage, filepath.FromSlash(StagedAcquisitionFile)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("staging %s is not a finished acquisition (no %s): rerun the collection", acquisitionID, StagedAcquisitionFile)
	} else if err != nil {
		return nil, err
	}
	var acq stagedAcquisition
	if err := json.Unmarshal(acqData, &acq); err != nil {
		return nil, fmt.Errorf("reading %s: %w", StagedAcquisitionFile, err)
	}
	if acq.ID != acquisitionID {
		return nil, fmt.Errorf("%s names acquisition %q, expected %q", StagedAcquisitionFile, acq.ID, acquisitionID)
	}
	archive := c.ArchivePath(acquisitionID)
	if _, err := os.Stat(archive); err == nil {
		return nil, fmt.Errorf("acquisition %s is already sealed in %s", acquisitionID, archive)
	}
	sealAt := opts.Time.UTC().Truncate(time.Second)
	if sealAt.IsZero() {
		return nil, errors.New("seal time is not set")
	}

	// Pass 1: hash every payload file.
	files, err := scanPayload(stage)
	if err != nil {
		return nil, err
	}
	var manifest []ManifestLine
	var payloadBytes int64
	for _, f := range files {
		manifest = append(manifest, ManifestLine{SHA256: f.sum, Path: PayloadDir + "/" + f.rel})
		payloadBytes += f.size
	}
	manifestBytes := FormatManifest(manifest)
	info := BagInfo{
		{"Source-Organization", or(opts.Organization, c.Info.Organization, "unspecified")},
		{"Contact-Name", or(opts.Contact, c.Info.Examiner, acq.Operator, "unspecified")},
		{"External-Identifier", c.Info.ID},
		{"Internal-Sender-Identifier", acquisitionID},
		{"Bagging-Date", sealAt.Format(time.DateOnly)},
		{"Payload-Oxum", strconv.FormatInt(payloadBytes, 10) + "." + strconv.Itoa(len(files))},
		{"Custos-Version", or(opts.Tool, acq.Tool.Name+" "+acq.Tool.Version)},
		{"Collection-Start-UTC", acq.Started.UTC().Format(time.RFC3339)},
		{"Collection-End-UTC", acq.Finished.UTC().Format(time.RFC3339)},
		{"Sealed-At-UTC", sealAt.Format(time.RFC3339)},
	}
	tags := map[string][]byte{
		BagitTxt:    []byte(bagitContent),
		BagInfoTxt:  info.Format(),
		ManifestTxt: manifestBytes,
	}
	var tagLines []ManifestLine
	for _, name := range tagFiles {
		sum := sha256.Sum256(tags[name])
		tagLines = append(tagLines, ManifestLine{SHA256: hex.EncodeToString(sum[:]), Path: name})
	}
	tags[TagManifestTxt] = FormatManifest(tagLines)
	sig, err := Sign(opts.Signer, NamespaceEvidence, bytes.NewReader(tags[TagManifestTxt]))
	if err != nil {
		return nil, fmt.Errorf("signing tag manifest: %w", err)
	}
	tags[InnerSigFile] = sig

	// Pass 2: write the tar.zst, checking each payload file again.
	bag := c.BagName(acquisitionID)
	var sha256sum, sha512sum []byte
	var size int64
	err = fsutil.WriteWith(archive, 0o444, func(w io.Writer) error {
		h256, h512 := sha256.New(), sha512.New()
		cw := &countWriter{w: io.MultiWriter(w, h256, h512)}
		if err := writeBag(cw, stage, bag, sealAt, files, tags); err != nil {
			return err
		}
		sha256sum, sha512sum, size = h256.Sum(nil), h512.Sum(nil), cw.n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", filepath.Base(archive), err)
	}
	outer, err := SignDigest(opts.Signer, NamespaceArchive, HashSHA512, sha512sum)
	if err != nil {
		return nil, fmt.Errorf("signing archive: %w", err)
	}
	if err := fsutil.WriteFile(archive+".sig", outer, 0o444); err != nil {
		return nil, err
	}
	res := &SealResult{
		Archive:      archive,
		SHA256:       hex.EncodeToString(sha256sum),
		Size:         size,
		Files:        len(files),
		PayloadBytes: payloadBytes,
		Fingerprint:  Fingerprint(opts.Signer.PublicKey()),
	}
	common := Entry{
		Archive:       filepath.Base(archive),
		ArchiveSHA256: res.SHA256,
		AcquisitionID: acquisitionID,
		Tool:          or(opts.Tool, acq.Tool.Name+" "+acq.Tool.Version),
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
	log := c.Custody()
	if _, err := log.Append(acquired, opts.Signer); err != nil {
		return nil, fmt.Errorf("custody: %w", err)
	}
	head, err := log.Append(sealed, opts.Signer)
	if err != nil {
		return nil, fmt.Errorf("custody: %w", err)
	}
	res.CustodyHead = head
	return res, nil
}

func or(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// scanPayload lists and hashes every regular file of a staging directory.
// Anything that is not a regular file or directory, and any name outside
// the archive charset, is an error: it could not be sealed faithfully.
func scanPayload(stage string) ([]payloadFile, error) {
	var files []payloadFile
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
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("staging entry %s is not a regular file", rel)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return fmt.Errorf("hashing %s: %w", rel, err)
		}
		files = append(files, payloadFile{rel: rel, size: n, sum: hex.EncodeToString(h.Sum(nil))})
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

type tarEntry struct {
	name    string // relative to the bag, slash separated; dirs without trailing slash
	dir     bool
	content []byte       // tag files
	payload *payloadFile // payload files
}

// writeBag writes the reproducible tar.zst: PAX headers, entries sorted by
// name, explicit directories, uid/gid 0, no user names, fixed modes and
// mtime, single-threaded zstd so the bytes depend only on the input.
func writeBag(w io.Writer, stage, bag string, mtime time.Time, files []payloadFile, tags map[string][]byte) error {
	var entries []tarEntry
	dirs := map[string]bool{}
	addDirs := func(name string) {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for name, content := range tags {
		entries = append(entries, tarEntry{name: name, content: content})
		addDirs(name)
	}
	for i := range files {
		name := PayloadDir + "/" + files[i].rel
		entries = append(entries, tarEntry{name: name, payload: &files[i]})
		addDirs(name)
	}
	for d := range dirs {
		entries = append(entries, tarEntry{name: d, dir: true})
	}
	entries = append(entries, tarEntry{name: "", dir: true}) // the bag directory itself
	slices.SortFunc(entries, func(a, b tarEntry) int { return strings.Compare(a.name, b.name) })

	zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(true))
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		full := bag
		if e.name != "" {
			full = bag + "/" + e.name
		}
		hdr := &tar.Header{
			Name:    full,
			ModTime: mtime,
			Format:  tar.FormatPAX,
		}
		switch {
		case e.dir:
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, full+"/", 0o755
		case e.payload != nil:
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, e.payload.size
		default:
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, int64(len(e.content))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		switch {
		case e.payload != nil:
			if err := copyChecked(tw, filepath.Join(stage, filepath.FromSlash(e.payload.rel)), e.payload); err != nil {
				return err
			}
		case !e.dir:
			if _, err := tw.Write(e.content); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// copyChecked copies a payload file into the archive and fails if its bytes
// changed since they were hashed for the manifest.
func copyChecked(w io.Writer, name string, f *payloadFile) error {
	in, err := os.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(in, f.size))
	if err != nil {
		return fmt.Errorf("archiving %s: %w", f.rel, err)
	}
	if n != f.size || hex.EncodeToString(h.Sum(nil)) != f.sum {
		return fmt.Errorf("archiving %s: file changed while sealing", f.rel)
	}
	return nil
}
