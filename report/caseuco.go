package report

import (
	"cmp"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custos-ir/custos/playbooks"
	"github.com/custos-ir/custos/preserve"
)

// caseContext maps the graph's prefixes to the CASE 1.x and UCO 1.x
// namespaces. It is written inline so that no reader ever fetches a remote
// context; every term used under it is listed, with where it is defined,
// in testdata/caseuco/vocabulary.txt.
var caseContext = map[string]string{
	"case-investigation": "https://ontology.caseontology.org/case/investigation/",
	"kb":                 caseKB,
	"uco-action":         "https://ontology.unifiedcyberontology.org/uco/action/",
	"uco-core":           "https://ontology.unifiedcyberontology.org/uco/core/",
	"uco-identity":       "https://ontology.unifiedcyberontology.org/uco/identity/",
	"uco-observable":     "https://ontology.unifiedcyberontology.org/uco/observable/",
	"uco-tool":           "https://ontology.unifiedcyberontology.org/uco/tool/",
	"uco-types":          "https://ontology.unifiedcyberontology.org/uco/types/",
	"uco-vocabulary":     "https://ontology.unifiedcyberontology.org/uco/vocabulary/",
	"xsd":                "http://www.w3.org/2001/XMLSchema#",
}

// caseKB is the base of the graph's own node IRIs ("kb:<kind>-<uuid>").
// It ends in a gen-delim so that JSON-LD 1.1 expands "kb:" as a prefix.
const caseKB = "urn:custos:kb:"

// caseNamespace seeds the version-5 UUIDs of node IRIs. Together with the
// case ID it makes every IRI a function of the content it names, so the
// same case always gives the same graph and two cases never share a node.
var caseNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/custos-ir/custos/report/caseuco"))

// CASE writes the case as one CASE 1.x / UCO 1.x JSON-LD document: the
// investigation, each evidence archive and each file a finding cites (with
// the SHA-256 digests the analysis and the bag manifests record), the
// acquisition and every custody entry as investigative actions with their
// actors, tools and hosts, a provenance record per archive, and the analysis
// with one annotation per finding.
//
// The output is deterministic: node IRIs are derived from the content they
// name (archive digest, custody entry file and digest, finding ID) and nodes
// and properties come in a fixed order. Device, app and actor strings are
// data: they are JSON-escaped (HTML metacharacters as \u003c…) and never
// become IRIs. Missing facts are left out, never invented.
func CASE(w io.Writer, m *Model) error {
	g := &caseGraph{
		ns:       uuid.NewSHA1(caseNamespace, []byte(m.Case.ID)),
		byID:     map[string]jsonNode{},
		archives: map[string]*caseArchive{},
		byName:   map[string]*caseArchive{},
	}
	g.build(m)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	err := enc.Encode(struct {
		Context map[string]string `json:"@context"`
		Graph   []jsonNode        `json:"@graph"`
	}{caseContext, g.nodes})
	if err != nil {
		return fmt.Errorf("writing CASE/UCO graph: %w", err)
	}
	return nil
}

// jsonNode is one JSON-LD node object. encoding/json writes its keys
// sorted, so "@id" and "@type" come first and the order is stable.
type jsonNode = map[string]any

type caseGraph struct {
	ns       uuid.UUID
	nodes    []jsonNode          // top-level nodes in the order they were made
	byID     map[string]jsonNode // top-level nodes by @id
	archives map[string]*caseArchive
	byName   map[string]*caseArchive // the archive last seen under a file name
	order    []*caseArchive
	// spans are the acquisitions' collection times by acquisition id,
	// from their records when the report read them (Input.Acquisitions).
	spans map[string][2]time.Time
}

// caseArchive is an evidence archive (one file name with one digest) and
// its provenance record.
type caseArchive struct {
	name, sha256 string
	file, record jsonNode
	producers    []string // actions whose result is the record
}

func (g *caseGraph) build(m *Model) {
	a := m.Analysis
	if a == nil {
		a = &playbooks.Analysis{}
	}
	g.spans = map[string][2]time.Time{}
	for _, acq := range m.Acquisitions {
		if !acq.Started.IsZero() && !acq.Finished.Before(acq.Started) {
			g.spans[acq.ID] = [2]time.Time{acq.Started.UTC(), acq.Finished.UTC()}
		}
	}
	for _, ar := range a.Archives {
		g.archiveRef(ar)
	}
	for _, f := range a.Findings {
		for _, ev := range findingEvidence(f) {
			g.evidenceFile(ev)
		}
	}
	var prev string
	var custody []any
	for _, ce := range m.Custody {
		prev = g.custodyAction(ce, prev)
		custody = append(custody, ref(prev))
	}
	for _, ar := range g.order {
		if len(ar.producers) == 0 {
			g.unrecordedAcquisition(ar)
		}
	}
	if len(custody) > 0 {
		g.custodyLog(m, custody)
	}
	g.analysis(m, a)
	g.investigation(m.Case)
}

