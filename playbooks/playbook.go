package playbooks

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/iocs"
)

//go:embed defs/*.yaml
var builtin embed.FS

// Playbook is one detection (the YAML schema is documented in
// docs/playbooks.md).
type Playbook struct {
	ID           string     `yaml:"id"`
	Title        string     `yaml:"title"`
	Tactic       string     `yaml:"tactic"`
	Techniques   []string   `yaml:"techniques"`
	Role         string     `yaml:"role"` // execution: evidence of execution; context: corroborating context
	Severity     string     `yaml:"severity"`
	Confidence   string     `yaml:"confidence"`
	Platforms    []string   `yaml:"platforms"`
	Scope        string     `yaml:"scope"`       // device, app or event
	EventTypes   []string   `yaml:"event_types"` // for scope event: the event types it reads
	Earlier      []string   `yaml:"earlier"`     // TYPE.FIELD of earlier events on the device it reads through Earlier
	Requires     []string   `yaml:"requires"`
	Precondition string     `yaml:"precondition"`
	Match        string     `yaml:"match"`
	Facts        []FactSpec `yaml:"facts"`
	Adjust       []Adjust   `yaml:"adjust"`
	Rationale    string     `yaml:"rationale"`
	Response     Response   `yaml:"response"`
	References   []string   `yaml:"references"`
	Tests        []Test     `yaml:"tests"`

	File string `yaml:"-"`

	pre, match *vm.Program
	preDevice  bool // the precondition reads the device only
	facts      []*vm.Program
	adjust     []*vm.Program
}

// Adjust changes a match's severity or confidence when its condition
// holds: a sensitive command raises it, a declared developer device
// lowers it. Adjustments apply in order; each that holds is stated in the
// finding with its reason.
type Adjust struct {
	When       string `yaml:"when"`
	Severity   string `yaml:"severity"`
	Confidence string `yaml:"confidence"`
	Why        string `yaml:"why"`
}

// FactSpec is one labelled fact a finding states, as an expression.
type FactSpec struct {
	Label string `yaml:"label" json:"label"`
	Expr  string `yaml:"expr" json:"-"`
}

// Response is the playbook's response plan.
type Response struct {
	Triage    []string `yaml:"triage" json:"triage,omitempty"`
	Preserve  []string `yaml:"preserve" json:"preserve,omitempty"`
	Isolate   []string `yaml:"isolate" json:"isolate,omitempty"`
	Remediate []string `yaml:"remediate" json:"remediate,omitempty"`
}

// Test is an inline playbook test case.
type Test struct {
	Name   string `yaml:"name"`
	Expect string `yaml:"expect"` // match or no_match
	// Severity, when set, is the severity a match must have after the
	// adjustments.
	Severity string         `yaml:"severity"`
	Device   map[string]any `yaml:"device"`
	App      map[string]any `yaml:"app"`
	Event    map[string]any `yaml:"event"`
	IOCs     []TestIOC      `yaml:"iocs"`
	// Now is the analysis time of the test (default 2026-01-01).
	Now time.Time `yaml:"now"`
	// Earlier lists earlier events on the device: {type, fields}.
	Earlier []map[string]any `yaml:"earlier"`
	Fleet   struct {
		Devices         int      `yaml:"devices"`
		AppDevices      int      `yaml:"app_devices"`
		DeveloperGroups []string `yaml:"developer_groups"`
	} `yaml:"fleet"`
}

// TestIOC is an indicator a playbook test matches against.
type TestIOC struct {
	Key     string `yaml:"key"`
	Value   string `yaml:"value"`
	Malware string `yaml:"malware"`
}

