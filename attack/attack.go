// Package attack reads MITRE ATT&CK Mobile STIX bundles and exposes what
// custos keys its findings to: tactic TA0041 (Execution), its active
// techniques, their mitigations and their detection strategies with the
// analytics and data components behind them. Revoked and deprecated
// objects are skipped; an id that was revoked resolves, through its
// revoked-by relationship, to the object that replaced it.
//
// The Mobile ATT&CK 18.1 bundle is embedded; `custos attack import` stores
// a newer one (validated) in the user's configuration directory, which
// Current then prefers.
package attack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync"

	"github.com/custos-ir/custos/internal/fsutil"
	attackdata "github.com/custos-ir/custos/third_party/attack"
)

// TacticID is the tactic custos is keyed to.
const TacticID = "TA0041"

// Notice must accompany ATT&CK content wherever it is shown.
const Notice = "© 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation. MITRE ATT&CK® is a registered trademark of The MITRE Corporation."

// MaxBundle bounds a bundle read.
const MaxBundle = 256 << 20

// Data is what custos uses of one ATT&CK Mobile release.
type Data struct {
	Release    string      `json:"release"`
	SHA256     string      `json:"sha256"` // of the bundle as read (uncompressed)
	Tactic     Tactic      `json:"tactic"`
	Techniques []Technique `json:"techniques"` // active members of the tactic, by id
	// revoked maps a revoked technique id to its replacement's id.
	revoked map[string]string
}

// Tactic is an ATT&CK tactic.
type Tactic struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	STIXID      string `json:"stix_id"`
	Modified    string `json:"modified"`
	Description string `json:"description"`
}

// Technique is an active technique of the tactic.
type Technique struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	STIXID       string       `json:"stix_id"`
	Modified     string       `json:"modified"`
	URL          string       `json:"url"`
	Description  string       `json:"description"`
	Subtechnique bool         `json:"subtechnique"`
	Platforms    []string     `json:"platforms"`
	Mitigations  []Mitigation `json:"mitigations"`
	Detections   []Detection  `json:"detection_strategies"`
}

// Mitigation is a course of action that mitigates a technique.
type Mitigation struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Modified string `json:"modified"`
	How      string `json:"how"` // the relationship's description: how it mitigates this technique
}

// Detection is a detection strategy for a technique.
type Detection struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Analytics []Analytic `json:"analytics"`
}

// Analytic is one analytic of a detection strategy and the data
// components it reads.
type Analytic struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Platforms      []string `json:"platforms"`
	DataComponents []string `json:"data_components"`
}

// Lookup returns the active technique id names, following revoked-by.
func (d *Data) Lookup(id string) (Technique, bool) {
	for range 8 { // a chain of revocations, bounded
		for _, t := range d.Techniques {
			if t.ID == id {
				return t, true
			}
		}
		next, ok := d.revoked[id]
		if !ok {
			return Technique{}, false
		}
		id = next
	}
	return Technique{}, false
}

// Replacement returns the id that replaced a revoked technique id.
func (d *Data) Replacement(id string) (string, bool) {
	r, ok := d.revoked[id]
	return r, ok
}

type stixObject struct {
	Type               string `json:"type"`
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Description        string `json:"description"`
	Modified           string `json:"modified"`
	Revoked            bool   `json:"revoked"`
	Deprecated         bool   `json:"x_mitre_deprecated"`
	ExternalReferences []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
		URL        string `json:"url"`
	} `json:"external_references"`
	KillChainPhases []struct {
		KillChainName string `json:"kill_chain_name"`
		PhaseName     string `json:"phase_name"`
	} `json:"kill_chain_phases"`
	Shortname        string   `json:"x_mitre_shortname"`
	IsSubtechnique   bool     `json:"x_mitre_is_subtechnique"`
	Platforms        []string `json:"x_mitre_platforms"`
	Domains          []string `json:"x_mitre_domains"`
	RelationshipType string   `json:"relationship_type"`
	SourceRef        string   `json:"source_ref"`
	TargetRef        string   `json:"target_ref"`
	AnalyticRefs     []string `json:"x_mitre_analytic_refs"`
	LogSourceRefs    []struct {
		DataComponentRef string `json:"x_mitre_data_component_ref"`
	} `json:"x_mitre_log_source_references"`
}

func (o *stixObject) externalID() (id, url string) {
	for _, r := range o.ExternalReferences {
		if r.SourceName == "mitre-attack" {
			return r.ExternalID, r.URL
		}
	}
	return "", ""
}

func (o *stixObject) active() bool { return !o.Revoked && !o.Deprecated }