// iri names the node of kind identified by key.
func (g *caseGraph) iri(kind, key string) string {
	return "kb:" + kind + "-" + uuid.NewSHA1(g.ns, []byte(kind+"\x00"+key)).String()
}

// node returns the top-level node of kind and key, making it (of type typ)
// on first use.
func (g *caseGraph) node(kind, key, typ string) jsonNode {
	id := g.iri(kind, key)
	if n, ok := g.byID[id]; ok {
		return n
	}
	n := jsonNode{"@id": id, "@type": typ}
	g.byID[id] = n
	g.nodes = append(g.nodes, n)
	return n
}

// facet makes a node owned by parent (a facet, or a hash inside one). UCO
// forbids blank nodes, so it gets an IRI derived from its owner's.
func (g *caseGraph) facet(parent jsonNode, kind, typ string) jsonNode {
	return jsonNode{"@id": g.iri(kind, idOf(parent)), "@type": typ}
}

// addFacet gives n the facet f, replacing one with f's @id: a node must
// not be defined twice.
func addFacet(n, f jsonNode) {
	fs, _ := n["uco-core:hasFacet"].([]any)
	for i, x := range fs {
		if idOf(x.(jsonNode)) == idOf(f) {
			fs[i] = f
			return
		}
	}
	n["uco-core:hasFacet"] = append(fs, f)
}

func idOf(n jsonNode) string { return n["@id"].(string) }

func ref(id string) map[string]string { return map[string]string{"@id": id} }

// addRef appends a reference to id to the multi-valued property prop of n,
// once.
func addRef(n jsonNode, prop, id string) {
	refs, _ := n[prop].([]any)
	for _, r := range refs {
		if r.(map[string]string)["@id"] == id {
			return
		}
	}
	n[prop] = append(refs, ref(id))
}

func literal(typ, value string) map[string]string {
	return map[string]string{"@type": typ, "@value": value}
}

func dateTime(t time.Time) map[string]string {
	return literal("xsd:dateTime", t.UTC().Format(time.RFC3339Nano))
}

func setString(n jsonNode, prop, s string) {
	if s != "" {
		n[prop] = s
	}
}

// contentData gives n a content data facet holding its SHA-256, when sum
// is one (a malformed digest would be an ill-typed xsd:hexBinary).
func (g *caseGraph) contentData(n jsonNode, sum string) {
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		return
	}
	f := g.facet(n, "content-data-facet", "uco-observable:ContentDataFacet")
	h := g.facet(f, "hash", "uco-types:Hash")
	h["uco-types:hashMethod"] = literal("uco-vocabulary:HashNameVocab", "SHA256")
	h["uco-types:hashValue"] = literal("xsd:hexBinary", sum)
	f["uco-observable:hash"] = []any{h}
	addFacet(n, f)
}

// fileNode is a uco-observable:File with its name, path and digest.
func (g *caseGraph) fileNode(key, name, filePath, sum string) jsonNode {
	n := g.node("file", key, "uco-observable:File")
	if _, done := n["uco-core:hasFacet"]; done {
		return n
	}
	ff := g.facet(n, "file-facet", "uco-observable:FileFacet")
	setString(ff, "uco-observable:fileName", name)
	setString(ff, "uco-observable:filePath", filePath)
	addFacet(n, ff)
	g.contentData(n, sum)
	return n
}

// signatureFacet says whether n's signature verified, and by whom.
func (g *caseGraph) signatureFacet(n jsonNode, verified bool, desc string) {
	f := g.facet(n, "digital-signature-info-facet", "uco-observable:DigitalSignatureInfoFacet")
	f["uco-observable:signatureVerified"] = verified
	setString(f, "uco-observable:signatureDescription", desc)
	addFacet(n, f)
}