// Levels, lowest first.
var (
	Severities   = []string{"info", "low", "medium", "high", "critical"}
	Confidences  = []string{"low", "medium", "high"}
	telemetries  = []string{collect.TelemetryDeviceState, collect.TelemetryAppInventory, collect.TelemetryDeviceLogs, collect.TelemetryAdminAudit}
	idPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,63}$`)
	maxPlaybook  = 256 << 10
	maxPlaybooks = 1000
)

// Env is what expressions see: device, app (for app-scope playbooks),
// event (for event-scope playbooks) and fleet, and the functions IOC,
// IOCs, Earlier and DaysSince. Fields of Device, App and Event are
// referenced by their Go names (device.Compromised.Value, app.Name,
// event.Type); an event's fields through event.Str("shell_cmd") and
// event.Num("uid").
//
// The functions are fields bound to the evaluation they belong to (one
// per goroutine), with signatures expr calls directly: an analysis runs
// millions of expressions, and calls through reflection were a quarter
// of its time.
type Env struct {
	Device *collect.Device `expr:"device"`
	App    *collect.App    `expr:"app"`
	Event  *EventView      `expr:"event"`
	Fleet  *FleetView      `expr:"fleet"`

	// IOC reports whether value matches an indicator of kind key
	// (app:id, file:hashes.sha256, domain-name:value, …), and remembers
	// the match for the finding.
	IOC func(key, value any) bool `expr:"IOC"`
	// IOCs describes the indicators value matches, for facts: "NoviSpy
	// (indicator--…, bundle.stix2)"; empty when none.
	IOCs func(key, value any) string `expr:"IOCs"`
	// Earlier returns the values of field of the earlier events of type
	// eventType on the same device (the most recent 64), for playbooks
	// that declare TYPE.FIELD in earlier: an install of a file pushed
	// before.
	Earlier func(eventType, field string) []string `expr:"Earlier"`
	// DaysSince is the number of whole days from date (RFC 3339, or
	// YYYY-MM-DD as security patch levels are written) to the analysis
	// time; -1 when date is empty or not a date.
	DaysSince func(date string) int `expr:"DaysSince"`
}

// evaluation is what one goroutine's expressions run in: the indicators,
// the analysis time, the earlier events, what IOC matched, and the Env
// whose functions are bound to it.
type evaluation struct {
	env     Env
	iocs    *iocs.Set
	now     time.Time
	history *history
	device  string // the device whose earlier events Earlier reads
	hits    []*iocs.Indicator
	view    EventView
	boxed   any   // &env, as the VM takes it
	vm      vm.VM // reused: a VM's stack is allocated once
}

func newEvaluation(set *iocs.Set, now time.Time, fleet *Fleet, h *history) *evaluation {
	ev := &evaluation{iocs: set, now: now, history: h}
	ev.env = Env{Fleet: fleet.view(), IOC: ev.ioc, IOCs: ev.describe, Earlier: ev.earlier, DaysSince: ev.daysSince}
	ev.view.bind()
	ev.boxed = &ev.env
	return ev
}

// record sets the records the next expressions see; e is copied.
func (ev *evaluation) record(d *collect.Device, app *collect.App, e *collect.Event) *evaluation {
	ev.env.Device, ev.env.App, ev.env.Event = d, app, nil
	if e != nil {
		ev.view.Event = *e
		ev.env.Event = &ev.view
	}
	ev.device = d.Key
	ev.hits = ev.hits[:0]
	return ev
}

// run runs an expression on the records set.
func (ev *evaluation) run(prog *vm.Program) (any, error) { return ev.vm.Run(prog, ev.boxed) }

// next prepares the evaluation of another playbook on the same records.
func (ev *evaluation) next() *evaluation {
	ev.hits = ev.hits[:0]
	return ev
}

func (ev *evaluation) daysSince(date string) int {
	t, err := time.Parse(time.RFC3339, date)
	if err != nil {
		if t, err = time.Parse(time.DateOnly, date); err != nil {
			return -1
		}
	}
	if ev.now.IsZero() {
		return -1
	}
	return int(ev.now.Sub(t).Hours() / 24)
}

func (ev *evaluation) earlier(eventType, field string) []string {
	if ev.history == nil || ev.env.Event == nil {
		return nil // earlier events are an event's context only
	}
	return ev.history.values[ev.device][eventType+"."+field]
}

func (ev *evaluation) ioc(key, value any) bool { return len(ev.match(key, value)) > 0 }

// match returns the indicators value matches and remembers them.
// A key or value that is not a string matches nothing.
func (ev *evaluation) match(key, value any) []*iocs.Indicator {
	k, _ := key.(string)
	v, _ := value.(string)
	hits := ev.iocs.Match(k, v)
	for _, h := range hits {
		if !slices.Contains(ev.hits, h) {
			ev.hits = append(ev.hits, h)
		}
	}
	return hits
}

func (ev *evaluation) describe(key, value any) string {
	var out []string
	for _, h := range ev.match(key, value) {
		out = append(out, fmt.Sprintf("%s (%s, %s)", cmp.Or(h.Malware, "unnamed malware"), h.ID, h.Bundle))
	}
	return strings.Join(out, "; ")
}

// EventView is an event as expressions see it, with functions that read
// its fields.
type EventView struct {
	collect.Event
	// Str is the field name as a string ("" when absent or not a string).
	Str func(name string) string
	// Num is the field name as a number (0 when absent or not a number).
	Num func(name string) float64
	// Strs is the field name as a list of strings (an array's string
	// elements; a string alone; nil otherwise).
	Strs func(name string) []string
	// Has reports whether the event has the field.
	Has func(name string) bool
}

// bind points v's functions at v.
func (v *EventView) bind() {
	v.Str = func(name string) string {
		s, _ := v.Fields[name].(string)
		return s
	}
	v.Num = func(name string) float64 {
		f, _ := v.Fields[name].(float64)
		return f
	}
	v.Strs = func(name string) []string {
		switch x := v.Fields[name].(type) {
		case string:
			return []string{x}
		case []any:
			var out []string
			for _, e := range x {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
		return nil
	}
	v.Has = func(name string) bool {
		_, ok := v.Fields[name]
		return ok
	}
}

// LoadBuiltin loads the embedded library.
func LoadBuiltin() ([]*Playbook, error) {
	return loadFS(builtin, "defs", "builtin:")
}

// Load returns the embedded library with the playbooks of dir added; a
// playbook in dir with the id of a built-in one replaces it.
func Load(dir string) ([]*Playbook, error) {
	pbs, err := LoadBuiltin()
	if err != nil {
		return nil, fmt.Errorf("built-in playbooks: %w", err)
	}
	if dir == "" {
		return pbs, nil
	}
	user, err := LoadDir(dir)
	if err != nil {
		return nil, err
	}
	byID := map[string]int{}
	for i, p := range pbs {
		byID[p.ID] = i
	}
	for _, p := range user {
		if i, ok := byID[p.ID]; ok {
			pbs[i] = p
		} else {
			pbs = append(pbs, p)
		}
	}
	sort.Slice(pbs, func(i, j int) bool { return pbs[i].ID < pbs[j].ID })
	return pbs, nil
}

// LoadDir loads only the playbooks of a directory.
func LoadDir(dir string) ([]*Playbook, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("playbooks: %w", err)
	}
	return loadFS(os.DirFS(dir), ".", dir+string(filepath.Separator))
}

func loadFS(fsys fs.FS, dir, label string) ([]*Playbook, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(names) > maxPlaybooks {
		return nil, fmt.Errorf("%d playbooks is more than the limit of %d", len(names), maxPlaybooks)
	}
	var out []*Playbook
	seen := map[string]string{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		file := label + path.Base(name)
		p, err := Parse(file, data)
		if err != nil {
			return nil, err
		}
		if other, dup := seen[p.ID]; dup {
			return nil, fmt.Errorf("%s: id %q is also used by %s", file, p.ID, other)
		}
		seen[p.ID] = file
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Parse decodes, validates and compiles one playbook. Errors name the file
// and, where the YAML decoder knows it, the line.
func Parse(file string, data []byte) (*Playbook, error) {
	if len(data) > maxPlaybook {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxPlaybook)
	}
	var p Playbook
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	p.File = file
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	line := func(key string) int { return keyLine(&root, key) }
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s: %s", file, line(key), key, fmt.Sprintf(format, args...))
	}
	switch {
	case !idPattern.MatchString(p.ID):
		return nil, bad("id", "%q must be 3-64 characters of a-z 0-9 -", p.ID)
	case strings.TrimSpace(p.Title) == "":
		return nil, bad("title", "missing")
	case p.Tactic != TacticID:
		return nil, bad("tactic", "%q: custos playbooks are keyed to %s", p.Tactic, TacticID)
	case p.Role != "execution" && p.Role != "context":
		return nil, bad("role", "%q: want execution or context", p.Role)
	case !slices.Contains(Severities, p.Severity):
		return nil, bad("severity", "%q: want one of %s", p.Severity, strings.Join(Severities, ", "))
	case !slices.Contains(Confidences, p.Confidence):
		return nil, bad("confidence", "%q: want one of %s", p.Confidence, strings.Join(Confidences, ", "))
	case p.Scope != "device" && p.Scope != "app" && p.Scope != "event":
		return nil, bad("scope", "%q: want device, app or event", p.Scope)
	case p.Scope == "event" && len(p.EventTypes) == 0:
		return nil, bad("event_types", "an event-scope playbook names the event types it reads")
	case p.Scope != "event" && len(p.EventTypes) > 0:
		return nil, bad("event_types", "only an event-scope playbook reads events")
	case p.Scope != "event" && len(p.Earlier) > 0:
		return nil, bad("earlier", "only an event-scope playbook reads earlier events")
	case strings.TrimSpace(p.Match) == "":
		return nil, bad("match", "missing")
	case strings.TrimSpace(p.Rationale) == "":
		return nil, bad("rationale", "missing: say why a match matters and what it does not prove")
	case len(p.Tests) == 0:
		return nil, bad("tests", "a playbook needs at least one match and one no_match test")
	}
	for i, t := range p.Techniques {
		tech, ok := LookupTechnique(t)
		if !ok {
			return nil, bad("techniques", "%q is not an active %s technique of %s", t, TacticID, AttackRelease())
		}
		p.Techniques[i] = tech.ID // a revoked id becomes the one that replaced it
	}
	for _, e := range p.Earlier {
		if typ, field, ok := strings.Cut(e, "."); !ok || typ == "" || field == "" {
			return nil, bad("earlier", "%q: want EVENT_TYPE.FIELD", e)
		}
	}
	for _, r := range p.Requires {
		if !slices.Contains(telemetries, r) {
			return nil, bad("requires", "%q: want one of %s", r, strings.Join(telemetries, ", "))
		}
	}
	// A struct Env, not a pointer: expr then reads its fields by index,
	// not by name.
	opts := []expr.Option{expr.Env(Env{}), expr.AsBool()}
	var err error
	if p.Precondition != "" {
		if p.pre, err = expr.Compile(p.Precondition, opts...); err != nil {
			return nil, bad("precondition", "%v", err)
		}
		p.preDevice = readsDeviceOnly(p.pre.Node())
	}
	if p.match, err = expr.Compile(p.Match, opts...); err != nil {
		return nil, bad("match", "%v", err)
	}
	for _, f := range p.Facts {
		prog, err := expr.Compile(f.Expr, expr.Env(Env{}))
		if err != nil {
			return nil, bad("facts", "%s: %v", f.Label, err)
		}
		p.facts = append(p.facts, prog)
	}
	for i, a := range p.Adjust {
		switch {
		case a.Severity == "" && a.Confidence == "":
			return nil, bad("adjust", "%d: set severity or confidence", i+1)
		case a.Severity != "" && !slices.Contains(Severities, a.Severity):
			return nil, bad("adjust", "%d: severity %q: want one of %s", i+1, a.Severity, strings.Join(Severities, ", "))
		case a.Confidence != "" && !slices.Contains(Confidences, a.Confidence):
			return nil, bad("adjust", "%d: confidence %q: want one of %s", i+1, a.Confidence, strings.Join(Confidences, ", "))
		case strings.TrimSpace(a.Why) == "":
			return nil, bad("adjust", "%d: say why (why:)", i+1)
		}
		prog, err := expr.Compile(a.When, opts...)
		if err != nil {
			return nil, bad("adjust", "%d: %v", i+1, err)
		}
		p.adjust = append(p.adjust, prog)
	}
	var pos, neg int
	for _, t := range p.Tests {
		switch t.Expect {
		case "match":
			pos++
		case "no_match":
			neg++
		default:
			return nil, bad("tests", "%s: expect %q: want match or no_match", t.Name, t.Expect)
		}
		if t.Severity != "" && !slices.Contains(Severities, t.Severity) {
			return nil, bad("tests", "%s: severity %q: want one of %s", t.Name, t.Severity, strings.Join(Severities, ", "))
		}
	}
	if pos == 0 || neg == 0 {
		return nil, bad("tests", "need at least one match and one no_match test (have %d and %d)", pos, neg)
	}
	return &p, nil
}

// keyLine finds the line of a top-level key, 0 if unknown.
func keyLine(root *yaml.Node, key string) int {
	if root == nil || len(root.Content) == 0 {
		return 0
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1].Line
		}
	}
	return m.Line
}

// readsDeviceOnly reports whether an expression reads nothing but the
// device (and the analysis time): its value is the same for every app of
// a device.
func readsDeviceOnly(node ast.Node) bool {
	v := &exprNames{}
	ast.Walk(&node, v)
	for _, name := range v.names {
		if name != "device" && name != "DaysSince" {
			return false
		}
	}
	return true
}

// exprNames collects the identifiers of an expression.
type exprNames struct{ names []string }

func (v *exprNames) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok {
		v.names = append(v.names, id.Value)
	}
}

// Applies reports whether p is meant for the device's platform.
func (p *Playbook) Applies(d *collect.Device) bool {
	return len(p.Platforms) == 0 || slices.Contains(p.Platforms, d.Platform)
}

// Eval runs the precondition and match expressions against env.
func (p *Playbook) Eval(env *evaluation) (bool, error) {
	if ok, err := p.precondition(env); err != nil || !ok {
		return false, err
	}
	return p.matches(env)
}

// precondition runs the precondition expression (true without one).
func (p *Playbook) precondition(env *evaluation) (bool, error) {
	if p.pre == nil {
		return true, nil
	}
	ok, err := env.run(p.pre)
	if err != nil {
		return false, fmt.Errorf("%s: precondition: %w", p.ID, err)
	}
	return ok == true, nil
}

// matches runs the match expression.
func (p *Playbook) matches(env *evaluation) (bool, error) {
	ok, err := env.run(p.match)
	if err != nil {
		return false, fmt.Errorf("%s: match: %w", p.ID, err)
	}
	return ok == true, nil
}

// Adjusted returns the severity and confidence of a match after the
// adjustments, and the reasons of those that applied.
func (p *Playbook) Adjusted(env *evaluation) (severity, confidence string, why []string) {
	severity, confidence = p.Severity, p.Confidence
	for i, prog := range p.adjust {
		ok, err := env.run(prog)
		if err != nil || ok != true {
			continue
		}
		a := p.Adjust[i]
		if a.Severity != "" {
			severity = a.Severity
		}
		if a.Confidence != "" {
			confidence = a.Confidence
		}
		why = append(why, a.Why)
	}
	return severity, confidence, why
}

// FactValues evaluates the fact expressions.
func (p *Playbook) FactValues(env *evaluation) []Fact {
	var out []Fact
	for i, prog := range p.facts {
		v, err := env.run(prog)
		s := fmt.Sprint(v)
		if err != nil {
			s = "(unavailable: " + err.Error() + ")"
		}
		out = append(out, Fact{Label: p.Facts[i].Label, Value: s})
	}
	return out
}

// RunTests runs the inline tests; it returns one error per failing case.
func (p *Playbook) RunTests() []error {
	var errs []error
	for _, t := range p.Tests {
		env, err := t.env(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: test %q: %w", p.ID, t.Name, err))
			continue
		}
		if p.Scope == "app" && env.env.App == nil {
			errs = append(errs, fmt.Errorf("%s: test %q: an app-scope playbook test needs an app", p.ID, t.Name))
			continue
		}
		if p.Scope == "event" && env.env.Event == nil {
			errs = append(errs, fmt.Errorf("%s: test %q: an event-scope playbook test needs an event", p.ID, t.Name))
			continue
		}
		got := false
		if p.Applies(env.env.Device) {
			got, err = p.Eval(env)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: test %q: %w", p.ID, t.Name, err))
				continue
			}
		}
		if p.Scope == "event" && !slices.Contains(p.EventTypes, env.env.Event.Type) {
			got = false
		}
		if got != (t.Expect == "match") {
			errs = append(errs, fmt.Errorf("%s: test %q: expected %s, got match=%v", p.ID, t.Name, t.Expect, got))
			continue
		}
		if got && t.Severity != "" {
			if sev, _, _ := p.Adjusted(env); sev != t.Severity {
				errs = append(errs, fmt.Errorf("%s: test %q: severity %s, want %s", p.ID, t.Name, sev, t.Severity))
			}
		}
	}
	return errs
}

// env converts a test case's YAML maps into records through their JSON
// form, so tests use the same field names as records/*.ndjson.
func (t Test) env(p *Playbook) (*evaluation, error) {
	var d collect.Device
	if err := remarshal(t.Device, &d); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	if d.Key == "" {
		d.Key = "test:device"
	}
	var app *collect.App
	if t.App != nil {
		app = &collect.App{}
		if err := remarshal(t.App, app); err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		app.DeviceKey = d.Key
	}
	var event *collect.Event
	if t.Event != nil {
		event = &collect.Event{}
		if err := remarshal(t.Event, event); err != nil {
			return nil, fmt.Errorf("event: %w", err)
		}
		event.DeviceKey = d.Key
	}
	now := t.Now
	if now.IsZero() {
		now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	// Earlier events go through the analysis's own history, which keeps
	// only what the playbook declares in earlier.
	h := newHistory([]*Playbook{p})
	for _, m := range t.Earlier {
		var ev collect.Event
		if err := remarshal(m, &ev); err != nil {
			return nil, fmt.Errorf("earlier: %w", err)
		}
		ev.DeviceKey = d.Key
		h.recall(ev)
	}
	set := &iocs.Set{}
	for _, i := range t.IOCs {
		set.AddTerm(i.Key, i.Value, i.Malware)
	}
	fleet := &Fleet{testDevices: max(t.Fleet.Devices, 1), testAppDevices: t.Fleet.AppDevices, developer: t.Fleet.DeveloperGroups}
	return newEvaluation(set, now, fleet, h).record(&d, app, event), nil
}

func remarshal(in map[string]any, out any) error {
	if in == nil {
		return nil
	}
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}
