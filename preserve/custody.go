package preserve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/custos-ir/custos/internal/fsutil"
)

// Custody actions (DESIGN §6.4).
const (
	ActionAcquired    = "acquired"
	ActionSealed      = "sealed"
	ActionVerified    = "verified"
	ActionTransferred = "transferred"
	ActionAccessed    = "accessed"
	ActionExported    = "exported"
	ActionEncrypted   = "encrypted"
	ActionNote        = "note"
)

var actions = []string{ActionAcquired, ActionSealed, ActionVerified, ActionTransferred, ActionAccessed, ActionExported, ActionEncrypted, ActionNote}

// Entry is one custody event. Its bytes are written once, signed as
// written, and never re-serialised: verification hashes the file.
type Entry struct {
	V             int       `json:"v"`
	Seq           int       `json:"seq"`
	Prev          string    `json:"prev"` // "sha256:<hex>" of the previous entry file, "" for the first
	Time          time.Time `json:"time_utc"`
	Action        string    `json:"action"`
	Actor         string    `json:"actor"`
	To            string    `json:"to,omitempty"`
	Purpose       string    `json:"purpose,omitempty"`
	Archive       string    `json:"archive,omitempty"`
	ArchiveSHA256 string    `json:"archive_sha256,omitempty"`
	AcquisitionID string    `json:"acquisition_id,omitempty"`
	Tool          string    `json:"tool,omitempty"`
	Host          string    `json:"host,omitempty"`
	Note          string    `json:"note,omitempty"`
}

// Head identifies the last entry of a custody log: its sequence number and
// the sha256 of its file. Reviewers compare it with the case record.
type Head struct {
	Seq    int    `json:"seq"`
	SHA256 string `json:"sha256"`
}

func (h Head) String() string { return fmt.Sprintf("%d:%s", h.Seq, h.SHA256) }

// ParseHead parses "SEQ:SHA256".
func ParseHead(s string) (Head, error) {
	seq, sum, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(seq)
	if !ok || err != nil || n < 1 || len(sum) != 64 {
		return Head{}, fmt.Errorf("custody head %q: want SEQ:SHA256 as printed by 'custos verify'", s)
	}
	return Head{Seq: n, SHA256: strings.ToLower(sum)}, nil
}

// CustodyLog is the append-only log in CASE/custody/.
type CustodyLog struct{ Dir string }

// Custody returns the case's custody log.
func (c *Case) Custody() *CustodyLog { return &CustodyLog{Dir: c.Path(CustodyDir)} }

var entryFile = regexp.MustCompile(`^[0-9]{6}\.json$`)

