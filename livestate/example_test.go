package livestate_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// Counter is the synced state.
type Counter struct {
	Count int    `json:"count"`
	Label string `json:"label"`
}

// counterChannel serves one client; its fields (none here) would be
// server-only.
type counterChannel struct{}

func (counterChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (Counter, error) {
	return Counter{Label: "clicks on the big red button"}, nil
}

func (counterChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *Counter) error {
	switch event {
	case "increment":
		st.Count++
	default:
		return fmt.Errorf("unknown event %q", event)
	}
	return nil
}

// A counter channel mounted in a ServeMux, driven here by an in-process
// session playing the phx-live-state client.
func Example() {
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: quietLogger()}})
	reg.Handle("counter:*", livestate.New(func() livestate.Channel[Counter] { return counterChannel{} }, livestate.Options{}))

	mux := http.NewServeMux()
	mux.Handle("/socket/", livestate.Handler(reg))
	// A program would now run http.ListenAndServe(":4000", mux) and the
	// browser would connect with new LiveState({url: "ws://host:4000/socket", topic: "counter:1"}).

	sess, err := reg.Endpoint().Open(phx.ConnectInfo{Transport: "example"}, phx.V2JSON(), true)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, step := range []struct {
		in     string
		frames int
	}{
		{`["1","1","counter:1","phx_join",{}]`, 2},
		{`["1","2","counter:1","lvs_evt:increment",{}]`, 1},
		{`["1","3","counter:1","lvs_evt:increment",{}]`, 1},
		{`["1","4","counter:1","lvs_refresh",{}]`, 1},
	} {
		if err := sess.Receive([]byte(step.in), false); err != nil {
			panic(err)
		}
		for n := 0; n < step.frames; {
			frames, err := sess.Next(ctx)
			if err != nil {
				panic(err)
			}
			for _, f := range frames {
				fmt.Println(string(f.Data))
			}
			n += len(frames)
		}
	}
	sess.Detach()
	if err := reg.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// ["1","1","counter:1","phx_reply",{"status":"ok","response":{}}]
	// ["1",null,"counter:1","state:change",{"state":{"count":0,"label":"clicks on the big red button"},"version":0}]
	// ["1",null,"counter:1","state:patch",{"patch":[{"op":"replace","path":"/count","value":1}],"version":1}]
	// ["1",null,"counter:1","state:patch",{"patch":[{"op":"replace","path":"/count","value":2}],"version":2}]
	// ["1",null,"counter:1","state:change",{"state":{"count":2,"label":"clicks on the big red button"},"version":2}]
}
