package structjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/seance-go/seance/diff"
	"github.com/seance-go/seance/internal/structjson"
)

type inner struct {
	X   int     `json:"x"`
	Y   string  `json:"y,omitempty"`
	F32 float32 `json:"f32"`
}

type plain struct {
	B      bool    `json:"b"`
	BO     bool    `json:"bo,omitempty"`
	I      int     `json:"i"`
	I8     int8    `json:"i8,omitempty"`
	I16    int16   `json:"i16"`
	I32    int32   `json:"i32"`
	I64    int64   `json:"i64,omitempty"`
	U      uint    `json:"u"`
	U8     uint8   `json:"u8"`
	U16    uint16  `json:"u16,omitempty"`
	U32    uint32  `json:"u32"`
	U64    uint64  `json:"u64"`
	F      float64 `json:"f"`
	FO     float64 `json:"fo,omitempty"`
	S      string  `json:"s"`
	SO     string  `json:"so,omitempty"`
	NoTag  int
	Slash  int    `json:"a/b~c"`
	Dash   string `json:"-,"`
	Hidden string `json:"-"`
	In     inner  `json:"in"`
	InO    inner  `json:"ino,omitempty"` // omitempty does nothing to structs
	hidden int
}

// random fills v with values likely to collide with the previous ones and
// to hit the encoders' corners (escapes, HTML, invalid UTF-8, -0, tiny and
// huge floats).
func random(r *rand.Rand, v *plain) {
	strs := []string{"", "a", "<b>&", "é\u2028\u2029", "\x00\x1f\"\\", "\xff\xfe", "plain text"}
	floats := []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-7, 1e21, 1e20, 123456789.125, 5e-324, math.MaxFloat64, 0.1}
	pick := func() bool { return r.IntN(3) == 0 }
	if pick() {
		v.B = r.IntN(2) == 0
	}
	if pick() {
		v.BO = r.IntN(2) == 0
	}
	if pick() {
		v.I = r.IntN(5) - 2
	}
	if pick() {
		v.I8 = int8(r.IntN(256) - 128)
	}
	if pick() {
		v.I16 = int16(r.IntN(3))
	}
	if pick() {
		v.I32 = int32(r.Uint32())
	}
	if pick() {
		v.I64 = []int64{0, math.MinInt64, math.MaxInt64, 7}[r.IntN(4)]
	}
	if pick() {
		v.U = uint(r.IntN(3))
	}
	if pick() {
		v.U8 = uint8(r.IntN(256))
	}
	if pick() {
		v.U16 = uint16(r.IntN(2))
	}
	if pick() {
		v.U32 = r.Uint32()
	}
	if pick() {
		v.U64 = []uint64{0, math.MaxUint64}[r.IntN(2)]
	}
	if pick() {
		v.F = floats[r.IntN(len(floats))]
	}
	if pick() {
		v.FO = floats[r.IntN(len(floats))]
	}
	if pick() {
		v.S = strs[r.IntN(len(strs))]
	}
	if pick() {
		v.SO = strs[r.IntN(len(strs))]
	}
	if pick() {
		v.NoTag = r.IntN(2)
	}
	if pick() {
		v.Slash = r.IntN(2)
	}
	if pick() {
		v.Dash = strs[r.IntN(len(strs))]
	}
	if pick() {
		v.Hidden = strs[r.IntN(len(strs))]
	}
	if pick() {
		v.In.X = r.IntN(2)
	}
	if pick() {
		v.In.Y = strs[r.IntN(len(strs))]
	}
	if pick() {
		v.In.F32 = float32(floats[r.IntN(len(floats))])
		if math.IsInf(float64(v.In.F32), 0) {
			v.In.F32 = math.MaxFloat32
		}
	}
	if pick() {
		v.InO.Y = strs[r.IntN(len(strs))]
	}
	if pick() {
		v.hidden = r.IntN(9)
	}
}

func encodingJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// TestEncodeAsEncodingJSON: AppendJSON writes what encoding/json's Encoder
// writes, for values over every kind and corner.
func TestEncodeAsEncodingJSON(t *testing.T) {
	p := structjson.For(reflect.TypeFor[plain]())
	if p == nil {
		t.Fatal("plain is not plain")
	}
	r := rand.New(rand.NewPCG(1, 2))
	var v plain
	for range 5000 {
		random(r, &v)
		got, err := p.AppendJSON(nil, unsafe.Pointer(&v))
		if err != nil {
			t.Fatal(err)
		}
		if want := encodingJSON(t, &v); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON\n got %s\nwant %s", got, want)
		}
	}
}

// TestDiffAsTextDiffer: AppendDiff writes the patch diff.Default computes
// between the two encodings, operation for operation.
func TestDiffAsTextDiffer(t *testing.T) {
	p := structjson.For(reflect.TypeFor[plain]())
	text := diff.Default().(diff.BytesDiffer)
	r := rand.New(rand.NewPCG(3, 4))
	var old plain
	changed := 0
	for range 5000 {
		cur := old
		random(r, &cur)
		got, err := p.AppendDiff([]byte("head"), unsafe.Pointer(&old), unsafe.Pointer(&cur))
		if err != nil {
			t.Fatal(err)
		}
		got = got[len("head"):]
		want, err := text.DiffBytes(encodingJSON(t, &old), encodingJSON(t, &cur))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("from %s\n  to %s\n got %s\nwant %s", encodingJSON(t, &old), encodingJSON(t, &cur), got, want)
		}
		if len(got) > 0 {
			changed++
		}
		old = cur
	}
	if changed < 1000 {
		t.Fatalf("only %d of 5000 steps changed the encoding", changed)
	}
}

