package preserve

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/internal/fsutil"
)

// ExportOptions configures Export.
type ExportOptions struct {
	Signer  ssh.Signer
	Time    time.Time
	Actor   string
	To      string // receiving party
	Purpose string
	Tool    string
	Host    string
}

// ExportResult describes an exported package.
type ExportResult struct {
	Dir         string `json:"dir"`
	Archive     string `json:"archive"`
	SHA256      string `json:"sha256"`
	CustodyHead Head   `json:"custody_head"`
}

// SenderAnchorsFile is the exporting case's allowed_signers as copied into
// an export. It is informational: a recipient verifies with trust anchors
// obtained independently (--allowed-signers), never with a file that
// travelled with the evidence, since whoever could alter the package could
// alter that file too.
const SenderAnchorsFile = "allowed_signers.from-sender"

// Export copies one archive (plain or .age) with its outer signature into
// dest, a new directory laid out like a case (case.json, evidence/,
// custody/, and the sender's allowed_signers as SenderAnchorsFile), so that
// 'custos verify --allowed-signers ANCHORS DEST/evidence/ARCHIVE' and the
// README's standard-tool procedure work there. The archive's bytes are
// hashed while copied and must equal the digest the custody log last
// recorded for it; an exported custody entry is appended (to the case's
// log, before the log is copied) naming the archive, its digest and the
// recipient. The package is built in a temporary directory beside dest and
// renamed into place last, so dest never holds half a package.
func (c *Case) Export(archive, dest string, opts ExportOptions) (res *ExportResult, err error) {
	if archive != filepath.Base(archive) || !strings.HasSuffix(strings.TrimSuffix(archive, EncryptedSuffix), ArchiveSuffix) {
		return nil, fmt.Errorf("archive %q: give an archive file name from %s", archive, c.Path(EvidenceDir))
	}
	if opts.Signer == nil {
		return nil, errors.New("exporting needs a signing key for the custody entry: pass --key FILE or --agent")
	}
	dest = filepath.Clean(dest)
	if _, err := os.Lstat(dest); err == nil {
		return nil, fmt.Errorf("%s already exists: export into a new directory", dest)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	log := c.Custody()
	unlock, err := log.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	entries, err := log.readAll()
	if err != nil {
		return nil, err
	}
	recorded := ""
	for _, e := range entries {
		if e.Archive == archive && e.ArchiveSHA256 != "" {
			recorded = e.ArchiveSHA256
		}
	}
	if recorded == "" {
		return nil, fmt.Errorf("no custody entry records a digest for %s: seal it first", archive)
	}
	for _, d := range []string{EvidenceDir, CustodyDir} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			return nil, err
		}
	}
	sum, err := copyFile(c.Path(EvidenceDir, archive), filepath.Join(tmp, EvidenceDir, archive))
	if err != nil {
		return nil, err
	}
	if sum != recorded {
		return nil, fmt.Errorf("%s has sha256 %s but the custody log records %s: not exported; run 'custos verify'", archive, sum, recorded)
	}
	sigName := strings.TrimSuffix(archive, EncryptedSuffix) + ".sig"
	if _, err := copyFile(c.Path(EvidenceDir, sigName), filepath.Join(tmp, EvidenceDir, sigName)); err != nil {
		return nil, err
	}
	for from, to := range map[string]string{CaseFile: CaseFile, AllowedSignersFile: SenderAnchorsFile} {
		if _, err := copyFile(c.Path(from), filepath.Join(tmp, to)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	head, err := log.append(Entry{
		Time: opts.Time, Action: ActionExported, Actor: opts.Actor, To: opts.To, Purpose: opts.Purpose,
		Archive: archive, ArchiveSHA256: sum, Tool: opts.Tool, Host: opts.Host,
		Note: "copied to " + dest,
	}, opts.Signer)
	if err != nil {
		return nil, fmt.Errorf("custody: %w", err)
	}
	files, err := log.files()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		for _, name := range []string{f, f + ".sig"} {
			if _, err := copyFile(filepath.Join(log.Dir, name), filepath.Join(tmp, CustodyDir, name)); err != nil {
				return nil, err
			}
		}
	}
	if err := os.Rename(tmp, dest); err != nil {
		return nil, err
	}
	if err := fsutil.SyncDir(filepath.Dir(dest)); err != nil {
		return nil, err
	}
	return &ExportResult{Dir: dest, Archive: archive, SHA256: sum, CustodyHead: head}, nil
}

// copyFile copies src to dst (atomically, read-only) and returns the sha256
// of the bytes copied.
func copyFile(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	h := sha256.New()
	err = fsutil.WriteWith(dst, 0o444, func(w io.Writer) error {
		_, err := io.Copy(io.MultiWriter(w, h), in)
		return err
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
