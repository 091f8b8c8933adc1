package diff

import (
	"encoding/json"
	"fmt"
	"testing"
)

// The five LiveState-shaped cases of the go-ecosystem notes §1.4, built in
// code. prev and next are decoded separately from JSON text, so they share
// no memory, as with a server that decodes every new state.
type benchCase struct {
	name       string
	prev, next any
	size       int // bytes of next's JSON encoding
}

func mustTree(v any) (any, int) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var t any
	if err := json.Unmarshal(b, &t); err != nil {
		panic(err)
	}
	return t, len(b)
}

func todoState() map[string]any {
	tags := [][2]string{{"work", "soon"}, {"home", "later"}, {"shop", "week"}}
	todos := make([]any, 1000)
	for i := range todos {
		tg := tags[i%len(tags)]
		todos[i] = map[string]any{
			"id":       i + 1,
			"title":    fmt.Sprintf("Todo %04d: the report", i+1),
			"done":     i%3 == 0,
			"tags":     []any{tg[0], tg[1]},
			"assignee": fmt.Sprintf("u%03d", i%37),
		}
	}
	return map[string]any{"todos": todos, "filter": "all"}
}

func nestedState() map[string]any {
	sections := make([]any, 42)
	for s := range sections {
		groups := make([]any, 10)
		for g := range groups {
			items := make([]any, 20)
			for i := range items {
				items[i] = map[string]any{
					"id":    fmt.Sprintf("s%02d-g%02d-i%02d", s, g, i),
					"label": fmt.Sprintf("Item %d of %d", i, g),
					"value": float64(s*1000+g*20+i) / 4,
					"meta": map[string]any{
						"owner": fmt.Sprintf("o%02d", (s+g+i)%50),
						"ts":    "2026-01-02",
						"flags": []any{"a", "b"},
					},
				}
			}
			groups[g] = map[string]any{"id": fmt.Sprintf("g%02d", g), "name": fmt.Sprintf("Group %d", g), "items": items}
		}
		sections[s] = map[string]any{"id": fmt.Sprintf("s%02d", s), "title": fmt.Sprintf("Section %d", s), "groups": groups}
	}
	return map[string]any{"sections": sections, "version": 3}
}

func benchCases() []benchCase {
	var cs []benchCase
	add := func(name string, build func() map[string]any, edit func(map[string]any)) {
		prev, _ := mustTree(build())
		n := build()
		edit(n)
		next, size := mustTree(n)
		cs = append(cs, benchCase{name, prev, next, size})
	}
	add("a_flip", todoState, func(m map[string]any) {
		t := m["todos"].([]any)[500].(map[string]any)
		t["done"] = !t["done"].(bool)
	})
	add("b_append", todoState, func(m map[string]any) {
		m["todos"] = append(m["todos"].([]any), map[string]any{
			"id": 1001, "title": "Todo 1001: the report", "done": false,
			"tags": []any{"work", "soon"}, "assignee": "u001"})
	})
	add("c_remove0", todoState, func(m map[string]any) {
		m["todos"] = m["todos"].([]any)[1:]
	})
	flat := func() map[string]any {
		m := map[string]any{}
		for i := 0; i < 100; i++ {
			m[fmt.Sprintf("key-%03d", i)] = fmt.Sprintf("value-%03d", i)
		}
		return m
	}
	add("d_flat100", flat, func(m map[string]any) { m["key-042"] = "changed" })
	add("e_nested1MB", nestedState, func(m map[string]any) {
		it := m["sections"].([]any)[21].(map[string]any)["groups"].([]any)[5].(map[string]any)["items"].([]any)[10].(map[string]any)
		it["meta"].(map[string]any)["owner"] = "someone-else"
	})
	return cs
}

// TestBenchmarkCases checks every differ's patch on the benchmark states.
func TestBenchmarkCases(t *testing.T) {
	for _, c := range benchCases() {
		for _, dd := range differs {
			patch, err := dd.d.Diff(c.prev, c.next)
			if err != nil {
				t.Fatal(err)
			}
			if err := checkPatch(c.prev, c.next, patch); err != nil {
				t.Errorf("%s/%s: %v", c.name, dd.name, err)
			}
			t.Logf("%-12s %-9s state %7d B, patch %7d B", c.name, dd.name, c.size, len(patch))
		}
	}
}

func BenchmarkDiff(b *testing.B) {
	for _, c := range benchCases() {
		for _, dd := range differs {
			b.Run(c.name+"/"+dd.name, func(b *testing.B) {
				b.ReportAllocs()
				var patch []byte
				for b.Loop() {
					var err error
					patch, err = dd.d.Diff(c.prev, c.next)
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(patch)), "patch-B")
			})
		}
	}
}
