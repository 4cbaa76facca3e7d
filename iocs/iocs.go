// Package iocs loads indicators of compromise published as STIX 2.0 and
// 2.1 bundles, as the mobile forensics community publishes them (one
// malware object, indicators whose patterns compare one observable, and
// "indicates" relationships between them), and matches observed values
// against them.
//
// Keys follow that community's convention as well as STIX 2.1's cyber
// observables: app:id, app:cert.sha1, app:cert.sha256,
// file:hashes.sha256/sha1/md5, file:name, file:path, process:name,
// domain-name:value (where IP addresses are also found), ipv4-addr:value,
// ipv6-addr:value, url:value, email-addr:value, configuration-profile:id,
// android-property:name. An indicator whose pattern cannot be used is
// skipped and counted, never fatal. Every match names the indicator, its
// malware and the bundle it came from.
//
// Bundles are untrusted input: sizes are capped and nothing in them is
// executed or fetched.
package iocs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	iocdata "github.com/custos-ir/custos/third_party/iocs"
)

// Limits on what a bundle may hold.
const (
	MaxBundleSize = 256 << 20
	MaxIndicators = 2_000_000
)

// Keys lists the observable keys this package matches, in the form
// ParsePattern gives them after normalisation.
var Keys = []string{
	"app:id", "app:cert.sha1", "app:cert.sha256",
	"file:hashes.sha256", "file:hashes.sha1", "file:hashes.md5", "file:name", "file:path",
	"process:name", "domain-name:value", "ipv4-addr:value", "ipv6-addr:value", "url:value",
	"email-addr:value", "configuration-profile:id", "android-property:name",
}

// Indicator is one usable indicator.
type Indicator struct {
	ID      string `json:"id"`
	Malware string `json:"malware,omitempty"`
	Bundle  string `json:"bundle"`
	Key     string `json:"key"`
	Value   string `json:"value"`
	Pattern string `json:"pattern"`
}

// Bundle describes one loaded file: what it held and what was skipped.
type Bundle struct {
	Name       string         `json:"name"`
	SHA256     string         `json:"sha256"`
	Spec       string         `json:"spec_version,omitempty"`
	Malware    []string       `json:"malware"`
	Indicators int            `json:"indicators"`
	Loaded     int            `json:"loaded"`
	Skipped    map[string]int `json:"skipped,omitempty"` // reason -> count
	// Attribution is the credit the publisher asks for, known for the
	// bundles custos ships (by digest).
	Attribution string `json:"attribution,omitempty"`
}

// Set is the indicators of every bundle loaded, by key and normalised
// value.
type Set struct {
	Bundles []Bundle
	index   map[string]map[string][]*Indicator
	n       int // terms in index
}

// Len is the number of usable indicator terms.
func (s *Set) Len() int { return s.n }

// Match returns the indicators key = value matches, nil for none. For an
// IP address, domain-name:value indicators match too (bundles often put
// addresses there).
func (s *Set) Match(key, value string) []*Indicator {
	if s == nil || value == "" {
		return nil
	}
	key = canonicalKey(key)
	v := normalise(key, value)
	out := s.index[key][v]
	if key == "ipv4-addr:value" || key == "ipv6-addr:value" {
		out = append(slices.Clip(out), s.index["domain-name:value"][v]...)
	}
	if key == "domain-name:value" && looksLikeIP(v) {
		out = append(slices.Clip(out), s.index["ipv4-addr:value"][v]...)
		out = append(out, s.index["ipv6-addr:value"][v]...)
	}
	return out
}

