package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/custos-ir/custos/collect"
)

// progress reports a collection's progress on stderr: a bar redrawn in
// place on a terminal (devices done / total, requests, throttled waits,
// ETA), plain lines otherwise (every tenth of the fleet, and at least every
// 10 s), nothing with --quiet or --no-progress.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	width    int
	off      bool
	now      func() time.Time
	start    time.Time
	lastDraw time.Time
	lastStep int
	last     collect.Progress
	drawn    bool
}

func newProgress(o out, now func() time.Time) *progress {
	p := &progress{w: o.c.App.ErrWriter, now: now, start: now(), lastStep: -1, width: 80}
	p.off = o.c.Bool("quiet") || o.c.Bool("no-progress")
	if f, ok := p.w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			p.width = w
		}
	}
	return p
}

// update is collect.Request.Progress: cheap, never blocks for long.
func (p *progress) update(s collect.Progress) {
	if p == nil || p.off {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = s
	now := p.now()
	if p.tty {
		if done, total := s.Units(); now.Sub(p.lastDraw) >= 100*time.Millisecond || done == total {
			fmt.Fprint(p.w, "\r"+renderBar(s, now.Sub(p.start), p.width)+"\x1b[K")
			p.lastDraw, p.drawn = now, true
		}
		return
	}
	done, total := s.Units()
	step := done * 10 / max(total, 1)
	if step != p.lastStep || now.Sub(p.lastDraw) >= 10*time.Second {
		p.lastStep, p.lastDraw = step, now
		fmt.Fprintln(p.w, progressLine(s, now.Sub(p.start)))
	}
}

// finish ends the bar's line.
func (p *progress) finish() {
	if p == nil || p.off {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprintln(p.w, "\r"+renderBar(p.last, p.now().Sub(p.start), p.width)+"\x1b[K")
	}
}

// progressLine is the plain form: "collected 120/400 devices, 310
// requests, 4 throttled waits (12s), ETA 1m40s".
func progressLine(s collect.Progress, elapsed time.Duration) string {
	line := fmt.Sprintf("collected %d/%d devices", s.DevicesDone, s.DevicesTotal)
	if s.AppsTotal > 0 {
		line += fmt.Sprintf(", %d/%d apps", s.AppsDone, s.AppsTotal)
	}
	line += fmt.Sprintf(", %d requests", s.Requests)
	if s.Throttled > 0 {
		line += fmt.Sprintf(", %d throttled waits (%s)", s.Throttled, s.Waited.Round(time.Second))
	}
	if eta, ok := estimate(s, elapsed); ok {
		line += ", ETA " + eta.String()
	}
	return line
}

// renderBar draws "[#####.....] 120/400 devices · 310 req · 4 throttled
// (12s) · ETA 1m40s" in width columns.
func renderBar(s collect.Progress, elapsed time.Duration, width int) string {
	info := fmt.Sprintf(" %d/%d devices", s.DevicesDone, s.DevicesTotal)
	if s.AppsTotal > 0 {
		info += fmt.Sprintf(" · %d/%d apps", s.AppsDone, s.AppsTotal)
	}
	info += fmt.Sprintf(" · %d req", s.Requests)
	done, total := s.Units()
	if s.Throttled > 0 {
		info += fmt.Sprintf(" · %d throttled (%s)", s.Throttled, s.Waited.Round(time.Second))
	}
	if eta, ok := estimate(s, elapsed); ok {
		info += " · ETA " + eta.String()
	} else if total > 0 && done == total {
		info += " · done in " + elapsed.Round(time.Second).String()
	}
	barLen := min(width-len([]rune(info))-3, 40)
	if barLen < 5 {
		return strings.TrimSpace(info)
	}
	filled := 0
	if total > 0 {
		filled = barLen * done / total
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", barLen-filled) + "]" + info
}

// estimate projects the time left from the rate so far.
func estimate(s collect.Progress, elapsed time.Duration) (time.Duration, bool) {
	done, total := s.Units()
	if done == 0 || done >= total || elapsed <= 0 {
		return 0, false
	}
	per := elapsed / time.Duration(done)
	return (per * time.Duration(total-done)).Round(time.Second), true
}