func TestUnsupportedFloat(t *testing.T) {
	p := structjson.For(reflect.TypeFor[plain]())
	var old plain
	cur := plain{F: math.NaN()}
	if _, err := p.AppendJSON(nil, unsafe.Pointer(&cur)); err == nil {
		t.Error("AppendJSON encoded NaN")
	}
	cur.F = math.Inf(1)
	if _, err := p.AppendDiff(nil, unsafe.Pointer(&old), unsafe.Pointer(&cur)); err == nil {
		t.Error("AppendDiff encoded +Inf")
	}
}

type marshals int

func (marshals) MarshalJSON() ([]byte, error) { return []byte(`1`), nil }

type textMarshals struct{ A int }

func (*textMarshals) MarshalText() ([]byte, error) { return []byte(`x`), nil }

type embedded struct{ inner }

// TestNotPlain: types encoding/json treats in ways the plans do not model
// get no plan (their states go through encoding/json and the text diff).
func TestNotPlain(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[int](),
		reflect.TypeFor[*plain](),
		reflect.TypeFor[struct{ A []byte }](), // base64 in encoding/json
		reflect.TypeFor[struct{ A []uint8 }](),
		reflect.TypeFor[struct{ A [][]int }](),
		reflect.TypeFor[struct{ A []*int }](),
		reflect.TypeFor[struct{ A []any }](),
		reflect.TypeFor[struct{ A []marshals }](),
		reflect.TypeFor[struct { // a keyed list within list elements
			A []struct {
				B []struct {
					ID int `json:"id"`
				}
			}
		}](),
		reflect.TypeFor[struct {
			A []struct {
				B struct {
					C []struct {
						ID string `json:"id"`
					}
				}
			}
		}](),
		reflect.TypeFor[struct{ A map[int]int }](), // keys written as strings, sorted as such
		reflect.TypeFor[struct{ A map[string][]int }](),
		reflect.TypeFor[struct{ A map[string]*int }](),
		reflect.TypeFor[struct{ A map[string]map[string]int }](),
		reflect.TypeFor[struct{ A map[string]marshals }](),
		reflect.TypeFor[struct{ A map[marshals]int }](),
		reflect.TypeFor[struct{ A map[string]textMarshals }](),
		reflect.TypeFor[struct {
			A map[string]struct{ B []idItem }
		}](), // a keyed list in a value
		reflect.TypeFor[struct{ A map[string]*inner }](),
		reflect.TypeFor[struct{ A []map[string]int }](),
		reflect.TypeFor[struct{ A *int }](),
		reflect.TypeFor[struct{ A any }](),
		reflect.TypeFor[struct{ A [2]int }](),
		reflect.TypeFor[struct{ A time.Time }](),
		reflect.TypeFor[struct{ A marshals }](),
		reflect.TypeFor[struct{ A textMarshals }](),
		reflect.TypeFor[embedded](),
		reflect.TypeFor[struct {
			A int `json:"a,string"`
		}](),
		reflect.TypeFor[struct {
			A int `json:"a,omitzero"`
		}](),
		reflect.StructOf([]reflect.StructField{ // two fields named "a"
			{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"a"`},
			{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"a"`},
		}),
		reflect.TypeFor[struct {
			A int `json:"a\"b"`
		}](),
	} {
		if structjson.For(typ) != nil {
			t.Errorf("%v has a plan", typ)
		}
	}
}

func BenchmarkEncodeAndTextDiff(b *testing.B) {
	text := diff.Default().(diff.BytesAppender)
	old, cur := plain{I: 1, S: "name"}, plain{I: 2, S: "name"}
	var ob, cb, dst bytes.Buffer
	for b.Loop() {
		ob.Reset()
		cb.Reset()
		json.NewEncoder(&ob).Encode(&old)
		json.NewEncoder(&cb).Encode(&cur)
		d, _ := text.AppendDiffBytes(dst.AvailableBuffer(), ob.Bytes(), cb.Bytes())
		_ = d
	}
}

func BenchmarkAppendDiff(b *testing.B) {
	p := structjson.For(reflect.TypeFor[plain]())
	old, cur := plain{I: 1, S: "name"}, plain{I: 2, S: "name"}
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf, _ = p.AppendDiff(buf[:0], unsafe.Pointer(&old), unsafe.Pointer(&cur))
	}
}

// sortedNames has its keys in sorted order, so that the text differ merges
// the members after a divergence by key; unsorted has them out of order.
type sortedNames struct {
	A int    `json:"a,omitempty"`
	B string `json:"b,omitempty"`
	C int    `json:"c"`
	D bool   `json:"d,omitempty"`
	E inner  `json:"e"`
	F int    `json:"f,omitempty"`
}

