package iocs

import (
	"errors"
	"fmt"
	"strings"
)

// Term is one thing an indicator matches: an observable key (app:id,
// file:hashes.sha256, …) equal to a value.
type Term struct {
	Key   string
	Value string
}

// maxPattern bounds the pattern text read.
const maxPattern = 64 << 10

// errUnusable marks a pattern that is valid STIX but cannot be matched
// against one observed value (an AND, FOLLOWEDBY, qualifier or an operator
// other than = and IN).
var errUnusable = errors.New("not a disjunction of equalities")

// ParsePattern reads a STIX 2.x pattern and returns the terms any of which
// matches it. It accepts what can be matched against one observed value: a
// disjunction (OR, in or across observation expressions, with parentheses)
// of comparisons `path = 'value'` and `path IN ('a', 'b')`. Anything else
// is an error saying why; a quote inside a value ("\'"), an "=" or "]"
// inside it, or a quoted path segment (file:hashes.'SHA-256') are read as
// STIX defines them.
func ParsePattern(pattern string) ([]Term, error) {
	if len(pattern) > maxPattern {
		return nil, fmt.Errorf("pattern longer than %d bytes", maxPattern)
	}
	toks, err := lex(pattern)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	terms, err := p.observations()
	if err != nil {
		return nil, err
	}
	if !p.at(tokEOF) {
		return nil, fmt.Errorf("unexpected %s", p.peek())
	}
	return terms, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokLBracket
	tokRBracket
	tokLParen
	tokRParen
	tokComma
	tokOp     // = != < > <= >=
	tokString // '…', unescaped
	tokWord   // a keyword, a number, an object path, a typed literal
)

type token struct {
	kind tokKind
	text string
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of pattern"
	case tokString:
		return fmt.Sprintf("string %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// lex splits a pattern into tokens. An object path with quoted segments
// (file:hashes.'SHA-256') is one word, its quotes removed.
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '[':
			out, i = append(out, token{tokLBracket, "["}), i+1
		case c == ']':
			out, i = append(out, token{tokRBracket, "]"}), i+1
		case c == '(':
			out, i = append(out, token{tokLParen, "("}), i+1
		case c == ')':
			out, i = append(out, token{tokRParen, ")"}), i+1
		case c == ',':
			out, i = append(out, token{tokComma, ","}), i+1
		case c == '=' || c == '<' || c == '>' || c == '!':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return nil, errors.New(`"!" without "="`)
			}
			out, i = append(out, token{tokOp, op}), j
		case c == '\'':
			v, n, err := quoted(s[i:])
			if err != nil {
				return nil, err
			}
			out, i = append(out, token{tokString, v}), i+n
		default:
			// A word runs to the next delimiter; quoted path segments
			// and typed literals (t'…', h'…', b'…') are part of it.
			var w strings.Builder
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r[](),=<>!", rune(s[j])) {
				if s[j] == '\'' {
					v, n, err := quoted(s[j:])
					if err != nil {
						return nil, err
					}
					w.WriteString(v)
					j += n
					continue
				}
				w.WriteByte(s[j])
				j++
			}
			out, i = append(out, token{tokWord, w.String()}), j
		}
	}
	return append(out, token{kind: tokEOF}), nil
}

// quoted reads a STIX string literal at the start of s ('…' with \' and
// \\ escapes) and returns its value and length.
func quoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '\'' && s[i+1] != '\\') {
				return "", 0, errors.New(`string literal: "\" must escape a quote or a backslash`)
			}
			b.WriteByte(s[i+1])
			i++
		case '\'':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errors.New("unterminated string literal")
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token       { return p.toks[p.pos] }
func (p *parser) at(k tokKind) bool { return p.toks[p.pos].kind == k }
func (p *parser) next() token       { t := p.toks[p.pos]; p.pos = min(p.pos+1, len(p.toks)-1); return t }
func (p *parser) atWord(w string) bool {
	t := p.peek()
	return t.kind == tokWord && strings.EqualFold(t.text, w)
}

