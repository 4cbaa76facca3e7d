package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// baseTime is the collection start of every generated acquisition: fixed,
// so the output never depends on the clock.
var baseTime = time.Date(2025, time.March, 14, 9, 0, 0, 0, time.UTC)

// Shares of the total size. Whatever the other files leave goes to
// events.ndjson; requests.ndjson and acquisition.json come on top (a few
// hundred bytes per page).
// The page and device shares are in the ratio of a Graph managedDevice
// object to its devices.ndjson record, so the pages list the fleet about
// once.
const (
	sharePages       = 0.40
	shareAttachments = 0.10 // incompressible
	shareDevices     = 0.16
	shareApps        = 0.15
	shareGaps        = 0.002
)

// Page and attachment sizes are drawn log-uniformly from these ranges.
const (
	minPage       = 100 << 10
	maxPage       = 4 << 20
	minAttachment = 256 << 10
	maxAttachment = 16 << 20
)

// PRNG streams: each file (and each device identity) has its own stream so
// that files can be generated concurrently and still be deterministic.
const (
	streamID uint64 = iota + 1
	streamPages
	streamDevices
	streamApps
	streamEvents
	streamGaps
	streamAttachments
	streamCatalog
	streamDevice = 1 << 32 // + device index
	streamUser   = 2 << 32 // + user index
)

var caseIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

type config struct {
	caseDir string
	caseID  string
	acqID   string
	size    int64
	seed    uint64
}

func main() {
	var cfg config
	var size string
	flag.StringVar(&cfg.caseDir, "case", "", "case directory (created with case.json when it is not a case yet)")
	flag.StringVar(&cfg.caseID, "case-id", "BENCH", "case id for a new case.json")
	flag.StringVar(&cfg.acqID, "acquisition", "", "acquisition id (default: a UUIDv7 derived from the seed)")
	flag.StringVar(&size, "size", "2GiB", "total size of the staging directory (B, KiB, MiB, GiB, TiB; K, M, G, T mean the same)")
	flag.Uint64Var(&cfg.seed, "seed", 1, "PRNG seed")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: gentree -case DIR [-case-id ID] [-acquisition ID] [-size 2GiB] [-seed N]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 || cfg.caseDir == "" {
		flag.Usage()
		os.Exit(2)
	}
	n, err := parseSize(size)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gentree: -size: %v\n", err)
		os.Exit(2)
	}
	cfg.size = n
	start := time.Now()
	sum, err := run(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gentree: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(sum.acqID)
	fmt.Fprintf(os.Stderr, "gentree: %s: %d files, %d bytes (%.1f %% incompressible), %d devices, %d apps, %d events, %d gaps, %d pages in %.1fs\n",
		sum.stage, sum.files, sum.bytes, 100*float64(sum.incompressible)/float64(max(sum.bytes, 1)),
		sum.counts.Devices, sum.counts.Apps, sum.counts.Events, sum.counts.Gaps, sum.counts.Responses, time.Since(start).Seconds())
}

// parseSize reads "2GiB", "200MiB", "1.5G", "4096".
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"k", 1 << 10}, {"B", 1},
	}
	num, mult := strings.TrimSpace(s), 1.0
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f*mult > 1<<50 {
		return 0, fmt.Errorf("%q is not a size such as 200MiB or 2GiB", s)
	}
	n := int64(f * mult)
	if n < 64<<10 {
		return 0, fmt.Errorf("%q: at least 64KiB", s)
	}
	return n, nil
}

type counts struct {
	Devices   int `json:"devices"`
	Apps      int `json:"apps"`
	Events    int `json:"events"`
	Gaps      int `json:"gaps"`
	Responses int `json:"responses"`
}

type summary struct {
	acqID          string
	stage          string
	files          int
	bytes          int64
	incompressible int64
	counts         counts
}

// gen is the shared, read-only state of one generation run.
type gen struct {
	seed     uint64
	stage    string
	fleet    int // number of devices
	base     time.Time
	tenantID string
	catalog  []catalogEntry
}

