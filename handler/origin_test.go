package handler_test

import (
	"net/http"
	"testing"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/phx"
)

// TestOriginHosts: a DNS-rebinding page (the attacker's name resolves to
// the server, so the page's Origin and its request's Host are both the
// attacker's) passes the default check, which trusts the Host header, and
// is refused once Options.Hosts names the hosts the server answers as.
func TestOriginHosts(t *testing.T) {
	rebinding := http.Header{"Origin": {"http://evil.example:4000"}, "Host": {"evil.example:4000"}}

	ep, _ := testEndpoint(t, phx.Config{})
	srv := serve(t, newHandler(ep, handler.Options{}))
	u := wsURL(srv, "/socket/websocket?vsn=2.0.0")
	mustDial(t, u, rebinding) // the default: what README says it does not protect against
	mustDial(t, u, http.Header{"Origin": {"http://127.0.0.1:4000"}})
	if s := refused(t, u, http.Header{"Origin": {"http://evil.example"}}); s != http.StatusForbidden {
		t.Errorf("default, foreign origin: status %d, want 403", s)
	}

	ep2, _ := testEndpoint(t, phx.Config{})
	srv2 := serve(t, newHandler(ep2, handler.Options{Hosts: []string{"app.example.com", " LocalHost:4000 "}}))
	u2 := wsURL(srv2, "/socket/websocket?vsn=2.0.0")
	for _, h := range []http.Header{
		rebinding,
		{"Origin": {"http://127.0.0.1:4000"}}, // the Host header's name, not listed
		{"Origin": {"null"}},
	} {
		if s := refused(t, u2, h); s != http.StatusForbidden {
			t.Errorf("Hosts, %v: status %d, want 403", h, s)
		}
	}
	mustDial(t, u2, http.Header{"Origin": {"https://app.example.com"}})
	mustDial(t, u2, http.Header{"Origin": {"http://localhost:3000"}, "Host": {"evil.example"}}) // port ignored; Host not consulted
	mustDial(t, u2, nil)                                                                        // no Origin: not a browser

	// A custom check replaces the default, Hosts included.
	ep3, _ := testEndpoint(t, phx.Config{})
	srv3 := serve(t, newHandler(ep3, handler.Options{Hosts: []string{"app.example.com"}, CheckOrigin: func(*http.Request) bool { return true }}))
	mustDial(t, wsURL(srv3, "/socket/websocket?vsn=2.0.0"), rebinding)
}
