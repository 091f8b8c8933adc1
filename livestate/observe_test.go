package livestate_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

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
