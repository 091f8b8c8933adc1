package inspector_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/seance-go/seance/inspector"
	"github.com/seance-go/seance/phx"
)

// Mount the inspector behind your own authorization.
func Example() {
	in := inspector.New(inspector.Options{
		Authorize: func(r *http.Request) error {
			if r.Header.Get("X-Admin-Key") != "let-me-in" { // your session check in real life
				return errors.New("not an operator")
			}
			return nil
		},
		Engine: phx.Config{Logger: quietLogger()},
	})
	defer in.Shutdown(context.Background())
	ep := phx.NewEndpoint(phx.Config{Observer: in.Observer(), Logger: quietLogger()})
	defer ep.Shutdown(context.Background())
	in.Watch(ep)

	mux := http.NewServeMux()
	mux.Handle("/seance/inspector/", http.StripPrefix("/seance/inspector", in))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, key := range []string{"", "let-me-in"} {
		req, _ := http.NewRequest("GET", srv.URL+"/seance/inspector/figures.json", nil)
		req.Header.Set("X-Admin-Key", key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 403
	// 200
}
