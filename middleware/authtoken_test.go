package middleware

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
)

func TestExtractAuthToken(t *testing.T) {
	b64 := base64.RawStdEncoding.EncodeToString([]byte("sub-token"))
	tests := []struct {
		name   string
		url    string
		header http.Header
		opts   AuthTokenOptions
		want   string
	}{
		{"bearer", "/", http.Header{"Authorization": {"Bearer abc"}}, AuthTokenOptions{}, "abc"},
		{"bearer case-insensitive", "/", http.Header{"Authorization": {"bearer abc"}}, AuthTokenOptions{}, "abc"},
		{"basic ignored", "/", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, AuthTokenOptions{}, ""},
		{"subprotocol", "/", http.Header{"Sec-Websocket-Protocol": {"phoenix, base64url.bearer.phx." + b64}}, AuthTokenOptions{}, "sub-token"},
		{"subprotocol url alphabet padded", "/", http.Header{"Sec-Websocket-Protocol": {"phoenix", "base64url.bearer.phx." + base64.URLEncoding.EncodeToString([]byte("a?b>"))}}, AuthTokenOptions{}, "a?b>"},
		{"phoenix header", "/", http.Header{"X-Phoenix-Authtoken": {"lp-token"}}, AuthTokenOptions{}, "lp-token"},
		{"query off by default", "/?token=q", nil, AuthTokenOptions{}, ""},
		{"query key, last value", "/?token=a&token=b", nil, AuthTokenOptions{QueryKey: "token"}, "b"},
		{"bearer wins", "/?token=q", http.Header{"Authorization": {"Bearer abc"}, "X-Phoenix-Authtoken": {"lp"}}, AuthTokenOptions{QueryKey: "token"}, "abc"},
		{"subprotocol before header", "/", http.Header{"Sec-Websocket-Protocol": {"phoenix, base64url.bearer.phx." + b64}, "X-Phoenix-Authtoken": {"lp"}}, AuthTokenOptions{}, "sub-token"},
		{"header before query", "/?token=q", http.Header{"X-Phoenix-Authtoken": {"lp"}}, AuthTokenOptions{QueryKey: "token"}, "lp"},
		{"nothing", "/", nil, AuthTokenOptions{QueryKey: "token"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			var found bool
			h := ExtractAuthToken(tt.opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, found = AuthToken(r.Context())
			}))
			r := httptest.NewRequest(http.MethodGet, tt.url, nil)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want || found != (tt.want != "") {
				t.Errorf("AuthToken = %q, %v; want %q", got, found, tt.want)
			}
		})
	}
}

func TestAuthTokenWithChi(t *testing.T) {
	r := chi.NewRouter()
	r.Use(ExtractAuthToken(AuthTokenOptions{}))
	r.Get("/api/me", func(w http.ResponseWriter, r *http.Request) {
		tok, ok := AuthToken(r.Context())
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(tok))
	})
	req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	req.Header.Set("Authorization", "Bearer t0k")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != "t0k" {
		t.Errorf("got %d %q", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/me", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("without token: %d", rec.Code)
	}
}
