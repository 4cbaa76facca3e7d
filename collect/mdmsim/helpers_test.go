package mdmsim

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// serveOnce answers a GET in process, without a listener.
func serveOnce(tb testing.TB, h http.Handler, path, tok string) *httptest.ResponseRecorder {
	tb.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return w
}
