package jsonptr

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/custos-ir/custos/internal/jsonscan"
)

const doc = `{"value":[{"id":"a"},{"id":"b","x/y":{"~k":1},"":3}]}`

func TestResolve(t *testing.T) {
	for ptr, want := range map[string]string{
		"":                  doc,
		"/value/1/id":       `"b"`,
		"/value/1/x~1y/~0k": `1`,
		"/value/1/":         `3`,
	} {
		got, err := Resolve([]byte(doc), ptr)
		if err != nil || string(got) != want {
			t.Errorf("Resolve(%q) = %s, %v; want %s", ptr, got, err, want)
		}
	}
}

func TestLookup(t *testing.T) {
	var d any
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatal(err)
	}
	for ptr, want := range map[string]any{"/value/0/id": "a", "/value/1/x~1y/~0k": 1.0, "/value/1/": 3.0} {
		got, err := Lookup(d, ptr)
		if err != nil || got != want {
			t.Errorf("Lookup(%q) = %v, %v; want %v", ptr, got, err, want)
		}
	}
	if got, err := Lookup(d, ""); err != nil || got == nil {
		t.Errorf("empty pointer = %v, %v; want the document", got, err)
	}
}

func TestBadPointers(t *testing.T) {
	var d any
	json.Unmarshal([]byte(doc), &d)
	for _, bad := range []string{"value", "/value/2", "/value/01", "/value/-1", "/value/+1", "/value/x", "/nope", "/value/0/id/x"} {
		if _, err := Resolve([]byte(doc), bad); err == nil {
			t.Errorf("Resolve(%q) succeeded", bad)
		}
		if _, err := Lookup(d, bad); err == nil {
			t.Errorf("Lookup(%q) succeeded", bad)
		}
	}
}

// FuzzResolve: hostile documents and pointers never panic, and both
// resolvers agree on whether a pointer leads anywhere.
func FuzzResolve(f *testing.F) {
	f.Add([]byte(doc), "/value/0/id")
	f.Add([]byte(`[1,2,{"a~b":[]}]`), "/2/a~0b")
	f.Fuzz(func(t *testing.T, data []byte, ptr string) {
		_, err1 := Resolve(data, ptr)
		var d any
		if json.Unmarshal(data, &d) != nil {
			return
		}
		_, err2 := Lookup(d, ptr)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Resolve: %v, Lookup: %v", err1, err2)
		}
	})
}

// FuzzResolveIn holds ResolveIn on a parsed document to Lookup on the
// document encoding/json decodes: the same value, or both an error.
func FuzzResolveIn(f *testing.F) {
	f.Add([]byte(doc), "/value/1/x~1y/~0k")
	f.Add([]byte(`{"a":1,"a":{"b":[0,1,2]}}`), "/a/b/2")
	f.Add([]byte(` [1,2,{"a~b":[]}] `), "")
	f.Add([]byte(`{"\u00e9":[true],"é":[false]}`), "/é/0")
	f.Fuzz(func(t *testing.T, data []byte, ptr string) {
		parsed, err := jsonscan.Parse(data)
		var d any
		if err != nil || json.Unmarshal(data, &d) != nil {
			return
		}
		want, err1 := Lookup(d, ptr)
		got, err2 := ResolveIn(parsed, ptr)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%s %q: Lookup: %v, ResolveIn: %v", data, ptr, err1, err2)
		}
		if err1 != nil {
			return
		}
		var gotValue any
		if err := json.Unmarshal(got.Bytes(), &gotValue); err != nil || !reflect.DeepEqual(gotValue, want) {
			t.Fatalf("%s %q: ResolveIn %s, Lookup %v", data, ptr, got.Bytes(), want)
		}
	})
}
