package preserve

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckEntryName(t *testing.T) {
	for _, ok := range []string{"data/raw/intune/000001.json", "bag-info.txt", "a_b.c-d"} {
		if err := CheckEntryName(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/abs", "a//b", "a/../b", "./a", "a/.hidden", "-rf", "a b", "a\\b", "a\x00b", "ä", "a%0A", "a/", strings.Repeat("x", 256)} {
		if err := CheckEntryName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseManifestStrict(t *testing.T) {
	h := strings.Repeat("a", 64)
	good := h + "  data/a\n" + h + "  data/b\n"
	if l, err := ParseManifest([]byte(good)); err != nil || len(l) != 2 {
		t.Fatalf("good manifest: %v %v", l, err)
	}
	for name, bad := range map[string]string{
		"unsorted":     h + "  data/b\n" + h + "  data/a\n",
		"duplicate":    h + "  data/a\n" + h + "  data/a\n",
		"one space":    h + " data/a\n",
		"upper hex":    strings.Repeat("A", 64) + "  data/a\n",
		"short digest": "abc  data/a\n",
		"CRLF":         h + "  data/a\r\n",
		"no final LF":  h + "  data/a",
		"traversal":    h + "  data/../x\n",
		"BOM":          "\ufeff" + h + "  data/a\n",
	} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestBagInfo(t *testing.T) {
	b := BagInfo{{"Payload-Oxum", "12.3"}, {"Contact-Name", "multi\nline"}}
	back, err := ParseBagInfo(b.Format())
	if err != nil || back.Get("contact-name") != "multi line" || back.Get("Payload-Oxum") != "12.3" {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if n, f, err := ParseOxum("12.3"); err != nil || n != 12 || f != 3 {
		t.Errorf("ParseOxum = %d %d %v", n, f, err)
	}
	for _, bad := range []string{"", "12", "a.b", "-1.2", "1.2.3"} {
		if _, _, err := ParseOxum(bad); err == nil {
			t.Errorf("ParseOxum(%q) accepted", bad)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	h := strings.Repeat("0", 64)
	f.Add([]byte(h + "  data/a\n" + h + "  data/b/c.json\n"))
	f.Add([]byte(h + " data/a\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseManifest(data)
		if err != nil {
			return
		}
		// What parses formats back to the same bytes.
		if got := FormatManifest(lines); !bytes.Equal(got, data) {
			t.Fatalf("round trip changed %q to %q", data, got)
		}
	})
}

func FuzzCheckEntryName(f *testing.F) {
	for _, s := range []string{"data/raw/intune/000001.json", "../x", "a/./b", "ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckEntryName(name) != nil {
			return
		}
		if filepath.IsAbs(name) || !filepath.IsLocal(name) || strings.ContainsAny(name, "\\\x00\r\n%:") {
			t.Fatalf("unsafe name %q accepted", name)
		}
	})
}

func FuzzParseBagInfo(f *testing.F) {
	f.Add([]byte("Payload-Oxum: 1.1\nContact-Name: a\n  continued\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseBagInfo(data)
		if err != nil {
			return
		}
		if _, err := ParseBagInfo(info.Format()); err != nil {
			t.Fatalf("formatted bag-info does not parse: %v", err)
		}
	})
}

// FuzzVerifyArchive feeds arbitrary bytes to the verifier in place of a
// sealed archive whose outer signature stays: it must fail cleanly with a
// VerifyError that its report lists, never panic, and accept nothing but
// the sealed bytes.
func FuzzVerifyArchive(f *testing.F) {
	c, signer, anchors := newTestCase(f)
	res, err := c.Seal(testAcq, SealOptions{Signer: signer, Time: sealAt, Actor: "a"})
	if err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(res.Archive)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(append(bytes.Clone(good), good...))
	f.Add([]byte("\x28\xb5\x2f\xfd\x00\x00"))
	os.Chmod(res.Archive, 0o644)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(res.Archive, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := VerifyArchive(res.Archive, VerifyOptions{Anchors: anchors})
		if err == nil {
			if !bytes.Equal(data, good) {
				t.Fatal("bytes other than the sealed archive verified")
			}
			return
		}
		var ve *VerifyError
		if !errors.As(err, &ve) || len(ve.Failures) == 0 || rep == nil {
			t.Fatalf("err = %v, want a VerifyError with a report", err)
		}
		failed := 0
		for _, c := range rep.Results {
			if c.Status == StatusFail {
				failed++
			}
		}
		if failed != len(ve.Failures) {
			t.Fatalf("report lists %d failures, error %d", failed, len(ve.Failures))
		}
	})
}
