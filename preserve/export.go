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

// Export copies one archive (plain or .age) with its outer signature into
// dest, a new directory laid out like a case (case.json, allowed_signers,
// evidence/, custody/), so that 'custos verify DEST/evidence/ARCHIVE' and
// the README's standard-tool procedure work there unchanged. The archive's
// bytes are hashed while copied and must equal the digest the custody log
// last recorded for it; an exported custody entry is appended (to the
// case's log, before the log is copied) naming the archive, its digest and
// the recipient.
func (c *Case) Export(archive, dest string, opts ExportOptions) (*ExportResult, error) {
	if archive != filepath.Base(archive) || !strings.Contains(archive, ".tar.zst") {
		return nil, fmt.Errorf("archive %q: give an archive file name from %s", archive, c.Path(EvidenceDir))
	}
	if opts.Signer == nil {
		return nil, errors.New("exporting needs a signing key for the custody entry: pass --key FILE or --agent")
	}
	if err := os.Mkdir(dest, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s already exists: export into a new directory", dest)
		}
		return nil, err
	}
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
		if err := os.Mkdir(filepath.Join(dest, d), 0o755); err != nil {
			return nil, err
		}
	}
	sum, err := copyFile(c.Path(EvidenceDir, archive), filepath.Join(dest, EvidenceDir, archive))
	if err != nil {
		return nil, err
	}
	if sum != recorded {
		os.RemoveAll(dest)
		return nil, fmt.Errorf("%s has sha256 %s but the custody log records %s: not exported; run 'custos verify'", archive, sum, recorded)
	}
	sigName := strings.TrimSuffix(archive, EncryptedSuffix) + ".sig"
	if _, err := copyFile(c.Path(EvidenceDir, sigName), filepath.Join(dest, EvidenceDir, sigName)); err != nil {
		return nil, err
	}
	for _, f := range []string{CaseFile, AllowedSignersFile} {
		if _, err := copyFile(c.Path(f), filepath.Join(dest, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
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
			if _, err := copyFile(filepath.Join(log.Dir, name), filepath.Join(dest, CustodyDir, name)); err != nil {
				return nil, err
			}
		}
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
