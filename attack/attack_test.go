package attack

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	attackdata "github.com/custos-ir/custos/third_party/attack"
)

func TestBuiltin(t *testing.T) {
	d := Builtin()
	if d.Release != "Mobile ATT&CK 18.1" || d.Tactic.ID != "TA0041" || d.Tactic.Name != "Execution" || d.SHA256 != attackdata.SHA256 {
		t.Fatalf("release %q tactic %+v sha %s", d.Release, d.Tactic, d.SHA256)
	}
	var ids []string
	for _, tech := range d.Techniques {
		ids = append(ids, tech.ID)
	}
	if want := []string{"T1575", "T1603", "T1623", "T1623.001", "T1658"}; !slices.Equal(ids, want) {
		t.Fatalf("techniques %v, want %v (revoked T1402 and T1605 skipped)", ids, want)
	}
	shell, _ := d.Lookup("T1623.001")
	if shell.Name != "Unix Shell" || !shell.Subtechnique || shell.Modified != "2025-10-24T17:48:54.078Z" || !strings.HasPrefix(shell.URL, "https://attack.mitre.org/techniques/T1623/001") {
		t.Errorf("T1623.001 %+v", shell)
	}
	var mit []string
	for _, tech := range d.Techniques {
		for _, m := range tech.Mitigations {
			if !slices.Contains(mit, m.ID) {
				mit = append(mit, m.ID)
			}
		}
	}
	slices.Sort(mit)
	if want := []string{"M1001", "M1002", "M1010", "M1011"}; !slices.Equal(mit, want) {
		t.Errorf("mitigations %v, want %v", mit, want)
	}
	if len(shell.Detections) == 0 || shell.Detections[0].ID != "DET0607" || len(shell.Detections[0].Analytics) == 0 ||
		len(shell.Detections[0].Analytics[0].DataComponents) == 0 {
		t.Errorf("T1623.001 detections %+v", shell.Detections)
	}
	// A revoked id resolves to what replaced it.
	if r, ok := d.Lookup("T1605"); !ok || r.ID != "T1623.001" {
		t.Errorf("T1605 resolves to %+v, %v", r, ok)
	}
	if _, ok := d.Lookup("T1000"); ok {
		t.Error("an unknown id resolved")
	}
}

func builtinJSON(t *testing.T) []byte {
	r, err := attackdata.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImport(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "mobile-attack-19.0.json")
	if err := os.WriteFile(src, builtinJSON(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ReleaseFromFileName(src); got != "Mobile ATT&CK 19.0" {
		t.Fatalf("release from name: %q", got)
	}
	if _, err := Import(dir, src, "Mobile ATT&CK 19.0"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CUSTOS_ATTACK_DIR", dir)
	d, err := load()
	if err != nil || d.Release != "Mobile ATT&CK 19.0" || len(d.Techniques) != 5 {
		t.Fatalf("imported: %v %v", d, err)
	}

	// A bundle without the tactic, an Enterprise bundle, not JSON, a bad
	// release name: refused, and what was imported stays.
	var bundle map[string]any
	json.Unmarshal(builtinJSON(t), &bundle)
	var kept []any
	for _, o := range bundle["objects"].([]any) {
		if o.(map[string]any)["type"] != "x-mitre-tactic" {
			kept = append(kept, o)
		}
	}
	bundle["objects"] = kept
	noTactic, _ := json.Marshal(bundle)
	for name, data := range map[string][]byte{
		"notactic.json":   noTactic,
		"enterprise.json": []byte(`{"type":"bundle","objects":[{"type":"x-mitre-tactic","id":"x","x_mitre_domains":["enterprise-attack"]}]}`),
		"garbage.json":    []byte("<html>"),
	} {
		f := filepath.Join(t.TempDir(), name)
		os.WriteFile(f, data, 0o644)
		if _, err := Import(dir, f, "Mobile ATT&CK 20.0"); err == nil {
			t.Errorf("%s imported", name)
		}
	}
	if _, err := Import(dir, src, "Enterprise 1.0"); err == nil || !strings.Contains(err.Error(), "release") {
		t.Errorf("bad release name: %v", err)
	}
	if d, err := load(); err != nil || d.Release != "Mobile ATT&CK 19.0" {
		t.Errorf("after refused imports: %v %v", d, err)
	}
	// Damaged after import: an error, never a silent fallback.
	bundle19 := filepath.Join(dir, bundleFile(d.SHA256))
	data, _ := os.ReadFile(bundle19)
	os.WriteFile(bundle19, append(data, ' '), 0o644)
	if _, err := load(); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("an altered imported bundle: %v", err)
	}
	os.WriteFile(bundle19, []byte("{"), 0o644)
	if _, err := load(); err == nil {
		t.Error("a damaged imported bundle loaded")
	}
}
