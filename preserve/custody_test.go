package preserve

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// custodyFixture is a sealed case whose log has a transfer and a note
// after the seal: 000001 acquired, 000002 sealed, 000003 transferred,
// 000004 note.
func custodyFixture(t *testing.T) (*Case, ssh.Signer, *AllowedSigners, *SealResult) {
	t.Helper()
	c, signer, anchors := newTestCase(t)
	res := seal(t, c, signer)
	log := c.Custody()
	for _, e := range []Entry{
		{Time: sealAt.Add(time.Hour), Action: ActionTransferred, Actor: "alice@example.org", To: "counsel@example.org", Purpose: "production", Archive: filepath.Base(res.Archive), ArchiveSHA256: res.SHA256},
		{Time: sealAt.Add(2 * time.Hour), Action: ActionNote, Actor: "counsel@example.org", Note: "received"},
	} {
		if _, err := log.Append(e, signer); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(c.Path(CustodyDir), 0o755)
	return c, signer, anchors, res
}

func entryPath(c *Case, seq int) string {
	return c.Path(CustodyDir, fmt.Sprintf("%06d.json", seq))
}

func readEntry(t *testing.T, c *Case, seq int) []byte {
	t.Helper()
	b, err := os.ReadFile(entryPath(c, seq))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeEntry(t *testing.T, c *Case, seq int, data, sig []byte) {
	t.Helper()
	p := entryPath(c, seq)
	os.Chmod(p, 0o644)
	os.Chmod(p+".sig", 0o644)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if sig != nil {
		if err := os.WriteFile(p+".sig", sig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func moveEntry(t *testing.T, c *Case, from, to int) {
	t.Helper()
	for _, ext := range []string{"", ".sig"} {
		if err := os.Rename(entryPath(c, from)+ext, entryPath(c, to)+ext); err != nil {
			t.Fatal(err)
		}
	}
}

func sumRef(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// signEntry re-signs edited entry bytes with the case key, as an insider
// holding the key could.
func signEntry(t *testing.T, signer ssh.Signer, data []byte) []byte {
	t.Helper()
	sig, err := Sign(signer, NamespaceCustody, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// Tamper cases 30–37 of reference/evidence-integrity.md §10.3, each with
// the exact failures verification must report.
func TestCustodyTamperCases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, c *Case, s ssh.Signer, res *SealResult)
		want   []string // "file: check: detail", detail may end in "*" for a prefix
	}{{
		// 30. An edited entry fails its signature, and the next entry's
		// prev no longer matches.
		name: "30 entry modified",
		tamper: func(t *testing.T, c *Case, s ssh.Signer, _ *SealResult) {
			b := readEntry(t, c, 3)
			writeEntry(t, c, 3, bytes.Replace(b, []byte("counsel@example.org"), []byte("mallory@example.o"), 1), nil)
		},
		want: []string{
			"custody/000003.json: custody signature: sshsig: bad signature by ssh-ed25519 key SHA256:*",
			"custody/000004.json: custody link: prev is *",
		},
	}, {
		// 31. An entry deleted from the middle leaves a sequence gap.
		name: "31 entry deleted",
		tamper: func(t *testing.T, c *Case, s ssh.Signer, _ *SealResult) {
			os.Remove(entryPath(c, 3))
			os.Remove(entryPath(c, 3) + ".sig")
		},
		want: []string{
			"custody/000004.json: custody sequence: entry has seq 4, expected 3",
			"custody/000004.json: custody link: prev is *",
		},
	}, {
		// 32. Two entries swapped (files renamed into each other's place).
		name: "32 entries reordered",
		tamper: func(t *testing.T, c *Case, s ssh.Signer, _ *SealResult) {
			moveEntry(t, c, 3, 9)
			moveEntry(t, c, 4, 3)
			moveEntry(t, c, 9, 4)
		},
		want: []string{
			"custody/000003.json: custody sequence: entry has seq 4, expected 3",
			"custody/000003.json: custody link: prev is *",
			"custody/000004.json: custody sequence: entry has seq 3, expected 4",
			"custody/000004.json: custody link: prev is *",
			"custody/000004.json: custody time order: time 2026-11-26T11:00:00Z is before the previous entry's 2026-11-26T12:00:00Z",
		},
	}, {
		// 33. An old entry replayed at the end.
		name: "33 entry replayed",
		tamper: func(t *testing.T, c *Case, s ssh.Signer, _ *SealResult) {
			b := readEntry(t, c, 3)
			sig, _ := os.ReadFile(entryPath(c, 3) + ".sig")
			os.WriteFile(entryPath(c, 5), b, 0o444)
			os.WriteFile(entryPath(c, 5)+".sig", sig, 0o444)
		},
		want: []string{
			"custody/000005.json: custody sequence: entry has seq 3, expected 5",
			"custody/000005.json: custody link: prev is *",
			"custody/000005.json: custody fork: claims the same prev as 000003.json",
			"custody/000005.json: custody time order: time 2026-11-26T11:00:00Z is before the previous entry's 2026-11-26T12:00:00Z",
		},
	}, {
		// 34. A fork: a second, validly signed entry 4 claiming entry 3
		// as its predecessor, stored as entry 5.
		name: "34 fork",
		tamper: func(t *testing.T, c *Case, s ssh.Signer, _ *SealResult) {
			b := readEntry(t, c, 4)
			forked := bytes.Replace(b, []byte(`"seq":4`), []byte(`"seq":5`), 1)
			forked = bytes.Replace(forked, []byte("received"), []byte("returned"), 1)
			os.WriteFile(entryPath(c, 5), forked, 0o444)
			os.WriteFile(entryPath(c, 5)+".sig", signEntry(t, s, forked), 0o444)
		},
		want: []string{
			"custody/000005.json: custody link: prev is *",
			"custody/000005.json: custody fork: claims the same prev as 000004.json",
		},
	}, {
		// 36. An entry naming the archive with another digest.
		name: "36 entry for a different archive",
		tamper: func(t *testing.T, c *Case, s ssh.Signer, res *SealResult) {
			b := readEntry(t, c, 3)
			other := bytes.Replace(b, []byte(res.SHA256), []byte(strings.Repeat("0", 64)), 1)
			writeEntry(t, c, 3, other, signEntry(t, s, other))
			// Re-link entry 4 so only the digest is wrong.
			b4 := readEntry(t, c, 4)
			var old string
			if _, after, ok := bytes.Cut(b4, []byte(`"prev":"`)); ok {
				old = string(after[:71])
			}
			relinked := bytes.Replace(b4, []byte(old), []byte(sumRef(other)), 1)
			writeEntry(t, c, 4, relinked, signEntry(t, s, relinked))
		},
		want: []string{
			"custody/000003.json: custody archive digest: entry records sha256 0000000000000000000000000000000000000000000000000000000000000000, archive is *",
		},
	}, {
		// 37. A non-UTC time.
		name: "37 non-UTC time",
		tamper: func(t *testing.T, c *Case, s ssh.Signer, _ *SealResult) {
			b := readEntry(t, c, 4)
			edited := bytes.Replace(b, []byte(`"2026-11-26T12:00:00Z"`), []byte(`"2026-11-26T13:00:00+01:00"`), 1)
			writeEntry(t, c, 4, edited, signEntry(t, s, edited))
		},
		want: []string{
			`custody/000004.json: custody entry: time_utc "2026-11-26T13:00:00+01:00" is not RFC 3339 UTC in whole seconds (2006-01-02T15:04:05Z)`,
		},
	}, {
		// 37. An entry about the archive dated before its seal.
		name: "37 entry predates the seal",
		tamper: func(t *testing.T, c *Case, s ssh.Signer, res *SealResult) {
			b := readEntry(t, c, 3)
			edited := bytes.Replace(b, []byte(`"2026-11-26T11:00:00Z"`), []byte(`"2026-11-26T10:00:00Z"`), 1)
			edited = bytes.Replace(edited, []byte(`"action":"transferred"`), []byte(`"action":"accessed"`), 1)
			// Same time as the seal is fine; one second before is not.
			edited = bytes.Replace(edited, []byte(`"2026-11-26T10:00:00Z"`), []byte(`"2026-11-26T09:59:59Z"`), 1)
			writeEntry(t, c, 3, edited, signEntry(t, s, edited))
			b4 := readEntry(t, c, 4)
			_, after, _ := bytes.Cut(b4, []byte(`"prev":"`))
			relinked := bytes.Replace(b4, after[:71], []byte(sumRef(edited)), 1)
			writeEntry(t, c, 4, relinked, signEntry(t, s, relinked))
		},
		want: []string{
			"custody/000003.json: custody time order: time 2026-11-26T09:59:59Z is before the previous entry's 2026-11-26T10:00:00Z",
			"custody/000003.json: custody time order: accessed entry at 2026-11-26T09:59:59Z predates the seal of IR-1-" + testAcq + ".tar.zst at 2026-11-26T10:00:00Z",
		},
	}, {
		// A signature file removed.
		name: "signature removed",
		tamper: func(t *testing.T, c *Case, s ssh.Signer, _ *SealResult) {
			os.Remove(entryPath(c, 2) + ".sig")
		},
		want: []string{"custody/000002.json: custody signature: no signature file 000002.json.sig"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c, signer, anchors, res := custodyFixture(t)
			tc.tamper(t, c, signer, res)
			_, fails, err := c.Custody().CheckArchive(map[string]string{filepath.Base(res.Archive): res.SHA256}, anchors, nil)
			if err != nil {
				t.Fatal(err)
			}
			assertFailures(t, fails, tc.want)
		})
	}
}

// assertFailures checks that fails are exactly want, in order. A want
// ending in "*" matches any failure string with that prefix.
func assertFailures(t *testing.T, fails []Failure, want []string) {
	t.Helper()
	var got []string
	for _, f := range fails {
		got = append(got, f.String())
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		if p, prefix := strings.CutSuffix(want[i], "*"); prefix {
			ok = strings.HasPrefix(got[i], p)
		} else {
			ok = got[i] == want[i]
		}
	}
	if !ok {
		t.Errorf("failures:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// 35. A truncated tail verifies on its own; only the expected head, which
// verify always prints, reveals it.
func TestCustodyTruncatedTail(t *testing.T) {
	c, _, anchors, res := custodyFixture(t)
	_, head, err := c.Custody().Verify(anchors)
	if err != nil || head.Seq != 4 {
		t.Fatalf("head %v, %v", head, err)
	}
	os.Remove(entryPath(c, 4))
	os.Remove(entryPath(c, 4) + ".sig")
	_, fails, err := c.Custody().CheckArchive(map[string]string{filepath.Base(res.Archive): res.SHA256}, anchors, nil)
	if err != nil || len(fails) != 0 {
		t.Fatalf("truncated log without an expected head: %v %v", fails, err)
	}
	_, fails, _ = c.Custody().CheckArchive(map[string]string{filepath.Base(res.Archive): res.SHA256}, anchors, &head)
	short := Head{Seq: 3}
	b := readEntry(t, c, 3)
	sum := sha256.Sum256(b)
	short.SHA256 = hex.EncodeToString(sum[:])
	assertFailures(t, fails, []string{"custody: custody head: head is " + short.String() + ", expected " + head.String()})
}

// Two writers appending at once never produce the same sequence number.
func TestCustodyConcurrentAppends(t *testing.T) {
	c, signer, anchors := newTestCase(t)
	seal(t, c, signer)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log := &CustodyLog{Dir: c.Path(CustodyDir)} // as a separate process would
			_, err := log.Append(Entry{Time: sealAt.Add(time.Minute), Action: ActionNote, Actor: "alice@example.org", Note: fmt.Sprint("writer ", i)}, signer)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	_, head, err := c.Custody().Verify(anchors)
	if err != nil || head.Seq != 22 {
		t.Fatalf("head %v, %v", head, err)
	}
}

// A signature left without its entry by a killed writer does not block
// the next append.
func TestCustodyOrphanSignature(t *testing.T) {
	c, signer, anchors := newTestCase(t)
	seal(t, c, signer)
	os.WriteFile(entryPath(c, 3)+".sig", []byte("half written"), 0o444)
	if _, err := c.Custody().Append(Entry{Time: sealAt, Action: ActionNote, Actor: "alice@example.org"}, signer); err != nil {
		t.Fatal(err)
	}
	if _, head, err := c.Custody().Verify(anchors); err != nil || head.Seq != 3 {
		t.Fatalf("head %v, %v", head, err)
	}
}

func TestParseEntry(t *testing.T) {
	good := `{"v":1,"seq":2,"prev":"sha256:` + strings.Repeat("ab", 32) + `","time_utc":"2026-11-26T10:00:00Z","action":"sealed","actor":"alice"}` + "\n"
	e, err := ParseEntry([]byte(good))
	if err != nil || e.Seq != 2 || !e.Time.Equal(sealAt) || e.Action != ActionSealed {
		t.Fatalf("good entry: %+v %v", e, err)
	}
	ab := strings.Repeat("ab", 32)
	for _, tc := range []struct{ old, new, want string }{
		{`"v":1`, `"v":2`, "entry version 2, want 1"},
		{`"seq":2`, `"seq":0`, "seq 0, want 1 or more"},
		{`"action":"sealed"`, `"action":"stolen"`, `unknown action "stolen"`},
		{`"actor":"alice"`, `"actor":" "`, "no actor"},
		{`"time_utc":"2026-11-26T10:00:00Z"`, `"time_utc":"2026-11-26T10:00:00.5Z"`, `time_utc "2026-11-26T10:00:00.5Z" is not RFC 3339 UTC in whole seconds (2006-01-02T15:04:05Z)`},
		{`"time_utc":"2026-11-26T10:00:00Z",`, "", "no time_utc"},
		{`"prev":"sha256:`, `"prev":"sha1:`, `prev "sha1:` + ab + `" is not sha256:<64 lower-case hex>`},
		{`"prev":"sha256:` + ab + `"`, `"prev":"sha256:AB"`, `prev "sha256:AB" is not sha256:<64 lower-case hex>`},
		{`,"actor":"alice"}`, `,"actor":"alice","extra":1}`, `not a valid entry: json: unknown field "extra"`},
		{`{"v":1,`, `x{"v":1,`, "not a valid entry: invalid character 'x' looking for beginning of value"},
		{"\n", "", "entry is not one JSON object on one line ending in a newline"},
		{`"actor":"alice"}` + "\n", `"actor":"alice"} {}` + "\n", "data after the entry object"},
	} {
		data := strings.Replace(good, tc.old, tc.new, 1)
		if _, err := ParseEntry([]byte(data)); err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %q", data, err, tc.want)
		}
	}
	if _, err := ParseEntry(bytes.Repeat([]byte("x"), maxEntrySize+1)); err == nil {
		t.Error("oversized entry accepted")
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add([]byte(`{"v":1,"seq":1,"prev":"","time_utc":"2026-11-26T10:00:00Z","action":"acquired","actor":"alice","archive":"IR-1-x.tar.zst","archive_sha256":"` + strings.Repeat("0", 64) + `"}` + "\n"))
	f.Add([]byte(`{"v":1,"seq":2,"prev":"sha256:` + strings.Repeat("ab", 32) + `","time_utc":"2026-11-26T10:00:00Z","action":"note","actor":"a","note":"\u2028"}` + "\n"))
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEntry(data)
		if err != nil {
			return
		}
		// Whatever parses is well formed.
		if e.V != 1 || e.Seq < 1 || e.Time.Location() != time.UTC || e.Time.Nanosecond() != 0 || strings.TrimSpace(e.Actor) == "" {
			t.Fatalf("accepted %+v", e)
		}
	})
}

// A seal killed after the archive reached its final name, before any
// custody entry, is redone on the next run; one the log records is not.
func TestSealRecoversFromInterruption(t *testing.T) {
	c, signer, anchors := newTestCase(t)
	res := seal(t, c, signer)
	// An archive no custody entry names, without the marker of an
	// interrupted seal (copied from elsewhere), is not touched.
	os.Chmod(c.Path(CustodyDir), 0o755)
	os.RemoveAll(c.Path(CustodyDir))
	if _, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt, Actor: "alice@example.org"}); err == nil || !strings.Contains(err.Error(), "was it copied from another case?") {
		t.Fatalf("unaccounted archive: %v", err)
	}
	if _, err := os.Stat(res.Archive); err != nil {
		t.Fatalf("unaccounted archive removed: %v", err)
	}
	// The interruption: the marker is still there, the custody log empty.
	os.WriteFile(sealingMarker(res.Archive), []byte(testAcq+"\n"), 0o644)
	ids, err := c.Unsealed()
	if err != nil || len(ids) != 1 {
		t.Fatalf("unsealed = %v, %v", ids, err)
	}
	again, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt.Add(time.Minute), Actor: "alice@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(again.Recovered, "interrupted seal") || again.SHA256 == res.SHA256 {
		t.Errorf("recovered %q, sha %s", again.Recovered, again.SHA256)
	}
	if _, err := VerifyArchive(again.Archive, VerifyOptions{Anchors: anchors}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt.Add(time.Hour), Actor: "alice@example.org"}); err == nil || !strings.Contains(err.Error(), "already sealed") {
		t.Errorf("sealing a sealed acquisition: %v", err)
	}
	if ids, _ := c.Unsealed(); len(ids) != 0 {
		t.Errorf("unsealed after seal = %v", ids)
	}
	// Killed between the acquired and sealed entries: the log names the
	// archive, so custos refuses to replace it.
	os.Chmod(c.Path(CustodyDir), 0o755)
	os.Remove(entryPath(c, 2))
	if _, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt.Add(time.Hour), Actor: "alice@example.org"}); err == nil || !strings.Contains(err.Error(), "no sealed entry") {
		t.Errorf("half-recorded seal: %v", err)
	}
	if _, err := os.Stat(again.Archive); err != nil {
		t.Errorf("archive removed: %v", err)
	}
}

