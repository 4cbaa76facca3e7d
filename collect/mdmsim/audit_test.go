package mdmsim

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"
)

type auditItem struct {
	ID               string    `json:"id"`
	Activity         string    `json:"activity"`
	ActivityType     string    `json:"activityType"`
	ActivityDateTime time.Time `json:"activityDateTime"`
	ActivityResult   string    `json:"activityResult"`
	Category         string    `json:"category"`
	CorrelationID    string    `json:"correlationId"`
	Actor            struct {
		Type                   string  `json:"type"`
		UserPrincipalName      *string `json:"userPrincipalName"`
		ApplicationDisplayName string  `json:"applicationDisplayName"`
	} `json:"actor"`
	Resources []struct {
		DisplayName        string          `json:"displayName"`
		ResourceID         string          `json:"resourceId"`
		Type               string          `json:"type"`
		ModifiedProperties []AuditProperty `json:"modifiedProperties"`
	} `json:"resources"`
}

func auditPages(t *testing.T, base, tok, filter string) []auditItem {
	t.Helper()
	u := base + "/v1.0/deviceManagement/auditEvents?$top=50"
	if filter != "" {
		u += "&$filter=" + url.QueryEscape(filter)
	}
	raw, _ := pageAll(t, u, tok)
	out := make([]auditItem, len(raw))
	for i, m := range raw {
		b, _ := json.Marshal(m)
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestAuditEvents(t *testing.T) {
	s, ts := newTestServer(t, Options{Devices: 300})
	tok := getToken(t, ts.URL)
	f := s.Fleet()
	all := auditPages(t, ts.URL, tok, "")
	if len(all) != len(f.AuditEvents()) || len(all) < 50 {
		t.Fatalf("%d events served, fleet has %d", len(all), len(f.AuditEvents()))
	}
	for i, e := range all {
		if !guidRE.MatchString(e.ID) || !guidRE.MatchString(e.CorrelationID) || e.Actor.Type == "" || len(e.Resources) != 1 {
			t.Fatalf("event %+v", e)
		}
		if i > 0 && e.ActivityDateTime.Before(all[i-1].ActivityDateTime) {
			t.Fatalf("events not in time order at %d", i)
		}
		if age := fixedNow.Sub(e.ActivityDateTime); age < 0 || age > AuditWindow {
			t.Errorf("event at %v is outside the window", e.ActivityDateTime)
		}
	}

	// The planted administrator actions, and no others of their kind.
	want := map[string]struct {
		device string
		actor  string
		age    time.Duration
	}{
		AuditRemoteLock:   {f.Planted[ScenarioJailbrokenIPhone], "helpdesk.tier2@contoso.com", plantedLockAge},
		AuditWipe:         {f.Planted[ScenarioRareAppAndroid], PlantedAdminActor, plantedWipeAge},
		AuditRetire:       {f.Planted[ScenarioStaleDevice], "intune.admin@contoso.com", plantedRetireAge},
		AuditPolicyChange: {"", PlantedAdminActor, plantedPolicyAge},
	}
	seen := map[string]int{}
	for _, e := range all {
		w, ok := want[e.ActivityType]
		if !ok {
			continue
		}
		seen[e.ActivityType]++
		if e.Actor.UserPrincipalName == nil || *e.Actor.UserPrincipalName != w.actor || !e.ActivityDateTime.Equal(fixedNow.Add(-w.age)) || e.ActivityResult != "Success" {
			t.Errorf("%s: %+v", e.ActivityType, e)
		}
		res := e.Resources[0]
		switch {
		case w.device != "" && (res.ResourceID != w.device || res.Type != "ManagedDevice" || res.DisplayName != f.Device(w.device).DeviceName):
			t.Errorf("%s acts on %+v, want device %s", e.ActivityType, res, w.device)
		case w.device == "" && (res.DisplayName != IOSPolicyName || len(res.ModifiedProperties) == 0 ||
			res.ModifiedProperties[0] != AuditProperty{DisplayName: "SecurityBlockJailbrokenDevices", OldValue: "True", NewValue: "False"}):
			t.Errorf("policy change %+v", res)
		}
		// The device's own deviceActionResults tell the same story.
		if w.device != "" {
			ar := f.Device(w.device).DeviceActionResults
			if len(ar) != 1 || !ar[0].StartDateTime.Equal(e.ActivityDateTime) {
				t.Errorf("%s: device action results %+v", e.ActivityType, ar)
			}
		}
	}
	for typ := range want {
		if seen[typ] != 1 {
			t.Errorf("%s appears %d times, want once", typ, seen[typ])
		}
	}

	// $filter on activityDateTime (ge, le; gt and lt too), with other
	// supported and unsupported terms.
	since := fixedNow.Add(-3 * 24 * time.Hour)
	until := fixedNow.Add(-time.Hour)
	ranged := auditPages(t, ts.URL, tok, "activityDateTime ge "+since.Format(time.RFC3339)+" and activityDateTime le "+until.Format(time.RFC3339))
	n := 0
	for _, e := range all {
		if !e.ActivityDateTime.Before(since) && !e.ActivityDateTime.After(until) {
			n++
		}
	}
	if len(ranged) != n || n == 0 {
		t.Errorf("window: %d events served, %d in it", len(ranged), n)
	}
	for _, e := range ranged {
		if e.ActivityDateTime.Before(since) || e.ActivityDateTime.After(until) {
			t.Errorf("event at %v outside the filter", e.ActivityDateTime)
		}
	}
	if got := auditPages(t, ts.URL, tok, "activityDateTime gt '"+fixedNow.Add(-plantedWipeAge).Format(time.RFC3339)+"'"); len(got) != 0 {
		t.Errorf("after the last event: %d events", len(got))
	}
	if got := auditPages(t, ts.URL, tok, "category eq 'Device' and activityType eq 'Wipe ManagedDevice' and actor/userPrincipalName eq 'x'"); len(got) != 1 {
		t.Errorf("wipes: %d", len(got))
	}
	r := get(t, ts.URL+"/v1.0/deviceManagement/auditEvents?$filter="+url.QueryEscape("activityDateTime ge last-week"), tok)
	if r.status != 400 || r.err(t).Error.Code != "BadRequest" {
		t.Errorf("bad date-time: %d %s", r.status, r.raw)
	}

	// One event by id.
	r = get(t, ts.URL+"/v1.0/deviceManagement/auditEvents/"+all[3].ID+"?$select=id,activityType", tok)
	if r.status != 200 || r.str(t, "id") != all[3].ID || len(r.obj(t)) != 3 {
		t.Errorf("single event: %d %s", r.status, r.raw)
	}
	if r := get(t, ts.URL+"/v1.0/deviceManagement/auditEvents/00000000-1111-4222-8333-444444444444", tok); r.status != 404 {
		t.Errorf("unknown event: %d", r.status)
	}
}

func TestAuditEventsSmallFleets(t *testing.T) {
	for _, n := range []int{1, 4, 5, 6} {
		f := NewFleet(2, n, fixedNow)
		events := f.AuditEvents()
		planted := 0
		for _, e := range events {
			if e.ActivityType == AuditWipe {
				planted++
			}
		}
		if (planted == 1) != (n >= len(Scenarios)) || len(events) < 20 {
			t.Errorf("n=%d: %d events, %d wipes", n, len(events), planted)
		}
	}
}
