package collecttest

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
)

// The checks must catch what they are for: each test below damages a
// staging directory in one way and expects that damage reported.

func TestFindSecrets(t *testing.T) {
	const secret = "s3cret+with/odd=chars"
	token := "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0." + strings.Repeat("Sg", 40)
	dir := t.TempDir()
	files := map[string]string{
		"clean.json":      `{"ok":true}`,
		"plain.txt":       "secret: " + secret,
		"query.ndjson":    `{"url":"/token?client_secret=` + url.QueryEscape(secret) + `"}`,
		"sig/only.json":   `{"sig":"` + strings.Repeat("Sg", 40) + `"}`,
		"nested/tok.json": `{"authorization":"Bearer ` + token + `"}`,
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	errs := findSecrets(dir, []string{secret, token, "short"})
	found := map[string]bool{}
	for _, err := range errs {
		found[strings.Fields(err.Error())[0]] = true
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Sg") {
			t.Errorf("the report repeats the secret: %v", err)
		}
	}
	for name := range files {
		if want := name != "clean.json"; found[filepath.FromSlash(name)] != want {
			t.Errorf("%s reported = %v, want %v (reports: %v)", name, found[filepath.FromSlash(name)], want, errs)
		}
	}
	if !secretIn("GET /x?client_secret="+url.QueryEscape(secret), []string{secret}) || secretIn("nothing here", []string{secret}) {
		t.Error("secretIn is wrong")
	}
}

