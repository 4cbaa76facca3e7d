package playbooks

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/iocs"
)

// Analysis is findings.json (documented in docs/findings.md).
type Analysis struct {
	Version       int             `json:"v"`
	GeneratedAt   time.Time       `json:"generated_at"`
	Tool          string          `json:"tool"`
	AttackRelease string          `json:"attack_release"`
	Tactic        TacticRef       `json:"tactic"`
	Unverified    bool            `json:"unverified_evidence,omitempty"`
	Archives      []ArchiveRef    `json:"archives"`
	IOCBundles    []iocs.Bundle   `json:"ioc_bundles"`
	Playbooks     []PlaybookRef   `json:"playbooks"`
	Devices       []DeviceSummary `json:"devices"`
	Findings      []Finding       `json:"findings"`
	Coverage      []Coverage      `json:"coverage"`
	Gaps          []collect.Gap   `json:"gaps"`
	// EventsRead counts the events the event-scope playbooks read, and
	// EventsUnattributed those of devices no archive describes.
	EventsRead         int `json:"events_read"`
	EventsUnattributed int `json:"events_unattributed,omitempty"`
	EventsTooLarge     int `json:"events_too_large,omitempty"` // records over 4 MiB, skipped
	// Fleet counts the devices and findings.
	Fleet FleetSummary `json:"fleet"`
}

// FleetSummary is the analysis in numbers: devices by platform, ownership,
// source and coverage state; findings by severity and technique ("none"
// for those not tied to one); phones (records joined across sources
// counted once) with an execution finding.
type FleetSummary struct {
	Devices             int            `json:"devices"`
	Phones              int            `json:"phones"`
	ByPlatform          map[string]int `json:"by_platform"`
	ByOwnership         map[string]int `json:"by_ownership"`
	BySource            map[string]int `json:"by_source"`
	ByState             map[string]int `json:"by_state"`
	FindingsBySeverity  map[string]int `json:"findings_by_severity"`
	FindingsByTechnique map[string]int `json:"findings_by_technique"`
	PhonesWithExecution int            `json:"phones_with_execution_findings"`
}

// TacticRef names the tactic the analysis is keyed to.
type TacticRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ArchiveRef names an evidence archive the analysis read.
type ArchiveRef struct {
	Name             string   `json:"name"`
	SHA256           string   `json:"sha256"`
	AcquisitionID    string   `json:"acquisition_id"`
	Verified         bool     `json:"verified"`
	SignerKey        string   `json:"signer_fingerprint,omitempty"`
	SignerPrincipals []string `json:"signer_principals,omitempty"`
}

// PlaybookRef names a playbook that ran.
type PlaybookRef struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	File       string   `json:"file"`
	Techniques []string `json:"techniques"`
}

// DeviceSummary is one device in scope.
type DeviceSummary struct {
	Key        string `json:"key"`
	Name       string `json:"name"`
	Platform   string `json:"platform"`
	OSVersion  string `json:"os_version,omitempty"`
	Ownership  string `json:"ownership"`
	Compliance string `json:"compliance"`
	Source     string `json:"source"`
	User       string `json:"user,omitempty"`
	Serial     string `json:"serial,omitempty"`
	LastSeenAt string `json:"last_seen_at,omitempty"`
	Archive    string `json:"archive_sha256"`
	// State is the device's overall coverage: finding, observed_clear or
	// not_observable.
	State string `json:"state"`
	// SameDeviceAs lists the other records (of other sources) that share
	// this device's serial number or IMEI: the same phone.
	SameDeviceAs []string `json:"same_device_as,omitempty"`
}

