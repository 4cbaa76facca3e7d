package jsonscan

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FlatMembers accepts only valid JSON whose strings are their text, and
// reports every member of it, in order: the members it reports, written
// back, are the object's bytes.
func FuzzFlatMembers(f *testing.F) {
	for _, s := range []string{
		`{"device_key":"amapi:1","app_id":"com.example","managed":true,"prevalence":-12,"raw":{"path":"raw/a.json","sha256":"ab","pointer":"/x/0"}}`,
		`{}`, `{"a":{}}`, `{"a":{"b":{"c":1}}}`, `{"a":{"b":{"c":{}}}}`, `{"a":0}`, `{"a":01}`, `{"a":1.5}`, `{"a":1e3}`, `{"a":-}`,
		`{"a":null}`, `{"a":"\u0041"}`, `{"a":"é"}`, `{"a" :1}`, `{"a":tru}`, `{"a":false,"a":true}`, `{"a":"x"`, `{"a":"x",}`,
		"{\"a\":\"\x7f\"}", `[1]`, `{"a":[1]}`, `{"a":[]}`, `{"a":["x",1,true,{"b":[false]}]}`, `{"a":[1,]}`, `{"a":[[[[1]]]]}`, `{"a":[1 ]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var back bytes.Buffer
		back.WriteByte('{')
		end, ok := FlatMembers(data, func(name []byte, kind byte, value []byte) bool {
			if back.Len() > 1 {
				back.WriteByte(',')
			}
			back.WriteString(`"` + string(name) + `":`)
			switch kind {
			case '"':
				back.WriteString(`"` + string(value) + `"`)
				var s string
				if err := json.Unmarshal([]byte(`"`+string(value)+`"`), &s); err != nil || s != string(value) {
					t.Fatalf("string %q decodes to %q, %v", value, s, err)
				}
			case '0', 't', 'f', '{':
				back.Write(value)
			case '[':
				back.WriteByte('[')
				n := 0
				if !FlatElements(value, func(kind byte, v []byte) bool {
					if n++; n > 1 {
						back.WriteByte(',')
					}
					if kind == '"' {
						back.WriteString(`"` + string(v) + `"`)
					} else {
						back.Write(v)
					}
					return true
				}) {
					t.Fatalf("array %q not flat", value)
				}
				back.WriteByte(']')
			default:
				t.Fatalf("kind %q", kind)
			}
			if _, ok := FlatMembers(value, nil); kind == '{' && !ok {
				t.Fatalf("nested object %q not flat", value)
			}
			return true
		})
		if !ok {
			return
		}
		back.WriteByte('}')
		if !json.Valid(data[:end]) {
			t.Fatalf("accepted invalid JSON %q", data[:end])
		}
		if !bytes.Equal(back.Bytes(), data[:end]) {
			t.Fatalf("members written back %q, object %q", back.Bytes(), data[:end])
		}
		var m map[string]any
		if err := json.Unmarshal(data[:end], &m); err != nil {
			t.Fatal(err)
		}
	})
}
