package longpoll

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/seance-go/seance/cors"
)

// doAs sends a request with the given Host header and Origin and returns
// the long-poll status of its answer.
func (f *fixture) doAs(method, rawURL, host, origin, body string) reply {
	f.t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r reply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		f.t.Fatalf("%s: %v", method, err)
	}
	return r
}

// TestOriginHostsRefuseRebinding: a DNS-rebinding page (its Origin and the
// request's Host both the attacker's name) passes the default policy,
// which trusts the Host header, and is refused by a policy with Hosts,
// for GETs and POSTs alike; the server's own name still passes, whatever
// Host the request carries.
func TestOriginHostsRefuseRebinding(t *testing.T) {
	const evil = "http://evil.example:4000"
	f := newFixture(t, Options{})
	if r := f.doAs(http.MethodGet, f.url+"?vsn=2.0.0", "evil.example:4000", evil, ""); r.Status != 410 {
		t.Errorf("default policy, rebinding GET: %+v, want 410 (the default trusts Host)", r)
	}

	policy, err := cors.NewPolicy(cors.Options{Hosts: []string{"app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	f = newFixture(t, Options{Origin: policy})
	if r := f.doAs(http.MethodGet, f.url+"?vsn=2.0.0", "evil.example:4000", evil, ""); r.Status != 403 || r.Token != nil {
		t.Errorf("Hosts, rebinding GET: %+v, want 403", r)
	}
	tok := f.open("vsn=2.0.0") // no Origin, as a same-origin GET
	if r := f.doAs(http.MethodPost, f.url+"?vsn=2.0.0&token="+tok, "evil.example:4000", evil, join); r.Status != 403 {
		t.Errorf("Hosts, rebinding POST: %+v, want 403", r)
	}
	if r := f.doAs(http.MethodGet, f.url+"?vsn=2.0.0", "10.0.0.7:4000", "https://app.example.com", ""); r.Status != 410 {
		t.Errorf("Hosts, own origin: %+v, want 410", r)
	}
}