// archive is the archive name with digest sum, made with its provenance
// record on first use.
func (g *caseGraph) archive(name, sum string) *caseArchive {
	key := name + "\x00" + sum
	ar, ok := g.archives[key]
	if !ok {
		ar = &caseArchive{name: name, sha256: sum}
		ar.file = g.fileNode("archive\x00"+key, name, "", sum)
		ar.record = g.node("provenance-record", "archive\x00"+key, "case-investigation:ProvenanceRecord")
		setString(ar.record, "case-investigation:exhibitNumber", name)
		addRef(ar.record, "uco-core:object", idOf(ar.file))
		g.archives[key] = ar
		g.order = append(g.order, ar)
	}
	g.byName[name] = ar
	return ar
}

// archiveNamed is the archive last seen under name, for an entry that
// records no digest.
func (g *caseGraph) archiveNamed(name string) *caseArchive {
	if ar, ok := g.byName[name]; ok {
		return ar
	}
	return g.archive(name, "")
}

// archiveRef records what the analysis learnt of an archive: its
// acquisition and whether its signature verified.
func (g *caseGraph) archiveRef(r playbooks.ArchiveRef) {
	ar := g.archive(r.Name, r.SHA256)
	var desc []string
	if r.AcquisitionID != "" {
		desc = append(desc, "acquisition "+r.AcquisitionID)
	}
	sig := "not verified"
	if r.Verified {
		sig = "verified"
	}
	if r.SignerKey != "" {
		sig += ", signed by " + signer(r.SignerKey, r.SignerPrincipals)
	}
	desc = append(desc, "archive "+sig)
	ar.record["uco-core:description"] = strings.Join(desc, "; ")
	g.signatureFacet(ar.file, r.Verified, "archive "+sig+" ("+preserve.NamespaceArchive+")")
}

func signer(key string, principals []string) string {
	if len(principals) == 0 {
		return key
	}
	return key + " (" + strings.Join(principals, ", ") + ")"
}

// findingEvidence lists every file a finding cites: its evidence and that
// of its observations.
func findingEvidence(f playbooks.Finding) []playbooks.EvidenceRef {
	evs := append([]playbooks.EvidenceRef{}, f.Evidence...)
	for _, o := range f.Observations {
		evs = append(evs, o.Evidence)
	}
	return evs
}

// evidenceFile is the file an evidence reference cites, inside its archive
// (or the archive itself when no file is named); the archive's provenance
// record lists it.
func (g *caseGraph) evidenceFile(ev playbooks.EvidenceRef) string {
	ar := g.archive(ev.Archive, ev.ArchiveSHA256)
	if ev.Path == "" {
		return idOf(ar.file)
	}
	key := "evidence\x00" + ev.Archive + "\x00" + ev.ArchiveSHA256 + "\x00" + ev.Path + "\x00" + ev.FileSHA256
	f := g.fileNode(key, path.Base(ev.Path), ev.Path, ev.FileSHA256)
	rel := g.node("relationship", key, "uco-observable:ObservableRelationship")
	if _, done := rel["uco-core:source"]; !done {
		rel["uco-core:source"] = ref(idOf(f))
		rel["uco-core:target"] = ref(idOf(ar.file))
		rel["uco-core:kindOfRelationship"] = "Contained_Within"
		rel["uco-core:isDirectional"] = true
		pf := g.facet(rel, "path-relation-facet", "uco-observable:PathRelationFacet")
		pf["uco-observable:path"] = ev.Path
		addFacet(rel, pf)
	}
	addRef(ar.record, "uco-core:object", idOf(f))
	return idOf(f)
}

func (g *caseGraph) identity(name string) string {
	n := g.node("identity", name, "uco-identity:Identity")
	n["uco-core:name"] = name
	return idOf(n)
}

// tool is a tool named like "custos 0.3.0": its name, then its version.
func (g *caseGraph) tool(s string) string {
	n := g.node("tool", s, "uco-tool:Tool")
	name, version, _ := strings.Cut(s, " ")
	n["uco-core:name"] = name
	setString(n, "uco-tool:version", version)
	return idOf(n)
}

func (g *caseGraph) host(name string) string {
	n := g.node("device", name, "uco-observable:Device")
	n["uco-core:name"] = name
	return idOf(n)
}

