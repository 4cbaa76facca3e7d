package imports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// word is the form vocabulary values are matched in: lower case, '_' and
// '-' as spaces, spaces collapsed.
func word(s string) string {
	s = strings.NewReplacer("_", " ", "-", " ").Replace(strings.ToLower(s))
	return strings.Join(strings.Fields(s), " ")
}

// platform maps a console's operating system or platform name.
func platform(os, model string) string {
	w := word(os)
	switch {
	case w == "ipados":
		return "ipados"
	case w == "ios" || w == "ios/ipados" || w == "apple ios" || w == "iphone" || w == "apple":
		if strings.Contains(strings.ToLower(model), "ipad") {
			return "ipados"
		}
		return "ios"
	case strings.HasPrefix(w, "android"):
		return "android"
	case strings.HasPrefix(w, "windows") || w == "winrt":
		return "windows"
	case w == "macos" || w == "mac os x" || w == "appleosx" || w == "apple macos" || w == "osx":
		return "macos"
	}
	return "unknown"
}

// ownership maps a console's ownership value: Intune Corporate/Personal
// (Graph company/personal), Jamf Institutional/Personal…, Workspace ONE
// C/E/S or "Corporate - Dedicated", "Employee Owned", "Corporate - Shared".
func ownership(s string) string {
	switch w := word(s); w {
	case "corporate", "company", "c", "s", "institutional", "corporate dedicated", "corporate shared", "corporate owned", "company owned":
		return "corporate"
	case "personal", "e", "employee owned", "employee", "personally owned", "personaldeviceprofile", "personal device profile",
		"userenrollment", "user enrollment", "accountdrivenuserenrollment", "account driven user enrollment":
		return "personal"
	}
	return "unknown"
}

// compliance maps a compliance state to the vocabulary of Graph's
// complianceState (what the live Intune source records).
func compliance(s string) string {
	switch w := strings.ReplaceAll(word(s), " ", ""); w {
	case "compliant":
		return "compliant"
	case "noncompliant", "notcompliant":
		return "noncompliant"
	case "ingraceperiod":
		return "inGracePeriod"
	case "conflict":
		return "conflict"
	case "error":
		return "error"
	case "configmanager":
		return "configManager"
	}
	return "unknown"
}

// tristate maps a jailbreak / root / compromise verdict to true, false or
// unknown. Values it does not know are unknown: the raw value is kept
// beside it.
func tristate(s string) string {
	switch word(s) {
	case "true", "yes", "y", "1", "jailbroken", "jailbreak detected", "compromised", "rooted", "detected":
		return "true"
	case "false", "no", "n", "0", "not jailbroken", "not compromised", "not rooted", "normal", "not detected", "secure", "clean":
		return "false"
	}
	return "unknown"
}

// yesNo reads a yes/no cell. Values it does not know (including "Not
// available") are not reported: nil.
func yesNo(s string) *bool {
	t, f := true, false
	switch word(s) {
	case "true", "yes", "y", "1", "on", "enabled", "encrypted", "supervised":
		return &t
	case "false", "no", "n", "0", "off", "disabled", "not encrypted", "unencrypted", "not supervised", "unsupervised":
		return &f
	}
	return nil
}

// joinNonEmpty joins the non-empty, non-"unknown" parts with "/".
func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && word(p) != "unknown" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// hexDigest checks an optional hex digest of n bytes and returns it in
// lower case.
func hexDigest(s string, n int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	s = strings.ToLower(strings.ReplaceAll(s, ":", ""))
	if len(s) != 2*n {
		return "", fmt.Errorf("%q is not %d hex digits", s, 2*n)
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", fmt.Errorf("%q is not %d hex digits", s, 2*n)
		}
	}
	return s, nil
}

// jstr is a JSON scalar read as text: a string as it is, a number or a
// boolean as written, null as "". An object or array is an error.
type jstr string

func (s *jstr) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*s = ""
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = jstr(v)
	case b[0] == '{' || b[0] == '[':
		// A type error, so that the decoder names the field.
		return &json.UnmarshalTypeError{Value: kindOf(b), Type: reflect.TypeFor[jstr]()}
	default:
		*s = jstr(b)
	}
	return nil
}

// jbool is a JSON boolean, or a yes/no string as PowerShell and some
// consoles write it; null and other strings are not reported (nil).
type jbool struct{ v *bool }

func (p *jbool) UnmarshalJSON(b []byte) error {
	var s jstr
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	p.v = yesNo(string(s))
	return nil
}

// jint is a JSON integer, also when written as a string.
type jint struct {
	v  int64
	ok bool
}

func (p *jint) UnmarshalJSON(b []byte) error {
	var s jstr
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(s)), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not an integer", string(s))
	}
	p.v, p.ok = n, true
	return nil
}

func kindOf(b []byte) string {
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "scalar"
}

// jsonKind names what JSON a Go type of this package reads.
func jsonKind(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[jstr]():
		return "string, number or boolean"
	case reflect.TypeFor[jbool]():
		return "boolean"
	case reflect.TypeFor[jint]():
		return "integer"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "object"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	}
	return "number"
}