// Finding is one playbook match.
type Finding struct {
	ID             string     `json:"id"`
	Playbook       string     `json:"playbook"`
	Title          string     `json:"title"`
	Tactic         string     `json:"tactic"`
	Techniques     []string   `json:"techniques"`
	Role           string     `json:"role"`
	Device         string     `json:"device"`
	DeviceName     string     `json:"device_name"`
	App            *AppRef    `json:"app,omitempty"`
	Severity       string     `json:"severity"`
	Confidence     string     `json:"confidence"`
	BaseConfidence string     `json:"base_confidence"`
	CorroboratedBy []string   `json:"corroborated_by"`
	ObservedFrom   *time.Time `json:"observed_from,omitempty"`
	ObservedTo     *time.Time `json:"observed_to,omitempty"`
	Facts          []Fact     `json:"facts"`
	Adjustments    []string   `json:"adjustments,omitempty"` // why severity or confidence changed
	Indicators     []IOCRef   `json:"indicators,omitempty"`
	// Observations are the matching events of an event-scope playbook
	// (the first MaxObservations; ObservationCount says how many).
	Observations     []Observation `json:"observations,omitempty"`
	ObservationCount int           `json:"observation_count,omitempty"`
	Rationale        string        `json:"rationale"`
	Evidence         []EvidenceRef `json:"evidence"`
	Response         Response      `json:"response"`
}

// MaxObservations is how many matching events a finding lists.
const MaxObservations = 50

// Observation is one event behind a finding: when, what it says, and
// where it is.
type Observation struct {
	Time     time.Time   `json:"time"`
	Type     string      `json:"type"`
	Severity string      `json:"severity"`
	Facts    []Fact      `json:"facts"`
	Evidence EvidenceRef `json:"evidence"`
}

// IOCRef is an indicator a finding matched, with its provenance.
type IOCRef struct {
	ID      string `json:"id"`
	Malware string `json:"malware"`
	Bundle  string `json:"bundle"`
	Key     string `json:"key"`
	Value   string `json:"value"`
}

// AppRef names the app a finding is about.
type AppRef struct {
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Publisher string `json:"publisher,omitempty"`
	AppID     string `json:"app_id,omitempty"`
}

// Fact is one observed value, stated before any interpretation.
type Fact struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// EvidenceRef points at the exact bytes behind a finding.
type EvidenceRef struct {
	Archive       string `json:"archive"`
	ArchiveSHA256 string `json:"archive_sha256"`
	Path          string `json:"path"` // inside the bag, e.g. data/raw/intune/000002.json
	FileSHA256    string `json:"file_sha256"`
	Pointer       string `json:"pointer"`
	Excerpt       string `json:"excerpt,omitempty"` // the JSON object at Pointer, verbatim
}

// Coverage is one cell of the device × technique matrix.
type Coverage struct {
	Device    string `json:"device"`
	Technique string `json:"technique"`
	State     string `json:"state"` // finding, observed_clear, not_observable
	Why       string `json:"why,omitempty"`
}

// Coverage states.
const (
	StateFinding       = "finding"
	StateObservedClear = "observed_clear"
	StateNotObservable = "not_observable"
)

// Input is the evidence an analysis reads.
type Input struct {
	Devices []collect.Device
	Apps    []collect.App
	Gaps    []collect.Gap
	// Origin maps a device key to the archive its records came from.
	Origin   map[string]ArchiveRef
	Archives []ArchiveRef
	// Events are analysed by Analyze; LoadEvidence streams them to an
	// Analyzer instead of holding them.
	Events []collect.Event
}

// Options configures an analysis.
type Options struct {
	IOCs *iocs.Set
	Now  time.Time
	Tool string
	// DeveloperGroups are device categories (Intune device category, AMAPI
	// policy) whose devices are developers' (fleet.Developer).
	DeveloperGroups []string
}

// Analyze runs every playbook over the input, its events included.
func Analyze(in Input, pbs []*Playbook, opts Options) (*Analysis, error) {
	an := NewAnalyzer(pbs, opts)
	devs := map[string]*collect.Device{}
	for i := range in.Devices {
		devs[in.Devices[i].Key] = &in.Devices[i]
	}
	for _, e := range in.Events {
		if err := an.Event(in.Origin[e.DeviceKey], devs[e.DeviceKey], e); err != nil {
			return nil, err
		}
	}
	return an.Finish(in)
}

