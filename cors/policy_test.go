package cors

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func request(method, host, origin string) *http.Request {
	r := httptest.NewRequest(method, "http://"+host+"/socket/longpoll", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	return r
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		host    string
		origin  string
		allowed bool
	}{
		{"missing origin, same host default", Options{}, "example.com", "", true},
		{"missing origin, list", Options{Origins: []string{"https://a.example"}}, "example.com", "", true},
		{"same host default", Options{}, "example.com:4000", "https://example.com", true},
		{"same host ignores port", Options{}, "localhost:4000", "http://localhost:3000", true},
		{"same host case-insensitive", Options{}, "Example.COM", "http://example.com", true},
		{"same host other host", Options{}, "example.com", "https://evil.com", false},
		{"null origin default", Options{}, "example.com", "null", false},
		{"null origin list", Options{Origins: []string{"//example.com"}}, "example.com", "null", false},
		{"unparsable origin", Options{}, "example.com", "://%zz", false},
		{"origin without scheme", Options{}, "example.com", "example.com", false},

		{"https entry", Options{Origins: []string{"https://app.example.com"}}, "x", "https://app.example.com", true},
		{"https entry explicit default port", Options{Origins: []string{"https://app.example.com"}}, "x", "https://app.example.com:443", true},
		{"https entry other scheme", Options{Origins: []string{"https://app.example.com"}}, "x", "http://app.example.com", false},
		{"https entry other port", Options{Origins: []string{"https://app.example.com"}}, "x", "https://app.example.com:8443", false},
		{"https entry other host", Options{Origins: []string{"https://app.example.com"}}, "x", "https://example.com", false},
		{"http entry with port", Options{Origins: []string{"http://localhost:3000"}}, "x", "http://localhost:3000", true},
		{"http entry with port mismatch", Options{Origins: []string{"http://localhost:3000"}}, "x", "http://localhost:3001", false},
		{"//host any scheme", Options{Origins: []string{"//other.com"}}, "x", "http://other.com", true},
		{"//host any port", Options{Origins: []string{"//other.com"}}, "x", "https://other.com:9999", true},
		{"//host other host", Options{Origins: []string{"//other.com"}}, "x", "https://sub.other.com", false},
		{"//host:port match", Options{Origins: []string{"//another.com:888"}}, "x", "https://another.com:888", true},
		{"//host:port any scheme", Options{Origins: []string{"//another.com:888"}}, "x", "http://another.com:888", true},
		{"//host:port wrong port", Options{Origins: []string{"//another.com:888"}}, "x", "https://another.com", false},
		{"bare host", Options{Origins: []string{"app.example.com"}}, "x", "https://app.example.com:1", true},
		{"bare host:port", Options{Origins: []string{"localhost:3000"}}, "x", "http://localhost:3000", true},
		{"bare host:port mismatch", Options{Origins: []string{"localhost:3000"}}, "x", "http://localhost:3001", false},
		{"wildcard apex", Options{Origins: []string{"*.example.com"}}, "x", "https://example.com", true},
		{"wildcard sub", Options{Origins: []string{"*.example.com"}}, "x", "https://a.example.com", true},
		{"wildcard deep sub", Options{Origins: []string{"*.example.com"}}, "x", "http://a.b.example.com:8080", true},
		{"wildcard lookalike", Options{Origins: []string{"*.example.com"}}, "x", "https://badexample.com", false},
		{"wildcard suffix attack", Options{Origins: []string{"*.example.com"}}, "x", "https://example.com.evil.io", false},
		{"wildcard with scheme", Options{Origins: []string{"https://*.example.com"}}, "x", "http://a.example.com", false},
		{"wildcard with //", Options{Origins: []string{"//*.example.com"}}, "x", "http://a.example.com", true},
		{"list does not imply same host", Options{Origins: []string{"//other.com"}}, "example.com", "https://example.com", false},
		{"same origin exact", Options{SameOrigin: true}, "localhost:4000", "http://localhost:4000", true},
		{"same origin other port", Options{SameOrigin: true}, "localhost:4000", "http://localhost:4001", false},
		{"same origin other scheme", Options{SameOrigin: true}, "localhost:4000", "https://localhost:4000", false},
		{"same origin default port", Options{SameOrigin: true}, "example.com", "http://example.com:80", true},
		{"same origin plus list", Options{SameOrigin: true, Origins: []string{"http://localhost:4001"}}, "localhost:4000", "http://localhost:4001", true},
		{"same origin plus list, other", Options{SameOrigin: true, Origins: []string{"http://localhost:4001"}}, "localhost:4000", "http://localhost:4002", false},
		{"second entry", Options{Origins: []string{"//a.com", "//b.com"}}, "x", "https://b.com", true},
		{"ipv6", Options{Origins: []string{"//[::1]:4000"}}, "x", "http://[::1]:4000", true},
		{"entry case-insensitive", Options{Origins: []string{"HTTPS://App.Example.com"}}, "x", "https://app.example.com", true},

		// DNS rebinding: the attacker's name resolves to this server, so the
		// page's Origin and the request's Host are both the attacker's.
		{"rebinding passes the default", Options{}, "evil.example:4000", "http://evil.example:4000", true},
		{"rebinding passes same origin", Options{SameOrigin: true}, "evil.example:4000", "http://evil.example:4000", true},
		{"hosts refuse rebinding", Options{Hosts: []string{"app.example.com"}}, "evil.example:4000", "http://evil.example:4000", false},
		{"hosts refuse rebinding, same origin", Options{SameOrigin: true, Hosts: []string{"localhost"}}, "evil.example:4000", "http://evil.example:4000", false},
		{"hosts allow own host", Options{Hosts: []string{"app.example.com"}}, "app.example.com", "https://app.example.com", true},
		{"hosts allow own host whatever the Host header", Options{Hosts: []string{"app.example.com"}}, "10.0.0.7:4000", "https://app.example.com", true},
		{"hosts second entry, any port", Options{Hosts: []string{"app.example.com", "LocalHost"}}, "localhost:4000", "http://localhost:3000", true},
		{"hosts entry with port", Options{Hosts: []string{"localhost:4000"}}, "localhost:4000", "http://localhost:4000", true},
		{"hosts entry with port, other port", Options{Hosts: []string{"localhost:4000"}}, "localhost:4000", "http://localhost:4001", false},
		{"hosts same origin", Options{SameOrigin: true, Hosts: []string{"localhost"}}, "localhost:4000", "http://localhost:4000", true},
		{"hosts same origin other port", Options{SameOrigin: true, Hosts: []string{"localhost"}}, "localhost:4000", "http://localhost:4001", false},
		{"hosts do not widen a list", Options{Origins: []string{"//other.com"}, Hosts: []string{"example.com"}}, "example.com", "https://example.com", false},
		{"hosts, missing origin", Options{Hosts: []string{"example.com"}}, "evil.example", "", true},

		{"allow all", Options{AllowAll: true}, "x", "https://anything.io", true},
		{"allow all null", Options{AllowAll: true}, "x", "null", true},
		{"star entry", Options{Origins: []string{"*"}}, "x", "https://anything.io", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPolicy(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Allowed(request(http.MethodGet, tt.host, tt.origin)); got != tt.allowed {
				t.Errorf("Allowed(origin %q, host %q) = %v, want %v", tt.origin, tt.host, got, tt.allowed)
			}
		})
	}
}

