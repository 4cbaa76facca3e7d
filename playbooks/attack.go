package playbooks

// ATT&CK Mobile data used to key findings. The values are those of the
// Mobile ATT&CK 18.1 STIX bundle (objects not revoked or deprecated whose
// kill chain phases include "execution").
const (
	AttackRelease = "Mobile ATT&CK 18.1"
	TacticID      = "TA0041"
	TacticName    = "Execution"
)

// Technique is an ATT&CK technique as reports cite it.
type Technique struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	STIXID   string `json:"stix_id"`
	Modified string `json:"modified"`
	URL      string `json:"url"`
}

// Techniques lists the active TA0041 techniques of the release.
var Techniques = []Technique{
	{"T1575", "Native API", "attack-pattern--52eff1c7-dd30-4121-b762-24ae6fa61bbb", "2025-10-24T17:48:47.482Z", "https://attack.mitre.org/techniques/T1575/"},
	{"T1603", "Scheduled Task/Job", "attack-pattern--00290ac5-551e-44aa-bbd8-c4b913488a6d", "2025-10-24T17:48:18.936Z", "https://attack.mitre.org/techniques/T1603/"},
	{"T1623", "Command and Scripting Interpreter", "attack-pattern--29f1f56c-7b7a-4c14-9e39-59577ea2743c", "2025-10-24T17:48:33.677Z", "https://attack.mitre.org/techniques/T1623/"},
	{"T1623.001", "Unix Shell", "attack-pattern--693cdbff-ea73-49c6-ac3f-91e7285c31d1", "2025-10-24T17:48:54.078Z", "https://attack.mitre.org/techniques/T1623/001/"},
	{"T1658", "Exploitation for Client Execution", "attack-pattern--5abfc5e6-3c56-49e7-ad72-502d01acf28b", "2023-09-28T17:02:58.893Z", "https://attack.mitre.org/techniques/T1658/"},
}

// LookupTechnique returns the technique with the given id.
func LookupTechnique(id string) (Technique, bool) {
	for _, t := range Techniques {
		if t.ID == id {
			return t, true
		}
	}
	return Technique{}, false
}

// AttackNotice must accompany ATT&CK content in every report.
const AttackNotice = "© 2025 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation. MITRE ATT&CK® is a registered trademark of The MITRE Corporation."