type unsortedNames struct {
	F int    `json:"f,omitempty"`
	B string `json:"b,omitempty"`
	E inner  `json:"e"`
	D bool   `json:"d,omitempty"`
	A int    `json:"a,omitempty"`
	C int    `json:"c"`
}

func TestDiffOrderAsTextDiffer(t *testing.T) {
	t.Run("sorted", func(t *testing.T) {
		diffAsText(t, func(r *rand.Rand, v *sortedNames) {
			v.A, v.B, v.C, v.D, v.F = r.IntN(2), []string{"", "x"}[r.IntN(2)], r.IntN(2), r.IntN(2) == 0, r.IntN(2)
			v.E.X, v.E.Y = r.IntN(2), []string{"", "y"}[r.IntN(2)]
		})
	})
	t.Run("unsorted", func(t *testing.T) {
		diffAsText(t, func(r *rand.Rand, v *unsortedNames) {
			v.A, v.B, v.C, v.D, v.F = r.IntN(2), []string{"", "x"}[r.IntN(2)], r.IntN(2), r.IntN(2) == 0, r.IntN(2)
			v.E.X, v.E.Y = r.IntN(2), []string{"", "y"}[r.IntN(2)]
		})
	})
}

func diffAsText[T any](t *testing.T, random func(*rand.Rand, *T)) {
	p := structjson.For(reflect.TypeFor[T]())
	if p == nil {
		t.Fatal("no plan")
	}
	text := diff.Default().(diff.BytesDiffer)
	r := rand.New(rand.NewPCG(5, 6))
	var old T
	for range 3000 {
		var cur T
		random(r, &cur)
		got, err := p.AppendDiff(nil, unsafe.Pointer(&old), unsafe.Pointer(&cur))
		if err != nil {
			t.Fatal(err)
		}
		want, err := text.DiffBytes(encodingJSON(t, &old), encodingJSON(t, &cur))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("from %s\n  to %s\n got %s\nwant %s", encodingJSON(t, &old), encodingJSON(t, &cur), got, want)
		}
		old = cur
	}
}

type item struct {
	N    int     `json:"n"`
	Name string  `json:"name,omitempty"`
	In   inner   `json:"in"`
	W    float64 `json:"w,omitempty"`
	ID   int     // "ID": not the "id" the text differ pairs elements by
}

type withLists struct {
	Ints   []int     `json:"ints"`
	Strs   []string  `json:"strs,omitempty"`
	Floats []float64 `json:"floats"`
	Items  []item    `json:"items"`
	ItemsO []item    `json:"itemso,omitempty"`
	N      int       `json:"n"`
	Deep   struct {
		Bools []bool `json:"bools"`
		X     int    `json:"x"`
	} `json:"deep"`
}

// randomLists builds v afresh, its slices new arrays (never the previous
// value's: the tests keep it), often nil, empty, or the previous value
// with one element changed, added or removed.
func randomLists(r *rand.Rand, prev, v *withLists) {
	strs := []string{"", "a", "<b>&", "\x00\"", "é"}
	pickLen := func(prev int) int {
		switch r.IntN(6) {
		case 0:
			return -1 // nil
		case 1:
			return 0
		case 2:
			return prev + 1
		case 3:
			return max(prev-1, 0)
		case 4:
			return max(prev-2, 0)
		}
		return prev
	}
	ints := func(prev []int) []int {
		n := pickLen(len(prev))
		if n < 0 {
			return nil
		}
		out := make([]int, n)
		copy(out, prev)
		for i := range out {
			if i >= len(prev) || r.IntN(4) == 0 {
				out[i] = r.IntN(3)
			}
		}
		return out
	}
	*v = *prev
	v.Ints = ints(prev.Ints)
	if n := pickLen(len(prev.Strs)); n >= 0 {
		v.Strs = make([]string, n)
		copy(v.Strs, prev.Strs)
		for i := range v.Strs {
			if i >= len(prev.Strs) || r.IntN(4) == 0 {
				v.Strs[i] = strs[r.IntN(len(strs))]
			}
		}
	} else {
		v.Strs = nil
	}
	if n := pickLen(len(prev.Floats)); n >= 0 {
		v.Floats = make([]float64, n)
		copy(v.Floats, prev.Floats)
		for i := range v.Floats {
			if i >= len(prev.Floats) || r.IntN(4) == 0 {
				v.Floats[i] = []float64{0, math.Copysign(0, -1), 1e21, 0.1}[r.IntN(4)]
			}
		}
	} else {
		v.Floats = nil
	}
	items := func(prev []item) []item {
		n := pickLen(len(prev))
		if n < 0 {
			return nil
		}
		out := make([]item, n)
		copy(out, prev)
		for i := range out {
			if i >= len(prev) || r.IntN(3) == 0 {
				switch r.IntN(4) {
				case 0:
					out[i].N = r.IntN(3)
				case 1:
					out[i].Name = strs[r.IntN(len(strs))]
				case 2:
					out[i].In.Y = strs[r.IntN(len(strs))]
				default:
					out[i].W = float64(r.IntN(2))
				}
			}
		}
		return out
	}
	v.Items, v.ItemsO = items(prev.Items), items(prev.ItemsO)
	if r.IntN(3) == 0 {
		v.N = r.IntN(3)
	}
	if n := pickLen(len(prev.Deep.Bools)); n >= 0 {
		v.Deep.Bools = make([]bool, n)
		copy(v.Deep.Bools, prev.Deep.Bools)
		for i := range v.Deep.Bools {
			if i >= len(prev.Deep.Bools) || r.IntN(3) == 0 {
				v.Deep.Bools[i] = r.IntN(2) == 0
			}
		}
	} else {
		v.Deep.Bools = nil
	}
}

