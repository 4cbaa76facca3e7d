package imports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// jsonElem is one item of a JSON export: its RFC 6901 pointer in the file,
// its bytes and the line it starts on.
type jsonElem struct {
	ptr  string
	raw  json.RawMessage
	line int
}

// jsonDoc is a JSON export read whole.
type jsonDoc struct {
	file  string
	data  []byte // without a byte-order mark; offsets and lines are the same as the file's
	top   map[string]json.RawMessage
	key   string // the key of the list in the top-level object, as spelt; "" for a top-level array or a single object
	elems []jsonElem
}

// readJSONList reads a JSON export that holds a list: a top-level array,
// an array under one of listKeys in the top-level object (matched in any
// case, as Graph's "value" or Workspace ONE's "Devices"), or else a single
// top-level object, taken as a list of one. Malformed or truncated JSON,
// a list that is not an array, a list key present twice and more than
// maxRows items fail with the file and line.
func readJSONList(file string, data []byte, listKeys []string, maxRows int) (*jsonDoc, error) {
	data = bytes.TrimPrefix(data, bomUTF8) // PowerShell writes one
	if err := jsonSyntax(file, data); err != nil {
		return nil, err
	}
	doc := &jsonDoc{file: file, data: data, top: map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	switch tok {
	case json.Delim('['):
		return doc, doc.readArray(dec, "", maxRows)
	case json.Delim('{'):
	default:
		return nil, errLine(file, 1, "not a JSON object or array")
	}
	found := false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		key := kt.(string)
		isList := false
		for _, k := range listKeys {
			if strings.EqualFold(key, k) {
				isList = true
			}
		}
		if !isList {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			doc.top[key] = raw
			continue
		}
		if found {
			return nil, errLine(file, lineAt(data, dec.InputOffset()), "the list %q is there twice (as %q and %q)", listKeys[0], doc.key, key)
		}
		found, doc.key = true, key
		at := skipSpace(data, dec.InputOffset())
		if bytes.HasPrefix(data[at:], []byte("null")) {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			continue
		}
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if t != json.Delim('[') {
			return nil, errLine(file, lineAt(data, at), "%q is not an array", key)
		}
		if err := doc.readArray(dec, "/"+escapePointer(key), maxRows); err != nil {
			return nil, err
		}
	}
	if !found {
		doc.elems = []jsonElem{{ptr: "", raw: json.RawMessage(bytes.TrimSpace(data)), line: lineAt(data, skipSpace(data, 0))}}
	}
	return doc, nil
}

// readArray reads the items of the array whose '[' dec has just read.
func (doc *jsonDoc) readArray(dec *json.Decoder, prefix string, maxRows int) error {
	for i := 0; dec.More(); i++ {
		at := skipSpace(doc.data, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("%s: %w", doc.file, err)
		}
		if i == maxRows {
			return errLine(doc.file, lineAt(doc.data, at), "more than %d items (the import limit): split the export", maxRows)
		}
		doc.elems = append(doc.elems, jsonElem{ptr: prefix + "/" + strconv.Itoa(i), raw: raw, line: lineAt(doc.data, at)})
	}
	_, err := dec.Token() // ']'
	if err != nil {
		return fmt.Errorf("%s: %w", doc.file, err)
	}
	return nil
}

// jsonSyntax checks that data is one JSON value, saying where it is not.
func jsonSyntax(file string, data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%s is empty", file)
	}
	var raw json.RawMessage
	err := json.Unmarshal(data, &raw)
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		msg := se.Error()
		if se.Offset >= int64(len(data)) {
			msg = "the JSON ends early (truncated?): " + msg
		}
		return errLine(file, lineAt(data, se.Offset), "%s", msg)
	}
	return fmt.Errorf("%s: %w", file, err)
}

// lineAt returns the 1-based line of byte offset off.
func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

// skipSpace returns the offset of the next value at or after off: past
// white space and the comma between array items.
func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

