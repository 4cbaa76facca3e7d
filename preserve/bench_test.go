package preserve

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// benchStaging fills the test case's staging with about size bytes shaped
// like a collection: JSON pages and NDJSON records, a tenth random bytes.
func benchStaging(b *testing.B, c *Case, size int) {
	b.Helper()
	stage := c.Path(StagingDir, testAcq)
	r := rand.New(rand.NewPCG(1, 2))
	var page strings.Builder
	for i := 0; page.Len() < 1<<20; i++ {
		fmt.Fprintf(&page, `{"id":"%08x-%04x","deviceName":"DEV-%d","operatingSystem":"%s","osVersion":"14.%d","complianceState":"%s","lastSyncDateTime":"2026-11-%02dT%02d:%02d:00Z","serialNumber":"SN%09d"},`+"\n",
			r.Uint32(), r.Uint32()&0xffff, r.IntN(100000), []string{"Android", "iOS"}[r.IntN(2)], r.IntN(9), []string{"compliant", "noncompliant"}[r.IntN(2)], 1+r.IntN(25), r.IntN(24), r.IntN(60), r.IntN(1e9))
	}
	text := []byte(page.String())
	noise := make([]byte, 1<<20)
	for written, n := 0, 0; written < size; n++ {
		name := filepath.Join(stage, "raw", "intune", fmt.Sprintf("%06d.json", n))
		data := text
		if n%10 == 9 {
			for i := range noise {
				noise[i] = byte(r.Uint32())
			}
			data, name = noise, filepath.Join(stage, "raw", "intune", fmt.Sprintf("%06d.bin", n))
		}
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, data, 0o644); err != nil {
			b.Fatal(err)
		}
		written += len(data)
	}
}

// BenchmarkSeal measures sealing 64 MiB of collection-like data; bench/seal.sh
// compares the whole command with the standard-tool pipeline.
func BenchmarkSeal(b *testing.B) {
	const size = 64 << 20
	c, signer, _ := newTestCase(b)
	benchStaging(b, c, size)
	b.SetBytes(size)
	for i := 0; b.Loop(); i++ {
		os.Chmod(c.Path(CustodyDir), 0o755)
		os.RemoveAll(c.Path(CustodyDir))
		os.Chmod(c.ArchivePath(testAcq), 0o644)
		os.Remove(c.ArchivePath(testAcq))
		if _, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt.Add(time.Duration(i) * time.Second), Actor: "a"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures verifying the sealed 64 MiB archive.
func BenchmarkVerify(b *testing.B) {
	const size = 64 << 20
	c, signer, anchors := newTestCase(b)
	benchStaging(b, c, size)
	res, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt, Actor: "a"})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		if _, err := VerifyArchive(res.Archive, VerifyOptions{Anchors: anchors}); err != nil {
			b.Fatal(err)
		}
	}
}
