package phx_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/seance-go/seance/phx"
)

// endHandler registers an OnEnd hook in every Join, reporting the reason
// on ended; "end:refuse" refuses the join after registering it, "crash"
// panics.
type endHandler struct {
	ended chan error
	chans chan *phx.Channel
}

func (h endHandler) Join(_ context.Context, ch *phx.Channel, _ phx.Payload) (any, error) {
	if !ch.OnEnd(func(reason error) { h.ended <- reason }) {
		return nil, errors.New("OnEnd refused on a live channel")
	}
	h.chans <- ch
	if ch.Topic() == "end:refuse" {
		return nil, errors.New("no")
	}
	return nil, nil
}

func (h endHandler) HandleIn(context.Context, *phx.Channel, *phx.Message) (*phx.Reply, error) {
	panic("crash requested")
}

func TestOnEndRunsForEveryEnd(t *testing.T) {
	ep, _ := newEndpoint(t, phx.Config{})
	h := endHandler{ended: make(chan error, 1), chans: make(chan *phx.Channel, 1)}
	ep.Handle("end:*", h)
	expect := func(want error) *phx.Channel {
		t.Helper()
		select {
		case got := <-h.ended:
			if !errors.Is(got, want) {
				t.Fatalf("OnEnd reason %v, want %v", got, want)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("OnEnd did not run (want %v)", want)
		}
		return <-h.chans
	}
	c := open(t, ep)

	c.send(`["1","1","end:refuse","phx_join",{}]`)
	c.nextFrame()
	expect(phx.ErrJoinRefused)

	c.send(`["2","2","end:a","phx_join",{}]`)
	c.nextFrame()
	c.send(`["2","3","end:a","phx_leave",{}]`)
	ch := expect(phx.ErrLeft)
	if ch.OnEnd(func(error) { t.Error("a hook registered after the end ran") }) {
		t.Fatal("OnEnd accepted a hook on an ended channel")
	}

	c.send(`["4","4","end:b","phx_join",{}]`)
	c.nextFrame()
	c.send(`["4","5","end:b","boom",{}]`)
	expect(phx.ErrCrashed)

	c.send(`["6","6","end:c","phx_join",{}]`)
	c.nextFrame()
	c.Sess.Close(phx.ErrSlowConsumer)
	expect(phx.ErrSlowConsumer)
}
