package amapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/collect/googlesim"
)

// exportNDJSON writes msgs as an export: push envelopes, received
// messages and bare messages, in turn.
func exportNDJSON(t *testing.T, msgs []googlesim.Message) string {
	t.Helper()
	var b strings.Builder
	for i, m := range msgs {
		pm := map[string]any{"data": base64.StdEncoding.EncodeToString(m.Data), "attributes": m.Attributes,
			"messageId": m.ID, "publishTime": m.Published.UTC().Format(time.RFC3339Nano)}
		var line any = pm
		switch i % 3 {
		case 0:
			line = map[string]any{"message": pm, "subscription": googlesim.DefaultSubscription}
		case 1:
			line = map[string]any{"ackId": "x", "message": pm}
		}
		data, _ := json.Marshal(line)
		b.Write(data)
		b.WriteByte('\n')
		if i == 2 {
			b.WriteString("\n") // blank lines are allowed
		}
	}
	p := filepath.Join(t.TempDir(), "usage-logs.ndjson")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func importFile(t *testing.T, path string) (string, error) {
	t.Helper()
	im, err := NewImport(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := collect.NewStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, collect.Run(context.Background(), im, collect.Request{All: true}, st, &collect.Acquisition{ID: "imp"}, time.Now)
}

// An export gives the same usage-log events as the live drain, and the
// file itself is the raw evidence, byte for byte.
func TestImportMatchesLiveDrain(t *testing.T) {
	sim, cfg := logSim(t, 10*time.Second)
	liveDir, err := collectAll(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := exportNDJSON(t, sim.UsageLogs())
	dir, err := importFile(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := usageEvents(t, dir), usageEvents(t, liveDir); !slices.Equal(got, want) {
		t.Errorf("import gave %d usage-log events, the live drain %d", len(got), len(want))
	}
	// The device of the ENROLLMENT and STATUS_REPORT notifications is
	// recorded once; the live drain already had it from the listing.
	if devs := collecttest.ReadLines[collect.Device](t, filepath.Join(dir, collect.DevicesFile)); len(devs) != 1 {
		t.Errorf("%d device records from the export, want 1", len(devs))
	}
	if devs := collecttest.ReadLines[collect.Device](t, filepath.Join(liveDir, collect.DevicesFile)); len(devs) != 12 {
		t.Errorf("%d device records in the live drain, want the 12 listed", len(devs))
	}
	orig, _ := os.ReadFile(path)
	kept, err := os.ReadFile(filepath.Join(dir, "raw", Name, "000001.ndjson"))
	if err != nil || string(kept) != string(orig) {
		t.Errorf("the export is not kept byte for byte (%v)", err)
	}
	for _, e := range collecttest.ReadLines[collect.Event](t, filepath.Join(dir, collect.EventsFile)) {
		if e.Type == "os_startup" {
			resolve(t, dir, e.Raw) // points into the decoded data
		}
	}
}

// A malformed line fails the whole import, naming the line; nothing is
// left as a finished acquisition.
func TestImportRejectsMalformedLines(t *testing.T) {
	sim := googlesim.New(googlesim.Options{Devices: 12, Seed: 5, Key: testKey()})
	good := exportNDJSON(t, sim.UsageLogs())
	data, _ := os.ReadFile(good)
	lines := strings.Split(string(data), "\n")
	for name, bad := range map[string]string{
		"not JSON":        `{"message": {"data": "e30=", "messageId": "1"`,
		"no message id":   `{"data":"e30=","attributes":{"notificationType":"USAGE_LOGS"}}`,
		"no notification": `{"data":"e30=","messageId":"5"}`,
		"data not base64": `{"data":"%%%","messageId":"5","attributes":{"notificationType":"USAGE_LOGS"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			withBad := append(slices.Clone(lines[:3]), append([]string{bad}, lines[3:]...)...)
			p := filepath.Join(t.TempDir(), "x.ndjson")
			os.WriteFile(p, []byte(strings.Join(withBad, "\n")), 0o644)
			dir, err := importFile(t, p)
			if err == nil || !strings.Contains(err.Error(), "x.ndjson:4:") {
				t.Fatalf("err = %v; want one naming x.ndjson:4", err)
			}
			if _, err := os.Stat(filepath.Join(dir, collect.AcquisitionFile)); err == nil {
				t.Error("a partial import was finished")
			}
		})
	}
}

// An export carries device ids only: other selectors are refused rather
// than silently matching nothing.
func TestImportSelectors(t *testing.T) {
	sim := googlesim.New(googlesim.Options{Devices: 12, Seed: 5, Key: testKey()})
	path := exportNDJSON(t, sim.UsageLogs())
	im, _ := NewImport(path)
	st, _ := collect.NewStaging(t.TempDir())
	sel, _ := collect.ParseSelector("serial:R5CT1")
	err := collect.Run(context.Background(), im, collect.Request{Selectors: []collect.Selector{sel}}, st, &collect.Acquisition{ID: "x"}, time.Now)
	if err == nil || !strings.Contains(err.Error(), "by id only") {
		t.Fatalf("err = %v", err)
	}
	target := lastSegment(sim.Fleet().Planted[googlesim.ScenarioCompromised])
	dir := t.TempDir()
	st, _ = collect.NewStaging(dir)
	sel, _ = collect.ParseSelector("id:" + target)
	if err := collect.Run(context.Background(), im, collect.Request{Selectors: []collect.Selector{sel}}, st, &collect.Acquisition{ID: "y"}, time.Now); err != nil {
		t.Fatal(err)
	}
	got := usageEvents(t, dir)
	if len(got) == 0 {
		t.Fatal("no events of the selected device")
	}
	for _, e := range got {
		if !strings.HasPrefix(e, Name+":"+target+" ") {
			t.Errorf("event of another device: %s", e)
		}
	}
}
