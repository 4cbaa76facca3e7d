package rfc3339

import (
	"testing"
	"time"
)

var seeds = []string{"2026-11-26T09:00:00Z", "2026-11-26T09:00:00.123456789Z", "2026-11-26T09:00:00.1Z", "2024-02-29T23:59:59Z",
	"2023-02-29T00:00:00Z", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-26T24:00:00Z",
	"2026-11-26T09:60:00Z", "2026-11-26T09:00:60Z", "2026-11-26T09:00:00.Z", "2026-11-26T09:00:00.1234567891Z",
	"2026-11-26T09:00:00+02:00", "2026-11-26t09:00:00z", "2026-11-26T09:00:00.-1Z", "+026-11-26T09:00:00Z",
	"2026-11-26T09:00:00,5Z", "2026-00-10T09:00:00Z", "2026-04-31T09:00:00Z", "2026-11-26T09:00:00.000000000Z"}

func TestSeeds(t *testing.T) {
	for _, s := range seeds {
		check(t, s)
	}
	if _, ok := ParseUTC([]byte(seeds[1])); !ok {
		t.Error("the common form went to the slow path")
	}
}

// FuzzParseUTC holds ParseUTC to time.Parse: what it reads, it reads
// as time.Parse does, to the location.
func FuzzParseUTC(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(check)
}

func check(t *testing.T, s string) {
	got, ok := ParseUTC([]byte(s))
	if !ok {
		return
	}
	want, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || got != want {
		t.Fatalf("ParseUTC(%q) = %v; time.Parse: %v, %v", s, got, want, err)
	}
}
