package livestate_test

import (
	"context"
	"fmt"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

// Poll is the state shared by everyone on a poll's topic.
type Poll struct {
	Question string         `json:"question"`
	Votes    map[string]int `json:"votes"`
}

// pollChannel is one value for all polls and all their clients.
type pollChannel struct{}

func (pollChannel) Init(ctx context.Context, topic string) (Poll, error) {
	return Poll{Question: "Tabs or spaces, for the topic " + topic + "?", Votes: map[string]int{}}, nil
}

func (pollChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, p *Poll) error {
	var v struct{ Choice string }
	if err := payload.Decode(&v); err != nil {
		return err
	}
	p.Votes[v.Choice]++
	return nil
}

// Two clients on one poll: a vote from one is diffed once and the same
// patch reaches both.
func ExampleNewShared() {
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: quietLogger()}})
	reg.Handle("poll:*", livestate.NewShared[Poll](pollChannel{}, livestate.Options{}))
	ctx := context.Background()

	var clients []*phx.Session
	for i := 0; i < 2; i++ {
		sess, err := reg.Endpoint().Open(phx.ConnectInfo{Transport: "example"}, phx.V2JSON(), true)
		if err != nil {
			panic(err)
		}
		if err := sess.Receive([]byte(`["1","1","poll:1","phx_join",{}]`), false); err != nil {
			panic(err)
		}
		clients = append(clients, sess)
	}
	next := func(sess *phx.Session) string {
		fs, err := sess.Next(ctx)
		if err != nil {
			panic(err)
		}
		return string(fs[0].Data)
	}
	for _, sess := range clients {
		for got := 0; got < 2; { // the join reply, the state
			fs, err := sess.Next(ctx)
			if err != nil {
				panic(err)
			}
			got += len(fs)
		}
	}
	if err := clients[0].Receive([]byte(`["1","2","poll:1","lvs_evt:vote",{"choice":"tabs"}]`), false); err != nil {
		panic(err)
	}
	fmt.Println(next(clients[0]))
	fmt.Println(next(clients[1]))

	for _, sess := range clients {
		sess.Detach()
	}
	if err := reg.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// [null,null,"poll:1","state:patch",{"patch":[{"op":"add","path":"/votes/tabs","value":1}],"version":1}]
	// [null,null,"poll:1","state:patch",{"patch":[{"op":"add","path":"/votes/tabs","value":1}],"version":1}]
}
