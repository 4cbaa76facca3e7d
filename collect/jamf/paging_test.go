package jamf

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/jamfsim"
)

// onListing calls fn(page, n) before the simulator answers the n-th
// request (from 1) for a listing page.
func onListing(fn func(page string, n int)) func(http.Handler) http.Handler {
	var mu sync.Mutex
	n := 0
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v2/mobile-devices" {
				mu.Lock()
				n++
				fn(r.URL.Query().Get("page"), n)
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	}
}

// listingPages returns the page numbers of the listing requests the
// simulator answered, in order.
func listingPages(sim *jamfsim.Server) []string {
	var out []string
	for _, r := range sim.Requests() {
		if r.Path == "/api/v2/mobile-devices" {
			q := strings.Split(r.RawQuery, "&")
			out = append(out, strings.TrimPrefix(q[0], "page="))
		}
	}
	return out
}

func ids(devs []collect.Device) []string {
	var out []string
	for _, d := range devs {
		out = append(out, d.SourceID)
	}
	slices.Sort(out)
	return out
}

// TestPageSize: the listing asks for the configured page size, sorted by
// id, and reads each page once.
func TestPageSize(t *testing.T) {
	sim := jamfsim.New(jamfsim.Options{Devices: 20, Seed: 3, Now: fleetNow})
	cfg := clientConfig(serve(t, sim, nil))
	cfg.PageSize = 7
	r := run(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	var queries []string
	for _, q := range sim.Requests() {
		if q.Path == "/api/v2/mobile-devices" {
			queries = append(queries, q.RawQuery)
		}
	}
	want := []string{"page=0&page-size=7&sort=id:asc", "page=1&page-size=7&sort=id:asc", "page=2&page-size=7&sort=id:asc"}
	if !slices.Equal(queries, want) {
		t.Errorf("listing queries %q, want %q", queries, want)
	}
	if len(r.devices) != 20 {
		t.Errorf("%d devices collected", len(r.devices))
	}
}

// TestFleetShrinksDuringListing: a device retired while the listing is
// read shifts the next page by one; the listing is read again, so the
// device that moved onto the page already read is not lost.
func TestFleetShrinksDuringListing(t *testing.T) {
	sim := jamfsim.New(jamfsim.Options{Devices: 12, Seed: 3, Now: fleetNow})
	wrap := onListing(func(page string, n int) {
		if page == "1" && n == 2 {
			sim.Remove("2")
		}
	})
	cfg := clientConfig(serve(t, sim, wrap))
	cfg.PageSize = 5
	r := run(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	// Device 2 was listed on page 0 before it went (its detail is then
	// gone: a gap); device 6 moved from page 1 to page 0 and is found by
	// the second reading.
	got := ids(r.devices)
	if !slices.Contains(got, "6") || len(got) != 12 {
		t.Errorf("devices %v; want all 12 (device 6 moved between pages)", got)
	}
	if p := listingPages(sim); !slices.Equal(p, []string{"0", "1", "2", "0", "1", "2"}) {
		t.Errorf("listing pages read %v; want two readings", p)
	}
	for _, g := range r.gaps {
		if g.DeviceKey == "" && g.Reason == collect.ReasonError {
			t.Errorf("a fleet that changed once, and was read again, left gap %+v", g)
		}
	}
}

// TestFleetKeepsChanging: when the fleet changes during both readings, a
// gap says the listing may be incomplete.
func TestFleetKeepsChanging(t *testing.T) {
	sim := jamfsim.New(jamfsim.Options{Devices: 12, Seed: 3, Now: fleetNow})
	wrap := onListing(func(page string, n int) {
		if page == "1" {
			sim.Enroll()
		}
	})
	cfg := clientConfig(serve(t, sim, wrap))
	cfg.PageSize = 5
	r := run(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	var gap *collect.Gap
	for i, g := range r.gaps {
		if g.DeviceKey == "" && g.Reason == collect.ReasonError && g.Telemetry == collect.TelemetryDeviceState {
			gap = &r.gaps[i]
		}
	}
	if gap == nil || !strings.Contains(gap.Detail, "totalCount 12, then 13; totalCount 13, then 14") {
		t.Fatalf("no gap naming the changing totalCount: %+v", r.gaps)
	}
	// The devices enrolled meanwhile were listed all the same.
	if got := ids(r.devices); !slices.Contains(got, "13") {
		t.Errorf("devices %v", got)
	}
}

// TestEmptyPage: an empty page before totalCount devices ends the
// reading; the listing is read again, and a second short reading is a
// gap.
func TestEmptyPage(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		wantGap bool
	}{{"once", 1, false}, {"always", -1, true}} {
		t.Run(tc.name, func(t *testing.T) {
			sim := jamfsim.New(jamfsim.Options{Devices: 12, Seed: 3, Now: fleetNow})
			sim.Inject("/api/v2/mobile-devices$", jamfsim.FaultEmptyPage, tc.n)
			cfg := clientConfig(serve(t, sim, nil))
			cfg.PageSize = 5
			r := run(t, cfg, collect.Request{All: true})
			if r.err != nil {
				t.Fatal(r.err)
			}
			gap := slices.ContainsFunc(r.gaps, func(g collect.Gap) bool {
				return g.DeviceKey == "" && g.Reason == collect.ReasonError && strings.Contains(g.Detail, "the pages ended after 0 devices")
			})
			if gap != tc.wantGap {
				t.Errorf("gap %v, want %v: %+v", gap, tc.wantGap, r.gaps)
			}
			if want := map[bool]int{false: 12, true: 0}[tc.wantGap]; len(r.devices) != want {
				t.Errorf("%d devices, want %d", len(r.devices), want)
			}
		})
	}
}

// TestHostilePaging: a server that answers every page with the first
// page's devices stops the listing instead of looping.
func TestHostilePaging(t *testing.T) {
	sim := jamfsim.New(jamfsim.Options{Devices: 12, Seed: 3, Now: fleetNow})
	sim.Inject("/api/v2/mobile-devices$", jamfsim.FaultRepeatPage, -1)
	cfg := clientConfig(serve(t, sim, nil))
	cfg.PageSize = 5
	r := run(t, cfg, collect.Request{All: true})
	if r.err == nil || !strings.Contains(r.err.Error(), "page 1 lists only devices already listed") {
		t.Fatalf("error %v", r.err)
	}
	if p := listingPages(sim); !slices.Equal(p, []string{"0", "1"}) {
		t.Errorf("listing pages read %v", p)
	}
}

// TestHugeTotalCount: a totalCount far beyond what the pages hold ends at
// the first empty page (and says so), not after a million requests.
func TestHugeTotalCount(t *testing.T) {
	sim := jamfsim.New(jamfsim.Options{Devices: 3, Seed: 3, Now: fleetNow})
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v2/mobile-devices" {
				rec := &bodyRewriter{ResponseWriter: w, from: `"totalCount":3`, to: `"totalCount":1000000`}
				h.ServeHTTP(rec, r)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	cfg := clientConfig(serve(t, sim, wrap))
	cfg.PageSize = 2
	start := time.Now()
	r := run(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.devices) != 3 || len(listingPages(sim)) != 6 {
		t.Errorf("%d devices from listing pages %v", len(r.devices), listingPages(sim))
	}
	if !slices.ContainsFunc(r.gaps, func(g collect.Gap) bool { return strings.Contains(g.Detail, "ended after 3 devices") }) {
		t.Errorf("no gap for a listing shorter than its totalCount: %+v (%v)", r.gaps, time.Since(start))
	}
}

// bodyRewriter replaces one string in a response body (Content-Length is
// dropped).
type bodyRewriter struct {
	http.ResponseWriter
	from, to string
}

func (b *bodyRewriter) WriteHeader(code int) {
	b.Header().Del("Content-Length")
	b.ResponseWriter.WriteHeader(code)
}

func (b *bodyRewriter) Write(p []byte) (int, error) {
	_, err := b.ResponseWriter.Write([]byte(strings.Replace(string(p), b.from, b.to, 1)))
	return len(p), err
}