// Analyzer runs the playbooks: event-scope ones on each event as it is
// read (Event), the others on the devices and apps at the end (Finish).
// Events are not kept, only the findings they give.
type Analyzer struct {
	pbs       []*Playbook
	opts      Options
	byType    map[string][]*Playbook
	fleet     *Fleet
	history   *history
	findings  map[string]*Finding // event-scope findings by playbook and device
	order     []string
	listed    []listedFinding // device- and app-scope findings
	eval      *evaluation     // what app and device expressions run in (rec's)
	rec       *recordEvaluator
	eventEval *evaluation // what event expressions run in
	read      int
	orphans   int
	tooLarge  int
}

// EventTooLarge counts an event record skipped for its size
// (LoadOptions.EventTooLarge).
func (an *Analyzer) EventTooLarge() { an.tooLarge++ }

// NewAnalyzer prepares an analysis with pbs.
func NewAnalyzer(pbs []*Playbook, opts Options) *Analyzer {
	an := &Analyzer{pbs: pbs, opts: opts, byType: map[string][]*Playbook{}, findings: map[string]*Finding{}, fleet: NewFleet()}
	an.fleet.developer = opts.DeveloperGroups
	an.history = newHistory(pbs)
	an.rec = an.newRecordEvaluator()
	an.eval = an.rec.ev
	// Events are read while apps are still being counted: what an event
	// sees of the fleet is the declared groups, never a partial count.
	eventFleet := NewFleet()
	eventFleet.developer = opts.DeveloperGroups
	an.eventEval = newEvaluation(opts.IOCs, an.now(), eventFleet, an.history)
	for _, p := range pbs {
		for _, t := range p.EventTypes {
			an.byType[t] = append(an.byType[t], p)
		}
	}
	return an
}

// Reads reports whether the analysis reads the fields of events of a type
// (LoadOptions.EventTypes): a playbook reads the type, or remembers it
// for a later one (earlier). Safe for concurrent use.
func (an *Analyzer) Reads(eventType string) bool {
	return len(an.byType[eventType]) > 0 || len(an.history.remember[eventType]) > 0
}

// Event runs the event-scope playbooks that read e's type. d is the
// device e belongs to, nil if no archive describes it (the event is then
// counted, not analysed).
func (an *Analyzer) Event(origin ArchiveRef, d *collect.Device, e collect.Event) error {
	pbs := an.byType[e.Type]
	if d != nil {
		defer an.history.recall(e) // after this event's own playbooks: "earlier" means before it
	}
	if len(pbs) == 0 {
		return nil
	}
	an.read++
	if d == nil {
		an.orphans++
		return nil
	}
	ev := an.eventEval.record(d, nil, &e)
	for _, p := range pbs {
		if !p.Applies(d) {
			continue
		}
		env := ev.next()
		ok, err := p.Eval(env)
		if err != nil {
			return fmt.Errorf("event %s of %s: %w", e.Type, d.Key, err)
		}
		if !ok {
			continue
		}
		key := p.ID + "\x00" + d.Key
		f := an.findings[key]
		if f == nil {
			nf := newFinding(p, env, origin)
			nf.ObservedFrom, nf.ObservedTo = nil, nil
			nf.Severity, nf.Confidence, nf.BaseConfidence = "", "", "" // set by the events' adjusted levels
			f = &nf
			an.findings[key] = f
			an.order = append(an.order, key)
		}
		sev, conf, why := p.Adjusted(env)
		f.raise(sev, conf, why)
		t := e.Time
		if f.ObservedFrom == nil || t.Before(*f.ObservedFrom) {
			f.ObservedFrom = &t
		}
		if f.ObservedTo == nil || t.After(*f.ObservedTo) {
			t2 := t
			f.ObservedTo = &t2
		}
		f.ObservationCount++
		if len(f.Observations) < MaxObservations {
			f.Observations = append(f.Observations, Observation{Time: e.Time, Type: e.Type, Severity: sev, Facts: p.FactValues(env), Evidence: evidence(origin, e.Raw)})
		}
		f.addIndicators(ev.hits) // the facts may have matched more

	}
	return nil
}

