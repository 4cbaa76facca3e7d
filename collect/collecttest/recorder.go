package collecttest

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/custos-ir/custos/collect"
)

// Recorder is a collect.Sink that keeps every record in memory and stores
// nothing, for fuzz targets and unit tests of a source's decoding. It is
// not safe for concurrent use.
type Recorder struct {
	Devices []collect.Device
	Apps    []collect.App
	Events  []collect.Event
	Gaps    []collect.Gap
}

func (r *Recorder) Capture(string, *collect.Exchange, []byte, bool) (collect.RawRef, error) {
	return collect.RawRef{}, nil
}
func (r *Recorder) CaptureReader(_ string, _ *collect.Exchange, rd io.Reader, _ string, _ int64) (collect.RawRef, error) {
	_, err := io.Copy(io.Discard, rd)
	return collect.RawRef{}, err
}
func (r *Recorder) Device(d collect.Device) error { r.Devices = append(r.Devices, d); return nil }
func (r *Recorder) App(a collect.App) error       { r.Apps = append(r.Apps, a); return nil }
func (r *Recorder) Gap(g collect.Gap) error       { r.Gaps = append(r.Gaps, g); return nil }
func (r *Recorder) UnitDone(string) error         { return nil }
func (r *Recorder) Within(string) collect.Sink    { return r }
func (r *Recorder) Sync() error                   { return nil }

// Event keeps e with its Fields decoded.
func (r *Recorder) Event(e collect.Event) error {
	e, err := e.Decoded()
	if err != nil {
		return err
	}
	r.Events = append(r.Events, e)
	return nil
}

// ReadLines decodes every line of an NDJSON file (a record file) as a T,
// failing the test on any error.
func ReadLines[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