// observations: observation (OR observation)*, where an observation is
// [ comparisons ] or ( observations ).
func (p *parser) observations() ([]Term, error) {
	var terms []Term
	for {
		var ts []Term
		var err error
		switch {
		case p.at(tokLBracket):
			p.next()
			if ts, err = p.comparisons(); err != nil {
				return nil, err
			}
			if !p.at(tokRBracket) {
				return nil, fmt.Errorf("expected ] at %s", p.peek())
			}
			p.next()
		case p.at(tokLParen):
			p.next()
			if ts, err = p.observations(); err != nil {
				return nil, err
			}
			if !p.at(tokRParen) {
				return nil, fmt.Errorf("expected ) at %s", p.peek())
			}
			p.next()
		default:
			return nil, fmt.Errorf("expected [ at %s", p.peek())
		}
		terms = append(terms, ts...)
		switch {
		case p.atWord("OR"):
			p.next()
		case p.atWord("AND"), p.atWord("FOLLOWEDBY"):
			return nil, fmt.Errorf("%w: observations joined by %s", errUnusable, strings.ToUpper(p.peek().text))
		case p.atWord("WITHIN"), p.atWord("REPEATS"), p.atWord("START"):
			return nil, fmt.Errorf("%w: qualifier %s", errUnusable, strings.ToUpper(p.peek().text))
		default:
			return terms, nil
		}
	}
}

// comparisons: comparison (OR comparison)*, where a comparison is a
// property test or ( comparisons ).
func (p *parser) comparisons() ([]Term, error) {
	var terms []Term
	for {
		var ts []Term
		var err error
		if p.at(tokLParen) {
			p.next()
			if ts, err = p.comparisons(); err != nil {
				return nil, err
			}
			if !p.at(tokRParen) {
				return nil, fmt.Errorf("expected ) at %s", p.peek())
			}
			p.next()
		} else if ts, err = p.test(); err != nil {
			return nil, err
		}
		terms = append(terms, ts...)
		switch {
		case p.atWord("OR"):
			p.next()
		case p.atWord("AND"):
			return nil, fmt.Errorf("%w: comparisons joined by AND", errUnusable)
		default:
			return terms, nil
		}
	}
}

// test: path = 'value' | path IN ('a', …).
func (p *parser) test() ([]Term, error) {
	path := p.next()
	if path.kind != tokWord || !strings.Contains(path.text, ":") {
		return nil, fmt.Errorf("expected an object path at %s", path)
	}
	if p.atWord("NOT") {
		return nil, fmt.Errorf("%w: NOT", errUnusable)
	}
	key := strings.ToLower(path.text)
	switch op := p.next(); {
	case op.kind == tokOp && op.text == "=":
		v := p.next()
		switch v.kind {
		case tokString:
			return []Term{{key, v.text}}, nil
		case tokWord:
			return nil, fmt.Errorf("%w: %s compared with %s, not a string", errUnusable, path.text, v)
		}
		return nil, fmt.Errorf("expected a value at %s", v)
	case op.kind == tokWord && strings.EqualFold(op.text, "IN"):
		if !p.at(tokLParen) {
			return nil, fmt.Errorf("expected ( after IN at %s", p.peek())
		}
		p.next()
		var terms []Term
		for {
			v := p.next()
			if v.kind != tokString {
				return nil, fmt.Errorf("%w: IN set holds %s, not a string", errUnusable, v)
			}
			terms = append(terms, Term{key, v.text})
			if p.at(tokComma) {
				p.next()
				continue
			}
			if !p.at(tokRParen) {
				return nil, fmt.Errorf("expected , or ) at %s", p.peek())
			}
			p.next()
			return terms, nil
		}
	case op.kind == tokOp || op.kind == tokWord:
		return nil, fmt.Errorf("%w: operator %s", errUnusable, strings.ToUpper(op.text))
	default:
		return nil, fmt.Errorf("expected an operator at %s", op)
	}
}
