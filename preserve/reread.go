package preserve

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// ErrArchiveChanged is returned by RereadArchive when the archive is not
// the one that was verified.
var ErrArchiveChanged = errors.New("the archive changed since it was verified")

// RereadArchive reads an archive that VerifyArchive has verified again,
// without verifying it all again: it visits the payload files in order
// (name relative to the bag, as VerifyArchive's Visit) until visit says
// stop, hashes the rest of the archive without decoding it, and checks
// that the archive's digest (of the .tar.zst; for an encrypted archive, of
// the plaintext) is still wantSHA256, the ArchiveReport.SHA256 of the
// verification. If it returns an error, what visit read must be
// discarded. An analysis reads an archive's app records a second time
// this way, and the raw files its findings cite a third.
func RereadArchive(archive string, identities []age.Identity, wantSHA256 string, visit func(name string, r io.Reader) (stop bool, err error)) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	var plain io.Reader = f
	if strings.HasSuffix(archive, ArchiveSuffix+EncryptedSuffix) {
		if plain, err = age.Decrypt(f, identities...); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(archive), err)
		}
	}
	h := sha256.New()
	tee := io.TeeReader(plain, h)
	zr, err := zstd.NewReader(tee, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxZstdWindow))
	if err != nil {
		return err
	}
	visitErr := readPayload(tar.NewReader(zr), visit)
	zr.Close()
	// The digest covers the whole archive: what the decoder did not read
	// is hashed as it is.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != wantSHA256 {
		return fmt.Errorf("%s: %w", filepath.Base(archive), ErrArchiveChanged)
	}
	if visitErr != nil {
		return fmt.Errorf("%s: %w", filepath.Base(archive), visitErr)
	}
	return nil
}

// readPayload visits the payload files of a tar stream until visit says
// stop or the payload ends.
func readPayload(tr *tar.Reader, visit func(string, io.Reader) (bool, error)) error {
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if err := CheckEntryName(name); err != nil {
			return err
		}
		_, rel, _ := strings.Cut(name, "/")
		if hdr.Typeflag != tar.TypeReg || !strings.HasPrefix(rel, PayloadDir+"/") {
			if rel > PayloadDir+"/" && !strings.HasPrefix(rel, PayloadDir+"/") {
				return nil // past the payload (entries are sorted)
			}
			continue
		}
		stop, err := visit(rel, tr)
		if err != nil || stop {
			return err
		}
	}
}