// TestListsAsEncodingJSONAndTextDiffer: slices of scalars and of plain
// structs encode as encoding/json writes them, and diff as the text differ
// diffs their encodings (nil and empty slices, omitempty ones, elements
// changed, added and removed).
func TestListsAsEncodingJSONAndTextDiffer(t *testing.T) {
	p := structjson.For(reflect.TypeFor[withLists]())
	if p == nil || !p.HasLists() {
		t.Fatal("withLists has no plan with lists")
	}
	r := rand.New(rand.NewPCG(7, 8))
	var old withLists
	var arrays []structjson.Array
	changed := 0
	for range 5000 {
		var cur withLists
		randomLists(r, &old, &cur)
		got := checkStep(t, p, &old, &cur, "")
		if len(got) > 0 {
			changed++
		}
		arrays = keepCopy(t, p, &old, &cur, arrays, nil, func() {
			for i := range cur.Ints {
				cur.Ints[i] = 7
			}
			for i := range cur.Items {
				cur.Items[i].Name = "changed"
			}
		})
	}
	if changed < 3000 {
		t.Fatalf("only %d of 5000 steps changed the encoding", changed)
	}
}

// TestDetachLists: after an assignment and DetachLists the copy shares no
// array with the original, keeps nil slices nil and empty ones empty.
func TestDetachLists(t *testing.T) {
	p := structjson.For(reflect.TypeFor[withLists]())
	v := withLists{Ints: []int{1, 2}, Strs: []string{}, Items: []item{{N: 1}}}
	v.Deep.Bools = []bool{true}
	c := v
	p.DetachLists(unsafe.Pointer(&c))
	c.Ints[0], c.Items[0].N, c.Deep.Bools[0] = 9, 9, false
	if v.Ints[0] != 1 || v.Items[0].N != 1 || !v.Deep.Bools[0] {
		t.Fatalf("the copy shares arrays with the original: %+v", v)
	}
	if c.Strs == nil || len(c.Strs) != 0 || c.Floats != nil || c.ItemsO != nil {
		t.Fatalf("nil and empty slices not kept: %+v", c)
	}
	if structjson.For(reflect.TypeFor[plain]()).HasLists() {
		t.Fatal("plain has lists")
	}
}

// listsPair is a state with 64 numbers and 16 items, and the same with one
// number changed: a chart's series, a short list.
func listsPair() (old, cur withLists) {
	for i := range 64 {
		old.Floats = append(old.Floats, float64(i)/4)
	}
	for i := range 16 {
		old.Items = append(old.Items, item{N: i, Name: "item"})
	}
	cur = old
	cur.Floats = slices.Clone(old.Floats)
	cur.Floats[40] = 99
	return old, cur
}

// BenchmarkListsEncodeAndTextDiff is what a state with slices cost before
// they had plans: both encodings, then the text diff.
func BenchmarkListsEncodeAndTextDiff(b *testing.B) {
	old, cur := listsPair()
	benchEncodeAndTextDiff(b, &old, &cur)
}

// benchEncodeAndTextDiff measures the general path between old and cur:
// both encodings, then the text diff.
func benchEncodeAndTextDiff[T any](b *testing.B, old, cur *T) {
	text := diff.Default().(diff.BytesAppender)
	var ob, cb bytes.Buffer
	dst := make([]byte, 0, 256)
	for b.Loop() {
		ob.Reset()
		cb.Reset()
		json.NewEncoder(&ob).Encode(old)
		json.NewEncoder(&cb).Encode(cur)
		dst, _ = text.AppendDiffBytes(dst[:0], ob.Bytes(), cb.Bytes())
	}
}

// BenchmarkListsAppendDiff is the plan's diff of the same pair, with the
// copy that the syncer keeps afterwards in the arrays of the previous one.
func BenchmarkListsAppendDiff(b *testing.B) {
	old, cur := listsPair()
	benchPlanDiff(b, &old, &cur)
}

// benchPlanDiff measures the plan's diff between old and cur, with the
// copy that the syncer keeps afterwards in the arrays and maps of the
// previous one.
func benchPlanDiff[T any](b *testing.B, old, cur *T) {
	p := structjson.For(reflect.TypeFor[T]())
	p.DetachLists(unsafe.Pointer(old))
	buf := make([]byte, 0, 256)
	var arrays []structjson.Array
	for b.Loop() {
		buf, _ = p.AppendDiff(buf[:0], unsafe.Pointer(old), unsafe.Pointer(cur))
		arrays = p.Arrays(unsafe.Pointer(old), arrays[:0])
		*old = *cur
		p.CopyLists(unsafe.Pointer(old), unsafe.Pointer(cur), arrays)
	}
}

