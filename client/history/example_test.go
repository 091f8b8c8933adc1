package history_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/seance-go/seance/client"
	chistory "github.com/seance-go/seance/client/history"
	"github.com/seance-go/seance/handler"
	"github.com/seance-go/seance/history"
	"github.com/seance-go/seance/phx"
)

func Example() {
	ctx := context.Background()
	ep := phx.NewEndpoint(phx.Config{})
	hist := history.New(history.Options{})
	ep.Handle("room:*", hist.Handler(phx.HandlerFuncs{}))
	srv := httptest.NewServer(handler.New(ep, handler.Options{}))
	defer srv.Close()
	defer ep.Shutdown(ctx)

	s, err := client.Dial(ctx, srv.URL+"/socket", nil)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	st := chistory.New(s, "room:lobby", nil)
	got := make(chan string, 1)
	st.Channel().On("msg", func(m client.Message) { got <- string(m.Payload) })
	if _, err := st.Channel().Join(ctx); err != nil {
		panic(err)
	}
	hist.Broadcast(ctx, "room:lobby", "msg", map[string]string{"text": "hi"})
	fmt.Println(<-got)
	pos, _ := st.Position()
	fmt.Println("offset", pos.Offset)
	// Output:
	// {"text":"hi"}
	// offset 1
}
