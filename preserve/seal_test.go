package preserve

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

var sealAt = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

const testAcq = "0190a1b2-0000-7000-8000-000000000001"

// newTestCase makes a case with one finished staging directory.
func newTestCase(t testing.TB) (*Case, ssh.Signer, *AllowedSigners) {
	t.Helper()
	dir := t.TempDir()
	c, err := OpenOrCreateCase(dir, CaseInfo{ID: "IR-1", CreatedAt: sealAt})
	if err != nil {
		t.Fatal(err)
	}
	stage := c.Path(StagingDir, testAcq)
	files := map[string]string{
		"raw/intune/000001.json":      `{"value":[{"id":"a"}]}`,
		"raw/intune/requests.ndjson":  `{"seq":1}` + "\n",
		"records/devices.ndjson":      `{"key":"intune:a"}` + "\n",
		"records/apps.ndjson":         "",
		"provenance/acquisition.json": `{"acquisition_id":"` + testAcq + `","case_id":"IR-1","collection_start_utc":"2026-11-26T09:00:00Z","collection_end_utc":"2026-11-26T09:05:00Z","operator":"alice","host":"lab1","tool":{"name":"custos","version":"test"}}`,
	}
	for name, content := range files {
		p := filepath.Join(stage, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, signer, err := GenerateKey("alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	line := AllowedSignersLine("alice@example.org", []string{NamespaceEvidence, NamespaceArchive, NamespaceCustody}, signer.PublicKey())
	if err := os.WriteFile(c.Path(AllowedSignersFile), []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	anchors, err := ParseAllowedSigners(strings.NewReader(line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return c, signer, anchors
}

func seal(t *testing.T, c *Case, signer ssh.Signer) *SealResult {
	t.Helper()
	res, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt, Actor: "alice@example.org", Host: "lab1", Tool: "custos test"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSealVerifyRoundTrip(t *testing.T) {
	c, signer, anchors := newTestCase(t)
	res := seal(t, c, signer)
	var visited []string
	rep, err := VerifyArchive(res.Archive, VerifyOptions{Anchors: anchors, Visit: func(name string, r io.Reader) error {
		visited = append(visited, name)
		_, err := io.Copy(io.Discard, r)
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.SHA256 != res.SHA256 || rep.PayloadFiles != 5 || rep.CaseID != "IR-1" || rep.AcquisitionID != testAcq {
		t.Errorf("report %+v", rep)
	}
	if len(rep.SignerPrincipals) != 1 || rep.SignerPrincipals[0] != "alice@example.org" || rep.OuterSignature != "valid" {
		t.Errorf("signer %v, outer %s", rep.SignerPrincipals, rep.OuterSignature)
	}
	if len(visited) != 5 || visited[0] != "data/provenance/acquisition.json" {
		t.Errorf("visited %v", visited)
	}
	entries, head, err := c.Custody().Verify(anchors)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Action != ActionAcquired || entries[1].Action != ActionSealed || head.Seq != 2 {
		t.Errorf("custody %+v head %v", entries, head)
	}
	if entries[1].ArchiveSHA256 != res.SHA256 || entries[0].Actor != "alice" {
		t.Errorf("custody entries %+v", entries)
	}
	if _, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt}); err == nil {
		t.Error("sealing twice succeeded")
	}
}

// The same staging sealed twice with the same time and key gives the same
// archive bytes.
func TestSealIsReproducible(t *testing.T) {
	c, signer, _ := newTestCase(t)
	first := seal(t, c, signer)
	data1, _ := os.ReadFile(first.Archive)
	os.Chmod(first.Archive, 0o644)
	os.Remove(first.Archive)
	os.Chmod(c.Path(CustodyDir), 0o755)
	os.RemoveAll(c.Path(CustodyDir))
	second := seal(t, c, signer)
	data2, _ := os.ReadFile(second.Archive)
	if !bytes.Equal(data1, data2) || first.SHA256 != second.SHA256 {
		t.Fatal("sealing the same staging twice gave different archives")
	}
}

func TestSealRefusesUnfinishedOrOddStaging(t *testing.T) {
	c, signer, _ := newTestCase(t)
	stage := c.Path(StagingDir, testAcq)
	os.WriteFile(filepath.Join(stage, "raw", "bad name.json"), []byte("x"), 0o644)
	if _, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt}); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("bad name: err = %v", err)
	}
	os.Remove(filepath.Join(stage, "raw", "bad name.json"))
	os.Symlink("/etc/passwd", filepath.Join(stage, "raw", "link"))
	if _, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("symlink: err = %v", err)
	}
	os.Remove(filepath.Join(stage, "raw", "link"))
	os.Remove(filepath.Join(stage, "provenance", "acquisition.json"))
	if _, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt}); err == nil || !strings.Contains(err.Error(), "not a finished acquisition") {
		t.Errorf("unfinished: err = %v", err)
	}
	if m, _ := filepath.Glob(c.Path(EvidenceDir, "*")); len(m) != 0 {
		t.Errorf("failed seals left %v", m)
	}
}

func TestCustodyTampering(t *testing.T) {
	c, signer, anchors := newTestCase(t)
	seal(t, c, signer)
	if _, err := c.Custody().Append(Entry{Time: sealAt.Add(time.Hour), Action: ActionTransferred, Actor: "alice@example.org", To: "counsel"}, signer); err != nil {
		t.Fatal(err)
	}
	dir := c.Path(CustodyDir)
	p := filepath.Join(dir, "000002.json")
	data, _ := os.ReadFile(p)
	os.Chmod(p, 0o644)
	os.WriteFile(p, bytes.Replace(data, []byte("alice@example.org"), []byte("bob@example.org!!"), 1), 0o644)
	_, _, err := c.Custody().Verify(anchors)
	if err == nil || !strings.Contains(err.Error(), "custody/000002.json: custody signature") || !strings.Contains(err.Error(), "custody/000003.json: custody link") {
		t.Errorf("modified entry: %v", err)
	}
	os.WriteFile(p, data, 0o644)
	if _, head, err := c.Custody().Verify(anchors); err != nil || head.Seq != 3 {
		t.Fatalf("restored log: %v %v", head, err)
	}
	// Deleting a middle entry breaks sequence and links.
	os.Chmod(dir, 0o755)
	os.Rename(p, p+".gone")
	if _, _, err := c.Custody().Verify(anchors); err == nil || !strings.Contains(err.Error(), "custody sequence") {
		t.Errorf("deleted entry: %v", err)
	}
}

func TestHeadRoundTrip(t *testing.T) {
	h := Head{Seq: 3, SHA256: strings.Repeat("ab", 32)}
	got, err := ParseHead(h.String())
	if err != nil || got != h {
		t.Fatalf("ParseHead(%s) = %v, %v", h, got, err)
	}
	for _, bad := range []string{"", "3", "x:" + h.SHA256, "0:" + h.SHA256, "3:abc"} {
		if _, err := ParseHead(bad); err == nil {
			t.Errorf("ParseHead(%q) accepted", bad)
		}
	}
}

// requireTools skips when a standard tool is missing, unless CI demands it.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CUSTOS_REQUIRE_TOOLS") != "" {
				t.Fatalf("%s is required (CUSTOS_REQUIRE_TOOLS is set)", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
}

func TestCustodyCheckArchive(t *testing.T) {
	c, signer, anchors := newTestCase(t)
	res := seal(t, c, signer)
	name := filepath.Base(res.Archive)
	log := c.Custody()
	got, fails, err := log.CheckArchive(map[string]string{name: res.SHA256}, anchors, &res.CustodyHead)
	if err != nil || len(fails) != 0 || got.Head != res.CustodyHead || got.Entries != 2 {
		t.Fatalf("good archive: %+v %v %v", got, fails, err)
	}
	checks := func(fails []Failure) string {
		var s []string
		for _, f := range fails {
			s = append(s, f.Check)
		}
		return strings.Join(s, ",")
	}
	if _, fails, _ := log.CheckArchive(map[string]string{name: strings.Repeat("0", 64)}, anchors, nil); checks(fails) != "custody archive digest,custody archive digest" {
		t.Errorf("wrong digest: %v", fails)
	}
	if _, fails, _ := log.CheckArchive(map[string]string{"other.tar.zst": ""}, anchors, nil); checks(fails) != "custody coverage" {
		t.Errorf("unnamed archive: %v", fails)
	}
	older := Head{Seq: 1, SHA256: res.CustodyHead.SHA256}
	if _, fails, _ := log.CheckArchive(map[string]string{name: res.SHA256}, anchors, &older); checks(fails) != "custody head" {
		t.Errorf("rolled-back head: %v", fails)
	}
}
