package report

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
)

// -update rewrites golden files; registered here unless another test file
// of the package already does.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

var caseGolden = filepath.Join("testdata", "caseuco", "golden.jsonld")

// Untrusted strings as they may come from an MDM or a custody entry.
const (
	caseHostileDevice = `<script>alert(1)</script> phone`
	caseHostileApp    = `System Update </script><img src=x onerror=alert(2)> & "quotes"`
	caseHostileActor  = `Mallory <mallory@evil.example>"><script>alert(3)</script>`
)

// digest is a stand-in SHA-256, distinct per label.
func digest(label string) string {
	s := sha256.Sum256([]byte(label))
	return hex.EncodeToString(s[:])
}

// caseModel is a case with two archives (one sealed, encrypted, verified
// and transferred; one no custody entry records), findings citing files in
// both, and a custody note by a hostile actor whose signature did not
// verify.
func caseModel() *Model {
	t0 := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	a1, a2 := "IR-7-acq1.tar.zst", "IR-7-acq2.tar.zst"
	age := a1 + preserve.EncryptedSuffix
	an := &playbooks.Analysis{
		Version: 1, GeneratedAt: t0.Add(6 * time.Hour), Tool: "custos 0.4.1", AttackRelease: "17.1",
		Tactic: playbooks.TacticRef{ID: "TA0041", Name: "Execution"},
		Archives: []playbooks.ArchiveRef{
			{Name: a1, SHA256: digest(a1), AcquisitionID: "acq1", Verified: true, SignerKey: "SHA256:key1", SignerPrincipals: []string{"examiner@lab.example"}},
			{Name: a2, SHA256: digest(a2), AcquisitionID: "acq2"},
		},
		Devices: []playbooks.DeviceSummary{
			{Key: "intune:1", Name: caseHostileDevice, Platform: "android", OSVersion: "14", Source: "intune", Serial: "R58M1234", State: playbooks.StateFinding},
			{Key: "amapi:9", Name: "tablet-9", Platform: "android", Source: "amapi", State: playbooks.StateFinding},
		},
		Findings: []playbooks.Finding{
			{
				ID: "F-1", Playbook: "app-rare-on-noncompliant-device", Title: "Rare app on a noncompliant phone", Tactic: "TA0041", Role: "context",
				Device: "intune:1", DeviceName: caseHostileDevice, App: &playbooks.AppRef{Name: caseHostileApp, Version: "1.0", AppID: "com.evil.update"},
				Severity: "medium", Confidence: "low", Rationale: "installed on one device in the fleet",
				Evidence: []playbooks.EvidenceRef{{Archive: a1, ArchiveSHA256: digest(a1), Path: "data/raw/intune/000002.json", FileSHA256: digest("000002.json"), Pointer: "/value/3"}},
				Observations: []playbooks.Observation{{Time: t0, Type: "app_installed", Evidence: playbooks.EvidenceRef{
					Archive: a1, ArchiveSHA256: digest(a1), Path: "data/events/intune.jsonl", FileSHA256: digest("intune.jsonl"), Pointer: "/7"}}},
			},
			{
				ID: "F-2", Playbook: "sideloaded-app", Title: "Sideloaded app", Tactic: "TA0041", Techniques: []string{"T1476"}, Role: "execution",
				Device: "amapi:9", DeviceName: "tablet-9", Severity: "high", Confidence: "medium",
				Evidence: []playbooks.EvidenceRef{{Archive: a2, ArchiveSHA256: digest(a2), Path: "data/raw/amapi/devices.json", FileSHA256: digest("devices.json"), Pointer: "/devices/0"}},
			},
		},
	}
	entries := []preserve.Entry{
		{Time: t0.Add(time.Hour), Action: preserve.ActionAcquired, Actor: "collector@lab.example", Archive: a1, ArchiveSHA256: digest(a1), AcquisitionID: "acq1",
			Tool: "custos 0.4.0", Host: "lab1", Note: "collection 2026-11-26T04:00:00Z to 2026-11-26T05:00:00Z"},
		{Time: t0.Add(2 * time.Hour), Action: preserve.ActionSealed, Actor: "examiner@lab.example", Archive: a1, ArchiveSHA256: digest(a1), AcquisitionID: "acq1",
			Tool: "custos 0.4.0", Host: "lab1", Note: "signed by SHA256:key1"},
		{Time: t0.Add(2 * time.Hour), Action: preserve.ActionEncrypted, Actor: "examiner@lab.example", Archive: age, ArchiveSHA256: digest(age), AcquisitionID: "acq1",
			Tool: "custos 0.4.0", Host: "lab1", Note: "age recipients: counsel"},
		{Time: t0.Add(3 * time.Hour), Action: preserve.ActionVerified, Actor: "reviewer@lab.example", Archive: a1, ArchiveSHA256: digest(a1),
			Tool: "custos 0.4.1", Host: "lab2"},
		{Time: t0.Add(4 * time.Hour), Action: preserve.ActionTransferred, Actor: "examiner@lab.example", To: "counsel@firm.example", Purpose: "legal review",
			Archive: age, ArchiveSHA256: digest(age), Tool: "custos 0.4.1", Host: "lab1"},
		{Time: t0.Add(5 * time.Hour), Action: preserve.ActionNote, Actor: caseHostileActor, Note: caseHostileApp, Tool: "custos 0.4.1"},
	}
	var custody []preserve.CheckedEntry
	for i, e := range entries {
		e.V, e.Seq = 1, i+1
		ce := preserve.CheckedEntry{Entry: e, File: fmt.Sprintf("%06d.json", e.Seq), SHA256: digest(fmt.Sprint("entry ", e.Seq))}
		if e.Actor != caseHostileActor {
			ce.Signer, ce.Principals = "SHA256:key1", []string{"examiner@lab.example"}
		}
		custody = append(custody, ce)
	}
	return Build(Input{
		Case: preserve.CaseInfo{ID: "IR-7", Title: "Phishing <b>wave</b>", CreatedAt: t0.Add(-24 * time.Hour),
			Examiner: "examiner@lab.example", Authority: "consent form CF-12"},
		Analysis: an, Custody: custody, Head: preserve.Head{Seq: 6, SHA256: digest("entry 6")},
		Generated: t0.Add(7 * time.Hour), Tool: "custos 0.4.1",
	})
}

