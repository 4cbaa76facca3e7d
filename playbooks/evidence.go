package playbooks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"filippo.io/age"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/jsonptr"
	"github.com/custos-ir/custos/internal/jsonscan"
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
	// Events receives each event as it is read, with the device record
	// of its archive it belongs to (nil if none); events are not held.
	// Without it, events are not read. origin names the archive only:
	// its digest is known once the archive has been read to its end.
	Events func(origin ArchiveRef, d *collect.Device, e collect.Event) error
	// EventTooLarge is called for each event record longer than 4 MiB,
	// which is skipped (and counted in the analysis), not read.
	EventTooLarge func()
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
			case "data/" + collect.EventsFile:
				if opts.Events != nil {
					err = streamEvents(r, ArchiveRef{Name: filepath.Base(path)}, devs, opts.Events, opts.EventTooLarge)
				}
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

// streamEvents decodes an events file line by line and hands each event
// to fn with its device (devs are the archive's devices, read before its
// events: a bag's files are in name order).
func streamEvents(r io.Reader, origin ArchiveRef, devs []collect.Device, fn func(ArchiveRef, *collect.Device, collect.Event) error, tooLarge func()) error {
	byKey := make(map[string]*collect.Device, len(devs))
	for i := range devs {
		byKey[devs[i].Key] = &devs[i]
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	for n := 1; ; n++ {
		line = line[:0]
		over := false
		for {
			chunk, err := br.ReadSlice('\n')
			if len(line)+len(chunk) > maxRecordLine {
				over = true // skipped to its end, counted, not held
			} else {
				line = append(line, chunk...)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				if len(line) == 0 && !over {
					return nil
				}
				break
			}
			if err != nil {
				return err
			}
			break
		}
		if over {
			if tooLarge != nil {
				tooLarge()
			}
			continue
		}
		var e collect.Event
		if err := decodeRecord(line, &e); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if err := fn(origin, byKey[e.DeviceKey], e); err != nil {
			return err
		}
	}
}

// decodeRecord decodes one record line strictly: a member the record type
// does not have is an error, not ignored.
func decodeRecord(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func readNDJSON[T any](r io.Reader) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordLine)
	for n := 1; sc.Scan(); n++ {
		var v T
		if err := decodeRecord(sc.Bytes(), &v); err != nil {
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
	add := func(e *EvidenceRef) {
		if want[e.Archive] == nil {
			want[e.Archive] = map[string][]*EvidenceRef{}
		}
		want[e.Archive][e.Path] = append(want[e.Archive][e.Path], e)
	}
	for i := range a.Findings {
		f := &a.Findings[i]
		for j := range f.Evidence {
			add(&f.Evidence[j])
		}
		for j := range f.Observations {
			add(&f.Observations[j].Evidence)
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
			doc, err := jsonscan.Parse(data) // once for all the file's references
			if err != nil {
				return nil // not JSON: no excerpts
			}
			var buf bytes.Buffer
			for _, e := range refs {
				if ex, err := jsonptr.ResolveIn(doc, e.Pointer); err == nil {
					buf.Reset()
					if json.Compact(&buf, ex.Bytes()) == nil {
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
