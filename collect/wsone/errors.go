package wsone

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/custos-ir/custos/internal/httpx"
)

// Error is a Workspace ONE API request that failed with an HTTP status,
// and what the API's error body said:
//
//	{"errorCode": 1013, "message": "Tenant code … does not identify an Organization Group.", "activityId": "d7a5de76-…"}
//
// It wraps the *httpx.APIError of the request, so errors.Is matches
// collect.ErrAuth for 401 and 403 (and httpx.ErrPermission for 403),
// httpx.ErrNotFound for 404 and so on. Every text is cleaned of control
// characters and of the source's credentials.
type Error struct {
	Status     int
	Code       int    // errorCode; 0 when the body carried none
	Message    string // message
	ActivityID string // activityId, to quote to Omnissa support

	err *httpx.APIError
}

func (e *Error) Error() string {
	if e.err != nil {
		return e.err.Error() // which carries the three (see Source.decodeError)
	}
	return fmt.Sprintf("HTTP %d%s", e.Status, describe(errorBody{Code: e.Code, HasCode: e.Code != 0, Message: e.Message, ActivityID: e.ActivityID}))
}

// Unwrap returns the request's *httpx.APIError.
func (e *Error) Unwrap() error {
	if e.err == nil {
		return nil
	}
	return e.err
}

// errorBody is Workspace ONE's error body.
type errorBody struct {
	Code       int
	HasCode    bool
	Message    string
	ActivityID string
}

// parseError reads {"errorCode": N, "message": "…", "activityId": "…"}
// (errorCode a number, or a number as a string). ok is false when body is
// not such an object: a proxy's HTML page, a token endpoint's OAuth
// error, nothing. Texts are cleaned and cut to a readable length.
func parseError(body []byte) (e errorBody, ok bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return errorBody{}, false
	}
	var v struct {
		ErrorCode  json.RawMessage `json:"errorCode"`
		Message    json.RawMessage `json:"message"`
		ActivityID json.RawMessage `json:"activityId"`
	}
	if json.Unmarshal(body, &v) != nil {
		return errorBody{}, false
	}
	if c := scalar(v.ErrorCode); c != "" {
		if n, err := strconv.Atoi(c); err == nil {
			e.Code, e.HasCode = n, true
		}
	}
	e.Message = clip(scalar(v.Message), 500)
	e.ActivityID = clip(scalar(v.ActivityID), 100)
	return e, e.HasCode || e.Message != "" || e.ActivityID != ""
}

// scalar renders a JSON string or number as text, anything else as "".
func scalar(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// describe renders the parts of an error body after "HTTP N": " errorCode
// C: message (activityId A)".
func describe(e errorBody) string {
	var b strings.Builder
	if e.HasCode {
		fmt.Fprintf(&b, " errorCode %d", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.ActivityID != "" {
		fmt.Fprintf(&b, " (activityId %s)", e.ActivityID)
	}
	return b.String()
}

// clip makes server-supplied text safe for a message: control characters
// (bidirectional overrides included) and invalid UTF-8 become spaces, runs of spaces collapse, and the text
// is cut to n bytes.
func clip(s string, n int) string {
	var b strings.Builder
	space := false
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				r = ' '
			}
		}
		if unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			space = b.Len() > 0
			continue
		}
		need := utf8.RuneLen(r)
		if space {
			need++
		}
		if b.Len()+need > n {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
