package collecttest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/jsonptr"
)

// The checks below read a staging directory as a reviewer would, and
// return what is wrong instead of failing a test, so that they can be
// tested on damaged directories too.

// readNDJSON decodes every line of an NDJSON file; a missing file has no
// lines.
func readNDJSON[T any](file string) ([]T, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []T
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			return out, fmt.Errorf("%s line %d: %w", filepath.Base(file), i+1, err)
		}
		out = append(out, v)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return out, fmt.Errorf("%s: last line is not terminated", filepath.Base(file))
	}
	return out, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkRawLog checks raw/<source>/: every request-log line that names a
// file names one that exists with the digest the line gives, every raw
// file is named by exactly one line, and sequence numbers are unique.
func checkRawLog(dir, source string) ([]collect.Exchange, []error) {
	rawDir := filepath.Join(dir, "raw", source)
	exs, err := readNDJSON[collect.Exchange](filepath.Join(rawDir, "requests.ndjson"))
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	named := map[string]int{}
	seqs := map[int]bool{}
	for _, ex := range exs {
		if seqs[ex.Seq] {
			errs = append(errs, fmt.Errorf("requests.ndjson: seq %d appears twice", ex.Seq))
		}
		seqs[ex.Seq] = true
		if ex.Started.IsZero() || ex.Finished.Before(ex.Started) {
			errs = append(errs, fmt.Errorf("requests.ndjson seq %d: started %v, finished %v", ex.Seq, ex.Started, ex.Finished))
		}
		if ex.Method == "" || ex.URL == "" {
			errs = append(errs, fmt.Errorf("requests.ndjson seq %d: no method or URL", ex.Seq))
		}
		if ex.File == "" {
			continue
		}
		named[ex.File]++
		data, err := os.ReadFile(filepath.Join(rawDir, ex.File))
		if err != nil {
			errs = append(errs, fmt.Errorf("requests.ndjson seq %d names %s: %w", ex.Seq, ex.File, err))
			continue
		}
		if got := sha256Hex(data); got != ex.SHA256 && !strings.Contains(ex.Note, "redact") {
			errs = append(errs, fmt.Errorf("raw/%s/%s: sha256 %s, request log says %s", source, ex.File, got, ex.SHA256))
		}
		if int64(len(data)) != ex.Bytes && !strings.Contains(ex.Note, "redact") {
			errs = append(errs, fmt.Errorf("raw/%s/%s: %d bytes, request log says %d", source, ex.File, len(data), ex.Bytes))
		}
	}
	des, err := os.ReadDir(rawDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, de := range des {
		if de.IsDir() || de.Name() == "requests.ndjson" {
			continue
		}
		switch n := named[de.Name()]; {
		case n == 0:
			errs = append(errs, fmt.Errorf("raw/%s/%s is named by no request-log line", source, de.Name()))
		case n > 1:
			errs = append(errs, fmt.Errorf("raw/%s/%s is named by %d request-log lines", source, de.Name(), n))
		}
	}
	return exs, errs
}

// records is what a finished staging directory holds.
type records struct {
	Devices []collect.Device
	Apps    []collect.App
	Events  []collect.Event
	Gaps    []collect.Gap
}

// readRecords reads records/*.ndjson and reports lines that appear twice
// verbatim: a record written twice.
func readRecords(dir string) (records, []error) {
	var r records
	var errs []error
	read := func(name string, into func([]byte) error) {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if errors.Is(err, fs.ErrNotExist) {
			return
		} else if err != nil {
			errs = append(errs, err)
			return
		}
		seen := map[string]int{}
		for i, line := range bytes.Split(data, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			if first, dup := seen[string(line)]; dup {
				errs = append(errs, fmt.Errorf("%s: line %d repeats line %d: %.200s", name, i+1, first, line))
				continue
			}
			seen[string(line)] = i + 1
			if err := into(line); err != nil {
				errs = append(errs, fmt.Errorf("%s line %d: %w", name, i+1, err))
			}
		}
	}
	read(collect.DevicesFile, func(b []byte) error { return appendJSON(b, &r.Devices) })
	read(collect.AppsFile, func(b []byte) error { return appendJSON(b, &r.Apps) })
	read(collect.EventsFile, func(b []byte) error { return appendJSON(b, &r.Events) })
	read(collect.GapsFile, func(b []byte) error { return appendJSON(b, &r.Gaps) })
	keys := map[string]bool{}
	for _, d := range r.Devices {
		if keys[d.Key] {
			errs = append(errs, fmt.Errorf("device %s collected twice", d.Key))
		}
		keys[d.Key] = true
	}
	return r, errs
}

func appendJSON[T any](b []byte, into *[]T) error {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*into = append(*into, v)
	return nil
}

// checkCitations checks that every device, app and event cites a raw
// response that exists, has the digest cited, was a 2xx answer according
// to the request log, and holds the object the JSON pointer names.
func checkCitations(dir string, r records, exs []collect.Exchange) []error {
	status := map[string]int{}
	for _, ex := range exs {
		if ex.File != "" {
			status[ex.File] = ex.Status
		}
	}
	docs := map[string]any{}
	var errs []error
	check := func(what string, ref collect.RawRef) {
		if ref.Path == "" {
			errs = append(errs, fmt.Errorf("%s cites no raw response", what))
			return
		}
		if !strings.HasPrefix(ref.Path, "raw/") || path.Clean(ref.Path) != ref.Path {
			errs = append(errs, fmt.Errorf("%s cites %q, not a path under raw/", what, ref.Path))
			return
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref.Path)))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s cites %s: %w", what, ref.Path, err))
			return
		}
		if got := sha256Hex(data); got != ref.SHA256 {
			errs = append(errs, fmt.Errorf("%s cites %s with sha256 %s; the file has %s", what, ref.Path, ref.SHA256, got))
		}
		if st, ok := status[path.Base(ref.Path)]; !ok {
			errs = append(errs, fmt.Errorf("%s cites %s, which no request-log line names", what, ref.Path))
		} else if st < 200 || st > 299 {
			errs = append(errs, fmt.Errorf("%s cites %s, an HTTP %d response", what, ref.Path, st))
		}
		doc, ok := docs[ref.Path]
		if !ok {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			if err := dec.Decode(&doc); err != nil {
				doc = err
			}
			docs[ref.Path] = doc
		}
		if err, bad := doc.(error); bad {
			errs = append(errs, fmt.Errorf("%s cites %s, which is not JSON: %v", what, ref.Path, err))
			return
		}
		if _, err := jsonptr.Lookup(doc, ref.Pointer); err != nil {
			errs = append(errs, fmt.Errorf("%s cites %s#%s: %w", what, ref.Path, ref.Pointer, err))
		}
	}
	for _, d := range r.Devices {
		check("device "+d.Key, d.Raw)
	}
	for _, a := range r.Apps {
		what := fmt.Sprintf("app %s/%s", a.DeviceKey, firstNonEmpty(a.AppID, a.SourceAppID, a.Name))
		check(what, a.Raw)
		if a.DeviceRef != nil {
			check(what+" (device_ref)", *a.DeviceRef)
		}
	}
	for _, e := range r.Events {
		check(fmt.Sprintf("event %s %s %s", e.Type, e.DeviceKey, e.Time.Format("2006-01-02T15:04:05Z07:00")), e.Raw)
	}
	return errs
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// secretForm is one way a secret could be written down, with a label that
// says which secret and how without repeating it.
type secretForm struct {
	text  string
	label string
}