type idItem struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
	Done bool   `json:"done,omitempty"`
}

type strIDItem struct {
	Name string `json:"name"`
	ID   string `json:"id"` // not the first member
}

type optIDItem struct {
	ID float64 `json:"id,omitempty"` // absent when 0: no id
	N  int     `json:"n"`
}

type boolIDItem struct {
	ID bool `json:"id"` // not an id to the text differ
	N  int  `json:"n"`
}

type withIDs struct {
	Items []idItem     `json:"items"`
	Named []strIDItem  `json:"named,omitempty"`
	Opt   []optIDItem  `json:"opt"`
	Bools []boolIDItem `json:"bools"`
}

// nestedIDs has its lists one struct down, with members after them at
// both levels (the keyed diff depends on everything after the list).
type nestedIDs struct {
	In   withIDs `json:"in"`
	Tail int     `json:"tail,omitempty"`
	Last string  `json:"last"`
}

// edits returns a new slice made from prev by a few random edits: inserts
// (new ids, sometimes repeated ones), removals, swaps, changed fields and
// ids, or nil and empty.
func edits[T any](r *rand.Rand, prev []T, fresh func(int) T, change func(*T)) []T {
	switch r.IntN(10) {
	case 0:
		return nil
	case 1:
		return []T{}
	}
	out := append([]T{}, prev...)
	for range r.IntN(3) + 1 {
		switch k := r.IntN(5); {
		case k == 0:
			i := r.IntN(len(out) + 1)
			out = slices.Insert(out, i, fresh(r.IntN(12)))
		case k == 1 && len(out) > 0:
			i := r.IntN(len(out))
			out = slices.Delete(out, i, i+1)
		case k == 2 && len(out) > 1:
			i, j := r.IntN(len(out)), r.IntN(len(out))
			out[i], out[j] = out[j], out[i]
		case k == 3 && len(out) > 0:
			change(&out[r.IntN(len(out))])
		case k == 4 && len(out) > 0:
			out[r.IntN(len(out))] = fresh(r.IntN(12))
		}
	}
	return out
}

func randomIDs(r *rand.Rand, prev, v *withIDs) {
	texts := []string{"", "a", "<b>", "c"}
	v.Items = edits(r, prev.Items, func(id int) idItem { return idItem{ID: id, Text: texts[r.IntN(4)]} },
		func(it *idItem) { it.Text, it.Done = texts[r.IntN(4)], r.IntN(2) == 0 })
	v.Named = edits(r, prev.Named, func(id int) strIDItem { return strIDItem{ID: strconv.Itoa(id), Name: texts[r.IntN(4)]} },
		func(it *strIDItem) { it.Name = texts[r.IntN(4)] })
	v.Opt = edits(r, prev.Opt, func(id int) optIDItem { return optIDItem{ID: float64(id % 4), N: r.IntN(3)} },
		func(it *optIDItem) { it.N = r.IntN(3) })
	v.Bools = edits(r, prev.Bools, func(id int) boolIDItem { return boolIDItem{ID: id%2 == 0, N: r.IntN(3)} },
		func(it *boolIDItem) { it.N = r.IntN(3) })
}

// TestKeyedListsAsTextDiffer: slices of structs with ids diff as the text
// differ diffs their encodings, its keyed array diff included (inserts,
// removals and changes in the middle; repeated and reordered ids and
// missing ones, which fall back to the index-wise diff).
func TestKeyedListsAsTextDiffer(t *testing.T) {
	p := structjson.For(reflect.TypeFor[nestedIDs]())
	if p == nil {
		t.Fatal("nestedIDs has no plan")
	}
	for seed := range uint64(16) {
		r := rand.New(rand.NewPCG(seed, 9))
		var old nestedIDs
		for range 3000 {
			var cur nestedIDs
			randomIDs(r, &old.In, &cur.In)
			cur.Tail, cur.Last = old.Tail, old.Last
			if r.IntN(4) == 0 {
				cur.Tail = r.IntN(2)
			}
			if r.IntN(4) == 0 {
				cur.Last = []string{"", "x"}[r.IntN(2)]
			}
			checkStep(t, p, &old, &cur, fmt.Sprintf("seed %d: ", seed))
			old = cur
		}
	}
}

// checkStep checks that p encodes cur as encoding/json does and diffs old
// into cur as the text differ diffs their encodings, and returns the
// patch; label starts the failure messages.
func checkStep[T any](t *testing.T, p *structjson.Plan, old, cur *T, label string) []byte {
	t.Helper()
	enc, err := p.AppendJSON(nil, unsafe.Pointer(cur))
	if err != nil {
		t.Fatal(err)
	}
	if want := encodingJSON(t, cur); !bytes.Equal(enc, want) {
		t.Fatalf("%sAppendJSON\n got %s\nwant %s", label, enc, want)
	}
	got, err := p.AppendDiff(nil, unsafe.Pointer(old), unsafe.Pointer(cur))
	if err != nil {
		t.Fatal(err)
	}
	want, err := diff.Default().(diff.BytesDiffer).DiffBytes(encodingJSON(t, old), encodingJSON(t, cur))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%sfrom %s\n  to %s\n got %s\nwant %s", label, encodingJSON(t, old), encodingJSON(t, cur), got, want)
	}
	return got
}

