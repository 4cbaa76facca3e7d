package jsonschema

import (
	"strings"
	"testing"
)

const schema = `{"type":"object","required":["a"],"additionalProperties":false,
 "properties":{"a":{"$ref":"#/$defs/x"},"b":{"type":"array","items":{"enum":["p","q"]}},"c":{"type":"integer","minimum":1},
  "d":{"type":"object","additionalProperties":{"type":"integer"}}},
 "$defs":{"x":{"type":"string","pattern":"^F-[0-9]+$"}}}`

func TestValidate(t *testing.T) {
	s, err := Parse([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Validate([]byte(`{"a":"F-1","b":["p"],"c":2,"d":{"k":3}}`)); len(errs) != 0 {
		t.Fatalf("valid document refused: %v", errs)
	}
	for doc, want := range map[string]string{
		`{"b":[]}`:                  `required member "a"`,
		`{"a":"G-1"}`:               "does not match",
		`{"a":"F-1","e":1}`:         `member "e" is not in the schema`,
		`{"a":"F-1","b":["r"]}`:     "/b/0: r is not one of",
		`{"a":"F-1","c":0}`:         "less than 1",
		`{"a":"F-1","c":1.5}`:       "number, want integer",
		`{"a":"F-1","d":{"k":"x"}}`: "/d/k: string, want integer",
		`{"a":1}`:                   "/a: integer, want string",
	} {
		errs := s.Validate([]byte(doc))
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), want) {
			t.Errorf("%s: %v, want %q", doc, errs, want)
		}
	}
	if _, err := Parse([]byte(`{"oneOf":[]}`)); err == nil {
		t.Error("an unsupported keyword was accepted")
	}
}
