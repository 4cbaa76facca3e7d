package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/custos-ir/custos/playbooks"
)

// OCSF output: one OCSF 1.8.0 Detection Finding event (class 2004,
// category 2 Findings, activity 1 Create) per finding, for SIEMs and data
// lakes that ingest OCSF. The mapping is documented in
// docs/report-formats.md; the tests validate every event against the
// schema's own sources, vendored in testdata/ocsf/schema.

// The OCSF classification of every event written.
const (
	ocsfVersion      = "1.8.0"
	ocsfCategoryUID  = 2
	ocsfCategoryName = "Findings"
	ocsfClassUID     = 2004
	ocsfClassName    = "Detection Finding"
	ocsfActivityID   = 1 // Create: custos reports a finding once per analysis
	ocsfActivityName = "Create"
	ocsfTypeUID      = ocsfClassUID*100 + ocsfActivityID
	ocsfTypeName     = ocsfClassName + ": " + ocsfActivityName
)

// OCSF writes the findings of m.Analysis as a JSON array of OCSF Detection
// Finding events, in the analysis's order, indented two spaces. The output
// depends on m alone (times are the findings' and the analysis's, ids are
// derived from the finding ids), so the same analysis gives the same bytes.
func OCSF(w io.Writer, m *Model) error {
	a := m.Analysis
	x := ocsfMapper{
		m:        m,
		at:       ocsfAnalysisTime(m),
		devices:  map[string]playbooks.DeviceSummary{},
		findings: map[string]playbooks.Finding{},
		archives: map[string]playbooks.ArchiveRef{},
		techs:    map[string]playbooks.Technique{},
	}
	for _, d := range a.Devices {
		x.devices[d.Key] = d
	}
	for _, f := range a.Findings {
		x.findings[f.ID] = f
	}
	for _, ar := range a.Archives {
		x.archives[ar.SHA256] = ar
	}
	for _, t := range playbooks.Techniques() {
		x.techs[t.ID] = t
	}
	events := make([]ocsfEvent, 0, len(a.Findings)) // [] rather than null when there are none
	for _, f := range a.Findings {
		events = append(events, x.event(f))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(events); err != nil {
		return fmt.Errorf("writing ocsf events: %w", err)
	}
	return nil
}

// ocsfMapper holds what every event of one analysis is mapped with.
type ocsfMapper struct {
	m        *Model
	at       time.Time
	devices  map[string]playbooks.DeviceSummary // by key
	findings map[string]playbooks.Finding       // by id, for related events
	archives map[string]playbooks.ArchiveRef    // by sha256
	techs    map[string]playbooks.Technique     // by id
}

func (x *ocsfMapper) event(f playbooks.Finding) ocsfEvent {
	e := ocsfEvent{
		ActivityID: ocsfActivityID, ActivityName: ocsfActivityName,
		CategoryUID: ocsfCategoryUID, CategoryName: ocsfCategoryName,
		ClassUID: ocsfClassUID, ClassName: ocsfClassName,
		TypeUID: ocsfTypeUID, TypeName: ocsfTypeName,
		Time:      ocsfMillis(x.at),
		Count:     f.ObservationCount,
		StatusID:  1,
		Status:    "New",
		IsAlert:   f.Severity != "info",
		Message:   f.Title,
		Device:    x.device(f),
		Resources: ocsfApp(f.App),
		Metadata: ocsfMetadata{
			Version:        ocsfVersion,
			UID:            x.eventUID(f.ID),
			CorrelationUID: x.m.Case.ID,
			Product:        ocsfProduct{Name: "custos", VendorName: "custos-ir", Version: ocsfToolVersion(cmp.Or(x.m.Tool, x.m.Analysis.Tool))},
		},
		Unmapped: ocsfUnmapped{
			Role: f.Role, BaseConfidence: f.BaseConfidence, CorroboratedBy: f.CorroboratedBy,
			Adjustments: f.Adjustments, Facts: f.Facts, Indicators: f.Indicators,
		},
	}
	if e.Unmapped.CorroboratedBy == nil {
		e.Unmapped.CorroboratedBy = []string{} // as in findings.json
	}
	e.SeverityID, e.Severity = ocsfSeverity(f.Severity)
	e.ConfidenceID, e.Confidence = ocsfConfidence(f.Confidence)
	if f.ObservedTo != nil {
		e.Time = ocsfMillis(*f.ObservedTo)
		e.EndTime = ocsfMillis(*f.ObservedTo)
	}
	if f.ObservedFrom != nil {
		e.StartTime = ocsfMillis(*f.ObservedFrom)
	}
	r := f.Response
	if len(r.Triage)+len(r.Preserve)+len(r.Isolate)+len(r.Remediate) > 0 {
		e.Unmapped.Response = &r
	}
	e.FindingInfo = ocsfFindingInfo{
		UID: f.ID, Title: f.Title, Desc: f.Rationale,
		Types:         []string{f.Playbook},
		Analytic:      ocsfAnalytic{UID: f.Playbook, Name: f.Playbook, TypeID: 1, Type: "Rule"},
		Attacks:       x.attacks(f),
		CreatedTime:   ocsfMillis(x.at),
		FirstSeenTime: e.StartTime,
		LastSeenTime:  e.EndTime,
	}
	if d, ok := x.devices[f.Device]; ok && d.Source != "" {
		e.FindingInfo.DataSources = []string{d.Source}
	}
	for _, id := range f.CorroboratedBy {
		rel := ocsfRelatedEvent{UID: x.eventUID(id), TypeUID: ocsfTypeUID, TypeName: ocsfTypeName}
		if o, ok := x.findings[id]; ok {
			rel.Title = o.Title
			rel.SeverityID, rel.Severity = ocsfSeverity(o.Severity)
		}
		e.FindingInfo.RelatedEvents = append(e.FindingInfo.RelatedEvents, rel)
	}
	e.FindingInfo.RelatedEventsCount = len(e.FindingInfo.RelatedEvents)
	for _, ref := range f.Evidence {
		e.Evidences = append(e.Evidences, x.evidence(ref, nil))
	}
	for i := range f.Observations {
		o := &f.Observations[i]
		e.Evidences = append(e.Evidences, x.evidence(o.Evidence, &ocsfObservation{
			Time: o.Time.UTC().Format(time.RFC3339Nano), Type: o.Type, Severity: o.Severity, Facts: o.Facts,
		}))
	}
	return e
}

// eventUID is the metadata.uid of the event of finding id: one per
// finding, case and analysis run, so a re-analysis gives new events, and
// related_events can name an event by its finding's id.
func (x *ocsfMapper) eventUID(findingID string) string {
	sum := sha256.Sum256([]byte("custos ocsf\x00" + x.m.Case.ID + "\x00" + x.at.UTC().Format(time.RFC3339Nano) + "\x00" + findingID))
	return hex.EncodeToString(sum[:16])
}

// attacks is one attack per technique of f, each under f's tactic; a
// finding without a technique gets the tactic alone.
func (x *ocsfMapper) attacks(f playbooks.Finding) []ocsfAttack {
	a := x.m.Analysis
	tactic := ocsfNamed{UID: cmp.Or(f.Tactic, a.Tactic.ID)}
	if tactic.UID == a.Tactic.ID {
		tactic.Name = a.Tactic.Name
	}
	version := ocsfAttackVersion(a.AttackRelease)
	if len(f.Techniques) == 0 {
		return []ocsfAttack{{Tactic: &tactic, Version: version}}
	}
	var out []ocsfAttack
	for _, id := range f.Techniques {
		at := ocsfAttack{Tactic: &tactic, Version: version}
		parent, _, sub := strings.Cut(id, ".")
		at.Technique = &ocsfNamed{UID: parent, Name: x.techs[parent].Name}
		if sub {
			at.SubTechnique = &ocsfNamed{UID: id, Name: x.techs[id].Name}
		}
		out = append(out, at)
	}
	return out
}

func (x *ocsfMapper) device(f playbooks.Finding) *ocsfDevice {
	d := x.devices[f.Device]
	dev := &ocsfDevice{UID: f.Device, Name: cmp.Or(f.DeviceName, d.Name)}
	switch d.Platform {
	case "android", "ios":
		dev.TypeID, dev.Type = 5, "Mobile"
	case "ipados":
		dev.TypeID, dev.Type = 4, "Tablet"
	default:
		dev.TypeID, dev.Type = 0, "Unknown" // a Windows or macOS record may be a desktop or a laptop
	}
	dev.OS = ocsfOSOf(d.Platform, d.OSVersion)
	if d.Serial != "" {
		dev.HWInfo = &ocsfHWInfo{SerialNumber: d.Serial}
	}
	if d.User != "" {
		dev.Owner = &ocsfUser{Name: d.User}
	}
	switch d.Compliance {
	case "compliant":
		dev.IsCompliant = ocsfBool(true)
	case "noncompliant":
		dev.IsCompliant = ocsfBool(false)
	}
	switch d.Ownership {
	case "personal":
		dev.IsPersonal = ocsfBool(true)
	case "corporate":
		dev.IsPersonal = ocsfBool(false)
	}
	if t, err := time.Parse(time.RFC3339, d.LastSeenAt); err == nil {
		dev.LastSeenTime = ocsfMillis(t)
	}
	return dev
}

// evidence maps an EvidenceRef: the file inside the archive is the OCSF
// file; the archive, the JSON pointer and the excerpt, which OCSF has no
// attribute for, go in data. o is the observation the reference belongs
// to, if any.
func (x *ocsfMapper) evidence(ref playbooks.EvidenceRef, o *ocsfObservation) ocsfEvidence {
	ev := ocsfEvidence{Data: ocsfEvidenceData{
		Archive: ref.Archive, ArchiveSHA256: ref.ArchiveSHA256, Pointer: ref.Pointer, Excerpt: ref.Excerpt, Observation: o,
	}}
	if ar, ok := x.archives[ref.ArchiveSHA256]; ok && ref.ArchiveSHA256 != "" {
		ev.Data.ArchiveVerified = ocsfBool(ar.Verified)
	}
	if ref.Path != "" {
		ev.File = &ocsfFile{Name: path.Base(ref.Path), Path: ref.Path, TypeID: 1, Type: "Regular File"}
		if ref.FileSHA256 != "" {
			ev.File.Hashes = []ocsfFingerprint{{AlgorithmID: 3, Algorithm: "SHA-256", Value: ref.FileSHA256}}
		}
	}
	return ev
}

// ocsfApp is the app of an app-scope finding as the finding's target
// resource.
func ocsfApp(app *playbooks.AppRef) []ocsfResource {
	if app == nil {
		return nil
	}
	r := ocsfResource{Name: app.Name, UID: app.AppID, Type: "Mobile App", Version: app.Version, RoleID: 1, Role: "Target"}
	if app.Publisher != "" {
		r.Data = &ocsfAppData{Publisher: app.Publisher}
	}
	return []ocsfResource{r}
}

// ocsfAnalysisTime is when the analysis ran, which is when its findings
// were created.
func ocsfAnalysisTime(m *Model) time.Time {
	if !m.Analysis.GeneratedAt.IsZero() {
		return m.Analysis.GeneratedAt
	}
	return m.Generated
}

// ocsfMillis is an OCSF timestamp_t: milliseconds since the epoch.
func ocsfMillis(t time.Time) int64 { return t.UnixMilli() }

func ocsfBool(b bool) *bool { return &b }

// ocsfSeverity maps a custos severity to OCSF severity_id and its caption.
func ocsfSeverity(s string) (int, string) {
	switch s {
	case "info":
		return 1, "Informational"
	case "low":
		return 2, "Low"
	case "medium":
		return 3, "Medium"
	case "high":
		return 4, "High"
	case "critical":
		return 5, "Critical"
	case "":
		return 0, "Unknown"
	}
	return 99, s // Other: the source's own value
}

// ocsfConfidence maps a custos confidence to OCSF confidence_id and its
// caption.
func ocsfConfidence(c string) (int, string) {
	switch c {
	case "low":
		return 1, "Low"
	case "medium":
		return 2, "Medium"
	case "high":
		return 3, "High"
	case "":
		return 0, "Unknown"
	}
	return 99, c
}

// ocsfOSOf maps a custos platform to the OCSF os object; nil when the
// platform is unknown (os requires a name and a type).
func ocsfOSOf(platform, version string) *ocsfOS {
	os := &ocsfOS{Version: version}
	switch platform {
	case "", "unknown":
		return nil
	case "android":
		os.TypeID, os.Type = 201, "Android"
	case "ios":
		os.TypeID, os.Type = 301, "iOS"
	case "ipados":
		os.TypeID, os.Type = 302, "iPadOS"
	case "windows":
		os.TypeID, os.Type = 100, "Windows"
	case "macos":
		os.TypeID, os.Type = 300, "macOS"
	default:
		os.TypeID, os.Type = 99, platform
	}
	os.Name = os.Type
	return os
}

// ocsfToolVersion is the version in a tool string such as
// "custos 0.1.0-dev".
func ocsfToolVersion(tool string) string {
	if v, ok := strings.CutPrefix(tool, "custos "); ok {
		return v
	}
	return tool
}

// ocsfAttackVersion is the matrix version of an ATT&CK release name such
// as "Mobile ATT&CK 18.1" (the technique ids say which matrix); another
// name is kept whole.
func ocsfAttackVersion(release string) string {
	if i := strings.LastIndex(release, "ATT&CK "); i >= 0 {
		if v := release[i+len("ATT&CK "):]; v != "" && v[0] >= '0' && v[0] <= '9' && !strings.Contains(v, " ") {
			return v
		}
	}
	return release
}

// The event and its objects, with the OCSF attribute names. Fields are in
// a fixed order, so the output does not depend on map iteration.
type (
	ocsfEvent struct {
		ActivityID     int             `json:"activity_id"`
		ActivityName   string          `json:"activity_name"`
		CategoryUID    int             `json:"category_uid"`
		CategoryName   string          `json:"category_name"`
		ClassUID       int             `json:"class_uid"`
		ClassName      string          `json:"class_name"`
		TypeUID        int             `json:"type_uid"`
		TypeName       string          `json:"type_name"`
		Time           int64           `json:"time"`
		TimezoneOffset int             `json:"timezone_offset"` // times are UTC
		StartTime      int64           `json:"start_time,omitempty"`
		EndTime        int64           `json:"end_time,omitempty"`
		Count          int             `json:"count,omitempty"`
		SeverityID     int             `json:"severity_id"`
		Severity       string          `json:"severity"`
		ConfidenceID   int             `json:"confidence_id"`
		Confidence     string          `json:"confidence"`
		StatusID       int             `json:"status_id"`
		Status         string          `json:"status"`
		IsAlert        bool            `json:"is_alert"`
		Message        string          `json:"message"`
		FindingInfo    ocsfFindingInfo `json:"finding_info"`
		Device         *ocsfDevice     `json:"device,omitempty"`
		Resources      []ocsfResource  `json:"resources,omitempty"`
		Evidences      []ocsfEvidence  `json:"evidences,omitempty"`
		Metadata       ocsfMetadata    `json:"metadata"`
		Unmapped       ocsfUnmapped    `json:"unmapped"`
	}
	ocsfFindingInfo struct {
		UID                string             `json:"uid"`
		Title              string             `json:"title"`
		Desc               string             `json:"desc,omitempty"`
		Types              []string           `json:"types"`
		Analytic           ocsfAnalytic       `json:"analytic"`
		Attacks            []ocsfAttack       `json:"attacks"`
		CreatedTime        int64              `json:"created_time,omitempty"`
		FirstSeenTime      int64              `json:"first_seen_time,omitempty"`
		LastSeenTime       int64              `json:"last_seen_time,omitempty"`
		DataSources        []string           `json:"data_sources,omitempty"`
		RelatedEvents      []ocsfRelatedEvent `json:"related_events,omitempty"`
		RelatedEventsCount int                `json:"related_events_count,omitempty"`
	}
	ocsfAnalytic struct {
		UID    string `json:"uid"`
		Name   string `json:"name"`
		TypeID int    `json:"type_id"`
		Type   string `json:"type"`
	}
	ocsfAttack struct {
		Tactic       *ocsfNamed `json:"tactic,omitempty"`
		Technique    *ocsfNamed `json:"technique,omitempty"`
		SubTechnique *ocsfNamed `json:"sub_technique,omitempty"`
		Version      string     `json:"version,omitempty"`
	}
	// ocsfNamed is an OCSF tactic, technique or sub_technique.
	ocsfNamed struct {
		UID  string `json:"uid"`
		Name string `json:"name,omitempty"`
	}
	ocsfRelatedEvent struct {
		UID        string `json:"uid"`
		TypeUID    int    `json:"type_uid"`
		TypeName   string `json:"type_name"`
		Title      string `json:"title,omitempty"`
		SeverityID int    `json:"severity_id,omitempty"`
		Severity   string `json:"severity,omitempty"`
	}
	ocsfDevice struct {
		UID          string      `json:"uid"`
		Name         string      `json:"name,omitempty"`
		TypeID       int         `json:"type_id"`
		Type         string      `json:"type"`
		OS           *ocsfOS     `json:"os,omitempty"`
		HWInfo       *ocsfHWInfo `json:"hw_info,omitempty"`
		Owner        *ocsfUser   `json:"owner,omitempty"`
		IsCompliant  *bool       `json:"is_compliant,omitempty"`
		IsPersonal   *bool       `json:"is_personal,omitempty"`
		LastSeenTime int64       `json:"last_seen_time,omitempty"`
	}
	ocsfOS struct {
		Name    string `json:"name"`
		TypeID  int    `json:"type_id"`
		Type    string `json:"type"`
		Version string `json:"version,omitempty"`
	}
	ocsfHWInfo struct {
		SerialNumber string `json:"serial_number"`
	}
	ocsfUser struct {
		Name string `json:"name"`
	}
	ocsfResource struct {
		Name    string       `json:"name"`
		UID     string       `json:"uid,omitempty"`
		Type    string       `json:"type"`
		Version string       `json:"version,omitempty"`
		RoleID  int          `json:"role_id"`
		Role    string       `json:"role"`
		Data    *ocsfAppData `json:"data,omitempty"`
	}
	ocsfAppData struct {
		Publisher string `json:"publisher"`
	}
	ocsfEvidence struct {
		File *ocsfFile        `json:"file,omitempty"`
		Data ocsfEvidenceData `json:"data"`
	}
	ocsfFile struct {
		Name   string            `json:"name"`
		Path   string            `json:"path"`
		TypeID int               `json:"type_id"`
		Type   string            `json:"type"`
		Hashes []ocsfFingerprint `json:"hashes,omitempty"`
	}
	ocsfFingerprint struct {
		AlgorithmID int    `json:"algorithm_id"`
		Algorithm   string `json:"algorithm"`
		Value       string `json:"value"`
	}
	// ocsfEvidenceData is the part of an EvidenceRef OCSF has no
	// attribute for, with the observation (event) it belongs to.
	ocsfEvidenceData struct {
		Archive         string           `json:"archive"`
		ArchiveSHA256   string           `json:"archive_sha256"`
		ArchiveVerified *bool            `json:"archive_verified,omitempty"`
		Pointer         string           `json:"pointer"`
		Excerpt         string           `json:"excerpt,omitempty"`
		Observation     *ocsfObservation `json:"observation,omitempty"`
	}
	ocsfObservation struct {
		Time     string           `json:"time"`
		Type     string           `json:"type"`
		Severity string           `json:"severity"`
		Facts    []playbooks.Fact `json:"facts"`
	}
	ocsfMetadata struct {
		Version        string      `json:"version"`
		UID            string      `json:"uid"`
		CorrelationUID string      `json:"correlation_uid,omitempty"` // the case id
		Product        ocsfProduct `json:"product"`
	}
	ocsfProduct struct {
		Name       string `json:"name"`
		VendorName string `json:"vendor_name"`
		Version    string `json:"version,omitempty"`
	}
	// ocsfUnmapped is what custos states about a finding that OCSF has
	// no attribute for, under the names findings.json uses.
	ocsfUnmapped struct {
		Role           string              `json:"role,omitempty"`
		BaseConfidence string              `json:"base_confidence,omitempty"`
		CorroboratedBy []string            `json:"corroborated_by"`
		Adjustments    []string            `json:"adjustments,omitempty"`
		Facts          []playbooks.Fact    `json:"facts,omitempty"`
		Indicators     []playbooks.IOCRef  `json:"indicators,omitempty"`
		Response       *playbooks.Response `json:"response,omitempty"`
	}
)
