// Package playbooks turns collected records into findings. It owns the
// playbook schema (YAML files, one detection each, keyed to ATT&CK Mobile
// techniques), the loader for the embedded library and user directories,
// expression compilation and evaluation (expr-lang), fleet context (app
// prevalence), the analysis engine producing findings.json, and the
// coverage matrix that keeps "not observable" apart from "clean".
//
// Playbooks are data: adding a detection means adding a YAML file with its
// own tests under defs/, not Go code. The package must not import
// net/http, source packages under collect/, or report.
package playbooks
