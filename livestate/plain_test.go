package livestate_test

import (
	"context"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/seance-go/seance/internal/structjson"
	"github.com/seance-go/seance/livestate"
	"github.com/seance-go/seance/phx"
)

type address struct {
	City string `json:"city"`
	Zip  string `json:"zip,omitempty"`
}

// form is a plain struct state: it is diffed field by field against its
// last synced copy, without encoding/json.
type form struct {
	Name   string  `json:"name"`
	Age    int     `json:"age,omitempty"`
	Score  float64 `json:"score"`
	Addr   address `json:"addr"`
	Secret string  `json:"-"`
	edits  int
}

type formChannel struct{}

func (formChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (form, error) {
	return form{Name: "ann", Addr: address{City: "Oslo"}}, nil
}

func (formChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *form) error {
	st.edits++
	switch event {
	case "rename":
		st.Name = "bob <&>"
	case "age":
		st.Age++
	case "unage":
		st.Age = 0
	case "move":
		st.Addr = address{City: "Bergen", Zip: "5003"}
	case "nan":
		st.Score = math.NaN()
	case "score":
		st.Score = 1e-7
	case "noop":
	case "boom":
		st.Name, st.Secret = "half-made", "leaked"
		panic("boom")
	case "peek":
		s.Reply(map[string]any{"secret": st.Secret, "edits": st.edits, "name": st.Name})
	}
	return nil
}

// TestPlainStructState: a plain struct state's updates are the text
// differ's patches (one operation per changed field, omitempty fields
// added and removed), a state that cannot be encoded gets the usual error,
// and a panic restores the state exactly, fields that are not synced
// included.
func TestPlainStructState(t *testing.T) {
	reg := newRegistry(t)
	reg.Handle("form:*", livestate.New(func() livestate.Channel[form] { return formChannel{} }, livestate.Options{}))
	c := open(t, reg)
	c.send(`["1","1","form:1","phx_join",{}]`)
	c.expect(`["1","1","form:1","phx_reply",{"status":"ok","response":{}}]`)
	c.expect(`["1",null,"form:1","state:change",{"state":{"name":"ann","score":0,"addr":{"city":"Oslo"}},"version":0}]`)
	steps := []struct{ event, patch string }{
		{"rename", `[{"op":"replace","path":"/name","value":"bob \u003c\u0026\u003e"}]`},
		{"age", `[{"op":"add","path":"/age","value":1}]`},
		{"age", `[{"op":"replace","path":"/age","value":2}]`},
		{"move", `[{"op":"replace","path":"/addr/city","value":"Bergen"},{"op":"add","path":"/addr/zip","value":"5003"}]`},
		{"score", `[{"op":"replace","path":"/score","value":1e-7}]`},
		{"unage", `[{"op":"remove","path":"/age"}]`},
		{"noop", `[]`},
	}
	for i, st := range steps {
		c.push("form:1", "lvs_evt:"+st.event, `{}`)
		c.expect(`["1",null,"form:1","state:patch",{"patch":` + st.patch + `,"version":` + strconv.Itoa(i+1) + `}]`)
	}
	// The JSON is not kept between events: a refresh encodes the state.
	c.push("form:1", "lvs_refresh", `{}`)
	c.expect(`["1",null,"form:1","state:change",{"state":{"name":"bob \u003c\u0026\u003e","score":1e-7,"addr":{"city":"Bergen","zip":"5003"}},"version":7}]`)
	// NaN cannot be encoded: an error, no update, the version kept.
	c.push("form:1", "lvs_evt:nan", `{}`)
	if p := c.expectEvent("form:1", "error"); p["message"] == nil {
		t.Errorf("error push %v", p)
	}
	c.push("form:1", "lvs_evt:rename", `{}`) // NaN still there
	c.expectEvent("form:1", "error")
	c.expectNothing()
}

// TestPlainStructSharedRollback: a shared topic's plain struct state is
// restored exactly after a panic, its unsynced fields included.
func TestPlainStructSharedRollback(t *testing.T) {
	reg := newRegistry(t)
	reg.Handle("form:*", livestate.NewShared[form](sharedForm{}, livestate.Options{}))
	join := func() *client {
		c := open(t, reg)
		c.send(`["1","1","form:1","phx_join",{}]`)
		c.expect(`["1","1","form:1","phx_reply",{"status":"ok","response":{}}]`)
		c.expectEvent("form:1", "state:change")
		return c
	}
	other := join()
	// peek answers with the server's state, fields not synced included.
	peek := func(edits float64) {
		t.Helper()
		ref := other.push("form:1", "lvs_evt:peek", `{}`)
		f := other.next()
		for f.Event != "phx_reply" {
			f = other.next()
		}
		want := map[string]any{"status": "ok", "response": map[string]any{"secret": "", "edits": edits, "name": "ann"}}
		if d := cmp.Diff(want, f.Payload); d != "" || f.Ref != any(ref) {
			t.Errorf("state after a rollback, ref %v (-want +got)\n%s", f.Ref, d)
		}
	}

	other.push("form:1", "lvs_evt:age", `{}`)
	join().push("form:1", "lvs_evt:boom", `{}`) // crashes that client's channel
	peek(2)
	// A callback that changes only fields that are not synced (peek's
	// edits) is what the next rollback restores.
	join().push("form:1", "lvs_evt:boom", `{}`)
	peek(3)
	// The next update goes on from the restored state.
	other.push("form:1", "lvs_evt:age", `{}`)
	for {
		f := other.next()
		if f.Event == "state:patch" && f.Payload.(map[string]any)["version"] == 4.0 { // age, two peeks' empty patches, age
			want := []any{map[string]any{"op": "replace", "path": "/age", "value": 2.0}}
			if d := cmp.Diff(want, f.Payload.(map[string]any)["patch"]); d != "" {
				t.Errorf("patch after the rollbacks (-want +got)\n%s", d)
			}
			break
		}
	}
}

type sharedForm struct{}

func (sharedForm) Init(ctx context.Context, topic string) (form, error) {
	return form{Name: "ann", Addr: address{City: "Oslo"}}, nil
}

func (sharedForm) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *form) error {
	return formChannel{}.HandleEvent(ctx, s, event, p, st)
}