// secretForms returns the ways the secrets could be written down: as
// given, URL-encoded, JSON-escaped, and every long dot-separated part on
// its own (the signature of a JWT). Forms shorter than 8 bytes are left
// out: they would match by chance.
func secretForms(secrets []string) []secretForm {
	var out []secretForm
	add := func(i int, how, s string) {
		if len(s) < 8 || slices.ContainsFunc(out, func(f secretForm) bool { return f.text == s }) {
			return
		}
		out = append(out, secretForm{s, fmt.Sprintf("secret %d of %d, %s", i+1, len(secrets), how)})
	}
	for i, s := range secrets {
		add(i, "as given", s)
		add(i, "query-escaped", url.QueryEscape(s))
		add(i, "path-escaped", url.PathEscape(s))
		if b, err := json.Marshal(s); err == nil {
			add(i, "JSON-escaped", string(b[1:len(b)-1]))
		}
		if parts := strings.Split(s, "."); len(parts) > 1 {
			for _, p := range parts {
				if len(p) >= 32 {
					add(i, "one dot-separated part", p)
				}
			}
		}
	}
	return out
}

// findSecrets walks every file under root and reports each one holding a
// secret in any form. It never prints the secret itself.
func findSecrets(root string, secrets []string) []error {
	forms := secretForms(secrets)
	var errs []error
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, f := range forms {
			if bytes.Contains(data, []byte(f.text)) {
				rel, _ := filepath.Rel(root, p)
				errs = append(errs, fmt.Errorf("%s holds a secret (%s)", rel, f.label))
				break
			}
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// secretIn reports whether text holds a secret in any form.
func secretIn(text string, secrets []string) bool {
	for _, f := range secretForms(secrets) {
		if strings.Contains(text, f.text) {
			return true
		}
	}
	return false
}

// exchangeKey identifies an HTTP exchange by method, path and status, so
// that the request log and the simulator's record can be compared as
// multisets.
func exchangeKey(method, rawURL string, status int) string {
	p := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		p = u.Path
	}
	return fmt.Sprintf("%s %s %d", method, p, status)
}

// compareExchanges compares the request log with the requests the
// simulator answered (batched items and requests still in flight left
// out): each answered request must have exactly one log line.
func compareExchanges(exs []collect.Exchange, served []Request) []error {
	want := map[string]int{}
	for _, r := range served {
		if r.Batched || r.Finished.IsZero() {
			continue
		}
		want[exchangeKey(r.Method, r.URL, r.Status)]++
	}
	got := map[string]int{}
	for _, ex := range exs {
		got[exchangeKey(ex.Method, ex.URL, ex.Status)]++
	}
	var errs []error
	for _, k := range sortedKeys(want, got) {
		if want[k] != got[k] {
			errs = append(errs, fmt.Errorf("%s: the simulator answered %d, the request log has %d", k, want[k], got[k]))
		}
	}
	return errs
}

func sortedKeys(ms ...map[string]int) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// countLines counts the lines of a file (0 when it is missing).
func countLines(file string) int {
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		n++
	}
	return n
}
