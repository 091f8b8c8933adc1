package diff_test

import (
	"encoding/json"
	"fmt"

	"github.com/seance-go/seance/diff"
)

func Example() {
	var prev, next any
	_ = json.Unmarshal([]byte(`{"todos":[{"id":1,"done":false},{"id":2,"done":false}],"filter":"all"}`), &prev)
	_ = json.Unmarshal([]byte(`{"todos":[{"id":2,"done":true}],"filter":"a/b"}`), &next)

	patch, err := diff.Default().Diff(prev, next)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(patch))

	same, _ := diff.Default().Diff(next, next)
	fmt.Println(len(same))
	// Output:
	// [{"op":"replace","path":"/filter","value":"a/b"},{"op":"remove","path":"/todos/0"},{"op":"replace","path":"/todos/0/done","value":true}]
	// 0
}

// A server that sends the patch inside a message of its own appends it to
// the message's buffer instead of copying it there.
func ExampleBytesAppender() {
	prev := []byte(`{"count":1,"step":1}`)
	next := []byte(`{"count":2,"step":1}`)
	a, ok := diff.Default().(diff.BytesAppender)
	if !ok {
		return
	}
	msg := []byte(`{"patch":`)
	msg, err := a.AppendDiffBytes(msg, prev, next)
	if err != nil {
		panic(err)
	}
	msg = append(msg, `,"version":2}`...)
	fmt.Println(string(msg))
	// Output:
	// {"patch":[{"op":"replace","path":"/count","value":2}],"version":2}
}
