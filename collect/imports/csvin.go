package imports

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// csvTable is a CSV export read whole: its header and its rows, each with
// the line it starts on (1-based, the header being line 1 unless blank
// lines precede it).
type csvTable struct {
	file       string
	headerLine int
	header     []string       // as the file spells it
	cols       map[string]int // normalised header name → column; -2 when two columns have it
	rows       []csvRow
}

type csvRow struct {
	line  int
	cells []string
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// readCSV reads a CSV export: UTF-8 with or without a byte-order mark,
// comma-, semicolon- or tab-separated (told by the header line), RFC 4180
// quoting (a quoted field may hold the separator, quotes doubled, and line
// breaks). Every row must have as many fields as the header; bad quoting,
// a wrong field count or more than maxRows rows fail with the file and
// line. Rows whose cells are all empty are skipped.
func readCSV(file string, data []byte, maxRows int) (*csvTable, error) {
	if bytes.HasPrefix(data, bomUTF16LE) || bytes.HasPrefix(data, bomUTF16BE) {
		return nil, fmt.Errorf("%s is UTF-16 text: save the export as UTF-8 CSV", file)
	}
	data = bytes.TrimPrefix(data, bomUTF8)
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = sniffSeparator(data)
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s is empty: no header line", file)
	}
	if err != nil {
		return nil, csvError(file, err, 0)
	}
	hl, _ := r.FieldPos(0)
	t := &csvTable{file: file, headerLine: hl, header: header, cols: map[string]int{}}
	for i, h := range header {
		n := normHeader(h)
		if n == "" {
			continue
		}
		if _, dup := t.cols[n]; dup {
			t.cols[n] = -2
			continue
		}
		t.cols[n] = i
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(file, err, len(header))
		}
		line, _ := r.FieldPos(0)
		empty := true
		for _, c := range rec {
			if strings.TrimSpace(c) != "" {
				empty = false
				break
			}
		}
		if empty {
			continue
		}
		if len(t.rows) == maxRows {
			return nil, errLine(file, line, "more than %d rows (the import limit): split the export", maxRows)
		}
		t.rows = append(t.rows, csvRow{line: line, cells: rec})
	}
	return t, nil
}

// csvError says where the CSV is malformed.
func csvError(file string, err error, fields int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", file, err)
	}
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		return errLine(file, pe.StartLine, "wrong number of fields: the header has %d", fields)
	}
	return errLine(file, pe.Line, "column %d: %v", pe.Column, pe.Err)
}

// sniffSeparator tells the separator from the header line: the most
// frequent of comma, semicolon and tab outside quotes (Excel writes
// semicolons in some locales). Comma when none appears.
func sniffSeparator(data []byte) rune {
	counts := map[rune]int{}
	quoted := false
	for _, b := range data {
		if b == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if b == '\n' {
			break
		}
		switch b {
		case ',', ';', '\t':
			counts[rune(b)]++
		}
	}
	sep := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[sep] {
			sep = c
		}
	}
	return sep
}

// normHeader is the form headers are matched in: lower case, spaces
// collapsed, no byte-order mark.
func normHeader(h string) string {
	h = strings.ReplaceAll(h, "\uFEFF", "")
	return strings.ToLower(strings.Join(strings.Fields(h), " "))
}

// col returns the column of the first alias present, or -1. An alias the
// header holds twice is an error: which of the two is meant cannot be
// told.
func (t *csvTable) col(aliases ...string) (int, error) {
	for _, a := range aliases {
		i, ok := t.cols[a]
		if !ok {
			continue
		}
		if i == -2 {
			return -1, errLine(t.file, t.headerLine, "the header has two %q columns", a)
		}
		return i, nil
	}
	return -1, nil
}

// need is col for a column that must be present.
func (t *csvTable) need(what string, aliases ...string) (int, error) {
	i, err := t.col(aliases...)
	if err != nil {
		return -1, err
	}
	if i < 0 {
		quoted := make([]string, len(aliases))
		for k, a := range aliases {
			quoted[k] = strconv.Quote(a)
		}
		return -1, errLine(t.file, t.headerLine, "no %s column (looked for %s, in any case)", what, strings.Join(quoted, ", "))
	}
	return i, nil
}

// has reports whether any alias is a column.
func (t *csvTable) has(aliases ...string) bool {
	for _, a := range aliases {
		if _, ok := t.cols[normHeader(a)]; ok {
			return true
		}
	}
	return false
}

// cell returns the value of column i, or "" for a column the file lacks.
func (r csvRow) cell(i int) string {
	if i < 0 || i >= len(r.cells) {
		return ""
	}
	return r.cells[i]
}

// linePointer is the pointer of a record read from a line of a text file
// (CSV rows, getprop and settings lines, ps rows): "/line/N", N 1-based.
func linePointer(line int) string { return "/line/" + strconv.Itoa(line) }

// cols is a set of columns of one table, found by aliases.
type cols map[string]int

// field is a column an import reads, under any of its aliases (matched
// in any case, spaces collapsed).
type field struct {
	name     string
	aliases  []string
	required bool
}

// findCols looks up the columns of fields, in order.
func findCols(t *csvTable, fields []field) (cols, error) {
	c := cols{}
	for _, f := range fields {
		aliases := make([]string, len(f.aliases))
		for i, a := range f.aliases {
			aliases[i] = normHeader(a)
		}
		var i int
		var err error
		if f.required {
			i, err = t.need(strconv.Quote(f.aliases[0]), aliases...)
		} else {
			i, err = t.col(aliases...)
		}
		if err != nil {
			return nil, err
		}
		c[f.name] = i
	}
	return c, nil
}

// get returns the cell of field f in row r.
func (c cols) get(r csvRow, f string) string {
	i, ok := c[f]
	if !ok {
		return ""
	}
	return r.cell(i)
}

// dateCells collects the cells of the date fields of every row, for a
// timeReader to learn the export's date order from.
func (c cols) dateCells(t *csvTable, fields ...string) []dateCell {
	var out []dateCell
	for _, r := range t.rows {
		for _, f := range fields {
			if v := c.get(r, f); strings.TrimSpace(v) != "" {
				out = append(out, dateCell{line: r.line, value: v})
			}
		}
	}
	return out
}

// headerName returns the header of field f as the file spells it.
func (c cols) headerName(t *csvTable, f string) string {
	i, ok := c[f]
	if !ok || i < 0 || i >= len(t.header) {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(t.header[i], "\uFEFF", ""))
}

// readTimes reads the date fields of row r into their destinations, in
// field name order (so that the first error is always the same).
func readTimes(tr *timeReader, t *csvTable, c cols, r csvRow, dst map[string]**time.Time) error {
	for _, f := range slices.Sorted(maps.Keys(dst)) {
		v, err := tr.parse(c.headerName(t, f), c.get(r, f))
		if err != nil {
			return errLine(t.file, r.line, "column %q: %v", c.headerName(t, f), err)
		}
		*dst[f] = v
	}
	return nil
}

// rowID returns the device id of row r: the console's own id ("id") when
// the row has it, else its UDID, else its serial number, those two named
// in the id ("udid:…", "serial:…") as they are other identifiers than the
// live source keys devices by.
func rowID(c cols, r csvRow) string {
	for _, k := range []struct{ f, prefix string }{{"id", ""}, {"udid", "udid:"}, {"serial", "serial:"}} {
		if v := strings.TrimSpace(c.get(r, k.f)); v != "" {
			return k.prefix + v
		}
	}
	return ""
}