// Parse reads a Mobile ATT&CK STIX bundle and checks that it is one: a
// bundle, the Mobile domain, tactic TA0041 with at least one active
// technique.
func Parse(release string, r io.Reader) (*Data, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxBundle+1))
	if err != nil {
		return nil, err
	}
	return parse(release, raw)
}

// parse is Parse of a bundle read whole.
func parse(release string, raw []byte) (*Data, error) {
	if len(raw) > MaxBundle {
		return nil, fmt.Errorf("bundle larger than %d bytes", MaxBundle)
	}
	var bundle struct {
		Type    string       `json:"type"`
		Objects []stixObject `json:"objects"`
	}
	if err := json.Unmarshal(raw, &bundle); err != nil {
		return nil, fmt.Errorf("not a STIX bundle: %w", err)
	}
	if bundle.Type != "bundle" {
		return nil, fmt.Errorf("not a STIX bundle (type %q)", bundle.Type)
	}
	sum := sha256.Sum256(raw)
	d := &Data{Release: release, SHA256: hex.EncodeToString(sum[:]), revoked: map[string]string{}}
	byID := map[string]*stixObject{}
	mobile := false
	for i := range bundle.Objects {
		o := &bundle.Objects[i]
		byID[o.ID] = o
		if slices.Contains(o.Domains, "mobile-attack") {
			mobile = true
		}
	}
	if !mobile {
		return nil, errors.New("no object of the mobile-attack domain: not a Mobile ATT&CK bundle")
	}
	var tactic *stixObject
	for i := range bundle.Objects {
		o := &bundle.Objects[i]
		if id, _ := o.externalID(); o.Type == "x-mitre-tactic" && id == TacticID && o.active() {
			tactic = o
		}
	}
	if tactic == nil {
		return nil, fmt.Errorf("no active tactic %s", TacticID)
	}
	d.Tactic = Tactic{ID: TacticID, Name: tactic.Name, STIXID: tactic.ID, Modified: tactic.Modified, Description: tactic.Description}
	members := map[string]*Technique{} // by STIX id
	for i := range bundle.Objects {
		o := &bundle.Objects[i]
		if o.Type != "attack-pattern" {
			continue
		}
		id, url := o.externalID()
		inTactic := slices.ContainsFunc(o.KillChainPhases, func(k struct {
			KillChainName string `json:"kill_chain_name"`
			PhaseName     string `json:"phase_name"`
		}) bool {
			return k.KillChainName == "mitre-mobile-attack" && k.PhaseName == tactic.Shortname
		})
		if !inTactic || !o.active() || id == "" {
			continue
		}
		t := &Technique{ID: id, Name: o.Name, STIXID: o.ID, Modified: o.Modified, URL: url, Description: o.Description,
			Subtechnique: o.IsSubtechnique, Platforms: o.Platforms, Mitigations: []Mitigation{}, Detections: []Detection{}}
		members[o.ID] = t
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("tactic %s has no active technique", TacticID)
	}
	for i := range bundle.Objects {
		rel := &bundle.Objects[i]
		if rel.Type != "relationship" || rel.Revoked || rel.Deprecated {
			continue
		}
		src, dst := byID[rel.SourceRef], byID[rel.TargetRef]
		if src == nil || dst == nil {
			continue
		}
		switch rel.RelationshipType {
		case "revoked-by":
			from, _ := src.externalID()
			to, _ := dst.externalID()
			if src.Type == "attack-pattern" && from != "" && to != "" {
				d.revoked[from] = to
			}
		case "mitigates":
			t := members[dst.ID]
			if t == nil || src.Type != "course-of-action" || !src.active() {
				continue
			}
			id, _ := src.externalID()
			t.Mitigations = append(t.Mitigations, Mitigation{ID: id, Name: src.Name, Modified: src.Modified, How: rel.Description})
		case "detects":
			t := members[dst.ID]
			if t == nil || src.Type != "x-mitre-detection-strategy" || !src.active() {
				continue
			}
			id, _ := src.externalID()
			det := Detection{ID: id, Name: src.Name, Analytics: []Analytic{}}
			for _, ref := range src.AnalyticRefs {
				an := byID[ref]
				if an == nil || !an.active() {
					continue
				}
				aid, _ := an.externalID()
				a := Analytic{ID: aid, Name: an.Name, Platforms: an.Platforms, DataComponents: []string{}}
				for _, ls := range an.LogSourceRefs {
					if dc := byID[ls.DataComponentRef]; dc != nil && !slices.Contains(a.DataComponents, dc.Name) {
						a.DataComponents = append(a.DataComponents, dc.Name)
					}
				}
				det.Analytics = append(det.Analytics, a)
			}
			t.Detections = append(t.Detections, det)
		}
	}
	for _, t := range members {
		sort.Slice(t.Mitigations, func(i, j int) bool { return t.Mitigations[i].ID < t.Mitigations[j].ID })
		sort.Slice(t.Detections, func(i, j int) bool { return t.Detections[i].ID < t.Detections[j].ID })
		d.Techniques = append(d.Techniques, *t)
	}
	sort.Slice(d.Techniques, func(i, j int) bool { return d.Techniques[i].ID < d.Techniques[j].ID })
	return d, nil
}