// CountApp counts an app record in the fleet's prevalence. Every app
// record of the analysis is counted before the first App call.
func (an *Analyzer) CountApp(a collect.App) { an.fleet.CountApp(a) }

// App runs the app-scope playbooks on a, an app of device d from origin.
// d is read by address: a precondition that reads only the device is
// evaluated once for the apps of one device record, so a caller passes
// each device record at its own address (as LoadEvidence does).
func (an *Analyzer) App(origin ArchiveRef, d *collect.Device, a *collect.App) error {
	found, err := an.rec.app(origin, d, a, nil)
	an.list(found)
	return err
}

// list lists findings of device- and app-scope playbooks, in the order
// their records came.
func (an *Analyzer) list(found []listedFinding) {
	for _, l := range found {
		l.seq = len(an.listed)
		an.listed = append(an.listed, l)
	}
}

// A recordEvaluator runs device- and app-scope playbooks on one
// goroutine: an analysis evaluates the apps of an archive on every core,
// each with its own.
type recordEvaluator struct {
	pbs []*Playbook
	ev  *evaluation
	pre []devicePrecondition // per playbook
	rec collect.App          // the app record being evaluated, for evalApps
}

func (an *Analyzer) newRecordEvaluator() *recordEvaluator {
	return &recordEvaluator{pbs: an.pbs, ev: newEvaluation(an.opts.IOCs, an.now(), an.fleet, an.history), pre: make([]devicePrecondition, len(an.pbs))}
}

// app appends the findings of the app-scope playbooks on a to found.
func (r *recordEvaluator) app(origin ArchiveRef, d *collect.Device, a *collect.App, found []listedFinding) ([]listedFinding, error) {
	r.ev.record(d, a, nil)
	for i, p := range r.pbs {
		if p.Scope != "app" || !p.Applies(d) {
			continue
		}
		var err error
		if found, err = r.evaluate(i, origin, found); err != nil {
			return found, fmt.Errorf("app %s of %s: %w", a.AppID, d.Key, err)
		}
	}
	return found, nil
}

// evalApps decodes an apps file of origin and runs the app-scope
// playbooks on its records, both on every core; the findings are listed
// in record order, as App lists them. byKey holds the archive's devices.
// Every app record has been counted (the fleet is read, not written).
func (an *Analyzer) evalApps(r io.Reader, origin ArchiveRef, byKey map[string]*collect.Device) error {
	an.fleet.settle()
	type evaluated struct{ found []listedFinding }
	return decodeLines(r, func(line []byte, recs []evaluated, in *interner) ([]evaluated, error) {
		if in.rec == nil {
			in.rec = an.newRecordEvaluator()
		}
		w := in.rec
		if err := decodeApp(line, &w.rec, in); err != nil {
			return recs, err
		}
		d := byKey[w.rec.DeviceKey]
		if d == nil {
			return append(recs, evaluated{}), nil // counted, not analysed
		}
		found, err := w.app(origin, d, &w.rec, nil)
		return append(recs, evaluated{found}), err
	}, func(_ int, e *evaluated) error {
		an.list(e.found)
		return nil
	}, tooLongRecord)
}

// devicePrecondition is the last device a playbook's device-only
// precondition was evaluated on, and its value: the apps of a device come
// together, and the precondition is the same for all of them.
type devicePrecondition struct {
	device *collect.Device
	key    string
	ok     bool
}

// listedFinding is a device- or app-scope finding and where it sorts: by
// device, then playbook, then the order the records came in.
type listedFinding struct {
	pb, seq int
	f       Finding
}