// Load reads every path (a bundle file, or a directory whose *.stix2 and
// *.json files are bundles) into one set.
func Load(paths ...string) (*Set, error) {
	s := &Set{}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		files := []string{p}
		if fi.IsDir() {
			files = nil
			des, err := os.ReadDir(p)
			if err != nil {
				return nil, err
			}
			for _, de := range des {
				if ext := filepath.Ext(de.Name()); !de.IsDir() && (ext == ".stix2" || ext == ".json") {
					files = append(files, filepath.Join(p, de.Name()))
				}
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("%s: no .stix2 or .json bundle in the directory", p)
			}
		}
		for _, f := range files {
			if err := s.AddFile(f); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// LoadFS reads the named bundles of fsys.
func LoadFS(fsys fs.FS, names ...string) (*Set, error) {
	s := &Set{}
	for _, n := range names {
		f, err := fsys.Open(n)
		if err != nil {
			return nil, err
		}
		err = s.Add(filepath.Base(n), f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// AddFile adds the bundle in file.
func (s *Set) AddFile(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.Add(filepath.Base(file), f)
}

// stixObject is the part of a STIX object the loader reads.
type stixObject struct {
	Type             string `json:"type"`
	ID               string `json:"id"`
	Name             string `json:"name"`
	Pattern          string `json:"pattern"`
	PatternType      string `json:"pattern_type"`
	SpecVersion      string `json:"spec_version"`
	RelationshipType string `json:"relationship_type"`
	SourceRef        string `json:"source_ref"`
	TargetRef        string `json:"target_ref"`
	Revoked          bool   `json:"revoked"`
}

// Add reads one bundle named name from r.
func (s *Set) Add(name string, r io.Reader) error {
	h := sha256.New()
	data, err := io.ReadAll(io.LimitReader(io.TeeReader(r, h), MaxBundleSize+1))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxBundleSize {
		return fmt.Errorf("%s: larger than %d bytes", name, MaxBundleSize)
	}
	var bundle struct {
		Type        string       `json:"type"`
		SpecVersion string       `json:"spec_version"`
		Objects     []stixObject `json:"objects"`
	}
	if err := json.Unmarshal(data, &bundle); err != nil {
		return fmt.Errorf("%s: not a STIX bundle: %w", name, err)
	}
	if bundle.Type != "bundle" {
		return fmt.Errorf("%s: not a STIX bundle (type %q)", name, bundle.Type)
	}
	b := Bundle{Name: name, SHA256: hex.EncodeToString(h.Sum(nil)), Spec: bundle.SpecVersion, Malware: []string{}}
	if _, ok := iocdata.Published[b.SHA256]; ok {
		b.Attribution = iocdata.Attribution
	}
	malware := map[string]string{}
	for _, o := range bundle.Objects {
		if o.Type == "malware" && !o.Revoked {
			malware[o.ID] = o.Name
			b.Malware = append(b.Malware, o.Name)
		}
		if b.Spec == "" && o.SpecVersion != "" {
			b.Spec = o.SpecVersion
		}
	}
	indicates := map[string][]string{} // indicator id -> malware names
	for _, o := range bundle.Objects {
		if o.Type == "relationship" && o.RelationshipType == "indicates" && malware[o.TargetRef] != "" {
			indicates[o.SourceRef] = append(indicates[o.SourceRef], malware[o.TargetRef])
		}
	}
	skip := func(why string) {
		if b.Skipped == nil {
			b.Skipped = map[string]int{}
		}
		b.Skipped[why]++
	}
	if s.index == nil {
		s.index = map[string]map[string][]*Indicator{}
	}
	for _, o := range bundle.Objects {
		if o.Type != "indicator" {
			continue
		}
		b.Indicators++
		switch {
		case o.Revoked:
			skip("revoked")
			continue
		case o.PatternType != "" && o.PatternType != "stix":
			skip("pattern type " + o.PatternType)
			continue
		}
		terms, err := ParsePattern(o.Pattern)
		if err != nil {
			if errors.Is(err, errUnusable) {
				skip("pattern not a disjunction of equalities")
			} else {
				skip("pattern not readable")
			}
			continue
		}
		names := indicates[o.ID]
		if len(names) == 0 && len(b.Malware) == 1 {
			names = b.Malware // a bundle about one malware
		}
		mal := strings.Join(names, ", ")
		used := false
		for _, t := range terms {
			key := canonicalKey(t.Key)
			if !slices.Contains(Keys, key) {
				skip("key " + t.Key + " not matched by custos")
				continue
			}
			v := normalise(key, t.Value)
			if v == "" {
				skip("empty value")
				continue
			}
			if s.n++; s.n > MaxIndicators {
				return fmt.Errorf("%s: more than %d indicators in all", name, MaxIndicators)
			}
			if s.index[key] == nil {
				s.index[key] = map[string][]*Indicator{}
			}
			s.index[key][v] = append(s.index[key][v], &Indicator{ID: o.ID, Malware: mal, Bundle: name, Key: key, Value: t.Value, Pattern: o.Pattern})
			used = true
		}
		if used {
			b.Loaded++
		}
	}
	s.Bundles = append(s.Bundles, b)
	sort.SliceStable(s.Bundles, func(i, j int) bool { return s.Bundles[i].Name < s.Bundles[j].Name })
	return nil
}

// AddTerm adds one indicator by hand (playbook tests use it): key =
// value, of the named malware.
func (s *Set) AddTerm(key, value, malware string) {
	key = canonicalKey(key)
	if s.index == nil {
		s.index = map[string]map[string][]*Indicator{}
	}
	if s.index[key] == nil {
		s.index[key] = map[string][]*Indicator{}
	}
	v := normalise(key, value)
	s.index[key][v] = append(s.index[key][v], &Indicator{ID: "indicator--test", Malware: malware, Bundle: "test", Key: key, Value: value})
	s.n++
}

// canonicalKey folds the spellings of a key: file:hashes.'SHA-256' and
// file:hashes.SHA256 are file:hashes.sha256.
func canonicalKey(k string) string {
	if slices.Contains(Keys, k) {
		return k // playbooks ask with the canonical spelling
	}
	k = strings.ToLower(strings.TrimSpace(k))
	if obj, prop, ok := strings.Cut(k, ":"); ok {
		k = obj + ":" + hashNames.Replace(prop)
	}
	return k
}

// hashNames folds STIX's hash names into the keys' spelling.
var hashNames = strings.NewReplacer("sha-256", "sha256", "sha-1", "sha1", "sha-512", "sha512")

// normalise makes values comparable: hashes, domains, addresses and
// e-mail addresses are case-insensitive; identifiers and paths are not.
// Values are usually normal already (an analysis asks millions of times),
// and are then returned as they are.
func normalise(key, v string) string {
	if trimmed(v) {
		v = strings.TrimSpace(v)
	}
	switch {
	case strings.Contains(key, "hashes.") || strings.HasPrefix(key, "app:cert."):
		if lowerHex(v) {
			return v
		}
		return strings.ToLower(strings.ReplaceAll(v, ":", ""))
	case key == "domain-name:value":
		return strings.TrimSuffix(strings.ToLower(v), ".")
	case key == "email-addr:value", key == "ipv4-addr:value", key == "ipv6-addr:value":
		return strings.ToLower(v)
	}
	return v
}

// trimmed reports whether strings.TrimSpace might change v: it starts or
// ends with white space, or with a byte of a multi-byte character.
func trimmed(v string) bool {
	if v == "" {
		return false
	}
	first, last := v[0], v[len(v)-1]
	return first <= ' ' || first >= 0x80 || last <= ' ' || last >= 0x80
}

// lowerHex reports whether v is lower-case hexadecimal digits only.
func lowerHex(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func looksLikeIP(v string) bool {
	if v == "" {
		return false
	}
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c == '.' || c == ':' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return strings.Count(v, ".") == 3 || strings.Contains(v, ":")
}
