package httpsource

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/custos-ir/custos/collect"
	"github.com/custos-ir/custos/collect/collecttest"
	"github.com/custos-ir/custos/internal/httpx"
)

type fakeBearer struct{ issued, dropped int }

func (b *fakeBearer) Token(context.Context, collect.Sink) (string, error) {
	b.issued++
	return "tok" + string(rune('0'+b.issued)), nil
}
func (b *fakeBearer) Invalidate() { b.dropped++ }

// A 401 drops the token and retries once with a new one; a second 401 is
// the error.
func TestAuthorizedRefreshesOnce(t *testing.T) {
	for _, tc := range []struct {
		name       string
		accept     string // the token the server accepts
		wantErr    bool
		wantTokens int
	}{
		{"first token good", "tok1", false, 1},
		{"refreshed token good", "tok2", false, 2},
		{"refused twice", "none", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer "+tc.accept {
					w.WriteHeader(401)
					return
				}
				io.WriteString(w, `{"ok":true}`)
			}))
			defer srv.Close()
			base, _ := url.Parse(srv.URL)
			c := &httpx.Client{HTTP: srv.Client(), Base: base, AuthSentinel: collect.ErrAuth}
			b := &fakeBearer{}
			resp, _, err := Authorized(context.Background(), c, httpx.Request{Method: "GET", URL: base.JoinPath("x")}, b, &collecttest.Recorder{}, "test", nil)
			if (err != nil) != tc.wantErr || b.issued != tc.wantTokens || (tc.wantErr && !AuthFailed(err)) {
				t.Fatalf("err %v, %d tokens issued; want error %v, %d tokens", err, b.issued, tc.wantErr, tc.wantTokens)
			}
			if !tc.wantErr && string(resp.Body) != `{"ok":true}` {
				t.Errorf("body %q", resp.Body)
			}
		})
	}
}

// failingSink fails every capture.
type failingSink struct{ collecttest.Recorder }

func (*failingSink) Capture(string, *collect.Exchange, []byte, bool) (collect.RawRef, error) {
	return collect.RawRef{}, errors.New("disk full")
}

// A staging failure stops the run; a permission failure is a gap; an
// authentication failure stops the run.
func TestGapOrStop(t *testing.T) {
	ctx := context.Background()
	rec := &collecttest.Recorder{}
	perm := &httpx.APIError{Kind: httpx.KindPermission, Status: 403}
	if err := GapOrStop(ctx, perm, rec, collect.Gap{DeviceKey: "d", Detail: "apps"}); err != nil || len(rec.Gaps) != 1 || rec.Gaps[0].Reason != collect.ReasonPermissionDenied {
		t.Errorf("permission: %v, gaps %+v", err, rec.Gaps)
	}
	staging := &StagingError{Err: errors.New("disk full")}
	if err := GapOrStop(ctx, staging, rec, collect.Gap{}); !errors.Is(err, staging) {
		t.Errorf("staging failure became %v", err)
	}
	auth := errors.Join(collect.ErrAuth, errors.New("401"))
	if err := GapOrStop(ctx, auth, rec, collect.Gap{}); err == nil {
		t.Error("authentication failure became a gap")
	}
	resp := &httpx.Response{Status: 200, Body: []byte("{}")}
	if _, err := CaptureHTTP(&failingSink{}, "test", resp, true, nil); !Fatal(ctx, err) {
		t.Errorf("a failed capture is not fatal: %v", err)
	}
}

func TestSegmentOK(t *testing.T) {
	for id, want := range map[string]bool{"6f1b7a52-0d3c": true, "a/b": true, "": false, ".": false, "..": false, string(make([]byte, 257)): false} {
		if SegmentOK(id) != want {
			t.Errorf("SegmentOK(%q) = %v", id, !want)
		}
	}
}
