package cors_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/seance-go/seance/cors"
)

func Example() {
	policy, err := cors.NewPolicy(cors.Options{
		Origins:          []string{"https://app.example.com", "//*.staging.example.com"},
		AllowCredentials: true,
	})
	if err != nil {
		panic(err)
	}
	for _, origin := range []string{"https://app.example.com", "http://app.example.com", "http://pr-7.staging.example.com:8080", "null"} {
		r := httptest.NewRequest("GET", "https://api.example.com/socket/websocket", nil)
		r.Header.Set("Origin", origin)
		fmt.Println(origin, policy.Allowed(r))
	}
	// handler.Options{CheckOrigin: policy.Allowed} refuses the others with 403;
	// router.Use(policy.Handler) adds CORS headers to REST routes.

	// Output:
	// https://app.example.com true
	// http://app.example.com false
	// http://pr-7.staging.example.com:8080 true
	// null false
}

// With Hosts, the same-host rule compares the Origin with the names the
// server answers as, not with the request's Host header: a DNS-rebinding
// page, whose Origin and Host are both the attacker's name, is refused.
func ExampleOptions_hosts() {
	policy, err := cors.NewPolicy(cors.Options{Hosts: []string{"app.example.com"}})
	if err != nil {
		panic(err)
	}
	for _, site := range []string{"app.example.com", "evil.example"} {
		r := httptest.NewRequest("GET", "http://"+site+"/socket/websocket", nil) // sets Host
		r.Header.Set("Origin", "https://"+site)
		fmt.Println(site, policy.Allowed(r))
	}

	// Output:
	// app.example.com true
	// evil.example false
}