type withMaps struct {
	Counts map[string]int     `json:"counts"`
	Users  map[string]float64 `json:"users,omitempty"`
	Items  []idItem           `json:"items"`
	Flags  map[string]bool    `json:"flags"`
	Tail   int                `json:"tail"`
	Named  map[string]string  `json:"named,omitempty"`
}

// editMap returns a new map made from prev by a few random edits, or nil,
// or an empty map; weird adds keys that JSON writes with escapes.
func editMap[V any](r *rand.Rand, prev map[string]V, weird bool, value func() V) map[string]V {
	switch r.IntN(10) {
	case 0:
		return nil
	case 1:
		return map[string]V{}
	}
	keys := []string{"a", "b", "a/b", "~x", "é", "zz", "B", "a b"}
	if weird {
		keys = append(keys, "<x>", `q"`, "\u2028")
	}
	out := maps.Clone(prev)
	if out == nil {
		out = map[string]V{}
	}
	for range r.IntN(3) + 1 {
		k := keys[r.IntN(len(keys))]
		if r.IntN(3) == 0 {
			delete(out, k)
		} else {
			out[k] = value()
		}
	}
	return out
}

// TestMapsAsEncodingJSONAndTextDiffer: maps with string keys encode as
// encoding/json writes them (keys sorted) and diff as the text differ
// diffs their encodings; a key written with escapes makes AppendDiff
// return ErrTextDiff instead. The copies CopyLists keeps share no map with
// the original.
func TestMapsAsEncodingJSONAndTextDiffer(t *testing.T) {
	p := structjson.For(reflect.TypeFor[withMaps]())
	if p == nil || !p.HasLists() {
		t.Fatal("withMaps has no plan with lists")
	}
	texts := []string{"", "x", "<y>"}
	r := rand.New(rand.NewPCG(10, 11))
	var old withMaps
	var arrays []structjson.Array
	fallbacks, changed := 0, 0
	for step := range 6000 {
		weird := step%10 == 0
		var cur withMaps
		cur.Counts = editMap(r, old.Counts, weird, func() int { return r.IntN(3) })
		cur.Users = editMap(r, old.Users, false, func() float64 { return []float64{0, 0.5, 1e21}[r.IntN(3)] })
		cur.Items = edits(r, old.Items, func(id int) idItem { return idItem{ID: id} }, func(it *idItem) { it.Done = !it.Done })
		cur.Flags = editMap(r, old.Flags, false, func() bool { return r.IntN(2) == 0 })
		cur.Tail = old.Tail
		if r.IntN(5) == 0 {
			cur.Tail = r.IntN(2)
		}
		cur.Named = editMap(r, old.Named, weird, func() string { return texts[r.IntN(3)] })
		if _, err := p.AppendDiff(nil, unsafe.Pointer(&old), unsafe.Pointer(&cur)); errors.Is(err, structjson.ErrTextDiff) {
			fallbacks++
			enc, err := p.AppendJSON(nil, unsafe.Pointer(&cur))
			if err != nil {
				t.Fatal(err)
			}
			if want := encodingJSON(t, &cur); !bytes.Equal(enc, want) {
				t.Fatalf("AppendJSON\n got %s\nwant %s", enc, want)
			}
		} else if len(checkStep(t, p, &old, &cur, "")) > 0 {
			changed++
		}
		arrays = keepCopy(t, p, &old, &cur, arrays, nil, func() {
			for k := range cur.Counts {
				cur.Counts[k] = 99
			}
			for k := range cur.Users {
				delete(cur.Users, k)
			}
		})
	}
	if fallbacks == 0 || changed < 4000 {
		t.Fatalf("%d fallbacks, %d changed steps of 6000", fallbacks, changed)
	}
}

// mapsPair is a state with a 32-key map, and the same with one value
// changed.
func mapsPair() (old, cur withMaps) {
	old.Counts = map[string]int{}
	for i := range 32 {
		old.Counts["key"+strconv.Itoa(i)] = i
	}
	cur = old
	cur.Counts = maps.Clone(old.Counts)
	cur.Counts["key7"] = 99
	return old, cur
}

// BenchmarkMapsEncodeAndTextDiff is what a state with a map cost before
// maps had plans: both encodings, then the text diff.
func BenchmarkMapsEncodeAndTextDiff(b *testing.B) {
	old, cur := mapsPair()
	benchEncodeAndTextDiff(b, &old, &cur)
}

// BenchmarkMapsAppendDiff is the plan's diff of the same pair, with the
// copy that the syncer keeps afterwards in the maps of the previous one.
func BenchmarkMapsAppendDiff(b *testing.B) {
	old, cur := mapsPair()
	benchPlanDiff(b, &old, &cur)
}

// tagged is a list element holding lists and a map of its own.
type tagged struct {
	ID    int            `json:"id"`
	Tags  []string       `json:"tags"`
	Attrs map[string]int `json:"attrs,omitempty"`
	Sub   struct {
		Ns []int `json:"ns"`
		X  int   `json:"x"`
	} `json:"sub"`
	Text string `json:"text"`
}

