package structjson_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
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
		reflect.TypeFor[struct{ A []int }](),
		reflect.TypeFor[struct{ A map[string]int }](),
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