// custodyAction is one custody entry as an investigative action, informed
// by the previous entry's (prev): the log's hash chain as PROV-O order.
// Entries that make an archive (acquired, sealed, encrypted) produce its
// provenance record; the others act on it.
func (g *caseGraph) custodyAction(ce preserve.CheckedEntry, prev string) string {
	file := cmp.Or(ce.File, fmt.Sprintf("%06d.json", ce.Seq))
	key := file + "\x00" + ce.SHA256
	n := g.node("investigative-action", "custody\x00"+key, "case-investigation:InvestigativeAction")
	id := idOf(n)
	n["uco-core:name"] = cmp.Or(ce.Action, "unreadable custody entry")
	desc := []string{"custody entry " + path.Join(preserve.CustodyDir, file)}
	if ce.AcquisitionID != "" {
		desc = append(desc, "acquisition "+ce.AcquisitionID)
	}
	if ce.Purpose != "" {
		desc = append(desc, "purpose: "+ce.Purpose)
	}
	if ce.Note != "" {
		desc = append(desc, "note: "+ce.Note)
	}
	n["uco-core:description"] = strings.Join(desc, "; ")
	if !ce.Time.IsZero() {
		start, end := ce.Time, ce.Time
		if ce.Action == preserve.ActionAcquired {
			if span, ok := g.spans[ce.AcquisitionID]; ok {
				start, end = span[0], span[1] // the acquisition record's own times
			} else if s, e, ok := collectionSpan(ce.Note); ok {
				start, end = s, e
			}
		}
		n["uco-action:startTime"] = dateTime(start)
		n["uco-action:endTime"] = dateTime(end)
	}
	if ce.Actor != "" {
		n["uco-action:performer"] = ref(g.identity(ce.Actor))
	}
	if ce.To != "" {
		addRef(n, "uco-action:participant", g.identity(ce.To))
	}
	if ce.Tool != "" {
		addRef(n, "uco-action:instrument", g.tool(ce.Tool))
	}
	if ce.Host != "" {
		n["uco-action:environment"] = ref(g.host(ce.Host))
	}
	if ce.Archive != "" {
		var ar *caseArchive
		if ce.ArchiveSHA256 != "" {
			ar = g.archive(ce.Archive, ce.ArchiveSHA256)
		} else {
			ar = g.archiveNamed(ce.Archive)
		}
		switch ce.Action {
		case preserve.ActionEncrypted:
			if plain, ok := g.byName[strings.TrimSuffix(ce.Archive, preserve.EncryptedSuffix)]; ok && plain != ar {
				addRef(n, "uco-action:object", idOf(plain.file))
				ar.file["case-investigation:wasDerivedFrom"] = ref(idOf(plain.file))
				ar.record["case-investigation:rootExhibitNumber"] = plain.name
			}
			fallthrough
		case preserve.ActionAcquired, preserve.ActionSealed:
			addRef(n, "uco-action:result", idOf(ar.file))
			addRef(n, "uco-action:result", idOf(ar.record))
			ar.producers = append(ar.producers, id)
		default:
			addRef(n, "uco-action:object", idOf(ar.file))
			addRef(n, "uco-action:object", idOf(ar.record))
		}
	}
	addRef(n, "uco-action:result", g.custodyEntryFile(file, ce))
	if prev != "" && prev != id {
		addRef(n, "case-investigation:wasInformedBy", prev)
	}
	return id
}

// collectionSpan reads the collection's start and end from the note of an
// acquired entry, which preserve.Seal writes as "collection START to END"
// (to the second): for a report made without the acquisition records.
func collectionSpan(note string) (start, end time.Time, ok bool) {
	span, ok := strings.CutPrefix(note, "collection ")
	s, e, ok2 := strings.Cut(span, " to ")
	if !ok || !ok2 {
		return start, end, false
	}
	start, err1 := time.Parse(time.RFC3339, s)
	end, err2 := time.Parse(time.RFC3339, e)
	return start, end, err1 == nil && err2 == nil && !end.Before(start)
}

// custodyEntryFile is the signed entry file that records a custody action,
// with the digest the log's chain links and what verification learnt of its
// signature.
func (g *caseGraph) custodyEntryFile(file string, ce preserve.CheckedEntry) string {
	n := g.fileNode("custody\x00"+file+"\x00"+ce.SHA256, file, path.Join(preserve.CustodyDir, file), ce.SHA256)
	desc := "signature not verified"
	if ce.Signer != "" {
		desc = "signed by " + signer(ce.Signer, ce.Principals)
	}
	g.signatureFacet(n, ce.Signer != "", desc+" ("+preserve.NamespaceCustody+")")
	return idOf(n)
}

