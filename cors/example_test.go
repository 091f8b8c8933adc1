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
