package mdmsim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The fast encoder must produce exactly the bytes encoding/json does, so
// that what clients capture does not depend on which path encoded it.
func TestAppendValueMatchesEncodingJSON(t *testing.T) {
	s := "x"
	type all struct {
		S   string
		B   bool
		I   int64
		I32 int32
		T   time.Time
		TN  time.Time
		P   *string
		PN  *string
		R   json.RawMessage
		L   []DeviceActionResult
	}
	v := all{S: "a\"b\\c\n\r\t\b\f\x01\x1f<>&\u2028\u2029é\xff€", B: true, I: -42, I32: 7,
		T: time.Date(2026, 11, 20, 10, 30, 0, 123000000, time.UTC), P: &s,
		L: []DeviceActionResult{{ActionName: "wipe"}}}
	rv := reflect.ValueOf(&v).Elem()
	for i := range rv.NumField() {
		for _, f := range []reflect.Value{rv.Field(i), reflect.ValueOf(v).Field(i)} { // addressable or not
			got := appendValue(nil, f)
			want := appendJSON(nil, f.Interface())
			if !bytes.Equal(got, want) {
				t.Errorf("%s: got %s, want %s", rv.Type().Field(i).Name, got, want)
			}
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\ nl\n", "\x00\x7f\xff\xfe", "\u2028\u2029", "System Update <img src=x onerror=alert(1)>", "Jérôme’s iPhone"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendString(nil, s), appendJSON(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}
