// Package attackdata embeds MITRE's Mobile ATT&CK bundle (see README.md and
// LICENSE-ATTACK.txt).
package attackdata

import (
	"bytes"
	_ "embed"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Bundle is the Mobile ATT&CK 18.1 STIX bundle, zstd-compressed.
//
//go:embed mobile-attack-18.1.json.zst
var Bundle []byte

// Release names the embedded bundle's release.
const Release = "Mobile ATT&CK 18.1"

// SHA256 is the digest of the uncompressed bundle.
const SHA256 = "6ff152910e292f2c676e192d2eaef916f7d37feeac67575b1da7ab87ba3c495c"

// Open returns the bundle's JSON, decompressed as it is read.
func Open() (io.ReadCloser, error) {
	zr, err := zstd.NewReader(bytes.NewReader(Bundle))
	if err != nil {
		return nil, err
	}
	return zr.IOReadCloser(), nil
}
