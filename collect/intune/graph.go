package intune

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/custos-ir/custos/collect"
)

// Error is a Microsoft Graph or Entra ID error response.
type Error struct {
	Status    int
	Code      string // Graph error.code, or the OAuth error for the token endpoint
	Message   string // Intune's nested message unwrapped when present
	RequestID string
	AADSTS    string // e.g. "AADSTS7000215" for token errors
	Token     bool   // the error came from the token endpoint
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if e.Token {
		b.WriteString(" from the token endpoint")
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request-id %s)", e.RequestID)
	}
	return b.String()
}

// Unwrap makes 401 and 403 match collect.ErrAuth.
func (e *Error) Unwrap() error {
	if e.Token || e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return collect.ErrAuth
	}
	return nil
}

// parseGraphError reads Graph's {"error":{"code","message","innerError"}}.
// Intune often puts a second JSON document inside message (with "Message"
// and sometimes a further "ErrorCode"/"Message" wrapping); it is unwrapped
// so the reader sees the real text.
func parseGraphError(status int, header http.Header, body []byte) *Error {
	e := &Error{Status: status, RequestID: header.Get("request-id")}
	var env struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error.Code == "" {
		e.Message = fmt.Sprintf("unexpected %d response (%d bytes, not a Graph error body)", status, len(body))
		return e
	}
	e.Code = env.Error.Code
	e.Message = unwrapIntuneMessage(env.Error.Message, 3)
	if env.Error.InnerError.RequestID != "" {
		e.RequestID = env.Error.InnerError.RequestID
	}
	return e
}

func unwrapIntuneMessage(msg string, depth int) string {
	m := strings.TrimSpace(msg)
	if depth == 0 || !strings.HasPrefix(m, "{") {
		return msg
	}
	var nested struct {
		Message   string `json:"Message"`
		ErrorCode string `json:"ErrorCode"`
	}
	if err := json.Unmarshal([]byte(m), &nested); err != nil || nested.Message == "" {
		return msg
	}
	inner := unwrapIntuneMessage(nested.Message, depth-1)
	if nested.ErrorCode != "" {
		return nested.ErrorCode + ": " + inner
	}
	return inner
}

// parseTokenError reads Entra ID's OAuth error body.
func parseTokenError(status int, header http.Header, body []byte) *Error {
	e := &Error{Status: status, RequestID: header.Get("x-ms-request-id"), Token: true}
	var env struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		TraceID     string `json:"trace_id"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == "" {
		e.Message = fmt.Sprintf("unexpected %d response from the token endpoint", status)
		return e
	}
	e.Code = env.Error
	// The description repeats trace and correlation ids over several lines;
	// the first line carries the AADSTS code and the reason.
	desc, _, _ := strings.Cut(env.Description, "\r\n")
	desc, _, _ = strings.Cut(desc, " Trace ID:")
	e.Message = strings.TrimSpace(desc)
	if code, _, ok := strings.Cut(e.Message, ":"); ok && strings.HasPrefix(code, "AADSTS") {
		e.AADSTS = code
	}
	if e.RequestID == "" {
		e.RequestID = env.TraceID
	}
	return e
}
