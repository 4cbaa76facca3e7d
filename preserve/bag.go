package preserve

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Fixed names inside a bag.
const (
	BagitTxt       = "bagit.txt"
	BagInfoTxt     = "bag-info.txt"
	ManifestTxt    = "manifest-sha256.txt"
	TagManifestTxt = "tagmanifest-sha256.txt"
	InnerSigFile   = "signatures/tagmanifest-sha256.txt.sig"
	PayloadDir     = "data"
)

// Signature namespaces (DESIGN §6.2).
const (
	NamespaceEvidence = "custos-evidence"
	NamespaceArchive  = "custos-archive"
	NamespaceCustody  = "custos-custody"
)

const bagitContent = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"

// tagFiles are the tag files the tag manifest covers, in sorted order.
var tagFiles = []string{BagInfoTxt, BagitTxt, ManifestTxt}

// CheckEntryName enforces the archive's name rules on a slash-separated
// path relative to the bag: only [A-Za-z0-9._-] in components, no empty,
// "." or ".." component, no component starting with "." or "-" or ending
// with ".", no Windows device name (CON, PRN, AUX, NUL, COM0-9, LPT0-9,
// with or without an extension), at most 255 bytes per component and 1024
// in all. Names that pass are identical for BagIt, sha256sum and every
// common file system. (Names differing only in case are a property of a
// set of names; seal and verify check that separately.)
func CheckEntryName(name string) error {
	if name == "" || len(name) > 1024 {
		return fmt.Errorf("entry name %q: empty or too long", name)
	}
	for comp := range strings.SplitSeq(name, "/") {
		if comp == "" || comp == "." || comp == ".." || len(comp) > 255 {
			return fmt.Errorf("entry name %q: bad path component %q", name, comp)
		}
		if comp[0] == '.' || comp[0] == '-' {
			return fmt.Errorf("entry name %q: component %q starts with %q", name, comp, comp[0])
		}
		for i := 0; i < len(comp); i++ {
			c := comp[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				if c >= 0x20 && c < 0x7f {
					return fmt.Errorf("entry name %q: character %q not allowed (use A-Z a-z 0-9 . _ -)", name, c)
				}
				return fmt.Errorf("entry name %q: byte 0x%02x not allowed (use A-Z a-z 0-9 . _ -)", name, c)
			}
		}
		if strings.HasSuffix(comp, ".") {
			return fmt.Errorf("entry name %q: component %q ends with a dot", name, comp)
		}
		base, _, _ := strings.Cut(comp, ".")
		switch b := strings.ToUpper(base); {
		case b == "CON", b == "PRN", b == "AUX", b == "NUL",
			len(b) == 4 && (strings.HasPrefix(b, "COM") || strings.HasPrefix(b, "LPT")) && b[3] >= '0' && b[3] <= '9':
			return fmt.Errorf("entry name %q: component %q is a Windows device name", name, comp)
		}
	}
	return nil
}

// ManifestLine is one line of a BagIt manifest.
type ManifestLine struct {
	SHA256 string // lower-case hex
	Path   string
}

// FormatManifest renders lines sorted by path as "<hex>  <path>\n".
func FormatManifest(lines []ManifestLine) []byte {
	sorted := slices.Clone(lines)
	slices.SortFunc(sorted, func(a, b ManifestLine) int { return strings.Compare(a.Path, b.Path) })
	var b bytes.Buffer
	for _, l := range sorted {
		b.WriteString(l.SHA256)
		b.WriteString("  ")
		b.WriteString(l.Path)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseManifest parses a manifest written by FormatManifest. It is strict:
// LF line ends, exactly two spaces, lower-case 64-hex digests, valid names,
// paths sorted and unique. Anything else is rejected, because custos only
// verifies what custos wrote.
func ParseManifest(data []byte) ([]ManifestLine, error) {
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return nil, errors.New("last line does not end with a newline")
	}
	var out []ManifestLine
	if len(data) == 0 {
		return nil, nil
	}
	text := strings.TrimSuffix(string(data), "\n")
	for n, line := range strings.Split(text, "\n") {
		n++
		sum, path, ok := strings.Cut(line, "  ")
		if !ok || !validHex64(sum) {
			return nil, fmt.Errorf("line %d: want \"<64 lower-case hex>  <path>\"", n)
		}
		if err := CheckEntryName(path); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if len(out) > 0 && strings.Compare(out[len(out)-1].Path, path) >= 0 {
			return nil, fmt.Errorf("line %d: %s is out of order or listed twice", n, path)
		}
		out = append(out, ManifestLine{SHA256: sum, Path: path})
	}
	return out, nil
}

// BagInfo is an ordered list of bag-info.txt labels and values.
type BagInfo [][2]string

// Get returns the first value of label.
func (b BagInfo) Get(label string) string {
	for _, kv := range b {
		if strings.EqualFold(kv[0], label) {
			return kv[1]
		}
	}
	return ""
}

// Format renders "Label: value" lines. Values are single-line.
func (b BagInfo) Format() []byte {
	var buf bytes.Buffer
	for _, kv := range b {
		v := strings.Join(strings.Fields(kv[1]), " ")
		fmt.Fprintf(&buf, "%s: %s\n", kv[0], v)
	}
	return buf.Bytes()
}

// ParseBagInfo reads bag-info.txt (continuation lines are joined).
func ParseBagInfo(data []byte) (BagInfo, error) {
	var out BagInfo
	for n, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(out) == 0 {
				return nil, fmt.Errorf("line %d: continuation without a label", n+1)
			}
			out[len(out)-1][1] += " " + strings.TrimSpace(line)
			continue
		}
		label, value, ok := strings.Cut(line, ":")
		if !ok || label == "" {
			return nil, fmt.Errorf("line %d: want \"Label: value\"", n+1)
		}
		out = append(out, [2]string{label, strings.TrimSpace(value)})
	}
	return out, nil
}

// ParseOxum reads a Payload-Oxum "bytes.files" value.
func ParseOxum(s string) (bytes int64, files int64, err error) {
	b, f, ok := strings.Cut(s, ".")
	if ok {
		bytes, err = strconv.ParseInt(b, 10, 64)
		if err == nil {
			files, err = strconv.ParseInt(f, 10, 64)
		}
	}
	if !ok || err != nil || bytes < 0 || files < 0 {
		return 0, 0, fmt.Errorf("Payload-Oxum %q: want OCTETS.FILES", s)
	}
	return bytes, files, nil
}
