package jamf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/internal/httpx"
)

// Error is a request the Jamf Pro server answered with an error status,
// with what its error body says. The Jamf Pro API's body is
//
//	{"httpStatus": 403, "errors": [{"code": "INVALID_PRIVILEGE", "field": null, "description": "Forbidden", "id": "0"}]}
//
// and the Classic API's an HTML page, which leaves Code and Causes empty.
// 401 and 403 match collect.ErrAuth (the command layer exits 4); the error
// also matches the httpx sentinel of its kind (httpx.ErrPermission for 403,
// httpx.ErrThrottled, httpx.ErrServer, …).
type Error struct {
	Status      int     // the HTTP status
	Code        string  // the first cause's code, e.g. INVALID_TOKEN
	Description string  // the first cause's description
	Causes      []Cause // every item of "errors"

	api *httpx.APIError // the request's failure: method, URL, attempts
}

// Cause is one item of a Jamf Pro API error body.
type Cause struct {
	Code        string
	Field       string
	Description string
	ID          string
}

func (e *Error) Error() string {
	if e.api != nil {
		return e.api.Error() // method, URL, kind, status, code and description
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if d := e.describe(); d != "" {
		fmt.Fprintf(&b, ": %s", d)
	}
	return b.String()
}

// Unwrap returns the request's *httpx.APIError and, for 401 and 403,
// collect.ErrAuth.
func (e *Error) Unwrap() []error {
	var out []error
	if e.api != nil {
		out = append(out, e.api)
	}
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		out = append(out, collect.ErrAuth)
	}
	return out
}

// describe joins the causes' descriptions, naming the field of each that
// has one.
func (e *Error) describe() string {
	var parts []string
	for _, c := range e.Causes {
		d := c.Description
		if d == "" {
			d = c.Code
		}
		if c.Field != "" {
			d += " (field " + c.Field + ")"
		}
		if d != "" {
			parts = append(parts, d)
		}
	}
	return strings.Join(parts, "; ")
}

// maxCauses bounds the causes kept from one body.
const maxCauses = 20

// parseError reads a Jamf Pro API error body. A body in another format
// (the Classic API's HTML, an OAuth error, a proxy's page) gives an Error
// without causes.
func parseError(status int, body []byte) *Error {
	e := &Error{Status: status}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return e
	}
	var v struct {
		Errors []struct {
			Code        text `json:"code"`
			Field       text `json:"field"`
			Description text `json:"description"`
			ID          text `json:"id"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil {
		return e
	}
	for i, c := range v.Errors {
		if i == maxCauses {
			break
		}
		e.Causes = append(e.Causes, Cause{Code: string(c.Code), Field: string(c.Field), Description: string(c.Description), ID: string(c.ID)})
	}
	if len(e.Causes) > 0 {
		e.Code, e.Description = e.Causes[0].Code, e.Causes[0].Description
	}
	return e
}

// decodeError is the httpx.Client's DecodeError: the Jamf Pro API's body,
// else the common shapes (an OAuth error from the token endpoint).
func decodeError(status int, h http.Header, body []byte) (code, msg string) {
	if e := parseError(status, body); len(e.Causes) > 0 {
		return e.Code, e.describe()
	}
	return httpx.DecodeJSONError(status, h, body)
}

// asError turns the failure of a request answered with an error status
// into an *Error (with what the body says); any other error is returned
// as it is.
func asError(err error, resp *httpx.Response) error {
	var ae *httpx.APIError
	if err == nil || resp == nil || !errors.As(err, &ae) || ae.Status == 0 || ae.Kind == httpx.KindTransport || ae.Kind == httpx.KindTooLarge {
		return err
	}
	e := parseError(ae.Status, resp.Body)
	e.api = ae
	return e
}

// text is a JSON string, number, boolean or null read as text: Jamf's
// bodies give ids as strings or numbers and fields as null.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = text(s)
		return nil
	}
	switch b = bytes.TrimSpace(b); {
	case len(b) == 0, string(b) == "null", b[0] == '{', b[0] == '[':
		*t = ""
	default:
		*t = text(b) // a number or a boolean, as written
	}
	return nil
}
