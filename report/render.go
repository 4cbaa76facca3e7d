package report

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	htmltemplate "html/template"
	"io"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates
var templates embed.FS

func utc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

var htmlTmpl = htmltemplate.Must(htmltemplate.New("report.html.tmpl").
	Funcs(htmltemplate.FuncMap{"utc": utc, "join": join}).
	ParseFS(templates, "templates/report.html.tmpl"))

var mdTmpl = texttemplate.Must(texttemplate.New("report.md.tmpl").
	Funcs(texttemplate.FuncMap{"utc": utc, "join": join, "md": md}).
	ParseFS(templates, "templates/report.md.tmpl"))

var style, script = embedded("templates/report.css"), embedded("templates/report.js")

func embedded(name string) string {
	b, err := templates.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// CSP forbids every network request: no fetches, no external scripts,
// images, fonts or styles; only the inline style block and the inline
// filtering script, each pinned by its hash.
func csp() string {
	return "default-src 'none'; style-src " + cspHash(style) + "; script-src " + cspHash(script) +
		"; img-src data:; form-action 'none'; base-uri 'none'"
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// cspMeta is built from constants only (the policy and a base64 hash), so
// it is safe to emit verbatim; html/template would entity-encode the quotes.
var cspMeta = htmltemplate.HTML(`<meta http-equiv="Content-Security-Policy" content="` + csp() + `">`)

// HTML writes the self-contained HTML report.
func HTML(w io.Writer, m *Model) error {
	return htmlTmpl.Execute(w, struct {
		M       *Model
		CSPMeta htmltemplate.HTML
		Style   htmltemplate.CSS
		Script  htmltemplate.JS
	}{m, cspMeta, htmltemplate.CSS(style), htmltemplate.JS(script)})
}

// Markdown writes the Markdown report.
func Markdown(w io.Writer, m *Model) error {
	return mdTmpl.Execute(w, m)
}

// md escapes text for Markdown: metacharacters are backslash-escaped, HTML
// metacharacters become entities (renderers pass raw HTML through), and
// line breaks and table pipes cannot break the structure.
func md(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '{', '}', '[', ']', '(', ')', '#', '+', '-', '!', '|', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
