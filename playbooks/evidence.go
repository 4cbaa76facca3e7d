package playbooks

import (
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
	// EventTypes, when set, says which event types the analysis reads
	// the fields of (Analyzer.Reads); the fields of other events are
	// checked to be a JSON object, not decoded.
	EventTypes func(eventType string) bool
	// Fleet and App stream the app records instead of holding them in
	// Input.Apps: Fleet counts every app record of every archive as it is
	// read, reading of each only what the count needs;
	// once all are counted (an app's prevalence needs the whole fleet),
	// App receives each again with its device, in a second pass over the
	// archives. An app no device record of its archive describes is
	// counted, not analysed.
	App   func(origin ArchiveRef, d *collect.Device, a *collect.App) error
	Fleet *Fleet
	// Analyzer, when set, is what the evidence streams into: Events,
	// EventTooLarge, EventTypes, Fleet and App are its own.
	Analyzer *Analyzer
}

// LoadEvidence verifies each archive and reads its records in the same
// streaming pass. Records of an archive that fails verification are
// discarded unless AllowUnverified is set.
func LoadEvidence(archives []string, opts LoadOptions) (Input, error) {
	in := Input{Origin: map[string]ArchiveRef{}}
	if an := opts.Analyzer; an != nil {
		opts.Events, opts.EventTooLarge, opts.EventTypes, opts.Fleet, opts.App = an.Event, an.EventTooLarge, an.Reads, an.fleet, an.App
	}
	streamApps := opts.Fleet != nil && opts.App != nil
	type read struct {
		path        string
		ref         ArchiveRef
		first, last int // its devices, in in.Devices
	}
	var done []read
	for _, path := range archives {
		var devs []collect.Device
		var apps []collect.App
		var gaps []collect.Gap
		visit := func(name string, r io.Reader) error {
			var err error
			switch name {
			case "data/" + collect.EventsFile:
				if opts.Events != nil {
					err = streamEvents(r, ArchiveRef{Name: filepath.Base(path)}, devs, opts)
				}
			case "data/" + collect.DevicesFile:
				devs, err = readNDJSON[collect.Device](r)
			case "data/" + collect.AppsFile:
				if streamApps {
					err = decodeLines(r, countApp, func(_ int, c *appCount) error { c.add(opts.Fleet); return nil }, tooLongRecord)
				} else {
					err = eachApp(r, func(a *collect.App) error { apps = append(apps, *a); return nil })
				}
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
		done = append(done, read{path: path, ref: ref, first: len(in.Devices), last: len(in.Devices) + len(devs)})
		in.Devices = append(in.Devices, devs...)
		in.Apps = append(in.Apps, apps...)
		in.Gaps = append(in.Gaps, gaps...)
	}
	if !streamApps {
		return in, nil
	}
	for _, rd := range done {
		byKey := make(map[string]*collect.Device, rd.last-rd.first)
		for i := rd.first; i < rd.last; i++ {
			byKey[in.Devices[i].Key] = &in.Devices[i]
		}
		apps := func(r io.Reader) error {
			if an := opts.Analyzer; an != nil {
				return an.evalApps(r, rd.ref, byKey)
			}
			return eachApp(r, func(a *collect.App) error {
				if d := byKey[a.DeviceKey]; d != nil {
					return opts.App(rd.ref, d, a)
				}
				return nil
			})
		}
		if err := reread(rd.path, rd.ref, opts, func(name string, r io.Reader) (bool, error) {
			if name != "data/"+collect.AppsFile {
				return false, nil
			}
			return true, apps(r) // the first records file: nothing else is read
		}); err != nil {
			return in, err
		}
	}
	return in, nil
}

// reread reads an archive LoadEvidence has read again, visiting its
// payload files until visit says stop. A verified archive is checked to
// be the same by its digest (preserve.RereadArchive); one analysed
// unverified is verified again, as far as it can be.
func reread(path string, ref ArchiveRef, opts LoadOptions, visit func(name string, r io.Reader) (bool, error)) error {
	if ref.Verified {
		return preserve.RereadArchive(path, opts.Identities, ref.SHA256, visit)
	}
	stopped := false
	var visitErr error
	rep, err := preserve.VerifyArchive(path, preserve.VerifyOptions{Anchors: opts.Anchors, Identities: opts.Identities,
		Visit: func(name string, r io.Reader) error {
			if stopped || visitErr != nil {
				return nil
			}
			stopped, visitErr = visit(name, r)
			return visitErr
		}})
	var ve *preserve.VerifyError
	switch {
	case err != nil && !(opts.AllowUnverified && errors.As(err, &ve)):
		return err
	case visitErr != nil:
		return visitErr // VerifyArchive drops it when verification fails
	case rep != nil && ref.SHA256 != "" && rep.SHA256 != ref.SHA256:
		return fmt.Errorf("%s: %w", filepath.Base(path), preserve.ErrArchiveChanged)
	}
	return nil
}

// eachApp decodes an apps file, on every core; a is valid during fn
// only.
func eachApp(r io.Reader, fn func(a *collect.App) error) error {
	return decodeLines(r, func(line []byte, recs []collect.App, in *interner) ([]collect.App, error) {
		recs = append(recs, collect.App{}) // decoded in place: a record on the heap each would be most of the garbage
		return recs, decodeApp(line, &recs[len(recs)-1], in)
	}, func(_ int, a *collect.App) error { return fn(a) }, tooLongRecord)
}

// streamEvents decodes an events file line by line and hands each event
// to fn with its device (devs are the archive's devices, read before its
// events: a bag's files are in name order). An event record longer than
// maxRecordLine is skipped and counted (tooLarge).
func streamEvents(r io.Reader, origin ArchiveRef, devs []collect.Device, opts LoadOptions) error {
	byKey := make(map[string]*collect.Device, len(devs))
	for i := range devs {
		byKey[devs[i].Key] = &devs[i]
	}
	return decodeLines(r, func(line []byte, recs []collect.Event, in *interner) ([]collect.Event, error) {
		recs = append(recs, collect.Event{}) // decoded in place
		return recs, decodeEvent(line, &recs[len(recs)-1], in, opts.EventTypes)
	}, func(_ int, e *collect.Event) error {
		return opts.Events(origin, byKey[e.DeviceKey], *e)
	}, func(int) error {
		if opts.EventTooLarge != nil {
			opts.EventTooLarge()
		}
		return nil
	})
}

// decodeRecord decodes one record line strictly: a member the record type
// does not have is an error, not ignored.
func decodeRecord(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// readNDJSON decodes a records file (decodeRecord, on every core).
func readNDJSON[T any](r io.Reader) ([]T, error) {
	var out []T
	err := decodeLines(r, func(line []byte, recs []T, _ *interner) ([]T, error) {
		var v T
		err := decodeRecord(line, &v)
		return append(recs, v), err
	}, func(_ int, v *T) error {
		out = append(out, *v)
		return nil
	}, tooLongRecord)
	return out, err
}

// tooLongRecord refuses a record longer than maxRecordLine.
func tooLongRecord(n int) error { return fmt.Errorf("line %d: longer than %d bytes", n, maxRecordLine) }

// AddExcerpts fills EvidenceRef.Excerpt with the JSON object each
// reference points at, read from the archives LoadEvidence verified,
// again (reread: up to the last file cited, the archive checked by its
// digest). Only files that findings cite are held in memory, one at a
// time.
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
	refs := map[string]ArchiveRef{}
	for _, ar := range a.Archives {
		refs[ar.Name] = ar
	}
	for archive, paths := range want {
		left := len(paths)
		excerpts := map[*EvidenceRef]string{} // kept only if the archive reads back whole
		visit := func(name string, r io.Reader) (bool, error) {
			refs := paths[name]
			if refs == nil {
				return false, nil
			}
			left--
			data, err := io.ReadAll(io.LimitReader(r, 64<<20))
			if err != nil {
				return false, err
			}
			doc, err := jsonscan.Parse(data) // once for all the file's references
			if err != nil {
				return left == 0, nil // not JSON: no excerpts
			}
			var buf bytes.Buffer
			for _, e := range refs {
				if ex, err := jsonptr.ResolveIn(doc, e.Pointer); err == nil {
					buf.Reset()
					if json.Compact(&buf, ex.Bytes()) == nil {
						excerpts[e] = buf.String()
					}
				}
			}
			return left == 0, nil
		}
		ref := refs[archive]
		if err := reread(filepath.Join(archiveDir, archive), ref, opts, visit); err != nil {
			if ref.Verified {
				return err
			}
			continue // an archive analysed unverified gives no excerpts it cannot read back
		}
		for e, ex := range excerpts {
			e.Excerpt = ex
		}
	}
	return nil
}
