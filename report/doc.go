// Package report renders an analysis, the case record and the custody log
// into documents people read: a self-contained HTML report and Markdown.
// Reports are built offline from the case directory alone.
//
// Every string that came from a device or an MDM is untrusted: HTML output
// goes through html/template's contextual escaping and a Content-Security-
// Policy that forbids every network request; Markdown output escapes
// Markdown and HTML metacharacters. The package must not import net/http
// or source packages under collect/.
package report