// evaluate runs playbook number i on the records set in r.ev, and appends
// its finding to found if it matches.
func (r *recordEvaluator) evaluate(i int, origin ArchiveRef, found []listedFinding) ([]listedFinding, error) {
	p := r.pbs[i]
	env := r.ev.next()
	var ok bool
	var err error
	if c := &r.pre[i]; p.preDevice && c.device == env.env.Device && c.key == env.env.Device.Key {
		ok = c.ok
	} else if ok, err = p.precondition(env); err == nil && p.preDevice {
		*c = devicePrecondition{env.env.Device, env.env.Device.Key, ok}
	}
	if err != nil || !ok {
		return found, err
	}
	if ok, err = p.matches(env); err != nil || !ok {
		return found, err
	}
	f := newFinding(p, env, origin)
	sev, conf, why := p.Adjusted(env)
	f.Severity, f.Confidence, f.BaseConfidence = sev, conf, conf
	f.Adjustments = why
	f.addIndicators(env.hits)
	return append(found, listedFinding{pb: i, f: f}), nil
}

// now is the analysis time.
func (an *Analyzer) now() time.Time {
	if an.opts.Now.IsZero() {
		an.opts.Now = time.Now()
	}
	return an.opts.Now
}

// raise takes the higher severity and confidence, and the reasons.
func (f *Finding) raise(sev, conf string, why []string) {
	if slices.Index(Severities, sev) > slices.Index(Severities, f.Severity) {
		f.Severity = sev
	}
	if slices.Index(Confidences, conf) > slices.Index(Confidences, f.BaseConfidence) {
		f.BaseConfidence, f.Confidence = conf, conf
	}
	for _, w := range why {
		if !slices.Contains(f.Adjustments, w) {
			f.Adjustments = append(f.Adjustments, w)
		}
	}
}

func (f *Finding) addIndicators(hits []*iocs.Indicator) {
	for _, h := range hits {
		r := IOCRef{ID: h.ID, Malware: h.Malware, Bundle: h.Bundle, Key: h.Key, Value: h.Value}
		if !slices.Contains(f.Indicators, r) {
			f.Indicators = append(f.Indicators, r)
		}
	}
}

