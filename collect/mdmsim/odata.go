package mdmsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custos-ir/custos/internal/jsonenc"
)

// propTable lists the Graph properties of an entity type: the exported
// struct fields with a json tag, in declaration order, except those tagged
// graph:"-". It is built once per server and read-only afterwards.
type propTable struct {
	typeName string // OData type for error messages, e.g. microsoft.graph.managedDevice
	names    []string
	fields   []int          // struct field index per property
	byFold   map[string]int // lower-case name -> property position
}

func newPropTable(t reflect.Type, typeName string) *propTable {
	pt := &propTable{typeName: typeName, byFold: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" || f.Tag.Get("graph") == "-" {
			continue
		}
		pt.byFold[strings.ToLower(name)] = len(pt.names)
		pt.names = append(pt.names, name)
		pt.fields = append(pt.fields, i)
	}
	return pt
}

// selection is a parsed $select: the properties to serve, in the order the
// client listed them (for @odata.context), and the same set in declaration
// order (for the objects).
type selection struct {
	listed []int
	order  []int
}

// parseSelect parses a $select value. Graph matches property names
// case-insensitively and answers an unknown one with 400 BadRequest.
func (pt *propTable) parseSelect(raw string, present bool) (selection, *apiError) {
	if !present || strings.TrimSpace(raw) == "" || strings.TrimSpace(raw) == "*" {
		all := make([]int, len(pt.names))
		for i := range all {
			all[i] = i
		}
		return selection{order: all}, nil
	}
	seen := make([]bool, len(pt.names))
	var sel selection
	for item := range strings.SplitSeq(raw, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, ok := pt.byFold[strings.ToLower(item)]
		if !ok {
			return selection{}, badRequest(fmt.Sprintf("Could not find a property named '%s' on type '%s'.", item, pt.typeName))
		}
		if !seen[p] {
			seen[p] = true
			sel.listed = append(sel.listed, p)
		}
	}
	for p, ok := range seen {
		if ok {
			sel.order = append(sel.order, p)
		}
	}
	return sel, nil
}

// contextSuffix is the "(a,b,c)" part of @odata.context, empty without $select.
func (pt *propTable) contextSuffix(sel selection) string {
	if len(sel.listed) == 0 {
		return ""
	}
	names := make([]string, len(sel.listed))
	for i, p := range sel.listed {
		names[i] = pt.names[p]
	}
	return "(" + strings.Join(names, ",") + ")"
}

// stringProp returns the value of a string property by canonical name.
func (pt *propTable) stringProp(v reflect.Value, name string) string {
	p, ok := pt.byFold[strings.ToLower(name)]
	if !ok {
		return ""
	}
	f := v.Field(pt.fields[p])
	if f.Kind() != reflect.String {
		return ""
	}
	return f.String()
}

// timeProp returns the value of a date-time property by canonical name.
func (pt *propTable) timeProp(v reflect.Value, name string) time.Time {
	p, ok := pt.byFold[strings.ToLower(name)]
	if !ok {
		return time.Time{}
	}
	t, _ := v.Field(pt.fields[p]).Interface().(time.Time)
	return t
}

// appendObject appends the JSON object for struct value v holding the
// selected properties, preceded by @odata.context when context is not empty.
// Nulls are kept, as Graph does.
func (pt *propTable) appendObject(dst []byte, context string, v reflect.Value, sel selection) []byte {
	dst = append(dst, '{')
	first := true
	if context != "" {
		dst = append(dst, `"@odata.context":`...)
		dst = appendJSON(dst, context)
		first = false
	}
	for _, p := range sel.order {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, pt.names[p])
		dst = append(dst, ':')
		dst = appendValue(dst, v.Field(pt.fields[p]))
	}
	return append(dst, '}')
}

// appendJSON appends v encoded as JSON without HTML escaping: Graph sends
// "<" and "&" as they are, and so must the simulator, so that a client's raw
// capture and a report's escaping are tested on the real bytes.
func appendJSON(dst []byte, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("mdmsim: encoding %T: %v", v, err)) // only fixed, encodable types reach here
	}
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// appendValue appends v encoded as JSON, byte for byte as appendJSON
// would, without encoding/json's per-call cost for the scalar kinds that
// make up most properties.
func appendValue(dst []byte, v reflect.Value) []byte {
	switch t := v.Type(); {
	case t == timeType:
		var tm time.Time
		if v.CanAddr() {
			tm = *v.Addr().Interface().(*time.Time)
		} else {
			tm = v.Interface().(time.Time)
		}
		if y := tm.Year(); y < 0 || y > 9999 {
			break // encoding/json's error path
		}
		dst = append(dst, '"')
		dst = tm.AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"')
	case t == rawType:
		if v.IsNil() {
			return append(dst, "null"...)
		}
	case t.Kind() == reflect.String:
		return appendString(dst, v.String())
	case t.Kind() == reflect.Bool:
		return strconv.AppendBool(dst, v.Bool())
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return strconv.AppendInt(dst, v.Int(), 10)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.String:
		if v.IsNil() {
			return append(dst, "null"...)
		}
		return appendString(dst, v.Elem().String())
	}
	return appendJSON(dst, v.Interface())
}

