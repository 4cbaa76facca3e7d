package preserve

import (
	"errors"
	"io"
	"os"
	"slices"
	"testing"

	"filippo.io/age"
)

// RereadArchive visits the payload as VerifyArchive does, stops when told,
// and refuses an archive whose digest is not the verified one.
func TestRereadArchive(t *testing.T) {
	c, signer, anchors := newTestCase(t)
	res := seal(t, c, signer)
	var verified []string
	rep, err := VerifyArchive(res.Archive, VerifyOptions{Anchors: anchors, Visit: func(name string, r io.Reader) error {
		verified = append(verified, name)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	read := map[string]string{}
	err = RereadArchive(res.Archive, nil, rep.SHA256, func(name string, r io.Reader) (bool, error) {
		got = append(got, name)
		b, err := io.ReadAll(r)
		read[name] = string(b)
		return false, err
	})
	if err != nil || !slices.Equal(got, verified) {
		t.Fatalf("reread %v, %v; verification visited %v", got, err, verified)
	}
	if read["data/records/devices.ndjson"] != `{"key":"intune:a"}`+"\n" {
		t.Errorf("devices.ndjson read as %q", read["data/records/devices.ndjson"])
	}
	got = nil
	err = RereadArchive(res.Archive, nil, rep.SHA256, func(name string, r io.Reader) (bool, error) {
		got = append(got, name)
		return true, nil
	})
	if err != nil || len(got) != 1 {
		t.Fatalf("stopped reread visited %v, %v", got, err)
	}
	if err := RereadArchive(res.Archive, nil, rep.SHA256[1:]+"0", func(string, io.Reader) (bool, error) { return true, nil }); !errors.Is(err, ErrArchiveChanged) {
		t.Errorf("another digest: %v", err)
	}
	// A byte changed after the part read: found by the digest.
	data, _ := os.ReadFile(res.Archive)
	os.Chmod(res.Archive, 0o644)
	data[len(data)-3] ^= 1
	if err := os.WriteFile(res.Archive, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RereadArchive(res.Archive, nil, rep.SHA256, func(string, io.Reader) (bool, error) { return true, nil }); !errors.Is(err, ErrArchiveChanged) {
		t.Errorf("a changed archive: %v", err)
	}
}

func TestRereadEncryptedArchive(t *testing.T) {
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
	n := 0
	visit := func(string, io.Reader) (bool, error) { n++; return false, nil }
	if err := RereadArchive(res.Archive, []age.Identity{id}, res.SHA256, visit); err != nil || n == 0 {
		t.Fatalf("encrypted reread: %d files, %v", n, err)
	}
	if err := RereadArchive(res.Archive, nil, res.SHA256, visit); err == nil {
		t.Error("an encrypted archive was read without an identity")
	}
}
