package playbooks

import "github.com/custos-ir/custos/attack"

// The tactic findings are keyed to.
const (
	TacticID   = attack.TacticID
	TacticName = "Execution"
)

// Technique is an ATT&CK technique as reports cite it.
type Technique = attack.Technique

// AttackNotice must accompany ATT&CK content in every report.
const AttackNotice = attack.Notice

// attackData is the ATT&CK release in use (attack.Current); an imported
// release that no longer validates falls back to nothing: callers that
// must not go on without it check AttackError first.
func attackData() *attack.Data {
	d, err := attack.Current()
	if err != nil {
		return attack.Builtin()
	}
	return d
}

// AttackError reports a problem with the ATT&CK release in use (an
// imported bundle that no longer validates); the analysis must not run
// on other data than it says.
func AttackError() error {
	_, err := attack.Current()
	return err
}

// AttackRelease names the ATT&CK release in use.
func AttackRelease() string { return attackData().Release }

// Techniques lists the active TA0041 techniques of the release in use.
func Techniques() []Technique { return attackData().Techniques }

// LookupTechnique returns the technique with the given id, following
// revoked-by to the technique that replaced a revoked one.
func LookupTechnique(id string) (Technique, bool) { return attackData().Lookup(id) }