func TestNilPolicyIsSameHost(t *testing.T) {
	var p *Policy
	if !p.Allowed(request(http.MethodGet, "example.com:4000", "http://example.com:3000")) {
		t.Error("nil policy refused the same host")
	}
	if p.Allowed(request(http.MethodGet, "example.com", "http://evil.com")) {
		t.Error("nil policy allowed another host")
	}
	rec := httptest.NewRecorder()
	p.Handler(http.NotFoundHandler()).ServeHTTP(rec, request(http.MethodGet, "example.com", "http://example.com:3000"))
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "http://example.com:3000" {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
}

func TestNewPolicyErrors(t *testing.T) {
	for _, bad := range []string{"", "https://", "//", "*.", "//*.", "http://:80", "//host:notaport", "//host:70000", "a.*.com", "://host"} {
		if _, err := NewPolicy(Options{Origins: []string{bad}}); err == nil {
			t.Errorf("NewPolicy(%q) succeeded", bad)
		}
	}
	for _, bad := range []string{"", "https://app.example.com", "*.example.com", "app.example.com/path", "host:70000", "//host"} {
		if _, err := NewPolicy(Options{Hosts: []string{bad}}); err == nil {
			t.Errorf("NewPolicy(Hosts: %q) succeeded", bad)
		}
	}
	_, err := NewPolicy(Options{Origins: []string{"https://", "//ok.com", "//"}})
	if err == nil || !strings.Contains(err.Error(), `"https://"`) || !strings.Contains(err.Error(), `"//"`) {
		t.Errorf("errors not all reported: %v", err)
	}
}

func TestHandlerHeaders(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		name        string
		opts        Options
		origin      string
		wantOrigin  string
		wantCreds   string
		wantHandler bool
	}{
		{"allowed, no credentials", Options{Origins: []string{"//app.io"}}, "https://app.io", "https://app.io", "", true},
		{"allowed, credentials echo", Options{Origins: []string{"//app.io"}, AllowCredentials: true}, "https://app.io", "https://app.io", "true", true},
		{"allow all with credentials never star", Options{AllowAll: true, AllowCredentials: true}, "https://x.io", "https://x.io", "true", true},
		{"allow all without credentials echoes too", Options{AllowAll: true}, "https://x.io", "https://x.io", "", true},
		{"refused origin: no headers, handler still runs", Options{Origins: []string{"//app.io"}, AllowCredentials: true}, "https://evil.io", "", "", true},
		{"no origin: no headers", Options{AllowAll: true}, "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPolicy(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			p.Handler(next).ServeHTTP(rec, request(http.MethodPost, "server.io", tt.origin))
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if got := rec.Header().Get("Access-Control-Allow-Credentials"); got != tt.wantCreds {
				t.Errorf("Access-Control-Allow-Credentials = %q, want %q", got, tt.wantCreds)
			}
			if (rec.Code == http.StatusTeapot) != tt.wantHandler {
				t.Errorf("status %d, handler ran = %v", rec.Code, rec.Code == http.StatusTeapot)
			}
			if tt.origin != "" && !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q, want Origin", rec.Header().Values("Vary"))
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	p, err := NewPolicy(Options{Origins: []string{"http://localhost:3000"}, AllowCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("preflight reached the handler") })
	preflight := func(origin, method, headers string) *httptest.ResponseRecorder {
		r := request(http.MethodOptions, "localhost:4000", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			r.Header.Set("Access-Control-Request-Headers", headers)
		}
		rec := httptest.NewRecorder()
		p.Handler(next).ServeHTTP(rec, r)
		return rec
	}

	rec := preflight("http://localhost:3000", "POST", "content-type,x-phoenix-authtoken,x-phoenix-longpoll-token")
	if rec.Code/100 != 2 {
		t.Errorf("status %d", rec.Code)
	}
	h := rec.Header()
	if got := h.Get("Access-Control-Allow-Origin"); got != "http://localhost:3000" {
		t.Errorf("Allow-Origin = %q", got)
	}
	if got := h.Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("Allow-Credentials = %q", got)
	}
	if got := h.Get("Access-Control-Allow-Headers"); got != "content-type,x-phoenix-authtoken,x-phoenix-longpoll-token" {
		t.Errorf("Allow-Headers = %q", got)
	}
	if got := h.Get("Access-Control-Allow-Methods"); got != "POST" {
		t.Errorf("Allow-Methods = %q", got)
	}
	if got := h.Get("Access-Control-Max-Age"); got != "3600" {
		t.Errorf("Max-Age = %q", got)
	}

	for _, m := range []string{"GET", "OPTIONS"} {
		if got := preflight("http://localhost:3000", m, "").Header().Get("Access-Control-Allow-Methods"); got != m {
			t.Errorf("method %s: Allow-Methods = %q", m, got)
		}
	}
	if got := preflight("http://localhost:3000", "DELETE", "").Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("DELETE allowed by default: %q", got)
	}
	if got := preflight("http://localhost:3000", "POST", "x-custom").Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("unlisted header allowed: %q", got)
	}
	if got := preflight("http://evil.io", "POST", "content-type").Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("refused origin got Allow-Origin %q", got)
	}
}

func TestPreflightExtras(t *testing.T) {
	p, err := NewPolicy(Options{AllowAll: true, AllowedMethods: []string{"DELETE"}, AllowedHeaders: []string{"X-Custom"}, MaxAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	r := request(http.MethodOptions, "api.io", "https://web.io")
	r.Header.Set("Access-Control-Request-Method", "DELETE")
	r.Header.Set("Access-Control-Request-Headers", "x-custom")
	rec := httptest.NewRecorder()
	p.Handler(http.NotFoundHandler()).ServeHTTP(rec, r)
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "https://web.io" {
		t.Errorf("Allow-Origin = %q", got)
	}
	if got := rec.Header().Get("Access-Control-Max-Age"); got != "0" {
		t.Errorf("Max-Age = %q", got)
	}
}
