package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/custos-ir/custos/internal/redact"
)

// Kind classifies a failed request.
type Kind uint8

// Kinds of APIError. Each has a sentinel error that errors.Is matches.
const (
	KindOther      Kind = iota // any other non-2xx status (400, 409, 3xx not followed, ...)
	KindAuth                   // 401: the credential was refused
	KindPermission             // 403: the credential lacks a permission
	KindNotFound               // 404
	KindThrottled              // 429, still after every retry
	KindServer                 // 5xx, still after every retry
	KindTransport              // no response: connection refused or reset, timeout, TLS, ...
	KindTooLarge               // the response body exceeds Client.MaxBody
)

// Sentinel errors, one per Kind; errors.Is(err, ErrPermission) is true for
// an *APIError of KindPermission anywhere in err's chain.
var (
	ErrAuth       = errors.New("authentication failed")
	ErrPermission = errors.New("permission denied")
	ErrNotFound   = errors.New("not found")
	ErrThrottled  = errors.New("throttled")
	ErrServer     = errors.New("server error")
	ErrTransport  = errors.New("connection failed")
	ErrTooLarge   = errors.New("response body too large")
	ErrOther      = errors.New("request failed")
)

var kindErrors = [...]error{
	KindOther: ErrOther, KindAuth: ErrAuth, KindPermission: ErrPermission, KindNotFound: ErrNotFound,
	KindThrottled: ErrThrottled, KindServer: ErrServer, KindTransport: ErrTransport, KindTooLarge: ErrTooLarge,
}

func (k Kind) String() string {
	if int(k) < len(kindErrors) {
		return kindErrors[k].Error()
	}
	return "kind " + strconv.Itoa(int(k))
}

// KindOf classifies an HTTP status that is not a success.
func KindOf(status int) Kind {
	switch {
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusForbidden:
		return KindPermission
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusTooManyRequests:
		return KindThrottled
	case status >= 500 && status <= 599:
		return KindServer
	}
	return KindOther
}

// APIError is the error of a request that got no usable response: a final
// status outside 2xx, a transport failure after every retry, or a body over
// the size limit. Every field is safe to show: the URL and the messages are
// redacted, and vendor text is stripped of control characters and cut to a
// readable length.
type APIError struct {
	Kind      Kind
	Method    string
	URL       string // redacted; Error shows it without the query
	Status    int    // 0 when no response was received
	Code      string // vendor error code, from Client.DecodeError
	Message   string // vendor error message, from Client.DecodeError
	RequestID string // from the first of Client.RequestIDHeaders present
	Attempts  int    // attempts made, retries included
	Err       error  // cause of a transport failure (redacted), else nil
	// Limit is Client.MaxBody for KindTooLarge.
	Limit int64

	mark error // the caller's sentinel for auth and permission kinds
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Method, shortURL(e.URL))
	switch e.Kind {
	case KindTooLarge:
		fmt.Fprintf(&b, "response body exceeds %d bytes", e.Limit)
		return b.String()
	case KindTransport:
		b.WriteString(e.Kind.String())
		if e.Attempts > 1 {
			fmt.Fprintf(&b, " after %d attempts", e.Attempts)
		}
		if e.Err != nil {
			fmt.Fprintf(&b, ": %s", transportText(e.Err))
		}
		return b.String()
	}
	b.WriteString(e.Kind.String())
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	fmt.Fprintf(&b, ": HTTP %d", e.Status)
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

// shortURL drops the query of a URL for a message ("?…" stands for it):
// Graph's $select lists would drown the error, and the request log keeps
// the whole (redacted) URL.
func shortURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// transportText is the message of a transport error without the method and
// URL that *url.Error repeats.
func transportText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

// Is matches the sentinel of e's kind.
func (e *APIError) Is(target error) bool {
	return int(e.Kind) < len(kindErrors) && target == kindErrors[e.Kind]
}

// Unwrap returns the transport cause and, for auth and permission errors,
// the sentinel set in Client.AuthSentinel.
func (e *APIError) Unwrap() []error {
	var out []error
	if e.Err != nil {
		out = append(out, e.Err)
	}
	if e.mark != nil {
		out = append(out, e.mark)
	}
	return out
}