type task struct {
	Text string `json:"text"`
	Done bool   `json:"done,omitempty"`
}

// taskBoard is a plain struct state with slices: of scalars, of plain
// structs.
type taskBoard struct {
	Tags   []string  `json:"tags"`
	Series []float64 `json:"series,omitempty"`
	Tasks  []task    `json:"tasks"`
}

type taskBoardChannel struct{}

func (taskBoardChannel) Init(ctx context.Context, topic string) (taskBoard, error) {
	return taskBoard{Tasks: []task{{Text: "a"}, {Text: "b"}}}, nil
}

func (taskBoardChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *taskBoard) error {
	switch event {
	case "tag":
		st.Tags = append(st.Tags, "x")
	case "done": // in place: the synced copy must not see it
		st.Tasks[0].Done = true
	case "add":
		st.Tasks = append(st.Tasks, task{Text: "c"})
	case "drop":
		st.Tasks = st.Tasks[:1]
	case "point":
		st.Series = append(st.Series, 0.5)
	case "unpoint":
		st.Series = st.Series[:0]
	case "rename": // in place
		st.Tasks[0].Text = "z"
	case "boom": // in place, then a panic: the rollback undoes it
		st.Tasks[0].Text, st.Tags[0] = "half-made", "y"
		panic("boom")
	}
	return nil
}