// Finish runs the device- and app-scope playbooks over in and returns the
// analysis with the event findings.
func (an *Analyzer) Finish(in Input) (*Analysis, error) {
	pbs, now := an.pbs, an.now()
	a := &Analysis{
		Version: 1, GeneratedAt: now.UTC().Truncate(time.Second), Tool: an.opts.Tool,
		AttackRelease: AttackRelease(), Tactic: TacticRef{TacticID, TacticName},
		Archives: append([]ArchiveRef{}, in.Archives...), Gaps: append([]collect.Gap{}, in.Gaps...), IOCBundles: []iocs.Bundle{},
		Playbooks: []PlaybookRef{}, Devices: []DeviceSummary{}, Findings: []Finding{}, Coverage: []Coverage{},
		EventsRead: an.read, EventsUnattributed: an.orphans, EventsTooLarge: an.tooLarge,
	}
	if an.opts.IOCs != nil {
		a.IOCBundles = append(a.IOCBundles, an.opts.IOCs.Bundles...)
	}
	for _, p := range pbs {
		a.Playbooks = append(a.Playbooks, PlaybookRef{ID: p.ID, Title: p.Title, File: p.File, Techniques: p.Techniques})
	}
	// Apps handed over in the input are counted, then evaluated, as a
	// caller streaming them would.
	devByKey := make(map[string]*collect.Device, len(in.Devices))
	for i := range in.Devices {
		devByKey[in.Devices[i].Key] = &in.Devices[i]
	}
	for _, a := range in.Apps {
		an.CountApp(a)
	}
	for i := range in.Apps {
		if d := devByKey[in.Apps[i].DeviceKey]; d != nil {
			if err := an.App(in.Origin[d.Key], d, &in.Apps[i]); err != nil {
				return nil, err
			}
		}
	}
	devices := slices.Clone(in.Devices)
	sort.Slice(devices, func(i, j int) bool { return devices[i].Key < devices[j].Key })
	for k := range devices {
		d := &devices[k]
		an.rec.ev.record(d, nil, nil)
		var found []listedFinding
		for i, p := range pbs {
			if p.Scope != "device" || !p.Applies(d) {
				continue
			}
			var err error
			if found, err = an.rec.evaluate(i, in.Origin[d.Key], found); err != nil {
				return nil, fmt.Errorf("device %s: %w", d.Key, err)
			}
		}
		an.list(found)
	}
	slices.SortStableFunc(an.listed, func(x, y listedFinding) int {
		return cmp.Or(strings.Compare(x.f.Device, y.f.Device), cmp.Compare(x.pb, y.pb), cmp.Compare(x.seq, y.seq))
	})
	for _, l := range an.listed {
		a.Findings = append(a.Findings, l.f)
	}
	an.listed = nil
	digest := map[string]string{}
	for _, ar := range in.Archives {
		digest[ar.Name] = ar.SHA256
	}
	for _, k := range an.order {
		f := *an.findings[k]
		// Streamed events knew their archive by name only.
		for i := range f.Evidence {
			f.Evidence[i].ArchiveSHA256 = cmp.Or(f.Evidence[i].ArchiveSHA256, digest[f.Evidence[i].Archive])
		}
		for i := range f.Observations {
			ev := &f.Observations[i].Evidence
			ev.ArchiveSHA256 = cmp.Or(ev.ArchiveSHA256, digest[ev.Archive])
		}
		a.Findings = append(a.Findings, f)
	}
	sort.SliceStable(a.Findings, func(i, j int) bool { return a.Findings[i].Device < a.Findings[j].Device })
	group := physical(devices)
	corroborate(a.Findings, group)
	if cov, sums := coverage(devices, in, pbs, a.Findings); len(sums) > 0 {
		a.Coverage, a.Devices = cov, sums
	}
	members := map[string][]string{}
	for _, d := range devices {
		members[group[d.Key]] = append(members[group[d.Key]], d.Key)
	}
	a.Fleet = summarise(a, group, len(members))
	for i := range a.Devices {
		for _, k := range members[group[a.Devices[i].Key]] {
			if k != a.Devices[i].Key {
				a.Devices[i].SameDeviceAs = append(a.Devices[i].SameDeviceAs, k)
			}
		}
	}
	return a, nil
}

func newFinding(p *Playbook, ev *evaluation, origin ArchiveRef) Finding {
	env := &ev.env
	d := env.Device
	f := Finding{
		Playbook: p.ID, Title: p.Title, Tactic: p.Tactic, Techniques: p.Techniques, Role: p.Role,
		Device: d.Key, DeviceName: d.Name, Severity: p.Severity, Confidence: p.Confidence, BaseConfidence: p.Confidence,
		CorroboratedBy: []string{}, Facts: p.FactValues(ev), Rationale: strings.TrimSpace(p.Rationale), Response: p.Response,
	}
	idSrc := p.ID + "\x00" + d.Key
	f.Evidence = append(f.Evidence, evidence(origin, d.Raw))
	if env.App != nil {
		f.App = &AppRef{Name: env.App.Name, Version: env.App.Version, Publisher: env.App.Publisher, AppID: env.App.AppID}
		f.Evidence = append(f.Evidence, evidence(origin, env.App.Raw))
		idSrc += "\x00" + AppKey(*env.App) + "\x00" + env.App.Version
	}
	if env.Event != nil {
		// One finding per playbook and device: the events are its
		// observations, and the device's facts are stated once.
		f.Facts = []Fact{{Label: "Device", Value: d.Name + " (" + d.Platform + " " + d.OSVersion + ", " + d.Model + ")"}}
	}
	if d.LastSeenAt != nil {
		t := *d.LastSeenAt
		f.ObservedFrom, f.ObservedTo = &t, &t
	}
	sum := sha256.Sum256([]byte(idSrc))
	f.ID = "F-" + hex.EncodeToString(sum[:6])
	return f
}

