package iocs

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	iocdata "github.com/custos-ir/custos/third_party/iocs"
)

func TestParsePattern(t *testing.T) {
	cases := []struct {
		pattern string
		want    []Term
		err     string // substring; "" for success
	}{
		{`[app:id='com.serv.services']`, []Term{{"app:id", "com.serv.services"}}, ""},
		{`[ domain-name:value = 'a.example' ]`, []Term{{"domain-name:value", "a.example"}}, ""},
		{`[file:hashes.'SHA-256' = 'AB']`, []Term{{"file:hashes.sha-256", "AB"}}, ""},
		{`[url:value = 'https://x.example/?a=b&c=]d']`, []Term{{"url:value", "https://x.example/?a=b&c=]d"}}, ""},
		{`[file:name = 'it\'s \\ here']`, []Term{{"file:name", `it's \ here`}}, ""},
		{`[process:name = 'a' OR process:name = 'b'] OR ([file:path IN ('/x', '/y')])`,
			[]Term{{"process:name", "a"}, {"process:name", "b"}, {"file:path", "/x"}, {"file:path", "/y"}}, ""},
		{`[process:name = 'a' AND file:name = 'b']`, nil, "AND"},
		{`[process:name = 'a'] FOLLOWEDBY [process:name = 'b']`, nil, "FOLLOWEDBY"},
		{`[process:name = 'a'] WITHIN 10 SECONDS`, nil, "WITHIN"},
		{`[process:name LIKE 'a%']`, nil, "LIKE"},
		{`[process:name != 'a']`, nil, "!="},
		{`[process:pid = 4]`, nil, "not a string"},
		{`[process:name = 'a'`, nil, "expected ]"},
		{`process:name = 'a'`, nil, "expected ["},
		{`[process:name = 'a]`, nil, "unterminated"},
		{`[name = 'a']`, nil, "object path"},
		{``, nil, "expected ["},
	}
	for _, c := range cases {
		got, err := ParsePattern(c.pattern)
		if c.err == "" {
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("ParsePattern(%q) = %v, %v; want %v", c.pattern, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParsePattern(%q) error %v; want one mentioning %q", c.pattern, err, c.err)
		}
	}
	if _, err := ParsePattern(`[a:b = 'x' AND a:b = 'y']`); !errors.Is(err, errUnusable) {
		t.Errorf("AND is %v; want errUnusable", err)
	}
}

// All four published bundles load with every indicator used: their kinds
// are all ones custos matches.
func TestRealBundles(t *testing.T) {
	s, err := Load(filepath.Join("..", "third_party", "iocs"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		malware    string
		indicators int
	}{
		"2024-12-16_serbia_novispy.stix2":   {"NoviSpy", 18},
		"2021-12-16_cytrox.stix2":           {"Predator", 343},
		"2021-07-18_nso.stix2":              {"Pegasus", 1549},
		"2023-03-29_android_campaign.stix2": {"MercenarySpywareCampaign", 2187},
	}
	if len(s.Bundles) != len(want) {
		t.Fatalf("%d bundles loaded", len(s.Bundles))
	}
	for _, b := range s.Bundles {
		w := want[b.Name]
		if b.Indicators != w.indicators || b.Loaded != w.indicators || len(b.Skipped) != 0 || !reflect.DeepEqual(b.Malware, []string{w.malware}) ||
			b.SHA256 == "" || iocdata.Published[b.SHA256] != b.Name || b.Attribution != iocdata.Attribution {
			t.Errorf("%s: %+v; want %d indicators all loaded, malware %s", b.Name, b, w.indicators, w.malware)
		}
	}
	for _, c := range []struct{ key, value, malware string }{
		{"app:id", "com.serv.services", "NoviSpy"},
		{"file:hashes.sha256", "D55E492D" + strings.Repeat("", 0), ""}, // a prefix does not match
		{"domain-name:value", "weather4free.com", "Pegasus"},
		{"domain-name:value", "WEATHER4FREE.COM.", "Pegasus"},
		{"ipv4-addr:value", "176.223.111.131", "NoviSpy"}, // an address kept as domain-name:value
		{"process:name", "bh", "Pegasus"},
	} {
		got := s.Match(c.key, c.value)
		if c.malware == "" {
			if len(got) != 0 {
				t.Errorf("Match(%s, %s) = %v; want none", c.key, c.value, got)
			}
			continue
		}
		if len(got) == 0 || got[0].Malware != c.malware || !strings.HasPrefix(got[0].ID, "indicator--") {
			t.Errorf("Match(%s, %s) = %v; want a %s indicator", c.key, c.value, got, c.malware)
		}
	}
}

func TestDemoBundle(t *testing.T) {
	s, err := LoadFS(iocdata.Demo, iocdata.DemoBundle)
	if err != nil {
		t.Fatal(err)
	}
	// Upper case, as some sources report hashes.
	if hits := s.Match("file:hashes.sha256", "D55E492D5FCE87898E065572A5553D1AC1389CD12BF3D28CABC1218CB29780AF"); len(hits) != 1 || hits[0].Malware != "NoviSpy" {
		t.Errorf("APK hash: %v", hits)
	}
	if s.Len() != 18 || len(s.Match("app:id", "com.serv.services")) != 1 {
		t.Errorf("demo bundle: %d terms, app:id match %v", s.Len(), s.Match("app:id", "com.serv.services"))
	}
}

// Odd patterns are skipped and counted; loading goes on.
func TestOddIndicatorsSkipped(t *testing.T) {
	bundle := `{"type":"bundle","id":"bundle--1","objects":[
	 {"type":"malware","id":"malware--1","name":"X"},
	 {"type":"indicator","id":"indicator--1","pattern_type":"stix","pattern":"[app:id = 'a=b']"},
	 {"type":"indicator","id":"indicator--2","pattern_type":"stix","pattern":"[app:id = 'a' AND app:id = 'b']"},
	 {"type":"indicator","id":"indicator--3","pattern_type":"sigma","pattern":"title: x"},
	 {"type":"indicator","id":"indicator--4","pattern":"[x509-certificate:serial_number = '1']"},
	 {"type":"indicator","id":"indicator--5","pattern":"[app:id = "},
	 {"type":"indicator","id":"indicator--6","pattern":"[app:id = 'r']","revoked":true},
	 {"type":"relationship","id":"relationship--1","relationship_type":"indicates","source_ref":"indicator--1","target_ref":"malware--1"}]}`
	s := &Set{}
	if err := s.Add("odd.json", strings.NewReader(bundle)); err != nil {
		t.Fatal(err)
	}
	b := s.Bundles[0]
	if b.Indicators != 6 || b.Loaded != 1 || len(b.Skipped) != 5 {
		t.Errorf("bundle %+v", b)
	}
	if got := s.Match("app:id", "a=b"); len(got) != 1 || got[0].Malware != "X" || got[0].ID != "indicator--1" {
		t.Errorf("match %v", got)
	}
	if err := s.Add("bad.json", strings.NewReader(`{"type":"indicator"}`)); err == nil {
		t.Error("a lone indicator accepted as a bundle")
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, p := range []string{`[app:id='com.x']`, `[a:b = 'x\'y' OR c:d IN ('1','2')] OR ([e:f = 'g'])`, `[file:hashes.'SHA-256' = 'ab']`, `[a:b = 'x'] WITHIN 5 SECONDS`} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		terms, err := ParsePattern(p)
		if err == nil && len(terms) == 0 {
			t.Fatalf("%q: no error and no terms", p)
		}
		for _, term := range terms {
			if !strings.Contains(term.Key, ":") {
				t.Fatalf("%q: key %q", p, term.Key)
			}
		}
	})
}

// BenchmarkLoadPublished loads Amnesty's four bundles (about 4,100
// indicators, 3.7 MB): the target is under a second.
func BenchmarkLoadPublished(b *testing.B) {
	for b.Loop() {
		s, err := Load(filepath.Join("..", "third_party", "iocs"))
		if err != nil || len(s.Bundles) != 4 {
			b.Fatal(err)
		}
	}
}

// normalise returns what the plain rules give (trim, then lower-case and
// strip colons from hashes, lower-case domains and addresses), with or
// without its shortcut for values that are normal already.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"", " ", "abc", "ABC", " ab:cd ", "\u00a0x\u00a0", "Example.COM.", "é", "x\u2028", "0a0b", "0A:0B"} {
		f.Add(s)
	}
	reference := func(key, v string) string {
		v = strings.TrimSpace(v)
		switch {
		case strings.Contains(key, "hashes.") || strings.HasPrefix(key, "app:cert."):
			return strings.ToLower(strings.ReplaceAll(v, ":", ""))
		case key == "domain-name:value":
			return strings.TrimSuffix(strings.ToLower(v), ".")
		case key == "email-addr:value", key == "ipv4-addr:value", key == "ipv6-addr:value":
			return strings.ToLower(v)
		}
		return v
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, key := range Keys {
			if got, want := normalise(key, v), reference(key, v); got != want {
				t.Fatalf("normalise(%q, %q) = %q, want %q", key, v, got, want)
			}
		}
	})
}
