package simkit

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMatchSegments(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"", "/anything/at/all", true},
		{"$", "/", true},
		{"$", "/x", false},
		{"/api/v2/mobile-devices", "/API/v2/Mobile-Devices/7/detail", true},
		{"/api/v2/mobile-devices$", "/api/v2/mobile-devices/7", false},
		{"/api/v2/mobile-devices$", "/api/v2/mobile-devices/", true},
		{"/api/*/detail", "/api/7/detail", true},
		{"/api/*/detail", "/api/7", false},
		{"/api/mobile", "/api/mobile-devices", false}, // whole segments only
		{"/API/mdm/devices/12", "/API/mdm/devices/123/apps", false},
		{"/API/mdm", "/API", false},
	} {
		if got := MatchSegments(c.pattern, c.path); got != c.want {
			t.Errorf("MatchSegments(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}

// Serve listens on loopback only and Close stops it; the zero Listener
// closes as a no-op.
func TestServe(t *testing.T) {
	l, err := Serve("test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", l.URL())
	}
	resp, err := http.Get(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Errorf("body %q", b)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
	if _, err := http.Get(l.URL()); err == nil {
		t.Error("still serving after Close")
	}
	var zero *Listener
	if zero.URL() != "" || zero.Close() != nil {
		t.Error("the zero Listener")
	}
}