// TestPlainStructSlices: slices in a plain struct state are diffed element
// by element against the last synced copy, which keeps arrays of its own:
// changes made in place, appends and truncations are all patched as the
// text differ patches them, and a panic after changes made in place
// restores the state as last synced (a shared topic, whose state outlives
// the crashed channel).
func TestPlainStructSlices(t *testing.T) {
	if structjson.For(reflect.TypeFor[taskBoard]()) == nil {
		t.Fatal("taskBoard takes the general path")
	}
	reg := newRegistry(t)
	reg.Handle("tasks:*", livestate.NewShared[taskBoard](taskBoardChannel{}, livestate.Options{}))
	c := open(t, reg)
	c.send(`["1","1","tasks:1","phx_join",{}]`)
	c.expect(`["1","1","tasks:1","phx_reply",{"status":"ok","response":{}}]`)
	c.expect(`[null,null,"tasks:1","state:change",{"state":{"tags":null,"tasks":[{"text":"a"},{"text":"b"}]},"version":0}]`)
	steps := []struct{ event, patch string }{
		{"tag", `[{"op":"replace","path":"/tags","value":["x"]}]`},
		{"tag", `[{"op":"add","path":"/tags/-","value":"x"}]`},
		{"done", `[{"op":"add","path":"/tasks/0/done","value":true}]`},
		{"done", `[]`},
		{"add", `[{"op":"add","path":"/tasks/-","value":{"text":"c"}}]`},
		{"drop", `[{"op":"remove","path":"/tasks/2"},{"op":"remove","path":"/tasks/1"}]`},
		{"point", `[{"op":"add","path":"/series","value":[0.5]}]`},
		{"unpoint", `[{"op":"remove","path":"/series"}]`},
	}
	for i, st := range steps {
		c.push("tasks:1", "lvs_evt:"+st.event, `{}`)
		c.expect(`[null,null,"tasks:1","state:patch",{"patch":` + st.patch + `,"version":` + strconv.Itoa(i+1) + `}]`)
	}
	crash := open(t, reg)
	crash.send(`["1","1","tasks:1","phx_join",{}]`)
	crash.expect(`["1","1","tasks:1","phx_reply",{"status":"ok","response":{}}]`)
	crash.expectEvent("tasks:1", "state:change")
	crash.push("tasks:1", "lvs_evt:boom", `{}`)
	crash.expect(`["1","1","tasks:1","phx_error",{"reason":"channel_crash"}]`)
	// The next patch starts from the state as last synced (nothing of what
	// boom changed in place), and the restored state shares no array with
	// the synced copy: a change in place is seen.
	c.push("tasks:1", "lvs_evt:rename", `{}`)
	c.expect(`[null,null,"tasks:1","state:patch",{"patch":[{"op":"replace","path":"/tasks/0/text","value":"z"}],"version":9}]`)
	c.push("tasks:1", "lvs_evt:tag", `{}`)
	c.expect(`[null,null,"tasks:1","state:patch",{"patch":[{"op":"add","path":"/tags/-","value":"x"}],"version":10}]`)
	c.push("tasks:1", "lvs_refresh", `{}`)
	c.expect(`[null,null,"tasks:1","state:change",{"state":{"tags":["x","x","x"],"tasks":[{"text":"z","done":true}]},"version":10}]`)
	c.expectNothing()
}

type todoItem struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

// todoList is the shape of the chi-todo example's state: items with ids.
type todoList struct {
	Todos []todoItem `json:"todos"`
}

type todoListChannel struct{}

