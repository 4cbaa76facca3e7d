package preserve

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// readmeProcedure returns the shell block of the README's "Verify without
// custos" section, so the test runs exactly what users are told to type.
func readmeProcedure(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- verify-procedure:start -->")
	block, _, ok2 := strings.Cut(rest, "<!-- verify-procedure:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no verify-procedure block")
	}
	block = strings.TrimSpace(block)
	block = strings.TrimPrefix(block, "```sh")
	return strings.TrimSuffix(block, "```")
}

func runProcedure(t *testing.T, c *Case, who string) (string, error) {
	t.Helper()
	return runProcedureIn(t, t.TempDir(), c, who)
}

// runProcedureIn runs the procedure with dir as the working directory.
func runProcedureIn(t *testing.T, dir string, c *Case, who string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", readmeProcedure(t))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CASE="+c.Dir, "BAG="+c.BagName(testAcq), "WHO="+who, "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The README's standard-tool procedure accepts an archive custos sealed,
// prints the same custody head custos does, and rejects tampering.
func TestReadmeProcedure(t *testing.T) {
	requireTools(t, "bash", "zstd", "tar", "sha256sum", "ssh-keygen", "find", "awk", "diff")
	c, signer, anchors := newTestCase(t)
	res := seal(t, c, signer)
	if _, err := c.Custody().Append(Entry{Time: sealAt, Action: ActionTransferred, Actor: "alice@example.org", To: "counsel", Archive: filepath.Base(res.Archive), ArchiveSHA256: res.SHA256}, signer); err != nil {
		t.Fatal(err)
	}
	_, head, err := c.Custody().Verify(anchors)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runProcedure(t, c, "alice@example.org")
	if err != nil {
		t.Fatalf("procedure failed on a good archive: %v\n%s", err, out)
	}
	for _, want := range []string{`Good "custos-archive" signature for alice@example.org`, `Good "custos-evidence" signature`, "custody head: " + head.String()} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// Each of these must make the procedure fail.
	for name, tamper := range map[string]func(t *testing.T){
		"archive byte flipped": func(t *testing.T) {
			b, _ := os.ReadFile(res.Archive)
			b[len(b)/2] ^= 1
			os.Chmod(res.Archive, 0o644)
			os.WriteFile(res.Archive, b, 0o644)
		},
		"custody entry edited": func(t *testing.T) {
			p := c.Path(CustodyDir, "000003.json")
			b, _ := os.ReadFile(p)
			os.Chmod(p, 0o644)
			os.WriteFile(p, []byte(strings.Replace(string(b), "counsel", "mallory", 1)), 0o644)
		},
		"wrong signer": func(t *testing.T) {
			_, other, _ := GenerateKey("mallory@example.org")
			os.WriteFile(c.Path(AllowedSignersFile), []byte(AllowedSignersLine("alice@example.org", nil, other.PublicKey())+"\n"), 0o644)
		},
	} {
		t.Run(name, func(t *testing.T) {
			saved := snapshot(t, c)
			defer saved()
			tamper(t)
			if out, err := runProcedure(t, c, "alice@example.org"); err == nil {
				t.Errorf("procedure accepted the tampered case:\n%s", out)
			}
		})
	}
}

// snapshot saves the case's archive, allowed_signers and custody files and
// returns a function restoring them.
func snapshot(t *testing.T, c *Case) func() {
	t.Helper()
	saved := map[string][]byte{}
	filepath.WalkDir(c.Dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.Contains(p, string(filepath.Separator)+StagingDir+string(filepath.Separator)) {
			b, _ := os.ReadFile(p)
			saved[p] = b
		}
		return nil
	})
	return func() {
		for p, b := range saved {
			os.Chmod(p, 0o644)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// An encrypted archive, decrypted as the README says (age -d into the
// current directory), passes the same procedure: the outer signature is
// read from CASE/evidence, where seal wrote it.
func TestReadmeProcedureEncrypted(t *testing.T) {
	requireTools(t, "bash", "zstd", "tar", "sha256sum", "ssh-keygen", "find", "awk", "diff")
	c, signer, _ := newTestCase(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := ParseRecipients([]string{id.Recipient().String()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt, Actor: "alice@example.org", Encrypt: enc})
	if err != nil {
		t.Fatal(err)
	}
	// age -d -i IDENTITY -o "$BAG.tar.zst" "$CASE/evidence/$BAG.tar.zst.age"
	work := t.TempDir()
	in, err := os.Open(res.Archive)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := age.Decrypt(in, id)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(work, c.BagName(testAcq)+".tar.zst"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, r); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := runProcedureIn(t, work, c, "alice@example.org"); err != nil {
		t.Fatalf("procedure failed on a good encrypted archive: %v\n%s", err, got)
	}
}
