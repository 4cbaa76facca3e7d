package httpx

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Errors of link handling.
var (
	// ErrForeignHost is returned for a URL (request, redirect or paging
	// link) whose scheme, host or port differs from the client's base URL.
	ErrForeignHost = errors.New("refusing to send credentials to a foreign host")
	// ErrRepeatedLink stops a page loop that would fetch a page twice.
	ErrRepeatedLink = errors.New("paging link repeats an earlier page")
	// ErrTooManyPages stops a page loop at Pager.MaxPages.
	ErrTooManyPages = errors.New("too many pages")
)

// DefaultMaxPages bounds a Pager whose MaxPages is zero.
const DefaultMaxPages = 100_000

// SameOrigin parses link, resolves it against the base URL when it is
// relative, and returns it if it has the base URL's scheme, host and port.
func (c *Client) SameOrigin(link string) (*url.URL, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, errors.New("parsing link: malformed URL")
	}
	if !u.IsAbs() {
		u = c.Base.ResolveReference(u)
	}
	if err := c.checkOrigin(u); err != nil {
		return nil, err
	}
	return u, nil
}

// checkOrigin is the one place that decides where a credential may go.
// Host names compare case-insensitively and an omitted port is the
// scheme's default; a URL with user info or an opaque part is refused.
func (c *Client) checkOrigin(u *url.URL) error {
	if u.Opaque != "" || u.User != nil || u.Host == "" || !sameOrigin(u, c.Base) {
		return fmt.Errorf("%w: %s (configured %s)", ErrForeignHost, origin(u), origin(c.Base))
	}
	return nil
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// origin renders scheme://host[:port] for a message; it never shows a
// path, query or user info.
func origin(u *url.URL) string {
	return clean(u.Scheme+"://"+u.Host, 300)
}

// Pager walks the pages of one listing. It refuses a next link on a
// foreign origin (no request is made, so the token never leaves), a link
// that repeats an earlier page, and more than MaxPages pages:
//
//	p := client.NewPager(first)
//	for {
//		resp, err := client.Do(ctx, httpx.Request{Method: "GET", URL: p.URL(), ...})
//		... decode the page ...
//		more, err := p.Next(nextLink)   // "" when the page has none
//		if err != nil { return fmt.Errorf("page %d: %w", p.Page(), err) }
//		if !more { break }
//	}
type Pager struct {
	// MaxPages is the most pages fetched; 0 means DefaultMaxPages.
	MaxPages int

	c    *Client
	u    *url.URL
	n    int
	seen map[[32]byte]int // sha256 of each page URL → its page number
}

// NewPager starts at first, page 1.
func (c *Client) NewPager(first *url.URL) *Pager {
	p := &Pager{c: c, u: first, n: 1, seen: map[[32]byte]int{}}
	p.seen[sha256.Sum256([]byte(first.String()))] = 1
	return p
}

// URL is the page to fetch now.
func (p *Pager) URL() *url.URL { return p.u }

// Page is the number of the page to fetch now, from 1.
func (p *Pager) Page() int { return p.n }

// Next moves to the page a link names (absolute or relative to the base
// URL, used as given, never rebuilt). An empty link ends the listing.
func (p *Pager) Next(link string) (more bool, err error) {
	if link == "" {
		return false, nil
	}
	u, err := p.c.SameOrigin(link)
	if err != nil {
		return false, err
	}
	return p.NextURL(u)
}

// NextURL moves to u, for APIs whose next page is built from a token or a
// page number; u gets the same checks as a link.
func (p *Pager) NextURL(u *url.URL) (more bool, err error) {
	if err := p.c.checkOrigin(u); err != nil {
		return false, err
	}
	max := p.MaxPages
	if max <= 0 {
		max = DefaultMaxPages
	}
	if p.n >= max {
		return false, fmt.Errorf("%w: stopping after %d", ErrTooManyPages, max)
	}
	key := sha256.Sum256([]byte(u.String()))
	if n, ok := p.seen[key]; ok {
		return false, fmt.Errorf("%w (page %d); stopping", ErrRepeatedLink, n)
	}
	p.n++
	p.seen[key] = p.n
	p.u = u
	return true, nil
}