func (todoListChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (todoList, error) {
	return todoList{Todos: []todoItem{{ID: "a", Title: "one"}, {ID: "b", Title: "two"}, {ID: "c", Title: "three"}}}, nil
}

func (todoListChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *todoList) error {
	switch event {
	case "drop-first":
		st.Todos = st.Todos[1:]
	case "insert-first":
		st.Todos = append([]todoItem{{ID: "z", Title: "new"}}, st.Todos...)
	case "toggle-last":
		st.Todos[len(st.Todos)-1].Done = true
	}
	return nil
}

// TestPlainStructKeyedSlices: items with ids are paired by id, as the text
// differ pairs them: removing or inserting the first item is one operation,
// not a rewrite of every item after it.
func TestPlainStructKeyedSlices(t *testing.T) {
	if structjson.For(reflect.TypeFor[todoList]()) == nil {
		t.Fatal("todoList takes the general path")
	}
	reg := newRegistry(t)
	reg.Handle("todo:*", livestate.New(func() livestate.Channel[todoList] { return todoListChannel{} }, livestate.Options{}))
	c := open(t, reg)
	c.send(`["1","1","todo:1","phx_join",{}]`)
	c.expect(`["1","1","todo:1","phx_reply",{"status":"ok","response":{}}]`)
	c.expectEvent("todo:1", "state:change")
	steps := []struct{ event, patch string }{
		{"drop-first", `[{"op":"remove","path":"/todos/0"}]`},
		{"insert-first", `[{"op":"add","path":"/todos/0","value":{"id":"z","title":"new","done":false}}]`},
		{"toggle-last", `[{"op":"replace","path":"/todos/2/done","value":true}]`},
	}
	for i, st := range steps {
		c.push("todo:1", "lvs_evt:"+st.event, `{}`)
		c.expect(`["1",null,"todo:1","state:patch",{"patch":` + st.patch + `,"version":` + strconv.Itoa(i+1) + `}]`)
	}
}

// votes is a plain struct state with maps.
type votes struct {
	Counts map[string]int    `json:"counts"`
	Voters map[string]string `json:"voters,omitempty"`
	Closed bool              `json:"closed"`
}

type votesChannel struct{}

func (votesChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (votes, error) {
	return votes{Counts: map[string]int{"go": 1}}, nil
}

func (votesChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *votes) error {
	switch event {
	case "go": // in place: the synced copy must not see it
		st.Counts["go"]++
	case "rust":
		st.Counts["rust"]++
	case "voter":
		st.Voters = map[string]string{"ann": "go"}
	case "odd": // a key JSON writes with an escape: the encodings are diffed
		st.Counts["<odd>"] = 1
	case "drop":
		delete(st.Counts, "go")
	}
	return nil
}

// TestPlainStructMaps: maps in a plain struct state are diffed key by key,
// as the text differ diffs their sorted members, against a copy of their
// own (a change made in place is seen); a key written with escapes falls
// back to diffing the two encodings, with the same patch.
func TestPlainStructMaps(t *testing.T) {
	if structjson.For(reflect.TypeFor[votes]()) == nil {
		t.Fatal("votes takes the general path")
	}
	reg := newRegistry(t)
	reg.Handle("votes:*", livestate.New(func() livestate.Channel[votes] { return votesChannel{} }, livestate.Options{}))
	c := open(t, reg)
	c.send(`["1","1","votes:1","phx_join",{}]`)
	c.expect(`["1","1","votes:1","phx_reply",{"status":"ok","response":{}}]`)
	c.expect(`["1",null,"votes:1","state:change",{"state":{"counts":{"go":1},"closed":false},"version":0}]`)
	steps := []struct{ event, patch string }{
		{"go", `[{"op":"replace","path":"/counts/go","value":2}]`},
		{"rust", `[{"op":"add","path":"/counts/rust","value":1}]`},
		{"voter", `[{"op":"add","path":"/voters","value":{"ann":"go"}}]`},
		{"odd", `[{"op":"add","path":"/counts/\u003codd\u003e","value":1}]`},
		{"drop", `[{"op":"remove","path":"/counts/go"}]`},
	}
	for i, st := range steps {
		c.push("votes:1", "lvs_evt:"+st.event, `{}`)
		c.expect(`["1",null,"votes:1","state:patch",{"patch":` + st.patch + `,"version":` + strconv.Itoa(i+1) + `}]`)
	}
}

// catalog is a plain struct state whose list items hold a slice and a map.
type catalog struct {
	Items []catItem `json:"items"`
}

type catItem struct {
	ID    string         `json:"id"`
	Tags  []string       `json:"tags"`
	Stock map[string]int `json:"stock"`
}

type catalogChannel struct{}

func (catalogChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (catalog, error) {
	return catalog{Items: []catItem{
		{ID: "a", Tags: make([]string, 1, 4), Stock: map[string]int{"x": 1}},
		{ID: "b", Tags: []string{"new"}, Stock: map[string]int{}},
	}}, nil
}

func (catalogChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *catalog) error {
	switch event {
	case "tag": // into the spare capacity of the item's array
		st.Items[0].Tags = append(st.Items[0].Tags, "sale")
	case "retag": // in place
		st.Items[0].Tags[1] = "gone"
	case "stock": // in place
		st.Items[1].Stock["y"]++
		st.Items[0].Stock["x"]--
	case "insert":
		st.Items = slices.Insert(st.Items, 1, catItem{ID: "c", Tags: []string{}})
	}
	return nil
}

// TestPlainStructNestedSlices: list items holding slices and maps are on
// the plain struct path; the synced copy owns its items' arrays and maps,
// so changes made in place, even into an array's spare capacity, are seen.
func TestPlainStructNestedSlices(t *testing.T) {
	if structjson.For(reflect.TypeFor[catalog]()) == nil {
		t.Fatal("catalog takes the general path")
	}
	reg := newRegistry(t)
	reg.Handle("cat:*", livestate.New(func() livestate.Channel[catalog] { return catalogChannel{} }, livestate.Options{}))
	c := open(t, reg)
	c.send(`["1","1","cat:1","phx_join",{}]`)
	c.expect(`["1","1","cat:1","phx_reply",{"status":"ok","response":{}}]`)
	c.expect(`["1",null,"cat:1","state:change",{"state":{"items":[{"id":"a","tags":[""],"stock":{"x":1}},{"id":"b","tags":["new"],"stock":{}}]},"version":0}]`)
	steps := []struct{ event, patch string }{
		{"tag", `[{"op":"add","path":"/items/0/tags/-","value":"sale"}]`},
		{"retag", `[{"op":"replace","path":"/items/0/tags/1","value":"gone"}]`},
		{"stock", `[{"op":"replace","path":"/items/0/stock/x","value":0},{"op":"add","path":"/items/1/stock/y","value":1}]`},
		{"insert", `[{"op":"add","path":"/items/1","value":{"id":"c","tags":[],"stock":null}}]`},
	}
	for i, st := range steps {
		c.push("cat:1", "lvs_evt:"+st.event, `{}`)
		c.expect(`["1",null,"cat:1","state:patch",{"patch":` + st.patch + `,"version":` + strconv.Itoa(i+1) + `}]`)
	}
}

// lobby is a plain struct state with a map of structs.
type lobby struct {
	Players map[string]player `json:"players"`
}

type player struct {
	Name  string   `json:"name"`
	Cards []string `json:"cards"`
	Ready bool     `json:"ready,omitempty"`
}

type lobbyChannel struct{}

func (lobbyChannel) Init(ctx context.Context, s *livestate.Socket, params phx.Payload) (lobby, error) {
	return lobby{Players: map[string]player{"ann": {Name: "Ann", Cards: make([]string, 1, 4)}}}, nil
}

func (lobbyChannel) HandleEvent(ctx context.Context, s *livestate.Socket, event string, p phx.Payload, st *lobby) error {
	switch event {
	case "ready":
		a := st.Players["ann"]
		a.Ready = true
		st.Players["ann"] = a
	case "card": // in place, into the spare capacity of the array
		a := st.Players["ann"]
		a.Cards = append(a.Cards, "ace")
		st.Players["ann"] = a
		a.Cards[0] = "king"
	case "join":
		st.Players["bob"] = player{Name: "Bob"}
	}
	return nil
}

// TestPlainStructMapOfStructs: a map of structs is diffed key by key, into
// the members of changed values, against a copy that owns the values'
// arrays; a change made in place is seen.
func TestPlainStructMapOfStructs(t *testing.T) {
	if structjson.For(reflect.TypeFor[lobby]()) == nil {
		t.Fatal("lobby takes the general path")
	}
	reg := newRegistry(t)
	reg.Handle("lobby:*", livestate.New(func() livestate.Channel[lobby] { return lobbyChannel{} }, livestate.Options{}))
	c := open(t, reg)
	c.send(`["1","1","lobby:1","phx_join",{}]`)
	c.expect(`["1","1","lobby:1","phx_reply",{"status":"ok","response":{}}]`)
	c.expect(`["1",null,"lobby:1","state:change",{"state":{"players":{"ann":{"name":"Ann","cards":[""]}}},"version":0}]`)
	steps := []struct{ event, patch string }{
		{"ready", `[{"op":"add","path":"/players/ann/ready","value":true}]`},
		{"card", `[{"op":"replace","path":"/players/ann/cards/0","value":"king"},{"op":"add","path":"/players/ann/cards/-","value":"ace"}]`},
		{"join", `[{"op":"add","path":"/players/bob","value":{"name":"Bob","cards":null}}]`},
	}
	for i, st := range steps {
		c.push("lobby:1", "lvs_evt:"+st.event, `{}`)
		c.expect(`["1",null,"lobby:1","state:patch",{"patch":` + st.patch + `,"version":` + strconv.Itoa(i+1) + `}]`)
	}
}
