package amapi

import (
	"context"
	"crypto/sha256"
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

// sinceExport is an export of two usage-log messages of device D1, one
// event at t1 and one at t2, and a STATUS_REPORT of D1 dated before both.
func sinceExport(t *testing.T, t1, t2 time.Time) string {
	t.Helper()
	usage := func(id string, at time.Time) googlesim.Message {
		data, _ := json.Marshal(map[string]any{"device": "enterprises/LC01/devices/D1", "usageLogEvents": []any{
			map[string]any{"eventId": id, "eventType": "OS_STARTUP", "eventTime": at.Format(time.RFC3339Nano),
				"osStartupEvent": map[string]any{"verifiedBootState": "GREEN"}}}})
		return googlesim.Message{ID: "m-" + id, Data: data, Attributes: map[string]string{"notificationType": "USAGE_LOGS"}, Published: at}
	}
	status, _ := json.Marshal(map[string]any{"name": "enterprises/LC01/devices/D1", "state": "ACTIVE",
		"lastStatusReportTime": t1.Add(-24 * time.Hour).Format(time.RFC3339)})
	return exportNDJSON(t, []googlesim.Message{
		usage("e1", t1),
		{ID: "m-status", Data: status, Attributes: map[string]string{"notificationType": "STATUS_REPORT"}, Published: t1},
		usage("e2", t2),
	})
}

// Request.Since leaves out the usage-log events dated before it (one at
// Since is kept), and nothing else: the export is kept byte for byte, and
// the device and its status report, older than Since, are recorded as
// the live drain (which applies no Since) records them.
func TestImportSince(t *testing.T) {
	t1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(24 * time.Hour)
	path := sinceExport(t, t1, t2)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		since  time.Time
		want   []string
		before int
	}{
		{"zero", time.Time{}, []string{"e1", "e2"}, 0},
		{"between", t1.Add(time.Hour), []string{"e2"}, 1},
		{"at the later event", t2, []string{"e2"}, 1},
		{"at the earlier event", t1, []string{"e1", "e2"}, 0},
		{"after both", t2.Add(time.Nanosecond), nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im, err := NewImport(path)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			st, err := collect.NewStaging(dir)
			if err != nil {
				t.Fatal(err)
			}
			req := collect.Request{All: true, Since: tc.since}
			if err := collect.Run(context.Background(), im, req, st, &collect.Acquisition{ID: "since"}, time.Now); err != nil {
				t.Fatal(err)
			}
			var got []string
			status := 0
			for _, e := range collecttest.ReadLines[collect.Event](t, filepath.Join(dir, collect.EventsFile)) {
				switch e.Type {
				case EventStatusReport:
					status++
				case "os_startup":
					got = append(got, e.Fields["event_id"].(string))
				default:
					t.Errorf("unexpected event %s", e.Type)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("usage-log events %v, want %v", got, tc.want)
			}
			if im.BeforeSince != tc.before || im.Logs.Events != len(tc.want)+1 {
				t.Errorf("BeforeSince %d, Logs.Events %d; want %d, %d", im.BeforeSince, im.Logs.Events, tc.before, len(tc.want)+1)
			}
			if status != 1 {
				t.Errorf("%d status_report events, want 1 whatever Since", status)
			}
			if devs := collecttest.ReadLines[collect.Device](t, filepath.Join(dir, collect.DevicesFile)); len(devs) != 1 {
				t.Errorf("%d device records, want 1 whatever Since", len(devs))
			}
			kept, err := os.ReadFile(filepath.Join(dir, "raw", Name, "000001.ndjson"))
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(kept) != sha256.Sum256(orig) {
				t.Error("the export is not kept byte for byte")
			}
			log, err := os.ReadFile(filepath.Join(dir, "raw", Name, "requests.ndjson"))
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(log), "\n")
			var ex collect.Exchange
			if err := json.Unmarshal([]byte(first), &ex); err != nil {
				t.Fatal(err)
			}
			mentions := strings.Contains(ex.Note, "before "+tc.since.Format(time.RFC3339Nano)+" not written")
			if ex.Method != "IMPORT" || mentions == tc.since.IsZero() {
				t.Errorf("request-log note of the export %q (Since %v)", ex.Note, tc.since)
			}
		})
	}
}

// dropBefore keeps a usage-log event without a time (none can be read
// from an export: such an event is unreadable), leaves those of devices
// not kept to be counted unselected, and counts only the events of
// messages that will be written.
func TestDropBefore(t *testing.T) {
	since := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	old := since.Add(-time.Hour)
	ev := func(dev string, at time.Time) usageRecord {
		return usageRecord{Event: collect.Event{DeviceKey: dev, Time: at, Type: "os_startup"}}
	}
	msg := func(id, kind string) received {
		var r received
		r.Message.MessageID, r.Message.Attributes = id, map[string]string{"notificationType": kind}
		return r
	}
	b := &batch{
		msgs: []received{msg("a", "USAGE_LOGS"), msg("b", "USAGE_LOGS"), msg("a", "USAGE_LOGS"), msg("s", "STATUS_REPORT")},
		out: []parsed{
			{events: []usageRecord{ev("amapi:D1", old), ev("amapi:D1", time.Time{}), ev("amapi:D2", old), ev("amapi:D1", since)}},
			{events: []usageRecord{ev("amapi:D1", old)}}, // message b, already written
			{events: []usageRecord{ev("amapi:D1", old)}}, // message a again
			{events: []usageRecord{{Event: collect.Event{DeviceKey: "amapi:D1", Time: old, Type: EventStatusReport}}}},
		},
	}
	keep := func(key string) bool { return key == "amapi:D1" }
	n := dropBefore(collect.Request{Since: since}, b, keep, map[string]bool{"b": true})
	if n != 1 {
		t.Errorf("counted %d, want 1", n)
	}
	var got []string
	for _, p := range b.out {
		for _, e := range p.events {
			got = append(got, e.DeviceKey+" "+e.Type+" "+e.Time.Format(time.RFC3339))
		}
	}
	want := []string{"amapi:D1 os_startup 0001-01-01T00:00:00Z", "amapi:D2 os_startup 2026-02-28T23:00:00Z",
		"amapi:D1 os_startup 2026-03-01T00:00:00Z", "amapi:D1 status_report 2026-02-28T23:00:00Z"}
	if !slices.Equal(got, want) {
		t.Errorf("left %q, want %q", got, want)
	}
	if n := dropBefore(collect.Request{}, b, keep, nil); n != 0 {
		t.Errorf("zero Since counted %d", n)
	}
}