// untagged is tagged without an id: its list diffs index by index.
type untagged struct {
	Tags  []string       `json:"tags,omitempty"`
	Attrs map[string]int `json:"attrs"`
	N     int            `json:"n"`
}

type withNested struct {
	Items []tagged   `json:"items"`
	Plain []untagged `json:"plain"`
	Tail  int        `json:"tail"`
}

// editTagged changes one thing of an element, in new arrays and maps
// (prev's stay as they were).
func editTagged(r *rand.Rand, tags []string, attrs map[string]int, ns []int, text *string, x *int) ([]string, map[string]int, []int) {
	words := []string{"a", "b", "<c>", ""}
	switch r.IntN(5) {
	case 0:
		tags = edits(r, tags, func(int) string { return words[r.IntN(len(words))] }, func(s *string) { *s = words[r.IntN(len(words))] })
	case 1:
		attrs = editMap(r, attrs, false, func() int { return r.IntN(3) })
	case 2:
		ns = edits(r, ns, func(n int) int { return n }, func(n *int) { *n = r.IntN(3) })
	case 3:
		*text = words[r.IntN(len(words))]
	default:
		*x = r.IntN(3)
	}
	return tags, attrs, ns
}

func randomNested(r *rand.Rand, prev, v *withNested) {
	v.Items = edits(r, prev.Items, func(id int) tagged {
		return tagged{ID: id, Tags: []string{"a"}, Attrs: map[string]int{"a": id}}
	}, func(it *tagged) {
		it.Tags, it.Attrs, it.Sub.Ns = editTagged(r, it.Tags, it.Attrs, it.Sub.Ns, &it.Text, &it.Sub.X)
	})
	v.Plain = edits(r, prev.Plain, func(n int) untagged {
		return untagged{N: n, Attrs: map[string]int{"b": n}}
	}, func(it *untagged) {
		var text string
		it.Tags, it.Attrs, _ = editTagged(r, it.Tags, it.Attrs, nil, &text, &it.N)
	})
	v.Tail = prev.Tail
	if r.IntN(4) == 0 {
		v.Tail = r.IntN(2)
	}
}

// TestNestedListsAsTextDiffer: list elements holding slices and maps
// (under ids or not) encode as encoding/json writes them and diff as the
// text differ diffs their encodings; a copy kept with CopyLists shares no
// array or map with the value it copies, down to the elements' own.
func TestNestedListsAsTextDiffer(t *testing.T) {
	p := structjson.For(reflect.TypeFor[withNested]())
	if p == nil || !p.HasLists() {
		t.Fatal("withNested has no plan with lists")
	}
	changed := 0
	for seed := range uint64(8) {
		r := rand.New(rand.NewPCG(seed, 11))
		var old withNested
		var arrays []structjson.Array
		var ch structjson.Changes
		for step := range 3000 {
			var cur withNested
			randomNested(r, &old, &cur)
			got := checkStep(t, p, &old, &cur, fmt.Sprintf("seed %d: ", seed))
			if len(got) > 0 {
				changed++
			}
			// Every other step keeps the copy as the syncer does: the
			// elements the diff found unchanged are not compared again.
			var noted *structjson.Changes
			if step%2 == 0 {
				noted = &ch
				again, err := p.AppendDiffNoting(nil, unsafe.Pointer(&old), unsafe.Pointer(&cur), noted)
				if err != nil || !bytes.Equal(again, got) {
					t.Fatalf("AppendDiffNoting = %s, %v; AppendDiff %s", again, err, got)
				}
			}
			arrays = keepCopy(t, p, &old, &cur, arrays, noted, func() {
				for i := range cur.Items {
					it := &cur.Items[i]
					for j := range it.Tags {
						it.Tags[j] = "changed"
					}
					for k := range it.Attrs {
						it.Attrs[k] = 9
					}
					for j := range it.Sub.Ns {
						it.Sub.Ns[j] = 9
					}
				}
				for i := range cur.Plain {
					if cur.Plain[i].Attrs != nil {
						cur.Plain[i].Attrs["new"] = 1
					}
				}
			})
			old = cur // cur was changed in place: start the next step from what it holds
			p.DetachLists(unsafe.Pointer(&old))
		}
	}
	if changed < 16000 {
		t.Fatalf("only %d of 24000 steps changed the encoding", changed)
	}
}

// level is a named scalar type: maps of it are read through reflection.
type level int8

// member is a map value holding a list and a map of its own.
type member struct {
	Name  string           `json:"name"`
	Roles []string         `json:"roles,omitempty"`
	Seen  map[string]level `json:"seen"`
	Score float64          `json:"score,omitempty"`
}

type withStructMaps struct {
	Members map[string]member  `json:"members"`
	Levels  map[string]level   `json:"levels,omitempty"`
	Items   []idItem           `json:"items"`
	Waits   map[string]float32 `json:"waits"`
	Tail    int                `json:"tail"`
}

// editMember changes one thing of a member, in new arrays and maps.
func editMember(r *rand.Rand, m member) member {
	words := []string{"", "a", "<b>", "c"}
	switch r.IntN(4) {
	case 0:
		m.Name = words[r.IntN(len(words))]
	case 1:
		m.Roles = edits(r, m.Roles, func(int) string { return words[r.IntN(len(words))] }, func(s *string) { *s = words[r.IntN(len(words))] })
	case 2:
		m.Seen = editMap(r, m.Seen, false, func() level { return level(r.IntN(3) - 1) })
	default:
		m.Score = []float64{0, math.Copysign(0, -1), 2.5}[r.IntN(3)]
	}
	return m
}

