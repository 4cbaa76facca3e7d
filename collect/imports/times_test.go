package imports

import (
	"strings"
	"testing"
	"time"
)

func TestTimeReader(t *testing.T) {
	for _, c := range []struct {
		in       string
		dayFirst bool
		want     string // RFC 3339, "" for nil, "error" for an error
		zoneless bool
	}{
		{in: "2024-06-10T07:55:03Z", want: "2024-06-10T07:55:03Z"},
		{in: "2024-06-10T09:55:03.5+02:00", want: "2024-06-10T07:55:03.5Z"},
		{in: "2017-07-07T18:37:04.555-0500", want: "2017-07-07T23:37:04.555Z"}, // Jamf Classic _utc
		{in: "2024-06-10 07:55:03 UTC", want: "2024-06-10T07:55:03Z"},
		{in: "2024-06-10 07:55:03.0000000", want: "2024-06-10T07:55:03Z", zoneless: true},
		{in: "2021-06-28T04:35:20.150", want: "2021-06-28T04:35:20.15Z", zoneless: true}, // Workspace ONE
		{in: "2024-06-10", want: "2024-06-10T00:00:00Z", zoneless: true},
		{in: "6/10/2024 7:55:03 AM", want: "2024-06-10T07:55:03Z", zoneless: true},
		{in: "6/10/2024 7:55:03 PM", want: "2024-06-10T19:55:03Z", zoneless: true},
		{in: "06/10/2024 12:05 AM", want: "2024-06-10T00:05:00Z", zoneless: true},
		{in: "6/10/2024 19:55", want: "2024-06-10T19:55:00Z", zoneless: true},
		{in: "6/10/2024", want: "2024-06-10T00:00:00Z", zoneless: true},
		{in: "10/6/2024 19:55", dayFirst: true, want: "2024-06-10T19:55:00Z", zoneless: true},
		{in: "10.06.2024 19:55:01", want: "2024-06-10T19:55:01Z", zoneless: true},
		{in: "2024/06/10 19:55", want: "2024-06-10T19:55:00Z", zoneless: true},
		{in: "Wednesday, November 18 2020 at 6:03 AM", want: "2020-11-18T06:03:00Z", zoneless: true},
		{in: "/Date(1718006103000)/", want: "2024-06-10T07:55:03Z"},
		{in: "/Date(1718006103000+0200)/", want: "2024-06-10T07:55:03Z"},
		{in: "", want: ""},
		{in: "  Never ", want: ""},
		{in: "N/A", want: ""},
		{in: "0001-01-01T00:00:00.000", want: ""},
		{in: "0001-01-01T00:00:00Z", want: ""},
		{in: "2/30/2024", want: "error"},
		{in: "13/13/2024", want: "error"},
		{in: "2024-06-10 25:00", want: "error"},
		{in: "6/10/2024 7:55 XM", want: "error"},
		{in: "yesterday", want: "error"},
		{in: "2024-06-10 07:55:03 EST", want: "error"}, // a zone abbreviation is ambiguous: refused, not read as UTC
	} {
		tr := &timeReader{dayFirst: c.dayFirst}
		got, err := tr.parse("col", c.in)
		var s string
		switch {
		case err != nil:
			s = "error"
		case got != nil:
			s = got.Format(time.RFC3339Nano)
			if got.Location() != time.UTC {
				t.Errorf("%q: not in UTC", c.in)
			}
		}
		if s != c.want {
			t.Errorf("parse(%q) = %q (%v), want %q", c.in, s, err, c.want)
		}
		if err == nil && got != nil && tr.zoneless != c.zoneless {
			t.Errorf("parse(%q): zoneless %v, want %v", c.in, tr.zoneless, c.zoneless)
		}
	}
}

// The day/month order is learnt from the whole file.
func TestTimeReaderOrder(t *testing.T) {
	cells := func(vs ...string) []dateCell {
		var out []dateCell
		for i, v := range vs {
			out = append(out, dateCell{line: i + 2, value: v})
		}
		return out
	}
	tr, err := newTimeReader("f", cells("3/4/2024", "25/4/2024 10:00"))
	if err != nil || !tr.dayFirst || tr.guessed {
		t.Errorf("day first: %+v %v", tr, err)
	}
	if d, _ := tr.parse("c", "3/4/2024"); d == nil || d.Month() != time.April {
		t.Errorf("3/4/2024 read as %v in a day-first file", d)
	}
	tr, err = newTimeReader("f", cells("3/4/2024", "4/25/2024"))
	if err != nil || tr.dayFirst || tr.guessed {
		t.Errorf("month first: %+v %v", tr, err)
	}
	tr, _ = newTimeReader("f", cells("3/4/2024", "2024-01-01"))
	if !tr.guessed || !tr.slash {
		t.Errorf("ambiguous: %+v", tr)
	}
	tr.parse("Last Seen", "3/4/2024")
	if n := strings.Join(tr.notes(), "; "); !strings.Contains(n, "no date of the file shows the order") || !strings.Contains(n, "(Last Seen) read as UTC") {
		t.Errorf("notes %q", n)
	}
	if _, err := newTimeReader("f", cells("25/4/2024", "1/1/2024", "4/25/2024")); err == nil || !strings.Contains(err.Error(), "f:4: dates disagree") {
		t.Errorf("err = %v", err)
	}
}

func TestVocabulary(t *testing.T) {
	for in, want := range map[string]string{"True": "true", "Jailbroken": "true", "Compromised": "true", "Not Compromised": "false",
		"No": "false", "Normal": "false", "Unknown": "unknown", "": "unknown", "<b>x</b>": "unknown"} {
		if got := tristate(in); got != want {
			t.Errorf("tristate(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"Corporate": "corporate", "company": "corporate", "Corporate - Dedicated": "corporate",
		"C": "corporate", "Employee Owned": "personal", "E": "personal", "Personal": "personal", "Institutional": "corporate",
		"Personal Device Profile": "personal", "Undefined": "unknown", "": "unknown"} {
		if got := ownership(in); got != want {
			t.Errorf("ownership(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"Compliant": "compliant", "Noncompliant": "noncompliant", "Non-Compliant": "noncompliant",
		"Not compliant": "noncompliant", "In grace period": "inGracePeriod", "Not Available": "unknown", "<script>": "unknown"} {
		if got := compliance(in); got != want {
			t.Errorf("compliance(%q) = %q, want %q", in, got, want)
		}
	}
	for _, c := range [][3]string{{"iOS", "iPhone 14", "ios"}, {"iOS", "iPad Pro", "ipados"}, {"iPadOS", "", "ipados"},
		{"Apple", "iPhone", "ios"}, {"AndroidForWork", "", "android"}, {"Android", "", "android"}, {"Windows", "", "windows"},
		{"AppleOsX", "", "macos"}, {"Linux", "", "unknown"}, {"", "", "unknown"}} {
		if got := platform(c[0], c[1]); got != c[2] {
			t.Errorf("platform(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	for in, want := range map[string]string{"iOS 17.5.1": "17.5.1", "Android 14": "14", "17.5.1": "17.5.1", "Unknown": "Unknown", "v-1.2": "v-1.2"} {
		if got := versionOnly(in); got != want {
			t.Errorf("versionOnly(%q) = %q, want %q", in, got, want)
		}
	}
}
