// Package jsonptr resolves RFC 6901 JSON pointers, the way records point
// into the raw responses they were read from.
package jsonptr

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/custos-ir/custos/internal/jsonscan"
)

// Resolve follows ptr in the JSON text doc and returns the raw JSON value
// it names.
func Resolve(doc []byte, ptr string) (json.RawMessage, error) {
	parsed, err := jsonscan.Parse(doc)
	if err != nil {
		return nil, err
	}
	v, err := ResolveIn(parsed, ptr)
	if err != nil {
		return nil, err
	}
	return v.Bytes(), nil
}

// Lookup follows ptr in a document already decoded with encoding/json
// (maps, slices and scalars), for callers resolving many pointers in one
// document.
func Lookup(doc any, ptr string) (any, error) {
	toks, err := tokens(ptr)
	if err != nil {
		return nil, err
	}
	cur := doc
	for _, tok := range toks {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, fmt.Errorf("json pointer %q: no member %q", ptr, tok)
			}
			cur = next
		case []any:
			i, err := index(ptr, tok, len(v))
			if err != nil {
				return nil, err
			}
			cur = v[i]
		default:
			return nil, fmt.Errorf("json pointer %q: %q indexes a scalar", ptr, tok)
		}
	}
	return cur, nil
}

// tokens splits ptr into its unescaped reference tokens.
func tokens(ptr string) ([]string, error) {
	if ptr == "" {
		return nil, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("json pointer %q does not start with /", ptr)
	}
	toks := strings.Split(ptr[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// index parses an array index token: digits without a leading zero, below n.
func index(ptr, tok string, n int) (int, error) {
	i, err := strconv.Atoi(tok)
	if err != nil || i < 0 || i >= n || (len(tok) > 1 && tok[0] == '0') || tok[0] == '+' {
		return 0, fmt.Errorf("json pointer %q: no element %q in an array of %d", ptr, tok, n)
	}
	return i, nil
}

// ResolveIn resolves ptr in a document parsed once (jsonscan.Parse), for
// callers resolving many pointers in one document. Where an object
// repeats a member, the last one counts, as encoding/json decodes it.
func ResolveIn(doc jsonscan.Value, ptr string) (jsonscan.Value, error) {
	toks, err := tokens(ptr)
	if err != nil {
		return jsonscan.Value{}, err
	}
	cur := doc
	for _, tok := range toks {
		switch cur.Kind() {
		case '{':
			var next jsonscan.Value
			found := false
			cur.MemberNames(func(name []byte, v jsonscan.Value) bool {
				if string(name) == tok {
					next, found = v, true
				}
				return true
			})
			if !found {
				return jsonscan.Value{}, fmt.Errorf("json pointer %q: no member %q", ptr, tok)
			}
			cur = next
		case '[':
			want, err := strconv.Atoi(tok)
			if err != nil {
				want = -1 // index reports the bad token
			}
			var next jsonscan.Value
			n := 0
			cur.Elements(func(j int, v jsonscan.Value) bool {
				n++
				if j == want {
					next = v
					return false // found: the rest need not be counted
				}
				return true
			})
			if _, err := index(ptr, tok, n); err != nil {
				return jsonscan.Value{}, err
			}
			cur = next
		default:
			return jsonscan.Value{}, fmt.Errorf("json pointer %q: %q indexes a scalar", ptr, tok)
		}
	}
	return cur, nil
}