func evidence(origin ArchiveRef, raw collect.RawRef) EvidenceRef {
	return EvidenceRef{
		Archive: origin.Name, ArchiveSHA256: origin.SHA256,
		Path: "data/" + raw.Path, FileSHA256: raw.SHA256, Pointer: raw.Pointer,
	}
}

// summarise counts the analysis's devices and findings.
func summarise(a *Analysis, group map[string]string, phones int) FleetSummary {
	fs := FleetSummary{Devices: len(a.Devices), Phones: phones, ByPlatform: map[string]int{}, ByOwnership: map[string]int{},
		BySource: map[string]int{}, ByState: map[string]int{}, FindingsBySeverity: map[string]int{}, FindingsByTechnique: map[string]int{}}
	for _, d := range a.Devices {
		fs.ByPlatform[cmp.Or(d.Platform, "unknown")]++
		fs.ByOwnership[cmp.Or(d.Ownership, "unknown")]++
		fs.BySource[d.Source]++
		fs.ByState[d.State]++
	}
	executed := map[string]bool{}
	for _, f := range a.Findings {
		fs.FindingsBySeverity[f.Severity]++
		if len(f.Techniques) == 0 {
			fs.FindingsByTechnique["none"]++
		}
		for _, t := range f.Techniques {
			fs.FindingsByTechnique[t]++
		}
		if f.Role == "execution" {
			executed[cmp.Or(group[f.Device], f.Device)] = true
		}
	}
	fs.PhonesWithExecution = len(executed)
	return fs
}

// physical groups the device records that describe one phone, as several
// sources see it: records sharing a serial number or an IMEI (either
// suffices; placeholders such as "unknown" or all zeros are ignored). It
// maps each device key to its group's smallest key.
func physical(devices []collect.Device) map[string]string {
	parent := map[string]string{}
	find := func(k string) string {
		for parent[k] != k {
			parent[k] = parent[parent[k]]
			k = parent[k]
		}
		return k
	}
	union := func(a, b string) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if rb < ra {
			ra, rb = rb, ra
		}
		parent[rb] = ra
	}
	owner := map[string]string{} // "serial:X" / "imei:Y" -> first device key
	for _, d := range devices {
		parent[d.Key] = d.Key
	}
	for _, d := range devices {
		for _, id := range identifiers(d) {
			if o, ok := owner[id]; ok {
				union(o, d.Key)
			} else {
				owner[id] = d.Key
			}
		}
	}
	out := make(map[string]string, len(devices))
	for _, d := range devices {
		out[d.Key] = find(d.Key)
	}
	return out
}

// placeholderSerials are serial numbers that many unrelated devices
// report (unprovisioned boards, emulators, privacy-restricted APIs).
var placeholderSerials = map[string]bool{
	"UNKNOWN": true, "NULL": true, "NONE": true, "N/A": true, "DEFAULT": true, "SERIAL": true,
	"0123456789ABCDEF": true, "0123456789": true, "123456789ABCDEF": true, "ABCDEF0123456789": true,
	"EMULATOR": true, "EMULATOR5554": true, "1234567890": true, "123456789": true,
}

// identifiers are the hardware identifiers of d that tie records of
// different sources together.
func identifiers(d collect.Device) []string {
	var out []string
	serial := strings.ToUpper(strings.TrimSpace(d.Serial))
	if len(serial) >= 4 && strings.Trim(serial, serial[:1]) != "" && !placeholderSerials[serial] {
		out = append(out, "serial:"+serial)
	}
	imei := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, d.IMEI)
	if len(imei) >= 14 && strings.Trim(imei, "0") != "" {
		out = append(out, "imei:"+imei[:14]) // the check digit may be left out
	}
	return out
}