// escapePointer escapes one reference token of an RFC 6901 pointer.
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// decodeElem decodes item e of doc into v, an error naming the file, line
// and pointer.
func (doc *jsonDoc) decodeElem(e jsonElem, v any) error {
	if len(e.raw) == 0 || e.raw[0] != '{' {
		return errLine(doc.file, e.line, "%s: not a JSON object", ptrName(e.ptr))
	}
	if err := json.Unmarshal(e.raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			at := max(0, min(int(te.Offset), len(e.raw)))
			where := ptrName(e.ptr)
			if te.Field != "" {
				where += ": " + te.Field
				// A type error of this package's scalars has no offset:
				// the line is the key's.
				last := te.Field[strings.LastIndex(te.Field, ".")+1:]
				if i := bytes.Index(bytes.ToLower(e.raw), bytes.ToLower([]byte(strconv.Quote(last)))); at == 0 && i >= 0 {
					at = i
				}
			}
			line := e.line + bytes.Count(e.raw[:at], []byte{'\n'})
			return errLine(doc.file, line, "%s: a JSON %s where a %s belongs", where, te.Value, jsonKind(te.Type))
		}
		return errLine(doc.file, e.line, "%s: %v", ptrName(e.ptr), err)
	}
	return nil
}

func ptrName(p string) string {
	if p == "" {
		return "the object"
	}
	return p
}

// objectKey returns the key of object raw that equals name in any case,
// as spelt; "" when there is none. Two such keys are an error: which one a
// reader meant cannot be told.
func objectKey(raw json.RawMessage, name string) (string, error) {
	keys, err := objectKeys(raw, name)
	return keys[0], err
}

// objectKeys is objectKey for several names, in one reading of raw: the
// key found for each name, in order.
func objectKeys(raw json.RawMessage, names ...string) ([]string, error) {
	found := make([]string, len(names))
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return found, errors.New("not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return found, err
		}
		k := t.(string)
		for i, name := range names {
			if !strings.EqualFold(k, name) {
				continue
			}
			if found[i] != "" {
				return found, fmt.Errorf("%q is there twice (as %q and %q)", name, found[i], k)
			}
			found[i] = k
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return found, err
		}
	}
	return found, nil
}

// firstKeys returns the keys of the first object of a JSON text read as
// far as it goes (a head of a file, for Detect): the top-level object's
// keys, the keys of the first item of its first array member, or of the
// first item of a top-level array.
func firstKeys(head []byte) (top, item []string) {
	head = bytes.TrimPrefix(head, bomUTF8)
	dec := json.NewDecoder(bytes.NewReader(head))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil
	}
	keysOf := func() []string { // dec has read '{'
		var keys []string
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return keys
			}
			k, _ := t.(string)
			keys = append(keys, k)
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return keys
			}
		}
		return keys
	}
	switch tok {
	case json.Delim('['):
		if t, err := dec.Token(); err == nil && t == json.Delim('{') {
			return nil, keysOf()
		}
		return nil, nil
	case json.Delim('{'):
	default:
		return nil, nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return top, item
		}
		k, _ := t.(string)
		top = append(top, k)
		at := skipSpace(head, dec.InputOffset())
		if item == nil && at < int64(len(head)) && head[at] == '[' {
			dec.Token()
			if t, err := dec.Token(); err == nil && t == json.Delim('{') {
				item = keysOf()
			}
			// The rest of the head is not read: the item's keys tell.
			return top, item
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return top, item // the head ends inside the value
		}
	}
	return top, item
}

// errTooManyItems: an array holds more items than the import's limit.
var errTooManyItems = errors.New("too many items")

// arrayItems reads the items of the JSON array raw, at most limit of
// them: one more is errTooManyItems, and nothing past it is read, so that
// an array nested in a list item (a device's apps) is held to the file's
// row limit as the list is.
func arrayItems(raw json.RawMessage, limit int) ([]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, errors.New("not an array")
	}
	var out []json.RawMessage
	for dec.More() {
		if len(out) >= limit {
			return nil, errTooManyItems
		}
		var item json.RawMessage
		if err := dec.Decode(&item); err != nil {
			return nil, err
		}
		out = append(out, item)
	}
	return out, nil
}