// TestStructMapsAsTextDiffer: maps of plain structs (holding lists and
// maps) and of named scalar types encode as encoding/json writes them and
// diff as the text differ diffs their encodings, walking into the members
// of changed values; the copies CopyLists keeps are equal to and share
// nothing with the values they copy.
func TestStructMapsAsTextDiffer(t *testing.T) {
	p := structjson.For(reflect.TypeFor[withStructMaps]())
	if p == nil || !p.HasLists() {
		t.Fatal("withStructMaps has no plan with lists")
	}
	r := rand.New(rand.NewPCG(12, 13))
	var old withStructMaps
	var arrays []structjson.Array
	fallbacks, changed := 0, 0
	for step := range 6000 {
		var cur withStructMaps
		cur.Members = maps.Clone(old.Members)
		switch r.IntN(8) {
		case 0:
			cur.Members = editMap(r, old.Members, step%10 == 0, func() member { return member{Name: "new"} })
		case 1, 2, 3, 4:
			for k, m := range cur.Members {
				if r.IntN(2) == 0 {
					cur.Members[k] = editMember(r, m)
				}
			}
		}
		cur.Levels = editMap(r, old.Levels, false, func() level { return level(r.IntN(3)) })
		cur.Items = edits(r, old.Items, func(id int) idItem { return idItem{ID: id} }, func(it *idItem) { it.Done = !it.Done })
		cur.Waits = editMap(r, old.Waits, false, func() float32 { return []float32{0, 0.5, 1e21}[r.IntN(3)] })
		cur.Tail = old.Tail
		if r.IntN(5) == 0 {
			cur.Tail = r.IntN(2)
		}
		if _, err := p.AppendDiff(nil, unsafe.Pointer(&old), unsafe.Pointer(&cur)); errors.Is(err, structjson.ErrTextDiff) {
			fallbacks++
		} else if len(checkStep(t, p, &old, &cur, fmt.Sprintf("step %d: ", step))) > 0 {
			changed++
		}
		arrays = keepCopy(t, p, &old, &cur, arrays, nil, func() {
			for _, m := range cur.Members {
				for i := range m.Roles {
					m.Roles[i] = "changed"
				}
				for k := range m.Seen {
					m.Seen[k] = 9
				}
			}
			for k := range cur.Levels {
				cur.Levels[k] = 9
			}
		})
		old = cur
		p.DetachLists(unsafe.Pointer(&old))
	}
	if fallbacks == 0 || changed < 4000 {
		t.Fatalf("%d fallbacks, %d changed steps of 6000", fallbacks, changed)
	}
}

// structMapsPair is 32 members, one of which gets a new role.
func structMapsPair() (old, cur withStructMaps) {
	old.Members = map[string]member{}
	for i := range 32 {
		k := "user" + strconv.Itoa(i)
		old.Members[k] = member{Name: k, Roles: []string{"player"}, Seen: map[string]level{"lobby": 1}}
	}
	cur = old
	cur.Members = maps.Clone(old.Members)
	m := cur.Members["user7"]
	m.Roles = []string{"player", "host"}
	cur.Members["user7"] = m
	return old, cur
}

// BenchmarkStructMapsEncodeAndTextDiff is what a state with a map of
// structs costs on the general path: both encodings, then the text diff.
func BenchmarkStructMapsEncodeAndTextDiff(b *testing.B) {
	old, cur := structMapsPair()
	benchEncodeAndTextDiff(b, &old, &cur)
}

// BenchmarkStructMapsAppendDiff is the plan's diff of the same pair, with
// the copy that the syncer keeps afterwards.
func BenchmarkStructMapsAppendDiff(b *testing.B) {
	old, cur := structMapsPair()
	benchPlanDiff(b, &old, &cur)
}

// keepCopy keeps cur in old as the syncer keeps its copy: in the arrays and
// maps old had where they are large enough, with the changes noted by the
// diff from old to cur (nil: none). It checks that the copy encodes as cur,
// then that it stays so while inPlace changes cur's arrays and maps in
// place, as a handler may. It returns the arrays for the next call.
func keepCopy[T any](t *testing.T, p *structjson.Plan, old, cur *T, arrays []structjson.Array, noted *structjson.Changes, inPlace func()) []structjson.Array {
	t.Helper()
	arrays = p.Arrays(unsafe.Pointer(old), arrays[:0])
	*old = *cur
	p.CopyListsNoted(unsafe.Pointer(old), unsafe.Pointer(cur), arrays, noted)
	before := encodingJSON(t, old)
	if want := encodingJSON(t, cur); !bytes.Equal(before, want) {
		t.Fatalf("the copy differs from the original:\n%s\n%s", before, want)
	}
	inPlace()
	if after := encodingJSON(t, old); !bytes.Equal(before, after) {
		t.Fatalf("the copy shares arrays or maps with the original:\n%s\n%s", before, after)
	}
	return arrays
}
