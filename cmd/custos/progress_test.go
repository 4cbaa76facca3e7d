package main

import (
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
)

func TestProgressRendering(t *testing.T) {
	s := collect.Progress{DevicesDone: 100, DevicesTotal: 400, Requests: 310, Throttled: 4, Waited: 12 * time.Second}
	if got, want := progressLine(s, 50*time.Second), "collected 100/400 devices, 310 requests, 4 throttled waits (12s), ETA 2m30s"; got != want {
		t.Errorf("line %q, want %q", got, want)
	}
	if got, want := renderBar(s, 50*time.Second, 80), "[####...............] 100/400 devices · 310 req · 4 throttled (12s) · ETA 2m30s"; got != want {
		t.Errorf("bar %q, want %q", got, want)
	}
	done := collect.Progress{DevicesDone: 400, DevicesTotal: 400, Requests: 900}
	if got, want := renderBar(done, 90*time.Second, 60), "[###############] 400/400 devices · 900 req · done in 1m30s"; got != want {
		t.Errorf("finished bar %q, want %q", got, want)
	}
	// Bar and text fit the terminal width.
	if got := renderBar(s, 50*time.Second, 80); len([]rune(got)) > 80 {
		t.Errorf("bar of %d columns in 80", len([]rune(got)))
	}
	if got := renderBar(s, time.Second, 30); got != "100/400 devices · 310 req · 4 throttled (12s) · ETA 3s" {
		t.Errorf("narrow terminal: %q", got)
	}
	if _, ok := estimate(collect.Progress{DevicesTotal: 10}, time.Second); ok {
		t.Error("an ETA before any device is done")
	}
}
