// Package simkit is what the MDM simulators (collect/mdmsim,
// collect/jamfsim, collect/wsonesim) share: a loopback listener and the
// path patterns of fault injection. It depends on the standard library
// only, and on no source: a simulator stays independent of the client it
// tests.
package simkit

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// Listener serves a handler on 127.0.0.1 (never another interface), on a
// free port, until Close. The zero Listener (a simulator built without
// Serve) has an empty URL and closes as a no-op.
type Listener struct {
	url  string
	srv  *http.Server
	done chan struct{}
}

// Serve starts serving h in the background; name prefixes the error.
func Serve(name string, h http.Handler) (*Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%s: listening on loopback: %w", name, err)
	}
	l := &Listener{url: "http://" + ln.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.srv.Serve(ln) // returns http.ErrServerClosed on Close
	}()
	return l, nil
}

// URL is "http://127.0.0.1:PORT"; empty for the zero Listener.
func (l *Listener) URL() string {
	if l == nil {
		return ""
	}
	return l.url
}

// Close stops serving and waits until the server has stopped.
func (l *Listener) Close() error {
	if l == nil || l.srv == nil {
		return nil
	}
	err := l.srv.Close()
	<-l.done
	return err
}

// MatchSegments matches a request path against an injection pattern,
// segment by segment and ignoring case: "*" matches any one segment, the
// path may go on beyond the pattern unless the pattern ends in "$", and ""
// matches every path ("$" alone only the root).
func MatchSegments(pattern, path string) bool {
	exact := strings.HasSuffix(pattern, "$")
	pattern = strings.Trim(strings.TrimSuffix(pattern, "$"), "/")
	path = strings.Trim(path, "/")
	if pattern == "" {
		return !exact || path == ""
	}
	ps, segs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(segs) < len(ps) || exact && len(segs) != len(ps) {
		return false
	}
	for i, p := range ps {
		if p != "*" && !strings.EqualFold(p, segs[i]) {
			return false
		}
	}
	return true
}