func renderCASE(t *testing.T, m *Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := CASE(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type caseDoc struct {
	Context map[string]string `json:"@context"`
	Graph   []map[string]any  `json:"@graph"`
}

func decodeCASE(t *testing.T, b []byte) caseDoc {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var doc caseDoc
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("not a JSON-LD document of @context and @graph: %v", err)
	}
	if dec.More() {
		t.Fatal("data after the document")
	}
	return doc
}

// walkJSON calls fn on every JSON object under v.
func walkJSON(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, x := range v {
			walkJSON(x, fn)
		}
	case []any:
		for _, x := range v {
			walkJSON(x, fn)
		}
	case []map[string]any:
		for _, x := range v {
			walkJSON(x, fn)
		}
	}
}

func TestCASEGolden(t *testing.T) {
	got := renderCASE(t, caseModel())
	if again := renderCASE(t, caseModel()); !bytes.Equal(got, again) {
		t.Fatal("two renderings of the same model differ")
	}
	if !bytes.HasPrefix(got, []byte("{\n  \"@context\": {\n    \"")) || !bytes.HasSuffix(got, []byte("\n}\n")) {
		t.Error("not indented by two spaces with a trailing newline")
	}
	if updating() {
		if err := os.WriteFile(caseGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(caseGolden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("CASE output differs from %s; if the change is intended, run go test ./report -run CASE -update and review the diff", caseGolden)
	}
}

// caseVocabulary reads testdata/caseuco/vocabulary.txt: the @context it
// allows and the kind (class, datatype, property) of every term.
func caseVocabulary(t *testing.T) (prefixes, terms map[string]string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "caseuco", "vocabulary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prefixes, terms = map[string]string{}, map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 0 || strings.HasPrefix(fields[0], "#"):
		case fields[0] == "prefix" && len(fields) == 3:
			prefixes[fields[1]] = fields[2]
		case slices.Contains([]string{"class", "datatype", "property"}, fields[0]) && len(fields) == 2:
			terms[fields[1]] = fields[0]
		default:
			t.Fatalf("vocabulary.txt: bad line %q", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return prefixes, terms
}

// checkVocabulary lists every @context entry, @type, datatype and
// property of doc that the vocabulary list does not have.
func checkVocabulary(doc caseDoc, prefixes, terms map[string]string) []string {
	var bad []string
	if !maps.Equal(doc.Context, prefixes) {
		bad = append(bad, fmt.Sprintf("@context %v, want exactly %v", doc.Context, prefixes))
	}
	kind := func(want string, term any) {
		if s, _ := term.(string); terms[s] != want {
			bad = append(bad, fmt.Sprintf("%s %v is not in vocabulary.txt", want, term))
		}
	}
	walkJSON(doc.Graph, func(o map[string]any) {
		if _, ok := o["@value"]; ok {
			kind("datatype", o["@type"])
			if len(o) != 2 {
				bad = append(bad, fmt.Sprintf("typed literal with other keys: %v", o))
			}
			return
		}
		if typ, ok := o["@type"]; ok {
			typs, isList := typ.([]any)
			if !isList {
				typs = []any{typ}
			}
			for _, x := range typs {
				kind("class", x)
			}
		}
		for k := range o {
			if k != "@id" && k != "@type" {
				kind("property", k)
			}
		}
	})
	slices.Sort(bad)
	return bad
}

func TestCASEVocabulary(t *testing.T) {
	prefixes, terms := caseVocabulary(t)
	for name, m := range map[string]*Model{"caseModel": caseModel(), "testModel": testModel(), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			for _, p := range checkVocabulary(decodeCASE(t, renderCASE(t, m)), prefixes, terms) {
				t.Error(p)
			}
		})
	}
}

// The vocabulary check is only worth having if it catches a misspelt term.
func TestCASEVocabularyCatchesMisspelling(t *testing.T) {
	prefixes, terms := caseVocabulary(t)
	out := renderCASE(t, caseModel())
	for _, mut := range [][2]string{
		{`"uco-observable:fileName"`, `"uco-observable:filename"`},
		{`"uco-observable:FileFacet"`, `"uco-observable:FileFacets"`},
		{`"uco-vocabulary:HashNameVocab"`, `"uco-vocabulary:HashNameVocabulary"`},
		{`"uco-action:performer"`, `"uco-core:performer"`},
		{`"https://ontology.unifiedcyberontology.org/uco/core/"`, `"https://unifiedcyberontology.org/ontology/uco/core#"`},
	} {
		mutated := bytes.Replace(out, []byte(mut[0]), []byte(mut[1]), 1)
		if bytes.Equal(mutated, out) {
			t.Fatalf("%s does not occur in the output", mut[0])
		}
		if bad := checkVocabulary(decodeCASE(t, mutated), prefixes, terms); len(bad) == 0 {
			t.Errorf("replacing %s by %s went unnoticed", mut[0], mut[1])
		}
	}
}

var caseIRI = regexp.MustCompile(`^kb:[a-z]+(-[a-z]+)*-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// checkWellFormed lists what breaks the graph's shape: an @id defined
// twice or not of the form kb:<kind>-<uuid v5>, a reference to no node, a
// top-level node the investigation does not list, a compilation or
// annotation about nothing, a multi-valued performer.
func checkWellFormed(doc caseDoc) []string {
	var bad []string
	defined := map[string]int{}
	var refs []string
	walkJSON(doc.Graph, func(o map[string]any) {
		id, ok := o["@id"].(string)
		switch {
		case !ok:
		case len(o) == 1:
			refs = append(refs, id)
		default:
			defined[id]++
			if !caseIRI.MatchString(id) {
				bad = append(bad, "@id "+id+" is not kb:<kind>-<uuid v5>")
			}
		}
	})
	for id, n := range defined {
		if n != 1 {
			bad = append(bad, fmt.Sprintf("%s defined %d times", id, n))
		}
	}
	for _, id := range refs {
		if defined[id] == 0 {
			bad = append(bad, "dangling reference to "+id)
		}
	}
	if len(doc.Graph) == 0 || doc.Graph[0]["@type"] != "case-investigation:Investigation" {
		return append(bad, "the graph does not start with the investigation")
	}
	listed := map[string]bool{}
	for _, r := range asList(doc.Graph[0]["uco-core:object"]) {
		listed[refID(r)] = true
	}
	for _, n := range doc.Graph[1:] {
		if id, _ := n["@id"].(string); !listed[id] {
			bad = append(bad, "the investigation does not list "+id)
		}
		switch n["@type"] {
		case "case-investigation:ProvenanceRecord", "uco-core:Annotation":
			if len(asList(n["uco-core:object"])) == 0 {
				bad = append(bad, fmt.Sprintf("%v %v has no uco-core:object", n["@type"], n["@id"]))
			}
		case "case-investigation:InvestigativeAction":
			if _, ok := n["uco-core:name"].(string); !ok {
				bad = append(bad, fmt.Sprintf("action %v has no name", n["@id"]))
			}
		}
		if p, ok := n["uco-action:performer"]; ok && refID(p) == "" {
			bad = append(bad, fmt.Sprintf("%v: uco-action:performer is not one reference", n["@id"]))
		}
	}
	if len(listed) != len(doc.Graph)-1 {
		bad = append(bad, fmt.Sprintf("the investigation lists %d objects, the graph has %d other nodes", len(listed), len(doc.Graph)-1))
	}
	slices.Sort(bad)
	return bad
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// refID is the @id of a reference object, "" for anything else.
func refID(v any) string {
	o, _ := v.(map[string]any)
	id, _ := o["@id"].(string)
	if len(o) != 1 {
		return ""
	}
	return id
}

func TestCASEWellFormed(t *testing.T) {
	for name, m := range map[string]*Model{"caseModel": caseModel(), "testModel": testModel(), "empty": {}} {
		t.Run(name, func(t *testing.T) {
			for _, p := range checkWellFormed(decodeCASE(t, renderCASE(t, m))) {
				t.Error(p)
			}
		})
	}
}

func TestCASEWellFormedCatchesDangling(t *testing.T) {
	doc := decodeCASE(t, renderCASE(t, caseModel()))
	doc.Graph = slices.Delete(doc.Graph, 1, 2) // a node others refer to
	if bad := checkWellFormed(doc); len(bad) == 0 {
		t.Error("removing a node went unnoticed")
	}
}

// caseIndex is every node of a graph (facets and hashes included) by @id.
type caseIndex map[string]map[string]any

func indexCASE(doc caseDoc) caseIndex {
	idx := caseIndex{}
	walkJSON(doc.Graph, func(o map[string]any) {
		if id, ok := o["@id"].(string); ok && len(o) > 1 {
			idx[id] = o
		}
	})
	return idx
}

// facet is n's facet of type typ.
func (idx caseIndex) facet(n map[string]any, typ string) map[string]any {
	for _, f := range asList(n["uco-core:hasFacet"]) {
		if f, _ := f.(map[string]any); f["@type"] == typ {
			return f
		}
	}
	return nil
}

// sha256 is the SHA-256 a node's content data facet records, checking the
// hash's method and datatypes; "" if it has none.
func (idx caseIndex) sha256(n map[string]any) (string, error) {
	cd := idx.facet(n, "uco-observable:ContentDataFacet")
	hashes := asList(cd["uco-observable:hash"])
	if len(hashes) != 1 {
		return "", fmt.Errorf("%v has %d hashes, want 1", n["@id"], len(hashes))
	}
	h, _ := hashes[0].(map[string]any)
	method, _ := h["uco-types:hashMethod"].(map[string]any)
	value, _ := h["uco-types:hashValue"].(map[string]any)
	if h["@type"] != "uco-types:Hash" || method["@type"] != "uco-vocabulary:HashNameVocab" || method["@value"] != "SHA256" || value["@type"] != "xsd:hexBinary" {
		return "", fmt.Errorf("%v: hash %v is not a SHA256 uco-types:Hash with an xsd:hexBinary value", n["@id"], h)
	}
	v, _ := value["@value"].(string)
	return v, nil
}

// files are the top-level File nodes whose file facet has fileName name
// and filePath filePath.
func (idx caseIndex) files(doc caseDoc, name, filePath string) []map[string]any {
	var out []map[string]any
	for _, n := range doc.Graph {
		ff := idx.facet(n, "uco-observable:FileFacet")
		if n["@type"] == "uco-observable:File" && ff["uco-observable:fileName"] == name && (ff["uco-observable:filePath"] == filePath || filePath == "" && ff["uco-observable:filePath"] == nil) {
			out = append(out, n)
		}
	}
	return out
}

func hasRef(v any, id string) bool {
	return slices.ContainsFunc(asList(v), func(r any) bool { return refID(r) == id })
}

// checkHashes lists every archive digest, cited file digest and custody
// digest of m that the graph does not state where it should.
func checkHashes(doc caseDoc, m *Model) []string {
	idx := indexCASE(doc)
	var bad []string
	expect := func(n map[string]any, want, what string) {
		got, err := idx.sha256(n)
		if err != nil {
			bad = append(bad, what+": "+err.Error())
		} else if got != want {
			bad = append(bad, fmt.Sprintf("%s: hash %s, want %s", what, got, want))
		}
	}
	archive := func(name, sum, what string) map[string]any {
		for _, n := range idx.files(doc, name, "") {
			if got, _ := idx.sha256(n); got == sum {
				return n
			}
		}
		bad = append(bad, fmt.Sprintf("%s: no File named %s with SHA-256 %s", what, name, sum))
		return nil
	}
	for _, ar := range m.Analysis.Archives {
		fs := idx.files(doc, ar.Name, "")
		if len(fs) != 1 {
			bad = append(bad, fmt.Sprintf("archive %s: %d File nodes, want 1", ar.Name, len(fs)))
			continue
		}
		expect(fs[0], ar.SHA256, "archive "+ar.Name)
		recorded := false
		for _, n := range doc.Graph {
			recorded = recorded || n["case-investigation:exhibitNumber"] == ar.Name && hasRef(n["uco-core:object"], fs[0]["@id"].(string))
		}
		if !recorded {
			bad = append(bad, "no provenance record of exhibit "+ar.Name+" lists it")
		}
	}
	for _, f := range m.Analysis.Findings {
		for _, ev := range findingEvidence(f) {
			what := f.ID + " cites " + ev.Path
			fs := idx.files(doc, path.Base(ev.Path), ev.Path)
			if len(fs) != 1 {
				bad = append(bad, fmt.Sprintf("%s: %d File nodes, want 1", what, len(fs)))
				continue
			}
			file := fs[0]["@id"].(string)
			expect(fs[0], ev.FileSHA256, what)
			contained := false
			for _, n := range doc.Graph {
				if n["@type"] == "uco-observable:ObservableRelationship" && refID(n["uco-core:source"]) == file && n["uco-core:kindOfRelationship"] == "Contained_Within" {
					contained = true
					expect(idx[refID(n["uco-core:target"])], ev.ArchiveSHA256, what+": its archive")
				}
				if n["@type"] == "uco-core:Annotation" && n["uco-core:name"] == f.ID && !hasRef(n["uco-core:object"], file) {
					bad = append(bad, what+": the finding's annotation is not about it")
				}
			}
			if !contained {
				bad = append(bad, what+": not contained in its archive")
			}
		}
	}
	for _, ce := range m.Custody {
		what := "custody entry " + ce.File
		fs := idx.files(doc, ce.File, "custody/"+ce.File)
		if len(fs) != 1 {
			bad = append(bad, fmt.Sprintf("%s: %d File nodes, want 1", what, len(fs)))
			continue
		}
		expect(fs[0], ce.SHA256, what)
		var action map[string]any
		for _, n := range doc.Graph {
			if n["@type"] == "case-investigation:InvestigativeAction" && hasRef(n["uco-action:result"], fs[0]["@id"].(string)) {
				action = n
			}
		}
		if action == nil {
			bad = append(bad, what+": no action results in it")
			continue
		}
		if action["uco-core:name"] != ce.Action {
			bad = append(bad, fmt.Sprintf("%s: action named %v, want %s", what, action["uco-core:name"], ce.Action))
		}
		if ce.Archive == "" {
			continue
		}
		if ar := archive(ce.Archive, ce.ArchiveSHA256, what); ar != nil {
			id := ar["@id"].(string)
			if !hasRef(action["uco-action:object"], id) && !hasRef(action["uco-action:result"], id) {
				bad = append(bad, what+": its action does not act on "+ce.Archive)
			}
		}
	}
	slices.Sort(bad)
	return bad
}

func TestCASEHashes(t *testing.T) {
	m := caseModel()
	doc := decodeCASE(t, renderCASE(t, m))
	for _, p := range checkHashes(doc, m) {
		t.Error(p)
	}
	// And the check notices a wrong digest.
	wrong := caseModel()
	wrong.Analysis.Findings[0].Evidence[0].FileSHA256 = digest("something else")
	if bad := checkHashes(doc, wrong); len(bad) == 0 {
		t.Error("a cited file's digest that differs went unnoticed")
	}
	wrong = caseModel()
	wrong.Analysis.Archives[1].SHA256 = digest("another archive")
	if bad := checkHashes(doc, wrong); len(bad) == 0 {
		t.Error("an archive digest that differs went unnoticed")
	}
}

// The custody actions carry their entry's times, actor, tool and host.
func TestCASECustodyActions(t *testing.T) {
	m := caseModel()
	doc := decodeCASE(t, renderCASE(t, m))
	idx := indexCASE(doc)
	byName := map[string]map[string]any{}
	for _, n := range doc.Graph {
		name, _ := n["uco-core:name"].(string)
		if _, seen := byName[name]; !seen && n["@type"] == "case-investigation:InvestigativeAction" {
			byName[name] = n // the first: custody entries come before unrecorded acquisitions
		}
	}
	when := func(n map[string]any, prop string) any {
		lit, _ := n[prop].(map[string]any)
		if lit["@type"] != "xsd:dateTime" {
			return nil
		}
		return lit["@value"]
	}
	acquired := byName[preserve.ActionAcquired]
	if when(acquired, "uco-action:startTime") != "2026-11-26T04:00:00Z" || when(acquired, "uco-action:endTime") != "2026-11-26T05:00:00Z" {
		t.Errorf("acquisition spans %v to %v, want the collection's", acquired["uco-action:startTime"], acquired["uco-action:endTime"])
	}
	transferred := byName[preserve.ActionTransferred]
	if when(transferred, "uco-action:startTime") != "2026-11-26T08:00:00Z" {
		t.Errorf("transfer at %v", transferred["uco-action:startTime"])
	}
	name := func(v any) any { return idx[refID(v)]["uco-core:name"] }
	if name(transferred["uco-action:performer"]) != "examiner@lab.example" || name(asList(transferred["uco-action:participant"])[0]) != "counsel@firm.example" {
		t.Errorf("transfer by %v to %v", transferred["uco-action:performer"], transferred["uco-action:participant"])
	}
	if name(transferred["uco-action:environment"]) != "lab1" {
		t.Errorf("transfer on %v", transferred["uco-action:environment"])
	}
	tool := idx[refID(asList(byName[preserve.ActionVerified]["uco-action:instrument"])[0])]
	if tool["@type"] != "uco-tool:Tool" || tool["uco-core:name"] != "custos" || tool["uco-tool:version"] != "0.4.1" {
		t.Errorf("verified with %v", tool)
	}
	if !hasRef(byName[preserve.ActionSealed]["case-investigation:wasInformedBy"], acquired["@id"].(string)) {
		t.Error("the seal is not informed by the acquisition")
	}
	analysis := byName["analysed"]
	if name(asList(analysis["uco-action:instrument"])[0]) != "custos" || len(asList(analysis["uco-action:object"])) != 2 {
		t.Errorf("analysis %v", analysis)
	}
}

func TestCASEHostileStringsStayData(t *testing.T) {
	out := renderCASE(t, caseModel())
	if i := bytes.IndexAny(out, "<>"); i >= 0 {
		t.Errorf("raw HTML metacharacter in the output: %q", out[max(0, i-40):min(len(out), i+40)])
	}
	doc := decodeCASE(t, out)
	found := map[string]bool{}
	walkJSON(doc.Graph, func(o map[string]any) {
		for _, v := range o {
			if s, ok := v.(string); ok {
				found[s] = true
			}
		}
	})
	for _, want := range []string{caseHostileDevice, caseHostileApp, caseHostileActor, "Phishing <b>wave</b>",
		"custody entry custody/000006.json; note: " + caseHostileApp} {
		if !found[want] {
			t.Errorf("%q does not round-trip as a value", want)
		}
	}
}

// An archive listed twice, or a custody entry given twice, still defines
// each node once.
func TestCASERepeatedInputs(t *testing.T) {
	m := caseModel()
	m.Analysis.Archives = append(m.Analysis.Archives, m.Analysis.Archives...)
	m.Custody = append(m.Custody, m.Custody[len(m.Custody)-1])
	for _, p := range checkWellFormed(decodeCASE(t, renderCASE(t, m))) {
		t.Error(p)
	}
}

// With the acquisition record at hand, the acquired action takes its
// collection times from it (to the nanosecond), not from the custody
// note's rounded ones.
func TestCASEAcquisitionTimesFromRecord(t *testing.T) {
	m := caseModel()
	started := time.Date(2026, 11, 26, 4, 0, 0, 123456789, time.UTC)
	finished := time.Date(2026, 11, 26, 5, 0, 1, 987654321, time.UTC)
	m.Acquisitions = []collect.Acquisition{{ID: "acq1", Started: started, Finished: finished}}
	out := string(renderCASE(t, m))
	for _, want := range []string{started.Format(time.RFC3339Nano), finished.Format(time.RFC3339Nano)} {
		if !strings.Contains(out, `"`+want+`"`) {
			t.Errorf("the acquired action does not carry %s", want)
		}
	}
	if strings.Contains(out, `"2026-11-26T05:00:00Z"`) {
		t.Error("the note's end time is still used")
	}
}
