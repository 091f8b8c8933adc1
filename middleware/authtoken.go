package middleware

import (
	"context"
	"net/http"
	"strings"

	"github.com/seance-go/seance/handler"
)

// AuthTokenOptions configures [ExtractAuthToken].
type AuthTokenOptions struct {
	// QueryKey, when set, is a query parameter read as a last resort (its
	// last value). Tokens in URLs end up in access logs and browser
	// history: prefer the header forms.
	QueryKey string
}

type authTokenKey struct{}

// ExtractAuthToken finds the request's auth token and stores it in the
// request context, where the socket's connect hook and REST handlers read it
// with [AuthToken]. Sources, first found wins:
//
//  1. Authorization: Bearer <token>
//  2. the phoenix.js 1.8 WebSocket subprotocol base64url.bearer.phx.<base64>
//     (left in place: the upgrade still negotiates it)
//  3. X-Phoenix-AuthToken (phoenix.js 1.8 long-poll)
//  4. the QueryKey parameter, when configured
//
// It never refuses a request: pair it with your own check.
func ExtractAuthToken(opts AuthTokenOptions) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tok := findAuthToken(r, opts.QueryKey); tok != "" {
				r = r.WithContext(WithAuthToken(r.Context(), tok))
			}
			next.ServeHTTP(w, r)
		})
	}
}

func findAuthToken(r *http.Request, queryKey string) string {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		if tok = strings.TrimSpace(tok); tok != "" {
			return tok
		}
	}
	var protocols []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			protocols = append(protocols, strings.TrimSpace(p))
		}
	}
	if tok, _, ok := handler.AuthTokenFromProtocols(protocols); ok && tok != "" {
		return tok
	}
	if tok := r.Header.Get("X-Phoenix-AuthToken"); tok != "" {
		return tok
	}
	if queryKey != "" {
		if vs := r.URL.Query()[queryKey]; len(vs) > 0 && vs[len(vs)-1] != "" {
			return vs[len(vs)-1]
		}
	}
	return ""
}

// WithAuthToken returns a context carrying token, as [ExtractAuthToken]
// stores it (useful in tests of handlers that call [AuthToken]).
func WithAuthToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, authTokenKey{}, token)
}

// AuthToken returns the token [ExtractAuthToken] found for the request.
func AuthToken(ctx context.Context) (string, bool) {
	tok, ok := ctx.Value(authTokenKey{}).(string)
	return tok, ok && tok != ""
}
