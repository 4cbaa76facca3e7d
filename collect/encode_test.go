package collect

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// checkEncode compares appendEvent with json.Marshal.
func checkEncode(t *testing.T, e Event) {
	t.Helper()
	want, err := json.Marshal(e)
	got, ok := appendEvent([]byte("prefix"), e)
	if !ok {
		if !bytes.Equal(got, []byte("prefix")) {
			t.Fatalf("declined %+v but changed dst to %q", e, got)
		}
		return
	}
	if err != nil {
		t.Fatalf("appendEvent wrote %q for %+v, json.Marshal fails: %v", got, e, err)
	}
	if !bytes.Equal(got[len("prefix"):], want) {
		t.Fatalf("appendEvent:\n%s\njson.Marshal:\n%s", got[len("prefix"):], want)
	}
}

func TestAppendEventMatchesMarshal(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 123456789, time.UTC)
	cases := []Event{
		{},
		{DeviceKey: "amapi:d", Time: at, Type: "adb_shell_command", Fields: map[string]any{"shell_cmd": "pm install /data/local/tmp/<x>.apk && echo \"ok\"\n", "event_id": "7"}, Raw: RawRef{Path: "raw/amapi/000001.json", SHA256: "ab", Pointer: "/messages/0/data/usageLogEvents/3"}},
		{Time: at.In(time.FixedZone("x", -(5*3600 + 30*60))), Fields: map[string]any{"n": 1e21, "m": 1e-7, "z": math.Copysign(0, -1), "i": 42.0, "big": 123456789012345678.0, "f": 0.1}},
		{Time: at.In(time.FixedZone("odd", 3600+7)), Type: "x"},
		{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Fields: map[string]any{"nested": map[string]any{"b": []any{1.0, "two", nil, true, map[string]any{}}, "a": []any{}}, "nil": nil, "nilslice": []any(nil), "nilmap": map[string]any(nil)}},
		{Fields: map[string]any{"bad utf8": "\xff\xfe", "sep": "a\u2028b\u2029c", "ctl": "\x00\x01\x1f\b\f\t\r", "html": "<script>&</script>", "emoji": "😀é"}},
		{Fields: map[string]any{"long": "abcdefgh<ijklmnop&qrstuvw>xyz01234\"5678\\9abcdefghé\x7fabcdefgh\x01", "8": "abcdefgh", "16": "abcdefghabcdefg\u2028"}},
		{Fields: map[string]any{"whole": 999999999999999.0, "1e15": 1e15, "neg": -12.0, "big": 9007199254740993.0, "a": 1.0, "b": 2.5}},
		{Fields: map[string]any{"k01": 1.0, "k02": 2.0, "k03": 3.0, "k04": 4.0, "k05": 5.0, "k06": 6.0, "k07": 7.0, "k08": 8.0, "k09": 9.0,
			"k10": 10.0, "k11": 11.0, "k12": 12.0, "k13": 13.0, "k14": 14.0, "k15": 15.0, "k16": 16.0, "k17": 17.0, "k18": 18.0}},
		{Fields: map[string]any{"int": 3, "int64": int64(-9), "inf": math.Inf(1)}},
		{Fields: map[string]any{"unsupported": struct{ A int }{1}}},
		{Fields: map[string]any{"nan": math.NaN()}},
	}
	for _, e := range cases {
		checkEncode(t, e)
	}
	if _, ok := appendEvent(nil, cases[1]); !ok {
		t.Error("a plain usage-log event was not encoded by appendEvent")
	}
}

// FuzzAppendEvent compares appendEvent with json.Marshal on events whose
// fields come from decoding arbitrary JSON.
func FuzzAppendEvent(f *testing.F) {
	f.Add("amapi:d", "dns", []byte(`{"hostname":"<a>.example","ips":["10.0.0.1"],"n":1.5e-9,"deep":{"x":[null,true,{"y":"\u2028"}]}}`), int64(1790000000), int64(5), 3600)
	f.Add("\xff", "", []byte(`{"":"\ud800"}`), int64(-62135596800), int64(0), -3599)
	f.Fuzz(func(t *testing.T, key, kind string, fields []byte, sec, nsec int64, offset int) {
		var m map[string]any
		json.Unmarshal(fields, &m)
		e := Event{DeviceKey: key, Type: kind, Fields: m, Time: time.Unix(sec, nsec).In(time.FixedZone("z", offset%(30*3600))),
			Raw: RawRef{Path: kind, Pointer: key}}
		checkEncode(t, e)
	})
}

func BenchmarkAppendEvent(b *testing.B) {
	e := Event{DeviceKey: "amapi:0123456789abcdef", Time: time.Now().UTC(), Type: "app_process_start", Raw: RawRef{Path: "raw/amapi/000001.json", SHA256: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", Pointer: "/messages/12/data/usageLogEvents/34"},
		Fields: map[string]any{"event_id": "1000123", "process_type": "START_PROCESS", "start_time": "2026-11-26T09:00:00Z", "uid": 10234.0, "pid": 4242.0,
			"seinfo": "default:targetSdkVersion=34", "apk_sha256_hash": "d55e492d0e2b4b3b8c8e0e5d8a6c7b9e1f2a3b4c5d6e7f8091a2b3c4d5e6f708", "package_name": "com.example.app"}}
	b.Run("appendEvent", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf, _ = appendEvent(buf[:0], e)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(e)
		}
	})
}

// An event given its fields encoded writes the record json.Marshal writes
// for the same event with its fields decoded, through the hand encoder or,
// for a time it declines, through json.Marshal.
func TestEncodedFields(t *testing.T) {
	fields := []byte(`{"a":"\u003cb\u003e","event_id":"1","n":[1,2.5,null],"x":true}`)
	for _, at := range []time.Time{time.Date(2026, 11, 26, 9, 0, 0, 5, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 3600+7))} {
		e := Event{DeviceKey: "amapi:d", Time: at, Type: "dns", Raw: RawRef{Path: "raw/amapi/000001.json", SHA256: "ab", Pointer: "/x"}}.WithEncodedFields(fields)
		if e.Fields != nil {
			t.Fatalf("fields decoded already: %v", e.Fields)
		}
		if again := e.Encoded(); !bytes.Equal(again.head, e.head) {
			t.Fatal("Encoded encoded an encoded event again")
		}
		dec, err := e.Decoded()
		if err != nil || dec.Fields["a"] != "<b>" || len(dec.Fields) != 4 {
			t.Fatalf("Decoded: %+v, %v", dec.Fields, err)
		}
		got, err := e.Record()
		want, _ := json.Marshal(dec)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Record at %v:\n%s (%v)\nwant\n%s", at, got, err, want)
		}
	}
	e, err := Event{Type: "x"}.WithEncodedFields([]byte(`{}`)).Decoded()
	if err != nil || e.Fields != nil {
		t.Fatalf("empty fields decoded as %#v, %v", e.Fields, err)
	}
	odd := Event{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 7))}
	if _, err := odd.WithEncodedFields([]byte(`{"a":`)).Record(); err == nil {
		t.Fatal("a record of broken fields was written through json.Marshal")
	}
}
