package imports

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// dateCell is one date value of an export and the line it is on.
type dateCell struct {
	line  int
	value string
}

// timeReader reads the dates of one export file. Consoles write them in
// the admin's locale: ISO 8601 with or without a zone, "M/D/YYYY h:mm:ss
// AM", "D/M/YYYY HH:mm", "D.M.YYYY", Jamf's "Monday, January 2 2006 at
// 3:04 PM". A time without a zone is read as UTC, and the file's request
// log note says so. The order of day and month in slash dates is learnt
// from the whole file: a first number above 12 means day first, a second
// above 12 month first; both in one file is an error; neither (every day
// of the file at most 12) is read month first, the consoles' default
// locale, and the note says it was assumed.
type timeReader struct {
	dayFirst bool     // slash dates are D/M/Y
	slash    bool     // the file has slash dates
	guessed  bool     // nothing in the file showed the order
	zoneless bool     // a time without a zone was read (as UTC)
	fields   []string // the fields zone-less times were read from
}

var (
	dmy = regexp.MustCompile(`^(\d{1,2})/(\d{1,2})/(\d{4})(.*)$`)
	dot = regexp.MustCompile(`^(\d{1,2})\.(\d{1,2})\.(\d{4})(.*)$`)
	ymd = regexp.MustCompile(`^(\d{4})/(\d{1,2})/(\d{1,2})(.*)$`)
	// msDate is the .NET JSON date PowerShell 5's ConvertTo-Json writes:
	// milliseconds since the Unix epoch, UTC whatever offset follows.
	msDate = regexp.MustCompile(`^/Date\((-?\d{1,15})([+-]\d{4})?\)/$`)
)

// newTimeReader learns the day/month order of slash dates from every date
// cell of a file.
func newTimeReader(file string, cells []dateCell) (*timeReader, error) {
	tr := &timeReader{guessed: true}
	var dayLine, monthLine dateCell
	for _, c := range cells {
		m := dmy.FindStringSubmatch(strings.TrimSpace(c.value))
		if m == nil {
			continue
		}
		tr.slash = true
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		if a > 12 && dayLine.line == 0 {
			dayLine = c
		}
		if b > 12 && monthLine.line == 0 {
			monthLine = c
		}
	}
	switch {
	case dayLine.line != 0 && monthLine.line != 0:
		return nil, errLine(file, monthLine.line, "dates disagree on the order of day and month: %q here, %q on line %d", monthLine.value, dayLine.value, dayLine.line)
	case dayLine.line != 0:
		tr.dayFirst, tr.guessed = true, false
	case monthLine.line != 0:
		tr.guessed = false
	}
	return tr, nil
}

// Layouts with a zone, then without (read as UTC).
var (
	zonedLayouts = []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999 -0700",
		"2006-01-02 15:04:05.999999999 -07:00",
	}
	zonelessLayouts = []string{
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04",
		"2006-01-02 15:04",
		"2006-01-02",
		"Monday, January 2 2006 at 3:04 PM", // Jamf
		"Monday, January 2, 2006 3:04:05 PM",
		"Jan 2, 2006 3:04:05 PM",
		"Jan 2, 2006 3:04 PM",
		"Jan 2, 2006",
	}
	clockLayouts = []string{"", "15:04:05.999999999", "15:04", "3:04:05 PM", "3:04 PM", "3:04:05PM", "3:04PM"}
)

// parse reads one date; empty and "never"-like values are nil, as is the
// year-1 sentinel consoles write for a date never set. field names the
// column for the note.
func (tr *timeReader) parse(field, v string) (*time.Time, error) {
	s := strings.Join(strings.Fields(v), " ")
	switch strings.ToLower(s) {
	case "", "never", "n/a", "na", "-", "--", "none", "null", "not available", "unknown":
		return nil, nil
	}
	if m := msDate.FindStringSubmatch(s); m != nil {
		ms, _ := strconv.ParseInt(m[1], 10, 64)
		return tr.valid(time.UnixMilli(ms)), nil
	}
	named := false
	for _, z := range []string{" UTC", " GMT"} {
		if rest, ok := strings.CutSuffix(s, z); ok {
			s, named = rest, true
			break
		}
	}
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return tr.valid(t), nil
		}
	}
	t, err := tr.parseZoneless(s)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, nil
	}
	if !named {
		tr.zonelessSeen(field)
	}
	return t, nil
}

func (tr *timeReader) zonelessSeen(field string) {
	tr.zoneless = true
	if field != "" && !slices.Contains(tr.fields, field) {
		tr.fields = append(tr.fields, field)
	}
}

// parseZoneless reads a date without a zone, as UTC.
func (tr *timeReader) parseZoneless(s string) (*time.Time, error) {
	for _, l := range zonelessLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return tr.valid(t), nil
		}
	}
	var y, mo, d int
	var rest string
	switch m := dmy.FindStringSubmatch(s); {
	case m != nil:
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		y, _ = strconv.Atoi(m[3])
		mo, d, rest = a, b, m[4]
		if tr.dayFirst {
			mo, d = b, a
		}
	default:
		if m := dot.FindStringSubmatch(s); m != nil { // D.M.Y, always day first
			d, _ = strconv.Atoi(m[1])
			mo, _ = strconv.Atoi(m[2])
			y, _ = strconv.Atoi(m[3])
			rest = m[4]
		} else if m := ymd.FindStringSubmatch(s); m != nil {
			y, _ = strconv.Atoi(m[1])
			mo, _ = strconv.Atoi(m[2])
			d, _ = strconv.Atoi(m[3])
			rest = m[4]
		} else {
			return nil, fmt.Errorf("%q is not a date this import reads", s)
		}
	}
	date := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if mo < 1 || mo > 12 || date.Day() != d || date.Month() != time.Month(mo) {
		return nil, fmt.Errorf("%q is not a date (day %d of month %d)", s, d, mo)
	}
	rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ","))
	for _, l := range clockLayouts {
		if l == "" {
			if rest == "" {
				return tr.valid(date), nil
			}
			continue
		}
		c, err := time.Parse(l, rest)
		if err == nil {
			t := date.Add(time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute +
				time.Duration(c.Second())*time.Second + time.Duration(c.Nanosecond()))
			return tr.valid(t), nil
		}
	}
	return nil, fmt.Errorf("%q is not a date this import reads (time of day %q)", s, rest)
}

// valid returns t in UTC, or nil for the year-1 "never" sentinel.
func (tr *timeReader) valid(t time.Time) *time.Time {
	if t.Year() <= 1 {
		return nil
	}
	u := t.UTC()
	return &u
}

// notes says how the file's dates were read, for the request log.
func (tr *timeReader) notes() []string {
	var out []string
	if tr.zoneless {
		out = append(out, fmt.Sprintf("times without a zone (%s) read as UTC: the export does not say its zone", strings.Join(tr.fields, ", ")))
	}
	if tr.slash {
		switch {
		case tr.dayFirst:
			out = append(out, "slash dates read as day/month/year (a first number above 12 shows the order)")
		case tr.guessed:
			out = append(out, "slash dates read as month/day/year: no date of the file shows the order (every day is at most 12)")
		default:
			out = append(out, "slash dates read as month/day/year (a second number above 12 shows the order)")
		}
	}
	return out
}