// Timeout reports whether the failure was a timeout.
func (e *APIError) Timeout() bool {
	var t interface{ Timeout() bool }
	return e.Err != nil && errors.As(e.Err, &t) && t.Timeout()
}

// maxMessage bounds vendor text kept in an APIError.
const (
	maxMessage = 1000
	maxCode    = 100
)

// clean makes vendor-supplied text safe for a terminal and a log line:
// control characters (CR, LF, ESC, ...) and invalid UTF-8 become spaces,
// runs of spaces collapse, and the text is cut to n bytes.
func clean(s string, n int) string {
	var b strings.Builder
	pending := false // a space to write before the next character
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				r = ' '
			}
		}
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			pending = b.Len() > 0
			continue
		}
		need := utf8.RuneLen(r)
		if pending {
			need++
		}
		if b.Len()+need > n {
			b.WriteString("…")
			break
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// DecodeJSONError reads the error bodies of the common REST styles; it is
// the default of Client.DecodeError:
//
//	{"error":{"code":"Forbidden","message":"..."}}               Microsoft Graph
//	{"error":{"code":403,"status":"PERMISSION_DENIED","message":"..."}}   Google
//	{"error":"invalid_client","error_description":"..."}         OAuth 2.0
//	{"httpStatus":403,"errors":[{"code":"...","description":"..."}]}      Jamf Pro
//	{"errorCode":1001,"message":"..."}                           Workspace ONE
//
// A body in none of these shapes gives empty strings.
func DecodeJSONError(_ int, _ http.Header, body []byte) (code, msg string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return "", ""
	}
	var v struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
		Message     string          `json:"message"`
		ErrorCode   json.RawMessage `json:"errorCode"`
		Errors      []struct {
			Code        json.RawMessage `json:"code"`
			Description string          `json:"description"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", ""
	}
	var inner struct {
		Code    json.RawMessage `json:"code"`
		Status  string          `json:"status"`
		Message string          `json:"message"`
	}
	var s string
	switch {
	case json.Unmarshal(v.Error, &s) == nil && s != "":
		return s, v.Description
	case json.Unmarshal(v.Error, &inner) == nil && (inner.Code != nil || inner.Message != ""):
		if inner.Status != "" {
			return inner.Status, inner.Message
		}
		return scalar(inner.Code), inner.Message
	case len(v.Errors) > 0:
		return scalar(v.Errors[0].Code), v.Errors[0].Description
	}
	return scalar(v.ErrorCode), v.Message
}

// scalar renders a JSON string or number as text.
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

// DefaultRequestIDHeaders are the response headers read for
// APIError.RequestID, first present wins.
var DefaultRequestIDHeaders = []string{"request-id", "x-ms-request-id", "client-request-id", "x-request-id", "x-goog-request-id"}

// redactErr returns err with every URL and secret removed from its message.
// The *url.Error that net/http returns (with the whole URL) is rebuilt with
// the URL redacted, so that errors.As and Timeout still work; an error whose
// text still shows a secret afterwards is replaced by its redacted text.
func redactErr(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	if ue, ok := err.(*url.Error); ok {
		err = &url.Error{Op: ue.Op, URL: redact.URLString(ue.URL), Err: ue.Err}
	}
	if msg := err.Error(); redact.String(msg, secrets...) != msg {
		return &redactedError{msg: redact.String(msg, secrets...), timeout: isTimeout(err), cause: causeOf(err)}
	}
	return err
}

// redactedError stands for an error whose text had to be rewritten. It
// keeps whether it was a timeout and its well-known cause (cancellation,
// EOF, foreign host) so that callers can still classify it, but nothing
// that could print the secret.
type redactedError struct {
	msg     string
	timeout bool
	cause   error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Timeout() bool { return e.timeout }
func (e *redactedError) Unwrap() error { return e.cause }

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// causeOf returns the first well-known sentinel in err's chain.
func causeOf(err error) error {
	for _, s := range []error{ErrForeignHost, context.Canceled, context.DeadlineExceeded, io.ErrUnexpectedEOF, io.EOF, syscall.ECONNRESET, syscall.ECONNREFUSED} {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}