// staged builds a finished staging directory with two responses, one
// device citing the first and one request-log line per response.
func staged(t *testing.T) (dir string, st *collect.Staging) {
	t.Helper()
	dir = t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st, err := collect.NewStaging(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := st.Capture("toy", &collect.Exchange{Started: at, Finished: at, Method: "GET", URL: "http://127.0.0.1/api/devices", Status: 200}, []byte(`{"devices":[{"id":"d1"}]}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Capture("toy", &collect.Exchange{Started: at, Finished: at, Method: "GET", URL: "http://127.0.0.1/api/devices/d1/apps", Status: 503}, []byte(`{"error":"busy"}`), true); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Capture("toy", &collect.Exchange{Started: at, Finished: at, Method: "POST", URL: "http://127.0.0.1/token", Status: 200}, []byte(`{"access_token":"x"}`), false); err != nil {
		t.Fatal(err)
	}
	ref.Pointer = "/devices/0"
	if err := st.Device(collect.Device{Key: "toy:d1", Source: "toy", SourceID: "d1", Raw: ref}); err != nil {
		t.Fatal(err)
	}
	return dir, st
}

func finish(t *testing.T, st *collect.Staging) {
	t.Helper()
	if err := st.Finish(&collect.Acquisition{}); err != nil {
		t.Fatal(err)
	}
}

func TestChecksPassAFaithfulStaging(t *testing.T) {
	dir, st := staged(t)
	finish(t, st)
	exs, errs := checkRawLog(dir, "toy")
	if len(errs) > 0 || len(exs) != 3 {
		t.Fatalf("%d exchanges, errors %v", len(exs), errs)
	}
	recs, errs := readRecords(dir)
	if len(errs) > 0 || len(recs.Devices) != 1 {
		t.Fatalf("records %+v, errors %v", recs, errs)
	}
	if errs := checkCitations(dir, recs, exs); len(errs) > 0 {
		t.Fatal(errs)
	}
	served := []Request{
		{Method: "GET", URL: "/api/devices?page=1", Status: 200, Finished: time.Now()},
		{Method: "GET", URL: "/api/devices/d1/apps", Status: 503, Finished: time.Now()},
		{Method: "POST", URL: "/token", Status: 200, Finished: time.Now()},
		{Method: "GET", URL: "/in/flight"},
		{Method: "GET", URL: "/v1/item", Status: 200, Finished: time.Now(), Batched: true},
	}
	if errs := compareExchanges(exs, served); len(errs) > 0 {
		t.Fatal(errs)
	}
}

func TestCheckRawLogReportsDamage(t *testing.T) {
	dir, st := staged(t)
	finish(t, st)
	raw := filepath.Join(dir, "raw", "toy")
	if err := os.WriteFile(filepath.Join(raw, "000001.json"), []byte(`{"devices":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(raw, "000002.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(raw, "000009.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(collect.Exchange{Seq: 3, Started: time.Now(), Finished: time.Now().Add(-time.Second), Method: "GET", URL: "/x"})
	f, err := os.OpenFile(filepath.Join(raw, "requests.ndjson"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(append(line, '\n'))
	f.Close()
	_, errs := checkRawLog(dir, "toy")
	text := joinErrs(errs)
	for _, want := range []string{"000001.json: sha256", "names 000002.json", "000009.json is named by no request-log line", "seq 3 appears twice", "seq 3: started"} {
		if !strings.Contains(text, want) {
			t.Errorf("damage %q not reported; got:\n%s", want, text)
		}
	}
}

func TestReadRecordsReportsDuplicates(t *testing.T) {
	dir, st := staged(t)
	// The same device again under other bytes, and an app written twice.
	st.Device(collect.Device{Key: "toy:d1", Source: "toy", SourceID: "d1", Name: "again"})
	a := collect.App{DeviceKey: "toy:d1", AppID: "com.example"}
	st.App(a)
	st.App(a)
	finish(t, st)
	_, errs := readRecords(dir)
	text := joinErrs(errs)
	if !strings.Contains(text, "device toy:d1 collected twice") || !strings.Contains(text, collect.AppsFile+": line 2 repeats line 1") {
		t.Errorf("duplicates not reported:\n%s", text)
	}
}

func TestCheckCitationsReportsBadReferences(t *testing.T) {
	dir, st := staged(t)
	good := collect.RawRef{Path: "raw/toy/000001.json", Pointer: "/devices/0"}
	good.SHA256 = sha256Hex([]byte(`{"devices":[{"id":"d1"}]}`))
	bad := []collect.App{
		{DeviceKey: "toy:d1", AppID: "wrong-pointer", Raw: collect.RawRef{Path: good.Path, SHA256: good.SHA256, Pointer: "/devices/3"}},
		{DeviceKey: "toy:d1", AppID: "wrong-digest", Raw: collect.RawRef{Path: good.Path, SHA256: strings.Repeat("0", 64)}},
		{DeviceKey: "toy:d1", AppID: "error-body", Raw: collect.RawRef{Path: "raw/toy/000002.json", SHA256: sha256Hex([]byte(`{"error":"busy"}`))}},
		{DeviceKey: "toy:d1", AppID: "no-file", Raw: collect.RawRef{Path: "raw/toy/000042.json"}},
		{DeviceKey: "toy:d1", AppID: "escape", Raw: collect.RawRef{Path: "raw/../records/devices.ndjson"}},
		{DeviceKey: "toy:d1", AppID: "uncited"},
	}
	for _, a := range bad {
		st.App(a)
	}
	finish(t, st)
	exs, _ := checkRawLog(dir, "toy")
	recs, _ := readRecords(dir)
	text := joinErrs(checkCitations(dir, recs, exs))
	for _, want := range []string{"wrong-pointer cites raw/toy/000001.json#/devices/3", "wrong-digest cites raw/toy/000001.json with sha256 000",
		"error-body cites raw/toy/000002.json, an HTTP 503 response", "no-file cites raw/toy/000042.json", "escape cites", "uncited cites no raw response"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q not reported; got:\n%s", want, text)
		}
	}
	if strings.Contains(text, "device toy:d1") {
		t.Errorf("the faithful device was reported:\n%s", text)
	}
}

func TestCompareExchangesReportsMissingLines(t *testing.T) {
	exs := []collect.Exchange{{Method: "GET", URL: "http://127.0.0.1:1/a?x=1", Status: 429}}
	served := []Request{
		{Method: "GET", URL: "/a?x=1", Status: 429, Finished: time.Now()},
		{Method: "GET", URL: "/a?x=1", Status: 200, Finished: time.Now()},
	}
	errs := compareExchanges(exs, served)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "GET /a 200: the simulator answered 1, the request log has 0") {
		t.Errorf("got %v", errs)
	}
}

func TestLoopbackClientStaysOnLoopback(t *testing.T) {
	c, tr := loopbackClient()
	defer tr.CloseIdleConnections()
	// 192.0.2.0/24 is reserved for documentation: nothing is dialled.
	_, err := c.Get("http://192.0.2.1:9/")
	if err == nil || !strings.Contains(err.Error(), "refusing to dial") {
		t.Fatalf("err = %v, want a refusal", err)
	}
}

func TestSleeperRecordsAndShortens(t *testing.T) {
	s := &sleeper{real: 0}
	if err := s.Sleep(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (&sleeper{real: -1}).Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sleep = %v", err)
	}
	if w := s.waits(); len(w) != 1 || w[0] != time.Hour {
		t.Fatalf("waits = %v", w)
	}
}

func joinErrs(errs []error) string {
	var b strings.Builder
	for _, err := range errs {
		b.WriteString(err.Error())
		b.WriteByte('\n')
	}
	return b.String()
}
