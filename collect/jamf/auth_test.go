package jamf

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/jamfsim"
)

// clock is a fake clock shared by the simulator and the source; the
// simulator's requests move it on (tick).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// tick moves the clock on by d before every request the simulator
// answers.
func (c *clock) tick(d time.Duration) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.mu.Lock()
			c.t = c.t.Add(d)
			c.mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}
}

// statuses counts the simulator's answers by status and the requests by
// Authorization scheme and path.
func statuses(sim *jamfsim.Server) (byStatus map[int]int, basicPaths, unauthenticated []string, oauth int) {
	byStatus = map[int]int{}
	for _, r := range sim.Requests() {
		byStatus[r.Status]++
		switch {
		case r.Path == "/api/oauth/token":
			oauth++
		case r.Auth == "Basic":
			basicPaths = append(basicPaths, r.Path)
		case r.Auth != "Bearer":
			unauthenticated = append(unauthenticated, r.Path)
		}
	}
	return
}

// TestUserToken: a user's bearer token is fetched once with Basic, kept
// alive before it expires (never used expired), and invalidated at the
// end.
func TestUserToken(t *testing.T) {
	c := &clock{t: fleetNow}
	sim := jamfsim.New(jamfsim.Options{Devices: 12, Seed: 3, Now: fleetNow, Clock: c.Now, UserTokenTTL: 2 * time.Minute})
	cfg := userConfig(serve(t, sim, c.tick(10*time.Second)))
	cfg.Now, cfg.Concurrency = c.Now, 1
	r := run(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.devices) != 12 || len(r.failureGaps()) > 0 {
		t.Fatalf("%d devices, gaps %+v", len(r.devices), r.failureGaps())
	}
	st := sim.Auth()
	if st.UserTokens != 1 || st.KeepAlives < 2 || st.Invalidated != 1 || st.Expired != 0 || st.Live != 0 || st.OAuthTokens != 0 {
		t.Errorf("auth %+v; want one login, keep-alives, no expired token, one invalidation and nothing live", st)
	}
	byStatus, basic, none, oauth := statuses(sim)
	if byStatus[401] != 0 || oauth != 0 || len(none) != 0 {
		t.Errorf("statuses %v, OAuth requests %d, unauthenticated %v", byStatus, oauth, none)
	}
	if len(basic) != 1 || basic[0] != "/api/v1/auth/token" {
		t.Errorf("Basic credentials sent to %v; want /api/v1/auth/token once", basic)
	}
	reqs := sim.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/api/v1/auth/invalidate-token" || last.Status != http.StatusNoContent {
		t.Errorf("last request %s → %d; want the token invalidated", last.Path, last.Status)
	}
	// Token responses are logged, never kept.
	var logged int
	for _, ex := range readExchanges(t, r.dir) {
		if strings.Contains(ex.URL, "/api/v1/auth/") {
			logged++
			if ex.File != "" || ex.SHA256 != "" {
				t.Errorf("authentication response kept: %+v", ex)
			}
		}
	}
	if logged != st.UserTokens+st.KeepAlives+st.Invalidated {
		t.Errorf("%d authentication exchanges logged; the simulator answered %d", logged, st.UserTokens+st.KeepAlives+st.Invalidated)
	}
}

// TestOAuthToken: an API client's access token is fetched again before it
// expires; there is no keep-alive, Basic or invalidation in this flow.
func TestOAuthToken(t *testing.T) {
	c := &clock{t: fleetNow}
	sim := jamfsim.New(jamfsim.Options{Devices: 12, Seed: 3, Now: fleetNow, Clock: c.Now, TokenTTL: 2 * time.Minute})
	cfg := clientConfig(serve(t, sim, c.tick(10*time.Second)))
	cfg.Now, cfg.Concurrency = c.Now, 1
	r := run(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	st := sim.Auth()
	if st.OAuthTokens < 2 || st.UserTokens != 0 || st.KeepAlives != 0 || st.Invalidated != 0 || st.Expired != 0 {
		t.Errorf("auth %+v; want OAuth tokens renewed before they expire, and nothing else", st)
	}
	byStatus, basic, none, _ := statuses(sim)
	if byStatus[401] != 0 || len(basic) != 0 || len(none) != 0 {
		t.Errorf("statuses %v, Basic to %v, unauthenticated %v", byStatus, basic, none)
	}
}

// TestUserTokenConcurrent: with five requests in flight, a keep-alive
// that invalidates the token others are using costs them a retry, not a
// gap.
func TestUserTokenConcurrent(t *testing.T) {
	c := &clock{t: fleetNow}
	sim := jamfsim.New(jamfsim.Options{Devices: 30, Seed: 3, Now: fleetNow, Clock: c.Now, UserTokenTTL: 2 * time.Minute, Latency: 2 * time.Millisecond})
	cfg := userConfig(serve(t, sim, c.tick(5*time.Second)))
	cfg.Now = c.Now
	r := run(t, cfg, collect.Request{All: true})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.devices) != 30 || len(r.failureGaps()) > 0 {
		t.Fatalf("%d devices, gaps %+v", len(r.devices), r.failureGaps())
	}
	if st := sim.Auth(); st.KeepAlives == 0 || st.Invalidated != 1 || st.Live != 0 {
		t.Errorf("auth %+v", st)
	}
}

// TestKeepAliveRefused: a refused keep-alive falls back to a new login.
func TestKeepAliveRefused(t *testing.T) {
	c := &clock{t: fleetNow}
	sim := jamfsim.New(jamfsim.Options{Devices: 12, Seed: 3, Now: fleetNow, Clock: c.Now, UserTokenTTL: 2 * time.Minute})
	sim.Inject("/api/v1/auth/keep-alive", jamfsim.Fault401, 1)
	cfg := userConfig(serve(t, sim, c.tick(10*time.Second)))
	cfg.Now, cfg.Concurrency = c.Now, 1
	r := run(t, cfg, collect.Request{All: true})
	if r.err != nil || len(r.failureGaps()) > 0 {
		t.Fatalf("error %v, gaps %+v", r.err, r.failureGaps())
	}
	if st := sim.Auth(); st.UserTokens != 2 || st.Invalidated != 1 {
		t.Errorf("auth %+v; want a second login after the refused keep-alive", st)
	}
}

// TestCredentialsRefused: refused credentials fail the run with an error
// matching collect.ErrAuth that names the account and what to check,
// never the secret, and nothing else is asked of the server.
func TestCredentialsRefused(t *testing.T) {
	for _, user := range []bool{false, true} {
		sim := jamfsim.New(jamfsim.Options{Devices: 3, Seed: 3, Now: fleetNow})
		base := serve(t, sim, nil)
		cfg, secret, want := clientConfig(base), "wrong-client-secret", "check --client-id"
		cfg.ClientSecret = secret
		if user {
			cfg, secret, want = userConfig(base), "wrong-password", "check --username"
			cfg.Password = secret
		}
		r := run(t, cfg, collect.Request{All: true})
		if !errors.Is(r.err, collect.ErrAuth) || !strings.Contains(r.err.Error(), want) || strings.Contains(r.err.Error(), secret) {
			t.Errorf("user %v: error %v", user, r.err)
		}
		if n := len(sim.Requests()); n != 1 {
			t.Errorf("user %v: %d requests after a refused credential", user, n)
		}
	}
}
