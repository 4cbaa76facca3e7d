package mdmsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// apiError is a Graph error about to be written:
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
type apiError struct {
	status  int
	code    string
	message string
	header  http.Header // extra response headers (WWW-Authenticate, Allow)
}

func badRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "BadRequest", message: msg}
}

func segmentNotFound(seg string) *apiError {
	return badRequest(fmt.Sprintf("Resource not found for the segment '%s'.", seg))
}

// Graph's 401 bodies for the three ways a bearer token fails.
const (
	msgTokenEmpty   = "Access token is empty."
	msgTokenInvalid = "Invalid JWT token. The token is not valid for this resource or has been revoked."
	msgTokenFormat  = "Invalid JWT token. Token format not valid."
	msgTokenExpired = "Lifetime validation failed, the token is expired."
)

// graphAppID is the well-known application id of Microsoft Graph, which
// Graph names in its WWW-Authenticate challenge.
const graphAppID = "00000003-0000-0000-c000-000000000000"

func unauthenticated(r *http.Request, msg string) *apiError {
	h := http.Header{}
	challenge := fmt.Sprintf(`Bearer realm="", authorization_uri="%s/common/oauth2/authorize", client_id="%s"`, requestBase(r), graphAppID)
	if msg == msgTokenExpired {
		challenge += `, error="invalid_token", error_description="The access token is expired"`
	}
	h.Set("WWW-Authenticate", challenge)
	return &apiError{status: http.StatusUnauthorized, code: "InvalidAuthenticationToken", message: msg, header: h}
}

func methodNotAllowed(r *http.Request) *apiError {
	h := http.Header{}
	h.Set("Allow", "GET")
	return &apiError{
		status: http.StatusMethodNotAllowed,
		code:   "No method match route template",
		message: fmt.Sprintf("No OData route exists that match template ~/singleton/navigation with http verb %s for request /DeviceFE/StatelessDeviceFEService%s.",
			r.Method, strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/v1.0"), "/beta")),
		header: h,
	}
}

// intuneNotFound is Intune's 404: the message is itself a CRLF-formatted
// JSON document ("_version": 3) naming the Intune front end that failed.
func intuneNotFound(activityID, resourcePath string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "ResourceNotFound",
		message: intuneMessage("An error has occurred", activityID, resourcePath, "")}
}

// intuneMessage is the JSON document Intune puts in error.message, with
// its CRLF formatting and the RetryAfter key Intune leaves null.
func intuneMessage(text, activityID, resourcePath, phrase string) string {
	detail := fmt.Sprintf("%s - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: %s - Url: https://fef.msub05.manage.microsoft.com/DeviceFE/StatelessDeviceFEService/%s?api-version=5025-09-15",
		text, activityID, resourcePath)
	return "{\r\n" +
		"  \"_version\": 3,\r\n" +
		"  \"Message\": " + string(appendJSON(nil, detail)) + ",\r\n" +
		"  \"CustomApiErrorPhrase\": " + string(appendJSON(nil, phrase)) + ",\r\n" +
		"  \"RetryAfter\": null,\r\n" +
		"  \"ErrorSourceService\": \"\",\r\n" +
		"  \"HttpHeaders\": \"{}\"\r\n" +
		"}"
}

// intunePath is the resource path Intune's nested messages name: the
// request path without its version.
func intunePath(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/")
	_, rest, _ := strings.Cut(p, "/")
	return rest
}

// throttled is the 429 the rate limiter and Fault429 answer. retryAfter is
// the Retry-After header value in seconds, or 0 to omit it.
func throttled(r *http.Request, activityID string, retryAfter int) *apiError {
	e := &apiError{status: http.StatusTooManyRequests, code: "TooManyRequests",
		message: intuneMessage("Too many requests", activityID, intunePath(r), "TooManyRequests"), header: http.Header{}}
	if retryAfter > 0 {
		e.header.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	return e
}

// faultError is the Graph error a status fault answers with.
func faultError(f Fault, r *http.Request, activityID string, retryAfter int) *apiError {
	switch f {
	case Fault401:
		return unauthenticated(r, msgTokenExpired)
	case Fault403:
		return &apiError{status: http.StatusForbidden, code: "Forbidden", message: intuneMessage(
			"Application is not authorized to perform this operation. Application must have one of the following scopes: DeviceManagementManagedDevices.Read.All, DeviceManagementManagedDevices.ReadWrite.All",
			activityID, intunePath(r), "")}
	case Fault429, Fault429NoRetryAfter:
		return throttled(r, activityID, retryAfter)
	case Fault500:
		return &apiError{status: http.StatusInternalServerError, code: "InternalServerError",
			message: intuneMessage("An internal server error has occurred", activityID, intunePath(r), "")}
	case Fault502:
		return &apiError{status: http.StatusBadGateway, code: "BadGateway", message: "Bad Gateway"}
	case Fault503:
		e := &apiError{status: http.StatusServiceUnavailable, code: "serviceNotAvailable",
			message: "The service is temporarily unavailable. Try the request again after a delay.", header: http.Header{}}
		if retryAfter > 0 {
			e.header.Set("Retry-After", strconv.Itoa(retryAfter))
		}
		return e
	case Fault504:
		return &apiError{status: http.StatusGatewayTimeout, code: "GatewayTimeout",
			message: "The gateway did not receive a timely response from the upstream server."}
	}
	panic("mdmsim: not a status fault: " + f.String())
}

type graphErrorBody struct {
	Error graphErrorDetail `json:"error"`
}

type graphErrorDetail struct {
	Code       string          `json:"code"`
	Message    string          `json:"message"`
	InnerError graphInnerError `json:"innerError"`
}

type graphInnerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// writeGraphError writes e with the request ids already set on w.
func writeGraphError(w http.ResponseWriter, e *apiError, now time.Time) {
	for k, v := range e.header {
		w.Header()[k] = v
	}
	body := graphErrorBody{Error: graphErrorDetail{
		Code:    e.code,
		Message: e.message,
		InnerError: graphInnerError{
			Date:            now.UTC().Format("2006-01-02T15:04:05"),
			RequestID:       w.Header().Get("request-id"),
			ClientRequestID: w.Header().Get("client-request-id"),
		},
	}}
	w.Header().Set("Content-Type", graphContentType)
	w.WriteHeader(e.status)
	w.Write(appendJSON(nil, body))
}

// aadError is the Entra ID token endpoint's error body.
type aadError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

func writeAADError(w http.ResponseWriter, r *http.Request, status int, kind string, code int, msg, traceID, correlationID string, now time.Time) {
	ts := now.UTC().Format("2006-01-02 15:04:05Z")
	body := aadError{
		Error: kind,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			code, msg, traceID, correlationID, ts),
		ErrorCodes:    []int{code},
		Timestamp:     ts,
		TraceID:       traceID,
		CorrelationID: correlationID,
		ErrorURI:      fmt.Sprintf("%s/error?code=%d", requestBase(r), code),
	}
	w.Header().Set("Content-Type", aadContentType)
	w.WriteHeader(status)
	w.Write(appendJSON(nil, body))
}