// appendString appends s as a JSON string the way encoding/json does
// without HTML escaping (as the Graph responses are written).
func appendString(dst []byte, s string) []byte { return jsonenc.AppendString(dst, s, false) }

// query holds the OData system query options the simulator understands.
// Options it does not model ($count, $orderby, $expand, $search, $skip) are
// accepted and ignored.
type query struct {
	selectRaw string
	hasSelect bool
	top       int // 0 when absent
	filter    string
	hasFilter bool
	skiptoken string
	hasSkip   bool
}

func parseQuery(r *http.Request) (query, *apiError) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, badRequest("The query specified in the URI is not valid. " + err.Error())
	}
	var q query
	one := func(name, optName string) (string, bool, *apiError) {
		vs, ok := vals[name]
		if !ok {
			return "", false, nil
		}
		if len(vs) > 1 {
			return "", false, badRequest(fmt.Sprintf("Query option '%s' was specified more than once, but it must be specified at most once.", optName))
		}
		return vs[0], true, nil
	}
	var e *apiError
	if q.selectRaw, q.hasSelect, e = one("$select", "Select"); e != nil {
		return q, e
	}
	if q.filter, q.hasFilter, e = one("$filter", "Filter"); e != nil {
		return q, e
	}
	if q.skiptoken, q.hasSkip, e = one("$skiptoken", "SkipToken"); e != nil {
		return q, e
	}
	top, hasTop, e := one("$top", "Top")
	if e != nil {
		return q, e
	}
	if hasTop {
		n, err := strconv.Atoi(strings.TrimSpace(top))
		switch {
		case err != nil || n < 0:
			return q, badRequest(fmt.Sprintf("Invalid value '%s' for $top query option found. The $top query option requires a non-negative integer value.", top))
		case n == 0:
			return q, badRequest("Invalid value '0' for $top query option found. The $top query option requires a value between 1 and 999.")
		case n > 999:
			return q, badRequest(fmt.Sprintf("The limit of '999' for Top query has been exceeded. The value from the incoming request is '%d'.", n))
		}
		q.top = n
	}
	return q, nil
}

// filterTerm is one applied comparison: `prop eq 'value'` on a string
// property, or `prop op datetime` on a date-time property.
type filterTerm struct {
	prop   string // canonical property name
	op     string // eq, or for date-times one of eq gt ge lt le
	value  string
	isTime bool      // a date-time comparison
	at     time.Time // the parsed value of a date-time term
}

// filterSpec says which terms a collection honours.
type filterSpec struct {
	strings []string // properties compared with eq 'literal' (case-insensitively)
	times   []string // date-time properties compared with eq, gt, ge, lt, le
}

// parseFilter extracts the supported terms of a $filter joined by "and".
// Everything else — other properties, other operators, functions, "or",
// syntax it cannot read — is silently ignored, which is what Intune does
// with filters it does not support (it returns the unfiltered set). A
// client must therefore always re-filter locally. The one error is a
// supported date-time property compared with something that is not a
// date-time, which Graph rejects with 400.
func parseFilter(raw string, spec filterSpec) ([]filterTerm, *apiError) {
	var terms []filterTerm
	for _, t := range splitAnd(raw) {
		prop, op, value, quoted, ok := parseComparison(t)
		if !ok {
			continue
		}
		if i := slices.IndexFunc(spec.strings, func(s string) bool { return strings.EqualFold(s, prop) }); i >= 0 {
			if op == "eq" && quoted {
				terms = append(terms, filterTerm{prop: spec.strings[i], op: op, value: value})
			}
			continue
		}
		i := slices.IndexFunc(spec.times, func(s string) bool { return strings.EqualFold(s, prop) })
		if i < 0 || !slices.Contains([]string{"eq", "gt", "ge", "lt", "le"}, op) {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("The DateTimeOffset text '%s' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range.", value))
		}
		terms = append(terms, filterTerm{prop: spec.times[i], op: op, value: value, isTime: true, at: at})
	}
	return terms, nil
}

// splitAnd splits on the keyword "and" outside single-quoted literals.
func splitAnd(s string) []string {
	var parts []string
	inQuote := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inQuote = !inQuote // '' inside a literal toggles twice: no net change
		case !inQuote && i > 0 && s[i-1] == ' ' && i+4 <= len(s) && strings.EqualFold(s[i:i+3], "and") && s[i+3] == ' ':
			parts = append(parts, s[start:i])
			start = i + 3
		}
	}
	return append(parts, s[start:])
}

