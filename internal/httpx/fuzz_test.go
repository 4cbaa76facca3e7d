package httpx

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzSameOrigin feeds hostile paging links to SameOrigin and a Pager: an
// accepted link must be on the base origin, stay there once re-parsed (the
// request is built from its string form), and carry no user info.
func FuzzSameOrigin(f *testing.F) {
	for _, s := range []string{
		"https://graph.example/v1.0/x?$skiptoken=a", "/v1.0/x", "//graph.example/x", "//evil.example/x",
		"https://graph.example@evil.example/", "https://evil.example\\@graph.example/", "https:graph.example",
		"HTTPS://GRAPH.EXAMPLE:443/x", "https://graph.example:443@evil/", "https://[::1]/x", "https://graph.example%00/",
		"https://graph.example./x", "https://graph.example:/x", "\x00", "https://graph.example#@evil.example/",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://graph.example/prefix")
	c := &Client{Base: base}
	f.Fuzz(func(t *testing.T, link string) {
		u, err := c.SameOrigin(link)
		if err != nil {
			return
		}
		if u.User != nil || !sameOrigin(u, base) {
			t.Fatalf("accepted %q as %v", link, u)
		}
		r, err := http.NewRequest("GET", u.String(), nil)
		if err != nil {
			return
		}
		if !sameOrigin(r.URL, base) || r.URL.User != nil {
			t.Fatalf("%q re-parses to %v", link, r.URL)
		}
		p := c.NewPager(base)
		if more, err := p.Next(link); err == nil && more != (link != "") || !sameOrigin(p.URL(), base) {
			t.Fatalf("pager took %q to %v", link, p.URL())
		}
	})
}

// FuzzParseRetryAfter checks that no header value gives a negative or
// overflowing wait.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Thu, 26 Nov 2026 10:00:30 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994", "-1", "99999999999999999999", "1e9", " 7 ", "+3"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		for _, parse := range []func(string, time.Time) (time.Duration, bool){ParseRetryAfter, ParseRateLimitReset} {
			d, ok := parse(v, now)
			if d < 0 || !ok && d != 0 || d > maxDelaySeconds*time.Second {
				t.Fatalf("%q gives %v, %v", v, d, ok)
			}
		}
	})
}

// FuzzDecodeError decodes hostile error bodies; what reaches a message is
// printable and bounded.
func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{
		`{"error":{"code":"Forbidden","message":"{\r\n  \"_version\": 3,\r\n  \"Message\": \"denied\"\r\n}"}}`,
		`{"error":{"code":403,"status":"PERMISSION_DENIED","message":"m"}}`,
		`{"error":"invalid_client","error_description":"AADSTS7000215: x\r\nTrace ID: y"}`,
		`{"httpStatus":401,"errors":[{"code":"INVALID_TOKEN","description":"d"}]}`,
		`{"errorCode":1005,"message":"m"}`, `<html>`, `{"error":[1,2]}`, "{\"message\":\"\x1b[2J\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, msg := DecodeJSONError(400, nil, body)
		for _, s := range []string{clean(code, maxCode), clean(msg, maxMessage)} {
			if len(s) > maxMessage+len("…") || !utf8.ValidString(s) || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
				t.Fatalf("cleaned %q", s)
			}
			for _, r := range s {
				if unicode.IsControl(r) {
					t.Fatalf("control character in %q", s)
				}
			}
		}
	})
}