// unrecordedAcquisition stands for the acquisition of an archive no custody
// entry records: its provenance record then still says what produced it.
func (g *caseGraph) unrecordedAcquisition(ar *caseArchive) {
	n := g.node("investigative-action", "acquisition\x00"+ar.name+"\x00"+ar.sha256, "case-investigation:InvestigativeAction")
	n["uco-core:name"] = preserve.ActionAcquired
	n["uco-core:description"] = "acquisition of " + ar.name + "; no custody entry records it"
	addRef(n, "uco-action:result", idOf(ar.file))
	addRef(n, "uco-action:result", idOf(ar.record))
	ar.producers = append(ar.producers, idOf(n))
}

// custodyLog annotates the custody actions with the log's head and whether
// the log verified.
func (g *caseGraph) custodyLog(m *Model, actions []any) {
	n := g.node("annotation", "custody-log", "uco-core:Annotation")
	n["uco-core:name"] = "custody log"
	statement, tags := "custody log", []any{}
	if m.Head.Seq > 0 {
		statement += " head " + m.Head.String()
		tags = append(tags, "custody-head:"+m.Head.String())
	}
	if m.CustodyErr != "" {
		statement += " did not verify: " + m.CustodyErr
		tags = append(tags, "custody:not-verified")
	} else {
		statement += " verified"
		tags = append(tags, "custody:verified")
	}
	n["uco-core:statement"] = statement
	n["uco-core:tag"] = tags
	n["uco-core:object"] = actions
}

// analysis is the playbook analysis: an action on the archives it read,
// informed by the actions that produced them, resulting in a provenance
// record of its findings and one annotation per finding.
func (g *caseGraph) analysis(m *Model, a *playbooks.Analysis) {
	toolName := cmp.Or(a.Tool, m.Tool)
	n := g.node("investigative-action", "analysis\x00"+a.GeneratedAt.UTC().Format(time.RFC3339Nano)+"\x00"+toolName, "case-investigation:InvestigativeAction")
	n["uco-core:name"] = "analysed"
	desc := fmt.Sprintf("playbook analysis keyed to %s %s", a.Tactic.ID, a.Tactic.Name)
	if a.AttackRelease != "" {
		desc += ", MITRE ATT&CK " + a.AttackRelease
	}
	desc += fmt.Sprintf(": %d finding(s) on %d device(s)", len(a.Findings), len(a.Devices))
	if a.Unverified {
		desc += "; archives that failed verification were analysed anyway"
	}
	n["uco-core:description"] = desc
	if !a.GeneratedAt.IsZero() {
		n["uco-action:startTime"] = dateTime(a.GeneratedAt)
		n["uco-action:endTime"] = dateTime(a.GeneratedAt)
	}
	if m.Case.Examiner != "" {
		n["uco-action:performer"] = ref(g.identity(m.Case.Examiner))
	}
	if toolName != "" {
		addRef(n, "uco-action:instrument", g.tool(toolName))
	}
	var archives []any
	for _, ar := range a.Archives {
		arch := g.archive(ar.Name, ar.SHA256)
		addRef(n, "uco-action:object", idOf(arch.file))
		archives = append(archives, ref(idOf(arch.file)))
		for _, p := range arch.producers {
			addRef(n, "case-investigation:wasInformedBy", p)
		}
	}
	devices := map[string]playbooks.DeviceSummary{}
	for _, d := range a.Devices {
		devices[d.Key] = d
	}
	var annotations []any
	var ids []string
	for _, f := range a.Findings {
		annotations = append(annotations, ref(g.finding(f, devices, idOf(n))))
		ids = append(ids, f.ID)
	}
	record := g.node("provenance-record", "findings\x00"+idOf(n), "case-investigation:ProvenanceRecord")
	record["uco-core:name"] = "findings"
	if len(annotations) > 0 {
		record["uco-core:description"] = "findings " + strings.Join(ids, ", ")
		record["uco-core:object"] = annotations
	} else {
		record["uco-core:description"] = "no playbook matched"
		record["uco-core:object"] = archives
	}
	addRef(n, "uco-action:result", idOf(record))
	for _, an := range annotations {
		addRef(n, "uco-action:result", an.(map[string]string)["@id"])
	}
	if len(record["uco-core:object"].([]any)) == 0 {
		record["uco-core:object"] = []any{ref(idOf(n))} // a record lists at least one object
	}
}

