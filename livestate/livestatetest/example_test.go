package livestatetest_test

import (
	"context"
	"fmt"

	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/livestate/livestatetest"
	"github.com/seance-go/seance/phx"
)

type counter struct {
	Title string `json:"title"`
	Count int    `json:"count"`
}

type counterChannel struct{}

func (counterChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (counter, error) {
	return counter{Title: "visitors since the doors opened"}, nil
}

func (counterChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, payload phx.Payload, st *counter) error {
	st.Count += 10
	return nil
}

// exampleTB stands in for the *testing.T a real test passes.
type exampleTB struct{ cleanups []func() }

func (*exampleTB) Helper()                           {}
func (*exampleTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (e *exampleTB) Cleanup(f func())                { e.cleanups = append(e.cleanups, f) }

func Example() {
	t := &exampleTB{} // in a test: the *testing.T
	defer func() {
		for _, f := range t.cleanups {
			f()
		}
	}()

	reg := livestate.NewRegistry(livestate.Config{})
	reg.Handle("counter:*", livestate.New(func() livestate.Channel[counter] { return counterChannel{} }, livestate.Options{}))

	c := livestatetest.Join(t, reg, "counter:1", livestatetest.Options{})
	c.AssertStateChange(`{"title":"visitors since the doors opened","count":0}`)
	c.SendEvent("increment", nil)
	c.AssertStatePatch(`[{"op":"replace","path":"/count","value":10}]`)
	var st counter
	c.StateInto(&st)
	fmt.Println(st.Count, c.Version())
	// Output: 10 1
}
