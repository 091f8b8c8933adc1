// Command quickstart is the README's Quickstart: a LiveState counter and a
// one-file page to try it, no JavaScript build needed.
//
//	go run ./examples/quickstart    # then open http://localhost:8080/
package main

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"os"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// Counter is the state every client of a counter:* topic sees.
type Counter struct {
	Count int `json:"count"`
}

// CounterChannel serves one client's join of a counter:* topic.
type CounterChannel struct{}

// Init starts at zero.
func (CounterChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (Counter, error) {
	return Counter{}, nil
}

// HandleEvent runs increment and reset.
func (CounterChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *Counter) error {
	switch event {
	case "increment":
		st.Count++
	case "reset":
		st.Count = 0
	}
	return nil
}

//go:embed index.html
var page []byte

func newHandler() http.Handler {
	reg := livestate.NewRegistry(livestate.Config{})
	reg.Handle("counter:*", livestate.New(func() livestate.Channel[Counter] { return CounterChannel{} }, livestate.Options{}))

	mux := http.NewServeMux()
	mux.Handle("/socket/", livestate.Handler(reg))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	return mux
}

func main() {
	addr := "localhost:8080"
	slog.Info("quickstart listening", "url", "http://"+addr+"/")
	if err := http.ListenAndServe(addr, newHandler()); err != nil {
		slog.Error("quickstart stopped", "error", err)
		os.Exit(1)
	}
}
