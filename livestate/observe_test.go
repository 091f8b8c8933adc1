package livestate_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/seance-go/seance/internal/sessiontest"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

func TestObserverSeesFullStatesAndPatches(t *testing.T) {
	var mu sync.Mutex
	var got []string
	obs := &phx.Observer{StateSent: func(pattern string, full bool, bytes int) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s full=%v nonempty=%v", pattern, full, bytes > 0))
	}}
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: quietLogger(), Observer: obs}})
	t.Cleanup(func() {
		if err := reg.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	reg.Handle("counter:*", livestate.New(func() livestate.Channel[Counter] { return counterChannel{} }, livestate.Options{}))
	c := open(t, reg)
	c.send(`["1","1","counter:7","phx_join",{}]`)
	c.next() // the join reply
	c.expectEvent("counter:7", "state:change")
	c.push("counter:7", "lvs_evt:increment", `{}`)
	c.expectEvent("counter:7", "state:patch")
	c.push("counter:7", "lvs_refresh", `{}`)
	c.expectEvent("counter:7", "state:change")

	mu.Lock()
	defer mu.Unlock()
	want := []string{"counter:* full=true nonempty=true", "counter:* full=false nonempty=true", "counter:* full=true nonempty=true"}
	if !slices.Equal(got, want) {
		t.Errorf("StateSent reports\n%q\nwant\n%q", got, want)
	}
}

func TestObserverSeesResumedState(t *testing.T) {
	var mu sync.Mutex
	var got []string
	obs := &phx.Observer{StateSent: func(pattern string, full bool, bytes int) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s full=%v nonempty=%v", pattern, full, bytes > 0))
	}}
	reg := livestate.NewRegistry(livestate.Config{Engine: phx.Config{Logger: quietLogger(), Observer: obs}})
	t.Cleanup(func() {
		if err := reg.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	h := livestate.New(func() livestate.Channel[Counter] { return counterChannel{} }, livestate.Options{})
	reg.Handle("counter:*", h)
	openAs := func() *client {
		info := phx.ConnectInfo{Transport: "test", Identity: "ann", Params: map[string]any{"vsn": "2.0.0", livestate.ClientIDParam: "tab1"}}
		return &client{Client: sessiontest.Open(t, reg.Endpoint(), info, phx.V2JSON(), true)}
	}
	c1 := openAs()
	c1.send(`["1","1","counter:7","phx_join",{}]`)
	c1.next() // the join reply
	c1.expectEvent("counter:7", "state:change")
	c1.Sess.Detach() // the connection drops: the channel is kept
	deadline := time.Now().Add(waitTimeout)
	for n, _ := livestate.KeptStats(h); n != 1; n, _ = livestate.KeptStats(h) {
		if time.Now().After(deadline) {
			t.Fatalf("%d channels kept, want 1", n)
		}
		time.Sleep(time.Millisecond)
	}
	c2 := openAs()
	c2.send(`["2","2","counter:7","phx_join",{}]`)
	c2.next()                                   // the join reply
	c2.expectEvent("counter:7", "state:change") // the kept state

	mu.Lock()
	defer mu.Unlock()
	want := []string{"counter:* full=true nonempty=true", "counter:* full=true nonempty=true"}
	if !slices.Equal(got, want) {
		t.Errorf("StateSent reports\n%q\nwant\n%q", got, want)
	}
}
