package preserve

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/custos-ir/custos/internal/fsutil"
)

// CaseInfo is CASE/case.json.
type CaseInfo struct {
	ID           string    `json:"case_id"`
	Title        string    `json:"title,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	Examiner     string    `json:"examiner,omitempty"`
	Organization string    `json:"organization,omitempty"`
	Authority    string    `json:"authority,omitempty"` // legal basis or consent reference
}

// Case is an open case directory.
type Case struct {
	Dir  string
	Info CaseInfo
}

// Case directory layout (DESIGN §4).
const (
	CaseFile           = "case.json"
	StagingDir         = "staging"
	EvidenceDir        = "evidence"
	CustodyDir         = "custody"
	AnalysisDir        = "analysis"
	ReportsDir         = "reports"
	AllowedSignersFile = "allowed_signers"
)

var caseIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidCaseID reports whether id can name a case (it becomes part of
// archive and directory names).
func ValidCaseID(id string) error {
	if !caseIDPattern.MatchString(id) {
		return fmt.Errorf("case id %q: use 1-64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit", id)
	}
	return nil
}

// OpenOrCreateCase opens dir as a case, creating it with info when it has
// no case.json yet. An existing case keeps its own info.
func OpenOrCreateCase(dir string, info CaseInfo) (*Case, error) {
	c, err := OpenCase(dir)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := ValidCaseID(info.ID); err != nil {
		return nil, err
	}
	if info.CreatedAt.IsZero() {
		info.CreatedAt = time.Now().UTC().Truncate(time.Second)
	}
	for _, sub := range []string{StagingDir, EvidenceDir, CustodyDir, AnalysisDir, ReportsDir} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := fsutil.WriteFile(filepath.Join(dir, CaseFile), append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	return &Case{Dir: dir, Info: info}, nil
}

// OpenCase opens an existing case directory.
func OpenCase(dir string) (*Case, error) {
	data, err := os.ReadFile(filepath.Join(dir, CaseFile))
	if err != nil {
		return nil, fmt.Errorf("opening case: %w", err)
	}
	var info CaseInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("opening case: %s: %w", CaseFile, err)
	}
	if err := ValidCaseID(info.ID); err != nil {
		return nil, fmt.Errorf("opening case: %s: %w", CaseFile, err)
	}
	return &Case{Dir: dir, Info: info}, nil
}

// Path joins elements below the case directory.
func (c *Case) Path(elem ...string) string {
	return filepath.Join(append([]string{c.Dir}, elem...)...)
}

// BagName is the top-level directory of an acquisition's archive.
func (c *Case) BagName(acquisitionID string) string {
	return c.Info.ID + "-" + acquisitionID
}

// ArchiveSuffix ends the file name of every archive: <bag>.tar.zst.
const ArchiveSuffix = ".tar.zst"

// ArchivePath is where the sealed archive of an acquisition lives.
func (c *Case) ArchivePath(acquisitionID string) string {
	return c.Path(EvidenceDir, c.BagName(acquisitionID)+ArchiveSuffix)
}

// Archives lists the sealed archives of the case in name order: each
// <bag>.tar.zst, or <bag>.tar.zst.age when it is stored encrypted.
func (c *Case) Archives() ([]string, error) {
	plain, err := filepath.Glob(c.Path(EvidenceDir, "*"+ArchiveSuffix))
	if err != nil {
		return nil, err
	}
	enc, err := filepath.Glob(c.Path(EvidenceDir, "*"+ArchiveSuffix+EncryptedSuffix))
	if err != nil {
		return nil, err
	}
	out := append(plain, enc...)
	slices.Sort(out)
	return out, nil
}

// Unsealed lists the finished acquisitions in staging that no sealed
// custody entry records, oldest first (acquisition ids are UUIDv7).
func (c *Case) Unsealed() ([]string, error) {
	des, err := os.ReadDir(c.Path(StagingDir))
	if err != nil {
		return nil, err
	}
	entries, err := c.Custody().readAll()
	if err != nil {
		return nil, err
	}
	sealed := map[string]bool{}
	for _, e := range entries {
		if e.Action == ActionSealed {
			sealed[e.Archive] = true
		}
	}
	var ids []string
	for _, de := range des {
		if !de.IsDir() || sealed[filepath.Base(c.ArchivePath(de.Name()))] {
			continue
		}
		if _, err := os.Stat(c.Path(StagingDir, de.Name(), filepath.FromSlash(StagedAcquisitionFile))); err != nil {
			continue
		}
		ids = append(ids, de.Name())
	}
	return ids, nil
}

// FileSHA256 hashes a file in a streaming pass.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
