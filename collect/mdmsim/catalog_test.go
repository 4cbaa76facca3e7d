package mdmsim

import "testing"

// A device carries an app name at most once: within a catalogue a name
// repeats only across makers (each maker's own "Contacts" or "Messages").
func TestCatalogNamesUnique(t *testing.T) {
	for _, c := range [][]catalogApp{iosCatalog, androidCatalog} {
		seen := map[string]string{}
		for _, a := range c {
			if m, ok := seen[a.name]; ok && (m == "" || a.maker == "" || m == a.maker) {
				t.Errorf("%q listed twice for the same devices", a.name)
			}
			seen[a.name] = a.maker
			if a.percent <= 0 || a.percent > 100 || len(a.versions) == 0 || a.sizeMB <= 0 {
				t.Errorf("%q: percent %d, versions %v, size %d", a.name, a.percent, a.versions, a.sizeMB)
			}
		}
	}
}
