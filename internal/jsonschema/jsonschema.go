// Package jsonschema validates JSON documents against the subset of JSON
// Schema (draft 2020-12) that custos's own schemas use: type, const, enum,
// required, properties, additionalProperties, items, pattern, minimum and
// local $ref to $defs. A schema using any other keyword is refused rather
// than half-checked. Tests use it to hold output to its documented schema.
package jsonschema

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// Schema is a parsed schema document.
type Schema struct {
	root     map[string]any
	patterns map[string]*regexp.Regexp // every pattern, compiled once by Parse
}

var known = map[string]bool{"$schema": true, "$id": true, "title": true, "description": true, "$defs": true,
	"type": true, "const": true, "enum": true, "required": true, "properties": true, "additionalProperties": true,
	"items": true, "pattern": true, "minimum": true, "$ref": true}

// Parse reads a schema and checks it uses only the keywords supported.
func Parse(data []byte) (*Schema, error) {
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	s := &Schema{root: root, patterns: map[string]*regexp.Regexp{}}
	if err := s.checkKeywords(root, "#"); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Schema) checkKeywords(sch map[string]any, at string) error {
	for k, v := range sch {
		if !known[k] {
			return fmt.Errorf("%s: keyword %q not supported", at, k)
		}
		switch k {
		case "pattern":
			p, _ := v.(string)
			re, err := regexp.Compile(p)
			if err != nil {
				return fmt.Errorf("%s/pattern: %w", at, err)
			}
			s.patterns[p] = re
		case "properties", "$defs":
			for name, sub := range v.(map[string]any) {
				if err := s.checkKeywords(sub.(map[string]any), at+"/"+k+"/"+name); err != nil {
					return err
				}
			}
		case "items":
			if err := s.checkKeywords(v.(map[string]any), at+"/items"); err != nil {
				return err
			}
		case "additionalProperties":
			if m, ok := v.(map[string]any); ok {
				if err := s.checkKeywords(m, at+"/additionalProperties"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Validate checks the JSON document data and returns every violation, with
// its JSON pointer.
func (s *Schema) Validate(data []byte) []error {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return []error{err}
	}
	var errs []error
	s.check(s.root, doc, "", &errs)
	return errs
}

func (s *Schema) resolve(ref string) map[string]any {
	name, ok := strings.CutPrefix(ref, "#/$defs/")
	if !ok {
		return nil
	}
	defs, _ := s.root["$defs"].(map[string]any)
	d, _ := defs[name].(map[string]any)
	return d
}

func typeOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := v.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func (s *Schema) check(sch map[string]any, v any, at string, errs *[]error) {
	fail := func(format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s: %s", cmp.Or(at, "/"), fmt.Sprintf(format, args...)))
	}
	if ref, ok := sch["$ref"].(string); ok {
		target := s.resolve(ref)
		if target == nil {
			fail("unresolvable $ref %s", ref)
			return
		}
		s.check(target, v, at, errs)
	}
	if t, ok := sch["type"].(string); ok {
		got := typeOf(v)
		if got != t && !(t == "number" && got == "integer") {
			fail("%s, want %s", got, t)
			return
		}
	}
	if c, ok := sch["const"]; ok && !equal(c, v) {
		fail("%v, want %v", v, c)
	}
	if e, ok := sch["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || equal(x, v)
		}
		if !found {
			fail("%v is not one of %v", v, e)
		}
	}
	if p, ok := sch["pattern"].(string); ok {
		if str, isStr := v.(string); isStr && !s.patterns[p].MatchString(str) {
			fail("%q does not match %s", str, p)
		}
	}
	if m, ok := sch["minimum"].(float64); ok {
		if n, isNum := v.(json.Number); isNum {
			if f, _ := n.Float64(); f < m {
				fail("%v is less than %v", f, m)
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		for _, r := range asList(sch["required"]) {
			if _, has := obj[r.(string)]; !has {
				fail("required member %q missing", r)
			}
		}
		props, _ := sch["properties"].(map[string]any)
		names := make([]string, 0, len(obj))
		for k := range obj {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if p, ok := props[k].(map[string]any); ok {
				s.check(p, obj[k], at+"/"+k, errs)
				continue
			}
			switch ap := sch["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("member %q is not in the schema", k)
				}
			case map[string]any:
				s.check(ap, obj[k], at+"/"+k, errs)
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if items, ok := sch["items"].(map[string]any); ok {
			for i, x := range arr {
				s.check(items, x, fmt.Sprintf("%s/%d", at, i), errs)
			}
		}
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

func equal(schemaValue, v any) bool {
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		return reflect.DeepEqual(schemaValue, f)
	}
	return reflect.DeepEqual(schemaValue, v)
}