func run(cfg config) (*summary, error) {
	caseID, err := ensureCase(cfg.caseDir, cfg.caseID)
	if err != nil {
		return nil, err
	}
	if cfg.acqID == "" {
		cfg.acqID = uuidV7(baseTime, rng(cfg.seed, streamID))
	}
	if !caseIDPattern.MatchString(cfg.acqID) {
		return nil, fmt.Errorf("acquisition id %q: use A-Z a-z 0-9 . _ - starting with a letter or digit", cfg.acqID)
	}
	stage := filepath.Join(cfg.caseDir, "staging", cfg.acqID)
	if _, err := os.Stat(stage); err == nil {
		return nil, fmt.Errorf("%s exists: choose another -acquisition or remove it", stage)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, d := range []string{"raw/intune/attachments", "records", "provenance"} {
		if err := os.MkdirAll(filepath.Join(stage, filepath.FromSlash(d)), 0o755); err != nil {
			return nil, err
		}
	}

	g := &gen{
		seed:     cfg.seed,
		stage:    stage,
		base:     baseTime,
		tenantID: guid(rng(cfg.seed, streamID+100)),
		catalog:  buildCatalog(rng(cfg.seed, streamCatalog)),
	}
	// Size the fleet so that devices.ndjson lists it about once: measure
	// the first records, which depend on the fleet size only through the
	// page numbers they cite.
	g.fleet = 1000
	var sample []byte
	for i := range 200 {
		sample, _ = g.deviceRecord(nil, i, sample)
	}
	g.fleet = max(10, int(float64(cfg.size)*shareDevices*200/float64(len(sample))))

	size := float64(cfg.size)
	budgetPages := int64(size * sharePages)
	budgetAttach := int64(size * shareAttachments)
	budgetDevices := int64(size * shareDevices)
	budgetApps := int64(size * shareApps)
	budgetGaps := max(int64(size*shareGaps), 2<<10)
	budgetEvents := cfg.size - budgetPages - budgetAttach - budgetDevices - budgetApps - budgetGaps

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errs   []error
		sum    = &summary{acqID: cfg.acqID, stage: stage}
		gapsJS []json.RawMessage
	)
	add := func(files int, bytes, incompressible int64, f func(*counts)) {
		mu.Lock()
		defer mu.Unlock()
		sum.files += files
		sum.bytes += bytes
		sum.incompressible += incompressible
		if f != nil {
			f(&sum.counts)
		}
	}
	work := []func() error{
		func() error {
			files, bytes, pages, err := g.writePages(budgetPages)
			add(files, bytes, 0, func(c *counts) { c.Responses = pages })
			return err
		},
		func() error {
			files, bytes, err := g.writeAttachments(budgetAttach)
			add(files, bytes, bytes, nil)
			return err
		},
		func() error {
			n, bytes, err := g.writeNDJSON("records/devices.ndjson", budgetDevices, streamDevices, g.deviceRecord)
			add(1, bytes, 0, func(c *counts) { c.Devices = n })
			return err
		},
		func() error {
			n, bytes, err := g.writeNDJSON("records/apps.ndjson", budgetApps, streamApps, g.appRecords())
			add(1, bytes, 0, func(c *counts) { c.Apps = n })
			return err
		},
		func() error {
			n, bytes, err := g.writeNDJSON("records/events.ndjson", budgetEvents, streamEvents, g.eventRecord())
			add(1, bytes, 0, func(c *counts) { c.Events = n })
			return err
		},
		func() error {
			lines, bytes, err := g.writeGaps(budgetGaps)
			mu.Lock()
			gapsJS = lines
			mu.Unlock()
			add(1, bytes, 0, func(c *counts) { c.Gaps = len(lines) })
			return err
		},
	}
	for _, w := range work {
		wg.Go(func() {
			if err := w(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	n, err := g.writeAcquisition(cfg.acqID, caseID, sum.counts, gapsJS)
	if err != nil {
		return nil, err
	}
	sum.files++
	sum.bytes += n
	return sum, nil
}

// ensureCase returns the case id of dir, writing a minimal case.json (the
// shape preserve.OpenCase reads) when there is none yet.
func ensureCase(dir, id string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err == nil {
		var info struct {
			ID string `json:"case_id"`
		}
		if err := json.Unmarshal(data, &info); err != nil || !caseIDPattern.MatchString(info.ID) {
			return "", fmt.Errorf("%s: not a valid case.json", filepath.Join(dir, "case.json"))
		}
		return info.ID, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if !caseIDPattern.MatchString(id) {
		return "", fmt.Errorf("case id %q: use 1-64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit", id)
	}
	for _, sub := range []string{"staging", "evidence", "custody", "analysis", "reports"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return "", err
		}
	}
	info := map[string]any{
		"case_id":    id,
		"title":      "custos seal/verify benchmark (synthetic data from bench/gentree)",
		"created_at": baseTime.Add(-time.Hour),
		"examiner":   "bench@custos.invalid",
	}
	data, err = json.MarshalIndent(info, "", "  ")
	if err != nil {
		return "", err
	}
	return id, os.WriteFile(filepath.Join(dir, "case.json"), append(data, '\n'), 0o644)
}

// rng returns the PRNG of one stream.
func rng(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// logUniform draws from [lo, hi] with a log-uniform distribution.
func logUniform(r *rand.Rand, lo, hi int64) int64 {
	l, h := math.Log(float64(lo)), math.Log(float64(hi))
	return int64(math.Exp(l + r.Float64()*(h-l)))
}

// fileWriter counts bytes written through a large buffer.
type fileWriter struct {
	f *os.File
	w *bufio.Writer
	n int64
}

func create(stage, rel string) (*fileWriter, error) {
	f, err := os.Create(filepath.Join(stage, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	return &fileWriter{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (fw *fileWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	fw.n += int64(n)
	return n, err
}

func (fw *fileWriter) Close() error {
	return errors.Join(fw.w.Flush(), fw.f.Close())
}

// writeNDJSON writes lines produced by next until the file reaches budget
// bytes; next appends one or more complete lines and returns how many.
func (g *gen) writeNDJSON(rel string, budget int64, stream uint64, next func(r *rand.Rand, i int, b []byte) ([]byte, int)) (int, int64, error) {
	fw, err := create(g.stage, rel)
	if err != nil {
		return 0, 0, err
	}
	r := rng(g.seed, stream)
	var buf []byte
	lines := 0
	for i := 0; fw.n+int64(len(buf)) < budget; i++ {
		var n int
		buf, n = next(r, i, buf)
		lines += n
		if len(buf) >= 256<<10 {
			if _, err := fw.Write(buf); err != nil {
				fw.Close()
				return lines, fw.n, fmt.Errorf("writing %s: %w", rel, err)
			}
			buf = buf[:0]
		}
	}
	_, err = fw.Write(buf)
	if err := errors.Join(err, fw.Close()); err != nil {
		return lines, fw.n, fmt.Errorf("writing %s: %w", rel, err)
	}
	return lines, fw.n, nil
}

// writePages writes the managedDevices pages and the request log that
// describes them, the way the Intune source captures responses: the token
// request is seq 1 and not kept, pages follow as NNNNNN.json.
func (g *gen) writePages(budget int64) (files int, bytes int64, pages int, err error) {
	r := rng(g.seed, streamPages)
	reqlog, err := create(g.stage, "raw/intune/requests.ndjson")
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		if cerr := reqlog.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("writing requests.ndjson: %w", cerr)
		}
		files++
		bytes += reqlog.n
	}()
	t := g.base.Add(150 * time.Millisecond)
	w := &jw{}
	w.begin("")
	w.num("seq", 1)
	w.tm("started", t, time.RFC3339Nano)
	t = t.Add(time.Duration(180+r.IntN(400)) * time.Millisecond)
	w.tm("finished", t, time.RFC3339Nano)
	w.str("method", "POST")
	w.str("url", "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
	w.num("status", 200)
	w.begin("headers")
	w.str("client-request-id", guid(r))
	w.str("content-type", "application/json; charset=utf-8")
	w.tm("date", t, httpDate)
	w.end()
	w.num("bytes", int64(1500+r.IntN(200)))
	w.str("note", "body not kept")
	w.end()
	w.nl()
	if _, err := reqlog.Write(w.b); err != nil {
		return files, bytes, 0, err
	}

	const graph = "https://graph.microsoft.com/v1.0/deviceManagement/managedDevices"
	reqURL := graph + "?$top=999&$count=true"
	dev := 0
	page := &jw{}
	for seq := 2; bytes < budget; seq++ {
		target := logUniform(r, minPage, maxPage)
		if budget-bytes-target < minPage {
			target = budget - bytes // the last page takes the rest
		}
		page.b = page.b[:0]
		page.begin("")
		page.str("@odata.context", "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices")
		page.num("@odata.count", int64(g.fleet))
		page.beginArr("value")
		for n := 0; n == 0 || int64(len(page.b)) < target-400; n++ {
			g.graphDevice(page, dev%g.fleet)
			dev++
		}
		page.endArr()
		last := bytes+int64(len(page.b))+400 >= budget
		next := ""
		if !last {
			next = graph + "?$top=999&$skiptoken=" + randString(r, alnum, 120)
			page.str("@odata.nextLink", next)
		}
		page.end()

		name := fmt.Sprintf("%06d.json", seq)
		if err := os.WriteFile(filepath.Join(g.stage, "raw", "intune", name), page.b, 0o644); err != nil {
			return files, bytes, pages, err
		}
		files++
		pages++
		bytes += int64(len(page.b))
		sum := sha256.Sum256(page.b)

		started := t.Add(time.Duration(5+r.IntN(40)) * time.Millisecond)
		t = started.Add(time.Duration(300+r.IntN(1500)+len(page.b)/4096) * time.Millisecond)
		w.b = w.b[:0]
		w.begin("")
		w.num("seq", int64(seq))
		w.tm("started", started, time.RFC3339Nano)
		w.tm("finished", t, time.RFC3339Nano)
		w.str("method", "GET")
		w.str("url", reqURL)
		w.num("status", 200)
		w.begin("headers")
		w.str("client-request-id", guid(r))
		w.str("content-type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
		w.tm("date", t, httpDate)
		w.str("request-id", guid(r))
		w.end()
		w.num("bytes", int64(len(page.b)))
		w.str("sha256", hex.EncodeToString(sum[:]))
		w.str("file", name)
		w.end()
		w.nl()
		if _, err := reqlog.Write(w.b); err != nil {
			return files, bytes, pages, err
		}
		if last {
			break
		}
		reqURL = next
	}
	return files, bytes, pages, nil
}

// writeAttachments fills budget bytes with random data in files of 256 KiB
// to 16 MiB: the share of the acquisition that does not compress.
func (g *gen) writeAttachments(budget int64) (files int, bytes int64, err error) {
	r := rng(g.seed, streamAttachments)
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], g.seed)
	binary.LittleEndian.PutUint64(key[8:], streamAttachments)
	cc := rand.NewChaCha8(key)
	buf := make([]byte, 1<<20)
	for i := 1; bytes < budget; i++ {
		n := min(logUniform(r, minAttachment, maxAttachment), budget-bytes)
		fw, err := create(g.stage, fmt.Sprintf("raw/intune/attachments/%06d.bin", i))
		if err != nil {
			return files, bytes, err
		}
		for left := n; left > 0; {
			chunk := buf[:min(left, int64(len(buf)))]
			_, _ = cc.Read(chunk)
			if _, err := fw.Write(chunk); err != nil {
				fw.Close()
				return files, bytes, err
			}
			left -= int64(len(chunk))
		}
		if err := fw.Close(); err != nil {
			return files, bytes, err
		}
		files++
		bytes += n
	}
	return files, bytes, nil
}

// writeGaps writes records/gaps.ndjson (two source-wide gaps, then device
// gaps) and returns the lines for acquisition.json.
func (g *gen) writeGaps(budget int64) ([]json.RawMessage, int64, error) {
	var lines []json.RawMessage
	w := &jw{}
	r := rng(g.seed, streamGaps)
	for _, kind := range []string{"device_logs", "admin_audit"} {
		w.begin("")
		w.str("source", "intune")
		w.str("telemetry", kind)
		w.str("reason", "not_supported_by_source")
		w.str("detail", kind+" is not collected through Microsoft Graph (Intune)")
		w.end()
		w.nl()
	}
	for int64(len(w.b)) < budget {
		i := r.IntN(g.fleet)
		d := g.device(i)
		w.begin("")
		w.str("device_key", "intune:"+d.id)
		w.str("source", "intune")
		switch x := r.IntN(10); {
		case x < 6:
			w.str("telemetry", "device_state")
			w.str("reason", "stale")
			days := 15 + r.IntN(200)
			seen := g.base.Add(-time.Duration(days)*24*time.Hour - time.Duration(r.IntN(86400))*time.Second)
			w.str("detail", fmt.Sprintf("last check-in %s, %d days before collection: state and inventory are as of then", seen.Format(time.RFC3339), days))
		case x < 8:
			w.str("telemetry", "app_inventory")
			w.str("reason", "personal_device_scope")
			w.str("detail", "detectedApps lists managed apps only on personally owned devices")
		default:
			w.str("telemetry", "app_inventory")
			w.str("reason", "error")
			w.str("detail", fmt.Sprintf("listing detected apps: page 1: GET /beta/deviceManagement/managedDevices/%s/detectedApps: 503 Service Unavailable after 5 attempts (request-id %s)", d.id, guid(r)))
		}
		w.end()
		w.nl()
	}
	for line := range strings.Lines(string(w.b)) {
		lines = append(lines, json.RawMessage(strings.TrimSuffix(line, "\n")))
	}
	if err := os.WriteFile(filepath.Join(g.stage, "records", "gaps.ndjson"), w.b, 0o644); err != nil {
		return nil, 0, err
	}
	return lines, int64(len(w.b)), nil
}

// writeAcquisition writes provenance/acquisition.json last, as
// collect.Staging.Finish does; its presence makes the staging sealable.
func (g *gen) writeAcquisition(id, caseID string, c counts, gaps []json.RawMessage) (int64, error) {
	status := "complete"
	for _, gap := range gaps {
		if strings.Contains(string(gap), `"device_key"`) && !strings.Contains(string(gap), "not_supported_by_source") {
			status = "completed_with_gaps"
			break
		}
	}
	type tool struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		Build   string `json:"build"`
	}
	type source struct {
		Name        string   `json:"name"`
		API         string   `json:"api"`
		Endpoints   []string `json:"endpoints"`
		Tenant      string   `json:"tenant"`
		Principal   string   `json:"principal"`
		Permissions []string `json:"permissions"`
		Telemetry   []string `json:"telemetry"`
	}
	acq := struct {
		Version     int               `json:"v"`
		ID          string            `json:"acquisition_id"`
		CaseID      string            `json:"case_id"`
		Started     time.Time         `json:"collection_start_utc"`
		Finished    time.Time         `json:"collection_end_utc"`
		Operator    string            `json:"operator"`
		Host        string            `json:"host"`
		Tool        tool              `json:"tool"`
		CommandLine []string          `json:"command_line"`
		Sources     []source          `json:"sources"`
		Targets     []string          `json:"targets"`
		Counts      counts            `json:"counts"`
		Gaps        []json.RawMessage `json:"gaps"`
		Status      string            `json:"status"`
	}{
		Version:  1,
		ID:       id,
		CaseID:   caseID,
		Started:  g.base,
		Finished: g.base.Add(time.Duration(c.Responses)*1200*time.Millisecond + time.Duration(g.fleet)*40*time.Millisecond).Truncate(time.Millisecond),
		Operator: "bench",
		Host:     "bench-host",
		Tool:     tool{Name: "custos", Version: "0.1.0-dev", Build: "bench/gentree synthetic data"},
		CommandLine: []string{"custos", "collect", "--case", "CASE", "--source", "intune", "--tenant", "contoso.onmicrosoft.com",
			"--client-id", g.tenantID, "--client-secret-file", "REDACTED", "--all"},
		Sources: []source{{
			Name: "intune", API: "Microsoft Graph (Intune)",
			Endpoints: []string{"/v1.0/deviceManagement/managedDevices", "/beta/deviceManagement/managedDevices/{id}/detectedApps"},
			Tenant:    "contoso.onmicrosoft.com", Principal: g.tenantID,
			Permissions: []string{"DeviceManagementManagedDevices.Read.All"},
			Telemetry:   []string{"device_state", "app_inventory"},
		}},
		Targets: []string{"all"},
		Counts:  c,
		Gaps:    gaps,
		Status:  status,
	}
	data, err := json.MarshalIndent(acq, "", "  ")
	if err != nil {
		return 0, err
	}
	data = append(data, '\n')
	return int64(len(data)), os.WriteFile(filepath.Join(g.stage, "provenance", "acquisition.json"), data, 0o644)
}

// uuidV7 formats a UUIDv7 for t with random bits from r.
func uuidV7(t time.Time, r *rand.Rand) string {
	var u [16]byte
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	binary.BigEndian.PutUint64(u[8:], r.Uint64())
	binary.BigEndian.PutUint16(u[6:], uint16(r.Uint32()))
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func guid(r *rand.Rand) string {
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], r.Uint64())
	binary.BigEndian.PutUint64(u[8:], r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// httpDate is the layout of HTTP Date headers.
const httpDate = "Mon, 02 Jan 2006 15:04:05 GMT"

const (
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upperNo = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	digits  = "0123456789"
	hexdig  = "0123456789abcdef"
)

func randString(r *rand.Rand, set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// jw appends compact JSON. A comma is inserted before a key or array
// element unless it opens its object or array, which is all the state it
// needs. Strings must be valid UTF-8; quotes and backslashes are escaped.
type jw struct{ b []byte }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		switch w.b[n-1] {
		case '{', '[', ':', '\n':
		default:
			w.b = append(w.b, ',')
		}
	}
}

func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jw) quote(v string) {
	w.b = append(w.b, '"')
	if strings.ContainsAny(v, "\"\\") {
		v = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v)
	}
	w.b = append(w.b, v...)
	w.b = append(w.b, '"')
}

func (w *jw) str(k, v string) { w.key(k); w.quote(v) }
func (w *jw) num(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}
func (w *jw) boolean(k string, v bool) { w.key(k); w.b = strconv.AppendBool(w.b, v) }
func (w *jw) null(k string)            { w.key(k); w.b = append(w.b, "null"...) }
func (w *jw) tm(k string, t time.Time, layout string) {
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.UTC().AppendFormat(w.b, layout)
	w.b = append(w.b, '"')
}
func (w *jw) begin(k string) {
	if k != "" {
		w.key(k)
	} else {
		w.sep()
	}
	w.b = append(w.b, '{')
}
func (w *jw) end() { w.b = append(w.b, '}') }
func (w *jw) beginArr(k string) {
	w.key(k)
	w.b = append(w.b, '[')
}
func (w *jw) endArr() { w.b = append(w.b, ']') }
func (w *jw) nl()     { w.b = append(w.b, '\n') }