// finding is a finding as an annotation on its device, app and the files
// it cites; its tags carry the finding ID, playbook, tactic and
// techniques.
func (g *caseGraph) finding(f playbooks.Finding, devices map[string]playbooks.DeviceSummary, analysis string) string {
	n := g.node("annotation", "finding\x00"+f.ID+"\x00"+f.Playbook+"\x00"+f.Device, "uco-core:Annotation")
	n["uco-core:name"] = f.ID
	techniques := "none"
	if len(f.Techniques) > 0 {
		techniques = strings.Join(f.Techniques, ", ")
	}
	n["uco-core:statement"] = fmt.Sprintf("%s %s (playbook %s, technique %s, severity %s, confidence %s)",
		f.ID, f.Title, f.Playbook, techniques, f.Severity, f.Confidence)
	setString(n, "uco-core:description", f.Rationale)
	var tags []any
	tag := func(label, value string) {
		if value != "" {
			tags = append(tags, label+":"+value)
		}
	}
	tag("finding", f.ID)
	tag("playbook", f.Playbook)
	tag("tactic", f.Tactic)
	for _, t := range f.Techniques {
		tag("technique", t)
	}
	tag("severity", f.Severity)
	tag("confidence", f.Confidence)
	tag("role", f.Role)
	if len(tags) > 0 {
		n["uco-core:tag"] = tags
	}
	if f.Device != "" {
		addRef(n, "uco-core:object", g.device(f, devices[f.Device]))
	}
	if f.App != nil {
		addRef(n, "uco-core:object", g.app(*f.App))
	}
	for _, ev := range findingEvidence(f) {
		addRef(n, "uco-core:object", g.evidenceFile(ev))
	}
	if _, ok := n["uco-core:object"]; !ok {
		addRef(n, "uco-core:object", analysis) // an annotation is about at least one object
	}
	return idOf(n)
}

func (g *caseGraph) device(f playbooks.Finding, d playbooks.DeviceSummary) string {
	n := g.node("mobile-device", f.Device, "uco-observable:MobileDevice")
	n["uco-core:name"] = cmp.Or(f.DeviceName, d.Name, f.Device)
	desc := "MDM record " + f.Device
	if d.Source != "" || d.Platform != "" {
		desc += " (" + strings.Join(nonEmpty(d.Source, d.Platform, d.OSVersion), ", ") + ")"
	}
	n["uco-core:description"] = desc
	if d.Serial != "" {
		if _, done := n["uco-core:hasFacet"]; !done {
			df := g.facet(n, "device-facet", "uco-observable:DeviceFacet")
			df["uco-observable:serialNumber"] = d.Serial
			addFacet(n, df)
		}
	}
	return idOf(n)
}

func (g *caseGraph) app(a playbooks.AppRef) string {
	n := g.node("application", strings.Join([]string{a.AppID, a.Name, a.Version, a.Publisher}, "\x00"), "uco-observable:Application")
	n["uco-core:name"] = a.Name
	if a.Publisher != "" {
		n["uco-core:description"] = "publisher: " + a.Publisher
	}
	if _, done := n["uco-core:hasFacet"]; !done && (a.AppID != "" || a.Version != "") {
		af := g.facet(n, "application-facet", "uco-observable:ApplicationFacet")
		setString(af, "uco-observable:applicationIdentifier", a.AppID)
		setString(af, "uco-observable:version", a.Version)
		addFacet(n, af)
	}
	return idOf(n)
}

func nonEmpty(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// investigation is the case: it comes first and lists every other node of
// the graph.
func (g *caseGraph) investigation(c preserve.CaseInfo) {
	var auth string
	if c.Authority != "" {
		a := g.node("authorization", c.Authority, "case-investigation:Authorization")
		a["case-investigation:authorizationIdentifier"] = c.Authority
		auth = idOf(a)
	}
	objects := make([]any, 0, len(g.nodes))
	for _, n := range g.nodes {
		objects = append(objects, ref(idOf(n)))
	}
	inv := jsonNode{"@id": g.iri("investigation", c.ID), "@type": "case-investigation:Investigation"}
	setString(inv, "uco-core:name", c.ID)
	setString(inv, "uco-core:description", c.Title)
	if !c.CreatedAt.IsZero() {
		inv["uco-core:startTime"] = dateTime(c.CreatedAt)
	}
	if auth != "" {
		inv["case-investigation:relevantAuthorization"] = ref(auth)
	}
	inv["uco-core:object"] = objects
	g.nodes = append([]jsonNode{inv}, g.nodes...)
}
