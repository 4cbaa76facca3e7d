package playbooks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"filippo.io/age"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/preserve"
)

// maxRecordLine bounds one NDJSON record.
const maxRecordLine = 4 << 20

// LoadOptions configures LoadEvidence.
type LoadOptions struct {
	Anchors *preserve.AllowedSigners
	// AllowUnverified reads archives that fail verification; the analysis
	// then says so. Without it a failed verification is an error.
	AllowUnverified bool
	// Identities decrypt archives stored encrypted (.tar.zst.age).
	Identities []age.Identity
}

// LoadEvidence verifies each archive and reads its records in the same
// streaming pass. Records of an archive that fails verification are
// discarded unless AllowUnverified is set.
func LoadEvidence(archives []string, opts LoadOptions) (Input, error) {
	in := Input{Origin: map[string]ArchiveRef{}}
	for _, path := range archives {
		var devs []collect.Device
		var apps []collect.App
		var gaps []collect.Gap
		visit := func(name string, r io.Reader) error {
			var err error
			switch name {
			case "data/" + collect.DevicesFile:
				devs, err = readNDJSON[collect.Device](r)
			case "data/" + collect.AppsFile:
				apps, err = readNDJSON[collect.App](r)
			case "data/" + collect.GapsFile:
				gaps, err = readNDJSON[collect.Gap](r)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		}
		rep, err := preserve.VerifyArchive(path, preserve.VerifyOptions{Anchors: opts.Anchors, Identities: opts.Identities, Visit: visit})
		verified := err == nil
		var ve *preserve.VerifyError
		if err != nil && !(opts.AllowUnverified && errors.As(err, &ve)) {
			return in, err
		}
		ref := ArchiveRef{Name: filepath.Base(path), SHA256: rep.SHA256, AcquisitionID: rep.AcquisitionID,
			Verified: verified, SignerKey: rep.SignerKey, SignerPrincipals: rep.SignerPrincipals}
		in.Archives = append(in.Archives, ref)
		for _, d := range devs {
			in.Origin[d.Key] = ref
		}
		in.Devices = append(in.Devices, devs...)
		in.Apps = append(in.Apps, apps...)
		in.Gaps = append(in.Gaps, gaps...)
	}
	return in, nil
}

func readNDJSON[T any](r io.Reader) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordLine)
	for n := 1; sc.Scan(); n++ {
		var v T
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// AddExcerpts fills EvidenceRef.Excerpt with the JSON object each
// reference points at, read from the archives in a second verified pass.
// Only files that findings cite are held in memory, one at a time.
func AddExcerpts(a *Analysis, archiveDir string, opts LoadOptions) error {
	want := map[string]map[string][]*EvidenceRef{} // archive name -> path -> refs
	for i := range a.Findings {
		for j := range a.Findings[i].Evidence {
			e := &a.Findings[i].Evidence[j]
			if want[e.Archive] == nil {
				want[e.Archive] = map[string][]*EvidenceRef{}
			}
			want[e.Archive][e.Path] = append(want[e.Archive][e.Path], e)
		}
	}
	for archive, paths := range want {
		visit := func(name string, r io.Reader) error {
			refs := paths[name]
			if refs == nil {
				return nil
			}
			data, err := io.ReadAll(io.LimitReader(r, 64<<20))
			if err != nil {
				return err
			}
			for _, e := range refs {
				if ex, err := Pointer(data, e.Pointer); err == nil {
					var buf bytes.Buffer
					if json.Compact(&buf, ex) == nil {
						e.Excerpt = buf.String()
					}
				}
			}
			return nil
		}
		if _, err := preserve.VerifyArchive(filepath.Join(archiveDir, archive), preserve.VerifyOptions{Anchors: opts.Anchors, Identities: opts.Identities, Visit: visit}); err != nil && !a.Unverified {
			return err
		}
	}
	return nil
}

// Pointer resolves an RFC 6901 JSON pointer in doc and returns the raw
// JSON value it names.
func Pointer(doc []byte, ptr string) (json.RawMessage, error) {
	cur := json.RawMessage(doc)
	if ptr == "" {
		return cur, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("json pointer %q does not start with /", ptr)
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		trimmed := bytes.TrimSpace(cur)
		switch {
		case len(trimmed) > 0 && trimmed[0] == '{':
			var m map[string]json.RawMessage
			if err := json.Unmarshal(trimmed, &m); err != nil {
				return nil, err
			}
			v, ok := m[tok]
			if !ok {
				return nil, fmt.Errorf("json pointer %q: no member %q", ptr, tok)
			}
			cur = v
		case len(trimmed) > 0 && trimmed[0] == '[':
			var arr []json.RawMessage
			if err := json.Unmarshal(trimmed, &arr); err != nil {
				return nil, err
			}
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(arr) || (len(tok) > 1 && tok[0] == '0') {
				return nil, fmt.Errorf("json pointer %q: bad index %q", ptr, tok)
			}
			cur = arr[i]
		default:
			return nil, fmt.Errorf("json pointer %q: %q is not in a container", ptr, tok)
		}
	}
	return cur, nil
}