// An export is a case-shaped directory that verifies on its own and whose
// custody log ends with the exported entry.
func TestExport(t *testing.T) {
	c, signer, anchors := newTestCase(t)
	res := seal(t, c, signer)
	dest := filepath.Join(t.TempDir(), "to-counsel")
	name := filepath.Base(res.Archive)
	got, err := c.Export(name, dest, ExportOptions{Signer: signer, Time: sealAt.Add(time.Hour), Actor: "alice@example.org", To: "counsel@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if got.SHA256 != res.SHA256 || got.CustodyHead.Seq != 3 {
		t.Errorf("export %+v", got)
	}
	exported, err := OpenCase(dest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyArchive(filepath.Join(dest, EvidenceDir, name), VerifyOptions{Anchors: anchors}); err != nil {
		t.Fatal(err)
	}
	entries, head, err := exported.Custody().Verify(anchors)
	if err != nil || head != got.CustodyHead || entries[2].Action != ActionExported || entries[2].To != "counsel@example.org" || entries[2].ArchiveSHA256 != res.SHA256 {
		t.Fatalf("exported custody %+v %v %v", entries, head, err)
	}
	if _, err := c.Export(name, dest, ExportOptions{Signer: signer, Actor: "a"}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("export over an existing dir: %v", err)
	}
	// A modified archive is not exported.
	b, _ := os.ReadFile(res.Archive)
	b[100] ^= 1
	os.Chmod(res.Archive, 0o644)
	os.WriteFile(res.Archive, b, 0o644)
	dest2 := filepath.Join(t.TempDir(), "again")
	if _, err := c.Export(name, dest2, ExportOptions{Signer: signer, Actor: "a"}); err == nil || !strings.Contains(err.Error(), "but the custody log records") {
		t.Errorf("export of a modified archive: %v", err)
	}
	if m, _ := filepath.Glob(dest2 + "*"); len(m) != 0 {
		t.Errorf("partial export left behind: %v", m)
	}
	// The sender's anchors travel only as information.
	if _, err := os.Stat(filepath.Join(dest, AllowedSignersFile)); !os.IsNotExist(err) {
		t.Errorf("export holds an allowed_signers a verifier would trust: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dest, SenderAnchorsFile)); err != nil {
		t.Error(err)
	}
}