// parseComparison reads `identifier op value`, where op is a two-letter
// OData comparison operator (any case, returned in lower case) and value
// is a quoted literal (a doubled quote inside stands for one quote) or a
// bare token running to the end of the term.
func parseComparison(t string) (prop, op, value string, quoted, ok bool) {
	t = strings.TrimSpace(t)
	i := 0
	for i < len(t) && (t[i] >= 'a' && t[i] <= 'z' || t[i] >= 'A' && t[i] <= 'Z' || t[i] >= '0' && t[i] <= '9') {
		i++
	}
	prop = t[:i]
	rest := strings.TrimLeft(t[i:], " ")
	if prop == "" || len(rest) < 3 || rest[2] != ' ' {
		return "", "", "", false, false
	}
	op = strings.ToLower(rest[:2])
	rest = strings.TrimLeft(rest[2:], " ")
	if rest == "" {
		return "", "", "", false, false
	}
	if rest[0] != '\'' {
		if strings.ContainsAny(rest, " '") {
			return "", "", "", false, false
		}
		return prop, op, rest, false, true
	}
	var b strings.Builder
	for j := 1; j < len(rest); j++ {
		if rest[j] != '\'' {
			b.WriteByte(rest[j])
			continue
		}
		if j+1 < len(rest) && rest[j+1] == '\'' {
			b.WriteByte('\'')
			j++
			continue
		}
		if strings.TrimSpace(rest[j+1:]) != "" {
			return "", "", "", false, false
		}
		return prop, op, b.String(), true, true
	}
	return "", "", "", false, false
}

// matches reports whether v satisfies every term: string equality
// compared case-insensitively as Intune does, date-times compared as
// instants.
func (pt *propTable) matches(v reflect.Value, terms []filterTerm) bool {
	for _, t := range terms {
		if !t.isTime {
			if !strings.EqualFold(pt.stringProp(v, t.prop), t.value) {
				return false
			}
			continue
		}
		c := pt.timeProp(v, t.prop).Compare(t.at)
		ok := false
		switch t.op {
		case "eq":
			ok = c == 0
		case "gt":
			ok = c > 0
		case "ge":
			ok = c >= 0
		case "lt":
			ok = c < 0
		case "le":
			ok = c <= 0
		}
		if !ok {
			return false
		}
	}
	return true
}

// skipTokens mints and checks $skiptoken values. A token is
// base64url(version || offset || HMAC-SHA256(key, version || offset ||
// scope)[:16]); the scope binds it to the collection path and the applied
// filter, so a token edited, replayed against another collection or filter,
// or minted by another server instance is rejected.
type skipTokens struct{ key []byte }

const skipTokenVersion = 1

func (s skipTokens) mac(data []byte, scope string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(data)
	m.Write([]byte{0})
	m.Write([]byte(scope))
	return m.Sum(nil)[:16]
}

func (s skipTokens) mint(scope string, offset int) string {
	data := make([]byte, 9, 25)
	data[0] = skipTokenVersion
	binary.BigEndian.PutUint64(data[1:], uint64(offset))
	return base64.RawURLEncoding.EncodeToString(append(data, s.mac(data, scope)...))
}

func (s skipTokens) offset(scope, tok string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 25 || raw[0] != skipTokenVersion {
		return 0, false
	}
	if !hmac.Equal(raw[9:], s.mac(raw[:9], scope)) {
		return 0, false
	}
	off := binary.BigEndian.Uint64(raw[1:9])
	if off > 1<<31 {
		return 0, false
	}
	return int(off), true
}

// filterScope renders the applied filter terms for a skip-token scope.
func filterScope(terms []filterTerm) string {
	var b strings.Builder
	for _, t := range terms {
		b.WriteString(t.prop)
		b.WriteByte(0)
		b.WriteString(t.op)
		b.WriteByte(0)
		b.WriteString(strings.ToLower(t.value))
		b.WriteByte(0)
	}
	return b.String()
}

// requestBase is the scheme and host the request came in on; Graph builds
// @odata.context and @odata.nextLink from it.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// nextLink builds the absolute URL of the next page: the same path with the
// original $filter, $select and $top, plus the new $skiptoken.
func nextLink(r *http.Request, q query, tok string) string {
	var parts []string
	if q.hasFilter {
		parts = append(parts, "$filter="+escapeQueryValue(q.filter))
	}
	if q.hasSelect {
		parts = append(parts, "$select="+escapeQueryValue(q.selectRaw))
	}
	if q.top > 0 {
		parts = append(parts, "$top="+strconv.Itoa(q.top))
	}
	parts = append(parts, "$skiptoken="+tok)
	return requestBase(r) + r.URL.EscapedPath() + "?" + strings.Join(parts, "&")
}

// escapeQueryValue percent-encodes a query value the way Graph's links look:
// spaces as %20, while keeping the characters OData expressions are made of
// (, ' ( ) $ :) readable.
func escapeQueryValue(s string) string {
	const keep = "-._~,'()$:@/!*"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