// files lists entry files in order.
func (l *CustodyLog) files() ([]string, error) {
	des, err := os.ReadDir(l.Dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, de := range des {
		if entryFile.MatchString(de.Name()) {
			out = append(out, de.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// lock takes the log's writer lock, creating the directory if needed.
// Every append and every seal holds it, so two custos processes never
// write the same sequence number.
func (l *CustodyLog) lock() (func(), error) {
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return nil, err
	}
	return lockDir(l.Dir)
}

// Append signs and writes e as the next entry. Seq, Prev and V are set
// here; Time must be set by the caller (UTC, whole seconds).
func (l *CustodyLog) Append(e Entry, signer ssh.Signer) (Head, error) {
	unlock, err := l.lock()
	if err != nil {
		return Head{}, err
	}
	defer unlock()
	return l.append(e, signer)
}

// append is Append for a caller holding the lock.
func (l *CustodyLog) append(e Entry, signer ssh.Signer) (Head, error) {
	if !slices.Contains(actions, e.Action) {
		return Head{}, fmt.Errorf("unknown custody action %q (want one of %s)", e.Action, strings.Join(actions, ", "))
	}
	if strings.TrimSpace(e.Actor) == "" {
		return Head{}, errors.New("custody entry needs an actor")
	}
	files, err := l.files()
	if err != nil {
		return Head{}, err
	}
	e.V = 1
	e.Seq = len(files) + 1
	if len(files) > 0 {
		prev, err := os.ReadFile(filepath.Join(l.Dir, files[len(files)-1]))
		if err != nil {
			return Head{}, err
		}
		pe, err := ParseEntry(prev)
		if err != nil {
			return Head{}, fmt.Errorf("custody log %s: %w; run 'custos verify' and resolve it before appending", files[len(files)-1], err)
		}
		if e.Time.Before(pe.Time) {
			e.Time = pe.Time // time never goes backwards in the log
		}
		sum := sha256.Sum256(prev)
		e.Prev = "sha256:" + hex.EncodeToString(sum[:])
	}
	e.Time = e.Time.UTC().Truncate(time.Second)
	data, err := json.Marshal(e)
	if err != nil {
		return Head{}, err
	}
	data = append(data, '\n')
	sig, err := Sign(signer, NamespaceCustody, bytes.NewReader(data))
	if err != nil {
		return Head{}, err
	}
	name := filepath.Join(l.Dir, fmt.Sprintf("%06d.json", e.Seq))
	if _, err := os.Stat(name); err == nil {
		return Head{}, fmt.Errorf("custody entry %s already exists", filepath.Base(name))
	}
	// The signature goes first: an entry file without its signature would
	// be an unsigned entry; a signature without its entry (left by a
	// killed writer) is replaced by the next append.
	if err := fsutil.WriteFile(name+".sig", sig, 0o444); err != nil {
		return Head{}, err
	}
	if err := fsutil.WriteFile(name, data, 0o444); err != nil {
		return Head{}, err
	}
	sum := sha256.Sum256(data)
	return Head{Seq: e.Seq, SHA256: hex.EncodeToString(sum[:])}, nil
}

// readAll parses every entry that parses, for callers that only need to
// know what the log says (verification is Verify's job).
func (l *CustodyLog) readAll() ([]Entry, error) {
	files, err := l.files()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(l.Dir, name))
		if err != nil {
			return nil, err
		}
		if e, err := ParseEntry(data); err == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// maxEntrySize bounds one custody entry file.
const maxEntrySize = 64 << 10

// entryTimeLayout is the only time format custody entries use: RFC 3339,
// UTC, whole seconds.
const entryTimeLayout = "2006-01-02T15:04:05Z"

// ParseEntry parses one custody entry strictly: a single JSON object
// ending in one newline, only known fields, v 1, a known action, a
// sequence number from 1, prev empty or "sha256:<64 hex>", time_utc in
// the form 2006-01-02T15:04:05Z and an actor. Entries are custos's own
// output, so anything else is tampering or damage.
func ParseEntry(data []byte) (Entry, error) {
	var e Entry
	if len(data) > maxEntrySize {
		return e, fmt.Errorf("entry is %d bytes, more than %d", len(data), maxEntrySize)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' || bytes.IndexByte(data, '\n') != len(data)-1 {
		return e, errors.New("entry is not one JSON object on one line ending in a newline")
	}
	var raw struct {
		Entry
		Time *string `json:"time_utc"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return e, fmt.Errorf("not a valid entry: %w", err)
	}
	if dec.More() {
		return e, errors.New("data after the entry object")
	}
	e = raw.Entry
	switch {
	case e.V != 1:
		return e, fmt.Errorf("entry version %d, want 1", e.V)
	case e.Seq < 1:
		return e, fmt.Errorf("seq %d, want 1 or more", e.Seq)
	case !slices.Contains(actions, e.Action):
		return e, fmt.Errorf("unknown action %q", e.Action)
	case strings.TrimSpace(e.Actor) == "":
		return e, errors.New("no actor")
	case e.Prev != "" && !validDigestRef(e.Prev):
		return e, fmt.Errorf("prev %q is not sha256:<64 lower-case hex>", e.Prev)
	case e.ArchiveSHA256 != "" && !validHex64(e.ArchiveSHA256):
		return e, fmt.Errorf("archive_sha256 %q is not 64 lower-case hex digits", e.ArchiveSHA256)
	case raw.Time == nil:
		return e, errors.New("no time_utc")
	}
	t, err := time.Parse(entryTimeLayout, *raw.Time)
	if err != nil || t.Format(entryTimeLayout) != *raw.Time {
		return e, fmt.Errorf("time_utc %q is not RFC 3339 UTC in whole seconds (2006-01-02T15:04:05Z)", *raw.Time)
	}
	e.Time = t
	return e, nil
}

func validDigestRef(s string) bool {
	hexPart, ok := strings.CutPrefix(s, "sha256:")
	return ok && validHex64(hexPart)
}

func validHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// CheckedEntry is an entry with what verification learnt about it.
type CheckedEntry struct {
	Entry
	File       string   `json:"file"`
	SHA256     string   `json:"sha256"`
	Signer     string   `json:"signer_fingerprint"`
	Principals []string `json:"principals"`
}

// Verify reads the whole log and checks every entry's form and signature
// against anchors, every prev link (and that no two entries claim the same
// one), the sequence, the time order, and that no entry about an archive
// predates its seal. It returns the entries and the head; any failure is a
// *VerifyError naming the entry file.
func (l *CustodyLog) Verify(anchors *AllowedSigners) ([]CheckedEntry, Head, error) {
	files, err := l.files()
	if err != nil {
		return nil, Head{}, err
	}
	var out []CheckedEntry
	var fails []Failure
	fail := func(file, check, format string, args ...any) {
		fails = append(fails, Failure{File: "custody/" + file, Check: check, Detail: fmt.Sprintf(format, args...)})
	}
	prevSum := ""
	var prevTime time.Time
	claimed := map[string]string{} // prev value -> first entry claiming it
	sealedAt := map[string]time.Time{}
	for i, name := range files {
		data, err := readCapped(filepath.Join(l.Dir, name), maxEntrySize)
		if err != nil {
			fail(name, "custody entry", "%v", err)
			prevSum = "(unreadable " + name + ")"
			continue
		}
		sum := sha256.Sum256(data)
		ce := CheckedEntry{File: name, SHA256: hex.EncodeToString(sum[:])}
		e, err := ParseEntry(data)
		if err != nil {
			fail(name, "custody entry", "%v", err)
			// Keep the chain state moving so the next entry is judged
			// against this file's bytes, and the head names this file.
			prevSum = ce.SHA256
			out = append(out, ce)
			continue
		}
		ce.Entry = e
		if ce.Seq != i+1 || name != fmt.Sprintf("%06d.json", ce.Seq) {
			fail(name, "custody sequence", "entry has seq %d, expected %d", ce.Seq, i+1)
		}
		wantPrev := ""
		if prevSum != "" {
			wantPrev = "sha256:" + prevSum
		}
		if ce.Prev != wantPrev {
			fail(name, "custody link", "prev is %q, expected %q", ce.Prev, wantPrev)
		}
		if first, ok := claimed[ce.Prev]; ok {
			fail(name, "custody fork", "claims the same prev as %s", first)
		} else {
			claimed[ce.Prev] = name
		}
		if ce.Time.Before(prevTime) {
			fail(name, "custody time order", "time %s is before the previous entry's %s", ce.Time.Format(time.RFC3339), prevTime.Format(time.RFC3339))
		}
		if ce.Archive != "" {
			base := strings.TrimSuffix(ce.Archive, EncryptedSuffix)
			if t, ok := sealedAt[base]; ok && ce.Time.Before(t) {
				fail(name, "custody time order", "%s entry at %s predates the seal of %s at %s", ce.Action, ce.Time.Format(time.RFC3339), base, t.Format(time.RFC3339))
			}
			if ce.Action == ActionSealed {
				if _, ok := sealedAt[base]; ok {
					fail(name, "custody entry", "%s is sealed a second time", base)
				} else {
					sealedAt[base] = ce.Time
				}
			}
		}
		sigData, err := readCapped(filepath.Join(l.Dir, name+".sig"), maxSmallTagFile)
		if err != nil {
			fail(name, "custody signature", "no signature file %s.sig", name)
		} else if sig, err := ParseSignature(sigData); err != nil {
			fail(name, "custody signature", "%v", err)
		} else if err := sig.Verify(NamespaceCustody, bytes.NewReader(data)); err != nil {
			fail(name, "custody signature", "%v", err)
		} else {
			ce.Signer = Fingerprint(sig.PublicKey)
			if anchors == nil {
				fail(name, "custody signer", "no allowed_signers given")
			} else if p, err := anchors.Principals(sig.PublicKey, NamespaceCustody, ce.Time); err != nil {
				fail(name, "custody signer", "%s: %v", ce.Signer, err)
			} else {
				ce.Principals = p
			}
		}
		prevSum, prevTime = ce.SHA256, ce.Time
		out = append(out, ce)
	}
	head := Head{}
	if len(out) > 0 {
		head = Head{Seq: len(files), SHA256: prevSum}
	}
	if len(fails) > 0 {
		return out, head, &VerifyError{Failures: fails}
	}
	return out, head, nil
}

// ArchiveCustody is what the custody log says about one archive.
type ArchiveCustody struct {
	Head    Head `json:"head"`
	Entries int  `json:"entries"`
	// Recorded is the head after a verified entry was appended for this
	// verification, if one was.
	Recorded *Head `json:"recorded,omitempty"`
}

// CheckArchive verifies the whole log (as Verify) and also, for each
// archive file name in digests, that at least one entry names it and that
// every entry naming it records its sha256 (a plain archive has one name; an
// encrypted one two: <bag>.tar.zst with the plaintext digest and
// <bag>.tar.zst.age with the ciphertext digest, see ArchiveReport.Digests).
// When expect is set the head must equal it. Every problem is a Failure;
// err is only for I/O errors reading the log.
func (l *CustodyLog) CheckArchive(digests map[string]string, anchors *AllowedSigners, expect *Head) (ArchiveCustody, []Failure, error) {
	entries, head, err := l.Verify(anchors)
	var fails []Failure
	var ve *VerifyError
	if errors.As(err, &ve) {
		fails = append(fails, ve.Failures...)
	} else if err != nil {
		return ArchiveCustody{}, nil, err
	}
	names := slices.Sorted(maps.Keys(digests))
	named := map[string]int{}
	for _, e := range entries {
		want, ok := digests[e.Archive]
		if !ok {
			continue
		}
		named[e.Archive]++
		if want != "" && e.ArchiveSHA256 != want {
			fails = append(fails, Failure{File: "custody/" + e.File, Check: "custody archive digest",
				Detail: fmt.Sprintf("entry records sha256 %s, archive is %s", e.ArchiveSHA256, want)})
		}
	}
	for _, name := range names {
		if named[name] == 0 {
			fails = append(fails, Failure{File: "custody", Check: "custody coverage", Detail: "no custody entry names " + name})
		}
	}
	if expect != nil && head != *expect {
		fails = append(fails, Failure{File: "custody", Check: "custody head", Detail: fmt.Sprintf("head is %s, expected %s", head, expect)})
	}
	return ArchiveCustody{Head: head, Entries: len(entries)}, fails, nil
}