// corroborate links findings on the same device (the same phone through
// any source, as physical groups them): each lists the others,
// and a finding backed by another playbook's finding gains one confidence
// level (a single weak signal stays a lead).
func corroborate(fs []Finding, group map[string]string) {
	byDevice := map[string][]int{}
	for i, f := range fs {
		g := cmp.Or(group[f.Device], f.Device)
		byDevice[g] = append(byDevice[g], i)
	}
	for _, idx := range byDevice {
		for _, i := range idx {
			for _, j := range idx {
				if i != j && fs[i].Playbook != fs[j].Playbook {
					fs[i].CorroboratedBy = append(fs[i].CorroboratedBy, fs[j].ID)
				}
			}
			if len(fs[i].CorroboratedBy) > 0 {
				fs[i].Confidence = raise(fs[i].Confidence)
			}
		}
	}
}

func raise(c string) string {
	i := slices.Index(Confidences, c)
	return Confidences[min(i+1, len(Confidences)-1)]
}

// blind says why MDM telemetry cannot show a technique no playbook covers.
var blind = map[string]string{
	"T1575": "no management source reports native API or JNI calls; it takes on-device instrumentation or a full acquisition",
	"T1603": "no management source reports scheduled jobs (JobScheduler, WorkManager, AlarmManager, launchd); it takes an on-device acquisition",
}

// unobservable is the reason a technique no playbook covers on a device's
// platform is not observable there.
func unobservable(technique, platform string) string {
	if why, ok := blind[technique]; ok {
		return why
	}
	return "no playbook observes this technique on " + cmp.Or(platform, "this platform") + " with the telemetry collected"
}

// coverage builds the device × technique matrix. A technique is
// not_observable on a device when a telemetry kind its playbooks require
// has a gap there (or source-wide), or when no playbook covers it.
func coverage(devices []collect.Device, in Input, pbs []*Playbook, findings []Finding) ([]Coverage, []DeviceSummary) {
	gapsOf := map[string][]collect.Gap{}
	var sourceGaps []collect.Gap
	for _, g := range in.Gaps {
		if g.DeviceKey == "" {
			sourceGaps = append(sourceGaps, g)
		} else {
			gapsOf[g.DeviceKey] = append(gapsOf[g.DeviceKey], g)
		}
	}
	found := map[[2]string]bool{}
	withFinding := map[string]bool{}
	for _, f := range findings {
		withFinding[f.Device] = true
		for _, t := range f.Techniques {
			found[[2]string{f.Device, t}] = true
		}
	}
	var cov []Coverage
	var sums []DeviceSummary
	for _, d := range devices {
		state := StateObservedClear
		gaps := append(slices.Clone(gapsOf[d.Key]), sourceGaps...)
		for _, t := range Techniques() {
			c := Coverage{Device: d.Key, Technique: t.ID}
			var req []string
			var covered bool
			for _, p := range pbs {
				if slices.Contains(p.Techniques, t.ID) && p.Applies(&d) {
					covered = true
					req = append(req, p.Requires...)
				}
			}
			switch {
			case found[[2]string{d.Key, t.ID}]:
				c.State = StateFinding
			case !covered:
				c.State, c.Why = StateNotObservable, unobservable(t.ID, d.Platform)
			default:
				c.State = StateObservedClear
				for _, g := range gaps {
					if g.Source == d.Source && slices.Contains(req, g.Telemetry) {
						c.State, c.Why = StateNotObservable, g.Telemetry+": "+g.Reason
						break
					}
				}
			}
			cov = append(cov, c)
		}
		for _, g := range gapsOf[d.Key] {
			if g.Failure() {
				state = StateNotObservable
			}
		}
		if withFinding[d.Key] {
			state = StateFinding
		}
		s := DeviceSummary{Key: d.Key, Name: d.Name, Platform: d.Platform, OSVersion: d.OSVersion,
			Ownership: d.Ownership, Compliance: d.Compliance, Source: d.Source, User: d.User, Serial: d.Serial,
			Archive: in.Origin[d.Key].SHA256, State: state}
		if d.LastSeenAt != nil {
			s.LastSeenAt = d.LastSeenAt.UTC().Format(time.RFC3339)
		}
		sums = append(sums, s)
	}
	return cov, sums
}