// Builtin is the embedded Mobile ATT&CK 18.1.
var Builtin = sync.OnceValue(func() *Data {
	r, err := attackdata.Open()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	d, err := Parse(attackdata.Release, r)
	if err != nil {
		panic("embedded ATT&CK bundle: " + err.Error())
	}
	if d.SHA256 != attackdata.SHA256 {
		panic("embedded ATT&CK bundle: digest " + d.SHA256)
	}
	return d
})

// Dir is where an imported release is kept: $CUSTOS_ATTACK_DIR, or
// custos/attack in the user's configuration directory.
func Dir() (string, error) {
	if d := os.Getenv("CUSTOS_ATTACK_DIR"); d != "" {
		return d, nil
	}
	c, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(c, "custos", "attack"), nil
}

// index names the imported release: its name and the digest of its
// bundle, stored beside it as mobile-attack-<sha256>.json. It is written
// last, in one atomic step, so a failed or concurrent import never pairs
// a bundle with another release's name.
const indexFile = "imported.json"

type index struct {
	Release string `json:"release"`
	SHA256  string `json:"sha256"`
}

func bundleFile(sha string) string { return "mobile-attack-" + sha + ".json" }

// releaseName is a release as it is written in reports.
var releaseName = regexp.MustCompile(`^Mobile ATT&CK [0-9]{1,3}\.[0-9]{1,3}$`)

// mitreFileName is how MITRE names a Mobile ATT&CK release's bundle.
var mitreFileName = regexp.MustCompile(`mobile-attack-([0-9]{1,3}\.[0-9]{1,3})\.json$`)

// ReleaseFromFileName reads the release from a file named like MITRE's
// (mobile-attack-18.1.json), or returns "".
func ReleaseFromFileName(name string) string {
	m := mitreFileName.FindStringSubmatch(filepath.Base(name))
	if m == nil {
		return ""
	}
	return "Mobile ATT&CK " + m[1]
}

// Import validates the bundle in file and stores it, with its release, in
// dir, replacing what was there. It returns the data imported.
func Import(dir, file, release string) (*Data, error) {
	if !releaseName.MatchString(release) {
		return nil, fmt.Errorf("release %q: want \"Mobile ATT&CK N.N\"", release)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxBundle+1))
	f.Close()
	if err != nil {
		return nil, err
	}
	d, err := parse(release, raw) // read once, written as read
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := fsutil.WriteFile(filepath.Join(dir, bundleFile(d.SHA256)), raw, 0o644); err != nil {
		return nil, err
	}
	idx, _ := json.Marshal(index{Release: release, SHA256: d.SHA256})
	if err := fsutil.WriteFile(filepath.Join(dir, indexFile), idx, 0o644); err != nil {
		return nil, err
	}
	return d, nil
}

// Current is the release in use: the one imported into Dir, validated
// again, or else the embedded one.
var Current = sync.OnceValues(load)

func load() (*Data, error) {
	dir, err := Dir()
	if err != nil {
		return Builtin(), nil
	}
	raw, err := os.ReadFile(filepath.Join(dir, indexFile))
	if errors.Is(err, os.ErrNotExist) {
		return Builtin(), nil
	} else if err != nil {
		return nil, err
	}
	var idx index
	if err := json.Unmarshal(raw, &idx); err != nil || !releaseName.MatchString(idx.Release) || len(idx.SHA256) != 64 {
		return nil, fmt.Errorf("%s: not an import index of custos", filepath.Join(dir, indexFile))
	}
	f, err := os.Open(filepath.Join(dir, bundleFile(idx.SHA256)))
	if err != nil {
		return nil, fmt.Errorf("imported ATT&CK data: %w", err)
	}
	defer f.Close()
	d, err := Parse(idx.Release, f)
	if err != nil {
		return nil, fmt.Errorf("imported ATT&CK data in %s: %w", dir, err)
	}
	if d.SHA256 != idx.SHA256 {
		return nil, fmt.Errorf("imported ATT&CK data in %s: the bundle's sha256 is %s, the import recorded %s", dir, d.SHA256, idx.SHA256)
	}
	return d, nil
}
