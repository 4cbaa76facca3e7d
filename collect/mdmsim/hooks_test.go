package mdmsim

import (
	"fmt"
	"testing"
)

// Requests for paths, versions or methods the simulator does not serve are
// answered as Graph answers them and recorded, so that a conformance test
// can assert a client called nothing unexpected.
func TestUnexpectedRequests(t *testing.T) {
	s, ts := newTestServer(t, Options{})
	tok := getToken(t, ts.URL)
	id := s.Fleet().Devices[0].ID
	expected := []string{
		"/v1.0/deviceManagement/managedDevices",
		"/v1.0/deviceManagement/managedDevices/" + id,
		"/v1.0/deviceManagement/managedDevices/00000000-1111-4222-8333-444444444444", // a 404, but a real path
		"/v1.0/deviceManagement/managedDevices/" + id + "/deviceCompliancePolicyStates",
		"/beta/deviceManagement/managedDevices/" + id + "/detectedApps",
		"/v1.0/deviceManagement/detectedApps",
		"/v1.0/deviceManagement/auditEvents",
	}
	for _, p := range expected {
		get(t, ts.URL+p, tok)
	}
	if u := s.Unexpected(); len(u) != 0 {
		t.Fatalf("unexpected: %+v", u)
	}
	unexpected := []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1.0/deviceManagement/managedDevices/" + id + "/detectedApps", 400}, // beta only
		{"GET", "/v1.0/users", 400},
		{"GET", "/favicon.ico", 400},
		{"GET", "/v2.0/deviceManagement/managedDevices", 400},
		{"DELETE", "/v1.0/deviceManagement/managedDevices/" + id, 405},
		{"POST", "/v1.0/deviceManagement/managedDevices/" + id + "/wipe", 400},
	}
	for _, c := range unexpected {
		if r := doGraph(t, c.method, ts.URL+c.path, tok, nil); r.status != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, r.status, c.status)
		}
	}
	got := s.Unexpected()
	if len(got) != len(unexpected) {
		t.Fatalf("%d unexpected recorded, want %d: %+v", len(got), len(unexpected), got)
	}
	for i, c := range unexpected {
		if got[i].Method != c.method || got[i].Path != c.path || got[i].Status != c.status || !got[i].Unexpected {
			t.Errorf("unexpected %d: %+v", i, got[i])
		}
	}
	if st := s.Stats(); st.Unexpected != len(unexpected) || st.Requests != 1+len(expected)+len(unexpected) {
		t.Errorf("stats %+v", st)
	}

	s.ResetLog()
	if st := s.Stats(); st.Requests != 0 || st.Unexpected != 0 || len(s.Requests()) != 0 || len(s.Unexpected()) != 0 {
		t.Errorf("after ResetLog: %+v", st)
	}
	// The token survives ResetLog.
	if r := get(t, ts.URL+expected[0], tok); r.status != 200 {
		t.Errorf("after ResetLog: %d", r.status)
	}
}

func TestLogLimit(t *testing.T) {
	for _, c := range []struct {
		limit, sent, kept int
	}{{0, 30, 31}, {-1, 30, 0}, {5, 30, 5}, {5, 3, 4}, {1, 30, 1}} {
		t.Run(fmt.Sprint(c.limit), func(t *testing.T) {
			s, ts := newTestServer(t, Options{LogLimit: c.limit})
			tok := getToken(t, ts.URL)
			for i := range c.sent {
				get(t, fmt.Sprintf("%s/v1.0/deviceManagement/managedDevices?$top=%d", ts.URL, i+1), tok)
			}
			reqs := s.Requests()
			if len(reqs) != c.kept {
				t.Fatalf("kept %d, want %d", len(reqs), c.kept)
			}
			if c.kept > 0 && reqs[len(reqs)-1].RawQuery != fmt.Sprintf("$top=%d", c.sent) {
				t.Errorf("last kept %+v", reqs[len(reqs)-1])
			}
			if st := s.Stats(); st.Requests != c.sent+1 {
				t.Errorf("counted %d requests, want %d", st.Requests, c.sent+1)
			}
		})
	}
}
