package googlesim

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// DiscoveryModule is the google.golang.org/api release whose discovery
// documents the shapes are checked against (.ci/run downloads it).
const DiscoveryModule = "google.golang.org/api@v0.312.0"

// discovery loads a discovery document shipped in DiscoveryModule, from
// CUSTOS_GOOGLE_API_DIR or the module cache. Without it the test is
// skipped, unless CUSTOS_REQUIRE_TOOLS=1 (CI) makes that a failure.
func discovery(t *testing.T, rel string) map[string]any {
	t.Helper()
	dir := os.Getenv("CUSTOS_GOOGLE_API_DIR")
	if dir == "" {
		out, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err == nil {
			dir = filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(DiscoveryModule))
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		if os.Getenv("CUSTOS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("discovery document: %v (run: go mod download %s)", err, DiscoveryModule)
		}
		t.Skipf("discovery document not available (go mod download %s): %v", DiscoveryModule, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// conform reports every member of v that the schema does not define, and
// every enum value it does not list.
func conform(schemas map[string]any, schema map[string]any, v any, path string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		s, ok := schemas[ref].(map[string]any)
		if !ok {
			return []string{path + ": schema " + ref + " not in the document"}
		}
		return conform(schemas, s, v, path)
	}
	var out []string
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		addl, _ := schema["additionalProperties"].(map[string]any)
		for k, val := range x {
			sub, ok := props[k].(map[string]any)
			switch {
			case ok:
				out = append(out, conform(schemas, sub, val, path+"."+k)...)
			case addl != nil:
				out = append(out, conform(schemas, addl, val, path+"."+k)...)
			default:
				out = append(out, fmt.Sprintf("%s.%s: not defined by the schema", path, k))
			}
		}
	case []any:
		items, _ := schema["items"].(map[string]any)
		for i, val := range x {
			out = append(out, conform(schemas, items, val, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case string:
		if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, any(x)) {
			out = append(out, fmt.Sprintf("%s: %q is not one of the enum values", path, x))
		}
	}
	return out
}

func checkShape(t *testing.T, doc map[string]any, schema string, v any) {
	t.Helper()
	raw, _ := json.Marshal(v)
	var generic any
	json.Unmarshal(raw, &generic)
	schemas := doc["schemas"].(map[string]any)
	s, ok := schemas[schema].(map[string]any)
	if !ok {
		t.Fatalf("no schema %s", schema)
	}
	for _, p := range conform(schemas, s, generic, schema) {
		t.Error(p)
	}
}

// Every field and enum value the simulator serves is the API's.
func TestShapesMatchDiscoveryDocument(t *testing.T) {
	doc := discovery(t, "androidmanagement/v1/androidmanagement-api.json")
	s := New(Options{Devices: 40, Seed: 3, Now: func() time.Time { return time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC) }})
	for _, d := range s.Fleet().Devices {
		checkShape(t, doc, "Device", d)
	}
	for _, p := range s.Fleet().Policies {
		checkShape(t, doc, "Policy", p)
	}
	checkShape(t, doc, "ListDevicesResponse", map[string]any{"devices": s.Fleet().Devices[:2], "nextPageToken": "x"})
	// The checker itself catches a stray field and a stray enum value.
	bad := map[string]any{"name": "x", "adbEnabledd": true, "ownership": "CORPORATE"}
	schemas := doc["schemas"].(map[string]any)
	if got := conform(schemas, schemas["Device"].(map[string]any), bad, "Device"); len(got) != 2 {
		t.Errorf("checker found %v in a device with one unknown field and one bad enum", got)
	}
}

// The usage logs and notifications are the API's shapes too, and every
// event type of the catalogue appears.
func TestUsageLogShapes(t *testing.T) {
	doc := discovery(t, "androidmanagement/v1/androidmanagement-api.json")
	s := New(Options{Devices: 12, Seed: 3})
	types := map[string]bool{}
	for _, m := range s.UsageLogs() {
		var v any
		if err := json.Unmarshal(m.Data, &v); err != nil {
			t.Fatal(err)
		}
		switch m.Attributes["notificationType"] {
		case "USAGE_LOGS":
			checkShape(t, doc, "BatchUsageLogEvents", v)
			for _, e := range v.(map[string]any)["usageLogEvents"].([]any) {
				types[e.(map[string]any)["eventType"].(string)] = true
			}
		case "ENROLLMENT", "STATUS_REPORT":
			checkShape(t, doc, "Device", v)
		case "COMMAND":
			checkShape(t, doc, "Operation", v)
		}
	}
	enum := doc["schemas"].(map[string]any)["UsageLogEvent"].(map[string]any)["properties"].(map[string]any)["eventType"].(map[string]any)["enum"].([]any)
	for _, e := range enum {
		if e != "EVENT_TYPE_UNSPECIFIED" && !types[e.(string)] {
			t.Errorf("event type %s of the catalogue is never published", e)
		}
	}
	ps := discovery(t, "pubsub/v1/pubsub-api.json")
	checkShape(t, ps, "PullResponse", map[string]any{"receivedMessages": []any{map[string]any{"ackId": "a", "deliveryAttempt": 1,
		"message": map[string]any{"data": "e30=", "attributes": map[string]any{"notificationType": "USAGE_LOGS"}, "messageId": "1", "publishTime": "2026-11-26T00:00:00Z"}}}})
}
