package jsonscan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var seeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e3`, `-12.25E-2`, `1e400`, `-1e400`, `"x"`,
	` {"a": [1, "two", {"b": null}], "a": true} `,
	`{"device":"enterprises/e/devices/d","usageLogEvents":[{"eventId":"1","eventType":"DNS","dnsEvent":{"hostname":"a.example","resolvedIpAddresses":["10.0.0.1"]}}]}`,
	`"0123456789abcdef0123456789abcdef"`, "\"01234567\x1f89\"", `"0123456789\"01234567"`, `"01234567890123456789\\"`,
	`"\u00e9\ud83d\ude00\ud800\u0041\udc00x\\\"\/\b\f\n\r\t"`, "\"\xff\xfe ok \xe2\x80\xa8\"",
	`{"A":1,"a":2}`, `[1,]`, `{"a":1,}`, `01`, `1.`, `.5`, `-`, `1e`, `tru`, `nul`, `"\x"`, `"\u12"`, "\"a\x01\"",
	`[1] x`, `{"a" 1}`, `{1:2}`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
}

func TestAgainstEncodingJSON(t *testing.T) {
	for _, s := range seeds {
		compare(t, []byte(s))
	}
}

// compare checks Valid, Decode, Members and Elements against encoding/json.
func compare(t *testing.T, data []byte) {
	t.Helper()
	if got, want := Valid(data), json.Valid(data); got != want {
		t.Fatalf("Valid(%q) = %v, encoding/json says %v", data, got, want)
	}
	var want any
	wantErr := json.Unmarshal(data, &want)
	got, err := decode(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("Decode(%q) error %v, encoding/json %v", data, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode(%q) = %#v, encoding/json %#v", data, got, want)
	}
	val, err := Parse(data)
	if err != nil {
		return
	}
	if s, ok := val.String(); ok && wantErr == nil && s != want {
		t.Fatalf("String(%q) = %q, want %q", data, s, want)
	}
	if raw, ok := val.PlainString(); ok && string(raw) != want {
		t.Fatalf("PlainString(%q) = %q, want %q", data, raw, want)
	}
	if m, ok := want.(map[string]any); ok && wantErr == nil {
		seen := map[string]any{}
		val.Members(func(name string, value Value) bool {
			var v any
			if err := json.Unmarshal(value.Bytes(), &v); err != nil {
				t.Fatalf("Members(%q): member %q value %q: %v", data, name, value.Bytes(), err)
			}
			seen[name] = v // the last one wins, as in a map
			return true
		})
		if !reflect.DeepEqual(seen, m) {
			t.Fatalf("Members(%q) = %#v; want %#v", data, seen, m)
		}
	}
	if a, ok := want.([]any); ok && wantErr == nil {
		var seen []any
		val.Elements(func(i int, value Value) bool {
			var v any
			if err := json.Unmarshal(value.Bytes(), &v); err != nil {
				t.Fatalf("Elements(%q): element %d %q: %v", data, i, value.Bytes(), err)
			}
			if i != len(seen) {
				t.Fatalf("Elements(%q): index %d after %d", data, i, len(seen))
			}
			seen = append(seen, v)
			return true
		})
		if (len(a) > 0 && !reflect.DeepEqual(seen, a)) || len(seen) != len(a) {
			t.Fatalf("Elements(%q) = %#v; want %#v", data, seen, a)
		}
	}
}

func FuzzAgainstEncodingJSON(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compare(t, data)
	})
}

func BenchmarkDecode(b *testing.B) {
	data := []byte(`{"eventId":"1000123","eventTime":"2026-11-26T09:00:00.123Z","eventType":"APP_PROCESS_START","appProcessStartEvent":{"processInfo":{"processType":"START_PROCESS","startTime":"2026-11-26T09:00:00Z","uid":10234,"pid":4242,"seinfo":"default:targetSdkVersion=34","apkSha256Hash":"d55e492d0e2b4b3b8c8e0e5d8a6c7b9e1f2a3b4c5d6e7f8091a2b3c4d5e6f708","packageName":"com.example.app"}}}`)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodingJSON(b *testing.B) {
	data := []byte(`{"eventId":"1000123","eventTime":"2026-11-26T09:00:00.123Z","eventType":"APP_PROCESS_START","appProcessStartEvent":{"processInfo":{"processType":"START_PROCESS","startTime":"2026-11-26T09:00:00Z","uid":10234,"pid":4242,"seinfo":"default:targetSdkVersion=34","apkSha256Hash":"d55e492d0e2b4b3b8c8e0e5d8a6c7b9e1f2a3b4c5d6e7f8091a2b3c4d5e6f708","packageName":"com.example.app"}}}`)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// decode is Parse then Value.Decode, as json.Unmarshal into an any.
func decode(data []byte) (any, error) {
	v, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return v.Decode()
}

// A Parser parses input after input as Parse does.
func TestParserReuse(t *testing.T) {
	var p Parser
	for _, in := range []string{`{"a":[1,{"b":2}],"c":"d"}`, ` [true, {"x":{}}] `, `"s"`, `{"a":`, `{"z":[[],[[]]]}`} {
		want, werr := Parse([]byte(in))
		got, gerr := p.Parse([]byte(in))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: Parse %v, Parser %v", in, werr, gerr)
		}
		if werr != nil {
			continue
		}
		w, _ := want.Decode()
		g, _ := got.Decode()
		if !reflect.DeepEqual(w, g) || string(want.Bytes()) != string(got.Bytes()) {
			t.Fatalf("%s: Parser gave %v, Parse %v", in, g, w)
		}
		// Members and elements come from the tape, which the Parser reuses.
		if w, g := walk(want), walk(got); !reflect.DeepEqual(w, g) {
			t.Fatalf("%s: Parser walks to %q, Parse to %q", in, g, w)
		}
	}
}

// walk lists every member and element of v at every depth, with its text.
func walk(v Value) []string {
	var out []string
	var visit func(path string, v Value)
	visit = func(path string, v Value) {
		out = append(out, path+"="+string(v.Bytes()))
		v.Members(func(name string, m Value) bool { visit(path+"/"+name, m); return true })
		v.Elements(func(i int, e Value) bool { visit(fmt.Sprintf("%s/%d", path, i), e); return true })
	}
	visit("", v)
	return out
}
