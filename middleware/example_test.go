package middleware_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/middleware"
	"github.com/seance-go/seance/phx"
)

func Example() {
	log := slog.Default()
	connects := middleware.NewRateLimiter(middleware.RateLimitOptions{Rate: 1, Burst: 5})
	joins := middleware.NewRateLimiter(middleware.RateLimitOptions{Rate: 1, Burst: 10})
	api := middleware.NewRateLimiter(middleware.RateLimitOptions{Rate: 5, Burst: 1})

	ep := phx.NewEndpoint(phx.Config{BeforeJoin: middleware.LimitJoins(joins)})
	ep.Handle("room:*", phx.HandlerFuncs{})
	socket := handler.New(ep, handler.Options{
		Connect: middleware.LimitConnect(connects, func(r *http.Request, info *phx.ConnectInfo) error {
			token, ok := middleware.AuthToken(r.Context())
			if !ok {
				return handler.ErrRefused
			}
			info.Identity = token
			return nil
		}),
	})

	r := chi.NewRouter()
	r.Use(middleware.Logger(log), middleware.ExtractAuthToken(middleware.AuthTokenOptions{}))
	r.Mount("/socket", socket)
	r.Group(func(r chi.Router) {
		r.Use(middleware.Recoverer(log), middleware.RateLimit(api))
		r.Get("/api/hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") })
	})

	for range 2 {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", "/api/hello", nil))
		fmt.Println(rec.Code)
	}
	// Output:
	// 200
	// 429
}
