package layering

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/custos-ir/custos"

// vendorSources are the per-API source packages.
var vendorSources = []string{
	module + "/collect/intune", module + "/collect/amapi", module + "/collect/jamf",
	module + "/collect/wsone", module + "/collect/imports",
}

// rule forbids packages matching pkg (a path, or a prefix ending in "/...")
// to depend, directly or not, on any of deny (same syntax).
type rule struct {
	pkg  string
	deny []string
	why  string
}

func rules() []rule {
	r := []rule{
		{module + "/collect", append([]string{module + "/preserve", module + "/report", module + "/playbooks", "github.com/urfave/cli/v2"}, vendorSources...), "collect owns the record model and run loop only"},
		{module + "/collect/mdmsim", vendorSources, "the simulator must not share code with the clients it tests"},
		{module + "/collect/googlesim", vendorSources, "the simulator must not share code with the clients it tests"},
		{module + "/collect/jamfsim", vendorSources, "the simulator must not share code with the clients it tests"},
		{module + "/collect/wsonesim", vendorSources, "the simulator must not share code with the clients it tests"},
		{module + "/collect/wsonevocab", append([]string{"net/http", module + "/preserve"}, vendorSources...), "a vocabulary two sources share reads words, depends on neither and does no I/O"},
		{module + "/collect/jamfvocab", append([]string{"net/http", module + "/preserve"}, vendorSources...), "a vocabulary two sources share reads words, depends on neither and does no I/O"},
		{module + "/collect/simkit", append([]string{module + "/collect", module + "/preserve"}, vendorSources...), "what the simulators share depends on no client, nor on the record model"},
		{module + "/preserve", []string{"net/http", module + "/report", module + "/playbooks", module + "/collect/..."}, "evidence code is offline and source-agnostic"},
		{module + "/playbooks", append([]string{"net/http", module + "/report"}, vendorSources...), "analysis is offline"},
		{module + "/report", append([]string{"net/http", module + "/collect/mdmsim", module + "/collect/googlesim", module + "/collect/jamfsim", module + "/collect/wsonesim"}, vendorSources...), "reports are built offline from the case alone"},
		{module + "/internal/...", []string{module + "/collect", module + "/preserve", module + "/playbooks", module + "/report", module + "/cmd/..."}, "internal packages sit below everything"},
	}
	for _, v := range vendorSources {
		var others []string
		for _, o := range vendorSources {
			if o != v {
				others = append(others, o)
			}
		}
		r = append(r, rule{v, append(others, module+"/preserve", module+"/report", module+"/playbooks", "github.com/urfave/cli/v2"), "sources are independent of each other and of later stages"})
	}
	return r
}

func matches(pattern, path string) bool {
	if p, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == p || strings.HasPrefix(path, p+"/")
	}
	return path == pattern
}

type pkg struct {
	ImportPath string
	Deps       []string
	Standard   bool
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 8 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func TestLayering(t *testing.T) {
	pkgs := listPackages(t)
	checked := 0
	for _, p := range pkgs {
		for _, r := range rules() {
			if !matches(r.pkg, p.ImportPath) || p.ImportPath == module+"/internal/layering" {
				continue
			}
			// A package under collect/ other than collect itself is
			// governed by its own rule, not collect's.
			if r.pkg == module+"/collect" && p.ImportPath != module+"/collect" {
				continue
			}
			checked++
			for _, dep := range p.Deps {
				for _, d := range r.deny {
					if matches(d, dep) {
						t.Errorf("%s depends on %s: %s (DESIGN §2)", p.ImportPath, dep, r.why)
					}
				}
			}
		}
	}
	if checked < 6 {
		t.Fatalf("only %d package/rule pairs checked; the rules no longer match the tree", checked)
	}
}

func TestRuleMatching(t *testing.T) {
	if !matches(module+"/collect/...", module+"/collect/intune") || matches(module+"/collect", module+"/collect/intune") {
		t.Fatal("pattern matching is broken")
	}
}

// The rules must catch a violation: a fake package list with preserve
// importing net/http fails.
func TestLayeringDetectsViolation(t *testing.T) {
	bad := pkg{ImportPath: module + "/preserve", Deps: []string{"net/http"}}
	found := false
	for _, r := range rules() {
		if matches(r.pkg, bad.ImportPath) {
			for _, d := range r.deny {
				if matches(d, "net/http") {
					found = true
				}
			}
		}
	}
	if !found {
		t.Fatal("the preserve rule does not forbid net/http")
	}
}
